"""The application and round lifecycles as their users meet them: who may do what, and why not.

Awards, waitlists and declines (app.services.decisions) are tested with that service.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.jobs import commit, retry, rollback, run_outbox_job
from app.models.application import Application
from app.models.audit import AuditEvent
from app.models.outbox import EmailMessage, OutboxJob
from app.models.review import Review
from app.models.round import Round
from app.models.user import User
from app.services.applications import save_narrative
from tests.factories import Factory
from workflows import LIFECYCLES, SYSTEM, FireContext, Option, TransitionRefused, available, fire

APPLICATION = LIFECYCLES["application"]
ROUND = LIFECYCLES["round"]
# A Friday, 5 p.m. in New York (EDT): the deadline of the rounds below.
DEADLINE = datetime(2027, 4, 30, 21, 0, 0, tzinfo=UTC)
DEADLINE_TEXT = "Friday, April 30, 2027 at 5:00:00 PM EDT"

KINDS = ("own_applicant", "other_applicant", "reviewer", "officer", "admin", "system")
ONLY_APPLICANT = "only an applicant may do this"
ONLY_OWN_APPLICANT = "only the applicant responsible for this record may do this"
ONLY_OFFICER = "only a program officer may do this"

# Who may fire each application transition (the product's rules, DESIGN.md). The system actor (a
# job or a clock) skips the role check but never the guards.
APPLICATION_RULES: dict[str, set[str]] = {
    "submit": {"own_applicant", "system"},
    "withdraw": {"own_applicant", "system"},
    "return_to_draft": {"officer", "system"},
    "mark_eligible": {"officer", "system"},
    "mark_ineligible": {"officer", "system"},
    "start_review": {"officer", "system"},
    "complete_review": {"officer", "system"},
    "reopen_review": {"officer", "system"},
}
DECISIONS = {"award", "waitlist", "decline"}


@pytest.fixture(autouse=True)
def decisions_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Award, waitlist and decline are refused here: app.services.decisions is tested on its own,
    and available() from a scored application must not depend on it."""
    for transition in APPLICATION.transitions:
        if transition.trigger in DECISIONS:
            for name in transition.guards:
                monkeypatch.setattr(
                    f"workflows.application.{name}", lambda app, ctx: "tested elsewhere"
                )


@pytest.fixture
def officer(make: Factory) -> User:
    return make.officer()


@pytest.fixture
def own(make: Factory) -> User:
    """An applicant of the organization whose applications the tests move."""
    return make.applicant()


def actor_of(kind: str, make: Factory, own: User) -> Any:
    if kind == "own_applicant":
        return own
    if kind == "other_applicant":
        return make.applicant()
    if kind == "system":
        return SYSTEM
    return make.user(kind)


def option(entity: Any, actor: Any, trigger: str, comment: str | None = None) -> Option | None:
    ctx = FireContext(actor=actor, comment=comment)
    return next((o for o in available(entity, actor, ctx) if o.transition.trigger == trigger), None)


def events(entity: Any) -> list[AuditEvent]:
    name = "round" if isinstance(entity, Round) else "application"
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == name, AuditEvent.entity_id == entity.id)
            .order_by(AuditEvent.id)
        )
    )


def refused(entity: Any, trigger: str, actor: Any, comment: str | None = None) -> list[str]:
    """Fire, expect a refusal, and check it changed nothing; return the reasons."""
    state, version, before = entity.state, entity.version, len(events(entity))
    with pytest.raises(TransitionRefused) as info:
        fire(entity, trigger, actor, comment=comment)
    rollback()
    db.session.expire_all()
    assert (entity.state, entity.version) == (state, version)
    assert len(events(entity)) == before
    return info.value.reasons


def review(
    application: Application, reviewer: User, state: str = "assigned", *, now: bool = True
) -> Review:
    """An assignment, written directly (the review lifecycle has its own tests)."""
    row = Review(application_id=application.id, reviewer_id=reviewer.id, state=state)
    if state == "submitted":
        row.overall_score, row.confidence = 3, 2
    db.session.add(row)
    db.session.flush()
    if now:
        commit()
    return row


