"""Who may open what: another jurisdiction's work does not exist for an applicant, each audience's
pages are refused to the others, officers see everything, forms need their CSRF token, and a
sign-in only ever sends people on to a page of this site."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app import create_app
from app.extensions import db
from app.models.application import Application
from app.models.audit import AuditEvent
from app.models.round import Round
from app.models.user import User
from tests.factories import PASSWORD, Factory
from tests.pdfs import good_pdf


def snapshot(application_id: int) -> dict[str, Any]:
    db.session.rollback()
    db.session.expire_all()
    a = db.session.get(Application, application_id)
    assert a is not None
    values = {attr.key: getattr(a, attr.key) for attr in Application.__mapper__.column_attrs}
    values.update(
        priority_areas=sorted(a.priority_areas),
        partners=[(p.name, p.kind, p.role) for p in a.partners],
        budget=[(x.category, x.federal_amount, x.cost_share) for x in a.budget_lines],
        milestones=[(m.due_on, m.description) for m in a.milestones],
        targets=[(t.indicator, t.baseline, t.target) for t in a.impact_targets],
        letters=[(x.id, x.sha256, x.storage_key) for x in a.letters],
    )
    return values


def audit_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def stored_files(app: Flask) -> list[Path]:
    root = Path(app.config["STORAGE_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def pdf_bytes() -> bytes:
    return good_pdf()


def multipart(values: dict[str, Any]) -> dict[str, Any]:
    boundary, body = encode_multipart(values)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture
def world(make: Factory) -> dict[str, Any]:
    """Two jurisdictions in one open round: Ours (one draft) and Theirs (a draft and a submitted
    application, each with a letter), plus an officer, a reviewer and an admin."""
    officer = make.officer()
    rnd = make.round(officer=officer)
    ours = make.applicant()
    theirs = make.applicant()
    return {
        "round": rnd,
        "officer": officer,
        "reviewer": make.reviewer(),
        "admin": make.admin(),
        "ours": ours,
        "theirs": theirs,
        "our_draft": make.application(rnd, ours),
        "their_draft": make.application(rnd, theirs),
        "their_submitted": make.application(rnd, theirs, submit=True),
    }


def application_requests(application: Application) -> list[tuple[str, str, dict[str, Any]]]:
    """Every applicant URL that names this application, with a plausible request for each."""
    base = f"/applicant/applications/{application.id}"
    letter_id = application.letters[0].id
    version = str(application.version)
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", base, {}),
        ("GET", f"{base}/receipt", {}),
        ("GET", f"{base}/letters/{letter_id}", {}),
        ("POST", f"{base}/transition", {"data": {"trigger": "submit", "version": version}}),
        ("POST", f"{base}/transition", {"data": {"trigger": "withdraw", "version": version}}),
        (
            "POST",
            f"{base}/letters",
            multipart(
                {"version": version, "letter": FileStorage(io.BytesIO(pdf_bytes()), "x.pdf")}
            ),
        ),
        ("POST", f"{base}/letters/{letter_id}/delete", {"data": {"version": version}}),
    ]
    for key in ("project", "narrative", "partners", "budget", "milestones", "targets", "letters"):
        requests.append(("GET", f"{base}/sections/{key}", {}))
        requests.append(
            (
                "POST",
                f"{base}/sections/{key}",
                {"data": {"version": version, "title": "Taken over", "need": "Taken over"}},
            )
        )
    return requests


def test_another_jurisdictions_application_does_not_exist(
    app: Flask, world: dict[str, Any], login: Callable[[User], FlaskClient]
) -> None:
    client = login(world["ours"])
    targets = [world["their_draft"], world["their_submitted"]]
    before = {a.id: snapshot(a.id) for a in targets}
    events, files = audit_count(), stored_files(app)
    for application in targets:
        for method, url, kwargs in application_requests(application):
            response = client.open(url, method=method, **kwargs)
            assert response.status_code == 404, (method, url, response.status_code)
            assert "Taken over" not in response.get_data(as_text=True)
    assert {a.id: snapshot(a.id) for a in targets} == before
    assert audit_count() == events
    assert stored_files(app) == files
    # The same requests on one's own application are answered (the 404s were not accidents).
    ours = world["our_draft"]
    assert client.get(f"/applicant/applications/{ours.id}").status_code == 200
    letter = ours.letters[0].id
    download = client.get(f"/applicant/applications/{ours.id}/letters/{letter}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF-")


def test_a_letter_of_another_application_cannot_be_reached_through_ones_own(
    world: dict[str, Any], login: Callable[[User], FlaskClient]
) -> None:
    client = login(world["ours"])
    ours, theirs = world["our_draft"], world["their_draft"]
    their_letter = theirs.letters[0].id
    before = snapshot(theirs.id)
    base = f"/applicant/applications/{ours.id}"
    assert client.get(f"{base}/letters/{their_letter}").status_code == 404
    response = client.post(
        f"{base}/letters/{their_letter}/delete", data={"version": str(ours.version)}
    )
    assert response.status_code == 404
    assert snapshot(theirs.id) == before


def _staff_and_applicant_urls(world: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    rnd, theirs = world["round"], world["their_submitted"]
    applicant = [
        ("GET", "/applicant/"),
        ("GET", "/applicant/rounds"),
        ("GET", "/applicant/organization"),
        ("POST", f"/applicant/rounds/{rnd.id}/start"),
        ("GET", f"/applicant/applications/{theirs.id}"),
        ("GET", f"/applicant/applications/{theirs.id}/receipt"),
        ("GET", f"/applicant/applications/{theirs.id}/sections/project"),
        ("POST", f"/applicant/applications/{theirs.id}/transition"),
    ]
    officer = [
        ("GET", "/officer/rounds"),
        ("GET", "/officer/rounds/new"),
        ("POST", "/officer/rounds/new"),
        ("GET", f"/officer/rounds/{rnd.id}"),
        ("GET", f"/officer/rounds/{rnd.id}/edit"),
        ("POST", f"/officer/rounds/{rnd.id}/transition"),
        ("GET", "/officer/applications"),
        ("GET", f"/officer/applications/{theirs.id}"),
        ("POST", f"/officer/applications/{theirs.id}/transition"),
        ("GET", f"/officer/applications/{theirs.id}/letters/{theirs.letters[0].id}"),
    ]
    admin = [("GET", "/admin/people"), ("POST", "/admin/people")]
    return {"applicant": applicant, "officer": officer, "admin": admin}


def _rounds_state() -> list[tuple[int, str, int]]:
    db.session.rollback()
    return [(r.id, r.state, r.version) for r in db.session.scalars(select(Round))]


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, world: dict[str, Any]) -> None:
    urls = _staff_and_applicant_urls(world)
    rounds, events = _rounds_state(), audit_count()
    for method, url in urls["applicant"] + urls["officer"] + urls["admin"]:
        response = client.open(url, method=method, data={"trigger": "close"})
        assert response.status_code == 302, (method, url)
        location = urlsplit(response.headers["Location"])
        assert location.path == "/login", (method, url, response.headers["Location"])
    assert _rounds_state() == rounds and audit_count() == events
    assert db.session.scalar(select(func.count()).select_from(Application)) == 3


def test_a_reviewer_cannot_open_applicant_officer_or_admin_pages(
    world: dict[str, Any], login: Callable[[User], FlaskClient]
) -> None:
    client = login(world["reviewer"])
    urls = _staff_and_applicant_urls(world)
    rounds, events = _rounds_state(), audit_count()
    for method, url in urls["applicant"] + urls["officer"] + urls["admin"]:
        response = client.open(url, method=method, data={"trigger": "close"})
        assert response.status_code == 403, (method, url, response.status_code)
    assert _rounds_state() == rounds and audit_count() == events


def test_an_applicant_cannot_open_officer_or_admin_pages(
    world: dict[str, Any], login: Callable[[User], FlaskClient]
) -> None:
    client = login(world["ours"])
    urls = _staff_and_applicant_urls(world)
    rounds, events = _rounds_state(), audit_count()
    before = snapshot(world["their_submitted"].id)
    for method, url in urls["officer"] + urls["admin"]:
        response = client.open(
            url, method=method, data={"trigger": "mark_eligible", "comment": "self-approved"}
        )
        assert response.status_code == 403, (method, url, response.status_code)
    assert _rounds_state() == rounds and audit_count() == events
    assert snapshot(world["their_submitted"].id) == before


def test_staff_cannot_use_applicant_pages(
    world: dict[str, Any], login: Callable[[User], FlaskClient]
) -> None:
    client = login(world["officer"])
    for method, url in _staff_and_applicant_urls(world)["applicant"]:
        assert client.open(url, method=method).status_code == 403, (method, url)


def test_officers_see_every_application(
    world: dict[str, Any], login: Callable[[User], FlaskClient]
) -> None:
    client = login(world["officer"])
    listing = client.get("/officer/applications")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    for key in ("our_draft", "their_draft", "their_submitted"):
        application = world[key]
        assert f'href="/officer/applications/{application.id}"' in html
        detail = client.get(f"/officer/applications/{application.id}")
        assert detail.status_code == 200
        assert application.organization.legal_name in detail.get_data(as_text=True)
        letter = client.get(
            f"/officer/applications/{application.id}/letters/{application.letters[0].id}"
        )
        assert letter.status_code == 200 and letter.data.startswith(b"%PDF-")
    assert "3 applications" in html
    assert client.get("/officer/applications/999999").status_code == 404


# --- CSRF ----------------------------------------------------------------------------------------


@pytest.fixture
def strict_app(app: Flask) -> Iterator[Flask]:
    """The same app and database, with CSRF protection on as in production."""
    strict = create_app(
        {
            "SECRET_KEY": app.config["SECRET_KEY"],
            "WTF_CSRF_ENABLED": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "STORAGE_DIR": app.config["STORAGE_DIR"],
            "RQ_QUEUE": app.config["RQ_QUEUE"],
            "REDIS_URL": app.config["REDIS_URL"],
            "LOGIN_LOCK_MINUTES": app.config["LOGIN_LOCK_MINUTES"],
        }
    )
    yield strict
    with strict.app_context():
        db.session.remove()
        db.engine.dispose()


def csrf_token(client: FlaskClient, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'type="hidden" name="csrf_token" value="([^"]+)"', html
    )
    assert match, f"no CSRF token on {url}"
    return match[1]


def test_posts_without_a_csrf_token_are_refused(strict_app: Flask, make: Factory) -> None:
    user = make.applicant()
    application = make.application(make.round(officer=make.officer()), user)
    before, events = snapshot(application.id), audit_count()
    client = strict_app.test_client()

    # Signing in without the token: refused, not signed in, no failed attempt counted.
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)
    assert client.get("/applicant/").status_code == 302
    db.session.rollback()
    assert db.session.get(User, user.id).failed_logins == 0

    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302

    base = f"/applicant/applications/{application.id}"
    version = str(before["version"])
    response = client.post(
        f"{base}/sections/narrative",
        data={"version": version, "need": "Forged", "approach": "Forged"},
    )
    assert response.status_code == 400
    response = client.post(f"{base}/transition", data={"trigger": "submit", "version": version})
    assert response.status_code == 400
    response = client.post(f"{base}/transition", data={"trigger": "withdraw", "version": version})
    assert response.status_code == 400
    letter_id = before["letters"][0][0]
    response = client.post(f"{base}/letters/{letter_id}/delete", data={"version": version})
    assert response.status_code == 400
    assert snapshot(application.id) == before
    assert audit_count() == events

    # With the token from the page, the same save goes through.
    token = csrf_token(client, f"{base}/sections/narrative")
    response = client.post(
        f"{base}/sections/narrative",
        data={
            "version": version,
            "csrf_token": token,
            "need": "Real",
            "approach": "Real",
            "alignment": "Real",
            "sustainability": "Real",
        },
    )
    assert response.status_code == 302
    assert snapshot(application.id)["need"] == "Real"


def test_officer_actions_without_a_csrf_token_are_refused(strict_app: Flask, make: Factory) -> None:
    officer = make.officer()
    rnd = make.round(officer=officer)
    application = make.application(rnd, submit=True)
    before, events, rounds = snapshot(application.id), audit_count(), _rounds_state()
    client = strict_app.test_client()
    token = csrf_token(client, "/login")
    assert (
        client.post(
            "/login", data={"email": officer.email, "password": PASSWORD, "csrf_token": token}
        ).status_code
        == 302
    )
    response = client.post(
        f"/officer/applications/{application.id}/transition",
        data={"trigger": "mark_eligible", "version": str(before["version"])},
    )
    assert response.status_code == 400
    response = client.post(f"/officer/rounds/{rnd.id}/transition", data={"trigger": "close"})
    assert response.status_code == 400
    assert snapshot(application.id) == before
    assert audit_count() == events and _rounds_state() == rounds


# --- where a sign-in leads -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/applicant/",
        "///evil.example",
        "https://evil.example/",
        "http:evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        "applicant/",
    ],
)
def test_sign_in_ignores_a_next_that_leaves_the_site(
    client: FlaskClient, make: Factory, target: str
) -> None:
    user = make.applicant()
    response = client.post(
        "/login?next=" + quote(target, safe=""), data={"email": user.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_nul_character_in_a_form_or_query_is_refused(
    client: FlaskClient, make: Factory, login: Callable[[User], FlaskClient]
) -> None:
    user = make.officer()
    response = client.post("/login", data={"email": "someone\x00@example.gov", "password": "x"})
    assert response.status_code == 400
    client = login(user)
    assert client.get("/officer/applications?q=%00").status_code == 400
    assert client.get("/officer/applications?q=port").status_code == 200


def test_sign_in_follows_a_same_site_next(client: FlaskClient, make: Factory) -> None:
    user = make.applicant()
    application = make.application(make.round(officer=make.officer()), user, complete=False)
    target = f"/applicant/applications/{application.id}/sections/budget?check=1"
    response = client.get(target)
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert urlsplit(login_url).path == "/login"
    response = client.post(login_url, data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == target
    assert client.get(target).status_code == 200
