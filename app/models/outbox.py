"""Jobs waiting to run after a commit, and every email the app has sent or would send."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow
from app.extensions import db
from app.models.types import UTCDateTime, state_check

JOB_STATUSES = ("pending", "queued", "running", "done", "failed")


class OutboxJob(db.Model):
    """One side effect of a committed change: written in the change's transaction, run after it."""

    __tablename__ = "outbox_jobs"
    __table_args__ = (
        CheckConstraint(state_check("status", JOB_STATUSES), name="status"),
        Index("ix_outbox_jobs_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str | None] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    audit_event_id: Mapped[int | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    progress: Mapped[int] = mapped_column(default=0)  # percent, for long work shown to people
    progress_note: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailMessage(db.Model):
    """Every email, recorded whether or not SMTP is configured. One row per dedupe key."""

    __tablename__ = "emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    to_address: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transport: Mapped[str] = mapped_column(String(10), default="log")  # log | smtp


class Counter(db.Model):
    """Sequences for human reference numbers (L2G-2026-0001), one row per name and year."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
