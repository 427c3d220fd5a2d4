"""Putting reviewers on applications: the automatic proposal, its confirmation, and by hand."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.countries import region_of
from app.extensions import db
from app.models.application import Application
from app.models.review import ACTIVE_REVIEW_STATES, Review, ReviewerProfile
from app.models.round import Round
from app.models.user import User
from app.services.assignment import (
    ApplicationItem,
    AssignmentInfeasible,
    AssignmentResult,
    Reviewer,
    assign,
    match_score,
)
from app.services.conflicts import conflicted_pairs
from app.states import ApplicationState, ReviewState
from workflows import SYSTEM, fire

ASSIGNABLE_STATES = ApplicationState.tagged("assignable")


class AssignmentRefused(ValueError):
    pass


def assignable_applications(rnd: Round) -> list[Application]:
    return list(
        db.session.scalars(
            select(Application)
            .where(Application.round_id == rnd.id, Application.state.in_(ASSIGNABLE_STATES))
            .options(selectinload(Application.priority_area_rows))
            .order_by(Application.id)
        )
    )


def reviewer_pool() -> list[tuple[User, ReviewerProfile | None]]:
    # Rows unpack as tuples (Result.tuples() is deprecated in SQLAlchemy 2.1).
    return [
        (user, profile)
        for user, profile in db.session.execute(
            select(User, ReviewerProfile)
            .outerjoin(ReviewerProfile, ReviewerProfile.user_id == User.id)
            .where(User.role == "reviewer", User.is_active_account.is_(True))
            .order_by(User.id)
        )
    ]


def _item(application: Application) -> ApplicationItem:
    regions = {region_of(c) for c in application.partner_countries or []}
    return ApplicationItem(
        application.id,
        frozenset(application.priority_areas),
        frozenset(r for r in regions if r),
    )


def _reviewer(user: User, profile: ReviewerProfile | None) -> Reviewer:
    if profile is None:
        return Reviewer(user.id)
    return Reviewer(user.id, frozenset(profile.priority_areas), frozenset(profile.regions))


@dataclass(frozen=True)
class Proposal:
    result: AssignmentResult
    applications: dict[int, Application]
    reviewers: dict[int, User]
    fingerprint: str

    @property
    def new_pairs(self) -> list[tuple[int, int]]:
        return self.result.new_pairs


def existing_pairs(rnd: Round) -> set[tuple[int, int]]:
    return {
        (reviewer_id, application_id)
        for reviewer_id, application_id in db.session.execute(
            select(Review.reviewer_id, Review.application_id)
            .join(Application, Review.application_id == Application.id)
            .where(Application.round_id == rnd.id, Review.state.in_(ACTIVE_REVIEW_STATES))
        )
    }


def propose(rnd: Round, min_load: int, max_load: int | None) -> Proposal:
    """Solve the round's assignment; raises AssignmentInfeasible with the numbers at fault."""
    applications = assignable_applications(rnd)
    pool = reviewer_pool()
    if not applications:
        raise AssignmentInfeasible("no application of this round is eligible for review", {})
    if not pool:
        raise AssignmentInfeasible("there is no active reviewer", {})
    reviewers = [_reviewer(u, p) for u, p in pool]
    conflicts = conflicted_pairs([u.id for u, _ in pool], applications)
    existing = existing_pairs(rnd)
    result = assign(
        [_item(a) for a in applications],
        reviewers,
        rnd.reviewers_per_application,
        min_load=min_load,
        max_load=max_load,
        conflicts=conflicts,
        existing=existing,
    )
    fingerprint = hashlib.sha256(repr(sorted(result.new_pairs)).encode()).hexdigest()[:16]
    return Proposal(
        result, {a.id: a for a in applications}, {u.id: u for u, _ in pool}, fingerprint
    )


def confirm(rnd: Round, proposal: Proposal, due_at: datetime | None) -> int:
    """Create the proposed reviews and start review of every application that now has one."""
    for reviewer_id, application_id in proposal.new_pairs:
        db.session.add(
            Review(application_id=application_id, reviewer_id=reviewer_id, due_at=due_at)
        )
    db.session.flush()
    for application in proposal.applications.values():
        if application.state == "eligible":
            fire(application, "start_review", SYSTEM, comment="reviewers assigned")
    return len(proposal.new_pairs)


