"""The program officer's pages: the round form (every bad input refused by its field, moments in
the round's own time zone, stale edits), opening a round, screening with the history both sides
see, and the applications inbox's filters and pages."""

from __future__ import annotations

import html as htmlmod
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.jobs import commit
from app.models.application import Application
from app.models.audit import AuditEvent
from app.models.round import Round
from app.models.user import User
from app.views.officer import common as officer_views
from tests.factories import Factory

_SPAN = re.compile(
    r'<span class="usa-error-message"(?: id="(?P<id>[^"]*)")?[^>]*>(?P<text>.*?)</span>', re.S
)
_LINK = re.compile(r'<a href="#(?P<id>[^"]+)">(?P<text>.*?)</a>', re.S)


def assert_error_at(html: str, field_id: str, message: str) -> None:
    """`message` is shown right next to the field, and the error summary links to the field."""
    anchor = html.find(f'id="{field_id}"')
    assert anchor >= 0, f"no element with id {field_id!r}"
    assert any(
        message in htmlmod.unescape(m["text"]) and abs(m.start() - anchor) < 1500
        for m in _SPAN.finditer(html)
    ), f"{message!r} is not shown next to #{field_id}"
    start = html.find('id="error-summary-heading"')
    assert start >= 0, "no error summary"
    links = [
        (m["id"], htmlmod.unescape(m["text"]))
        for m in _LINK.finditer(html[start : html.find("</ul>", start)])
    ]
    assert any(i == field_id and message in text for i, text in links), links


def input_value(html: str, field_id: str) -> str:
    tag = re.search(rf'<input[^>]*\bid="{re.escape(field_id)}"[^>]*>', html)
    assert tag, f"no input #{field_id}"
    value = re.search(r'\bvalue="([^"]*)"', tag[0])
    return htmlmod.unescape(value[1]) if value else ""


