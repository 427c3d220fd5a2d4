"""Reviews (one per reviewer and application), reviewer profiles and conflicts of interest."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.extensions import db
from app.models.access import is_staff
from app.models.types import UTCDateTime, state_check
from app.states import ReviewState

if TYPE_CHECKING:
    from app.models.application import Application
    from app.models.user import Organization, User

# Reviews that count: towards an application's reviews and a reviewer's load.
ACTIVE_REVIEW_STATES = ReviewState.tagged("active")

CONFLICT_KINDS: dict[str, str] = {
    "own_jurisdiction": "Own jurisdiction",
    "employer_or_partner": "Employer or partner",
    "financial": "Financial",
    "personal": "Personal",
    "other": "Other",
}
CONFLICT_SOURCES: dict[str, str] = {
    "detected": "Detected automatically",
    "declared": "Declared by the reviewer",
    "officer": "Entered by an officer",
}


class Review(db.Model):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("application_id", "reviewer_id", name="uq_reviews_pair"),
        CheckConstraint(state_check("state", ReviewState.names()), name="state"),
        # A submitted review has its overall impact score and the reviewer's confidence.
        CheckConstraint(
            "state != 'submitted' OR (overall_score IS NOT NULL AND confidence IS NOT NULL)",
            name="submitted_scored",
        ),
        CheckConstraint("overall_score IS NULL OR overall_score BETWEEN 1 AND 9", name="overall"),
        CheckConstraint("confidence IS NULL OR confidence BETWEEN 1 AND 3", name="confidence"),
        Index("ix_reviews_reviewer_state", "reviewer_id", "state"),
        Index("ix_reviews_application_state", "application_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(20), default=ReviewState.assigned.value)
    version: Mapped[int] = mapped_column(default=1)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Before opening the application the reviewer declares conflicts and accepts confidentiality.
    no_conflict_declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confidentiality_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # criterion id (as text) -> {"score": 1..9} or {"sufficient": bool, "explanation": str}
    criterion_scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    overall_score: Mapped[int | None]
    confidence: Mapped[int | None]
    strengths: Mapped[str] = mapped_column(Text, default="")
    weaknesses: Mapped[str] = mapped_column(Text, default="")
    staff_comments: Mapped[str] = mapped_column(Text, default="")

    application: Mapped[Application] = relationship()
    reviewer: Mapped[User] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def state_title(self) -> str:
        return ReviewState.title_of(self.state)

    def is_assigned_to(self, user: User) -> bool:
        return user.role == "reviewer" and self.reviewer_id == user.id

    def can_view(self, user: User) -> bool:
        """Staff see every review; a reviewer its own, unless it recused itself. (A conflict
        found since the assignment also hides it: `services.reviews.visible_review` asks.)"""
        return is_staff(user) or (self.is_assigned_to(user) and self.state in ACTIVE_REVIEW_STATES)

    def can_edit(self, user: User) -> bool:
        return self.is_assigned_to(user) and self.state in ReviewState.tagged("open")

    def is_overdue(self, now: datetime) -> bool:
        return (
            self.state in ReviewState.tagged("open")
            and self.due_at is not None
            and self.due_at < now
        )


class ReviewerProfile(db.Model):
    """What a reviewer knows and where it stands: matched against applications, checked for
    conflicts."""

    __tablename__ = "reviewer_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    priority_areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    regions: Mapped[list[str]] = mapped_column(JSON, default=list)
    home_state: Mapped[str | None] = mapped_column(String(2))
    affiliations: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()


class Conflict(db.Model):
    """A reviewer may not see or review an organization's applications (or one application)."""

    __tablename__ = "conflicts"
    __table_args__ = (
        CheckConstraint(state_check("kind", list(CONFLICT_KINDS)), name="kind"),
        CheckConstraint(state_check("source", list(CONFLICT_SOURCES)), name="source"),
        Index("ix_conflicts_reviewer", "reviewer_id", "organization_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    kind: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])
    organization: Mapped[Organization] = relationship()

    @property
    def kind_title(self) -> str:
        return CONFLICT_KINDS.get(self.kind, self.kind)

    @property
    def source_title(self) -> str:
        return CONFLICT_SOURCES.get(self.source, self.source)
