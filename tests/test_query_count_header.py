"""The opt-in header with each request's SQL statement count, which the HTTP benchmark reads."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from app import create_app
from app.config import load_config
from app.extensions import db
from app.query_count import HEADER
from tests.decision_helpers import scored_round
from tests.factories import PASSWORD, Factory


@pytest.fixture
def counted_app(app: Flask) -> Iterator[Flask]:
    """A second app on the test database with the header switched on."""
    shared = ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED", "STORAGE_DIR")
    other = create_app({**{k: app.config[k] for k in shared}, "QUERY_COUNT_HEADER": True})
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_header_is_off_unless_asked_for(
    app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    assert HEADER not in app.test_client().get("/healthz").headers
    monkeypatch.delenv("L2G_QUERY_COUNT_HEADER", raising=False)
    assert load_config(str(tmp_path))["QUERY_COUNT_HEADER"] is False
    monkeypatch.setenv("L2G_QUERY_COUNT_HEADER", "1")
    assert load_config(str(tmp_path))["QUERY_COUNT_HEADER"] is True


def test_the_header_gives_the_statements_each_request_ran(
    counted_app: Flask, make: Factory
) -> None:
    officer = make.officer()
    make.round()
    make.round()
    db.session.commit()
    browser = counted_app.test_client()
    assert browser.get("/healthz").headers[HEADER] == "0"  # the bare route touches nothing

    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    with counted_app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        signed_in = browser.post("/login", data={"email": officer.email, "password": PASSWORD})
        assert signed_in.status_code == 302
        assert int(signed_in.headers[HEADER]) == len(sent) > 0
        sent.clear()
        page = browser.get("/officer/rounds")
        assert page.status_code == 200
        assert int(page.headers[HEADER]) == len(sent) > 0
        sent.clear()
        # Each request starts from zero, even on a page that ran no statement after one that did.
        assert browser.get("/healthz").headers[HEADER] == "0"
        assert sent == []
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_streamed_body_logs_its_whole_count(
    counted_app: Flask, make: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    officer = make.officer()
    rnd, _ = scored_round(make, officer, [60_000, 70_000, 80_000])
    browser = counted_app.test_client()
    browser.post("/login", data={"email": officer.email, "password": PASSWORD})

    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    with counted_app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        with caplog.at_level(logging.INFO, logger="app.query_count"):
            response = browser.get(f"/officer/rounds/{rnd.id}/ranking.csv")
            assert response.is_streamed
            before_body = int(response.headers[HEADER])
            assert len(response.get_data().splitlines()) == 4  # the header and three rows
            response.close()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    logged = [r for r in caplog.records if r.name == "app.query_count"]
    assert len(logged) == 1
    method, path, total, while_streaming = logged[0].args
    assert (method, path) == ("GET", f"/officer/rounds/{rnd.id}/ranking.csv")
    assert total == len(sent) and while_streaming == total - before_body > 0
