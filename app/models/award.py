"""Awards, their letters (every version kept) and award packages."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.extensions import db
from app.models.access import OwnedByOrganization
from app.models.types import UTCDateTime, state_check
from app.states import AwardState

if TYPE_CHECKING:
    from app.models.application import Application
    from app.models.round import Round
    from app.models.user import Organization, User


class Award(OwnedByOrganization, db.Model):
    __tablename__ = "awards"
    __table_args__ = (
        CheckConstraint(state_check("state", AwardState.names()), name="state"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("end_date > start_date", name="period"),
        # Accepting records who accepted, as whom, and when.
        CheckConstraint(
            state_check("state", AwardState.tagged("signed"), negate=True) + " OR "
            "(accepted_by_id IS NOT NULL AND accepted_name IS NOT NULL "
            "AND responded_at IS NOT NULL)",
            name="acceptance_recorded",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    state: Mapped[str] = mapped_column(String(20), default=AwardState.offered.value)
    version: Mapped[int] = mapped_column(default=1)
    start_date: Mapped[date]
    end_date: Mapped[date]
    conditions: Mapped[list[str]] = mapped_column(JSON, default=list)
    justification: Mapped[str] = mapped_column(Text, default="")
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    offered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acceptance_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    accepted_name: Mapped[str | None] = mapped_column(String(200))
    accepted_title: Mapped[str | None] = mapped_column(String(200))

    application: Mapped[Application] = relationship()
    round: Mapped[Round] = relationship()
    organization: Mapped[Organization] = relationship()
    offered_by: Mapped[User | None] = relationship(foreign_keys=[offered_by_id])
    accepted_by: Mapped[User | None] = relationship(foreign_keys=[accepted_by_id])
    letters: Mapped[list[AwardLetter]] = relationship(
        order_by="AwardLetter.version_no", back_populates="award"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def state_title(self) -> str:
        return AwardState.title_of(self.state)

    @property
    def latest_letter(self) -> AwardLetter | None:
        return self.letters[-1] if self.letters else None


class AwardLetter(db.Model):
    """One rendering of an award letter, with what it was made from so it can be reproduced."""

    __tablename__ = "award_letters"
    __table_args__ = (UniqueConstraint("award_id", "version_no", name="uq_award_letters_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("awards.id"))
    version_no: Mapped[int]
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    template_version: Mapped[str] = mapped_column(String(40))
    data_checksum: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    award: Mapped[Award] = relationship(back_populates="letters")

    def can_view(self, user: User) -> bool:
        return self.award.can_view(user)


class AwardPackage(db.Model):
    """A round's award package (a ZIP), built by a job that reports its progress."""

    __tablename__ = "award_packages"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_jobs.id"))
    storage_key: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size_bytes: Mapped[int | None]
    file_count: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    round: Mapped[Round] = relationship()
