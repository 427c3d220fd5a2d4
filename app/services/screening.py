"""The officer's applications inbox and bulk screening: one page of applications with their
organizations and rounds, and screening each selected application through the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models.application import Application
from app.models.round import Round
from app.models.user import Organization
from app.services.bulk import fire_each


@dataclass(frozen=True)
class InboxPage:
    rows: list[Any]  # (Application, Organization, Round)
    total: int
    page: int
    pages: int


def applications_page(filters: dict[str, Any], page: int, per_page: int) -> InboxPage:
    """The applications matching `filters` (round, state, a search text), newest first."""
    query = (
        select(Application, Organization, Round)
        .join(Organization, Application.organization_id == Organization.id)
        .join(Round, Application.round_id == Round.id)
    )
    if filters["round"]:
        query = query.where(Application.round_id == filters["round"])
    if filters["state"]:
        query = query.where(Application.state == filters["state"])
    if filters["q"]:
        like = f"%{filters['q']}%"
        query = query.where(
            Application.title.ilike(like)
            | Organization.legal_name.ilike(like)
            | Application.reference.ilike(like)
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.execute(
        query.order_by(Application.submitted_at.desc().nulls_last(), Application.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return InboxPage(list(rows), total, page, max(1, -(-total // per_page)))


@dataclass(frozen=True)
class ScreeningOutcome:
    application: Application
    done: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Screening:
    outcomes: list[ScreeningOutcome]
    missing: list[int]  # ids selected that are not applications

    @property
    def done(self) -> list[ScreeningOutcome]:
        return [o for o in self.outcomes if o.done]

    @property
    def refused(self) -> list[ScreeningOutcome]:
        return [o for o in self.outcomes if not o.done]


def screen(ids: list[int], trigger: str, actor: Any, comment: str) -> Screening:
    """Fire `trigger` on each selected application on its own: one refused (not submitted any
    more, say) does not stop the others."""
    chosen = db.session.scalars(
        select(Application).where(Application.id.in_(ids)).order_by(Application.id)
    ).all()
    found = {a.id for a in chosen}
    outcomes = [
        ScreeningOutcome(o.entity, o.done, o.reasons)
        for o in fire_each(chosen, trigger, actor, comment=comment)
    ]
    return Screening(outcomes, [i for i in ids if i not in found])
