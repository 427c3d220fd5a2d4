"""The review lifecycle: every transition allowed and refused per role and per guard, what
submitting, recusing and reopening do to the application, and reminders."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.jobs import commit
from app.models.application import Application
from app.models.audit import AuditEvent
from app.models.outbox import EmailMessage
from app.models.review import Conflict, Review
from app.models.round import Round
from app.models.user import User
from app.services import reviews as svc
from app.services.review_assignment import AssignmentRefused, add_reviewer
from tests.factories import Factory
from workflows import SYSTEM, TransitionRefused, available, fire

_seq = itertools.count(1)


# --- Helpers (also used by test_reviewer_views) ------------------------------------------------


def new_reviewer(make: Factory, **kw: Any) -> User:
    """A reviewer outside the applicants' email domain (example.gov), so no conflict is detected."""
    n = next(_seq)
    return make.reviewer(email=kw.pop("email", f"panelist{n}@review-panel.org"), **kw)


@dataclass
class Assigned:
    round: Round
    application: Application
    officer: User
    applicant: User
    reviewers: list[User]
    reviews: list[Review]

    @property
    def review(self) -> Review:
        return self.reviews[0]


def assign(
    make: Factory,
    reviewers: int = 1,
    rnd: Round | None = None,
    officer: User | None = None,
    due_at: datetime | None = None,
    application: Application | None = None,
    reviewer_users: list[User] | None = None,
    **round_kw: Any,
) -> Assigned:
    """A submitted application, screened eligible, with `reviewers` reviewers assigned."""
    officer = officer or make.officer()
    rnd = rnd or make.round(officer=officer, **round_kw)
    if application is None:
        application = make.application(rnd, submit=True)
        fire(application, "mark_eligible", officer)
        commit()
    users = reviewer_users or [new_reviewer(make) for _ in range(reviewers)]
    due_at = due_at or utcnow() + timedelta(days=14)
    reviews = [add_reviewer(application, user, due_at) for user in users]
    commit()
    applicant = db.session.scalar(
        select(User).where(User.organization_id == application.organization_id)
    )
    assert applicant is not None
    return Assigned(rnd, application, officer, applicant, users, reviews)


def complete_values(review: Review, **overrides: Any) -> dict[str, Any]:
    """A review filled in completely: every criterion answered, scores 3, confidence 2."""
    scores: dict[str, Any] = {}
    for c in review.application.round.criteria:
        if c.kind == "scored":
            scores[str(c.id)] = {"score": 3}
        else:
            scores[str(c.id)] = {"sufficient": True, "explanation": "A capable team."}
    values: dict[str, Any] = {
        "criterion_scores": scores,
        "overall_score": 3,
        "confidence": 2,
        "strengths": "Clear plan.",
        "weaknesses": "Thin evaluation.",
        "staff_comments": "",
    }
    values.update(overrides)
    return values


def start(review: Review) -> None:
    svc.declare(review, no_conflict=True, confidentiality=True, now=utcnow())
    fire(review, "start", review.reviewer)
    commit()


def fill(review: Review, **overrides: Any) -> None:
    svc.save_draft(review, complete_values(review, **overrides), review.version)
    commit()


def submit(review: Review, **overrides: Any) -> None:
    if review.state == "assigned":
        start(review)
    fill(review, **overrides)
    fire(review, "submit", review.reviewer)
    commit()


def reload(entity: Any) -> Any:
    """The row as the database has it now (a job may have changed it in another process)."""
    db.session.rollback()
    return db.session.get(type(entity), entity.id, populate_existing=True)


# --- Per role -----------------------------------------------------------------------------------

ACTORS = ("assigned reviewer", "another reviewer", "applicant", "officer", "admin", "system")


