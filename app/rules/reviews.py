"""How many reviews an application has and how many are in, and what a review still needs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from app.criteria import NIH_SCALE, kind_of
from app.extensions import db
from app.models.application import Application
from app.models.review import ACTIVE_REVIEW_STATES, Review
from app.models.round import RubricCriterion


@dataclass(frozen=True)
class ReviewCounts:
    active: int
    submitted: int


def review_counts(application: Application) -> ReviewCounts:
    active, submitted = db.session.execute(
        select(
            func.count(Review.id),
            func.coalesce(func.sum(case((Review.state == "submitted", 1), else_=0)), 0),
        ).where(Review.application_id == application.id, Review.state.in_(ACTIVE_REVIEW_STATES))
    ).one()
    return ReviewCounts(active=int(active), submitted=int(submitted))


def active_review_count(application: Application) -> int:
    return review_counts(application).active


CONFIDENCE: dict[int, str] = {1: "Low", 2: "Medium", 3: "High"}


def review_field_problems(review: Review) -> list[tuple[str, str]]:
    """What a review still needs before it can be submitted, each with the field it is about."""
    criteria: list[RubricCriterion] = review.application.round.criteria
    scores = review.criterion_scores or {}
    problems: list[tuple[str, str]] = []
    for c in criteria:
        kind = kind_of(c)
        for part, message in kind.problems(c, scores.get(str(c.id)) or {}):
            problems.append((kind.field_name(c, part), message))
    if review.overall_score not in NIH_SCALE:
        problems.append(("overall_score", "give the overall impact score"))
    if review.confidence not in CONFIDENCE:
        problems.append(("confidence", "give your confidence"))
    return problems


def review_problems(review: Review) -> list[str]:
    """What a review still needs before it can be submitted."""
    return [message for _, message in review_field_problems(review)]
