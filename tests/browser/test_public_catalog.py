"""An anonymous visitor through the public catalog, in Chromium, with axe-core on every page.

From the home page the visitor opens the catalog, reads the headline figures and the map, chooses
Texas on the map, filters by priority area with the form, opens the map's table, reaches the last
project through the pages, and downloads the open data. A program officer then reads the
dashboard (charts and tables) and changes its indicator. Screenshots go to bench/out/screenshots/.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect

from app.domain import INDICATORS, PRIORITY_AREAS
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_review_journey import heading, sign_in
from tests.program_helpers import (
    Spec,
    accept_report,
    file_report,
    funded_round,
    grantee_of,
    reports_of,
    values,
)

if TYPE_CHECKING:
    from app.models.user import User
    from tests.browser.conftest import PageAudit
    from tests.factories import Factory

pytestmark = pytest.mark.browser

PROJECTS = [
    Spec(
        title="Gulf Coast trade corridor",
        jurisdiction="City of Houston",
        state_code="TX",
        areas=("trade",),
        countries=("MX", "CO"),
        amount=240_000,
    ),
    Spec(
        title="Rio Grande health compact",
        jurisdiction="City of El Paso",
        state_code="TX",
        areas=("health", "migration"),
        countries=("MX",),
        amount=150_000,
    ),
    Spec(
        title="Great Lakes clean energy exchange",
        jurisdiction="City of Cleveland",
        state_code="OH",
        areas=("climate", "trade"),
        countries=("DE", "DK"),
        amount=180_000,
    ),
    Spec(
        title="Puget Sound education network",
        jurisdiction="King County",
        state_code="WA",
        government_type="county",
        areas=("education",),
        countries=("JP", "KR", "VN"),
        amount=95_000,
    ),
    Spec(
        title="Island resilience partnership",
        jurisdiction="Territory of Guam",
        state_code="GU",
        government_type="territory",
        areas=("climate",),
        countries=("JP", "PH"),
        amount=60_000,
    ),
    Spec(
        title="Peachtree civic technology exchange",
        jurisdiction="City of Atlanta",
        state_code="GA",
        areas=("technology", "democracy"),
        countries=("EE", "TW"),
        amount=130_000,
    ),
]


def build(make: Factory) -> User:
    officer = make.officer()
    funded = funded_round(make, officer, PROJECTS, title="2026 Local-to-Global round")
    for n, award in enumerate(funded.awards):
        first, _final = reports_of(award)
        file_report(
            first,
            grantee_of(award),
            values(
                jobs=12 + 7 * n,
                fdi_usd=250_000 * (n + 1),
                delegations_hosted=2 + n % 3,
                agreements=1 + n % 2,
                people_reached=1_500 * (n + 2),
                funds_spent_usd=30_000 + 5_000 * n,
            ),
        )
        accept_report(first, officer)
    return officer


def test_an_anonymous_visitor_explores_the_catalog(
    page: Page, make: Factory, audit: PageAudit, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(make)
    from app.views import catalog

    monkeypatch.setattr(catalog, "PAGE_SIZE", 4)  # the live server runs in this process

    page.goto("/")
    page.get_by_role("navigation", name="Primary navigation").get_by_role(
        "link", name="Catalog of funded projects"
    ).click()
    heading(page, "Catalog of funded projects")
    figures = page.get_by_role("list", name="Totals for the filters")
    expect(figures).to_contain_text("6 funded projects")
    expect(figures).to_contain_text("$855,000 awarded")
    achieved = page.get_by_role(
        "list", name="Achieved so far, according to accepted impact reports:"
    )
    expect(achieved).to_contain_text("177 jobs created")
    expect(page.get_by_text("6 projects, page 1 of 2")).to_be_visible()
    audit(page, "catalog")
    page.locator("#catalog-map").screenshot(path=str(SCREENSHOTS / "public-catalog-map.png"))

    # The map: Texas has two projects; its square is a link to them.
    texas = page.get_by_role("link", name="Texas: 2 projects, $390,000. Show only Texas.")
    expect(texas).to_be_visible()
    texas.focus()  # a visible focus ring on the square
    expect(texas).to_be_focused()
    page.locator("#catalog-map").screenshot(path=str(SCREENSHOTS / "public-catalog-map-focus.png"))
    texas.click()
    heading(page, "Catalog of funded projects")
    expect(page.get_by_role("heading", level=2, name="Projects in Texas")).to_be_visible()
    projects = page.locator("article")
    expect(projects).to_have_count(2)
    expect(projects.filter(has_text="Gulf Coast trade corridor")).to_contain_text(
        "City of Houston · City · Texas"
    )
    expect(projects.filter(has_text="Gulf Coast trade corridor")).to_contain_text(
        "Mexico, Colombia"
    )
    expect(page.get_by_label("State or territory")).to_have_value("TX")
    audit(page, "catalog-texas")

    # The form: every state, one priority area.
    page.get_by_label("State or territory").select_option(label="All states and territories")
    page.get_by_label("Priority area").select_option(label=PRIORITY_AREAS["climate"])
    page.get_by_role("button", name="Show projects").click()
    expect(page.locator("article")).to_have_count(2)
    for title in ("Great Lakes clean energy exchange", "Island resilience partnership"):
        expect(page.locator("article").filter(has_text=title)).to_have_count(1)
    expect(page.get_by_label("Priority area")).to_have_value("climate")
    # The map's figures as a table, opened like any disclosure.
    page.locator("summary", has_text="The map as a table").click()
    table = page.get_by_role("table")
    expect(table.get_by_role("row", name=re.compile(r"^Guam 1 \$60,000"))).to_be_visible()
    audit(page, "catalog-climate")

    # The pages of projects.
    page.get_by_role("link", name="Clear the filters").click()
    page.get_by_role("navigation", name="Pages of projects").get_by_role(
        "link", name="Next page"
    ).click()
    expect(page.get_by_text("6 projects, page 2 of 2")).to_be_visible()
    expect(page.locator("article")).to_have_count(2)
    audit(page, "catalog-page-2")

    # The open data, with the filters of the page.
    page.goto("/catalog?state=OH")
    with page.expect_download() as download:
        page.get_by_role("link", name="Funded projects as CSV").click()
    csv_text = download.value.path().read_text()
    assert csv_text.splitlines()[0].startswith("award_number,project_title,summary,")
    assert "Great Lakes clean energy exchange" in csv_text
    assert "Gulf Coast" not in csv_text
    response = page.request.get(
        page.get_by_role("link", name="Funded projects as JSON").get_attribute("href") or ""
    )
    payload = json.loads(response.text())
    assert [a["project_title"] for a in payload["awards"]] == ["Great Lakes clean energy exchange"]
    audit.assert_clean()


def test_an_officer_reads_the_dashboard(page: Page, make: Factory, audit: PageAudit) -> None:
    officer = build(make)
    sign_in(page, officer, make.password)
    page.get_by_role("navigation", name="Primary navigation").get_by_role(
        "link", name="Dashboard"
    ).click()
    heading(page, "Program dashboard")
    expect(page.get_by_role("img", name="Share of each indicator's target reached")).to_be_visible()
    targets = page.get_by_role("table", name="Indicators against targets")
    expect(targets.get_by_role("row", name=re.compile("^Jobs created 177 "))).to_be_visible()
    audit(page, "dashboard")

    page.get_by_label("Indicator shown by priority area, state and round").select_option(
        label=INDICATORS["people_reached"]
    )
    page.get_by_label("State or territory").select_option(label="Texas")
    page.get_by_role("button", name="Apply").click()
    by_state = page.get_by_role("table", name=re.compile("^By state: awards, amount and people"))
    expect(
        by_state.get_by_role("row", name=re.compile(r"^Texas 2 \$390,000 7,500 "))
    ).to_be_visible()
    audit(page, "dashboard-texas")
    audit.assert_clean()
