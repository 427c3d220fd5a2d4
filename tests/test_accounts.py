"""Accounts: registering a jurisdiction, signing in (and being locked out), passwords, invitations,
the `flask user create` command, and the configuration that keeps production safe."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, session
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import create_app
from app.config import DEV_SECRET_KEY, ConfigError, load_config
from app.extensions import db
from app.jobs import commit
from app.models.outbox import EmailMessage, OutboxJob
from app.models.user import Invitation, Organization, User
from app.services.accounts import AccountError, invite
from tests.factories import PASSWORD, Factory
from tests.mailbox import body, sent_to

Wait = Callable[[], None]
NOW = datetime(2027, 2, 1, 15, 0, tzinfo=UTC)
NEW_PASSWORD = "a brand new passphrase"
REFUSED = "The email or password is not right."


def sign_in(client: FlaskClient, email: str, password: str) -> tuple[int, str]:
    response = client.post("/login", data={"email": email, "password": password})
    return response.status_code, response.get_data(as_text=True)


def user_by_email(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


# --- registration -------------------------------------------------------------------------------

REGISTRATION = {
    "legal_name": "City of Dayton",
    "government_type": "city",
    "state_code": "OH",
    "population": "137644",
    "street": "101 W Third St",
    "city": "Dayton",
    "zip_code": "45402",
    "official_name": "Jeffrey Mims",
    "official_title": "Mayor",
    "name": "Grace Grants",
    "email": "Grace.Grants@Dayton.example.gov",
    "password": "dayton sister cities 2027",
    "confirm": "dayton sister cities 2027",
}


def test_register_creates_the_organization_and_a_signed_in_applicant(
    client: FlaskClient, strong_hashing: None
) -> None:
    response = client.post("/register", data=REGISTRATION)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert response.headers["Location"].endswith("/applicant/")

    user = user_by_email("grace.grants@dayton.example.gov")  # stored in lower case
    assert user is not None
    assert (user.role, user.name) == ("applicant", "Grace Grants")
    organization = db.session.get(Organization, user.organization_id)
    assert organization is not None
    assert (organization.legal_name, organization.government_type, organization.state_code) == (
        "City of Dayton",
        "city",
        "OH",
    )
    assert organization.population == 137644
    # The password is hashed, salted, and checks.
    assert REGISTRATION["password"] not in user.password_hash
    assert user.password_hash.startswith("scrypt:")  # werkzeug's default, a memory-hard hash
    assert user.check_password(REGISTRATION["password"])
    assert not user.check_password("dayton sister cities 2028")
    # And the new applicant is signed in.
    assert client.get("/applicant/").status_code == 200


def test_register_refuses_a_taken_email_and_a_short_password(
    client: FlaskClient, make: Factory
) -> None:
    make.applicant(email="grace.grants@dayton.example.gov")
    response = client.post("/register", data=REGISTRATION)
    assert response.status_code == 200
    assert "An account with this email already exists." in response.get_data(as_text=True)
    db.session.rollback()  # the request's unit of work ends (tests share its app context)
    short = {**REGISTRATION, "email": "other@dayton.example.gov", "password": "short"}
    short["confirm"] = "short"
    response = client.post("/register", data=short)
    assert "Use at least 12 characters." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Organization.id))) == 1  # the factory's only


# --- signing in ---------------------------------------------------------------------------------


def test_unknown_email_and_wrong_password_get_the_same_answer(
    client: FlaskClient, make: Factory
) -> None:
    user = make.applicant()
    unknown = sign_in(client, "nobody@example.gov", PASSWORD)
    wrong = sign_in(client, user.email, "not the password at all")
    assert unknown[0] == wrong[0] == 401
    assert REFUSED in unknown[1] and REFUSED in wrong[1]
    assert unknown[1].replace("nobody@example.gov", user.email) == wrong[1]


def test_repeated_failures_lock_the_account_for_a_while(
    app: Flask, client: FlaskClient, make: Factory, freeze: Any
) -> None:
    assert app.config["LOGIN_MAX_FAILURES"] == 5
    minutes = app.config["LOGIN_LOCK_MINUTES"]
    user = make.applicant()
    freeze(NOW)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        status, body = sign_in(client, user.email, "wrong password guess")
        assert status == 401 and REFUSED in body
    status, body = sign_in(client, user.email, PASSWORD)  # the right one, but locked
    assert status == 401
    assert f"Too many failed attempts. Try again in {minutes} minute(s)." in body

    freeze(NOW + timedelta(minutes=1))
    assert f"Try again in {minutes - 1} minute(s)." in sign_in(client, user.email, PASSWORD)[1]
    freeze(NOW + timedelta(minutes=minutes) - timedelta(seconds=1))
    status, body = sign_in(client, user.email, PASSWORD)
    assert status == 401 and "Try again in 1 minute(s)." in body

    freeze(NOW + timedelta(minutes=minutes))
    status, _ = sign_in(client, user.email, PASSWORD)
    assert status == 302
    signed_in = user_by_email(user.email)
    assert signed_in is not None
    assert signed_in.failed_logins == 0 and signed_in.locked_until is None


def test_a_success_resets_the_count_of_failures(
    app: Flask, client: FlaskClient, make: Factory
) -> None:
    user = make.applicant()
    for _ in range(2):
        for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
            assert sign_in(client, user.email, "wrong password guess")[0] == 401
        assert sign_in(client, user.email, PASSWORD)[0] == 302
        client.post("/logout")


def test_a_deactivated_account_cannot_sign_in(client: FlaskClient, make: Factory) -> None:
    user = make.reviewer()
    user.is_active_account = False
    db.session.commit()
    status, body = sign_in(client, user.email, PASSWORD)
    assert status == 401 and "This account is deactivated." in body


def test_change_password(client: FlaskClient, make: Factory, login: Any) -> None:
    user = make.applicant()
    client = login(user)
    form = {"current_password": "not my password", "new_password": NEW_PASSWORD}
    response = client.post("/account", data={**form, "confirm": NEW_PASSWORD})
    assert response.status_code == 200
    assert "The current password is not right." in response.get_data(as_text=True)
    short = {"current_password": PASSWORD, "new_password": "short", "confirm": "short"}
    assert "Use at least 12 characters." in client.post("/account", data=short).get_data(
        as_text=True
    )
    assert user_by_email(user.email).check_password(PASSWORD)

    good = {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post("/account", data=good).status_code == 302
    client.post("/logout")
    assert sign_in(client, user.email, PASSWORD)[0] == 401
    assert sign_in(client, user.email, NEW_PASSWORD)[0] == 302


# --- invitations --------------------------------------------------------------------------------


def _token_from_email(app: Flask, address: str) -> str:
    """The token of the invitation as sent; the recorded email has it removed."""
    sent = sent_to(app, address)
    assert sent, f"no invitation email to {address}"
    text = body(sent[-1])
    match = re.search(re.escape(app.config["BASE_URL"]) + r"/invitations/([\w-]+)", text)
    assert match, text
    email = db.session.scalar(select(EmailMessage).where(EmailMessage.to_address == address))
    assert email is not None
    assert match.group(1) not in email.body
    assert f"{app.config['BASE_URL']}/invitations/[token removed]" in email.body
    return match.group(1)


def test_officer_invites_a_reviewer_who_accepts(
    app: Flask, client: FlaskClient, make: Factory, login: Any, wait_for_jobs: Wait, freeze: Any
) -> None:
    freeze(NOW)
    client = login(make.officer())
    response = client.post(
        "/admin/people", data={"email": "Rita.Reviewer@State.gov", "role": "reviewer"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    client.post("/logout")
    invitation = db.session.scalar(select(Invitation))
    assert invitation is not None
    assert (invitation.email, invitation.role, invitation.organization_id) == (
        "rita.reviewer@state.gov",
        "reviewer",
        None,
    )
    wait_for_jobs()
    token = _token_from_email(app, "rita.reviewer@state.gov")
    assert token not in invitation.token_hash  # only a hash of the token is stored

    assert client.get(f"/invitations/{token}").status_code == 200
    data = {"name": "Rita Reviewer", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    response = client.post(f"/invitations/{token}", data=data)
    assert response.status_code == 302
    user = user_by_email("rita.reviewer@state.gov")
    assert user is not None
    assert (user.role, user.name, user.organization_id) == ("reviewer", "Rita Reviewer", None)
    assert user.check_password(NEW_PASSWORD)
    assert db.session.get(Invitation, invitation.id).accepted_at == NOW
    # The link works once.
    client.post("/logout")
    assert client.get(f"/invitations/{token}").status_code == 404


def test_an_invitation_token_is_kept_nowhere_but_in_the_email_sent(
    app: Flask,
    client: FlaskClient,
    make: Factory,
    login: Any,
    wait_for_jobs: Wait,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = login(make.officer())
    response = client.post("/admin/people", data={"email": "quiet@state.gov", "role": "reviewer"})
    assert response.status_code == 302
    client.post("/logout")
    wait_for_jobs()
    token = _token_from_email(app, "quiet@state.gov")
    db.session.expire_all()
    email = db.session.scalar(
        select(EmailMessage).where(EmailMessage.to_address == "quiet@state.gov")
    )
    assert email is not None
    logs = caplog.text
    worker_log = Path(app.config["MAIL_DIR"]).parent / "worker.log"  # a real rq worker's output
    if worker_log.exists():
        logs += worker_log.read_text(errors="replace")
    assert f"email #{email.id} to quiet@state.gov" in logs
    assert token not in logs
    rows = db.session.scalars(select(EmailMessage.body)).all()
    assert rows and not any(token in row for row in rows)
    payloads = db.session.scalars(select(OutboxJob.payload)).all()
    assert payloads and not any(token in json.dumps(p) for p in payloads)
    assert not any(token in (i.token_hash or "") for i in db.session.scalars(select(Invitation)))
    # The servers' request lines (development server, gunicorn) show the path without it.
    line = f"GET /invitations/{token} HTTP/1.1"
    logging.getLogger("werkzeug").info('%s - - "%s" %s -', "127.0.0.1", line, 200)
    logging.getLogger("gunicorn.access").info(
        '%(h)s "%(r)s" %(s)s', {"h": "10.0.0.1", "r": line, "s": 200}
    )
    requests = [r.getMessage() for r in caplog.records if r.name in ("werkzeug", "gunicorn.access")]
    assert len(requests) == 2 and all("/invitations/[token removed] HTTP" in r for r in requests)
    assert token not in caplog.text
    # The link in the email still works, once.
    data = {"name": "Quinn Quiet", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post(f"/invitations/{token}", data=data).status_code == 302
    client.post("/logout")
    assert client.get(f"/invitations/{token}").status_code == 404


def test_an_invitation_expires(
    app: Flask, client: FlaskClient, make: Factory, wait_for_jobs: Wait, freeze: Any
) -> None:
    freeze(NOW)
    invite("late@state.gov", "reviewer", make.officer(), NOW)
    commit()
    wait_for_jobs()
    token = _token_from_email(app, "late@state.gov")
    freeze(NOW + timedelta(days=14))
    assert client.get(f"/invitations/{token}").status_code == 200
    freeze(NOW + timedelta(days=14, seconds=1))
    assert client.get(f"/invitations/{token}").status_code == 404


def test_applicant_invites_a_colleague_of_its_own_organization(
    app: Flask, client: FlaskClient, make: Factory, login: Any, wait_for_jobs: Wait
) -> None:
    applicant = make.applicant()
    client = login(applicant)
    response = client.post("/applicant/organization", data={"email": "colleague@city.example.gov"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    client.post("/logout")
    wait_for_jobs()
    token = _token_from_email(app, "colleague@city.example.gov")
    data = {"name": "Colin Colleague", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post(f"/invitations/{token}", data=data).status_code == 302
    colleague = user_by_email("colleague@city.example.gov")
    assert colleague is not None
    assert (colleague.role, colleague.organization_id) == ("applicant", applicant.organization_id)


@pytest.mark.parametrize("role", ["applicant", "reviewer", "officer", "admin"])
def test_applicant_cannot_invite_staff_or_other_organizations(role: str, make: Factory) -> None:
    applicant = make.applicant()
    other = make.organization()
    own = applicant.organization
    with pytest.raises(AccountError, match="colleagues of your own organization only"):
        invite("x@example.gov", role, applicant, NOW, organization=other)
    if role != "applicant":
        with pytest.raises(AccountError, match="colleagues of your own organization only"):
            invite("x@example.gov", role, applicant, NOW, organization=own)
        with pytest.raises(AccountError, match="colleagues of your own organization only"):
            invite("x@example.gov", role, applicant, NOW)
    assert db.session.scalar(select(func.count(Invitation.id))) == 0


def test_who_else_may_invite(make: Factory, client: FlaskClient, login: Any) -> None:
    officer, admin, reviewer = make.officer(), make.admin(), make.reviewer()
    with pytest.raises(AccountError, match="You cannot invite people"):
        invite("x@example.gov", "reviewer", reviewer, NOW)
    with pytest.raises(AccountError, match="Only an administrator can invite administrators"):
        invite("x@example.gov", "admin", officer, NOW)
    with pytest.raises(AccountError, match="already exists"):
        invite(reviewer.email.upper(), "reviewer", officer, NOW)
    invitation, _ = invite("boss@example.gov", "admin", admin, NOW)
    assert invitation.role == "admin"
    db.session.rollback()

    # The people page itself is for officers and admins only.
    client = login(make.applicant())
    form = {"email": "friend@example.gov", "role": "officer"}
    assert client.post("/admin/people", data=form).status_code == 403
    client.post("/logout")
    client = login(reviewer)
    assert client.post("/admin/people", data=form).status_code == 403
    client.post("/logout")
    client = login(officer)
    response = client.post("/admin/people", data={"email": "boss@example.gov", "role": "admin"})
    assert response.status_code == 200  # not a choice an officer has
    assert db.session.scalar(select(func.count(Invitation.id))) == 0


# --- flask user create --------------------------------------------------------------------------


def test_user_create_reads_the_password_from_stdin(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["user", "create", "Olivia@Example.gov", "--role", "officer", "--name", "Olivia"],
        input="officer passphrase 1\n",
    )
    assert result.exit_code == 0, result.output
    user = user_by_email("olivia@example.gov")
    assert user is not None
    assert f"Created officer olivia@example.gov (id {user.id})." in result.output
    assert (user.role, user.name) == ("officer", "Olivia")
    assert user.check_password("officer passphrase 1")
    assert "officer passphrase 1" not in result.output


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--role", "superuser"], "officer passphrase 1", "Invalid value for '--role'"),
        (["--role", "officer"], "short", "Use at least 12 characters."),
        (
            ["--role", "applicant"],
            "officer passphrase 1",
            "An applicant belongs to an organization.",
        ),
        (
            ["--role", "applicant", "--organization-id", "999"],
            "officer passphrase 1",
            "No organization with id 999.",
        ),
    ],
)
def test_user_create_refuses(app: Flask, args: list[str], password: str, message: str) -> None:
    result = app.test_cli_runner().invoke(
        args=["user", "create", "someone@example.gov", *args], input=password + "\n"
    )
    assert result.exit_code != 0
    assert message in result.output
    assert user_by_email("someone@example.gov") is None


def test_user_create_refuses_a_taken_email(app: Flask, make: Factory) -> None:
    user = make.reviewer()
    result = app.test_cli_runner().invoke(
        args=["user", "create", user.email, "--role", "officer"], input="officer passphrase 1\n"
    )
    assert result.exit_code != 0
    assert "An account with this email already exists." in result.output
    assert user_by_email(user.email).role == "reviewer"


# --- configuration ------------------------------------------------------------------------------


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("L2G_ENV", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_production_refuses_to_start_without_a_secret_key(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    environment.setenv("L2G_ENV", "production")
    with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
        load_config(str(tmp_path))
    with pytest.raises(ConfigError):
        create_app()
    environment.setenv("SECRET_KEY", DEV_SECRET_KEY)
    with pytest.raises(ConfigError, match="development SECRET_KEY"):
        load_config(str(tmp_path))


def test_development_uses_the_development_key(
    environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = load_config(str(tmp_path))
    assert config["SECRET_KEY"] == DEV_SECRET_KEY
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'l2g.sqlite'}"
    assert config["REDIS_URL"] is None


@pytest.mark.parametrize(
    ("given", "used"),
    [
        (
            "postgres://l2g:pw@db.internal:5432/l2g",
            "postgresql+psycopg://l2g:pw@db.internal:5432/l2g",
        ),
        (
            "postgresql://l2g@db/l2g?sslmode=require",
            "postgresql+psycopg://l2g@db/l2g?sslmode=require",
        ),
        ("postgresql+psycopg://l2g@db/l2g", "postgresql+psycopg://l2g@db/l2g"),
        ("sqlite:////var/lib/l2g/l2g.sqlite", "sqlite:////var/lib/l2g/l2g.sqlite"),
    ],
)
def test_database_url_is_rewritten_for_psycopg(
    environment: pytest.MonkeyPatch, tmp_path: Path, given: str, used: str
) -> None:
    environment.setenv("DATABASE_URL", given)
    assert load_config(str(tmp_path))["SQLALCHEMY_DATABASE_URI"] == used


def test_production_cookies_are_secure(environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    environment.setenv("L2G_ENV", "production")
    environment.setenv("SECRET_KEY", "a-long-random-production-secret")
    environment.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.sqlite'}")
    production = create_app()
    config = production.config
    assert config["SECRET_KEY"] == "a-long-random-production-secret"
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["REMEMBER_COOKIE_HTTPONLY"]
    assert config["PREFERRED_URL_SCHEME"] == "https"
    with production.test_request_context("/"):
        session["seen"] = True
        response = production.make_response("ok")
        production.session_interface.save_session(production, session, response)
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
