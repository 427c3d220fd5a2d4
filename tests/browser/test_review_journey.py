"""Screening, assignment, review and ranking, through the pages only, with axe-core on every page.

An officer screens a round's submitted applications (two marked eligible in bulk from the list,
one marked ineligible with a reason from its page) and runs the automatic assignment: propose, see
each reviewer's load, confirm. A reviewer opens the queue, declares no conflict and accepts
confidentiality, scores every criterion, saves a draft and submits. A second reviewer declares a
conflict with another application, which leaves the queue and answers 404 from then on. The
officer reads the ranking.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.jobs import commit
from app.models.application import Application
from app.models.review import Review
from tests.browser.test_applicant_journey import flashed
from workflows import fire

if TYPE_CHECKING:
    from app.models.round import Round
    from app.models.user import User
    from tests.browser.conftest import PageAudit
    from tests.factories import Factory

INELIGIBLE_REASON = "The applicant is a regional council, which this round does not fund."
CONFLICT_NOTE = "I teach at Testville University, a partner of this project."


def sign_in(page: Page, user: User, password: str, audit: PageAudit | None = None) -> None:
    page.goto("/login")
    if audit is not None:
        audit(page, "login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name=f"Account ({user.display_name})")).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    flashed(page, "You are signed out.")


def choose(scope: Page | Locator, label: str) -> None:
    """USWDS draws its own radio button and moves the input off screen: a person clicks the
    label."""
    scope.locator("label.usa-radio__label").get_by_text(label, exact=True).click()
    expect(scope.get_by_role("radio", name=label, exact=True)).to_be_checked()


def tick(scope: Page | Locator, name: str) -> None:
    """A USWDS checkbox, by its input's accessible name, ticked by clicking the box USWDS draws
    at the start of its label (a table's selection label holds only screen-reader text, so the
    label itself has no height: the click goes where the box is drawn)."""
    box = scope.get_by_role("checkbox", name=name)
    label = scope.locator(f"label[for='{box.get_attribute('id')}']")
    if label.is_visible():
        label.click()
    else:
        label.click(position={"x": 12, "y": 10}, force=True)
    expect(box).to_be_checked()


def heading(page: Page, text: str | re.Pattern[str]) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(text)


def screen(page: Page, audit: PageAudit, rnd: Round, refs: dict[str, str]) -> None:
    """Two applications marked eligible together from the list; one ineligible from its page."""
    page.get_by_role("link", name=rnd.title).click()
    heading(page, rnd.title)
    audit(page, "round")
    page.get_by_role("link", name="Screen submitted applications").click()
    heading(page, "Applications")
    expect(page.get_by_text("3 applications.")).to_be_visible()
    audit(page, "applications-to-screen")

    tick(page, f"Select {refs['first']}")
    tick(page, f"Select {refs['second']}")
    bulk = page.get_by_role("group", name="Screen the selected applications")
    choose(bulk, "Mark eligible")
    page.get_by_role("button", name="Apply to selected applications").click()
    heading(page, "Screening: Mark eligible")
    expect(page.get_by_role("status")).to_contain_text("2 applications done.")
    done = page.get_by_role("list").filter(has_text=refs["first"])
    expect(done.get_by_role("listitem")).to_have_count(2)
    expect(done).to_contain_text("Eligible")
    audit(page, "screening-result")

    page.get_by_role("link", name="Back to the submitted applications").click()
    row = page.get_by_role("row").filter(has_text=refs["third"])
    expect(page.get_by_role("row").filter(has_text=refs["first"])).to_have_count(0)
    row.get_by_role("link").click()
    heading(page, "Sister-city climate exchange")
    expect(page.get_by_role("main")).to_contain_text(f"Submitted · {refs['third']} · {rnd.title}")
    audit(page, "application-to-screen")
    page.get_by_label("Comment for “Mark ineligible” (required)").fill(INELIGIBLE_REASON)
    page.get_by_role("button", name="Mark ineligible").click()
    flashed(page, "Done: mark ineligible → ineligible.")
    history = (
        page.locator("ol.l2g-timeline").get_by_role("listitem").filter(has_text="Mark ineligible")
    )
    expect(history).to_contain_text(INELIGIBLE_REASON)
    audit(page, "application-ineligible")


def assign(page: Page, audit: PageAudit, rnd: Round, reviewers: list[User], due: str) -> None:
    """Propose, read the loads, confirm: two reviewers each take both eligible applications."""
    page.get_by_role("link", name=rnd.title).first.click()
    page.get_by_role("link", name="Reviewer assignment").click()
    heading(page, "Reviewer assignment")
    expect(page.get_by_text("2 eligible applications waiting for reviewers")).to_be_visible()
    audit(page, "assignment")
    page.get_by_label("Maximum load per reviewer").fill("2")
    page.get_by_label("Reviews due").fill(due)
    page.get_by_role("button", name="Propose assignment").click()

    proposal = page.get_by_role("region", name="Proposed assignment")
    expect(proposal).to_contain_text("4 new reviews for 2 applications")
    loads = proposal.get_by_role("table").filter(has_text="Already assigned")
    for reviewer in reviewers:
        row = loads.get_by_role("row").filter(has_text=reviewer.display_name)
        expect(row.get_by_role("cell")).to_have_text(["0", "2", "2"])
    audit(page, "assignment-proposed")
    proposal.get_by_role("button", name="Confirm assignment").click()

    heading(page, "Review progress")
    flashed(page, "Assignment confirmed: 4 reviews created, due")
    per_reviewer = page.get_by_role("table", name="Reviews per reviewer")
    for reviewer in reviewers:
        expect(
            per_reviewer.get_by_role("row").filter(has_text=reviewer.display_name)
        ).to_be_visible()
    audit(page, "progress")


def declare_no_conflict(page: Page, audit: PageAudit, reference: str) -> None:
    heading(page, "My reviews")
    audit(page, "queue")
    row = page.get_by_role("row").filter(has_text=reference)
    expect(row).to_contain_text("Declare conflicts to open")
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Before you open the application")).to_be_visible()
    audit(page, "declaration")
    choose(page, "I have no conflict of interest with this applicant")
    tick(page, "I will keep this application and its reviews confidential")
    page.get_by_role("button", name="Record my declaration").click()
    flashed(page, "Declaration recorded. The application is open for your review.")
    expect(page.get_by_role("heading", name="Your review")).to_be_visible()


def score_and_submit(page: Page, audit: PageAudit, rnd: Round) -> None:
    """Every criterion, a draft saved and seen again, then the overall judgement and submit."""
    scores = iter(["2 · Outstanding", "3 · Excellent", "2 · Outstanding"])
    explained = None
    for criterion in rnd.criteria:
        group = page.get_by_role("group", name=criterion.title)
        if criterion.kind == "scored":
            choose(group, next(scores))
        else:
            choose(group, "Sufficient")
            explained = f"Explanation of your judgement of “{criterion.title}”"
            page.get_by_label(explained).fill("A city finance office with federal grant history.")
    audit(page, "review-form")
    page.get_by_role("button", name="Save draft").click()
    flashed(page, "Draft saved.")
    first = rnd.criteria[0]
    expect(
        page.get_by_role("group", name=first.title).get_by_role("radio", name="2 · Outstanding")
    ).to_be_checked()
    assert explained is not None
    expect(page.get_by_label(explained)).to_have_value(
        "A city finance office with federal grant history."
    )

    choose(page.get_by_role("group", name="Overall impact"), "2 · Outstanding")
    choose(page.get_by_role("group", name="Your confidence in this review"), "3 · High")
    page.get_by_label("Strengths").fill("Clear milestones and a strong university partner.")
    page.get_by_label("Weaknesses").fill("The evaluation budget is thin.")
    page.get_by_label("Comments for program staff only").fill("Fund if the budget allows.")
    audit(page, "review-draft")
    page.get_by_role("button", name="Submit review").click()

    flashed(page, "Review submitted. Thank you. The other reviews are shown below.")
    expect(page.get_by_role("button", name="Submit review")).to_have_count(0)
    expect(page.get_by_text("2 · Outstanding").first).to_be_visible()
    expect(page.get_by_role("heading", name="Other reviewers' reviews")).to_be_visible()
    audit(page, "review-submitted")


def declare_conflict(page: Page, audit: PageAudit, reference: str, review_id: int) -> None:
    heading(page, "My reviews")
    page.get_by_role("row").filter(has_text=reference).get_by_role("link").click()
    choose(page, "I have a conflict of interest with this applicant")
    page.get_by_label("Type of conflict").select_option(label="Employer or partner")
    page.get_by_label("Explain the conflict").fill(CONFLICT_NOTE)
    tick(page, "I will keep this application and its reviews confidential")
    audit(page, "declaration-conflict")
    page.get_by_role("button", name="Record my declaration").click()

    heading(page, "My reviews")
    flashed(page, "Your conflict of interest is recorded (employer or partner).")
    expect(page.get_by_role("row").filter(has_text=reference)).to_have_count(0)
    audit(page, "queue-after-conflict")
    # The application is gone for this reviewer: its page does not exist any more.
    response = page.goto(f"/review/{review_id}")
    assert response is not None and response.status == 404
    audit(page, "conflicted-not-found")
    page.goto("/review/")


def ranking(page: Page, audit: PageAudit, rnd: Round, refs: dict[str, str]) -> None:
    heading(page, "Rounds")
    page.get_by_role("link", name=rnd.title).click()
    page.get_by_role("link", name="Scores and ranking").click()
    heading(page, "Scores and ranking")
    table = page.get_by_role("table", name="Applications in rank order with their scores")
    rows = table.locator("tbody").get_by_role("row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(refs["first"])
    expect(rows.first.get_by_role("cell").first).to_have_text("1")
    expect(rows.first).to_contain_text("2.00")
    expect(page.get_by_text(refs["third"])).to_have_count(0)  # ineligible: never ranked
    audit(page, "ranking")


@pytest.mark.browser
def test_officer_screens_and_assigns_reviewers_score_and_officer_ranks(
    page: Page, audit: PageAudit, make: Factory
) -> None:
    officer = make.officer(name="Olivia Grant", email="olivia.grant@state.example.gov")
    rnd = make.round(officer=officer, title="Sister Cities 2027")
    applications = [make.application(rnd, submit=True) for _ in range(3)]
    fire(rnd, "close", officer)
    fire(rnd, "start_review", officer)
    commit()
    refs = dict(zip(("first", "second", "third"), (a.reference for a in applications), strict=True))
    # Another email domain than the applicants' (example.gov), or they are conflicted out.
    reviewers = [
        make.reviewer(name="Rhea Okafor", email="rhea.okafor@panel.example.org"),
        make.reviewer(name="Sam Ito", email="sam.ito@university.example.edu"),
    ]
    due = rnd.local(utcnow() + timedelta(days=21)).strftime("%Y-%m-%dT17:00")

    sign_in(page, officer, make.password, audit)
    heading(page, "Rounds")
    audit(page, "rounds")
    screen(page, audit, rnd, refs)
    assign(page, audit, rnd, reviewers, due)
    sign_out(page)

    sign_in(page, reviewers[0], make.password)
    declare_no_conflict(page, audit, refs["first"])
    score_and_submit(page, audit, rnd)
    sign_out(page)

    db.session.expire_all()
    conflicted = db.session.scalar(
        select(Review).where(
            Review.application_id == applications[1].id, Review.reviewer_id == reviewers[1].id
        )
    )
    assert conflicted is not None
    sign_in(page, reviewers[1], make.password)
    declare_conflict(page, audit, refs["second"], conflicted.id)
    sign_out(page)

    sign_in(page, officer, make.password)
    ranking(page, audit, rnd, refs)

    db.session.expire_all()
    states = {
        a.reference: a.state
        for a in db.session.scalars(select(Application).where(Application.round_id == rnd.id))
    }
    assert states == {
        refs["first"]: "in_review",
        refs["second"]: "in_review",
        refs["third"]: "ineligible",
    }
    assert db.session.get(Review, conflicted.id).state == "recused"
    audit.assert_clean()
