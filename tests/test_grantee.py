"""The grantee's side of an award: its pages, accepting or refusing, the letter, reminders and
activation. Awards are made the way the program makes them: a scored application, awarded."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.clock import utcnow
from app.extensions import db
from app.formatting import time_left
from app.jobs import commit, rollback
from app.models.application import Application
from app.models.audit import AuditEvent
from app.models.award import Award
from app.models.impact_report import ImpactReport
from app.models.outbox import EmailMessage
from app.models.round import Round
from app.models.user import Organization, User
from app.services import acceptance
from app.services.awards import render_letter, schedule_for
from app.services.review_assignment import add_reviewer
from app.services.reviews import declare, save_draft
from app.services.rounds import StaleEdit
from reports.letters import extract_text
from tests.factories import Factory, SignIn
from workflows import TransitionRefused, fire

GOOD = {"name": "Alex Mayor", "title": "Mayor", "consent": "y"}


def make_award(
    make: Factory,
    wait_for_jobs: Callable[[], None],
    rnd: Round | None = None,
    user: User | None = None,
    amount: Decimal | None = None,
    comment: str | None = None,
) -> Award:
    """Submit an application, screen it, review it completely (the application becomes scored),
    then award it as the officer."""
    officer = make.officer()
    rnd = rnd or make.round(officer=officer)
    application = make.application(rnd, user=user, submit=True)
    fire(application, "mark_eligible", officer)
    commit()
    # Another email domain than the applicant's, or the reviewer is conflicted out.
    reviewer = make.reviewer(email=f"reviewer-{uuid.uuid4().hex[:8]}@panel.example.org")
    review = add_reviewer(application, reviewer, due_at=utcnow() + timedelta(days=14))
    commit()
    declare(review, no_conflict=True, confidentiality=True, now=utcnow())
    scores = {
        str(c.id): (
            {"score": 2}
            if c.kind == "scored"
            else {"sufficient": True, "explanation": "Adequate for the project."}
        )
        for c in rnd.criteria
    }
    save_draft(
        review,
        {
            "criterion_scores": scores,
            "overall_score": 2,
            "confidence": 3,
            "strengths": "Clear plan.",
            "weaknesses": "None of note.",
        },
        review.version,
    )
    fire(review, "submit", reviewer)
    commit()
    wait_for_jobs()
    application = db.session.get(Application, application.id)
    assert application is not None and application.state == "scored", application.state
    amount = amount if amount is not None else application.requested_amount
    if comment is None:
        # Always justified, so these tests do not lean on the ranking (whose order decides when
        # a justification is needed); one is needed anyway when the amount differs.
        comment = (
            "Funded in rank order."
            if amount == application.requested_amount
            else "Scaled to the budget left."
        )
    fire(application, "award", officer, comment=comment, data={"amount": str(amount)})
    commit()
    wait_for_jobs()
    award = db.session.scalar(select(Award).where(Award.application_id == application.id))
    assert award is not None
    return award


def grantee_of(award: Award) -> User:
    user = db.session.scalar(select(User).where(User.organization_id == award.organization_id))
    assert user is not None
    return user


def reload(award: Award) -> Award:
    db.session.rollback()
    fresh = db.session.get(Award, award.id)
    assert fresh is not None
    db.session.refresh(fresh)
    return fresh


def accept_form(award: Award, **overrides: Any) -> dict[str, Any]:
    data = {**GOOD, "version": str(award.version)}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def error_next_to(html: str, field_id: str) -> str | None:
    """The error message shown with a field (the span the field's aria-describedby names)."""
    found = re.search(rf'<span class="usa-error-message" id="{field_id}-error"[^>]*>([^<]*)<', html)
    return found.group(1).strip() if found else None


def count(model: Any, *where: Any) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def audit_count(award: Award, trigger: str) -> int:
    return count(
        AuditEvent,
        AuditEvent.entity_type == "award",
        AuditEvent.entity_id == award.id,
        AuditEvent.trigger == trigger,
    )


@pytest.fixture
def award(make: Factory, wait_for_jobs: Callable[[], None]) -> Award:
    return make_award(make, wait_for_jobs)


# --- Who sees what -----------------------------------------------------------------------------


def test_awards_list_shows_own_awards_with_amount_state_and_deadline(
    app: Flask, award: Award, freeze: Callable[[datetime], None], login: SignIn
) -> None:
    client = login(grantee_of(award))
    freeze(award.acceptance_deadline - timedelta(days=9, hours=2))
    html = client.get("/applicant/awards/").get_data(as_text=True)
    assert award.number in html
    assert "Sister-city climate exchange" in html
    assert "$100,000.00" in html
    assert "Offered" in html
    assert award.round.format_moment(award.acceptance_deadline) in html
    assert time_left(award.acceptance_deadline, utcnow()) in html
    assert 'href="/applicant/awards/"' in html  # the nav link


def test_awards_list_is_one_query_however_many_awards(
    app: Flask,
    make: Factory,
    wait_for_jobs: Callable[[], None],
    count_queries: Callable[[], Any],
    login: SignIn,
) -> None:
    user = make.applicant()
    rnd = make.round()
    make_award(make, wait_for_jobs, rnd=rnd, user=user)
    client = login(user)
    round_id, organization_id = rnd.id, user.organization_id
    db.session.expunge_all()  # the request loads everything itself, as in production
    with count_queries() as one:
        assert client.get("/applicant/awards/").status_code == 200
    colleague = make.applicant(organization=db.session.get(Organization, organization_id))
    make_award(make, wait_for_jobs, rnd=db.session.get(Round, round_id), user=colleague)
    db.session.expunge_all()
    with count_queries() as two:
        html = client.get("/applicant/awards/").get_data(as_text=True)
    assert html.count("L2G-") >= 2
    assert two.count == one.count


def test_another_organization_sees_nothing_and_can_do_nothing(
    app: Flask, make: Factory, award: Award, wait_for_jobs: Callable[[], None], login: SignIn
) -> None:
    stranger = login(make.applicant())
    base = f"/applicant/awards/{award.id}"
    for url in (base, f"{base}/letter", f"{base}/letters/1"):
        assert stranger.get(url).status_code == 404, url
    assert stranger.post(f"{base}/accept", data=accept_form(award)).status_code == 404
    refusal = {"refusal-reason": "No.", "refusal-version": str(award.version)}
    assert stranger.post(f"{base}/refuse", data=refusal).status_code == 404
    listing = stranger.get("/applicant/awards/").get_data(as_text=True)
    assert award.number not in listing
    assert reload(award).state == "offered"
    assert audit_count(award, "accept") == audit_count(award, "refuse") == 0
    # An unknown award is the same 404, and other roles may not open the grantee's pages.
    assert stranger.get("/applicant/awards/999999").status_code == 404
    officer = login(make.officer())
    assert officer.get(base).status_code == 403


def test_award_page_shows_the_award_letter_schedule_and_forms(
    app: Flask, award: Award, login: SignIn
) -> None:
    user = grantee_of(award)
    html = login(user).get(f"/applicant/awards/{award.id}").get_data(as_text=True)
    assert "$100,000.00" in html
    for entry in schedule_for(award):
        assert entry.title in html
    assert award.conditions[0][:40] in html
    assert f'href="/applicant/awards/{award.id}/letter"' in html
    assert (
        f"I have authority to accept this award for {user.organization.legal_name} "
        "and agree to its terms and conditions"
    ) in html
    assert 'for="name"' in html and 'for="title"' in html and 'for="consent"' in html
    assert 'for="refusal-reason"' in html


# --- Accepting ---------------------------------------------------------------------------------


NAME = "Give your full name."
TITLE = "Give your title."
CONSENT = "Give your agreement to the terms and conditions."
MISSING_INPUT = {  # what is left out -> the message shown next to each field
    "name": {"name": NAME},
    "title": {"title": TITLE},
    "consent": {"consent": CONSENT},
    "all": {"name": NAME, "title": TITLE, "consent": CONSENT},
}


def test_accept_with_missing_input_shows_each_reason_next_to_its_field(
    app: Flask, award: Award, login: SignIn
) -> None:
    blank = {"name": "   ", "title": "", "consent": None}
    client = login(grantee_of(award))
    for missing, errors in MISSING_INPUT.items():
        overrides = blank if missing == "all" else {missing: blank[missing]}
        response = client.post(
            f"/applicant/awards/{award.id}/accept", data=accept_form(award, **overrides)
        )
        html = response.get_data(as_text=True)
        assert response.status_code == 422, missing
        for field in ("name", "title", "consent"):
            assert error_next_to(html, field) == errors.get(field), (missing, field)
        for field in errors:  # the summary at the top links to each field in error
            assert f'href="#{field}"' in html, (missing, field)
        if "name" in errors:
            assert re.search(r'aria-describedby="[^"]*name-error[^"]*"', html)
        else:
            assert 'value="Alex Mayor"' in html  # what was typed is kept
        award = reload(award)
        assert award.state == "offered"
        assert award.accepted_name is None and award.responded_at is None
        assert count(ImpactReport, ImpactReport.award_id == award.id) == 0
        assert audit_count(award, "accept") == 0


def test_accept_records_signature_time_and_account_and_creates_reports(
    app: Flask,
    award: Award,
    freeze: Callable[[datetime], None],
    wait_for_jobs: Callable[[], None],
    login: SignIn,
) -> None:
    user = grantee_of(award)
    client = login(user)
    moment = award.offered_at + timedelta(days=10, hours=3)
    freeze(moment)
    response = client.post(
        f"/applicant/awards/{award.id}/accept",
        data=accept_form(award, name="  Alex Q. Mayor ", title=" Mayor of Testville "),
    )
    assert response.status_code == 302
    award = reload(award)
    assert award.state == "accepted"
    assert award.accepted_name == "Alex Q. Mayor"
    assert award.accepted_title == "Mayor of Testville"
    assert award.accepted_by_id == user.id
    assert award.responded_at == moment
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.entity_id == award.id, AuditEvent.trigger == "accept")
    )
    assert event is not None and event.actor_id == user.id and event.created_at == moment
    reports = list(
        db.session.scalars(
            select(ImpactReport).where(ImpactReport.award_id == award.id).order_by(ImpactReport.id)
        )
    )
    expected = schedule_for(award)
    assert [(r.title, r.period_start, r.period_end, r.due_on) for r in reports] == [
        (e.title, e.period_start, e.period_end, e.due) for e in expected
    ]
    html = client.get(f"/applicant/awards/{award.id}").get_data(as_text=True)
    assert (
        f"Accepted by Alex Q. Mayor, Mayor of Testville, on "
        f"{award.round.format_moment(moment)} (account {user.email})"
    ) in html
    assert "Impact reports" in html and "Final report" in html
    assert 'action="/applicant/awards/' not in html  # no more forms
    wait_for_jobs()
    assert count(EmailMessage, EmailMessage.subject == f"Award {award.number} accepted") >= 1


