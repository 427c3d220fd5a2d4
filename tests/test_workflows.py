"""The lifecycle declarations, checked as data, drawn as diagrams and driven at random.

Every declaration in `workflows.LIFECYCLES` is checked the way the engine relies on it (reachable
states, ways out, known roles, resolvable guards, actions and effects, a CHECK constraint that
matches), and the application lifecycle is driven by Hypothesis against real rows: whatever is
fired, by whomever, the engine only moves along declared edges, says in advance exactly what it
will do, and writes one audit event per move and none for a refusal.
"""

from __future__ import annotations

import re
from collections import deque
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, NamedTuple

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select

from app import clock
from app.domain import ROLES, SYSTEM_ROLE
from app.extensions import db
from app.jobs import commit, registered_jobs
from app.models.application import Application
from app.models.audit import AuditEvent
from app.models.outbox import OutboxJob
from app.models.review import Review
from app.services.applications import save_narrative
from tests.factories import Factory
from workflows import (
    LIFECYCLES,
    SYSTEM,
    FireContext,
    Lifecycle,
    TransitionRefused,
    available,
    fire,
)
from workflows.engine import available as available_in

KNOWN_ROLES = set(ROLES) | {SYSTEM_ROLE}


@pytest.fixture(params=sorted(LIFECYCLES))
def lifecycle(request: pytest.FixtureRequest) -> Lifecycle:
    return LIFECYCLES[request.param]


def _edges(lifecycle: Lifecycle) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {name: set() for name in lifecycle.state_names}
    for t in lifecycle.transitions:
        for source in t.sources:
            out.setdefault(source, set()).add(t.dest)
    return out


# --- the declarations as data -----------------------------------------------------------------


def test_names_are_unique_and_states_are_declared(lifecycle: Lifecycle) -> None:
    names = lifecycle.state_names
    assert len(set(names)) == len(names), f"{lifecycle.name}: a state is declared twice"
    triggers = [t.trigger for t in lifecycle.transitions]
    assert len(set(triggers)) == len(triggers), f"{lifecycle.name}: a trigger is declared twice"
    assert lifecycle.initial in names
    for t in lifecycle.transitions:
        assert t.sources, f"{lifecycle.name}.{t.trigger} has no source state"
        for state in (*t.sources, t.dest):
            assert state in names, f"{lifecycle.name}.{t.trigger} names unknown state {state!r}"
        assert t.title.strip(), f"{lifecycle.name}.{t.trigger} has no title for its button"
    for state in lifecycle.states:
        assert state.title.strip(), f"{lifecycle.name}: state {state.name!r} has no title"


def test_every_state_is_reachable_from_the_initial_one(lifecycle: Lifecycle) -> None:
    edges = _edges(lifecycle)
    seen = {lifecycle.initial}
    queue = deque([lifecycle.initial])
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    unreachable = set(lifecycle.state_names) - seen
    assert not unreachable, f"{lifecycle.name}: unreachable from {lifecycle.initial}: {unreachable}"


def test_final_states_have_no_way_out_and_the_others_have_one(lifecycle: Lifecycle) -> None:
    edges = _edges(lifecycle)
    for state in lifecycle.states:
        if state.final:
            assert not edges[state.name], f"{lifecycle.name}: final {state.name} has a way out"
        else:
            assert edges[state.name], f"{lifecycle.name}: {state.name} is a dead end (not final)"
    assert any(s.final for s in lifecycle.states), f"{lifecycle.name} never ends"


def test_every_role_named_exists(lifecycle: Lifecycle) -> None:
    for t in lifecycle.transitions:
        assert t.roles, f"{lifecycle.name}.{t.trigger}: nobody may fire it"
        unknown = set(t.roles) - KNOWN_ROLES
        assert not unknown, f"{lifecycle.name}.{t.trigger} names unknown roles {unknown}"


def test_every_guard_action_and_effect_resolves(lifecycle: Lifecycle) -> None:
    jobs = registered_jobs()
    for t in lifecycle.transitions:
        where = f"{lifecycle.name}.{t.trigger}"
        for name in t.guards:
            assert callable(lifecycle.guards.get(name)), f"{where}: guard {name!r} unresolved"
        for name in t.actions:
            assert callable(lifecycle.actions.get(name)), f"{where}: action {name!r} unresolved"
        for name in t.effects:
            assert callable(jobs.get(name)), f"{where}: effect {name!r} is no registered job"