def submitted(make: Factory, own: User, rnd: Round | None = None) -> Application:
    return make.application(rnd or make.round(officer=make.officer()), own, submit=True)


def advanced(
    make: Factory, own: User, officer: User, to: str, review_state: str = ""
) -> Application:
    """A submitted application moved on by the officer to `to`, in one unit of work."""
    application = make.application(make.round(officer=officer), own, submit=True)
    reviewer = make.reviewer() if to != "eligible" or review_state else None
    fire(application, "mark_eligible", officer)
    if reviewer is not None:
        final = "submitted" if to == "scored" else review_state or "assigned"
        review(application, reviewer, final, now=False)
    if to in ("in_review", "scored"):
        fire(application, "start_review", officer)
    if to == "scored":
        fire(application, "complete_review", officer)
    commit()
    assert application.state == to
    return application


def eligible(make: Factory, own: User, officer: User) -> Application:
    return advanced(make, own, officer, "eligible")


def in_review(make: Factory, own: User, officer: User) -> Application:
    return advanced(make, own, officer, "in_review")


def scored(make: Factory, own: User, officer: User) -> Application:
    return advanced(make, own, officer, "scored")


def ready_for(trigger: str, make: Factory, own: User, officer: User) -> tuple[Application, str]:
    """An application from which `trigger` passes every guard, and the comment it needs."""
    comment = "Please fix the budget table."
    if trigger == "submit":
        return make.application(make.round(officer=officer), own), comment
    if trigger in ("withdraw", "return_to_draft", "mark_eligible", "mark_ineligible"):
        return submitted(make, own, make.round(officer=officer)), comment
    if trigger == "start_review":
        return advanced(make, own, officer, "eligible", review_state="assigned"), comment
    if trigger == "complete_review":
        return advanced(make, own, officer, "in_review", review_state="submitted"), comment
    if trigger == "reopen_review":
        return scored(make, own, officer), comment
    raise AssertionError(f"no set-up for {trigger}")


# --- who may fire what --------------------------------------------------------------------------


def test_the_rules_cover_every_application_transition() -> None:
    declared = {t.trigger for t in APPLICATION.transitions}
    assert declared - DECISIONS == set(APPLICATION_RULES)


@pytest.mark.parametrize("trigger", sorted(APPLICATION_RULES))
def test_who_may_fire_each_application_transition(
    trigger: str, make: Factory, own: User, officer: User
) -> None:
    cast = {kind: officer if kind == "officer" else actor_of(kind, make, own) for kind in KINDS}
    transition = APPLICATION.transition(trigger)
    allowed = APPLICATION_RULES[trigger]
    application: Application | None
    application, comment = ready_for(trigger, make, own, officer)
    # Refusals change nothing, so one application serves every refused role.
    for kind in KINDS:
        if kind in allowed:
            continue
        if transition.roles == {"applicant"}:
            expected = ONLY_OWN_APPLICANT if kind == "other_applicant" else ONLY_APPLICANT
        else:
            expected = ONLY_OFFICER
        offered = option(application, cast[kind], trigger, comment)
        assert offered is not None and not offered.allowed and offered.role_refused, kind
        assert offered.reasons == (expected,), kind  # every guard passes: only the role refuses
        assert refused(application, trigger, cast[kind], comment) == [expected], kind
    for kind in sorted(allowed):
        if application is None:
            application, comment = ready_for(trigger, make, own, officer)
        actor, source = cast[kind], application.state
        offered = option(application, actor, trigger, comment)
        assert offered is not None and offered.allowed and offered.reasons == (), kind
        fire(application, trigger, actor, comment=comment)
        commit()
        db.session.expire_all()
        assert application.state == transition.dest, kind
        last = events(application)[-1]
        assert (last.trigger, last.from_state, last.to_state) == (trigger, source, transition.dest)
        assert (last.actor_id, last.actor_role, last.comment) == (actor.id, actor.role, comment)
        application = None


