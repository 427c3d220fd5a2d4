"""Funding rounds and their review rubrics."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from sqlalchemy import JSON, CheckConstraint, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.domain import GOVERNMENT_TYPES, PRIORITY_AREAS
from app.extensions import db
from app.models.types import UTCDateTime, state_check
from app.states import RoundState

if TYPE_CHECKING:
    from app.models.application import Application

# The rubric criterion kinds the database allows (its CHECK constraint; change it with a migration).
# What each kind means (title, form fields, ranking, CSV, macros) is app.criteria's registry, which
# create_app checks against this list.
CRITERION_KINDS: tuple[str, ...] = ("scored", "sufficiency", "yes_no")
LOCALE = Locale.parse("en_US")  # parsed once, not by Babel on every moment shown


class Round(db.Model):
    __tablename__ = "rounds"
    __table_args__ = (CheckConstraint(state_check("state", RoundState.names()), name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    budget: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    min_award: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    max_award: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    eligible_government_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    priority_areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    reviewers_per_application: Mapped[int] = mapped_column(default=3)
    blind_review: Mapped[bool] = mapped_column(default=False)
    performance_months: Mapped[int] = mapped_column(default=18)
    # Reporting and acceptance terms of the round's awards (2 CFR 200.328 defaults).
    report_interval_months: Mapped[int] = mapped_column(default=6)
    final_report_days: Mapped[int] = mapped_column(default=120)
    acceptance_days: Mapped[int] = mapped_column(default=45)
    state: Mapped[str] = mapped_column(String(20), default=RoundState.draft.value, index=True)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    criteria: Mapped[list[RubricCriterion]] = relationship(
        back_populates="round", order_by="RubricCriterion.position", cascade="all, delete-orphan"
    )
    applications: Mapped[list[Application]] = relationship(back_populates="round")

    __mapper_args__ = {"version_id_col": version}

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def state_title(self) -> str:
        return RoundState.title_of(self.state)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def format_moment(self, moment: datetime) -> str:
        """A moment as people of this round read it: in its zone, with the zone's name."""
        return format_datetime(
            moment, "EEEE, MMMM d, y 'at' h:mm:ss a zzz", tzinfo=self.zone, locale=LOCALE
        )

    @property
    def government_type_titles(self) -> list[str]:
        return [
            GOVERNMENT_TYPES[g] for g in self.eligible_government_types if g in GOVERNMENT_TYPES
        ]

    @property
    def priority_area_titles(self) -> list[str]:
        return [PRIORITY_AREAS[p] for p in self.priority_areas if p in PRIORITY_AREAS]

    def is_accepting(self, now: datetime) -> bool:
        return (
            self.state == "open"
            and self.opens_at <= now
            and now.replace(microsecond=0) <= self.closes_at
        )


class RubricCriterion(db.Model):
    __tablename__ = "rubric_criteria"
    __table_args__ = (
        CheckConstraint(state_check("kind", list(CRITERION_KINDS)), name="kind"),
        CheckConstraint("weight > 0", name="weight_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(200))
    guidance: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal("1"))
    kind: Mapped[str] = mapped_column(String(20), default="scored")
    required: Mapped[bool] = mapped_column(default=True)

    round: Mapped[Round] = relationship(back_populates="criteria")