def test_double_clicked_accept_accepts_once(app: Flask, award: Award, login: SignIn) -> None:
    client = login(grantee_of(award))
    form = accept_form(award)
    first = client.post(f"/applicant/awards/{award.id}/accept", data=form)
    second = client.post(f"/applicant/awards/{award.id}/accept", data=form)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"].endswith(f"/applicant/awards/{award.id}")
    award = reload(award)
    assert award.state == "accepted"
    assert audit_count(award, "accept") == 1
    assert count(ImpactReport, ImpactReport.award_id == award.id) == len(schedule_for(award))


def test_concurrent_accepts_accept_once(app: Flask, award: Award) -> None:
    """Two requests at the same moment (PostgreSQL locks the row): one accepts, one is refused."""
    if db.engine.dialect.name != "postgresql":
        # SQLite has no row locks to race on; .ci/run's PostgreSQL pass runs this test, and with
        # L2G_REQUIRE_SERVICES=1 the database is PostgreSQL or the run stops before any test.
        pytest.skip("concurrent transactions need PostgreSQL (run by .ci/run)")
    user_id, award_id, version = grantee_of(award).id, award.id, award.version
    barrier = threading.Barrier(2)
    results: list[str] = []

    def click() -> None:
        with app.app_context():
            row = db.session.get(Award, award_id)
            user = db.session.get(User, user_id)
            assert row is not None and user is not None
            barrier.wait()
            try:
                acceptance.accept_award(
                    row, user, acceptance.signature("A. Mayor", "Mayor", True), version, utcnow()
                )
                commit()
                results.append("accepted")
            except (TransitionRefused, StaleEdit) as exc:
                rollback()
                results.append(type(exc).__name__)
            except Exception as exc:  # reported by the assertion below, not lost in the thread
                rollback()
                results.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)  # generous: a loaded CI machine is slow, not wrong
    assert len(results) == 2 and results.count("accepted") == 1, results
    assert {"StaleEdit", "TransitionRefused"} & set(results), results
    award = reload(award)
    assert audit_count(award, "accept") == 1
    assert count(ImpactReport, ImpactReport.award_id == award.id) == len(schedule_for(award))