def test_available_gives_every_reason_role_first(
    make: Factory, own: User, officer: User, freeze: Any
) -> None:
    freeze(DEADLINE - timedelta(days=5))
    rnd = make.round(officer=officer, closes_at=DEADLINE)
    application = make.application(rnd, own, complete=False)
    freeze(DEADLINE + timedelta(seconds=1))
    offered = option(application, make.reviewer(), "submit")
    assert offered is not None and not offered.allowed
    assert offered.reasons == (
        ONLY_APPLICANT,
        f"the deadline ({DEADLINE_TEXT}) has passed",
        "incomplete: Project, Narrative, Partners, Budget, Milestones, Impact targets, "
        "Letters of support",
    )
    # The applicant sees the same guards, without the role.
    assert option(application, own, "submit").reasons == offered.reasons[1:]
    # Only the ways out of a draft are listed.
    assert {o.transition.trigger for o in available(application, own)} == {"submit", "withdraw"}


# --- submit -------------------------------------------------------------------------------------


def test_submit_until_the_deadline_to_the_second(
    make: Factory, own: User, officer: User, freeze: Any
) -> None:
    freeze(DEADLINE - timedelta(days=10))
    rnd = make.round(officer=officer, closes_at=DEADLINE)
    late, on_time = make.application(rnd, own), make.application(rnd, own)
    for moment in (
        DEADLINE - timedelta(seconds=1),
        DEADLINE,
        DEADLINE + timedelta(microseconds=999_999),
    ):
        freeze(moment)
        assert option(late, own, "submit").allowed, moment
    freeze(DEADLINE + timedelta(seconds=1))
    assert refused(late, "submit", own) == [f"the deadline ({DEADLINE_TEXT}) has passed"]
    assert late.reference is None

    freeze(DEADLINE)
    fire(on_time, "submit", own)
    commit()
    assert on_time.state == "submitted"
    assert on_time.submitted_at == DEADLINE


def test_submit_refused_before_the_round_opens(
    make: Factory, own: User, officer: User, freeze: Any
) -> None:
    freeze(DEADLINE - timedelta(days=40))
    opens = DEADLINE - timedelta(days=30)
    rnd = make.round(officer=officer, opens_at=opens, closes_at=DEADLINE)
    application = make.application(rnd, own)
    reasons = refused(application, "submit", own)
    assert reasons == ["the round opens Wednesday, March 31, 2027 at 5:00:00 PM EDT"]


@pytest.mark.parametrize(
    ("government_type", "state_code", "admitted", "reason"),
    [
        ("city", "OH", ["state", "county"], "this round does not admit cities"),
        ("county", "OH", ["state", "city"], "this round does not admit counties"),
        ("tribal", "AZ", ["state"], "this round does not admit tribal governments"),
        ("state", "OH", ["state"], None),
    ],
)
def test_submit_refused_for_a_government_type_not_admitted(
    make: Factory,
    officer: User,
    government_type: str,
    state_code: str,
    admitted: list[str],
    reason: str | None,
) -> None:
    applicant = make.applicant(
        make.organization(government_type=government_type, state_code=state_code)
    )
    application = make.application(
        make.round(officer=officer, eligible_government_types=admitted), applicant
    )
    if reason is None:
        fire(application, "submit", applicant)
        commit()
        assert application.state == "submitted"
    else:
        assert refused(application, "submit", applicant) == [reason]


def test_submit_refused_with_the_titles_of_incomplete_sections(
    make: Factory, own: User, officer: User
) -> None:
    application = make.application(make.round(officer=officer), own)
    values = {"need": "", "approach": "", "alignment": "Fits.", "sustainability": "Lasts."}
    save_narrative(application, values, application.version)
    application.partners = []
    commit()
    assert refused(application, "submit", own) == ["incomplete: Narrative, Partners"]

    blank = make.application(make.round(officer=officer), own, complete=False)
    assert refused(blank, "submit", own) == [
        "incomplete: Project, Narrative, Partners, Budget, Milestones, Impact targets, "
        "Letters of support"
    ]


