"""Impact reports every grantee owes on its award's schedule, and their versions."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.extensions import db
from app.models.access import OwnedByOrganization
from app.models.types import UTCDateTime, state_check
from app.states import ImpactReportState

if TYPE_CHECKING:
    from app.models.award import Award

REPORT_KINDS = {"interim": "Interim progress report", "final": "Final report"}


class ImpactReport(OwnedByOrganization, db.Model):
    __tablename__ = "impact_reports"
    __table_args__ = (
        CheckConstraint(state_check("state", ImpactReportState.names()), name="state"),
        CheckConstraint(state_check("kind", list(REPORT_KINDS)), name="kind"),
        CheckConstraint("period_end >= period_start", name="period"),
        Index("ix_impact_reports_state_due", "state", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[date]
    period_end: Mapped[date]
    due_on: Mapped[date]
    state: Mapped[str] = mapped_column(String(20), default=ImpactReportState.scheduled.value)
    version: Mapped[int] = mapped_column(default=1)
    # The draft the grantee is working on: indicator code -> actual value; narrative fields.
    indicators: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    accomplishments: Mapped[str] = mapped_column(Text, default="")
    challenges: Mapped[str] = mapped_column(Text, default="")
    next_period_plans: Mapped[str] = mapped_column(Text, default="")
    outcomes_by_area: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    award: Mapped[Award] = relationship()
    submissions: Mapped[list[ReportSubmission]] = relationship(
        order_by="ReportSubmission.number", back_populates="report"
    )
    attachments: Mapped[list[ReportAttachment]] = relationship(order_by="ReportAttachment.id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def state_title(self) -> str:
        return ImpactReportState.title_of(self.state)

    @property
    def kind_title(self) -> str:
        return REPORT_KINDS.get(self.kind, self.kind)


class ReportSubmission(db.Model):
    """A frozen copy of a report as submitted: every version is kept."""

    __tablename__ = "report_submissions"
    __table_args__ = (UniqueConstraint("report_id", "number", name="uq_report_submissions_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("impact_reports.id"))
    number: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: system
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report: Mapped[ImpactReport] = relationship(back_populates="submissions")


class ReportAttachment(db.Model):
    __tablename__ = "report_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("impact_reports.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