def test_the_transitions_machine_knows_every_trigger(lifecycle: Lifecycle) -> None:
    machine = lifecycle.machine
    for t in lifecycle.transitions:
        event = machine.events[t.trigger]
        declared = set(t.sources)
        assert set(event.transitions) == declared, f"{lifecycle.name}.{t.trigger}"
        for source in declared:
            assert [tr.dest for tr in event.transitions[source]] == [t.dest]
    assert set(machine.events) == {t.trigger for t in lifecycle.transitions}


def test_state_column_check_constraint_lists_exactly_the_states(
    app: Flask, lifecycle: Lifecycle
) -> None:
    model = lifecycle.model()
    table = model.__table__.name
    column = model.__table__.c[lifecycle.state_attribute]
    assert column.default.arg == lifecycle.initial, f"{table}: a new row must start initial"
    checks = [
        c
        for c in inspect(db.engine).get_check_constraints(table)
        if re.search(rf"\b{lifecycle.state_attribute}\b", c["sqltext"])
        and c["name"].endswith(f"_{lifecycle.state_attribute}")
    ]
    assert len(checks) == 1, f"{table}: expected one CHECK on its state column, found {checks}"
    listed = re.findall(r"'([^']*)'", checks[0]["sqltext"])
    assert sorted(listed) == sorted(lifecycle.state_names)


def test_guards_are_looked_up_when_they_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replacing a guard in its module counts at once, in available() and in the machine, and
    is undone with the patch; the declaration itself cannot be patched in place."""
    rounds = LIFECYCLES["round"]
    officer = SimpleNamespace(id=1, role="officer", email="o@example.org")
    draft = SimpleNamespace(state="draft")
    ctx = FireContext(actor=officer)

    def open_allowed() -> bool:
        [option] = [
            o for o in available_in(rounds, draft, officer, ctx) if o.transition.trigger == "open"
        ]
        return option.allowed

    assert rounds.machine.events["open"]  # built before the patch, as in a long-running process
    with monkeypatch.context() as patch:
        for name in rounds.transition("open").guards:
            patch.setattr(f"workflows.round.{name}", lambda rnd, ctx: None)
        assert open_allowed()
        assert rounds.machine.events["open"].trigger(draft, ctx=ctx)
        assert draft.state == "open"
        patch.setattr("workflows.round.budget_valid", lambda rnd, ctx: "no budget")
        draft.state = "draft"
        assert not open_allowed()
        assert not rounds.machine.events["open"].trigger(draft, ctx=ctx)
        assert draft.state == "draft"
    assert rounds.guards["budget_valid"].__name__ == "budget_valid"  # the patch is undone
    with pytest.raises(TypeError):
        rounds.guards["budget_valid"] = lambda rnd, ctx: None  # type: ignore[index]


def test_a_guard_that_changes_its_mind_while_firing_gives_its_own_reason(
    make: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another request may commit between the engine's check and the move (SQLite lets a reader
    see it): the refusal then says what the guard says now, not only that something changed."""
    rnd = make.round(state="draft")
    officer = make.officer()
    answers = iter([None])  # yes when checked, no from then on
    real = LIFECYCLES["round"].guards["budget_valid"]

    def budget_valid(entity: Any, ctx: FireContext) -> str | None:
        return next(answers, "the budget was just spent elsewhere") or real(entity, ctx)

    monkeypatch.setattr("workflows.round.budget_valid", budget_valid)
    with pytest.raises(TransitionRefused) as refused:
        fire(rnd, "open", officer)
    assert refused.value.reasons == ["the budget was just spent elsewhere"]
    assert rnd.state == "draft"


