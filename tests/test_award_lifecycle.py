"""The award lifecycle and the application's decision transitions as their users meet them: who
may fire each (own applicant, another organization's applicant, reviewer, officer, admin, the
system) and every guard that refuses, with its reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.jobs import commit, rollback
from app.models.application import Application
from app.models.award import Award
from app.models.impact_report import ImpactReport
from app.models.user import User
from app.services.decisions import budget_remaining
from tests.decision_helpers import (
    award,
    events_of,
    jobs_settled,  # noqa: F401  (autouse)
    scored_round,
)
from tests.factories import Factory
from workflows import LIFECYCLES, SYSTEM, FireContext, Option, TransitionRefused, available, fire

K = Decimal(1000)
KINDS = ("own_applicant", "other_applicant", "reviewer", "officer", "admin", "system")
ONLY_APPLICANT = "only an applicant may do this"
ONLY_OWN_APPLICANT = "only the applicant responsible for this record may do this"
ONLY_OFFICER = "only a program officer may do this"
SIGNATURE = {"name": "Alex Mayor", "title": "Mayor", "consent": True}
REASON = "The jurisdiction withdrew its cost share."

# Who may fire each transition (DESIGN.md). The system (a job or a clock) skips the role check
# but never the guards.
AWARD_RULES: dict[str, set[str]] = {
    "accept": {"own_applicant", "system"},
    "refuse": {"own_applicant", "system"},
    "rescind": {"officer", "system"},
    "activate": {"officer", "system"},
    "suspend": {"officer", "system"},
    "resume": {"officer", "system"},
    "close": {"officer", "system"},
}
DECISION_RULES: dict[str, set[str]] = {
    "award": {"officer", "system"},
    "waitlist": {"officer", "system"},
    "decline": {"officer", "system"},
}
SOURCE = {
    "accept": "offered",
    "refuse": "offered",
    "rescind": "offered",
    "activate": "accepted",
    "suspend": "active",
    "resume": "suspended",
    "close": "active",
}


@pytest.fixture
def officer(make: Factory) -> User:
    return make.officer()


@pytest.fixture
def own(make: Factory) -> User:
    return make.applicant()


def actor_of(kind: str, make: Factory, own: User, officer: User) -> Any:
    return {
        "own_applicant": lambda: own,
        "other_applicant": make.applicant,
        "reviewer": make.reviewer,
        "officer": lambda: officer,
        "admin": make.admin,
        "system": lambda: SYSTEM,
    }[kind]()


def an_award(make: Factory, officer: User, own: User, state: str = "offered") -> Award:
    """An award made through the engine and moved to `state` the way its users would."""
    _, (application,) = scored_round(make, officer, [100 * K], users=[own])
    made = award(application, officer)
    if state in ("accepted", "active", "suspended", "closed"):
        fire(made, "accept", own, data=SIGNATURE)
    if state in ("active", "suspended", "closed"):
        fire(made, "activate", officer)
    if state == "suspended":
        fire(made, "suspend", officer, comment=REASON)
    if state == "closed":
        accept_all_reports(made)
        fire(made, "close", officer)
    commit()
    assert made.state == state
    return made


def accept_all_reports(made: Award) -> None:
    # Set-up only: the impact-report lifecycle has its own service and tests.
    db.session.execute(
        update(ImpactReport).where(ImpactReport.award_id == made.id).values(state="accepted")
    )
    db.session.expire(made)


def inputs(trigger: str, made: Any) -> dict[str, Any]:
    """What a trigger needs to pass every guard but the role: a reason, a signature, a time."""
    kw: dict[str, Any] = {"comment": REASON}
    if trigger == "accept":
        kw["data"] = SIGNATURE
    if trigger == "activate":
        kw["now"] = datetime.combine(made.start_date, datetime.min.time(), tzinfo=UTC)
    return kw


def option(entity: Any, actor: Any, trigger: str, **kw: Any) -> Option:
    ctx = FireContext(actor=actor, comment=kw.get("comment"), data=kw.get("data") or {})
    if kw.get("now"):
        ctx.now = kw["now"]
    found = [o for o in available(entity, actor, ctx) if o.transition.trigger == trigger]
    assert found, f"{trigger} is not offered from {entity.state}"
    return found[0]


def check_roles(
    entity: Any, trigger: str, allowed: set[str], make: Factory, own: User, officer: User
) -> None:
    """For each kind of actor: allowed → it fires (in a savepoint, undone after); refused → the
    engine refuses it with the role's reason and nothing changes."""
    officer_trigger = trigger not in ("accept", "refuse")
    for kind in KINDS:
        actor = actor_of(kind, make, own, officer)
        kw = inputs(trigger, entity)
        opt = option(entity, actor, trigger, **kw)
        if kind in allowed:
            assert opt.allowed, (kind, opt.reasons)
            if kind == "system" and trigger == "accept":
                continue  # an acceptance records a person: see the test below
            state = entity.state
            savepoint = db.session.begin_nested()
            event = fire(entity, trigger, actor, **kw)
            assert (event.actor_role, event.from_state) == (actor.role, state)
            savepoint.rollback()
            db.session.expire_all()
            assert entity.state == state
        else:
            expected = (
                ONLY_OFFICER
                if officer_trigger
                else (ONLY_OWN_APPLICANT if kind == "other_applicant" else ONLY_APPLICANT)
            )
            assert not opt.allowed and opt.role_refused, kind
            assert opt.reasons == (expected,), (kind, opt.reasons)
            with pytest.raises(TransitionRefused) as info:
                fire(entity, trigger, actor, **kw)
            assert info.value.reasons == [expected]
            rollback()
            db.session.expire_all()
    rollback()


