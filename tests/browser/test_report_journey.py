"""Filing an impact report and reviewing it, through the pages only, with axe-core on every page.

A grantee with an accepted award opens its impact reports, fills the first one (every indicator,
the narrative, the outcomes by priority area), saves a draft and submits it. The officer opens the
reports list and the report, and requests changes with a comment. The grantee reads the comment,
corrects a value and submits again. The officer sees both versions and accepts the report.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.domain import INDICATORS, PRIORITY_AREAS
from app.extensions import db
from app.jobs import commit
from app.models.impact_report import ImpactReport
from tests.browser.test_applicant_journey import flashed
from tests.browser.test_review_journey import heading, sign_in, sign_out
from tests.decision_helpers import award, scored_round
from workflows import fire

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.models.user import User
    from tests.browser.conftest import PageAudit
    from tests.factories import Factory

REPORT = "Progress report 1"
VALUES = {code: str(n * 3) for n, code in enumerate(INDICATORS, start=1)}
NARRATIVE = {
    "Accomplishments against the milestones": "The kick-off forum met in Osaka with 40 city staff.",
    "Challenges": "Visa delays moved the second delegation by a month.",
    "Plans for the next period": "Host the Osaka delegation and sign the heat-resilience MOU.",
}
CHANGES = "Jobs created looks high for six months: check it against the payroll records."
CORRECTED_JOBS = "4"


def open_reports(page: Page) -> None:
    page.get_by_role("navigation", name="Primary navigation").get_by_role(
        "link", name="Impact reports"
    ).click()
    heading(page, "Impact reports")


def file_first_report(page: Page, audit: PageAudit, areas: list[str]) -> None:
    open_reports(page)
    row = page.get_by_role("row").filter(has_text=REPORT)
    expect(row).to_contain_text("Scheduled")
    audit(page, "grantee-reports")
    row.get_by_role("link", name=REPORT).click()
    heading(page, REPORT)
    audit(page, "report-form")

    table = page.get_by_role("table").filter(has_text="Actual this period")
    for code, value in VALUES.items():
        table.get_by_label(INDICATORS[code], exact=True).fill(value)
    for label, text in NARRATIVE.items():
        page.get_by_label(label, exact=True).fill(text)
    for area in areas:
        page.get_by_label(f"Outcomes: {PRIORITY_AREAS[area]}").fill(
            f"Progress on {PRIORITY_AREAS[area].lower()} through the exchange."
        )
    page.get_by_role("button", name="Save draft").click()
    flashed(page, "Draft saved.")
    table = page.get_by_role("table").filter(has_text="Actual this period")
    expect(table.get_by_label(INDICATORS["jobs"], exact=True)).to_have_value(
        f"{Decimal(VALUES['jobs']):.2f}"
    )
    expect(page.get_by_label("Challenges", exact=True)).to_have_value(NARRATIVE["Challenges"])
    audit(page, "report-draft")

    page.get_by_role("button", name="Submit the report").click()
    flashed(page, "Report submitted.")
    expect(page.get_by_role("button", name="Submit the report")).to_have_count(0)
    expect(page.get_by_text(NARRATIVE["Challenges"])).to_be_visible()
    expect(page.get_by_role("heading", name="Versions submitted")).to_be_visible()
    audit(page, "report-submitted")


def request_changes(page: Page, audit: PageAudit, organization: str) -> None:
    open_reports(page)
    row = page.get_by_role("row").filter(has_text=REPORT)
    expect(row).to_contain_text(organization)
    expect(row).to_contain_text("Submitted")
    audit(page, "officer-reports")
    row.get_by_role("link", name=REPORT).click()
    heading(page, REPORT)
    expect(
        page.get_by_text(NARRATIVE["Accomplishments against the milestones"], exact=True)
    ).to_be_visible()
    audit(page, "officer-report")
    page.get_by_label("Comment for “Request changes” (required)").fill(CHANGES)
    page.get_by_role("button", name="Request changes").click()
    flashed(page, "Report changes requested.")
    expect(page.locator("ol.l2g-timeline")).to_contain_text(CHANGES)
    audit(page, "officer-changes-requested")


def resubmit(page: Page, audit: PageAudit) -> None:
    open_reports(page)
    row = page.get_by_role("row").filter(has_text=REPORT)
    expect(row).to_contain_text("Changes requested")
    row.get_by_role("link", name=REPORT).click()
    requested = page.locator(".usa-alert").filter(has_text="Changes requested")
    expect(requested).to_contain_text(CHANGES)
    audit(page, "report-changes-requested")
    table = page.get_by_role("table").filter(has_text="Actual this period")
    table.get_by_label(INDICATORS["jobs"], exact=True).fill(CORRECTED_JOBS)
    page.get_by_role("button", name="Submit the report").click()
    flashed(page, "Report submitted.")
    versions = page.get_by_role("heading", name="Versions submitted").locator("+ ol")
    expect(versions.get_by_role("listitem")).to_have_count(2)
    audit(page, "report-resubmitted")


def accept(page: Page, audit: PageAudit) -> None:
    open_reports(page)
    page.get_by_role("row").filter(has_text=REPORT).get_by_role("link", name=REPORT).click()
    heading(page, REPORT)
    jobs = page.get_by_role("row").filter(has_text=INDICATORS["jobs"])
    expect(jobs.get_by_role("cell").last).to_have_text(CORRECTED_JOBS)
    expect(page.locator("details summary")).to_have_count(2)  # both versions are kept
    audit(page, "officer-resubmitted")
    page.get_by_role("button", name="Accept the report").click()
    flashed(page, "Report accepted.")
    expect(page.get_by_role("button", name="Accept the report")).to_have_count(0)
    audit(page, "officer-accepted")


@pytest.mark.browser
def test_grantee_files_a_report_officer_asks_for_changes_and_accepts(
    page: Page, audit: PageAudit, make: Factory, wait_for_jobs: Callable[[], None]
) -> None:
    officer = make.officer(name="Olivia Grant", email="olivia.grant@state.example.gov")
    grantee: User = make.applicant(name="Pat Lee", email="pat.lee@springfield.example.gov")
    _, (application,) = scored_round(
        make, officer, [Decimal(100_000)], users=[grantee], title="Sister Cities 2027"
    )
    made = award(application, officer)
    fire(made, "accept", grantee, data={"name": "Alex Mayor", "title": "Mayor", "consent": True})
    commit()
    wait_for_jobs()
    areas = list(application.priority_areas)
    organization = made.organization.legal_name

    sign_in(page, grantee, make.password)
    file_first_report(page, audit, areas)
    sign_out(page)
    sign_in(page, officer, make.password)
    request_changes(page, audit, organization)
    sign_out(page)
    sign_in(page, grantee, make.password)
    resubmit(page, audit)
    sign_out(page)
    sign_in(page, officer, make.password)
    accept(page, audit)

    db.session.expire_all()
    report = db.session.scalar(
        select(ImpactReport).where(ImpactReport.award_id == made.id, ImpactReport.title == REPORT)
    )
    assert report is not None and report.state == "accepted"
    submitted = [Decimal(str(s.content["indicators"]["jobs"])) for s in report.submissions]
    assert submitted == [Decimal(VALUES["jobs"]), Decimal(CORRECTED_JOBS)]
    audit.assert_clean()
