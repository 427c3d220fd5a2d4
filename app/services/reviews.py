"""Reviews: who may see what, the reviewer's queue, drafts, completeness and reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, load_only

from app.criteria import NIH_SCALE as NIH_SCALE  # re-exported for the pages
from app.criteria import criterion_field as criterion_field  # the form's field names, re-exported
from app.domain import PRIORITY_AREAS, REGIONS
from app.extensions import db
from app.models.application import Application
from app.models.review import ACTIVE_REVIEW_STATES, Review, ReviewerProfile
from app.models.round import Round
from app.models.user import Organization, User
from app.rules.reviews import CONFIDENCE as CONFIDENCE  # re-exported for the pages and forms
from app.rules.reviews import review_counts
from app.rules.reviews import review_field_problems as review_field_problems
from app.rules.reviews import review_problems as review_problems
from app.services.conflicts import conflicted_pairs, is_conflicted
from app.services.mail import email_sent, send_email
from app.services.review_reading import application_view as application_view
from app.services.review_reading import other_reviews as other_reviews
from app.services.review_reading import redactor as redactor
from app.services.rounds import StaleEdit
from app.states import ReviewState
from workflows import SYSTEM, fire
from workflows.engine import follows

REMIND_DAYS_BEFORE = 3


def reviewer_review(reviewer: User, application_id: int) -> Review | None:
    """The reviewer's own active review of an application, or None: then it sees nothing of it.

    Recused reviews and conflicted pairs give None, so a conflicted reviewer gets a 404.
    """
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


def save_draft(review: Review, values: dict[str, Any], expected_version: int) -> None:
    """Store the reviewer's scores and comments, however incomplete."""
    if review.state not in ReviewState.tagged("open"):
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


@follows("review", "reopen")
def reopen_scored_application(review: Review, ctx: Any) -> None:
    """Reopening a review of a scored application puts the application back in review."""
    if review.application.state == "scored":
        fire(review.application, "reopen_review", SYSTEM, comment="a review was reopened")


def complete_if_all_in(application: Application) -> bool:
    """The system closes review when every active review is submitted."""
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
    title: str = ""  # the application's title as the reviewer may read it (redacted when blind)


QUEUE_SORTS = {
    "due": (Review.due_at.is_(None), Review.due_at, Review.id),
    "state": (Review.state, Review.due_at, Review.id),
    "assigned": (Review.assigned_at.desc(), Review.id),
}


# What a queue row shows and the conflict check reads: a reviewer's queue holds 100 and more
# reviews, and their scores, comments and the applications' narratives stay in the database.
QUEUE_COLUMNS = (
    load_only(
        Review.application_id,
        Review.reviewer_id,
        Review.state,
        Review.version,
        Review.assigned_at,
        Review.due_at,
    ),
    load_only(
        Application.round_id,
        Application.organization_id,
        Application.reference,
        Application.state,
        Application.version,
        Application.title,
    ),
    load_only(  # the names a blind round's titles are redacted of, and what conflicts read
        Organization.legal_name,
        Organization.city,
        Organization.street,
        Organization.official_name,
        Organization.government_type,
        Organization.state_code,
    ),
    load_only(Round.title, Round.timezone, Round.blind_review),
)


QUEUE_PAGE_SIZE = 50


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    page: int
    pages: int
    total: int  # the reviewer's active reviews in all


