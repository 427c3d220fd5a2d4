"""Hypothesis: whatever is typed into a number or date field of a form (text, NaN, sNaN,
infinities, exponents, many decimal places, far years), the answer is a page, never a 5xx.

The examples per form are few enough for the suite; L2G_FUZZ_EXAMPLES raises them (thousands in
a run of its own)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain import INDICATORS
from app.models.user import User
from tests.decision_helpers import jobs_settled, scored_round
from tests.factories import Factory
from tests.test_application_forms import OFFERED_AREAS, post_section
from tests.test_impact_reports import _form, accepted_award, reports_of
from tests.test_officer_views import valid_round

EXAMPLES = int(os.environ.get("L2G_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

TRICKY = [
    "NaN",
    "sNaN",
    "-sNaN",
    "nan",
    "Infinity",
    "-Infinity",
    "inf",
    "-0",
    "-0.00",
    "1e999999999",
    "1E-999999999",
    "12.999",
    "0.001",
    "1_000",
    "١٢٣",  # Arabic-Indic digits: Decimal reads them
    "9" * 40,
    "0227-07-01",
    "9999-12-31T23:59",
    "1989-12-31",
    "2100-12-31",
    "",
    " ",
]
# No surrogates (a browser cannot send them as UTF-8); NUL is a 400 by design, kept.
TYPED = st.one_of(
    st.sampled_from(TRICKY),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(str),
    st.integers(-(10**30), 10**30).map(str),
)


def assert_answered(response: Any, field: str, value: str) -> None:
    assert response.status_code < 500, (field, value, response.status_code)


def test_impact_report_indicators(make: Factory, wait_for_jobs: Any, login: Any) -> None:
    award, grantee = accepted_award(make, wait_for_jobs)
    report = reports_of(award)[0]
    client = login(grantee)
    fields = [f"ind_{code}" for code in INDICATORS]

    @FUZZ
    @given(st.sampled_from(fields), TYPED)
    def post(field: str, value: str) -> None:
        response = client.post(
            f"/applicant/reports/{report.id}", data=_form(report, **{field: value})
        )
        assert_answered(response, field, value)

    post()


def test_application_sections(make: Factory, login: Callable[[User], FlaskClient]) -> None:
    rnd = make.round(officer=make.officer(), priority_areas=OFFERED_AREAS)
    user = make.applicant()
    application = make.application(rnd, user)
    client = login(user)
    fields = [
        ("budget", "lines-0-federal_amount"),
        ("budget", "lines-1-cost_share"),
        ("targets", "targets-0-baseline"),
        ("targets", "targets-0-target"),
        ("milestones", "milestones-0-due_on"),
        ("project", "start_date"),
        ("project", "period_months"),
    ]

    @FUZZ
    @given(st.sampled_from(fields), TYPED)
    def post(section_field: tuple[str, str], value: str) -> None:
        section, field = section_field
        response = post_section(client, application.id, section, {field: value})
        assert_answered(response, field, value)

    post()


def test_round_form(officer: User, login: Callable[[User], FlaskClient]) -> None:
    client = login(officer)
    fields = [
        "budget",
        "min_award",
        "max_award",
        "reviewers_per_application",
        "performance_months",
        "opens_at",
        "closes_at",
    ]

    @FUZZ
    @given(st.sampled_from(fields), TYPED)
    def post(field: str, value: str) -> None:
        response = client.post("/officer/rounds/new", data=valid_round(**{field: value}))
        assert_answered(response, field, value)

    post()


def test_decision_amount_and_quality_floor(
    app: Flask, make: Factory, officer: User, login: Callable[[User], FlaskClient]
) -> None:
    rnd, apps = scored_round(make, officer, [100_000], budget=150_000, max_award=150_000)
    client = login(officer)

    @FUZZ
    @given(TYPED)
    def post(value: str) -> None:
        response = client.post(
            f"/officer/rounds/{rnd.id}/decisions/{apps[0].id}",
            data={
                "trigger": "waitlist" if value.startswith("-") else "award",
                "amount": value,
                "justification": "Fuzzed.",
                "version": apps[0].version,
            },
        )
        assert_answered(response, "amount", value)
        floored = client.get(f"/officer/rounds/{rnd.id}/decisions", query_string={"floor": value})
        assert_answered(floored, "floor", value)

    post()


@pytest.fixture
def officer(make: Factory) -> User:
    return make.officer()


__all__ = ["jobs_settled"]  # autouse: waits for the award letters under a real worker