def checked(html: str, name: str) -> list[str]:
    return [
        m[1] for m in re.finditer(rf'<input checked[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    ]


def round_rows() -> list[dict[str, Any]]:
    db.session.rollback()
    db.session.expire_all()
    return [
        {attr.key: getattr(r, attr.key) for attr in Round.__mapper__.column_attrs}
        for r in db.session.scalars(select(Round).order_by(Round.id))
    ]


def valid_round(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Spring 2027 round",
        "description": "Cities and their partners abroad.",
        "timezone": "America/Chicago",
        "opens_at": "2027-01-15T09:00",
        "closes_at": "2027-03-31T17:00",
        "budget": "2000000",
        "min_award": "50000",
        "max_award": "250000",
        "eligible_government_types": ["city", "county"],
        "priority_areas": ["trade", "climate"],
        "reviewers_per_application": "3",
        "performance_months": "24",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def officer(make: Factory) -> User:
    return make.officer()


@pytest.fixture
def as_officer(officer: User, login: Callable[[User], FlaskClient]) -> FlaskClient:
    return login(officer)


# --- the round form ------------------------------------------------------------------------------


ROUND_CASES = [
    pytest.param(
        {"closes_at": "2027-01-10T17:00"},
        "closes_at",
        "The round must close after it opens",
        id="closes-before-opens",
    ),
    pytest.param(
        {"closes_at": "2027-01-15T09:00"},
        "closes_at",
        "The round must close after it opens",
        id="closes-when-it-opens",
    ),
    pytest.param(
        {"max_award": "40000"},
        "max_award",
        "The maximum award cannot be below the minimum",
        id="max-below-min",
    ),
    pytest.param(
        {"max_award": "2500000"},
        "max_award",
        "The maximum award cannot exceed the budget",
        id="max-above-budget",
    ),
    pytest.param(
        {"eligible_government_types": None},
        "eligible_government_types",
        "Choose at least one government type",
        id="no-government-type",
    ),
    pytest.param(
        {"priority_areas": None},
        "priority_areas",
        "Choose at least one priority area",
        id="no-priority-area",
    ),
    pytest.param(
        {"reviewers_per_application": "0"},
        "reviewers_per_application",
        "Enter 1 to 10",
        id="no-reviewers",
    ),
    pytest.param(
        {"performance_months": "0"}, "performance_months", "Enter 1 to 60 months", id="months-0"
    ),
    pytest.param(
        {"performance_months": "61"}, "performance_months", "Enter 1 to 60 months", id="months-61"
    ),
    pytest.param(
        {"opens_at": "next Monday"}, "opens_at", "Not a valid datetime value", id="not-a-date"
    ),
    pytest.param(
        {"closes_at": "2027-02-30T17:00"},
        "closes_at",
        "Not a valid datetime value",
        id="no-such-day",
    ),
    pytest.param(
        {"timezone": "Mars/Olympus_Mons"}, "timezone", "Not a valid choice", id="unknown-zone"
    ),
    pytest.param(
        {"budget": "-5"}, "budget", "Enter a positive amount in dollars", id="negative-budget"
    ),
    pytest.param({"min_award": "a lot"}, "min_award", "Not a valid decimal value", id="min-text"),
    pytest.param({"budget": "sNaN"}, "budget", "Not a valid decimal value", id="budget-snan"),
    pytest.param({"max_award": "NaN"}, "max_award", "Not a valid decimal value", id="max-nan"),
    pytest.param(
        {"min_award": "Infinity"}, "min_award", "Not a valid decimal value", id="min-infinite"
    ),
    pytest.param({"title": ""}, "title", "Enter a title", id="no-title"),
    pytest.param(
        {"budget": "1000000.005"}, "budget", "Enter at most 2 decimal places", id="budget-cents"
    ),
    pytest.param(
        {"opens_at": "1989-12-31T09:00"}, "opens_at", "Enter a date from 1990 to 2100", id="y1989"
    ),
    pytest.param(
        {"closes_at": "2101-01-01T17:00"},
        "closes_at",
        "Enter a date from 1990 to 2100",
        id="y2101",
    ),
]


@pytest.mark.parametrize(("changes", "field_id", "message"), ROUND_CASES)
def test_new_round_refuses_bad_input(
    as_officer: FlaskClient, changes: dict[str, Any], field_id: str, message: str
) -> None:
    before = round_rows()
    data = valid_round(**changes)
    response = as_officer.post("/officer/rounds/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert_error_at(html, field_id, message)
    assert round_rows() == before
    # What was typed comes back.
    if field_id != "title":
        assert input_value(html, "title") == data["title"]
    for name in ("opens_at", "closes_at", "budget", "min_award", "max_award"):
        assert input_value(html, name) == data[name]
    assert checked(html, "priority_areas") == data.get("priority_areas", [])


def test_edit_round_refuses_bad_input_and_keeps_it(
    as_officer: FlaskClient, make: Factory, officer: User
) -> None:
    rnd = make.round(state="draft", officer=officer)
    before = round_rows()
    data = valid_round(title="Edited title", max_award="5", version=str(rnd.version))
    response = as_officer.post(f"/officer/rounds/{rnd.id}/edit", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert_error_at(html, "max_award", "The maximum award cannot be below the minimum")
    assert input_value(html, "title") == "Edited title"
    assert round_rows() == before


def test_a_new_round_stores_its_moments_in_its_own_time_zone(as_officer: FlaskClient) -> None:
    response = as_officer.post("/officer/rounds/new", data=valid_round())
    assert response.status_code == 302
    rnd = db.session.scalars(select(Round)).one()
    assert response.headers["Location"].endswith(f"/officer/rounds/{rnd.id}")
    assert rnd.state == "draft" and rnd.timezone == "America/Chicago"
    # 17:00 in Chicago on March 31, 2027 (daylight time, UTC-5) is 22:00 UTC; January is UTC-6.
    assert rnd.closes_at == datetime(2027, 3, 31, 22, 0, tzinfo=UTC)
    assert rnd.opens_at == datetime(2027, 1, 15, 15, 0, tzinfo=UTC)
    assert rnd.budget == Decimal("2000000") and rnd.max_award == Decimal("250000")
    assert sorted(rnd.eligible_government_types) == ["city", "county"]
    detail = as_officer.get(f"/officer/rounds/{rnd.id}").get_data(as_text=True)
    assert "Wednesday, March 31, 2027 at 5:00:00 PM CDT" in detail
    assert "Friday, January 15, 2027 at 9:00:00 AM CST" in detail
    # The edit form shows the same wall-clock times, in the round's zone.
    edit = as_officer.get(f"/officer/rounds/{rnd.id}/edit").get_data(as_text=True)
    assert input_value(edit, "closes_at") == "2027-03-31T17:00"
    assert input_value(edit, "opens_at") == "2027-01-15T09:00"


def test_the_same_wall_clock_in_another_zone_is_another_moment(as_officer: FlaskClient) -> None:
    response = as_officer.post("/officer/rounds/new", data=valid_round(timezone="Pacific/Honolulu"))
    assert response.status_code == 302
    rnd = db.session.scalars(select(Round)).one()
    assert rnd.closes_at == datetime(2027, 4, 1, 3, 0, tzinfo=UTC)  # HST is UTC-10 all year
    detail = as_officer.get(f"/officer/rounds/{rnd.id}").get_data(as_text=True)
    assert "Wednesday, March 31, 2027 at 5:00:00 PM HST" in detail


def test_editing_a_round_with_a_stale_version_keeps_the_input(
    officer: User, make: Factory, login: Callable[[User], FlaskClient], app: Flask
) -> None:
    rnd = make.round(state="draft", officer=officer)
    first = login(officer)
    second = login(make.officer())
    url = f"/officer/rounds/{rnd.id}/edit"
    version = input_value(first.get(url).get_data(as_text=True), "version")
    assert input_value(second.get(url).get_data(as_text=True), "version") == version
    saved = first.post(url, data=valid_round(title="First officer's title", version=version))
    assert saved.status_code == 302
    response = second.post(url, data=valid_round(title="Second officer's title", version=version))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "changed by someone else" in html
    assert input_value(html, "title") == "Second officer's title"
    rows = round_rows()
    assert rows[0]["title"] == "First officer's title"
    # The page now carries the new version, so saving again is possible.
    assert input_value(html, "version") == str(rows[0]["version"])


def test_opening_a_round_with_invalid_dates_is_refused_with_the_reason(
    as_officer: FlaskClient,
) -> None:
    response = as_officer.post(
        "/officer/rounds/new",
        data=valid_round(opens_at="2020-01-06T09:00", closes_at="2020-02-28T17:00"),
    )
    assert response.status_code == 302
    rnd = db.session.scalars(select(Round)).one()
    detail = as_officer.get(f"/officer/rounds/{rnd.id}").get_data(as_text=True)
    assert "Open the round" in detail and "the closing time has already passed" in detail
    response = as_officer.post(
        f"/officer/rounds/{rnd.id}/transition",
        data={"trigger": "open", "version": str(rnd.version)},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Not done: the closing time has already passed." in response.get_data(as_text=True)
    assert round_rows()[0]["state"] == "draft"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_a_valid_round_opens(as_officer: FlaskClient) -> None:
    as_officer.post("/officer/rounds/new", data=valid_round(closes_at="2099-03-31T17:00"))
    rnd = db.session.scalars(select(Round)).one()
    response = as_officer.post(
        f"/officer/rounds/{rnd.id}/transition",
        data={"trigger": "open", "version": str(rnd.version)},
        follow_redirects=True,
    )
    assert "Done: open → open." in htmlmod.unescape(response.get_data(as_text=True))
    assert round_rows()[0]["state"] == "open"


# --- screening, and the history both sides see ---------------------------------------------------


MOMENT = datetime(2030, 4, 2, 15, 4, 5, tzinfo=UTC)  # 11:04 AM EDT in the round's zone


@pytest.fixture
def submitted(
    make: Factory, officer: User, freeze: Callable[[datetime], None]
) -> tuple[User, Application]:
    freeze(MOMENT)
    applicant = make.applicant()
    rnd = make.round(officer=officer, timezone="America/New_York")
    return applicant, make.application(rnd, applicant, submit=True)


def _fire(client: FlaskClient, application: Application, trigger: str, comment: str = "") -> str:
    db.session.rollback()
    version = db.session.get(Application, application.id).version
    response = client.post(
        f"/officer/applications/{application.id}/transition",
        data={"trigger": trigger, "version": str(version), "comment": comment},
        follow_redirects=True,
    )
    assert response.status_code == 200
    return htmlmod.unescape(response.get_data(as_text=True))


def _state(application: Application) -> str:
    db.session.rollback()
    return db.session.get(Application, application.id).state


def _history(html: str) -> str:
    start = html.find("<h2>History</h2>")
    assert start >= 0, re.search(r"<title>(.*?)</title>", html)
    return htmlmod.unescape(html[start:])


def test_marking_ineligible_needs_a_comment_and_both_sides_see_it(
    submitted: tuple[User, Application],
    officer: User,
    login: Callable[[User], FlaskClient],
    app: Flask,
    make: Factory,
) -> None:
    applicant, application = submitted
    client = login(officer)
    page = _fire(client, application, "mark_ineligible")
    assert "Not done: a comment giving the reason is required." in page
    assert _state(application) == "submitted"
    page = _fire(client, application, "mark_ineligible", "The city is outside the program's scope.")
    assert "Done: mark ineligible → ineligible." in page
    assert _state(application) == "ineligible"
    for html in (
        client.get(f"/officer/applications/{application.id}").get_data(as_text=True),
        login(applicant).get(f"/applicant/applications/{application.id}").get_data(as_text=True),
    ):
        history = _history(html)
        assert "Mark ineligible" in history and "submitted → ineligible" in history
        assert f"by {officer.email} (officer)" in history
        assert "Apr 2, 2030, 11:04 AM EDT" in history
        assert "The city is outside the program's scope." in history
        assert f"by {applicant.email} (applicant)" in history  # the submission, before it


def test_returning_to_draft_needs_a_comment_and_the_applicant_can_edit_again(
    submitted: tuple[User, Application],
    officer: User,
    login: Callable[[User], FlaskClient],
    app: Flask,
    make: Factory,
) -> None:
    applicant, application = submitted
    client = login(officer)
    page = _fire(client, application, "return_to_draft", "   ")
    assert "Not done: a comment giving the reason is required." in page
    assert _state(application) == "submitted"
    page = _fire(client, application, "return_to_draft", "Please attach the mayor's letter.")
    assert "Done: return to draft → draft." in page
    assert _state(application) == "draft"
    own = login(applicant)
    overview = own.get(f"/applicant/applications/{application.id}").get_data(as_text=True)
    history = _history(overview)
    assert "Please attach the mayor's letter." in history
    assert f"by {officer.email} (officer)" in history
    assert own.get(f"/applicant/applications/{application.id}/sections/project").status_code == 200


def test_marking_eligible_records_who_and_when(
    submitted: tuple[User, Application],
    officer: User,
    login: Callable[[User], FlaskClient],
    app: Flask,
    make: Factory,
    freeze: Callable[[datetime], None],
) -> None:
    applicant, application = submitted
    client = login(officer)
    freeze(MOMENT + timedelta(days=1, hours=2))
    page = _fire(client, application, "mark_eligible")
    assert "Done: mark eligible → eligible." in page
    assert _state(application) == "eligible"
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.trigger == "mark_eligible")
    ).one()
    assert (event.actor_id, event.actor_role, event.from_state, event.to_state) == (
        officer.id,
        "officer",
        "submitted",
        "eligible",
    )
    assert event.created_at == MOMENT + timedelta(days=1, hours=2)
    overview = login(applicant).get(f"/applicant/applications/{application.id}")
    history = _history(overview.get_data(as_text=True))
    assert "Mark eligible" in history and "Apr 3, 2030, 1:04 PM EDT" in history


def test_a_stale_screening_click_does_nothing(
    submitted: tuple[User, Application], officer: User, login: Callable[[User], FlaskClient]
) -> None:
    _, application = submitted
    client = login(officer)
    response = client.post(
        f"/officer/applications/{application.id}/transition",
        data={"trigger": "mark_eligible", "version": str(application.version - 1)},
        follow_redirects=True,
    )
    assert "changed since you opened it" in response.get_data(as_text=True)
    assert _state(application) == "submitted"


# --- the applications inbox ----------------------------------------------------------------------


@pytest.fixture
def inbox(make: Factory, officer: User) -> dict[str, Any]:
    spring = make.round(officer=officer, title="Spring round")
    autumn = make.round(officer=officer, title="Autumn round")
    harbor = make.organization(legal_name="Harbor City")
    hills = make.organization(legal_name="Hill County", government_type="county")
    harbor_user, hills_user = make.applicant(harbor), make.applicant(hills)
    made: dict[str, Application] = {}
    plan = [
        ("ports", spring, harbor_user, True, "Ports of the Future"),
        ("trains", spring, harbor_user, False, "Night trains"),
        ("schools", spring, hills_user, True, "Schools abroad"),
        ("farms", autumn, hills_user, True, "Farm exchange"),
        ("clinics", autumn, harbor_user, False, "Clinic twinning"),
    ]
    for key, rnd, user, submit, title in plan:
        application = make.application(rnd, user, complete=True)
        application.title = title
        commit()
        if submit:
            from workflows import fire

            fire(application, "submit", user)
            commit()
        made[key] = application
    return {"spring": spring, "autumn": autumn, **made}


def _listed(client: FlaskClient, query: str) -> tuple[list[int], str]:
    response = client.get("/officer/applications" + query)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    ids = [int(x) for x in re.findall(r'href="/officer/applications/(\d+)"', html)]
    return ids, html


def test_the_inbox_filters_by_round_state_and_search(
    inbox: dict[str, Any], as_officer: FlaskClient
) -> None:
    def ids(*keys: str) -> set[int]:
        return {inbox[k].id for k in keys}

    everything, _ = _listed(as_officer, "")
    assert set(everything) == ids("ports", "trains", "schools", "farms", "clinics")
    spring, html = _listed(as_officer, f"?round={inbox['spring'].id}")
    assert set(spring) == ids("ports", "trains", "schools")
    assert "3 applications" in html
    drafts, _ = _listed(as_officer, "?state=draft")
    assert set(drafts) == ids("trains", "clinics")
    submitted_spring, _ = _listed(as_officer, f"?round={inbox['spring'].id}&state=submitted")
    assert set(submitted_spring) == ids("ports", "schools")
    by_title, _ = _listed(as_officer, "?q=twinning")
    assert set(by_title) == ids("clinics")
    by_name, _ = _listed(as_officer, "?q=hill+county")
    assert set(by_name) == ids("schools", "farms")
    by_reference, _ = _listed(as_officer, f"?q={inbox['farms'].reference}")
    assert set(by_reference) == ids("farms")
    nothing, html = _listed(as_officer, "?q=no+such+project")
    assert nothing == [] and "0 applications" in html
    # An unknown state is ignored rather than an error.
    unknown, _ = _listed(as_officer, "?state=bogus")
    assert len(unknown) == 5


def test_the_inbox_paginates_and_keeps_its_filters(
    inbox: dict[str, Any], as_officer: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(officer_views, "PAGE_SIZE", 2)
    first, html = _listed(as_officer, "")
    assert len(first) == 2 and "page 1 of 3" in html
    assert "Previous page" not in html and "Next page" in html
    second, html = _listed(as_officer, "?page=2")
    third, html3 = _listed(as_officer, "?page=3")
    assert len(second) == 2 and len(third) == 1
    assert len(set(first + second + third)) == 5
    assert "Previous page" in html3 and "Next page" not in html3
    spring, html = _listed(as_officer, f"?round={inbox['spring'].id}")
    assert len(spring) == 2 and "page 1 of 2" in html
    next_link = htmlmod.unescape(re.search(r'href="([^"]+)">Next page', html)[1])
    assert f"round={inbox['spring'].id}" in next_link and "page=2" in next_link
    rest, _ = _listed(as_officer, next_link.removeprefix("/officer/applications"))
    assert len(rest) == 1 and set(spring + rest) == {
        inbox[k].id for k in ("ports", "trains", "schools")
    }
    # A page past the end, or a nonsense page number, is not an error.
    assert _listed(as_officer, "?page=9")[0] == []
    assert len(_listed(as_officer, "?page=-3")[0]) == 2
