"""The reviewer's operations on its own review: find it, declare, save or submit, recuse.

Each is one step of the request's unit of work (it flushes, never commits). Access is the
review's own `can_view`, plus the conflicts found since the assignment: a conflicted reviewer
finds nothing, as if the application did not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.extensions import db
from app.models.review import Review
from app.models.user import User
from app.services import reviews
from workflows import fire


def visible_review(user: User, review_id: int) -> Review | None:
    """The review, if this user may see it: staff always; a reviewer its own active review of
    an application it is not conflicted with."""
    review = db.session.get(Review, review_id)
    if review is None or not review.can_view(user):
        return None
    if review.is_assigned_to(user):
        visible = reviews.reviewer_review(user, review.application_id)
        if visible is None or visible.id != review.id:
            return None
    return review


def make_declaration(
    review: Review,
    reviewer: User,
    now: datetime,
    conflict_kind: str | None = None,
    explanation: str = "",
) -> None:
    """No conflict: the review opens. A conflict (its kind given): the reviewer recuses itself."""
    if conflict_kind:
        reviews.declare(review, no_conflict=False, confidentiality=True, now=now)
        recuse(review, reviewer, conflict_kind, explanation, now)
    else:
        reviews.declare(review, no_conflict=True, confidentiality=True, now=now)
        fire(review, "start", reviewer, now=now)


def recuse(
    review: Review,
    reviewer: User,
    conflict_kind: str,
    explanation: str,
    now: datetime | None = None,
) -> None:
    """A conflict of interest: the reviewer steps aside (recorded as a declared conflict)."""
    data = {"conflict_kind": conflict_kind}
    fire(review, "recuse", reviewer, comment=explanation, data=data, now=now)


def save_or_submit(
    review: Review,
    reviewer: User,
    values: dict[str, Any],
    expected_version: int,
    submit: bool,
) -> list[tuple[str, str]]:
    """Save the draft; with `submit`, submit it too, unless something is missing: then the draft
    stays saved and what submission still needs is returned (field name, message)."""
    reviews.save_draft(review, values, expected_version)
    if not submit:
        return []
    missing = reviews.review_field_problems(review)
    if not missing:
        fire(review, "submit", reviewer)
    return missing
