"""An organization's application to a round, section by section, and its files."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.domain import BUDGET_CATEGORIES, INDICATORS, PARTNER_TYPES, PRIORITY_AREAS
from app.extensions import db
from app.models.access import OwnedByOrganization
from app.models.types import UTCDateTime, state_check
from app.states import ApplicationState

if TYPE_CHECKING:
    from app.models.round import Round
    from app.models.user import Organization, User


class Application(OwnedByOrganization, db.Model):
    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint(state_check("state", ApplicationState.names()), name="state"),
        # A submitted application always carries its reference number (a draft withdrawn before
        # it was ever submitted has none).
        CheckConstraint(
            state_check("state", ApplicationState.tagged("reference_optional"))
            + " OR reference IS NOT NULL",
            name="reference_when_submitted",
        ),
        Index("ix_applications_round_state", "round_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    state: Mapped[str] = mapped_column(String(20), default=ApplicationState.draft.value)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Project
    title: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    partner_countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    start_date: Mapped[date | None]
    period_months: Mapped[int | None]
    # Narrative
    need: Mapped[str] = mapped_column(Text, default="")
    approach: Mapped[str] = mapped_column(Text, default="")
    alignment: Mapped[str] = mapped_column(Text, default="")
    sustainability: Mapped[str] = mapped_column(Text, default="")
    # Budget totals, kept by the budget section's save (rankings sort and sum on them).
    requested_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    cost_share_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))

    round: Mapped[Round] = relationship(back_populates="applications")
    organization: Mapped[Organization] = relationship()
    created_by: Mapped[User] = relationship()
    priority_area_rows: Mapped[list[ApplicationPriorityArea]] = relationship(
        cascade="all, delete-orphan", order_by="ApplicationPriorityArea.area"
    )
    partners: Mapped[list[Partner]] = relationship(
        cascade="all, delete-orphan", order_by="Partner.position"
    )
    budget_lines: Mapped[list[BudgetLine]] = relationship(
        cascade="all, delete-orphan", order_by="BudgetLine.position"
    )
    milestones: Mapped[list[Milestone]] = relationship(
        cascade="all, delete-orphan", order_by="Milestone.position"
    )
    impact_targets: Mapped[list[ImpactTarget]] = relationship(
        cascade="all, delete-orphan", order_by="ImpactTarget.position"
    )
    letters: Mapped[list[SupportLetter]] = relationship(
        cascade="all, delete-orphan", order_by="SupportLetter.id"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def priority_areas(self) -> list[str]:
        return [row.area for row in self.priority_area_rows]

    @property
    def priority_area_titles(self) -> list[str]:
        return [PRIORITY_AREAS.get(a, a) for a in self.priority_areas]

    @property
    def state_title(self) -> str:
        return ApplicationState.title_of(self.state)

    @property
    def display_title(self) -> str:
        return self.title or "Untitled application"

    def can_edit(self, user: User) -> bool:
        """Only a draft changes, and only by its organization's applicants."""
        return self.state == "draft" and super().can_edit(user)


# The officer's applications list, newest submission first and drafts last (its order is
# app.services.screening.INBOX_ORDER): over all rounds, and within one round.
Index(
    "ix_applications_inbox",
    Application.submitted_at.is_(None),
    Application.submitted_at.desc(),
    Application.id.desc(),
)
Index(
    "ix_applications_round_inbox",
    Application.round_id,
    Application.submitted_at.is_(None),
    Application.submitted_at.desc(),
    Application.id.desc(),
)


class ApplicationPriorityArea(db.Model):
    __tablename__ = "application_priority_areas"
    __table_args__ = (CheckConstraint(state_check("area", list(PRIORITY_AREAS)), name="area"),)

    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    area: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)


class Partner(db.Model):
    __tablename__ = "partners"
    __table_args__ = (CheckConstraint(state_check("kind", list(PARTNER_TYPES)), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(Text, default="")

    @property
    def kind_title(self) -> str:
        return PARTNER_TYPES.get(self.kind, self.kind)


class BudgetLine(db.Model):
    __tablename__ = "budget_lines"
    __table_args__ = (
        CheckConstraint(state_check("category", list(BUDGET_CATEGORIES)), name="category"),
        CheckConstraint("federal_amount >= 0 AND cost_share >= 0", name="non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    category: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(300), default="")
    federal_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    cost_share: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))

    @property
    def category_title(self) -> str:
        return BUDGET_CATEGORIES.get(self.category, self.category)


class Milestone(db.Model):
    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    due_on: Mapped[date]
    description: Mapped[str] = mapped_column(Text)


class ImpactTarget(db.Model):
    __tablename__ = "impact_targets"
    __table_args__ = (
        CheckConstraint(state_check("indicator", list(INDICATORS)), name="indicator"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    indicator: Mapped[str] = mapped_column(String(30))
    baseline: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    target: Mapped[Decimal] = mapped_column(Numeric(16, 2))

    @property
    def indicator_title(self) -> str:
        return INDICATORS.get(self.indicator, self.indicator)


class SupportLetter(db.Model):
    """A letter of support (PDF), stored through the storage interface."""

    __tablename__ = "support_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
