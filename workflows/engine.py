"""The one engine that moves every lifecycle.

A lifecycle is declared as data (its states from `app/states.py`, transitions, roles, guard,
action and effect names); the engine binds it to its model through the `transitions` library, checks
role and guards, writes the audit event and the outbox rows for the effects, all inside the caller's
database transaction. Nothing else in the code assigns a state.

Guards and actions are named, and looked up by name in the declaring module each time they run, so
replacing one (`monkeypatch.setattr(workflows.application, "award_fits", ...)`) takes effect at
once and is undone with it; effects are names of registered jobs, looked up when the job runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol

from sqlalchemy import select
from transitions import EventData, Machine
from transitions import State as MachineState
from transitions.extensions import GraphMachine

from app.clock import utcnow
from app.domain import ROLES, SYSTEM_ROLE
from app.extensions import db
from app.models.audit import AuditEvent
from app.outbox import enqueue_effect
from app.states import LifecycleState


class Actor(Protocol):
    id: int
    role: str
    email: str


class SystemActor:
    """A job or a clock. It skips the role check, never the guards."""

    id = None
    role = SYSTEM_ROLE
    email = "system"
    organization_id = None
    is_authenticated = False

    def __repr__(self) -> str:
        return "<system>"


SYSTEM = SystemActor()


@dataclass(frozen=True)
class Transition:
    trigger: str
    title: str
    sources: tuple[str, ...]
    dest: str
    roles: frozenset[str]
    guards: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()  # in-transaction changes made after the state moves
    effects: tuple[str, ...] = ()  # jobs run after the commit
    style: str = "primary"  # how the UI draws its button: primary, secondary, danger
    asks_comment: bool = False  # the UI shows a comment box with the button

    def __post_init__(self) -> None:
        # Declarations name states by their enum members; the machine and the audit keep plain text.
        object.__setattr__(self, "sources", tuple(str(s) for s in self.sources))
        object.__setattr__(self, "dest", str(self.dest))


@dataclass
class FireContext:
    """What a guard or action may look at: who fires, why, with what data, and when."""

    actor: Any
    comment: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    now: datetime = field(default_factory=utcnow)


Guard = Callable[[Any, FireContext], str | None]
Action = Callable[[Any, FireContext], None]
RelationFn = Callable[[Any, Any], set[str]]


class _TitledState(MachineState):
    def __init__(self, name: str, label: str | None = None, **kwargs: Any):
        super().__init__(name, **kwargs)
        self.label = label or name


class _TitledGraphMachine(GraphMachine):
    """Draws each state with its human title."""

    state_cls = _TitledState


class TransitionRefused(Exception):
    """A transition cannot fire; `reasons` say why, in words for the person who asked."""

    def __init__(self, trigger: str, reasons: list[str]):
        self.trigger = trigger
        self.reasons = reasons
        super().__init__(f"{trigger} refused: " + "; ".join(reasons))


@dataclass(frozen=True)
class Option:
    transition: Transition
    allowed: bool
    reasons: tuple[str, ...]
    role_refused: bool


class ByName(Mapping[str, Callable[..., Any]]):
    """The functions of a module that a declaration names, looked up each time one is asked for."""

    def __init__(self, module: str, names: Iterable[str]):
        self.module = module
        self.names = tuple(dict.fromkeys(names))

    def __getitem__(self, name: str) -> Callable[..., Any]:
        if name not in self.names:
            raise KeyError(name)
        return getattr(importlib.import_module(self.module), name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)


@dataclass
class Lifecycle:
    name: str
    model: Callable[[], type]
    states: type[LifecycleState]
    initial: str
    transitions: tuple[Transition, ...]
    # The module whose functions the transitions' guards and actions name (usually the
    # declaring module's __name__); each is looked up there when it runs.
    module: str
    # The roles an actor holds on one entity: "applicant" only for its own organization's rows.
    relation: RelationFn = lambda entity, actor: {actor.role}
    state_attribute: str = "state"

    def __post_init__(self) -> None:
        self.initial = str(self.initial)
        for kind, named in (("guard", self.guards), ("action", self.actions)):
            for name in named:
                if not callable(getattr(importlib.import_module(self.module), name, None)):
                    raise LookupError(
                        f"{self.name}: {kind} {name!r} is not a function in {self.module}"
                    )

    @cached_property
    def guards(self) -> Mapping[str, Guard]:
        return ByName(self.module, (g for t in self.transitions for g in t.guards))

    @cached_property
    def actions(self) -> Mapping[str, Action]:
        return ByName(self.module, (a for t in self.transitions for a in t.actions))

    @property
    def state_names(self) -> tuple[str, ...]:
        return self.states.names()

    def state(self, name: str) -> LifecycleState:
        try:
            return self.states(name)
        except ValueError:
            raise KeyError(f"{self.name} has no state {name!r}") from None

    def title_of(self, name: str) -> str:
        return self.state(name).title

    def transition(self, trigger: str) -> Transition:
        for t in self.transitions:
            if t.trigger == trigger:
                return t
        raise KeyError(f"{self.name} has no transition {trigger!r}")

    def _machine_kwargs(self) -> dict[str, Any]:
        return dict(
            model=None,
            states=list(self.state_names),
            initial=self.initial,
            auto_transitions=False,
            model_attribute=self.state_attribute,
            send_event=True,
        )

    @cached_property
    def machine(self) -> Machine:
        machine = Machine(**self._machine_kwargs())
        for t in self.transitions:
            machine.add_transition(
                t.trigger,
                list(t.sources),
                t.dest,
                conditions=[self._condition(name) for name in t.guards],
                after=[self._action(name) for name in t.actions],
            )
        return machine

    # The machine is built once; its callbacks look the guard or action up by name when they run.
    def _condition(self, name: str) -> Callable[[EventData], bool]:
        return lambda event: self.guards[name](event.model, event.kwargs["ctx"]) is None

    def _action(self, name: str) -> Callable[[EventData], None]:
        return lambda event: self.actions[name](event.model, event.kwargs["ctx"])

    def mermaid(self) -> str:
        """The lifecycle as a Mermaid state diagram, drawn by `transitions` from the declaration."""

        class Drawing:
            pass

        kwargs = self._machine_kwargs()
        kwargs["states"] = [{"name": s.name, "label": s.title} for s in self.states]
        graph = _TitledGraphMachine(
            **{**kwargs, "model": Drawing()},
            transitions=[
                {"trigger": t.trigger, "source": list(t.sources), "dest": t.dest}
                for t in self.transitions
            ],
            graph_engine="mermaid",
            title=f"{self.name} lifecycle",
        )
        return graph.get_graph().draw(None)


FollowUp = Callable[[Any, FireContext], None]
_FOLLOW_UPS: dict[tuple[str, str], dict[str, FollowUp]] = {}


def follows(lifecycle: str, trigger: str) -> Callable[[FollowUp], FollowUp]:
    """Register what a service does to other rows once `trigger` has moved a `lifecycle` row.

    An action changes only the row that moves; a change to other rows (the award an approval
    creates, the conflict a recusal records, the version a submission freezes) belongs to the
    service that owns those rows. The service registers it here, so the declarations never
    import services: `fire` runs it after the state moved, in the same transaction, before the
    audit event is written.
    """

    def register(fn: FollowUp) -> FollowUp:
        _FOLLOW_UPS.setdefault((lifecycle, trigger), {})[f"{fn.__module__}.{fn.__qualname__}"] = fn
        return fn

    return register


def follow_ups(lifecycle: str, trigger: str) -> tuple[FollowUp, ...]:
    return tuple(_FOLLOW_UPS.get((lifecycle, trigger), {}).values())


def registered_follow_ups() -> dict[tuple[str, str], tuple[str, ...]]:
    """Every (lifecycle, trigger) a service follows, with the functions' names."""
    return {key: tuple(fns) for key, fns in _FOLLOW_UPS.items()}


