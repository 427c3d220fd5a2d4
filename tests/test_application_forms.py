"""The applicant's section forms through the views: every bad input is refused next to its field,
nothing is saved, and what the person typed comes back; valid saves, submission, read-only after
submission, double clicks, two people editing at once, and the deadline to the second."""

from __future__ import annotations

import html as htmlmod
import io
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.clock import utcnow
from app.domain import BUDGET_CATEGORIES
from app.extensions import db
from app.models.application import Application
from app.models.audit import AuditEvent
from app.models.outbox import EmailMessage
from app.models.user import User
from app.services import applications as svc
from tests.factories import Factory
from tests.pdfs import pdf_of_size

SECTION_KEYS = ("project", "narrative", "partners", "budget", "milestones", "targets")
OFFERED_AREAS = ["trade", "climate", "education", "health"]


# --- helpers ------------------------------------------------------------------------------------


class _FormReader(HTMLParser):
    """Reads every <form> of a page the way a browser would submit it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict[str, Any]] = []
        self._form: dict[str, Any] | None = None
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action"), "fields": {}}
            self.forms.append(self._form)
        if self._form is None:
            return
        fields: dict[str, list[str]] = self._form["fields"]
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                fields.setdefault(name, [])
                if "checked" in a:
                    fields[name].append(a.get("value", "y"))
            elif kind not in ("submit", "file", "button"):
                fields.setdefault(name, []).append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            fields.setdefault(name, []).append("")
        elif tag == "select" and name:
            self._select = name
            fields.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            fields[self._select].append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self._form is not None:
            values = self._form["fields"][self._textarea]
            # A textarea's first newline is not part of its value.
            if not values[-1]:
                data = data.removeprefix("\r\n").removeprefix("\n")
            values[-1] += data


def page_form(html: str, has: str = "version") -> dict[str, list[str]]:
    """The fields of the page's form that carries `has`, as a browser would post them."""
    reader = _FormReader()
    reader.feed(html)
    for form in reader.forms:
        if has in form["fields"]:
            return {k: list(v) for k, v in form["fields"].items()}
    raise AssertionError(f"no form with a {has!r} field on the page")


def field_value(html: str, name: str) -> list[str]:
    """What a re-rendered form holds for `name` (inputs, textareas, selected options, checked)."""
    reader = _FormReader()
    reader.feed(html)
    for form in reader.forms:
        if name in form["fields"]:
            return form["fields"][name]
    raise AssertionError(f"no field {name!r} on the page")


def section_url(application_id: int, key: str) -> str:
    return f"/applicant/applications/{application_id}/sections/{key}"


def post_section(
    client: FlaskClient, application_id: int, key: str, changes: dict[str, Any]
) -> Any:
    """Open the section, change some fields as a person would, and press Save."""
    page = client.get(section_url(application_id, key))
    assert page.status_code == 200, page.status_code
    data: dict[str, Any] = page_form(page.get_data(as_text=True))
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(section_url(application_id, key), data=data)


_SPAN = re.compile(
    r'<span class="usa-error-message"(?: id="(?P<id>[^"]*)")?[^>]*>(?P<text>.*?)</span>', re.S
)
_LINK = re.compile(r'<a href="#(?P<id>[^"]+)">(?P<text>.*?)</a>', re.S)


def summary_links(html: str) -> list[tuple[str, str]]:
    start = html.find('id="error-summary-heading"')
    if start < 0:
        return []
    end = html.find("</ul>", start)
    return [(m["id"], htmlmod.unescape(m["text"])) for m in _LINK.finditer(html[start:end])]


def assert_error_at(html: str, field_id: str, message: str, summary: bool = True) -> None:
    """`message` is shown in a usa-error-message right next to the field `field_id`, and the
    error summary at the top links to that field."""
    anchor = html.find(f'id="{field_id}"')
    assert anchor >= 0, f"no element with id {field_id!r}"
    near = [
        m
        for m in _SPAN.finditer(html)
        if message in htmlmod.unescape(m["text"]) and abs(m.start() - anchor) < 1500
    ]
    assert near, f"{message!r} is not shown next to #{field_id}"
    if summary:
        links = summary_links(html)
        assert any(i == field_id and message in text for i, text in links), (
            f"the error summary does not link #{field_id} with {message!r}: {links}"
        )