def test_accept_on_a_changed_award_is_409_with_input_kept(
    app: Flask, award: Award, login: SignIn
) -> None:
    client = login(grantee_of(award))
    form = accept_form(award, name="Alex Kept", title="Mayor Kept")
    # The program office changes the award's conditions while the page is open.
    award.conditions = [*award.conditions, "A new condition added by the program office."]
    commit()
    response = client.post(f"/applicant/awards/{award.id}/accept", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "changed since you opened it" in html
    assert 'value="Alex Kept"' in html and 'value="Mayor Kept"' in html
    assert "A new condition added by the program office." in html
    award = reload(award)
    assert award.state == "offered"
    assert f'name="version" type="hidden" value="{award.version}"' in html
    # Answering again, with the page's new version, works.
    again = client.post(
        f"/applicant/awards/{award.id}/accept", data=accept_form(award, name="Alex Kept")
    )
    assert again.status_code == 302
    assert reload(award).state == "accepted"


# --- Refusing ----------------------------------------------------------------------------------


def test_refuse_needs_a_reason(
    app: Flask, award: Award, wait_for_jobs: Callable[[], None], login: SignIn
) -> None:
    client = login(grantee_of(award))
    url = f"/applicant/awards/{award.id}/refuse"
    response = client.post(url, data={"refusal-reason": "  ", "refusal-version": award.version})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_next_to(html, "refusal-reason") == "A comment giving the reason is required."
    assert error_next_to(html, "name") is None
    assert reload(award).state == "offered"
    assert audit_count(award, "refuse") == 0

    reason = "Our council could not approve the cost share this year."
    response = client.post(url, data={"refusal-reason": reason, "refusal-version": award.version})
    assert response.status_code == 302
    award = reload(award)
    assert award.state == "refused" and award.responded_at is not None
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.entity_id == award.id, AuditEvent.trigger == "refuse")
    )
    assert event is not None and event.comment == reason
    html = client.get(f"/applicant/awards/{award.id}").get_data(as_text=True)
    assert reason in html and "Refused" in html
    wait_for_jobs()
    assert count(EmailMessage, EmailMessage.subject == f"Award {award.number}: Refused") >= 1


