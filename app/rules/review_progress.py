"""How far a round's reviews are: counts per application and per reviewer, grouped in SQL, and
each reviewer's load across rounds. A fixed number of queries, whatever the round's size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select

from app.extensions import db
from app.models.application import Application
from app.models.review import ACTIVE_REVIEW_STATES, Conflict, Review
from app.models.round import Round
from app.models.user import User
from app.states import ReviewState

OPEN_STATES = ReviewState.tagged("open")


@dataclass(frozen=True)
class ProgressCounts:
    assigned: int  # active reviews: assigned, in progress or submitted (recused ones not counted)
    submitted: int
    overdue: int
    recused: int = 0

    @property
    def outstanding(self) -> int:
        return self.assigned - self.submitted

    @property
    def percent_submitted(self) -> int:
        return round(100 * self.submitted / self.assigned) if self.assigned else 0


@dataclass(frozen=True)
class ReviewerProgress:
    reviewer_id: int
    name: str
    email: str
    counts: ProgressCounts


@dataclass(frozen=True)
class ApplicationProgress:
    application_id: int
    reference: str | None
    title: str
    state: str
    counts: ProgressCounts


@dataclass(frozen=True)
class RoundProgress:
    totals: ProgressCounts
    reviewers: list[ReviewerProgress]
    applications: list[ApplicationProgress]
    application_total: int  # applications with at least one review, for paging


def _count_columns(now: datetime) -> list[object]:
    active = Review.state.in_(ACTIVE_REVIEW_STATES)
    return [
        func.coalesce(func.sum(case((active, 1), else_=0)), 0),
        func.coalesce(func.sum(case((Review.state == "submitted", 1), else_=0)), 0),
        func.coalesce(
            func.sum(
                case(
                    (and_(Review.state.in_(OPEN_STATES), Review.due_at < now), 1),
                    else_=0,
                )
            ),
            0,
        ),
        func.coalesce(func.sum(case((Review.state == "recused", 1), else_=0)), 0),
    ]


def _counts(row: tuple[object, ...]) -> ProgressCounts:
    assigned, submitted, overdue, recused = (int(x or 0) for x in row)  # type: ignore[call-overload]
    return ProgressCounts(assigned, submitted, overdue, recused)


def round_progress(rnd: Round, now: datetime, page: int = 1, per_page: int = 50) -> RoundProgress:
    """Reviews assigned, submitted and overdue: for the round, per reviewer, per application.

    Four grouped queries; the per-application list is paged (applications with the most
    outstanding reviews first)."""
    in_round = Review.application_id.in_(
        select(Application.id).where(Application.round_id == rnd.id).scalar_subquery()
    )
    columns = _count_columns(now)
    totals_row = db.session.execute(
        select(*columns, func.count(func.distinct(Review.application_id))).where(in_round)
    ).one()
    totals = _counts(tuple(totals_row)[:4])
    application_total = int(totals_row[4] or 0)
    reviewers = [
        ReviewerProgress(rid, name or email, email, _counts(tuple(row)))
        for rid, name, email, *row in db.session.execute(
            select(User.id, User.name, User.email, *columns)
            .join(Review, Review.reviewer_id == User.id)
            .where(in_round)
            .group_by(User.id, User.name, User.email)
            .order_by(User.name, User.email)
        )
    ]
    outstanding = columns[0] - columns[1]  # type: ignore[operator]
    applications = [
        ApplicationProgress(aid, reference, title or "Untitled application", state, _counts(row))
        for aid, reference, title, state, *row in db.session.execute(
            select(Application.id, Application.reference, Application.title, Application.state)
            .add_columns(*columns)
            .join(Review, Review.application_id == Application.id)
            .where(Application.round_id == rnd.id)
            .group_by(Application.id, Application.reference, Application.title, Application.state)
            .order_by(outstanding.desc(), Application.reference, Application.id)
            .limit(per_page)
            .offset((max(page, 1) - 1) * per_page)
        )
    ]
    return RoundProgress(totals, reviewers, applications, application_total)


@dataclass(frozen=True)
class ReviewerLoad:
    open: int
    submitted: int
    conflicts: int


def reviewer_loads(reviewer_ids: list[int]) -> dict[int, ReviewerLoad]:
    """Open and submitted reviews and recorded conflicts of each reviewer, in two queries."""
    if not reviewer_ids:
        return {}
    reviews = {
        rid: (int(open_ or 0), int(submitted or 0))
        for rid, open_, submitted in db.session.execute(
            select(
                Review.reviewer_id,
                func.sum(case((Review.state.in_(OPEN_STATES), 1), else_=0)),
                func.sum(case((Review.state == "submitted", 1), else_=0)),
            )
            .where(Review.reviewer_id.in_(reviewer_ids))
            .group_by(Review.reviewer_id)
        )
    }
    conflicts = dict(
        db.session.execute(
            select(Conflict.reviewer_id, func.count(Conflict.id))
            .where(Conflict.reviewer_id.in_(reviewer_ids))
            .group_by(Conflict.reviewer_id)
        ).all()
    )
    return {
        rid: ReviewerLoad(*reviews.get(rid, (0, 0)), int(conflicts.get(rid, 0)))
        for rid in reviewer_ids
    }