def test_submit_refused_when_the_round_is_not_open(make: Factory, own: User, officer: User) -> None:
    rnd = make.round(officer=officer)
    application = make.application(rnd, own)
    fire(rnd, "close", officer)
    commit()
    assert refused(application, "submit", own) == ["the round is closed, not open for applications"]


def test_reference_numbers_count_up_per_year_and_survive_a_return(
    make: Factory, own: User, officer: User, freeze: Any
) -> None:
    freeze(datetime(2027, 3, 1, 15, 0, tzinfo=UTC))
    rnd = make.round(officer=officer)
    first, second = make.application(rnd, own), make.application(rnd, own)
    for application in (first, second):
        fire(application, "submit", own)
        commit()
    assert (first.reference, second.reference) == ("L2G-2027-0001", "L2G-2027-0002")
    assert re.fullmatch(r"L2G-\d{4}-\d{4}", first.reference)

    fire(first, "return_to_draft", officer, comment="Add the second partner's letter.")
    commit()
    assert (first.state, first.reference) == ("draft", "L2G-2027-0001")
    assert first.can_edit(own)
    freeze(datetime(2027, 3, 2, 9, 30, tzinfo=UTC))
    fire(first, "submit", own)
    commit()
    assert (first.state, first.reference) == ("submitted", "L2G-2027-0001")
    assert first.submitted_at == datetime(2027, 3, 2, 9, 30, tzinfo=UTC)

    third = make.application(rnd, own, submit=True)
    assert third.reference == "L2G-2027-0003"  # the resubmission took no number


def test_receipt_is_emailed_once_to_each_user_of_the_organization(
    make: Factory, own: User, officer: User, wait_for_jobs: Any
) -> None:
    colleague = make.applicant(own.organization)
    former = make.applicant(own.organization)
    former.is_active_account = False
    make.applicant()  # another organization's user hears nothing
    application = make.application(make.round(officer=officer), own)
    event = fire(application, "submit", own)
    commit()
    wait_for_jobs()

    emails = db.session.scalars(select(EmailMessage).order_by(EmailMessage.to_address)).all()
    assert sorted(e.to_address for e in emails) == sorted([own.email, colleague.email])
    for email in emails:
        assert email.subject == f"Received: {application.reference} Sister-city climate exchange"
        assert application.reference in email.body
        assert email.sent_at is not None
    job = db.session.scalar(select(OutboxJob).where(OutboxJob.audit_event_id == event.id))
    assert job is not None and (job.name, job.status) == ("send_submission_receipt", "done")

    assert run_outbox_job(job.id) == "done"
    db.session.expire_all()
    assert db.session.scalar(select(func.count(EmailMessage.id))) == 2
    # Even run again from the start, the job sends nothing twice.
    job.status = "failed"
    commit()
    retry(job.id)
    commit()
    wait_for_jobs()
    db.session.expire_all()
    assert job.status == "done" and job.attempts == 2
    assert db.session.scalar(select(func.count(EmailMessage.id))) == 2


# --- withdraw -----------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["draft", "submitted", "eligible", "in_review"])
def test_own_applicant_withdraws_before_a_decision(
    source: str, make: Factory, own: User, officer: User, wait_for_jobs: Any
) -> None:
    setups = {
        "draft": lambda: make.application(make.round(officer=officer), own),
        "submitted": lambda: submitted(make, own),
        "eligible": lambda: eligible(make, own, officer),
        "in_review": lambda: in_review(make, own, officer),
    }
    application = setups[source]()
    assert application.state == source
    assert refused(application, "withdraw", make.applicant()) == [ONLY_OWN_APPLICANT]
    assert refused(application, "withdraw", officer) == [ONLY_APPLICANT]
    fire(application, "withdraw", own, comment="We lost our partner.")
    commit()
    assert application.state == "withdrawn"
    last = events(application)[-1]
    assert (last.from_state, last.to_state, last.comment) == (
        source,
        "withdrawn",
        "We lost our partner.",
    )
    wait_for_jobs()
    subjects = db.session.scalars(
        select(EmailMessage.subject).where(EmailMessage.to_address == own.email)
    ).all()
    reference = application.reference or "Your application"
    assert f"{reference}: Withdrawn" in subjects