# --- The deadline ------------------------------------------------------------------------------


def test_after_the_deadline_accept_and_refuse_are_refused_with_the_reason(
    app: Flask, award: Award, freeze: Callable[[datetime], None], login: SignIn
) -> None:
    client = login(grantee_of(award))
    freeze(award.acceptance_deadline + timedelta(seconds=1))
    page = client.get(f"/applicant/awards/{award.id}").get_data(as_text=True)
    assert "the acceptance deadline has passed" in page
    assert f'action="/applicant/awards/{award.id}/accept' not in page

    accepted = client.post(f"/applicant/awards/{award.id}/accept", data=accept_form(award))
    assert accepted.status_code == 422
    assert "The acceptance deadline has passed." in accepted.get_data(as_text=True)
    refused = client.post(
        f"/applicant/awards/{award.id}/refuse",
        data={"refusal-reason": "Too late?", "refusal-version": award.version},
    )
    assert refused.status_code == 422
    assert "The acceptance deadline has passed." in refused.get_data(as_text=True)
    assert reload(award).state == "offered"
    assert audit_count(award, "accept") == audit_count(award, "refuse") == 0


def test_at_the_deadline_itself_accepting_still_works(
    app: Flask, award: Award, freeze: Callable[[datetime], None], login: SignIn
) -> None:
    client = login(grantee_of(award))
    freeze(award.acceptance_deadline)
    response = client.post(f"/applicant/awards/{award.id}/accept", data=accept_form(award))
    assert response.status_code == 302
    assert reload(award).state == "accepted"