def test_the_rules_cover_every_transition() -> None:
    assert {t.trigger for t in LIFECYCLES["award"].transitions} == set(AWARD_RULES)
    decisions = {"award", "waitlist", "decline"}
    assert decisions <= {t.trigger for t in LIFECYCLES["application"].transitions}


@pytest.mark.parametrize("trigger", sorted(AWARD_RULES))
def test_who_may_fire_each_award_transition(
    trigger: str, make: Factory, own: User, officer: User
) -> None:
    made = an_award(make, officer, own, SOURCE[trigger])
    if trigger == "close":
        accept_all_reports(made)
        commit()
    check_roles(made, trigger, AWARD_RULES[trigger], make, own, officer)


@pytest.mark.parametrize("trigger", sorted(DECISION_RULES))
def test_who_may_decide_an_application(
    trigger: str, make: Factory, own: User, officer: User
) -> None:
    _, (application,) = scored_round(make, officer, [100 * K], users=[own])
    check_roles(application, trigger, DECISION_RULES[trigger], make, own, officer)
    if trigger == "decline":  # from the waitlist too
        fire(application, "waitlist", officer)
        commit()
        check_roles(application, trigger, DECISION_RULES[trigger], make, own, officer)


def test_an_acceptance_records_a_person_so_the_system_cannot_accept(
    make: Factory, own: User, officer: User
) -> None:
    """The engine lets the system past the role check, but an acceptance must record the account
    that accepted: the database refuses one without it, and nothing changes."""
    from sqlalchemy.exc import IntegrityError

    made = an_award(make, officer, own)
    with pytest.raises(IntegrityError):
        fire(made, "accept", SYSTEM, data=SIGNATURE)
        db.session.flush()
    rollback()
    db.session.expire_all()
    assert made.state == "offered" and made.accepted_by_id is None


# --- guards ---------------------------------------------------------------------------------------


def test_accept_records_the_signature_time_and_account(
    make: Factory, own: User, officer: User, freeze: Callable[[datetime], None]
) -> None:
    made = an_award(make, officer, own)
    moment = made.acceptance_deadline - timedelta(days=1)
    freeze(moment)
    event = fire(
        made, "accept", own, data={"name": " Alex Mayor ", "title": "Mayor", "consent": True}
    )
    commit()
    assert (made.state, made.accepted_by_id, made.accepted_name, made.accepted_title) == (
        "accepted",
        own.id,
        "Alex Mayor",
        "Mayor",
    )
    assert made.responded_at == moment
    assert (event.actor_id, event.created_at) == (own.id, moment)


@pytest.mark.parametrize("trigger", ["accept", "refuse"])
def test_no_answer_after_the_acceptance_deadline(
    trigger: str, make: Factory, own: User, officer: User, freeze: Callable[[datetime], None]
) -> None:
    made = an_award(make, officer, own)
    kw = inputs(trigger, made)
    freeze(made.acceptance_deadline)  # the deadline itself still admits
    assert option(made, own, trigger, **kw).allowed
    freeze(made.acceptance_deadline + timedelta(seconds=1))
    with pytest.raises(TransitionRefused) as info:
        fire(made, trigger, own, **kw)
    assert info.value.reasons == ["the acceptance deadline has passed"]
    rollback()
    # An officer can still rescind an offer nobody answered.
    fire(made, "rescind", officer, comment="Not accepted in time.")
    commit()
    assert made.state == "rescinded"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({}, "give your full name, your title, your agreement to the terms and conditions"),
        ({"name": "Alex Mayor", "title": " ", "consent": True}, "give your title"),
        ({"name": "", "title": "Mayor", "consent": True}, "give your full name"),
        (
            {"name": "Alex Mayor", "title": "Mayor", "consent": False},
            "give your agreement to the terms and conditions",
        ),
    ],
)
def test_accepting_needs_name_title_and_consent(
    data: dict[str, Any], reason: str, make: Factory, own: User, officer: User
) -> None:
    made = an_award(make, officer, own)
    with pytest.raises(TransitionRefused) as info:
        fire(made, "accept", own, data=data)
    assert info.value.reasons == [reason]
    rollback()
    db.session.expire_all()
    assert made.state == "offered" and made.accepted_name is None


