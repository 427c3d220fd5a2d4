"""Sessions end: a cookie saved before sign-out, a password change, a deactivation or a role change
is refused afterwards; signed-in pages are not cached; production's HSTS and proxy headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify, request
from flask.testing import FlaskClient
from flask_login import encode_cookie
from flask_login.config import COOKIE_NAME

from app import create_app
from app.config import ConfigError
from app.extensions import db
from app.models.user import User
from app.services import accounts
from tests.factories import PASSWORD, Factory

NEW_PASSWORD = "a brand new passphrase"
REMEMBER = COOKIE_NAME  # Flask-Login's "remember me" cookie

# A page each role sees only signed in.
HOME = {
    "applicant": "/applicant/",
    "reviewer": "/review/",
    "officer": "/officer/rounds",
    "admin": "/admin/people",
}


def copy_of(app: Flask, browser: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of `browser`'s session cookie, as an attacker would."""
    cookie = browser.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def assert_signed_in(browser: FlaskClient, user: User) -> None:
    response = browser.get(HOME[user.role])
    assert response.status_code == 200
    assert f"Account ({user.display_name})" in response.get_data(as_text=True)


def assert_refused(browser: FlaskClient, user: User, page: str | None = None) -> None:
    response = browser.get(page or HOME[user.role])
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    body = response.get_data(as_text=True)
    assert user.display_name not in body and "Sign out" not in body


def make_user(make: Factory, role: str) -> User:
    return getattr(make, role)()


@pytest.mark.parametrize("role", list(HOME))
def test_signing_out_ends_every_session_of_the_account(
    app: Flask, make: Factory, login: Any, role: str
) -> None:
    user = make_user(make, role)
    browser = login(user)
    other_computer = login(user)
    thief = copy_of(app, browser)
    assert_signed_in(thief, user)

    assert browser.post("/logout").status_code == 302

    assert_refused(thief, user)
    assert_refused(browser, user)
    assert_refused(other_computer, user)
    # Signing in again works, with a session the old cookies do not share.
    assert_signed_in(login(user), user)
    assert_refused(thief, user)


@pytest.mark.parametrize("role", list(HOME))
def test_a_new_password_ends_the_other_sessions_and_keeps_this_one(
    app: Flask, make: Factory, login: Any, role: str
) -> None:
    user = make_user(make, role)
    browser = login(user)
    other_computer = login(user)
    thief = copy_of(app, browser)
    assert_signed_in(thief, user)

    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    response = browser.post("/account", data=change)
    assert response.status_code == 302
    assert "signed out everywhere else" in browser.get("/account").get_data(as_text=True)

    assert_signed_in(browser, user)
    assert_refused(thief, user)
    assert_refused(other_computer, user)
    # The copy made before the change stays refused even though the browser it came from is
    # still signed in: that browser now carries a new session id.
    assert_refused(thief, user, "/account")


def test_a_refused_password_change_ends_no_session(app: Flask, make: Factory, login: Any) -> None:
    user = make.officer()
    other_computer = login(user)
    browser = login(user)
    wrong = {"current_password": "not my password", "new_password": NEW_PASSWORD}
    assert browser.post("/account", data={**wrong, "confirm": NEW_PASSWORD}).status_code == 200
    assert_signed_in(other_computer, user)
    assert_signed_in(browser, user)


@pytest.mark.parametrize("role", list(HOME))
def test_deactivating_an_account_ends_its_sessions_for_good(
    app: Flask, make: Factory, login: Any, role: str
) -> None:
    user = make_user(make, role)
    browser = login(user)
    thief = copy_of(app, browser)
    assert_signed_in(thief, user)

    user.is_active_account = False
    db.session.commit()
    assert_refused(browser, user)
    assert_refused(thief, user)

    # Reactivated, the account signs in afresh; sessions from before the deactivation stay dead.
    user.is_active_account = True
    db.session.commit()
    assert_refused(thief, user)
    assert_signed_in(login(user), user)


@pytest.mark.parametrize(("role", "new_role"), [("officer", "reviewer"), ("admin", "officer")])
def test_a_new_role_ends_the_sessions_opened_with_the_old_one(
    app: Flask, make: Factory, login: Any, role: str, new_role: str
) -> None:
    user = make_user(make, role)
    browser = login(user)
    thief = copy_of(app, browser)
    assert_signed_in(thief, user)

    user.role = new_role
    db.session.commit()
    assert_refused(browser, user, HOME[role])
    assert_refused(thief, user, HOME[role])
    assert_refused(thief, user, HOME[new_role])
    assert_signed_in(login(user), user)


def test_changing_other_fields_keeps_the_sessions(app: Flask, make: Factory, login: Any) -> None:
    user = make.reviewer()
    browser = login(user)
    user.name = "Renamed Reviewer"
    user.role = "reviewer"  # set to what it already is: nothing changed
    user.is_active_account = True
    db.session.commit()
    assert_signed_in(browser, user)


def test_end_sessions_is_what_a_password_reset_calls(app: Flask, make: Factory, login: Any) -> None:
    user = make.applicant()
    first, second = login(user), login(user)
    accounts.end_sessions(user)
    db.session.commit()
    assert_refused(first, user)
    assert_refused(second, user)