# --- Reminders ---------------------------------------------------------------------------------


def reminders(award: Award) -> list[EmailMessage]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(EmailMessage)
            .where(EmailMessage.dedupe_key.like(f"award-reminder:{award.id}:%"))
            .order_by(EmailMessage.id)
        )
    )


def run_reminders(at: datetime) -> int:
    sent = acceptance.send_acceptance_reminders(at)
    commit()
    return sent


def test_reminders_go_once_per_award_and_threshold(app: Flask, make: Factory, award: Award) -> None:
    colleague = make.applicant(organization=grantee_of(award).organization)
    deadline = award.acceptance_deadline
    assert run_reminders(deadline - timedelta(days=20)) == 0
    assert run_reminders(deadline - timedelta(days=14, seconds=-1)) == 2  # both users
    for hours in (0, 1, 24, 24 * 5):
        assert run_reminders(deadline - timedelta(days=13, hours=-hours)) == 0
    assert run_reminders(deadline - timedelta(days=3, seconds=-1)) == 2
    assert run_reminders(deadline - timedelta(days=1)) == 0
    assert run_reminders(deadline + timedelta(hours=1)) == 0
    sent = reminders(award)
    assert len(sent) == 4
    assert sorted(m.to_address for m in sent) == sorted(
        [grantee_of(award).email, colleague.email] * 2
    )
    assert all(award.number in m.subject for m in sent)
    assert f"/applicant/awards/{award.id}" in sent[0].body
    assert "14 days left" in sent[0].body or "2 weeks left" in sent[0].body


def test_reminders_skip_answered_awards_and_thresholds_before_the_offer(
    app: Flask, make: Factory, wait_for_jobs: Callable[[], None]
) -> None:
    rnd = make.round()
    rnd.acceptance_days = 10  # a round whose offers must be answered within 10 days
    commit()
    short = make_award(make, wait_for_jobs, rnd=rnd)
    assert short.acceptance_deadline - short.offered_at == timedelta(days=10)
    deadline = short.acceptance_deadline
    assert run_reminders(deadline - timedelta(days=9)) == 0  # offered after the 14-day point
    assert run_reminders(deadline - timedelta(days=2)) == 1
    other = make_award(make, wait_for_jobs)
    acceptance.accept_award(
        other,
        grantee_of(other),
        acceptance.signature("A", "B", True),
        other.version,
        utcnow(),
    )
    commit()
    assert run_reminders(other.acceptance_deadline - timedelta(days=2)) == 0
    assert reminders(other) == []


def test_awards_remind_command(
    app: Flask, award: Award, freeze: Callable[[datetime], None]
) -> None:
    freeze(award.acceptance_deadline - timedelta(days=3, seconds=-1))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["awards", "remind"])
    assert first.exit_code == 0, first.output
    assert "Sent 1 acceptance reminder(s)." in first.output
    again = runner.invoke(args=["awards", "remind"])
    assert "Sent 0 acceptance reminder(s)." in again.output
    assert len(reminders(award)) == 1


# --- Activation --------------------------------------------------------------------------------


