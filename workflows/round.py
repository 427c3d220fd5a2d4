"""The round lifecycle: draft → open → closed → reviewing → decided → archived."""

from __future__ import annotations

from typing import Any

from app.models.round import Round
from app.rules.rounds import budget_problems, date_problems, undecided_count
from app.rules.rubrics import rubric_problems
from app.states import RoundState
from workflows.engine import FireContext, Lifecycle, Transition


def dates_valid(rnd: Any, ctx: FireContext) -> str | None:
    problems = date_problems(rnd, ctx.now)
    return "; ".join(problems) or None


def budget_valid(rnd: Any, ctx: FireContext) -> str | None:
    return "; ".join(budget_problems(rnd)) or None


def rubric_valid(rnd: Any, ctx: FireContext) -> str | None:
    return "; ".join(rubric_problems(rnd)) or None


def every_scored_application_decided(rnd: Any, ctx: FireContext) -> str | None:
    n = undecided_count(rnd)
    return f"{n} scored application(s) still need a decision" if n else None


def _officers(*extra: str) -> frozenset[str]:
    return frozenset({"officer", *extra})


LIFECYCLE = Lifecycle(
    name="round",
    model=lambda: Round,
    states=RoundState,
    module=__name__,
    initial=RoundState.draft,
    transitions=(
        Transition(
            "open",
            "Open the round",
            (RoundState.draft,),
            RoundState.open,
            _officers(),
            guards=("dates_valid", "budget_valid", "rubric_valid"),
        ),
        Transition(
            "close", "Close the round", (RoundState.open,), RoundState.closed, _officers("system")
        ),
        Transition(
            "start_review", "Start review", (RoundState.closed,), RoundState.reviewing, _officers()
        ),
        Transition(
            "finalize",
            "Finalize decisions",
            (RoundState.reviewing,),
            RoundState.decided,
            _officers(),
            guards=("every_scored_application_decided",),
        ),
        Transition(
            "archive",
            "Archive",
            (RoundState.decided,),
            RoundState.archived,
            _officers("admin"),
            style="secondary",
        ),
    ),
)