@pytest.mark.parametrize(
    "state", ["scored", "awarded", "waitlisted", "declined", "ineligible", "withdrawn"]
)
def test_withdraw_refused_once_decided_or_closed(
    state: str, make: Factory, own: User, officer: User
) -> None:
    if state == "ineligible":
        application = submitted(make, own)
        fire(application, "mark_ineligible", officer, comment="Not a government.")
    elif state == "withdrawn":
        application = submitted(make, own)
        fire(application, "withdraw", own)
    else:
        application = scored(make, own, officer)
        if state != "scored":
            application.state = state  # set-up only: decisions have their own service and tests
    commit()
    assert application.state == state
    title = APPLICATION.title_of(state).lower()
    assert refused(application, "withdraw", own) == [
        f"not possible while the application is {title}"
    ]
    assert "withdraw" not in {o.transition.trigger for o in available(application, own)}


# --- officer transitions ------------------------------------------------------------------------


@pytest.mark.parametrize("comment", [None, "", "   "])
def test_return_to_draft_needs_a_comment(
    comment: str | None, make: Factory, own: User, officer: User
) -> None:
    application = submitted(make, own)
    assert refused(application, "return_to_draft", officer, comment) == [
        "a comment giving the reason is required"
    ]


def test_return_to_draft_needs_an_open_round(
    make: Factory, own: User, officer: User, freeze: Any
) -> None:
    freeze(DEADLINE - timedelta(days=3))
    rnd = make.round(officer=officer, closes_at=DEADLINE)
    late, closed = submitted(make, own, rnd), submitted(make, own, rnd)
    reason = "the round has closed, so the application can no longer be changed"
    freeze(DEADLINE + timedelta(seconds=1))  # past the deadline, the round not yet closed
    assert refused(late, "return_to_draft", officer, "Fix it.") == [reason]
    fire(rnd, "close", SYSTEM)
    commit()
    assert refused(closed, "return_to_draft", officer, "Fix it.") == [reason]
    assert refused(closed, "return_to_draft", officer) == [
        reason,
        "a comment giving the reason is required",
    ]


def test_mark_ineligible_needs_a_comment_and_is_final(
    make: Factory, own: User, officer: User
) -> None:
    application = submitted(make, own)
    assert refused(application, "mark_ineligible", officer) == [
        "a comment giving the reason is required"
    ]
    fire(application, "mark_ineligible", officer, comment="A nonprofit, not a government.")
    commit()
    assert application.state == "ineligible"
    assert events(application)[-1].comment == "A nonprofit, not a government."
    assert available(application, officer) == []


def test_mark_eligible_needs_no_comment(make: Factory, own: User, officer: User) -> None:
    application = submitted(make, own)
    fire(application, "mark_eligible", officer)
    commit()
    assert application.state == "eligible"
    assert events(application)[-1].comment is None


def test_start_review_needs_an_active_reviewer(make: Factory, own: User, officer: User) -> None:
    application = eligible(make, own, officer)
    assert refused(application, "start_review", officer) == ["no reviewer is assigned"]
    review(application, make.reviewer(), state="recused")
    assert refused(application, "start_review", SYSTEM) == ["no reviewer is assigned"]
    review(application, make.reviewer())
    fire(application, "start_review", SYSTEM)
    commit()
    assert application.state == "in_review"
    assert events(application)[-1].actor_role == "system"


def test_complete_review_needs_a_submitted_review_and_a_reason_to_close_early(
    make: Factory, own: User, officer: User
) -> None:
    application = in_review(make, own, officer)
    assert refused(application, "complete_review", officer, "Enough.") == [
        "no review has been submitted"
    ]
    assert refused(application, "complete_review", SYSTEM) == ["no review has been submitted"]
    review(application, make.reviewer(), state="submitted")  # one of two is in
    assert refused(application, "complete_review", officer) == [
        "closing review early needs a reason"
    ]
    assert option(application, SYSTEM, "complete_review").allowed  # the system needs none
    fire(application, "complete_review", officer, comment="The second reviewer is ill.")
    commit()
    assert application.state == "scored"
    assert events(application)[-1].comment == "The second reviewer is ill."


