"""An applicant's whole journey, through the pages only, in Chromium, with axe-core on every page.

Register a jurisdiction, sign out and in again, start an application in an open round, fill each
section (one field deliberately left blank), see Submit refused with the problem listed by section,
follow the link to the field, fix it, submit, read the receipt, and find "Submit" in the history.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.clock import utcnow
from app.demo_applications import sample_letter_pdf
from app.extensions import db
from app.models.outbox import EmailMessage

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.browser.conftest import PageAudit
    from tests.factories import Factory

EMAIL = "pat.lee@springfield.example.gov"
PASSWORD = "a long enough passphrase"
NAME = "Pat Lee"
ORGANIZATION = "City of Springfield"
PROJECT = "Springfield–Osaka climate exchange"
SUSTAINABILITY_PROBLEM = "Describe how the work will last beyond political transitions."


def flashed(page: Page, message: str) -> None:
    expect(page.get_by_role("status").filter(has_text=message)).to_be_visible()


def tick(page: Page, label: str) -> None:
    """USWDS draws its own checkbox and moves the input off screen: a person clicks the label."""
    page.locator("label.usa-checkbox__label", has_text=label).click()
    expect(page.get_by_role("checkbox", name=label)).to_be_checked()


def open_section(page: Page, title: str) -> None:
    page.get_by_role("navigation", name="Application sections").get_by_role(
        "link", name=title, exact=True
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def register(page: Page, audit: PageAudit) -> None:
    page.goto("/")
    page.get_by_role("link", name="Register your jurisdiction").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register your jurisdiction")
    audit(page, "register")
    page.get_by_label("Legal name of the government").fill(ORGANIZATION)
    page.get_by_label("Government type").select_option(label="City")
    page.get_by_label("State or territory").select_option(label="Illinois (IL)")
    page.get_by_label("Population").fill("114394")
    page.get_by_label("Street address").fill("800 East Monroe Street")
    page.get_by_label("City or town").fill("Springfield")
    page.get_by_label("ZIP code").fill("62701")
    page.get_by_label("Authorized official's full name").fill("Misty Buscher")
    page.get_by_label("Authorized official's title").fill("Mayor")
    page.get_by_label("Your full name").fill(NAME)
    page.get_by_label("Email", exact=True).fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()

    # Landed signed in, on the organization's dashboard.
    expect(page).to_have_url(re.compile(r"/applicant/$"))
    flashed(page, f"Welcome. {ORGANIZATION} is registered.")
    expect(page.get_by_role("heading", level=1)).to_have_text(ORGANIZATION)
    expect(page.get_by_role("link", name=f"Account ({NAME})")).to_be_visible()
    audit(page, "dashboard-new")


def sign_out_and_in(page: Page, audit: PageAudit) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    flashed(page, "You are signed out.")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    audit(page, "login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/applicant/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(ORGANIZATION)
    audit(page, "dashboard")


def fill_project(page: Page, audit: PageAudit, start: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Project")
    audit(page, "section-project")
    page.get_by_label("Project title").fill(PROJECT)
    page.get_by_label("Summary").fill(
        "A two-year exchange between Springfield and Osaka on heat-resilient neighborhoods."
    )
    tick(page, "Climate and energy")
    tick(page, "Education, culture and exchanges")
    page.get_by_label("Partner countries").select_option(label=["Japan", "Germany"])
    page.get_by_label("Start date").fill(start)
    page.get_by_label("Period of performance (months)").fill("18")
    page.get_by_role("button", name="Save draft").click()
    flashed(page, "Project saved.")
    expect(page.get_by_text("This section is complete.")).to_be_visible()
    expect(page.get_by_role("checkbox", name="Climate and energy")).to_be_checked()
    expect(page.get_by_label("Partner countries")).to_have_values(["DE", "JP"])


def fill_narrative_but_one(page: Page, audit: PageAudit) -> None:
    open_section(page, "Narrative")
    audit(page, "section-narrative")
    page.get_by_label("Need", exact=True).fill(
        "Summer heat now closes our schools for a week a year."
    )
    page.get_by_label("Approach").fill("Paired working groups of city staff and universities.")
    page.get_by_label("Alignment with U.S. foreign-policy objectives").fill(
        "Deepens a strategic partnership with Japan at the level of cities."
    )
    # "Sustainability beyond political transitions" is left blank on purpose.
    page.get_by_role("button", name="Save draft").click()
    flashed(page, "Narrative saved.")
    needed = page.get_by_role("region", name="Needed before you can submit")
    expect(needed.get_by_role("listitem")).to_have_text([SUSTAINABILITY_PROBLEM])


def fill_partners(page: Page, audit: PageAudit) -> None:
    open_section(page, "Partners")
    audit(page, "section-partners")
    first = page.get_by_role("group", name="Partner 1")
    first.get_by_label("Partner name").fill("University of Illinois Springfield")
    page.get_by_role("button", name="Save draft").click()

    # A half-filled row is refused, with each problem summarised and next to its field.
    summary = page.get_by_role("alert").filter(has_text="problems to fix")
    expect(summary).to_contain_text("Choose the partner's type.")
    expect(summary).to_contain_text("Describe the partner's role.")
    first = page.get_by_role("group", name="Partner 1")
    expect(first.get_by_label("Type")).to_have_attribute("aria-invalid", "true")
    audit(page, "section-partners-errors")
    summary.get_by_role("link", name=re.compile("Choose the partner's type")).click()
    expect(page).to_have_url(re.compile(r"#partners-0-kind$"))

    first.get_by_label("Type").select_option(label="Academic or research institution")
    first.get_by_label("Role in the project").fill("Evaluates the exchange.")
    page.get_by_role("button", name="Save draft").click()
    flashed(page, "Partners saved.")
    expect(page.get_by_text("This section is complete.")).to_be_visible()
    expect(page.get_by_role("group", name="Partner 1").get_by_label("Partner name")).to_have_value(
        "University of Illinois Springfield"
    )


def fill_budget(page: Page, audit: PageAudit, low: int, high: int) -> None:
    open_section(page, "Budget")
    audit(page, "section-budget")
    request = (low + high) // 2
    personnel = page.get_by_role("group", name="Personnel", exact=True)
    personnel.get_by_label("Description").fill("Exchange coordinator, half time")
    personnel.get_by_label("Federal request (USD)").fill(str(request - 20_000))
    personnel.get_by_label("Cost share (USD)").fill("15000")
    travel = page.get_by_role("group", name="Travel", exact=True)
    travel.get_by_label("Description").fill("Two delegations of six")
    travel.get_by_label("Federal request (USD)").fill("20000")
    page.get_by_role("button", name="Save draft").click()
    flashed(page, "Budget saved.")
    expect(
        page.get_by_text(f"federal request ${request:,}.00; cost share $15,000.00")
    ).to_be_visible()


def fill_milestone(page: Page, audit: PageAudit, due: str) -> None:
    open_section(page, "Milestones")
    audit(page, "section-milestones")
    first = page.get_by_role("group", name="Milestone 1")
    first.get_by_label("Date").fill(due)
    first.get_by_label("Milestone", exact=True).fill("First delegation visits Osaka")
    page.get_by_role("button", name="Save draft").click()
    flashed(page, "Milestones saved.")
    expect(page.get_by_text("This section is complete.")).to_be_visible()


def fill_target(page: Page, audit: PageAudit) -> None:
    open_section(page, "Impact targets")
    audit(page, "section-targets")
    first = page.get_by_role("group", name="Target 1")
    first.get_by_label("Indicator").select_option(label="Technical exchanges")
    first.get_by_label("Baseline").fill("0")
    first.get_by_label("Target", exact=True).fill("12")
    page.get_by_role("button", name="Save draft").click()
    flashed(page, "Impact targets saved.")
    expect(page.get_by_text("This section is complete.")).to_be_visible()


def upload_letter(page: Page, audit: PageAudit) -> None:
    open_section(page, "Letters of support")
    audit(page, "section-letters")
    page.get_by_label("Letter of support (PDF, at most 10 MB)").set_input_files(
        {"name": "osaka-letter.pdf", "mimeType": "application/pdf", "buffer": sample_letter_pdf()}
    )
    page.get_by_role("button", name="Upload letter").click()
    flashed(page, "Letter uploaded.")
    expect(page.get_by_role("link", name="osaka-letter.pdf")).to_be_visible()
    expect(page.get_by_text("This section is complete.")).to_be_visible()
    audit(page, "section-letters-uploaded")


def submit_refused_then_fixed(page: Page, audit: PageAudit) -> None:
    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name=PROJECT).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PROJECT)
    sections = page.get_by_role("list").filter(has=page.get_by_role("link", name="Narrative"))
    expect(sections.get_by_role("listitem").filter(has_text="Narrative")).to_contain_text(
        "Incomplete (1 to do)"
    )
    audit(page, "overview-draft")
    page.get_by_role("button", name="Submit application").click()

    refused = page.get_by_role("alert").filter(has_text="The application was not submitted.")
    expect(refused).to_be_visible()
    problems = page.get_by_role("alert", name="What to fix before you submit")
    expect(problems).to_be_visible()
    expect(problems.get_by_role("heading", level=3)).to_have_text(["Narrative"])
    audit(page, "submit-problems")
    problems.get_by_role("link", name=SUSTAINABILITY_PROBLEM).click()

    # The link lands on the field, with the message next to it.
    expect(page).to_have_url(re.compile(r"/sections/narrative\?check=1#sustainability$"))
    field = page.get_by_label("Sustainability beyond political transitions")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile(re.escape(SUSTAINABILITY_PROBLEM)))
    expect(page.locator("#sustainability-error")).to_have_text(SUSTAINABILITY_PROBLEM)
    expect(field).to_be_in_viewport()
    audit(page, "section-narrative-errors")
    field.fill("A standing council of both cities' universities carries the work past elections.")
    page.get_by_role("button", name="Save draft").click()
    flashed(page, "Narrative saved.")
    expect(page.get_by_text("This section is complete.")).to_be_visible()


def submit(page: Page, audit: PageAudit) -> str:
    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name=PROJECT).click()
    expect(page.get_by_text("Incomplete")).to_have_count(0)
    page.get_by_role("button", name="Submit application").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Application submitted")
    receipt = page.get_by_role("status").filter(has_text="Your reference number is")
    text = receipt.inner_text()
    found = re.search(r"\bL2G-(\d{4})-(\d{4})\b", text)
    assert found, text
    assert int(found.group(1)) == utcnow().year
    audit(page, "receipt")
    return found.group(0)


def overview_with_history(page: Page, audit: PageAudit, reference: str) -> None:
    page.get_by_role("link", name="See the application and its history").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PROJECT)
    expect(page.get_by_text(f"Reference {reference}")).to_be_visible()
    history = page.locator("ol.l2g-timeline")
    entry = history.get_by_role("listitem").filter(has_text="Submit")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("draft → submitted")
    expect(entry).to_contain_text(f"by {EMAIL} (applicant)")
    expect(page.get_by_role("button", name="Submit application")).to_have_count(0)
    audit(page, "overview-submitted")

    page.get_by_role("link", name="My applications").click()
    row = page.get_by_role("row").filter(has_text=reference)
    expect(row).to_contain_text(PROJECT)
    expect(row).to_contain_text("Submitted")
    audit(page, "dashboard-submitted")


@pytest.mark.browser
def test_an_applicant_registers_applies_and_submits(
    page: Page, audit: PageAudit, make: Factory, wait_for_jobs: Callable[[], None]
) -> None:
    rnd = make.round()
    closes = rnd.local(rnd.closes_at).date()
    start = closes + timedelta(days=31)

    register(page, audit)
    sign_out_and_in(page, audit)

    page.get_by_role("region", name=rnd.title).get_by_role(
        "button", name="Start an application"
    ).click()
    flashed(page, "Application started.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Untitled application")
    audit(page, "overview-new")

    page.get_by_role("link", name="Project", exact=True).click()
    fill_project(page, audit, start.isoformat())
    fill_narrative_but_one(page, audit)
    fill_partners(page, audit)
    fill_budget(page, audit, int(rnd.min_award), int(rnd.max_award))
    fill_milestone(page, audit, (start + timedelta(days=90)).isoformat())
    fill_target(page, audit)
    upload_letter(page, audit)
    submit_refused_then_fixed(page, audit)
    reference = submit(page, audit)  # the receipt shows before the receipt email's job has run
    overview_with_history(page, audit, reference)

    wait_for_jobs()  # inline without Redis; a real rq worker with it
    subjects = db.session.scalars(
        select(EmailMessage.subject).where(EmailMessage.to_address == EMAIL)
    ).all()
    assert f"Received: {reference} {PROJECT}" in subjects
    audit.assert_clean()
