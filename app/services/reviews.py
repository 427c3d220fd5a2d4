"""Reviews: who may see what, the reviewer's queue, drafts, completeness and reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select

from app.extensions import db
from app.models.application import Application
from app.models.review import ACTIVE_REVIEW_STATES, Review
from app.models.round import Round, RubricCriterion
from app.models.user import Organization, User
from app.services.rounds import StaleEdit

NIH_SCALE: dict[int, str] = {
    1: "Exceptional",
    2: "Outstanding",
    3: "Excellent",
    4: "Very good",
    5: "Good",
    6: "Satisfactory",
    7: "Fair",
    8: "Marginal",
    9: "Poor",
}
CONFIDENCE: dict[int, str] = {1: "Low", 2: "Medium", 3: "High"}
REMIND_DAYS_BEFORE = 3


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


def reviewer_review(reviewer: User, application_id: int) -> Review | None:
    """The reviewer's own active review of an application, or None: then it sees nothing of it.

    Recused reviews and conflicted pairs give None, so a conflicted reviewer gets a 404.
    """
    from app.services.conflicts import is_conflicted

    review = db.session.scalar(
        select(Review).where(
            Review.application_id == application_id,
            Review.reviewer_id == reviewer.id,
            Review.state.in_(ACTIVE_REVIEW_STATES),
        )
    )
    if review is None or is_conflicted(reviewer, review.application):
        return None
    return review


def review_problems(review: Review) -> list[str]:
    """What a review still needs before it can be submitted."""
    criteria: list[RubricCriterion] = review.application.round.criteria
    scores = review.criterion_scores or {}
    problems = []
    for c in criteria:
        entry = scores.get(str(c.id)) or {}
        if c.kind == "scored":
            if c.required and entry.get("score") not in NIH_SCALE:
                problems.append(f"score “{c.title}”")
        else:
            if c.required and entry.get("sufficient") not in (True, False):
                problems.append(f"judge “{c.title}” sufficient or not")
            elif (
                entry.get("sufficient") is not None and not (entry.get("explanation") or "").strip()
            ):
                problems.append(f"explain your judgement of “{c.title}”")
    if review.overall_score not in NIH_SCALE:
        problems.append("give the overall impact score")
    if review.confidence not in CONFIDENCE:
        problems.append("give your confidence")
    return problems


def save_draft(review: Review, values: dict[str, Any], expected_version: int) -> None:
    """Store the reviewer's scores and comments, however incomplete."""
    if review.state not in ("assigned", "in_progress"):
        raise PermissionError("a submitted review is read-only until an officer reopens it")
    if review.version != expected_version:
        raise StaleEdit()
    review.criterion_scores = dict(values.get("criterion_scores") or {})
    review.overall_score = values.get("overall_score")
    review.confidence = values.get("confidence")
    for key in ("strengths", "weaknesses", "staff_comments"):
        setattr(review, key, (values.get(key) or "").strip())
    db.session.flush()


def declare(review: Review, no_conflict: bool, confidentiality: bool, now: datetime) -> None:
    if no_conflict and review.no_conflict_declared_at is None:
        review.no_conflict_declared_at = now
    if confidentiality and review.confidentiality_accepted_at is None:
        review.confidentiality_accepted_at = now
    db.session.flush()


def reopen_scored_application(review: Review, ctx: Any) -> None:
    """Reopening a review of a scored application puts the application back in review."""
    from workflows import SYSTEM, fire

    if review.application.state == "scored":
        fire(review.application, "reopen_review", SYSTEM, comment="a review was reopened")


def complete_if_all_in(application: Application) -> bool:
    """The system closes review when every active review is submitted."""
    from workflows import SYSTEM, fire

    counts = review_counts(application)
    if application.state == "in_review" and counts.active and counts.submitted == counts.active:
        fire(application, "complete_review", SYSTEM, comment="all assigned reviews are in")
        return True
    return False


@dataclass(frozen=True)
class QueueRow:
    review: Review
    application: Application
    round: Round
    organization_name: str | None  # None in a blind round


QUEUE_SORTS = {
    "due": (Review.due_at.is_(None), Review.due_at, Review.id),
    "state": (Review.state, Review.due_at, Review.id),
    "assigned": (Review.assigned_at.desc(), Review.id),
}


def reviewer_queue(reviewer: User, sort: str = "due") -> list[QueueRow]:
    """One query: the reviewer's active reviews with their application and round."""
    order = QUEUE_SORTS.get(sort, QUEUE_SORTS["due"])
    rows = db.session.execute(
        select(Review, Application, Round, Organization.legal_name)
        .join(Application, Review.application_id == Application.id)
        .join(Round, Application.round_id == Round.id)
        .join(Organization, Application.organization_id == Organization.id)
        .where(Review.reviewer_id == reviewer.id, Review.state.in_(ACTIVE_REVIEW_STATES))
        .order_by(*order)
    ).all()
    return [
        QueueRow(review, application, rnd, None if rnd.blind_review else org_name)
        for review, application, rnd, org_name in rows
    ]


def reviews_due_for_reminder(now: datetime) -> list[tuple[Review, str]]:
    """Open reviews due within REMIND_DAYS_BEFORE days ('before') or due or overdue ('due')."""
    soon = now + timedelta(days=REMIND_DAYS_BEFORE)
    rows = db.session.scalars(
        select(Review).where(
            Review.state.in_(("assigned", "in_progress")),
            Review.due_at.is_not(None),
            Review.due_at <= soon,
        )
    ).all()
    out = []
    for review in rows:
        assert review.due_at is not None
        out.append((review, "due" if review.due_at.date() <= now.date() else "before"))
    return out


def send_reminders(now: datetime) -> int:
    """Email reminders; each (review, kind) is sent once however often this runs."""
    from app.services.mail import email_sent, send_email

    sent = 0
    for review, kind in reviews_due_for_reminder(now):
        key = f"review-reminder:{review.id}:{kind}:{review.due_at:%Y%m%d}"
        if email_sent(key):
            continue
        send_email(
            review.reviewer.email,
            "Review due "
            + ("today" if kind == "due" else "soon")
            + f": {review.application.reference}",
            "email/review_reminder.txt",
            dedupe_key=key,
            review=review,
            kind=kind,
        )
        sent += 1
    return sent