def accepted(award: Award) -> Award:
    acceptance.accept_award(
        award, grantee_of(award), acceptance.signature("A", "B", True), award.version, utcnow()
    )
    commit()
    return award


def test_activate_due_fires_only_from_the_start_date_as_the_system(
    app: Flask, award: Award
) -> None:
    award = accepted(award)
    zone = award.round.zone
    start = award.start_date
    # 22:00 in New York the evening before the start is already the start date in UTC.
    evening_before = datetime(start.year, start.month, start.day, 22, tzinfo=zone) - timedelta(
        days=1
    )
    assert acceptance.activate_due_awards(evening_before) == []
    commit()
    assert reload(award).state == "accepted"
    morning = datetime(start.year, start.month, start.day, 8, tzinfo=zone)
    assert [a.id for a in acceptance.activate_due_awards(morning)] == [award.id]
    commit()
    award = reload(award)
    assert award.state == "active"
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.entity_id == award.id, AuditEvent.trigger == "activate")
    )
    assert event is not None and event.actor_role == "system" and event.actor_id is None
    assert acceptance.activate_due_awards(morning + timedelta(days=1)) == []
    assert audit_count(award, "activate") == 1


def test_activate_due_leaves_offered_awards(app: Flask, award: Award) -> None:
    later = datetime(award.start_date.year, award.start_date.month, award.start_date.day, 12)
    later = later.replace(tzinfo=award.round.zone) + timedelta(days=5)
    assert acceptance.activate_due_awards(later) == []
    assert reload(award).state == "offered"


def test_awards_activate_due_command(
    app: Flask, award: Award, freeze: Callable[[datetime], None]
) -> None:
    award = accepted(award)
    runner = app.test_cli_runner()
    assert "Activated 0 award(s)." in runner.invoke(args=["awards", "activate-due"]).output
    start = award.start_date
    freeze(datetime(start.year, start.month, start.day, 12, tzinfo=award.round.zone))
    assert "Activated 1 award(s)." in runner.invoke(args=["awards", "activate-due"]).output
    assert reload(award).state == "active"


# --- The letter --------------------------------------------------------------------------------


def test_letter_download_is_the_pdf_with_number_and_amount(
    app: Flask, make: Factory, wait_for_jobs: Callable[[], None], login: SignIn
) -> None:
    award = make_award(make, wait_for_jobs, amount=Decimal("87500"))
    wait_for_jobs()
    client = login(grantee_of(award))
    response = client.get(f"/applicant/awards/{award.id}/letter")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    pdf = response.get_data()
    assert pdf.startswith(b"%PDF")
    text = extract_text(pdf)
    assert award.number in text
    assert "$87,500.00" in text


def test_older_letter_versions_are_listed_and_kept(
    app: Flask, award: Award, wait_for_jobs: Callable[[], None], login: SignIn
) -> None:
    wait_for_jobs()
    award = reload(award)
    award.conditions = [*award.conditions, "Quarterly calls with the program officer."]
    commit()
    second = render_letter(award)
    commit()
    assert second.version_no == 2
    client = login(grantee_of(award))
    html = client.get(f"/applicant/awards/{award.id}").get_data(as_text=True)
    assert "version 2" in html
    assert f'href="/applicant/awards/{award.id}/letters/1"' in html
    latest = extract_text(client.get(f"/applicant/awards/{award.id}/letter").get_data())
    first = extract_text(client.get(f"/applicant/awards/{award.id}/letters/1").get_data())
    assert "Quarterly calls" in latest and "Quarterly calls" not in first
    assert client.get(f"/applicant/awards/{award.id}/letters/3").status_code == 404


def test_letter_not_yet_rendered_is_announced(app: Flask, award: Award, login: SignIn) -> None:
    for letter in list(award.letters):
        db.session.delete(letter)
    commit()
    client = login(grantee_of(award))
    assert "being prepared" in client.get(f"/applicant/awards/{award.id}").get_data(as_text=True)
    assert client.get(f"/applicant/awards/{award.id}/letter").status_code == 404