def add_reviewer(application: Application, reviewer: User, due_at: datetime | None) -> Review:
    if reviewer.role != "reviewer":
        raise AssignmentRefused("only a reviewer can be assigned")
    if application.state not in ASSIGNABLE_STATES:
        raise AssignmentRefused(f"the application is {application.state_title.lower()}")
    if (reviewer.id, application.id) in conflicted_pairs([reviewer.id], [application]):
        raise AssignmentRefused(f"{reviewer.display_name} has a conflict with this application")
    existing = db.session.scalar(
        select(Review).where(
            Review.application_id == application.id, Review.reviewer_id == reviewer.id
        )
    )
    if existing is not None:
        raise AssignmentRefused(f"{reviewer.display_name} is already on this application")
    review = Review(application_id=application.id, reviewer_id=reviewer.id, due_at=due_at)
    db.session.add(review)
    db.session.flush()
    if application.state == "eligible":
        fire(application, "start_review", SYSTEM, comment="reviewer assigned")
    return review


def remove_reviewer(review: Review) -> None:
    """Take a reviewer off before any work is recorded; afterwards, recuse instead."""
    if review.state != "assigned" or review.criterion_scores or review.overall_score:
        raise AssignmentRefused("the review has started: recuse the reviewer instead")
    db.session.delete(review)
    db.session.flush()


def swap_reviewer(review: Review, replacement: User, due_at: datetime | None) -> Review:
    application = review.application
    remove_reviewer(review)
    return add_reviewer(application, replacement, due_at or review.due_at)


def set_due_date(rnd: Round, due_at: datetime) -> int:
    reviews = db.session.scalars(
        select(Review)
        .join(Application, Review.application_id == Application.id)
        .where(Application.round_id == rnd.id, Review.state.in_(ReviewState.tagged("open")))
    ).all()
    for review in reviews:
        review.due_at = due_at
    db.session.flush()
    return len(reviews)


def pair_score(user: User, profile: ReviewerProfile | None, application: Application) -> int:
    return match_score(_reviewer(user, profile), _item(application))


# ---------------------------------------------------------------------------------------------
# What the officer's pages read about reviewers on applications


def reviewer_by_id(raw: str | None) -> User | None:
    """The reviewer account a form names by its id, or None (not a number, not a reviewer)."""
    user = db.session.get(User, int(raw)) if (raw or "").isdigit() else None
    return user if user is not None and user.role == "reviewer" else None


def application_reviews(application: Application) -> list[tuple[Review, User]]:
    """The application's reviews with their reviewers, in the order they were assigned."""
    return [
        (review, user)
        for review, user in db.session.execute(
            select(Review, User)
            .join(User, Review.reviewer_id == User.id)
            .where(Review.application_id == application.id)
            .order_by(Review.assigned_at, Review.id)
        )
    ]


def candidates(application: Application, reviews: list[tuple[Review, User]]) -> list[User]:
    """Active reviewers not on the application and without a conflict with it."""
    pool = db.session.scalars(
        select(User)
        .where(User.role == "reviewer", User.is_active_account.is_(True))
        .order_by(User.id)
    ).all()
    taken = {user.id for _, user in reviews}
    conflicted = conflicted_pairs([u.id for u in pool], [application])
    return [u for u in pool if u.id not in taken and (u.id, application.id) not in conflicted]


def shared_due_date(application: Application) -> datetime | None:
    """The due date the application's other open reviews share, so a late addition matches."""
    return db.session.scalar(
        select(func.max(Review.due_at)).where(
            Review.application_id == application.id,
            Review.state.in_(ReviewState.tagged("active")),
        )
    )


def pool_size() -> int:
    """How many active reviewer accounts there are."""
    return (
        db.session.scalar(
            select(func.count(User.id)).where(
                User.role == "reviewer", User.is_active_account.is_(True)
            )
        )
        or 0
    )
