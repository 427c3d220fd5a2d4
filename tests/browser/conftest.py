"""A real browser against a real server: the app on a free port with CSRF on, and Chromium.

The server is a second app built from the session `app`'s database, storage, Redis and queue
settings, so the tests' factories and the browser see the same rows, and under REDIS_URL the rq
worker started by tests/conftest.py runs the jobs the browser's requests create.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "bench" / "out" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000  # generous: these machines are shared, and a loaded one is slow, not broken
expect.set_options(timeout=TIMEOUT_MS)
SHARED_CONFIG = (
    "SQLALCHEMY_DATABASE_URI",
    "STORAGE_DIR",
    "REDIS_URL",
    "RQ_QUEUE",
    "SECRET_KEY",
    "LOGIN_LOCK_MINUTES",
)


@pytest.fixture(scope="session")
def live_app(app: Flask) -> Flask:
    """The session app's settings, but with CSRF protection on, as in production."""
    return create_app({**{k: app.config[k] for k in SHARED_CONFIG}, "WTF_CSRF_ENABLED": True})


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    """The base URL of `live_app`, served from a background thread on a free port."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with live_app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session. A missing browser fails the run: never a skip."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `apt-get install -y --no-install-recommends chromium` "
            "(never `playwright install`)",
            pytrace=False,
        )
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    """A fresh context (no cookies) per test, its relative URLs resolved against the server."""
    context = browser.new_context(
        base_url=live_server, viewport={"width": 1280, "height": 900}, locale="en-US"
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


@dataclass
class PageAudit:
    """Runs axe-core on a page and saves a full-page screenshot of it.

    Every page is checked and screenshotted before anything fails, so one run reports all the
    violations of a journey; `assert_clean()` then fails with each page's report (the fixture
    calls it at teardown when the test did not get that far).
    """

    prefix: str
    reports: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    axe: Axe = field(default_factory=Axe)
    asserted: bool = False

    def __call__(self, page: Page, name: str) -> None:
        page.wait_for_load_state("load")
        self.checked.append(name)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{self.prefix}-{len(self.checked):02d}-{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        results = self.axe.run(page)
        if results.violations_count:
            report = results.generate_report()
            print(f"axe on {name} ({page.url}):\n{report}")
            self.reports.append(f"== {name} ({page.url})\n{report}")

    def assert_clean(self) -> None:
        self.asserted = True
        assert not self.reports, "axe-core found violations:\n" + "\n".join(self.reports)


@pytest.fixture
def audit(request: pytest.FixtureRequest) -> Iterator[PageAudit]:
    checker = PageAudit(prefix=re.sub(r"\W+", "-", request.node.name).strip("-"))
    yield checker
    if not checker.asserted:
        checker.assert_clean()