def snapshot(application_id: int) -> dict[str, Any]:
    """The application as the database holds it, with every section's rows."""
    db.session.rollback()
    db.session.expire_all()
    a = db.session.get(Application, application_id)
    assert a is not None
    values = {attr.key: getattr(a, attr.key) for attr in Application.__mapper__.column_attrs}
    values.update(
        priority_areas=sorted(a.priority_areas),
        partners=[(p.name, p.kind, p.role) for p in a.partners],
        budget=[
            (x.category, x.description, x.federal_amount, x.cost_share) for x in a.budget_lines
        ],
        milestones=[(m.due_on, m.description) for m in a.milestones],
        targets=[(t.indicator, t.baseline, t.target) for t in a.impact_targets],
        letters=[(x.filename, x.sha256, x.storage_key) for x in a.letters],
    )
    return values


def stored_files(app: Flask) -> list[Path]:
    root = Path(app.config["STORAGE_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def draft(make: Factory) -> tuple[User, Application]:
    """A complete draft in an open round, and the applicant who owns it."""
    rnd = make.round(officer=make.officer(), priority_areas=OFFERED_AREAS)
    user = make.applicant()
    return user, make.application(rnd, user)


@pytest.fixture
def signed_in(
    draft: tuple[User, Application], login: Callable[[User], FlaskClient]
) -> tuple[FlaskClient, int]:
    user, application = draft
    return login(user), application.id


# --- every field refuses bad input: message by the field, nothing saved, input kept -------------


PROJECT_CASES = [
    pytest.param({"title": "T" * 201}, "title", "Keep the title under 200 characters", id="title"),
    pytest.param(
        {"summary": "word " * 801}, "summary", "Keep the summary under 250 words", id="summary"
    ),
    pytest.param(
        {"priority_areas": ["trade", "climate", "education", "health"]},
        "priority_areas",
        "Choose at most three priority areas",
        id="four-areas",
    ),
    pytest.param(
        {"priority_areas": ["trade", "gender"]},
        "priority_areas",
        "'gender' is not a valid choice",
        id="area-not-offered",
    ),
    pytest.param(
        {"partner_countries": ["JP", "ZZ"]},
        "partner_countries",
        "'ZZ' is not a valid choice",
        id="unknown-country",
    ),
    pytest.param(
        {"start_date": "next spring"}, "start_date", "Not a valid date value", id="start-date"
    ),
    pytest.param(
        {"start_date": "0227-07-01"}, "start_date", "Enter a date from 1990 to 2100", id="y0227"
    ),
    pytest.param(
        {"start_date": "2101-01-01"}, "start_date", "Enter a date from 1990 to 2100", id="y2101"
    ),
    pytest.param(
        {"period_months": "0"}, "period_months", "Enter a number of months from 1 to 60", id="m0"
    ),
    pytest.param(
        {"period_months": "61"}, "period_months", "Enter a number of months from 1 to 60", id="m61"
    ),
    pytest.param(
        {"period_months": "a year"}, "period_months", "Not a valid integer value", id="m-text"
    ),
]


@pytest.mark.parametrize(("changes", "field_id", "message"), PROJECT_CASES)
def test_project_refuses_bad_input(
    signed_in: tuple[FlaskClient, int], changes: dict[str, Any], field_id: str, message: str
) -> None:
    client, application_id = signed_in
    before = snapshot(application_id)
    typed = {"title": "A new title I just typed", **changes}
    response = post_section(client, application_id, "project", typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert_error_at(html, field_id, message)
    assert snapshot(application_id) == before
    # The draft is not lost: what was typed comes back.
    for name, value in typed.items():
        kept = field_value(html, name)
        if name == "priority_areas":
            assert set(kept) == {v for v in value if v in OFFERED_AREAS}
        elif name == "partner_countries":
            assert set(kept) == {v for v in value if v != "ZZ"}
        else:
            assert kept == [value]


def test_project_only_offers_the_rounds_areas(signed_in: tuple[FlaskClient, int]) -> None:
    client, application_id = signed_in
    html = client.get(section_url(application_id, "project")).get_data(as_text=True)
    offered = re.findall(r'name="priority_areas" type="checkbox" value="([a-z]+)"', html)
    assert sorted(offered) == sorted(OFFERED_AREAS)


@pytest.mark.parametrize("name", ["need", "approach", "alignment", "sustainability"])
def test_narrative_refuses_text_over_the_limit(
    signed_in: tuple[FlaskClient, int], name: str
) -> None:
    client, application_id = signed_in
    before = snapshot(application_id)
    typed = {
        "need": "Our port needs partners.",
        "approach": "Exchanges twice a year.",
        "alignment": "Trade ties.",
        "sustainability": "A standing commission.",
        name: "x" * 20001,
    }
    response = post_section(client, application_id, "narrative", typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert_error_at(html, name, "cannot be longer than 20000 characters")
    assert snapshot(application_id) == before
    for key, value in typed.items():
        assert field_value(html, key) == [value]


PARTNER_CASES = [
    pytest.param(
        {"partners-0-name": "Port Authority", "partners-0-kind": "", "partners-0-role": "Host"},
        "partners-0-kind",
        "Choose the partner's type",
        id="no-type",
    ),
    pytest.param(
        {"partners-0-name": "", "partners-0-kind": "academic", "partners-0-role": "Evaluation"},
        "partners-0-name",
        "Enter the partner's name",
        id="no-name",
    ),
    pytest.param(
        {"partners-0-name": "Port Authority", "partners-0-kind": "business", "partners-0-role": ""},
        "partners-0-role",
        "Describe the partner's role",
        id="no-role",
    ),
    pytest.param(
        {"partners-1-name": "", "partners-1-kind": "diaspora", "partners-1-role": ""},
        "partners-1-name",
        "Enter the partner's name",
        id="type-only-in-an-extra-row",
    ),
]


@pytest.mark.parametrize(("changes", "field_id", "message"), PARTNER_CASES)
def test_partners_refuse_half_filled_rows(
    signed_in: tuple[FlaskClient, int], changes: dict[str, str], field_id: str, message: str
) -> None:
    client, application_id = signed_in
    before = snapshot(application_id)
    response = post_section(client, application_id, "partners", changes)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert_error_at(html, field_id, message)
    assert snapshot(application_id) == before
    for name, value in changes.items():
        assert field_value(html, name) == ([value] if value or "kind" in name else [""])


BUDGET_CASES = [
    pytest.param("-5", "Enter an amount from 0 to 100,000,000", id="negative"),
    pytest.param("lots", "Not a valid decimal value", id="not-a-number"),
    pytest.param("1e15", "Enter an amount from 0 to 100,000,000", id="absurdly-large"),
    pytest.param("100000000.01", "Enter an amount from 0 to 100,000,000", id="just-over"),
    # Stored with 2 places: 12.999 would be saved as 13.00 without a word.
    pytest.param("12.999", "Enter at most 2 decimal places", id="three-places"),
    pytest.param("1E-7", "Enter at most 2 decimal places", id="tiny-exponent"),
]


@pytest.mark.parametrize(("amount", "message"), BUDGET_CASES)
def test_budget_refuses_bad_amounts_in_every_category(
    signed_in: tuple[FlaskClient, int], amount: str, message: str
) -> None:
    client, application_id = signed_in
    before = snapshot(application_id)
    for i, _category in enumerate(BUDGET_CATEGORIES):
        for column in ("federal_amount", "cost_share"):
            name = f"lines-{i}-{column}"
            response = post_section(
                client, application_id, "budget", {name: amount, f"lines-{i}-description": "Mine"}
            )
            html = response.get_data(as_text=True)
            assert response.status_code == 200, name
            assert_error_at(html, name, message)
            assert field_value(html, name) == [amount]
            assert field_value(html, f"lines-{i}-description") == ["Mine"]
    assert snapshot(application_id) == before


MILESTONE_CASES = [
    pytest.param(
        {"milestones-1-due_on": "", "milestones-1-description": "Trade mission"},
        "milestones-1-due_on",
        "Enter the milestone's date",
        id="no-date",
    ),
    pytest.param(
        {"milestones-1-due_on": "2031-05-01", "milestones-1-description": ""},
        "milestones-1-description",
        "Describe the milestone",
        id="no-description",
    ),
    pytest.param(
        {"milestones-1-due_on": "31/02/2031", "milestones-1-description": "Forum"},
        "milestones-1-due_on",
        "Not a valid date value",
        id="invalid-date",
    ),
    pytest.param(
        {"milestones-0-due_on": "2031-02-30"},
        "milestones-0-due_on",
        "Not a valid date value",
        id="no-such-day",
    ),
    pytest.param(
        {"milestones-1-due_on": "1989-12-31", "milestones-1-description": "Forum"},
        "milestones-1-due_on",
        "Enter a date from 1990 to 2100",
        id="before-1990",
    ),
    pytest.param(
        {"milestones-0-due_on": "9999-12-31"},
        "milestones-0-due_on",
        "Enter a date from 1990 to 2100",
        id="after-2100",
    ),
]


@pytest.mark.parametrize(("changes", "field_id", "message"), MILESTONE_CASES)
def test_milestones_refuse_bad_rows(
    signed_in: tuple[FlaskClient, int], changes: dict[str, str], field_id: str, message: str
) -> None:
    client, application_id = signed_in
    before = snapshot(application_id)
    response = post_section(client, application_id, "milestones", changes)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert_error_at(html, field_id, message)
    assert snapshot(application_id) == before
    for name, value in changes.items():
        assert field_value(html, name) == [value]


TARGET_CASES = [
    pytest.param(
        {"targets-1-indicator": "events", "targets-1-baseline": "", "targets-1-target": ""},
        [("targets-1-baseline", "Enter the baseline"), ("targets-1-target", "Enter the target")],
        id="indicator-only",
    ),
    pytest.param(
        {"targets-1-indicator": "events", "targets-1-baseline": "3", "targets-1-target": ""},
        [("targets-1-target", "Enter the target")],
        id="no-target",
    ),
    pytest.param(
        {"targets-1-indicator": "", "targets-1-baseline": "1", "targets-1-target": "4"},
        [("targets-1-indicator", "Choose an indicator")],
        id="no-indicator",
    ),
    pytest.param(
        {"targets-1-indicator": "events", "targets-1-baseline": "0", "targets-1-target": "-4"},
        [("targets-1-target", "Enter zero or more")],
        id="negative-target",
    ),
    pytest.param(
        {"targets-1-indicator": "events", "targets-1-baseline": "-1", "targets-1-target": "4"},
        [("targets-1-baseline", "Enter zero or more")],
        id="negative-baseline",
    ),
    pytest.param(
        {"targets-1-indicator": "events", "targets-1-baseline": "0", "targets-1-target": "many"},
        [("targets-1-target", "Not a valid decimal value")],
        id="not-a-number",
    ),
    pytest.param(
        {"targets-1-indicator": "fdi_usd", "targets-1-baseline": "0", "targets-1-target": "1e15"},
        [("targets-1-target", "Enter at most 1,000,000,000,000")],
        id="absurdly-large",
    ),
    pytest.param(
        {"targets-1-indicator": "events", "targets-1-baseline": "sNaN", "targets-1-target": "NaN"},
        [
            ("targets-1-baseline", "Not a valid decimal value"),
            ("targets-1-target", "Not a valid decimal value"),
        ],
        id="not-a-number-nan",
    ),
    pytest.param(
        {"targets-1-indicator": "events", "targets-1-baseline": "0", "targets-1-target": "4.125"},
        [("targets-1-target", "Enter at most 2 decimal places")],
        id="three-places",
    ),
]


@pytest.mark.parametrize(("changes", "errors"), TARGET_CASES)
def test_targets_refuse_bad_rows(
    signed_in: tuple[FlaskClient, int], changes: dict[str, str], errors: list[tuple[str, str]]
) -> None:
    client, application_id = signed_in
    before = snapshot(application_id)
    response = post_section(client, application_id, "targets", changes)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for field_id, message in errors:
        assert_error_at(html, field_id, message)
    assert snapshot(application_id) == before
    for name, value in changes.items():
        assert field_value(html, name) == [value]


def test_targets_refuse_a_duplicate_indicator(signed_in: tuple[FlaskClient, int]) -> None:
    client, application_id = signed_in
    before = snapshot(application_id)
    changes = {"targets-1-indicator": "jobs", "targets-1-baseline": "2", "targets-1-target": "9"}
    response = post_section(client, application_id, "targets", changes)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    message = "Each indicator can have one target only"
    links = [(i, text) for i, text in summary_links(html) if message in text]
    assert links, summary_links(html)
    assert_error_at(html, links[0][0], message)
    assert snapshot(application_id) == before
    assert field_value(html, "targets-1-target") == ["9"]


@pytest.mark.parametrize("amount", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_budget_refuses_amounts_that_are_not_numbers(
    signed_in: tuple[FlaskClient, int], amount: str
) -> None:
    client, application_id = signed_in
    before = snapshot(application_id)
    response = post_section(client, application_id, "budget", {"lines-2-cost_share": amount})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert_error_at(html, "lines-2-cost_share", "Not a valid decimal value")
    assert field_value(html, "lines-2-cost_share") == [amount]
    assert snapshot(application_id) == before


def test_a_nul_character_is_refused_before_it_reaches_the_database(
    signed_in: tuple[FlaskClient, int],
) -> None:
    client, application_id = signed_in
    before = snapshot(application_id)
    response = post_section(client, application_id, "narrative", {"need": "Ports\x00 and trade"})
    assert response.status_code == 400
    response = post_section(client, application_id, "project", {"title": "\x00"})
    assert response.status_code == 400
    assert snapshot(application_id) == before


LETTER_CASES = [
    pytest.param(
        ("letter.pdf", b"PK\x03\x04 this is a zip archive renamed to .pdf " * 50),
        "the file is not a PDF",
        id="not-a-pdf",
    ),
    pytest.param(("letter.pdf", b""), "the file is empty", id="empty"),
    pytest.param(None, "Choose a PDF file to upload", id="missing"),
]


def post_multipart(client: FlaskClient, url: str, values: dict[str, Any]) -> Any:
    """POST a multipart body encoded in memory (the test client spools big bodies to a temporary
    file it never closes, which the warnings-as-errors setting turns into a failure)."""
    boundary, body = encode_multipart(values)
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _upload(client: FlaskClient, application_id: int, file: tuple[str, bytes] | None) -> Any:
    page = client.get(section_url(application_id, "letters")).get_data(as_text=True)
    data: dict[str, Any] = {"version": page_form(page, has="version")["version"][0]}
    if file is not None:
        data["letter"] = FileStorage(io.BytesIO(file[1]), filename=file[0])
    return post_multipart(client, f"/applicant/applications/{application_id}/letters", data)


@pytest.mark.parametrize(("file", "message"), LETTER_CASES)
def test_letters_refuse_bad_files(
    app: Flask,
    signed_in: tuple[FlaskClient, int],
    file: tuple[str, bytes] | None,
    message: str,
) -> None:
    client, application_id = signed_in
    before, files_before = snapshot(application_id), stored_files(app)
    response = _upload(client, application_id, file)
    assert response.status_code == 422
    assert_error_at(response.get_data(as_text=True), "letter", message)
    assert snapshot(application_id) == before
    assert stored_files(app) == files_before


def test_letters_refuse_a_file_over_the_limit(
    app: Flask, signed_in: tuple[FlaskClient, int]
) -> None:
    client, application_id = signed_in
    limit = app.config["MAX_UPLOAD_BYTES"]
    before, files_before = snapshot(application_id), stored_files(app)
    response = _upload(client, application_id, ("big.pdf", pdf_of_size(limit + 1)))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert_error_at(html, "letter", f"larger than {limit // (1024 * 1024)} MB")
    assert snapshot(application_id) == before
    assert stored_files(app) == files_before
    # Exactly at the limit is accepted.
    response = _upload(client, application_id, ("limit.pdf", pdf_of_size(limit)))
    assert response.status_code == 302
    assert [x[0] for x in snapshot(application_id)["letters"]][-1] == "limit.pdf"


# --- valid saves ---------------------------------------------------------------------------------


def test_project_saves_and_persists(signed_in: tuple[FlaskClient, int]) -> None:
    client, application_id = signed_in
    response = post_section(
        client,
        application_id,
        "project",
        {
            "title": "  Ports of the Future  ",
            "summary": "Twin-port exchange.",
            "priority_areas": ["trade", "health"],
            "partner_countries": ["CL", "KR"],
            "start_date": "2031-07-01",
            "period_months": "18",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(section_url(application_id, "project"))
    saved = snapshot(application_id)
    assert saved["title"] == "Ports of the Future"
    assert saved["summary"] == "Twin-port exchange."
    assert saved["priority_areas"] == ["health", "trade"]
    assert sorted(saved["partner_countries"]) == ["CL", "KR"]
    assert saved["start_date"] == date(2031, 7, 1)
    assert saved["period_months"] == 18
    page = client.get(section_url(application_id, "project")).get_data(as_text=True)
    assert "Project saved." in page
    assert field_value(page, "title") == ["Ports of the Future"]


def test_narrative_saves_and_persists(signed_in: tuple[FlaskClient, int]) -> None:
    client, application_id = signed_in
    typed = {k: f"New {k}, typed." for k in ("need", "approach", "alignment", "sustainability")}
    assert post_section(client, application_id, "narrative", typed).status_code == 302
    saved = snapshot(application_id)
    assert {k: saved[k] for k in typed} == typed


def test_partners_ignore_blank_rows_and_remove_checked_ones(
    signed_in: tuple[FlaskClient, int],
) -> None:
    client, application_id = signed_in
    response = post_section(
        client,
        application_id,
        "partners",
        {
            "partners-1-name": "Consulate of Chile",
            "partners-1-kind": "consulate",
            "partners-1-role": "Introductions",
            "partners-3-name": "   ",  # a row of blanks is no row
        },
    )
    assert response.status_code == 302
    assert snapshot(application_id)["partners"] == [
        ("Testville University", "academic", "Evaluation"),
        ("Consulate of Chile", "consulate", "Introductions"),
    ]
    page = client.get(section_url(application_id, "partners")).get_data(as_text=True)
    # Filled rows, then blank ones to add more.
    assert field_value(page, "partners-2-name") == [""]
    response = post_section(client, application_id, "partners", {"partners-0-remove": "y"})
    assert response.status_code == 302
    assert snapshot(application_id)["partners"] == [
        ("Consulate of Chile", "consulate", "Introductions")
    ]


def test_budget_saves_lines_and_computes_totals(signed_in: tuple[FlaskClient, int]) -> None:
    client, application_id = signed_in
    index = {c: i for i, c in enumerate(BUDGET_CATEGORIES)}
    response = post_section(
        client,
        application_id,
        "budget",
        {
            f"lines-{index['personnel']}-federal_amount": "60000",
            f"lines-{index['personnel']}-cost_share": "2500.50",
            f"lines-{index['travel']}-description": "Two delegations",
            f"lines-{index['travel']}-federal_amount": "25000.25",
            f"lines-{index['travel']}-cost_share": "",
            f"lines-{index['indirect']}-federal_amount": "9999.75",
            f"lines-{index['indirect']}-cost_share": "1000",
        },
    )
    assert response.status_code == 302
    saved = snapshot(application_id)
    assert saved["requested_amount"] == Decimal("95000.00")
    assert saved["cost_share_amount"] == Decimal("3500.50")
    lines = {line[0]: line for line in saved["budget"]}
    assert lines["travel"] == ("travel", "Two delegations", Decimal("25000.25"), Decimal("0"))
    page = client.get(section_url(application_id, "budget")).get_data(as_text=True)
    assert "$95,000.00" in page and "$3,500.50" in page


def test_milestones_save_in_date_order_and_remove(signed_in: tuple[FlaskClient, int]) -> None:
    client, application_id = signed_in
    first = snapshot(application_id)["milestones"][0]
    response = post_section(
        client,
        application_id,
        "milestones",
        {"milestones-1-due_on": "2020-01-02", "milestones-1-description": "Earlier step"},
    )
    assert response.status_code == 302
    assert snapshot(application_id)["milestones"] == [(date(2020, 1, 2), "Earlier step"), first]
    response = post_section(client, application_id, "milestones", {"milestones-0-remove": "y"})
    assert response.status_code == 302
    assert snapshot(application_id)["milestones"] == [first]


def test_targets_save_and_remove(signed_in: tuple[FlaskClient, int]) -> None:
    client, application_id = signed_in
    response = post_section(
        client,
        application_id,
        "targets",
        {"targets-1-indicator": "events", "targets-1-baseline": "0", "targets-1-target": "4"},
    )
    assert response.status_code == 302
    assert snapshot(application_id)["targets"] == [
        ("jobs", Decimal("0"), Decimal("25")),
        ("events", Decimal("0"), Decimal("4")),
    ]
    response = post_section(client, application_id, "targets", {"targets-0-remove": "y"})
    assert response.status_code == 302
    assert snapshot(application_id)["targets"] == [("events", Decimal("0"), Decimal("4"))]


def test_a_valid_letter_is_stored(app: Flask, signed_in: tuple[FlaskClient, int]) -> None:
    client, application_id = signed_in
    response = _upload(
        client, application_id, ("../../Letter from the Port.pdf", pdf_of_size(4096))
    )
    assert response.status_code == 302
    letters = snapshot(application_id)["letters"]
    assert len(letters) == 2 and letters[-1][0] == "Letter from the Port.pdf"


def test_an_incomplete_draft_can_be_saved(
    make: Factory, login: Callable[[User], FlaskClient]
) -> None:
    user = make.applicant()
    application = make.application(make.round(officer=make.officer()), user, complete=False)
    client = login(user)
    response = post_section(client, application.id, "project", {"title": "Only a title so far"})
    assert response.status_code == 302
    assert snapshot(application.id)["title"] == "Only a title so far"
    for key, changes in {
        "partners": {"partners-0-name": ""},
        "milestones": {},
        "targets": {},
        "narrative": {"need": "Just the need."},
        "budget": {"lines-0-federal_amount": "10"},
    }.items():
        assert post_section(client, application.id, key, changes).status_code == 302, key
    problems = svc.section_problems(db.session.get(Application, application.id))
    assert problems["project"] and problems["partners"] and problems["budget"]


# --- submission ----------------------------------------------------------------------------------


def _submit(client: FlaskClient, application_id: int, version: Any = None) -> Any:
    if version is None:
        page = client.get(f"/applicant/applications/{application_id}").get_data(as_text=True)
        version = page_form(page, has="trigger")["version"][0]
    return client.post(
        f"/applicant/applications/{application_id}/transition",
        data={"trigger": "submit", "version": str(version)},
    )


def test_submitting_an_incomplete_draft_lists_every_problem_by_section(
    make: Factory, login: Callable[[User], FlaskClient]
) -> None:
    user = make.applicant()
    application = make.application(make.round(officer=make.officer()), user, complete=False)
    client = login(user)
    response = _submit(client, application.id)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "The application was not submitted" in html
    problems = svc.section_problems(db.session.get(Application, application.id))
    assert all(problems[s.key] for s in svc.SECTIONS)
    for section in svc.SECTIONS:
        heading = html.find(f"<h3>{section.title}</h3>")
        assert heading >= 0, section.title
        for problem in problems[section.key]:
            href = (
                f"/applicant/applications/{application.id}/sections/{section.key}"
                f"?check=1#{problem.field}"
            )
            link = html.find(f'<a href="{href}">')
            assert link > heading, href
            text = html[link : html.find("</a>", link)]
            assert problem.message in htmlmod.unescape(text), href
            page = client.get(
                f"/applicant/applications/{application.id}/sections/{section.key}?check=1"
            )
            assert page.status_code == 200
            assert_error_at(
                page.get_data(as_text=True), problem.field, problem.message, summary=False
            )
    assert snapshot(application.id)["state"] == "draft"
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity_type == "application")
        )
        == 0
    )


def test_submitting_a_complete_draft_shows_the_receipt(
    draft: tuple[User, Application],
    login: Callable[[User], FlaskClient],
    wait_for_jobs: Callable[[], None],
) -> None:
    user, application = draft
    client = login(user)
    response = _submit(client, application.id)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/applicant/applications/{application.id}/receipt"
    )
    receipt = client.get(response.headers["Location"]).get_data(as_text=True)
    reference = re.search(r"L2G-(\d{4})-(\d{4})", receipt)
    assert reference is not None
    assert int(reference[1]) == utcnow().year
    saved = snapshot(application.id)
    assert saved["state"] == "submitted" and saved["reference"] == reference[0]
    wait_for_jobs()
    sent = db.session.scalars(select(EmailMessage.to_address)).all()
    assert user.email in sent


def test_after_submission_the_sections_are_read_only(
    app: Flask, draft: tuple[User, Application], login: Callable[[User], FlaskClient]
) -> None:
    user, application = draft
    client = login(user)
    assert _submit(client, application.id).status_code == 302
    before, files_before = snapshot(application.id), stored_files(app)
    overview = f"/applicant/applications/{application.id}"
    for key in SECTION_KEYS:
        response = client.get(section_url(application.id, key))
        assert response.status_code == 302, key
        assert response.headers["Location"].endswith(overview)
        response = client.post(
            section_url(application.id, key),
            data={"version": str(before["version"]), "title": "Changed after submitting"},
        )
        assert response.status_code == 302, key
        assert response.headers["Location"].endswith(overview)
    letters = client.get(section_url(application.id, "letters")).get_data(as_text=True)
    assert 'type="file"' not in letters and "Remove " not in letters
    response = post_multipart(
        client,
        f"/applicant/applications/{application.id}/letters",
        {
            "version": str(before["version"]),
            "letter": FileStorage(io.BytesIO(pdf_of_size(999)), filename="x.pdf"),
        },
    )
    assert response.status_code == 403
    letter_id = db.session.get(Application, application.id).letters[0].id
    response = client.post(
        f"/applicant/applications/{application.id}/letters/{letter_id}/delete",
        data={"version": str(before["version"])},
    )
    assert response.status_code == 403
    assert snapshot(application.id) == before
    assert stored_files(app) == files_before


def test_a_double_clicked_submit_submits_once(
    draft: tuple[User, Application],
    login: Callable[[User], FlaskClient],
    wait_for_jobs: Callable[[], None],
) -> None:
    user, application = draft
    client = login(user)
    version = snapshot(application.id)["version"]
    first = _submit(client, application.id, version)
    second = _submit(client, application.id, version)
    receipt = f"/applicant/applications/{application.id}/receipt"
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"].endswith(receipt)
    assert second.headers["Location"].endswith(receipt)
    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity_type == "application", AuditEvent.entity_id == application.id
        )
    ).all()
    assert [e.trigger for e in events] == ["submit"]
    references = db.session.scalars(
        select(Application.reference).where(Application.reference.is_not(None))
    ).all()
    assert len(references) == 1
    assert references[0] in client.get(receipt).get_data(as_text=True)
    wait_for_jobs()
    receipts = db.session.scalars(
        select(EmailMessage).where(EmailMessage.to_address == user.email)
    ).all()
    assert len(receipts) == 1


def test_two_colleagues_saving_the_same_section(
    app: Flask, make: Factory, login: Callable[[User], FlaskClient]
) -> None:
    first_user = make.applicant()
    second_user = make.applicant(organization=first_user.organization)
    application = make.application(make.round(officer=make.officer()), first_user)
    first, second = login(first_user), login(second_user)
    # Both open the page, with the same version.
    first_form = page_form(
        first.get(section_url(application.id, "narrative")).get_data(as_text=True)
    )
    second_form = page_form(
        second.get(section_url(application.id, "narrative")).get_data(as_text=True)
    )
    assert first_form["version"] == second_form["version"]
    first_form["need"] = ["The first colleague's need."]
    second_form["need"] = ["The second colleague's need, typed at the same time."]
    assert first.post(section_url(application.id, "narrative"), data=first_form).status_code == 302
    response = second.post(section_url(application.id, "narrative"), data=second_form)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "changed by someone else" in html
    assert field_value(html, "need") == ["The second colleague's need, typed at the same time."]
    saved = snapshot(application.id)
    assert saved["need"] == "The first colleague's need."
    # The re-rendered form carries the new version: saving again now works.
    assert field_value(html, "version") == [str(saved["version"])]
    retry = page_form(html)
    assert second.post(section_url(application.id, "narrative"), data=retry).status_code == 302
    assert (
        snapshot(application.id)["need"] == "The second colleague's need, typed at the same time."
    )


# --- the deadline, to the second -----------------------------------------------------------------


@pytest.fixture
def deadline_draft(make: Factory) -> tuple[User, Application, datetime]:
    closes_at = (utcnow() + timedelta(days=20)).replace(microsecond=0)
    rnd = make.round(officer=make.officer(), closes_at=closes_at, timezone="America/Chicago")
    user = make.applicant()
    return user, make.application(rnd, user), closes_at


def test_submit_one_second_after_the_deadline_is_refused(
    deadline_draft: tuple[User, Application, datetime],
    login: Callable[[User], FlaskClient],
    freeze: Callable[[datetime], None],
) -> None:
    user, application, closes_at = deadline_draft
    deadline_text = application.round.format_moment(closes_at)
    client = login(user)
    freeze(closes_at + timedelta(seconds=1))
    response = _submit(client, application.id)
    assert response.status_code == 200
    html = htmlmod.unescape(response.get_data(as_text=True))
    assert f"the deadline ({deadline_text}) has passed" in html
    assert "CDT" in deadline_text or "CST" in deadline_text
    saved = snapshot(application.id)
    assert saved["state"] == "draft" and saved["reference"] is None


def test_submit_at_the_deadline_exactly_succeeds(
    deadline_draft: tuple[User, Application, datetime],
    login: Callable[[User], FlaskClient],
    freeze: Callable[[datetime], None],
) -> None:
    user, application, closes_at = deadline_draft
    client = login(user)
    freeze(closes_at.astimezone(UTC))
    response = _submit(client, application.id)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/receipt")
    saved = snapshot(application.id)
    assert saved["state"] == "submitted"
    assert saved["submitted_at"] == closes_at