def reviewer_queue(
    reviewer: User, sort: str = "due", page: int = 1, per_page: int | None = QUEUE_PAGE_SIZE
) -> QueuePage:
    """One page of the reviewer's active reviews with their application and round, sorted and
    cut in the database (all of them with `per_page` None).

    Reviews of applications the reviewer is conflicted with (a conflict recorded or detected after
    the assignment) are left out: a conflicted reviewer sees nothing of the application. That
    check runs a fixed number of queries, over the page's rows only.
    """
    order = QUEUE_SORTS.get(sort, QUEUE_SORTS["due"])
    mine = (Review.reviewer_id == reviewer.id, Review.state.in_(ACTIVE_REVIEW_STATES))
    query = (
        # The count of all the reviewer's reviews comes with the page's rows (a window).
        select(Review, Application, Round, Organization, func.count().over())
        .join(Application, Review.application_id == Application.id)
        .join(Round, Application.round_id == Round.id)
        .join(Organization, Application.organization_id == Organization.id)
        .where(*mine)
        .options(*QUEUE_COLUMNS)
        .order_by(*order)
    )
    found = db.session.execute(
        query.limit(per_page).offset((page - 1) * per_page) if per_page else query
    ).all()
    if not found and page > 1:  # past the end: the last page
        return reviewer_queue(
            reviewer, sort, 1 if not per_page else _last_page(reviewer, per_page), per_page
        )
    total = found[0][4] if found else 0
    pages = max(1, -(-total // per_page)) if per_page else 1
    rows = [row[:4] for row in found]
    conflicted = conflicted_pairs(
        [reviewer.id], [application for _, application, _, _ in rows], reviewers=[reviewer]
    )
    return QueuePage(_queue_rows(reviewer, rows, conflicted), page, pages, total)


def _last_page(reviewer: User, per_page: int) -> int:
    total = (
        db.session.scalar(
            select(func.count())
            .select_from(Review)
            .where(Review.reviewer_id == reviewer.id, Review.state.in_(ACTIVE_REVIEW_STATES))
        )
        or 0
    )
    return max(1, -(-total // per_page))


def _queue_rows(
    reviewer: User, rows: list[Any], conflicted: set[tuple[int, int]]
) -> list[QueueRow]:
    return [
        QueueRow(
            review,
            application,
            rnd,
            None if rnd.blind_review else org.legal_name,
            redactor(org, rnd.blind_review)(application.display_title),
        )
        for review, application, rnd, org in rows
        if (reviewer.id, application.id) not in conflicted
    ]


def local_due_date(review: Review) -> date | None:
    """The due date as the round's people read it, in the round's time zone."""
    if review.due_at is None:
        return None
    return review.application.round.local(review.due_at).date()


def reviews_due_for_reminder(now: datetime) -> list[tuple[Review, str]]:
    """Open reviews due within REMIND_DAYS_BEFORE days ('before') or due or overdue ('due').

    "Due" means on or after the due date in the round's time zone, not in UTC: a review due at
    23:00 in New York is due that day, though in UTC it is due the next.
    """
    soon = now + timedelta(days=REMIND_DAYS_BEFORE)
    rows = db.session.scalars(
        select(Review)
        .where(
            Review.state.in_(ReviewState.tagged("open")),
            Review.due_at.is_not(None),
            Review.due_at <= soon,
        )
        .options(
            joinedload(Review.reviewer),
            joinedload(Review.application).joinedload(Application.round),
            joinedload(Review.application).joinedload(Application.organization),
        )
        .order_by(Review.id)
    ).all()
    out = []
    for review in rows:
        due_on = local_due_date(review)
        assert due_on is not None
        today = review.application.round.local(now).date()
        out.append((review, "due" if due_on <= today else "before"))
    return out


def send_reminders(now: datetime) -> int:
    """Email reminders; each (review, kind) is sent once however often this runs."""
    sent = 0
    for review, kind in reviews_due_for_reminder(now):
        key = f"review-reminder:{review.id}:{kind}:{review.due_at:%Y%m%d}"
        if email_sent(key):
            continue
        application = review.application
        send_email(
            review.reviewer.email,
            "Review due " + ("today" if kind == "due" else "soon") + f": {application.reference}",
            "email/review_reminder.txt",
            dedupe_key=key,
            review=review,
            kind=kind,
            title=redactor(application.organization, application.round.blind_review)(
                application.display_title
            ),
            overdue=review.is_overdue(now),
        )
        sent += 1
    return sent


# --- Reviewer profiles ---------------------------------------------------------------------------


def reviewer_profile(user: User) -> ReviewerProfile | None:
    return db.session.get(ReviewerProfile, user.id)


def save_profile(user: User, values: dict[str, Any]) -> ReviewerProfile:
    """Store what the reviewer knows and where it stands (matched in assignment, checked for
    conflicts)."""
    profile = reviewer_profile(user)
    if profile is None:
        profile = ReviewerProfile(user_id=user.id)
        db.session.add(profile)
    profile.priority_areas = [a for a in values.get("priority_areas") or [] if a in PRIORITY_AREAS]
    profile.regions = [r for r in values.get("regions") or [] if r in REGIONS]
    profile.home_state = values.get("home_state") or None
    seen: dict[str, None] = {}
    for line in values.get("affiliations") or []:
        name = " ".join(str(line).split())
        if name and name.lower() not in {k.lower() for k in seen}:
            seen[name] = None
    profile.affiliations = list(seen)
    db.session.flush()
    return profile