def actor_for(name: str, setup: Assigned, make: Factory) -> Any:
    return {
        "assigned reviewer": lambda: setup.reviewers[0],
        "another reviewer": lambda: setup.reviewers[1],  # assigned to the same application
        "applicant": lambda: setup.applicant,
        "officer": lambda: setup.officer,
        "admin": lambda: make.admin(),
        "system": lambda: SYSTEM,
    }[name]()


def _check(review: Review, trigger: str, actor: Any, allowed: bool, **fire_kw: Any) -> None:
    option = next(o for o in available(review, actor) if o.transition.trigger == trigger)
    assert option.allowed is allowed, option.reasons
    before = review.state
    if allowed:
        fire(review, trigger, actor, **fire_kw)
        commit()
        assert review.state == option.transition.dest
        event = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "review", AuditEvent.entity_id == review.id)
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None
        assert (event.trigger, event.from_state, event.actor_role) == (trigger, before, actor.role)
    else:
        assert option.role_refused
        assert any(r.startswith("only") and "may do this" in r for r in option.reasons)
        with pytest.raises(TransitionRefused):
            fire(review, trigger, actor, **fire_kw)
        db.session.rollback()
        assert reload(review).state == before


START_SUBMIT_ALLOWED = {"assigned reviewer", "system"}  # the system skips roles, never guards


@pytest.mark.parametrize("who", ACTORS)
def test_start_per_role(make: Factory, who: str) -> None:
    setup = assign(make, reviewers=2)
    review = setup.review
    svc.declare(review, no_conflict=True, confidentiality=True, now=utcnow())
    commit()
    _check(review, "start", actor_for(who, setup, make), who in START_SUBMIT_ALLOWED)


@pytest.mark.parametrize("who", ACTORS)
def test_submit_per_role(make: Factory, who: str) -> None:
    setup = assign(make, reviewers=2)
    review = setup.review
    start(review)
    fill(review)
    _check(review, "submit", actor_for(who, setup, make), who in START_SUBMIT_ALLOWED)
    if who in START_SUBMIT_ALLOWED:
        assert review.submitted_at is not None


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("from_state", ["assigned", "in_progress"])
def test_recuse_per_role(make: Factory, who: str, from_state: str) -> None:
    setup = assign(make, reviewers=2)
    review = setup.review
    if from_state == "in_progress":
        start(review)
    allowed = who in {"assigned reviewer", "officer", "system"}
    _check(
        review,
        "recuse",
        actor_for(who, setup, make),
        allowed,
        comment="Worked for them",
        data={"conflict_kind": "employer_or_partner"},
    )


@pytest.mark.parametrize("who", ACTORS)
def test_reopen_per_role(make: Factory, who: str) -> None:
    setup = assign(make, reviewers=2)
    review = setup.review
    submit(review)
    _check(
        review,
        "reopen",
        actor_for(who, setup, make),
        who in {"officer", "system"},
        comment="Please look again",
    )


def test_no_transition_out_of_recused(make: Factory) -> None:
    setup = assign(make)
    review = setup.review
    fire(review, "recuse", setup.reviewers[0], comment="Conflict")
    commit()
    assert available(review, setup.officer) == []
    for trigger in ("start", "submit", "reopen"):
        with pytest.raises(TransitionRefused, match="recused"):
            fire(review, trigger, setup.officer)


# --- Per guard ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "no_conflict, confidentiality, expected",
    [
        (
            False,
            False,
            "first declare that you have no conflict of interest and accept the "
            "confidentiality agreement",
        ),
        (True, False, "first accept the confidentiality agreement"),
        (False, True, "first declare that you have no conflict of interest"),
    ],
)
@pytest.mark.parametrize("trigger", ["start", "submit"])
def test_start_and_submit_need_the_declarations(
    make: Factory, no_conflict: bool, confidentiality: bool, expected: str, trigger: str
) -> None:
    setup = assign(make)
    review = setup.review
    svc.declare(review, no_conflict, confidentiality, utcnow())
    if trigger == "submit":
        svc.save_draft(review, complete_values(review), review.version)
    commit()
    with pytest.raises(TransitionRefused) as refused:
        fire(review, trigger, setup.reviewers[0])
    assert refused.value.reasons == [expected]
    db.session.rollback()
    assert reload(review).state == "assigned"