def test_complete_review_when_every_review_is_in_needs_no_reason(
    make: Factory, own: User, officer: User
) -> None:
    application = in_review(make, own, officer)
    db.session.execute(
        Review.__table__.update()
        .where(Review.application_id == application.id)
        .values(state="submitted", overall_score=5, confidence=3)
    )
    review(application, make.reviewer(), state="recused")  # a recusal does not hold it up
    fire(application, "complete_review", SYSTEM)
    commit()
    assert application.state == "scored"


# --- the round lifecycle ------------------------------------------------------------------------

ROUND_KINDS = ("applicant", "reviewer", "officer", "admin", "system")
ROUND_RULES: dict[str, set[str]] = {
    "open": {"officer", "system"},
    "close": {"officer", "system"},
    "start_review": {"officer", "system"},
    "finalize": {"officer", "system"},
    "archive": {"officer", "admin", "system"},
}
ROUND_SOURCE = {
    "open": "draft",
    "close": "open",
    "start_review": "closed",
    "finalize": "reviewing",
    "archive": "decided",
}


def round_in(state: str, make: Factory, officer: User) -> Round:
    if state == "decided":
        rnd = make.round("reviewing", officer=officer)
        fire(rnd, "finalize", officer)
        commit()
        return rnd
    return make.round(state, officer=officer)


def test_the_round_rules_cover_every_round_transition() -> None:
    assert {t.trigger for t in ROUND.transitions} == set(ROUND_RULES)


@pytest.mark.parametrize("trigger", sorted(ROUND_RULES))
def test_who_may_fire_each_round_transition(trigger: str, make: Factory, officer: User) -> None:
    cast = {
        "applicant": make.applicant(),
        "reviewer": make.reviewer(),
        "officer": officer,
        "admin": make.admin(),
        "system": SYSTEM,
    }
    transition = ROUND.transition(trigger)
    allowed = ROUND_RULES[trigger]
    who = (
        "only an administrator or program officer may do this"
        if trigger == "archive"
        else ONLY_OFFICER
    )
    rnd: Round | None = round_in(ROUND_SOURCE[trigger], make, officer)
    for kind in ROUND_KINDS:
        if kind not in allowed:
            assert refused(rnd, trigger, cast[kind]) == [who], kind
    for kind in sorted(allowed):
        rnd = rnd or round_in(ROUND_SOURCE[trigger], make, officer)
        actor = cast[kind]
        assert option(rnd, actor, trigger).allowed, kind
        fire(rnd, trigger, actor)
        commit()
        assert rnd.state == transition.dest, kind
        last = events(rnd)[-1]
        assert (last.trigger, last.actor_id, last.actor_role) == (trigger, actor.id, actor.role)
        rnd = None


@pytest.mark.parametrize(
    ("change", "reasons"),
    [
        (
            {"opens_at": DEADLINE, "closes_at": DEADLINE - timedelta(days=1)},
            ["the round must close after it opens"],
        ),
        (
            {"opens_at": DEADLINE - timedelta(days=40), "closes_at": DEADLINE - timedelta(days=20)},
            ["the closing time has already passed"],
        ),
        ({"performance_months": 72}, ["the period of performance must be 1 to 60 months"]),
        (
            {"budget": Decimal("-1"), "max_award": Decimal("-1"), "min_award": Decimal("-2")},
            [
                "the budget must be greater than zero; "
                "the minimum award must be positive and not above the maximum"
            ],
        ),
        (
            {"budget": Decimal("200000"), "max_award": Decimal("250000")},
            ["the maximum award cannot exceed the budget"],
        ),
        (
            {"min_award": Decimal("300000")},
            ["the minimum award must be positive and not above the maximum"],
        ),
        (
            {"eligible_government_types": [], "priority_areas": []},
            [
                "at least one government type must be eligible; "
                "at least one priority area must be offered"
            ],
        ),
        (
            {"budget": Decimal("0"), "performance_months": 0},
            [
                "the period of performance must be 1 to 60 months",
                "the budget must be greater than zero; the maximum award cannot exceed the budget",
            ],
        ),
    ],
)
def test_open_refused_with_the_reasons(
    change: dict[str, Any], reasons: list[str], make: Factory, officer: User, freeze: Any
) -> None:
    freeze(DEADLINE - timedelta(days=15))
    values: dict[str, Any] = {"opens_at": DEADLINE - timedelta(days=14), "closes_at": DEADLINE}
    values.update(change)
    rnd = make.round("draft", officer=officer, **values)
    assert refused(rnd, "open", officer) == reasons
    assert rnd.state == "draft"


