"""The officer's program dashboard: indicator totals from ACCEPTED reports only, against the
funded applications' targets, overall and by priority area, state and round; its filters, its
charts and tables, the CSV of every report's indicators, who may see it, and its query counts."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.domain import INDICATORS
from app.extensions import db
from app.models.award import Award
from app.models.impact_report import ImpactReport
from app.models.user import User
from app.services import dashboard as program_totals
from app.services import program_data as data
from app.services import program_exports as exports
from app.services.impact_reports import CUMULATIVE_INDICATORS
from tests.decision_helpers import (
    jobs_settled,  # noqa: F401  (autouse)
)
from tests.factories import Factory, SignIn
from tests.program_helpers import (
    Funded,
    Spec,
    accept_report,
    file_report,
    funded_round,
    grantee_of,
    reports_of,
    request_changes,
    values,
)

D = Decimal


class World:
    """Two rounds, four funded projects in three states, and reports in every state: accepted,
    submitted, changes requested, draft, scheduled."""

    def __init__(self, make: Factory) -> None:
        self.officer = make.officer()
        officer = self.officer
        self.spring: Funded = funded_round(
            make,
            officer,
            [
                Spec(
                    title="Columbus climate exchange",
                    state_code="OH",
                    areas=("climate", "education"),
                    amount=100_000,
                    targets={"jobs": 40, "fdi_usd": 2_000_000, "funds_spent_usd": 100_000},
                ),
                Spec(
                    title="Alameda trade mission",
                    state_code="CA",
                    government_type="county",
                    areas=("trade",),
                    amount=150_000,
                    targets={"jobs": 60, "agreements": 4},
                ),
                Spec(title="Not funded", state_code="TX", funded=False),
            ],
            title="Spring round",
        )
        self.fall: Funded = funded_round(
            make,
            officer,
            [
                Spec(
                    title="Texas health compact",
                    state_code="TX",
                    government_type="state",
                    areas=("health", "trade"),
                    amount=200_000,
                    targets={"jobs": 100, "people_reached": 5000},
                ),
                Spec(
                    title="Dayton education network",
                    state_code="OH",
                    areas=("education",),
                    amount=80_000,
                    targets={"jobs": 10},
                ),
            ],
            title="Fall round",
        )
        columbus, alameda = self.spring.awards
        texas = self.fall.awards[0]
        g = {award: grantee_of(award) for award in self.spring.awards + self.fall.awards}
        first, final = reports_of(columbus)
        file_report(first, g[columbus], values(jobs=10, fdi_usd=500_000, funds_spent_usd=20_000))
        accept_report(first, officer)
        file_report(final, g[columbus], values(jobs=5, fdi_usd=250, funds_spent_usd="60000.50"))
        accept_report(final, officer)
        first, final = reports_of(alameda)
        file_report(first, g[alameda], values(jobs=777, agreements=9))  # submitted, not accepted
        file_report(final, g[alameda], values(jobs=888), submit=False)  # a draft
        first, final = reports_of(texas)
        file_report(first, g[texas], values(jobs=3, people_reached=1200, funds_spent_usd=1000))
        accept_report(first, officer)
        file_report(final, g[texas], values(jobs=999))
        request_changes(final, officer)  # changes requested: not accepted
        # Dayton: scheduled reports only.


def accepted_sums(award_ids: set[int] | None = None) -> dict[str, Decimal]:
    """What the accepted reports add up to, computed here from the rows themselves."""
    latest: dict[tuple[int, str], Decimal] = {}
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for report in db.session.scalars(
        select(ImpactReport)
        .where(ImpactReport.state == "accepted")
        .order_by(ImpactReport.award_id, ImpactReport.period_end)
    ):
        if award_ids is not None and report.award_id not in award_ids:
            continue
        for code, raw in report.indicators.items():
            if code in CUMULATIVE_INDICATORS:
                latest[(report.award_id, code)] = Decimal(raw)
            else:
                totals[code] += Decimal(raw)
    for (_, code), value in latest.items():
        totals[code] += value
    return dict(totals)


def table_row(html: str, caption: str, label: str) -> list[str]:
    """The cells of the row headed `label` in the table captioned `caption`."""
    table = re.search(
        rf"<caption[^>]*>{re.escape(caption)}</caption>(.*?)</table>", html, re.DOTALL
    )
    assert table, caption
    row = re.search(
        rf'<th scope="row">(?:<a [^>]*>)?{re.escape(label)}(?:</a>)?</th>(.*?)</tr>',
        table.group(1),
        re.DOTALL,
    )
    assert row, (caption, label)
    return [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.DOTALL)]


@pytest.fixture
def world(make: Factory) -> World:
    return World(make)


# --- the sums ----------------------------------------------------------------------------------


def test_dashboard_sums_equal_the_sums_of_the_accepted_reports(world: World) -> None:
    expected = accepted_sums()
    assert expected["jobs"] == D(18)  # 10 + 5 + 3: not 777, 888 or 999
    assert expected["funds_spent_usd"] == D("61000.50")  # each award's latest, added up
    dash = program_totals.dashboard_totals()
    assert dict(dash.overall.outcomes) == expected
    assert dash.overall.awards == 4
    assert dash.overall.amount == D(530_000)
    assert dash.overall.reports_accepted == 3
    # The same as adding up award by award in Python, and as the public totals.
    python = program_totals.dashboard(data.award_facts())
    assert dict(python.overall.outcomes) == expected
    assert data.outcome_totals() == expected
    for name in ("by_area", "by_state", "by_round"):
        sql_groups, python_groups = getattr(dash, name), getattr(python, name)
        assert set(sql_groups) == set(python_groups), name
        for key, totals in sql_groups.items():
            assert dict(totals.outcomes) == dict(python_groups[key].outcomes), (name, key)
            assert dict(totals.targets) == dict(python_groups[key].targets), (name, key)
            assert (totals.awards, totals.amount) == (
                python_groups[key].awards,
                python_groups[key].amount,
            )


def test_targets_are_the_funded_applications_targets(world: World) -> None:
    dash = program_totals.dashboard_totals()
    assert dash.overall.targets["jobs"] == D(40 + 60 + 100 + 10)  # not the unfunded one's 25
    assert dash.overall.targets["fdi_usd"] == D(2_000_000)
    assert dash.overall.targets["people_reached"] == D(5000)


def test_groups_by_state_round_and_priority_area(world: World) -> None:
    dash = program_totals.dashboard_totals()
    columbus, alameda = world.spring.awards
    texas, dayton = world.fall.awards
    assert set(dash.by_state) == {"CA", "OH", "TX"}
    assert dash.by_state["OH"].awards == 2 and dash.by_state["OH"].amount == D(180_000)
    assert dash.by_state["OH"].outcomes["jobs"] == D(15)
    assert dict(dash.by_state["CA"].outcomes) == {}  # nothing accepted
    assert dash.by_state["TX"].outcomes["jobs"] == D(3)
    assert dash.by_round["Spring round"].outcomes == accepted_sums({columbus.id, alameda.id})
    assert dash.by_round["Fall round"].outcomes == accepted_sums({texas.id, dayton.id})
    # An award counts in each of its areas.
    assert dash.by_area["trade"].awards == 2
    assert dash.by_area["trade"].outcomes["jobs"] == D(3)
    assert dash.by_area["education"].awards == 2
    assert dash.by_area["education"].outcomes["jobs"] == D(15)
    assert dash.by_area["climate"].targets["jobs"] == D(40)


def test_dashboard_page_shows_the_sums_in_charts_and_tables(
    app: Flask, world: World, login: SignIn
) -> None:
    html = login(world.officer).get("/officer/dashboard").get_data(as_text=True)
    expected = accepted_sums()
    assert table_row(html, "Indicators against targets", INDICATORS["jobs"]) == [
        "18",
        "210",
        "9%",
    ]
    assert table_row(html, "Indicators against targets", INDICATORS["funds_spent_usd"]) == [
        "$61,000.50",
        "$100,000",
        "61%",
    ]
    assert table_row(html, "Indicators against targets", INDICATORS["fdi_usd"])[0] == (
        f"${expected['fdi_usd']:,.0f}"
    )
    caption = "By state: awards, amount and jobs created"
    assert table_row(html, caption, "Ohio") == ["2", "$180,000", "15", "50"]
    assert table_row(html, caption, "California") == ["1", "$150,000", "0", "60"]
    area_caption = "By priority area: awards, amount and jobs created"
    assert table_row(html, area_caption, "Trade, investment and tourism")[:3] == [
        "2",
        "$350,000",
        "3",
    ]
    round_caption = "By round: awards, amount and jobs created"
    assert table_row(html, round_caption, "Spring round") == ["2", "$250,000", "15", "100"]
    # Every chart is an image with a title and a description, and a table follows it.
    charts = re.findall(r'<svg class="l2g-chart__svg" id="([^"]+)" role="img" ([^>]*)>', html)
    assert [c for c, _ in charts] == ["chart-targets", "chart-area", "chart-state", "chart-round"]
    for chart_id, attributes in charts:
        assert f'aria-labelledby="{chart_id}-title {chart_id}-desc"' in attributes
        assert f'<title id="{chart_id}-title">' in html
        assert f'<desc id="{chart_id}-desc">' in html
        after = html.split(f'id="{chart_id}"', 1)[1]
        assert after.index("<table") < after.index("</section>")
    # Not counted: the submitted, changes-requested and draft values.
    for value in ("777", "888", "999"):
        assert f">{value}<" not in html


def test_indicator_select_changes_the_grouped_charts(
    app: Flask, world: World, login: SignIn
) -> None:
    client = login(world.officer)
    html = client.get("/officer/dashboard?indicator=people_reached").get_data(as_text=True)
    caption = "By state: awards, amount and people reached"
    assert table_row(html, caption, "Texas") == ["1", "$200,000", "1,200", "5,000"]
    assert '<option value="people_reached" selected>' in html
    # An unknown indicator falls back to the default rather than failing.
    assert client.get("/officer/dashboard?indicator=nope").status_code == 200


@pytest.mark.parametrize(
    ("query", "awards", "jobs"),
    [
        ("state=OH", 2, "15"),
        ("state=CA", 1, "0"),
        ("area=trade", 2, "3"),
        ("area=gender", 0, None),
        ("government_type=county", 1, "0"),
        ("government_type=state&area=health", 1, "3"),
        ("state=oh&area=nonsense", 2, "15"),  # lower case is read; an unknown area is ignored
    ],
)
def test_filters(
    app: Flask, world: World, query: str, awards: int, jobs: str | None, login: SignIn
) -> None:
    html = login(world.officer).get(f"/officer/dashboard?{query}").get_data(as_text=True)
    figure = re.search(r'l2g-figures__value">([\d,]+)</span> awards?', html)
    assert figure and figure.group(1) == str(awards)
    if jobs is None:
        assert "No award accepted by its grantee matches these filters." in html
    else:
        assert table_row(html, "Indicators against targets", INDICATORS["jobs"])[0] == jobs


def test_round_filter(app: Flask, world: World, login: SignIn) -> None:
    client = login(world.officer)
    html = client.get(f"/officer/dashboard?round={world.fall.round.id}").get_data(as_text=True)
    assert table_row(html, "Indicators against targets", INDICATORS["jobs"])[0] == "3"
    assert f'<option value="{world.fall.round.id}" selected>' in html
    # The CSV link keeps the filters.
    assert f"/officer/dashboard/reports.csv?round={world.fall.round.id}" in html
    assert (
        program_totals.dashboard_totals(data.Filters(round_id=world.fall.round.id)).overall.awards
        == 2
    )


# --- the CSV of every report ---------------------------------------------------------------------


def read_csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True).removeprefix("\ufeff")
    return list(csv.DictReader(io.StringIO(text)))


def test_reports_csv_has_one_row_per_report_with_every_indicator(
    app: Flask, world: World, login: SignIn
) -> None:
    response = login(world.officer).get("/officer/dashboard/reports.csv")
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_data(as_text=True).startswith("\ufeffaward_number,jurisdiction,state,")
    rows = read_csv(response)
    assert list(rows[0]) == list(exports.REPORT_CSV_COLUMNS)
    assert list(exports.REPORT_CSV_COLUMNS)[-len(INDICATORS) :] == list(INDICATORS)
    assert len(rows) == db.session.query(ImpactReport).count() == 8  # every report, any state
    by_state = defaultdict(list)
    for row in rows:
        by_state[row["status"]].append(row)
    assert {k: len(v) for k, v in by_state.items()} == {
        "accepted": 3,
        "submitted": 1,
        "changes_requested": 1,
        "scheduled": 3,  # Dayton's two, and Alameda's draft (saved, never submitted)
    }
    columbus = world.spring.awards[0]
    first = next(r for r in rows if r["award_number"] == columbus.number and r["kind"] == "interim")
    report = reports_of(columbus)[0]
    assert first["jurisdiction"] == columbus.organization.legal_name
    assert first["state"] == "OH"
    assert first["round"] == "Spring round"
    assert first["report_title"] == report.title
    assert first["period_start"] == report.period_start.isoformat()
    assert first["period_end"] == report.period_end.isoformat()
    assert first["due_on"] == report.due_on.isoformat()
    assert D(first["jobs"]) == D(10) and D(first["funds_spent_usd"]) == D(20_000)
    assert [r["jobs"] for r in by_state["submitted"]] == ["777"]
    assert [r["jobs"] for r in by_state["changes_requested"]] == ["999"]
    dayton = [r for r in rows if r["award_number"] == world.fall.awards[1].number]
    assert len(dayton) == 2 and all(r["jobs"] == "" for r in dayton)


def test_reports_csv_filters_and_escapes_formulas(app: Flask, make: Factory, login: SignIn) -> None:
    officer = make.officer()
    funded = funded_round(
        make,
        officer,
        [
            Spec(jurisdiction='=HYPERLINK("http://evil.example")', state_code="WA"),
            Spec(state_code="OR"),
        ],
    )
    client = login(officer)
    rows = read_csv(client.get("/officer/dashboard/reports.csv?state=WA"))
    assert {r["state"] for r in rows} == {"WA"} and len(rows) == 2
    assert rows[0]["jurisdiction"].startswith("'=HYPERLINK")
    assert rows[0]["award_number"] == funded.awards[0].number


def test_reports_csv_is_streamed(app: Flask, world: World, login: SignIn) -> None:
    response = login(world.officer).get("/officer/dashboard/reports.csv", buffered=False)
    assert response.is_streamed
    response.close()


# --- who may see it -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/officer/dashboard", "/officer/dashboard/reports.csv"])
def test_only_officers(app: Flask, make: Factory, url: str, login: SignIn) -> None:
    assert login(make.applicant()).get(url).status_code == 403
    assert login(make.reviewer()).get(url).status_code == 403
    assert login(make.admin()).get(url).status_code == 403
    response = app.test_client().get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert login(make.officer()).get(url).status_code == 200


def test_empty_program(app: Flask, make: Factory, login: SignIn) -> None:
    client = login(make.officer())
    html = client.get("/officer/dashboard").get_data(as_text=True)
    assert "No award accepted by its grantee matches these filters." in html
    assert read_csv(client.get("/officer/dashboard/reports.csv")) == []
    assert program_totals.dashboard_totals().overall.awards == 0


def test_officer_nav_links_to_the_dashboard_and_the_catalog(
    app: Flask, make: Factory, login: SignIn
) -> None:
    html = login(make.officer()).get("/officer/dashboard").get_data(as_text=True)
    nav = html.split('aria-label="Primary navigation"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/officer/dashboard"' in nav and 'href="/catalog"' in nav


# --- query counts --------------------------------------------------------------------------------

SMALL, LARGE = 3, 20
PAGES = (
    "/officer/dashboard",
    "/officer/dashboard?state=OH&indicator=fdi_usd",
    "/officer/dashboard/reports.csv",
    "/catalog",
    "/catalog?area=climate",
    "/catalog/awards.json",
    "/catalog/awards.csv",
)


def _program_of(make: Factory, officer: User, count: int) -> None:
    specs = [
        Spec(
            title=f"Project {n}",
            state_code=("OH", "CA", "TX", "NY", "WA")[n % 5],
            areas=(("climate", "trade"), ("education",), ("health", "climate", "gender"))[n % 3],
        )
        for n in range(count)
    ]
    funded = funded_round(make, officer, specs)
    for award, grantee in zip(funded.awards, funded.grantees, strict=True):
        first, final = reports_of(award)
        file_report(first, grantee, values(jobs=2))
        accept_report(first, officer)
        file_report(final, grantee, values(jobs=3))


def _counts(
    app: Flask, officer: User, count_queries: Callable[[], Any], login: SignIn
) -> dict[str, int]:
    officer_client, public = login(officer), app.test_client()
    counts = {}
    for url in PAGES:
        client = officer_client if url.startswith("/officer") else public
        db.session.expunge_all()  # each request loads what it needs, as in production
        with count_queries() as counter:
            response = client.get(url)
            assert response.status_code == 200, url
            response.get_data()  # a streamed body runs its queries while it is read
        counts[url] = counter.count
    return counts


def test_query_counts_do_not_grow_with_the_awards(
    app: Flask, make: Factory, count_queries: Callable[[], Any], login: SignIn
) -> None:
    officer = make.officer()
    officer_id = officer.id
    _program_of(make, officer, SMALL)
    small = _counts(app, officer, count_queries, login)
    officer = db.session.get(User, officer_id)
    _program_of(make, officer, LARGE - SMALL)
    assert db.session.query(Award).count() == LARGE
    large = _counts(app, db.session.get(User, officer_id), count_queries, login)
    assert large == small
    assert max(small.values()) <= 10, small
