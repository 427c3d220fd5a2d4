"""The officer's applications inbox and bulk screening: one page of applications with their
organizations and rounds, and screening each selected application through the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import load_only

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


# Newest submission first, the unsubmitted (drafts) after them: a key the indexes
# ix_applications_inbox and ix_applications_round_inbox hold in this order on SQLite and
# PostgreSQL alike (neither takes NULLS LAST in an index on both).
INBOX_ORDER = (
    Application.submitted_at.is_(None),
    Application.submitted_at.desc(),
    Application.id.desc(),
)
# What a row of the list shows: the long texts (summary, narrative) stay in the database.
INBOX_COLUMNS = load_only(
    Application.round_id,
    Application.organization_id,
    Application.reference,
    Application.state,
    Application.version,
    Application.title,
    Application.submitted_at,
    Application.requested_amount,
)


def applications_page(filters: dict[str, Any], page: int, per_page: int) -> InboxPage:
    """The applications matching `filters` (round, state, a search text), newest first.

    Two queries: the count, and the page's rows. The page is chosen on the applications' ids
    alone (an index scan, the offset skipped inside it), and only its rows are joined to their
    organizations and rounds.
    """
    matching = select(Application.id)
    if filters["q"]:
        like = f"%{filters['q']}%"
        matching = matching.join(Organization, Application.organization_id == Organization.id)
        matching = matching.where(
            Application.title.ilike(like)
            | Organization.legal_name.ilike(like)
            | Application.reference.ilike(like)
        )
    if filters["round"]:
        matching = matching.where(Application.round_id == filters["round"])
    if filters["state"]:
        matching = matching.where(Application.state == filters["state"])
    total = db.session.scalar(select(func.count()).select_from(matching.subquery())) or 0
    chosen = (
        matching.order_by(*INBOX_ORDER).limit(per_page).offset((page - 1) * per_page).subquery()
    )
    rows = db.session.execute(
        select(Application, Organization, Round)
        .join(chosen, Application.id == chosen.c.id)
        .join(Organization, Application.organization_id == Organization.id)
        .join(Round, Application.round_id == Round.id)
        .options(INBOX_COLUMNS, load_only(Organization.legal_name, Organization.state_code))
        .order_by(*INBOX_ORDER)
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