def test_effects_are_looked_up_when_their_job_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A job is found by its name in its module when it runs, like guards: replacing the body
    counts at once and is undone with the patch."""
    original = registered_jobs()["send_status_email"]
    ran: list[object] = []
    with monkeypatch.context() as patch:
        patch.setattr("app.effects.send_status_email", ran.append)
        registered_jobs()["send_status_email"]("a row")
        assert ran == ["a row"]
    assert registered_jobs()["send_status_email"] is original


# --- the diagrams -------------------------------------------------------------------------------


def test_workflows_show_prints_a_mermaid_diagram(app: Flask, lifecycle: Lifecycle) -> None:
    result = app.test_cli_runner().invoke(args=["workflows", "show", lifecycle.name])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "stateDiagram-v2" in out
    for state in lifecycle.states:
        assert f'state "{state.title}" as {state.name}' in out
    drawn = set(re.findall(r"^\s*(\w+) --> (\w+): (\w+)\s*$", out, flags=re.MULTILINE))
    declared = {(s, t.dest, t.trigger) for t in lifecycle.transitions for s in t.sources}
    assert drawn == declared
    assert f"[*] --> {lifecycle.initial}" in out


def test_workflows_show_application_titles(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["workflows", "show", "application"])
    assert result.exit_code == 0
    assert 'state "In review" as in_review' in result.output
    assert "submitted --> draft: return_to_draft" in result.output
    assert "in_review --> withdrawn: withdraw" in result.output


def test_workflows_show_unknown_name_fails(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["workflows", "show", "grant"])
    assert result.exit_code != 0
    assert "Unknown lifecycle 'grant'" in result.output
    for name in LIFECYCLES:
        assert name in result.output


# --- the engine driven at random ----------------------------------------------------------------

APPLICATION = LIFECYCLES["application"]
# Awards, waitlists and declines are decided by app.services.decisions and tested with it: the walk
# never fires them, and stand-in guards refuse them whenever available() lists them.
DECISIONS = {"award", "waitlist", "decline"}
TRIGGERS = [t.trigger for t in APPLICATION.transitions if t.trigger not in DECISIONS]
MOVES = {(s, t.dest) for t in APPLICATION.transitions for s in t.sources}
ACTOR_KINDS = ("own_applicant", "other_applicant", "reviewer", "officer", "admin", "system")
ROLE_KIND = {"applicant": "own_applicant", "officer": "officer", "system": "system"}
COMMENTS = (None, "Because the budget changed.", "", "   ")
# What else happens while an application moves: the things its guards look at.
EVENTS = (
    "reviewer 0 is assigned",
    "reviewer 0 submits",
    "reviewer 1 is assigned",
    "reviewer 1 submits",
    "reviewer 1 recuses",
    "the need is filled in",
    "the need is left blank",
    "the deadline passes",
    "the round closes",
)
# A directed step goes ahead if it can, so that walks reach the later states; any step may still
# fire any trigger, these included.
BACKWARD = ("withdraw", "return_to_draft", "mark_ineligible", "reopen_review")
START = datetime(2027, 3, 1, 14, 0, tzinfo=UTC)


class Step(NamedTuple):
    """One step of a walk, as choices that make sense in whatever state the walk has reached."""

    event: str | None  # something that happens first, or nothing
    any_trigger: bool  # any trigger at all, or one whose sources hold the current state
    trigger_pick: int
    anyone: bool  # anyone at all, or someone holding one of the trigger's roles
    actor_pick: int
    comment: str | None


STEPS = st.lists(
    st.builds(
        Step,
        event=st.one_of(st.none(), st.none(), st.sampled_from(EVENTS)),  # mostly nothing
        any_trigger=st.booleans(),
        trigger_pick=st.integers(0, 63),
        anyone=st.booleans(),
        actor_pick=st.integers(0, 63),
        comment=st.sampled_from(COMMENTS),
    ),
    min_size=10,
    max_size=30,
)


@pytest.fixture
def cast(make: Factory, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The people of every walk, made once per test (the database is emptied only between tests)."""
    for transition in APPLICATION.transitions:
        if transition.trigger in DECISIONS:
            for name in transition.guards:
                monkeypatch.setattr(
                    f"workflows.application.{name}", lambda app, ctx: "tested elsewhere"
                )
    return {
        "own_applicant": make.applicant(),
        "other_applicant": make.applicant(),
        "reviewer": make.reviewer(),
        "officer": make.officer(),
        "admin": make.admin(),
        "system": SYSTEM,
        "reviewers": [make.reviewer(), make.reviewer()],
    }


def _audit_count(application_id: int) -> int:
    return db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.entity_type == "application", AuditEvent.entity_id == application_id
        )
    )


def _outbox_count() -> int:
    return db.session.scalar(select(func.count(OutboxJob.id)))


