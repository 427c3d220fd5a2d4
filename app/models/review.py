"""Reviews: one per reviewer and application."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.extensions import db
from app.models.types import UTCDateTime

if TYPE_CHECKING:
    from app.models.application import Application
    from app.models.user import User

REVIEW_STATES = ("assigned", "in_progress", "submitted", "recused")
ACTIVE_REVIEW_STATES = ("assigned", "in_progress", "submitted")


class Review(db.Model):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("application_id", "reviewer_id", name="uq_reviews_pair"),
        CheckConstraint(
            "state IN ('assigned', 'in_progress', 'submitted', 'recused')", name="state"
        ),
        # A submitted review has its overall impact score.
        CheckConstraint(
            "state != 'submitted' OR overall_score IS NOT NULL", name="submitted_scored"
        ),
        CheckConstraint("overall_score IS NULL OR overall_score BETWEEN 1 AND 9", name="overall"),
        CheckConstraint("confidence IS NULL OR confidence BETWEEN 1 AND 3", name="confidence"),
        Index("ix_reviews_reviewer_state", "reviewer_id", "state"),
        Index("ix_reviews_application_state", "application_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(20), default="assigned")
    version: Mapped[int] = mapped_column(default=1)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # criterion id (as text) -> 1..9 for scored criteria, or {"sufficient": bool, "why": str}
    criterion_scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    overall_score: Mapped[int | None]
    confidence: Mapped[int | None]
    strengths: Mapped[str] = mapped_column(Text, default="")
    weaknesses: Mapped[str] = mapped_column(Text, default="")
    staff_comments: Mapped[str] = mapped_column(Text, default="")

    application: Mapped[Application] = relationship()
    reviewer: Mapped[User] = relationship()

    __mapper_args__ = {"version_id_col": version}