def test_remember_cookies_follow_the_session_token(app: Flask, make: Factory, login: Any) -> None:
    user = make.officer()
    with app.test_request_context():
        remembered = encode_cookie(user.get_id())
    browser = app.test_client()
    browser.set_cookie(REMEMBER, remembered)
    assert_signed_in(browser, user)

    login(user).post("/logout")  # signing out on another computer
    stale = app.test_client()
    stale.set_cookie(REMEMBER, remembered)
    assert_refused(stale, user)


@pytest.mark.parametrize(
    "session_id", ["", "abc", "{id}", "{id}:", "{id}:not-the-token", "{id}:{token}x", "0:{token}"]
)
def test_a_session_id_without_the_current_token_is_refused(
    app: Flask, make: Factory, session_id: str
) -> None:
    user = make.officer()
    browser = app.test_client()
    with browser.session_transaction() as saved:
        saved["_user_id"] = session_id.format(id=user.id, token=user.session_token)
    assert_refused(browser, user)
    # Sessions from before session tokens carried the bare id: they sign in again.
    with browser.session_transaction() as saved:
        saved["_user_id"] = str(user.id)
    assert_refused(browser, user)


@pytest.mark.parametrize("role", list(HOME))
def test_signed_in_pages_are_not_stored_by_browsers_or_proxies(
    make: Factory, login: Any, client: FlaskClient, role: str
) -> None:
    browser = login(make_user(make, role))
    for page in (HOME[role], "/", "/catalog", "/account"):
        response = browser.get(page, follow_redirects=True)
        assert response.status_code == 200, page
        assert response.headers["Cache-Control"] == "no-store", page


def test_public_pages_may_be_cached(client: FlaskClient) -> None:
    for page in ("/", "/login", "/catalog", "/register"):
        response = client.get(page)
        assert response.status_code == 200, page
        assert "no-store" not in response.headers.get("Cache-Control", ""), page


# --- production: HSTS and the proxy in front ---------------------------------------------------


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("L2G_ENV", "SECRET_KEY", "REDIS_URL", "L2G_HSTS_MAX_AGE", "L2G_PROXY_HOPS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'own.sqlite'}")
    return monkeypatch


def production_app(environment: pytest.MonkeyPatch, **env: str) -> Flask:
    environment.setenv("L2G_ENV", "production")
    environment.setenv("SECRET_KEY", "a-long-random-production-secret")
    for name, value in env.items():
        environment.setenv(name, value)
    return _with_echo(create_app())


def _with_echo(application: Flask) -> Flask:
    @application.get("/_echo")
    def echo() -> Any:
        return jsonify(
            scheme=request.scheme,
            remote_addr=request.remote_addr,
            host=request.host,
            url=request.url_root,
        )

    return application


def echo(application: Flask, headers: dict[str, str]) -> dict[str, str]:
    # Plain http from 127.0.0.1 as the proxy would speak to the app (a production app's test
    # client would otherwise ask for https itself).
    response = application.test_client().get(
        "/_echo", headers=headers, base_url="http://l2g.internal/"
    )
    return response.get_json()


def test_hsts_in_production_only(environment: pytest.MonkeyPatch) -> None:
    development = _with_echo(create_app())
    assert "Strict-Transport-Security" not in development.test_client().get("/login").headers

    production = production_app(environment)
    header = production.test_client().get("/login").headers["Strict-Transport-Security"]
    assert header == "max-age=31536000; includeSubDomains"

    shorter = production_app(environment, L2G_HSTS_MAX_AGE="300")
    header = shorter.test_client().get("/login").headers["Strict-Transport-Security"]
    assert header == "max-age=300; includeSubDomains"


def test_production_trusts_the_forwarded_headers_of_one_proxy(
    environment: pytest.MonkeyPatch,
) -> None:
    production = production_app(environment)
    forwarded = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "198.51.100.9, 203.0.113.7",
        "X-Forwarded-Host": "grants.example.gov",
    }
    seen = echo(production, forwarded)
    assert seen["scheme"] == "https"
    # One hop: the address the proxy saw, not one the client wrote into the header before it.
    assert seen["remote_addr"] == "203.0.113.7"
    assert seen["url"] == "https://grants.example.gov/"


def test_forwarded_headers_are_ignored_without_a_proxy(environment: pytest.MonkeyPatch) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    for application in (
        _with_echo(create_app()),  # development: no proxy unless told
        production_app(environment, L2G_PROXY_HOPS="0"),
    ):
        seen = echo(application, forwarded)
        assert seen["scheme"] == "http"
        assert seen["remote_addr"] == "127.0.0.1"


def test_two_proxies_when_configured(environment: pytest.MonkeyPatch) -> None:
    production = production_app(environment, L2G_PROXY_HOPS="2")
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.9, 203.0.113.7"}
    seen = echo(production, forwarded)
    assert seen["remote_addr"] == "198.51.100.9"


@pytest.mark.parametrize("value", ["one", "-1"])
def test_a_bad_proxy_setting_stops_the_start(environment: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(ConfigError, match="L2G_PROXY_HOPS"):
        production_app(environment, L2G_PROXY_HOPS=value)
