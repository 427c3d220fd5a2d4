"""Scores as data: each application's scores, and the round's ranking by scores version.

An application's own scores (`ApplicationScore`) depend only on its submitted reviews: they are
rewritten in the transaction of every review transition that changes them. What depends on the
whole round (reviewer offsets, calibrated scores, percentiles, ranks) is written by a job, for the
round's scores version it read (`RankingEntry`, `ReviewerOffset`); `RoundRanking` holds the
version the reviews are at and the version whose ranking is committed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.extensions import db
from app.models.types import UTCDateTime


class ApplicationScore(db.Model):
    """One application's scores from its submitted reviews (none: no row, or n_reviews 0)."""

    __tablename__ = "application_scores"

    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    n_reviews: Mapped[int] = mapped_column(default=0)
    overall_scores: Mapped[list[int]] = mapped_column(JSON, default=list)  # in review order
    raw: Mapped[float | None]
    nih: Mapped[int | None]
    criterion_score: Mapped[float | None]
    # Per criterion id (as text): its kind's summary of the reviews (app.criteria).
    aggregates: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    spread: Mapped[float] = mapped_column(default=0.0)
    stdev: Mapped[float] = mapped_column(default=0.0)
    disagreement: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RoundRanking(db.Model):
    """A round's scores version (bumped by every review transition that changes a score) and the
    version whose ranking is committed; they differ while a newer ranking is being computed."""

    __tablename__ = "round_rankings"

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    scores_version: Mapped[int] = mapped_column(default=0)
    ranked_version: Mapped[int] = mapped_column(default=0)
    ranked_count: Mapped[int] = mapped_column(default=0, server_default="0")  # in that ranking
    ranked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def updating(self) -> bool:
        return self.ranked_version != self.scores_version


class RankingEntry(db.Model):
    """An application's place in its round's ranking of one scores version."""

    __tablename__ = "ranking_entries"
    __table_args__ = (
        Index("ix_ranking_entries_position", "round_id", "version", "rank", unique=True),
    )

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True
    )
    rank: Mapped[int]  # 1 is the best
    calibrated: Mapped[float]
    percentile: Mapped[float]


class ReviewerOffset(db.Model):
    """A reviewer's harshness offset in a round's calibration of one scores version."""

    __tablename__ = "reviewer_offsets"

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    offset: Mapped[float]
    reviews: Mapped[int]