def test_submit_refused_names_every_missing_item(make: Factory) -> None:
    setup = assign(make)
    review = setup.review
    start(review)
    criteria = setup.round.criteria
    scored = [c for c in criteria if c.kind == "scored"]
    sufficiency = next(c for c in criteria if c.kind == "sufficiency")
    values = complete_values(review, overall_score=None, confidence=None)
    del values["criterion_scores"][str(scored[1].id)]
    values["criterion_scores"][str(sufficiency.id)] = {"sufficient": False, "explanation": " "}
    svc.save_draft(review, values, review.version)  # a draft may be as incomplete as this
    commit()
    with pytest.raises(TransitionRefused) as refused:
        fire(review, "submit", setup.reviewers[0])
    (reason,) = refused.value.reasons
    assert reason.startswith("incomplete: ")
    assert f"score “{scored[1].title}”" in reason
    assert f"score “{scored[0].title}”" not in reason
    assert f"explain your judgement of “{sufficiency.title}”" in reason
    assert "give the overall impact score" in reason
    assert "give your confidence" in reason
    db.session.rollback()
    assert reload(review).state == "in_progress"
    # The same items, each with its form field, for the page to show next to the fields.
    fields = dict(svc.review_field_problems(reload(review)))
    assert set(fields) == {
        svc.criterion_field(scored[1].id, "score"),
        svc.criterion_field(sufficiency.id, "explanation"),
        "overall_score",
        "confidence",
    }


def test_an_unjudged_required_sufficiency_criterion_refuses_submit(make: Factory) -> None:
    setup = assign(make)
    review = setup.review
    start(review)
    sufficiency = next(c for c in setup.round.criteria if c.kind == "sufficiency")
    values = complete_values(review)
    del values["criterion_scores"][str(sufficiency.id)]
    fill(review, **values)
    with pytest.raises(TransitionRefused, match=f"judge “{sufficiency.title}” sufficient or not"):
        fire(review, "submit", setup.reviewers[0])


def test_an_optional_criterion_may_stay_unscored(make: Factory) -> None:
    setup = assign(make)
    optional = next(c for c in setup.round.criteria if c.kind == "scored")
    optional.required = False
    commit()
    review = setup.review
    start(review)
    values = complete_values(review)
    del values["criterion_scores"][str(optional.id)]
    fill(review, **values)
    fire(review, "submit", setup.reviewers[0])
    commit()
    assert review.state == "submitted"


@pytest.mark.parametrize("decided", ["awarded", "waitlisted", "declined", "withdrawn"])
def test_reopen_refused_once_the_application_is_decided(make: Factory, decided: str) -> None:
    setup = assign(make, reviewers=2)
    review = setup.review
    submit(review)
    # Test setup only: put the application straight into the decided state.
    setup.application.state = decided
    commit()
    option = next(o for o in available(review, setup.officer) if o.transition.trigger == "reopen")
    assert not option.allowed
    assert option.reasons == (f"the application is {decided}",)
    with pytest.raises(TransitionRefused, match=f"the application is {decided}"):
        fire(review, "reopen", setup.officer, comment="Look again")
    db.session.rollback()
    assert reload(review).state == "submitted"


# --- What the transitions do -----------------------------------------------------------------


def test_submitting_the_last_active_review_scores_the_application(
    make: Factory, wait_for_jobs: Callable[[], None]
) -> None:
    setup = assign(make, reviewers=3)
    first, second, third = setup.reviews
    submit(first)
    wait_for_jobs()
    assert reload(setup.application).state == "in_review"
    # A recused review no longer counts: two of the two remaining are then all that is needed.
    fire(reload(third), "recuse", setup.officer, comment="Conflict found")
    commit()
    submit(reload(second))
    wait_for_jobs()
    application = reload(setup.application)
    assert application.state == "scored"
    event = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity_type == "application",
            AuditEvent.entity_id == application.id,
            AuditEvent.trigger == "complete_review",
        )
    ).one()
    assert event.actor_role == "system"