def roles_refusal(lifecycle: Lifecycle, t: Transition, entity: Any, actor: Any) -> str | None:
    if actor.role == SYSTEM_ROLE:
        return None
    held = lifecycle.relation(entity, actor)
    if held & t.roles:
        return None
    allowed = [ROLES.get(r, r).lower() for r in sorted(t.roles) if r != SYSTEM_ROLE]
    if actor.role in t.roles:
        return f"only the {' or '.join(allowed)} responsible for this record may do this"
    if not allowed:
        return "only the system does this"
    article = "an" if allowed[0][0] in "aeiou" else "a"
    return f"only {article} {' or '.join(allowed)} may do this"


def available(
    lifecycle: Lifecycle, entity: Any, actor: Any, ctx: FireContext | None = None
) -> list[Option]:
    """Every transition out of the entity's state: allowed or not, and every reason why not."""
    ctx = ctx or FireContext(actor=actor)
    current = getattr(entity, lifecycle.state_attribute)
    options = []
    for t in lifecycle.transitions:
        if current not in t.sources:
            continue
        reasons: list[str] = []
        role_reason = roles_refusal(lifecycle, t, entity, actor)
        if role_reason:
            reasons.append(role_reason)
        for name in t.guards:
            reason = lifecycle.guards[name](entity, ctx)
            if reason:
                reasons.append(reason)
        options.append(Option(t, not reasons, tuple(reasons), role_reason is not None))
    return options