@pytest.mark.parametrize(
    ("state", "trigger", "who"),
    [
        ("offered", "refuse", "own"),
        ("offered", "rescind", "officer"),
        ("active", "suspend", "officer"),
    ],
)
def test_a_reason_is_required(
    state: str, trigger: str, who: str, make: Factory, own: User, officer: User
) -> None:
    made = an_award(make, officer, own, state)
    actor = own if who == "own" else officer
    for blank in (None, "", "   "):
        with pytest.raises(TransitionRefused) as info:
            fire(made, trigger, actor, comment=blank)
        assert info.value.reasons == ["a comment giving the reason is required"]
        rollback()
    fire(made, trigger, actor, comment=REASON)
    commit()
    assert events_of("award", made.id)[-1].comment == REASON


def test_the_system_activates_only_from_the_start_date(
    make: Factory, own: User, officer: User
) -> None:
    made = an_award(make, officer, own, "accepted")
    start = datetime.combine(made.start_date, datetime.min.time(), tzinfo=UTC)
    with pytest.raises(TransitionRefused) as info:
        fire(made, "activate", SYSTEM, now=start - timedelta(seconds=1))
    assert info.value.reasons == ["the period of performance has not started"]
    rollback()
    assert option(made, officer, "activate").allowed  # an officer may start it early
    fire(made, "activate", SYSTEM, now=start)
    commit()
    assert made.state == "active"


def test_suspend_and_resume(make: Factory, own: User, officer: User) -> None:
    made = an_award(make, officer, own, "active")
    fire(made, "suspend", officer, comment="Audit finding.")
    fire(made, "resume", officer)
    commit()
    assert [e.trigger for e in events_of("award", made.id)][-2:] == ["suspend", "resume"]
    assert made.state == "active"


def test_close_is_refused_while_a_report_is_not_accepted(
    make: Factory, own: User, officer: User
) -> None:
    made = an_award(make, officer, own, "active")
    reports = db.session.scalars(
        select(ImpactReport).where(ImpactReport.award_id == made.id).order_by(ImpactReport.id)
    ).all()
    assert len(reports) >= 2  # the schedule's progress reports and the final report
    for kind in (officer, SYSTEM):
        with pytest.raises(TransitionRefused) as info:
            fire(made, "close", kind)
        assert info.value.reasons == [f"{len(reports)} impact report(s) not yet accepted"]
        rollback()
    db.session.execute(
        update(ImpactReport)
        .where(ImpactReport.id.in_([r.id for r in reports[:-1]]))
        .values(state="accepted")
    )
    commit()
    with pytest.raises(TransitionRefused) as info:
        fire(made, "close", officer)
    assert info.value.reasons == ["1 impact report(s) not yet accepted"]
    rollback()
    accept_all_reports(made)
    commit()
    fire(made, "close", officer)
    commit()
    assert made.state == "closed"


@pytest.mark.parametrize("state", ["refused", "rescinded", "closed"])
def test_final_states_offer_nothing(state: str, make: Factory, own: User, officer: User) -> None:
    if state == "refused":
        made = an_award(make, officer, own)
        fire(made, "refuse", own, comment="We cannot provide the cost share.")
        commit()
    elif state == "rescinded":
        made = an_award(make, officer, own)
        fire(made, "rescind", officer, comment=REASON)
        commit()
    else:
        made = an_award(make, officer, own, "closed")
    assert available(made, officer) == [] and available(made, own) == []
    with pytest.raises(TransitionRefused) as info:
        fire(made, "activate", officer)
    assert info.value.reasons == [f"not possible while the award is {state}"]
    rollback()


def test_rescind_returns_the_money_to_the_budget(make: Factory, own: User, officer: User) -> None:
    made = an_award(make, officer, own)
    rnd = made.round
    assert budget_remaining(rnd) == Decimal(rnd.budget) - 100 * K
    fire(made, "rescind", officer, comment=REASON)
    commit()
    assert budget_remaining(rnd) == Decimal(rnd.budget)
    # Refusing returns it too; accepting keeps it committed.
    other = an_award(make, officer, make.applicant())
    fire(
        other,
        "refuse",
        db.session.scalar(select(User).where(User.organization_id == other.organization_id)),
        comment="No capacity.",
    )
    commit()
    assert budget_remaining(other.round) == Decimal(other.round.budget)


def test_an_award_decision_leaves_the_application_awarded_with_its_award(
    make: Factory, own: User, officer: User
) -> None:
    made = an_award(make, officer, own)
    application = db.session.get(Application, made.application_id)
    assert application.state == "awarded" and application.decided_at is not None
    assert made.number.startswith(f"L2G-{made.offered_at.year}-A")
    assert made.acceptance_deadline == made.offered_at + timedelta(days=45)
    assert db.session.scalar(select(Award).where(Award.application_id == application.id)) == made