def test_recusal_records_a_declared_conflict_and_the_pair_is_never_assignable_again(
    make: Factory, wait_for_jobs: Callable[[], None]
) -> None:
    setup = assign(make)
    review = setup.review
    reviewer = setup.reviewers[0]
    start(review)
    fire(
        review,
        "recuse",
        reviewer,
        comment="I advised the city on this project.",
        data={"conflict_kind": "financial"},
    )
    commit()
    conflict = db.session.scalars(select(Conflict)).one()
    assert (conflict.reviewer_id, conflict.organization_id, conflict.application_id) == (
        reviewer.id,
        setup.application.organization_id,
        setup.application.id,
    )
    assert (conflict.kind, conflict.source, conflict.created_by_id) == (
        "financial",
        "declared",
        reviewer.id,
    )
    assert conflict.note == "I advised the city on this project."
    assert svc.reviewer_review(reviewer, setup.application.id) is None
    with pytest.raises(AssignmentRefused, match="conflict"):
        add_reviewer(setup.application, reviewer, None)
    db.session.rollback()
    # The officers hear of it, so that they can assign someone else.
    wait_for_jobs()
    db.session.rollback()
    mail = db.session.scalars(select(EmailMessage)).all()
    assert [m.to_address for m in mail if m.subject.startswith("Recusal")] == [setup.officer.email]


def test_an_officer_recusal_is_recorded_as_entered_by_an_officer(make: Factory) -> None:
    setup = assign(make)
    fire(setup.review, "recuse", setup.officer, comment="Same university")
    commit()
    conflict = db.session.scalars(select(Conflict)).one()
    assert (conflict.kind, conflict.source, conflict.created_by_id) == (
        "other",
        "officer",
        setup.officer.id,
    )
    with pytest.raises(AssignmentRefused):
        add_reviewer(setup.application, setup.reviewers[0], None)


def test_reopening_a_review_of_a_scored_application_puts_it_back_in_review(
    make: Factory, wait_for_jobs: Callable[[], None]
) -> None:
    setup = assign(make)
    submit(setup.review)
    wait_for_jobs()
    assert reload(setup.application).state == "scored"
    review = reload(setup.review)
    fire(review, "reopen", setup.officer, comment="Score the budget again")
    commit()
    assert review.state == "in_progress"
    application = reload(setup.application)
    assert application.state == "in_review"
    triggers = db.session.scalars(
        select(AuditEvent.trigger)
        .where(AuditEvent.entity_type == "application", AuditEvent.entity_id == application.id)
        .order_by(AuditEvent.id)
    ).all()
    assert triggers[-2:] == ["complete_review", "reopen_review"]
    # Submitted again, the application is scored again.
    review = reload(review)
    fire(review, "submit", review.reviewer)
    commit()
    wait_for_jobs()
    assert reload(setup.application).state == "scored"


# --- Reminders ----------------------------------------------------------------------------------


def remind(now: datetime) -> int:
    """One run of the reminder job, committed as `flask reviews remind` does."""
    sent = svc.send_reminders(now)
    commit()
    return sent


def _reminders() -> list[EmailMessage]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(EmailMessage)
            .where(EmailMessage.dedupe_key.like("review-reminder:%"))
            .order_by(EmailMessage.id)
        )
    )


