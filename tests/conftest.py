"""Fixtures: an app on a real database, a client, factories, a query counter, a clock.

SQLite by default. With DATABASE_URL (PostgreSQL) and REDIS_URL set, as .ci/run does, the same
tests run against those services, and a real `rq worker` process runs every job; with
L2G_REQUIRE_SERVICES=1 a missing service fails the run instead of quietly using SQLite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text
from werkzeug.security import generate_password_hash

from app import clock, create_app
from app.extensions import db
from tests.factories import PASSWORD, Factory, SignIn
from tests.factories import empty_tables as _empty_tables
from tests.factories import wait_for_jobs as _wait_for_jobs

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("DATABASE_URL")
REDIS_URL = os.environ.get("REDIS_URL")
QUEUE = f"l2g-test-{uuid.uuid4().hex[:8]}"


def _check_services() -> None:
    if os.environ.get("L2G_REQUIRE_SERVICES") != "1":
        return
    if not DATABASE_URL or not DATABASE_URL.startswith(("postgresql", "postgres")):
        pytest.exit("L2G_REQUIRE_SERVICES=1 needs DATABASE_URL pointing at PostgreSQL", 3)
    if not REDIS_URL:
        pytest.exit("L2G_REQUIRE_SERVICES=1 needs REDIS_URL", 3)
    from redis import Redis

    Redis.from_url(REDIS_URL).ping()  # raises: a run that needs Redis fails without it


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    _check_services()
    instance = tmp_path_factory.mktemp("instance")
    schema = None
    if DATABASE_URL:
        # Each run gets its own schema, so runs sharing one database never meet.
        schema = f"l2g_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(_psycopg_url(DATABASE_URL))
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        base = _psycopg_url(DATABASE_URL)
        separator = "&" if "?" in base else "?"
        database_uri = f"{base}{separator}options=-csearch_path%3D{schema}"
    else:
        database_uri = f"sqlite:///{instance / 'test.sqlite'}"
    overrides: dict[str, Any] = {
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "STORAGE_DIR": str(instance / "files"),
        "MAIL_DIR": str(instance / "mail"),
        "RQ_QUEUE": QUEUE,
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "REDIS_URL": REDIS_URL,
        "LOGIN_LOCK_MINUTES": 15,
    }
    application = create_app(overrides)
    application.test_client_class = SignedInByCookieClient
    with application.app_context():
        if db.engine.dialect.name == "sqlite":
            # Thousands of commits per run: a throwaway test database need not wait for fsync.
            event.listen(db.engine, "connect", _sqlite_fast)
        db.drop_all()
        db.create_all()
    worker = _start_worker(application, instance) if REDIS_URL else None
    yield application
    if worker is not None:
        worker.terminate()
        worker.wait(timeout=20)
        worker.log.close()
    if schema:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
        admin = create_engine(_psycopg_url(DATABASE_URL))
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _sqlite_fast(dbapi_connection: Any, record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=OFF")


def _psycopg_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Worker(subprocess.Popen[bytes]):
    log: Any


def _start_worker(application: Flask, instance: Path) -> Worker:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=application.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=application.config["REDIS_URL"],
        RQ_QUEUE=QUEUE,
        STORAGE_DIR=application.config["STORAGE_DIR"],
        MAIL_DIR=application.config["MAIL_DIR"],
        SECRET_KEY="test-secret",
    )
    log = open(instance / "worker.log", "wb")  # noqa: SIM115  (kept open for the worker's life)
    worker = Worker(
        [
            sys.executable,
            "-m",
            "rq.cli",
            "worker",
            "--with-scheduler",
            # One process that keeps its app between jobs, instead of a fork per job.
            "--worker-class",
            "rq.worker.SimpleWorker",
            "--url",
            application.config["REDIS_URL"],
            QUEUE,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    worker.log = log
    time.sleep(1.0)
    if worker.poll() is not None:
        raise RuntimeError("the rq worker did not start: " + (instance / "worker.log").read_text())
    return worker


class SignedInByCookieClient(FlaskClient):
    """Each test keeps one app context across its requests, and Flask-Login caches the signed-in
    user in that context's `g`: forget it before every request so the session cookie decides."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        g.pop("_login_user", None)
        return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _database(app: Flask) -> Iterator[None]:
    ctx = app.app_context()
    ctx.push()
    clock.freeze(None)
    yield
    clock.freeze(None)
    db.session.rollback()
    if REDIS_URL:
        _wait_for_jobs(timeout=30, raise_on_timeout=False)
    db.session.remove()
    _empty_tables()
    ctx.pop()


@pytest.fixture
def wait_for_jobs() -> Callable[[], None]:
    """Block until every job is done: immediate inline, polled under a real rq worker."""
    return _wait_for_jobs


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make() -> Factory:
    return Factory()


@pytest.fixture
def login(app: Flask) -> SignIn:
    """`login(user)`: a browser of its own signed in as `user`, so that several people can be
    signed in within one test. The sign-in goes through the real form and password check."""

    def sign_in(user: Any) -> FlaskClient:
        browser = app.test_client()
        response = browser.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return browser

    return sign_in


@pytest.fixture(autouse=True)
def cheap_passwords(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fast password hashes for the many accounts tests make (signing in still checks them);
    a test that asks for `strong_hashing` gets the product's own hashing, unchanged."""
    if "strong_hashing" not in request.fixturenames:
        monkeypatch.setattr(
            "app.models.user.generate_password_hash",
            partial(generate_password_hash, method="pbkdf2:sha256:1000"),
        )


@pytest.fixture
def strong_hashing() -> None:
    """The product's own password hashing (see `cheap_passwords`)."""


@pytest.fixture
def freeze() -> Callable[[datetime], None]:
    return clock.freeze


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: Flask) -> Callable[[], Any]:
    """`with count_queries() as q: ...` then `q.count` is the number of SQL statements run."""

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            counter.statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", record)

    return counting