def test_open_refused_for_an_unusable_rubric(make: Factory, officer: User) -> None:
    rnd = make.round("draft", officer=officer)
    for criterion in rnd.criteria:
        criterion.kind = "sufficiency"
    rnd.criteria[0].title = "  "
    commit()
    assert refused(rnd, "open", officer) == [
        "the rubric needs at least one criterion scored 1–9; every rubric criterion needs a title"
    ]
    rnd.criteria[0].kind = "scored"
    rnd.criteria[0].title = "Significance"
    commit()
    fire(rnd, "open", officer)
    commit()
    assert rnd.state == "open"


def test_close_due_closes_only_open_rounds_past_their_deadline(
    app: Flask, make: Factory, officer: User, freeze: Any
) -> None:
    freeze(DEADLINE - timedelta(days=10))
    due = make.round(officer=officer, closes_at=DEADLINE - timedelta(seconds=1))
    at_deadline = make.round(officer=officer, closes_at=DEADLINE)
    later = make.round(officer=officer, closes_at=DEADLINE + timedelta(days=1))
    unopened = make.round("draft", officer=officer, closes_at=DEADLINE - timedelta(days=1))
    already = make.round("closed", officer=officer, closes_at=DEADLINE - timedelta(days=2))
    runner = app.test_cli_runner()

    # Within the deadline's second a submission is still admitted, so the round stays open.
    freeze(DEADLINE + timedelta(milliseconds=500))
    result = runner.invoke(args=["rounds", "close-due"])
    assert result.exit_code == 0, result.output
    assert "Closed 1 round(s)." in result.output
    db.session.expire_all()
    states = [r.state for r in (due, at_deadline, later, unopened, already)]
    assert states == ["closed", "open", "open", "draft", "closed"]
    last = events(due)[-1]
    assert (last.trigger, last.actor_id, last.actor_role, last.actor_label) == (
        "close",
        None,
        "system",
        "system",
    )
    assert last.comment == "deadline passed"
    assert len(events(already)) == 2  # open and close, by the officer: not closed again

    freeze(DEADLINE + timedelta(seconds=1))
    assert "Closed 1 round(s)." in runner.invoke(args=["rounds", "close-due"]).output
    assert "Closed 0 round(s)." in runner.invoke(args=["rounds", "close-due"]).output
    db.session.expire_all()
    assert at_deadline.state == "closed"


def test_finalize_refused_while_an_application_is_scored(
    make: Factory, own: User, officer: User
) -> None:
    rnd = make.round(officer=officer)
    application = submitted(make, own, rnd)
    other = submitted(make, make.applicant(), rnd)
    fire(rnd, "close", officer)
    fire(rnd, "start_review", officer)
    fire(application, "mark_eligible", officer)
    commit()
    review(application, make.reviewer(), state="submitted")
    fire(application, "start_review", officer)
    fire(application, "complete_review", officer)
    fire(other, "mark_ineligible", officer, comment="Not a government.")
    commit()
    assert application.state == "scored"
    assert refused(rnd, "finalize", officer) == ["1 scored application(s) still need a decision"]
    application.state = "declined"  # set-up only: decisions have their own service and tests
    commit()
    fire(rnd, "finalize", officer)
    commit()
    assert rnd.state == "decided"
