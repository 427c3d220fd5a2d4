"""The review lifecycle: assigned → in_progress → submitted, recused on a conflict."""

from __future__ import annotations

from typing import Any

from app.models.review import Review
from app.rules.reviews import review_problems
from app.states import ApplicationState, ReviewState
from workflows.engine import FireContext, Lifecycle, Transition


def relation_to_review(review: Any, actor: Any) -> set[str]:
    """A reviewer acts only on its own reviews; officers on all."""
    if actor.role == "reviewer":
        return {"reviewer"} if review.is_assigned_to(actor) else set()
    return {actor.role}


def declarations_made(review: Any, ctx: FireContext) -> str | None:
    missing = []
    if review.no_conflict_declared_at is None:
        missing.append("declare that you have no conflict of interest")
    if review.confidentiality_accepted_at is None:
        missing.append("accept the confidentiality agreement")
    return ("first " + " and ".join(missing)) if missing else None


def review_complete(review: Any, ctx: FireContext) -> str | None:
    problems = review_problems(review)
    return ("incomplete: " + "; ".join(problems)) if problems else None


def application_undecided(review: Any, ctx: FireContext) -> str | None:
    if review.application.state not in ApplicationState.tagged("reviews_reopenable"):
        return f"the application is {review.application.state_title.lower()}"
    return None


def stamp_submitted(review: Any, ctx: FireContext) -> None:
    review.submitted_at = ctx.now


LIFECYCLE = Lifecycle(
    name="review",
    model=lambda: Review,
    states=ReviewState,
    module=__name__,
    initial=ReviewState.assigned,
    relation=relation_to_review,
    transitions=(
        Transition(
            "start",
            "Start the review",
            (ReviewState.assigned,),
            ReviewState.in_progress,
            frozenset({"reviewer"}),
            guards=("declarations_made",),
        ),
        Transition(
            "submit",
            "Submit the review",
            (ReviewState.assigned, ReviewState.in_progress),
            ReviewState.submitted,
            frozenset({"reviewer"}),
            guards=("declarations_made", "review_complete"),
            actions=("stamp_submitted",),
            effects=("complete_application_review",),
        ),
        Transition(
            "recuse",
            "Recuse (conflict of interest)",
            (ReviewState.assigned, ReviewState.in_progress),
            ReviewState.recused,
            frozenset({"reviewer", "officer"}),
            effects=("notify_recusal",),
            style="danger",
            asks_comment=True,
        ),
        Transition(
            "reopen",
            "Reopen the review",
            (ReviewState.submitted,),
            ReviewState.in_progress,
            frozenset({"officer"}),
            guards=("application_undecided",),
            style="secondary",
            asks_comment=True,
        ),
    ),
)