def fire(
    lifecycle: Lifecycle,
    entity: Any,
    trigger: str,
    actor: Any,
    comment: str | None = None,
    data: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> Any:
    """Fire `trigger` on `entity` as `actor` in the current transaction; returns the audit event.

    Locks the row (FOR UPDATE where the database has it), re-checks the role and every guard,
    moves the state through `transitions`, runs the in-transaction actions (the moving row only)
    and the services' follow-ups (other rows, see `follows`), writes the audit event and one outbox
    row per effect, and flushes. The caller commits.
    """
    model = lifecycle.model()
    if db.session.get_bind().dialect.name == "postgresql" and entity.id is not None:
        # Reading the locked row refreshes the entity, so role and guards see what was committed.
        db.session.execute(
            select(model)
            .where(model.id == entity.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one()
    comment = (comment or "").strip() or None
    ctx = FireContext(actor=actor, comment=comment, data=data or {}, now=now or utcnow())
    try:
        t = lifecycle.transition(trigger)
    except KeyError:
        raise TransitionRefused(trigger, [f"{lifecycle.name} has no action “{trigger}”"]) from None
    source = getattr(entity, lifecycle.state_attribute)
    if source not in t.sources:
        raise TransitionRefused(
            trigger,
            [f"not possible while the {lifecycle.name} is {lifecycle.title_of(source).lower()}"],
        )
    refused = [o for o in available(lifecycle, entity, actor, ctx) if o.transition is t]
    if refused and not refused[0].allowed:
        raise TransitionRefused(trigger, list(refused[0].reasons))
    # The new state, the actions' changes and what the services do after it reach the database
    # together, in one flush.
    with db.session.no_autoflush:
        moved = lifecycle.machine.events[trigger].trigger(entity, ctx=ctx)
        if not moved:
            # A guard said yes a moment ago and no now (another request committed in between,
            # as SQLite lets a reader see): ask again, so the person reads the reason itself.
            again = [o for o in available(lifecycle, entity, actor, ctx) if o.transition is t]
            reasons = list(again[0].reasons) if again and again[0].reasons else []
            raise TransitionRefused(
                trigger, reasons or ["a condition changed while this was being done"]
            )
        for follow_up in follow_ups(lifecycle.name, trigger):
            follow_up(entity, ctx)
    event = AuditEvent(
        entity_type=lifecycle.name,
        entity_id=entity.id,
        trigger=trigger,
        from_state=source,
        to_state=getattr(entity, lifecycle.state_attribute),
        actor_id=actor.id,
        actor_label=actor.email,
        actor_role=actor.role,
        comment=comment,
        created_at=ctx.now,
    )
    db.session.add(event)
    db.session.flush()
    for effect in t.effects:
        enqueue_effect(effect, lifecycle.name, entity.id, audit_event_id=event.id)
    return event
