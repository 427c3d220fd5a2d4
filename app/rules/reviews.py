"""How many reviews an application has, and how many are in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from app.extensions import db
from app.models.application import Application
from app.models.review import ACTIVE_REVIEW_STATES, Review


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
