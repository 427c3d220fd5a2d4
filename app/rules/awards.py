"""Money an award round has committed, and the reports an award still owes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models.award import Award
from app.models.impact_report import ImpactReport
from app.models.round import Round
from app.states import AwardState


def committed_total(rnd: Round) -> Any:
    return db.session.scalar(
        select(func.coalesce(func.sum(Award.amount), 0)).where(
            Award.round_id == rnd.id, Award.state.in_(AwardState.tagged("committed"))
        )
    )


def unaccepted_report_count(award: Award) -> int:
    return (
        db.session.scalar(
            select(func.count(ImpactReport.id)).where(
                ImpactReport.award_id == award.id, ImpactReport.state != "accepted"
            )
        )
        or 0
    )