def test_reminders_are_sent_once_per_review_and_kind(
    make: Factory, freeze: Callable[[datetime], None]
) -> None:
    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 10:00 in New York
    freeze(now)
    due = now + timedelta(days=2)
    setup = assign(make, reviewers=3, due_at=due)
    later = add_reviewer(setup.application, new_reviewer(make), now + timedelta(days=20))
    commit()
    submit(setup.reviews[2])  # a submitted review needs no reminder
    open_ids = {setup.reviews[0].id, setup.reviews[1].id}

    assert remind(now) == 2
    for _ in range(3):
        assert remind(now) == 0
    freeze(now + timedelta(hours=5))
    assert remind(utcnow()) == 0
    before = _reminders()
    assert {m.dedupe_key.split(":")[1] for m in before} == {str(i) for i in open_ids}
    assert all(m.dedupe_key.split(":")[2] == "before" for m in before)
    assert all(m.subject.startswith("Review due soon") for m in before)

    freeze(due - timedelta(hours=1))  # the due date: one more each, once
    assert remind(utcnow()) == 2
    assert remind(utcnow()) == 0
    freeze(due + timedelta(days=3))  # overdue: nothing new
    assert remind(utcnow()) == 0
    mail = _reminders()
    assert len(mail) == 4
    kinds = sorted((m.dedupe_key.split(":")[1], m.dedupe_key.split(":")[2]) for m in mail)
    assert kinds == sorted((str(i), k) for i in open_ids for k in ("before", "due"))
    assert all(later.id != int(m.dedupe_key.split(":")[1]) for m in mail)
    reviewer_addresses = {setup.reviewers[0].email, setup.reviewers[1].email}
    assert {m.to_address for m in mail} == reviewer_addresses


def test_the_due_date_is_the_round_zones_date(
    make: Factory, freeze: Callable[[datetime], None]
) -> None:
    # Due 23:00 in New York on March 10 is 03:00 UTC on March 11; at noon in New York on
    # March 10 the review is due *today*, though the UTC dates differ.
    due = datetime(2026, 3, 11, 3, 0, tzinfo=UTC)
    noon = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)
    freeze(noon - timedelta(days=5))
    setup = assign(make, due_at=due)
    freeze(noon)
    assert remind(noon) == 1
    (mail,) = _reminders()
    assert mail.dedupe_key.split(":")[2] == "due"
    assert mail.subject == f"Review due today: {setup.application.reference}"
    assert "is due" in mail.body and "overdue" not in mail.body


def test_the_remind_command_sends_each_reminder_once(
    app: Any, make: Factory, freeze: Callable[[datetime], None]
) -> None:
    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    freeze(now)
    assign(make, reviewers=2, due_at=now + timedelta(days=1))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["reviews", "remind"])
    assert first.exit_code == 0, first.output
    assert "Sent 2 reminder(s)." in first.output
    again = runner.invoke(args=["reviews", "remind"])
    assert "Sent 0 reminder(s)." in again.output
    assert len(_reminders()) == 2


def test_a_blind_rounds_reminder_does_not_name_the_applicant(
    make: Factory, freeze: Callable[[datetime], None]
) -> None:
    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    freeze(now)
    officer = make.officer()
    rnd = make.round(officer=officer, blind_review=True)
    org = make.organization(legal_name="City of Quillmere", city="Quillmere")
    user = make.applicant(org)
    application = make.application(rnd, user=user)
    from app.services import applications as app_svc

    app_svc.save_project(
        application,
        {
            "title": "Quillmere climate exchange",
            "summary": application.summary,
            "priority_areas": application.priority_areas,
            "partner_countries": application.partner_countries,
            "start_date": application.start_date,
            "period_months": application.period_months,
        },
        application.version,
    )
    fire(application, "submit", user)
    fire(application, "mark_eligible", officer)
    commit()
    assign(make, rnd=rnd, officer=officer, application=application, due_at=now + timedelta(days=1))
    assert remind(now) == 1
    (mail,) = _reminders()
    assert "quillmere" not in (mail.subject + mail.body).lower()
    assert "[applicant] climate exchange" in mail.body
