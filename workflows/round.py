"""The round lifecycle: draft → open → closed → reviewing → decided → archived."""

from __future__ import annotations

from typing import Any

from workflows.engine import FireContext, Lifecycle, State, Transition

STATES = (
    State("draft", "Draft"),
    State("open", "Open for applications"),
    State("closed", "Closed"),
    State("reviewing", "In review"),
    State("decided", "Decided"),
    State("archived", "Archived", final=True),
)
STATE_NAMES = tuple(s.name for s in STATES)


def dates_valid(rnd: Any, ctx: FireContext) -> str | None:
    from app.rules.rounds import date_problems

    problems = date_problems(rnd, ctx.now)
    return "; ".join(problems) or None


def budget_valid(rnd: Any, ctx: FireContext) -> str | None:
    from app.rules.rounds import budget_problems

    return "; ".join(budget_problems(rnd)) or None


def rubric_valid(rnd: Any, ctx: FireContext) -> str | None:
    from app.services.rubrics import rubric_problems

    return "; ".join(rubric_problems(rnd)) or None


def every_scored_application_decided(rnd: Any, ctx: FireContext) -> str | None:
    from app.rules.rounds import undecided_count

    n = undecided_count(rnd)
    return f"{n} scored application(s) still need a decision" if n else None


def _officers(*extra: str) -> frozenset[str]:
    return frozenset({"officer", *extra})


LIFECYCLE = Lifecycle(
    name="round",
    model=lambda: __import__("app.models.round", fromlist=["Round"]).Round,
    states=STATES,
    initial="draft",
    guards={
        "dates_valid": dates_valid,
        "budget_valid": budget_valid,
        "rubric_valid": rubric_valid,
        "every_scored_application_decided": every_scored_application_decided,
    },
    transitions=(
        Transition(
            "open",
            "Open the round",
            ("draft",),
            "open",
            _officers(),
            guards=("dates_valid", "budget_valid", "rubric_valid"),
        ),
        Transition("close", "Close the round", ("open",), "closed", _officers("system")),
        Transition("start_review", "Start review", ("closed",), "reviewing", _officers()),
        Transition(
            "finalize",
            "Finalize decisions",
            ("reviewing",),
            "decided",
            _officers(),
            guards=("every_scored_application_decided",),
        ),
        Transition(
            "archive", "Archive", ("decided",), "archived", _officers("admin"), style="secondary"
        ),
    ),
)