class Walk:
    """One application in its own round, moved step by step and checked after every step."""

    def __init__(self, make: Factory, cast: dict[str, Any]) -> None:
        self.cast = cast
        self.round = make.round(officer=cast["officer"])
        self.application = make.application(self.round, cast["own_applicant"])
        self.id = self.application.id

    def reload(self) -> None:
        db.session.expire_all()
        application = db.session.get(Application, self.id)
        assert application is not None
        self.application = application

    def happen(self, event: str) -> None:
        application, reviewers = self.application, self.cast["reviewers"]
        if event.startswith("reviewer"):
            reviewer = reviewers[int(event.split()[1])]
            review = db.session.scalar(
                select(Review).where(
                    Review.application_id == self.id, Review.reviewer_id == reviewer.id
                )
            )
            if review is None and event.endswith("assigned"):
                db.session.add(Review(application_id=self.id, reviewer_id=reviewer.id))
            elif review is not None and review.state in ("assigned", "in_progress"):
                if event.endswith("submits"):
                    review.state, review.overall_score, review.confidence = "submitted", 3, 2
                elif event.endswith("recuses"):
                    review.state = "recused"
        elif event.startswith("the need") and application.state == "draft":
            values = {k: f"Our {k}." for k in ("need", "approach", "alignment", "sustainability")}
            if event.endswith("blank"):
                values["need"] = ""
            save_narrative(application, values, application.version)
        elif event == "the deadline passes":
            clock.freeze(self.round.closes_at + timedelta(seconds=1))
        elif event == "the round closes" and self.round.state == "open":
            fire(self.round, "close", SYSTEM, comment="deadline passed")
        commit()
        self.reload()

    def choose(self, step: Step) -> tuple[str, str]:
        state = self.application.state
        ways_out = [t for t in TRIGGERS if state in APPLICATION.transition(t).sources]
        ahead = [t for t in ways_out if t not in BACKWARD] or ways_out
        triggers = TRIGGERS if step.any_trigger or not ahead else ahead
        trigger = triggers[step.trigger_pick % len(triggers)]
        roles = APPLICATION.transition(trigger).roles
        fitting = sorted(ROLE_KIND[r] for r in roles if r in ROLE_KIND)
        kinds = ACTOR_KINDS if step.anyone or not fitting else fitting
        return trigger, kinds[step.actor_pick % len(kinds)]

    def fire(self, trigger: str, kind: str, comment: str | None) -> bool:
        """Fire and check everything the engine promises; say whether it moved."""
        actor, application = self.cast[kind], self.application
        before, version = application.state, application.version
        audits, jobs = _audit_count(self.id), _outbox_count()
        ctx = FireContext(actor=actor, comment=(comment or "").strip() or None)
        option = next(
            (o for o in available(application, actor, ctx) if o.transition.trigger == trigger),
            None,
        )
        said_allowed = option is not None and option.allowed
        try:
            event = fire(application, trigger, actor, comment=comment)
        except TransitionRefused as refused:
            assert not said_allowed, f"available() allowed {trigger} but fire() refused"
            assert refused.reasons
            if option is not None:
                assert tuple(refused.reasons) == option.reasons
            commit()  # a refusal leaves nothing behind, even if the caller commits
            self.reload()
            assert (self.application.state, self.application.version) == (before, version)
            assert _audit_count(self.id) == audits
            assert _outbox_count() == jobs
            return False
        assert said_allowed, f"fire() did {trigger} but available() refused: {option}"
        commit()
        self.reload()
        transition = APPLICATION.transition(trigger)
        after = self.application.state
        assert (before, after) in MOVES
        assert before in transition.sources and after == transition.dest
        assert _audit_count(self.id) == audits + 1
        stored = db.session.get(AuditEvent, event.id)
        assert stored is not None
        assert (stored.entity_type, stored.entity_id, stored.trigger) == (
            "application",
            self.id,
            trigger,
        )
        assert (stored.from_state, stored.to_state) == (before, after)
        assert (stored.actor_id, stored.actor_role) == (actor.id, actor.role)
        assert (stored.actor_label, stored.comment) == (actor.email, ctx.comment)
        effects = db.session.scalars(
            select(OutboxJob.name).where(OutboxJob.audit_event_id == event.id)
        ).all()
        assert sorted(effects) == sorted(transition.effects)
        return True


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
def test_random_walks_only_move_along_declared_edges(
    make: Factory, cast: dict[str, Any], steps: list[Step]
) -> None:
    clock.freeze(START)
    walk = Walk(make, cast)  # fresh rows for every example
    for step in steps:
        if APPLICATION.state(walk.application.state).final and step.any_trigger:
            clock.freeze(START)
            walk = Walk(make, cast)  # an application at its end: carry on with a new one
        if step.event is not None:
            walk.happen(step.event)
        walk.fire(*walk.choose(step), step.comment)
        assert walk.application.state in APPLICATION.state_names
