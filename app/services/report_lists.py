"""Lists of impact reports: the grantee's own, and the officers' filtered, paged list.

Each is a fixed number of queries, whatever the number of reports; the status (due soon,
overdue) is computed from the due date, in the database for filters and counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models.application import Application
from app.models.award import Award
from app.models.impact_report import ImpactReport
from app.models.round import Round
from app.models.user import Organization
from app.services.impact_reports import due_status, status_filter

PAGE_SIZE = 50
STATUSES = {
    "overdue": "Overdue",
    "due_soon": "Due soon",
    "awaiting_review": "Submitted, awaiting review",
    "accepted": "Accepted",
}


def organization_reports(organization_id: int, today: date) -> list[tuple[Any, ...]]:
    """(report, award number, application title, due status), by due date."""
    rows = db.session.execute(
        select(ImpactReport, Award.number, Application.title)
        .join(Award, ImpactReport.award_id == Award.id)
        .join(Application, Award.application_id == Application.id)
        .where(ImpactReport.organization_id == organization_id)
        .order_by(ImpactReport.due_on, ImpactReport.id)
    ).all()
    return [(r, number, title, due_status(r, today)) for r, number, title in rows]


@dataclass(frozen=True)
class ReportPage:
    rows: list[tuple[Any, ...]]  # (report, award number, legal name, state code, round, status)
    total: int
    page: int
    pages: int
    counts: dict[str, int]  # reports per computed status, over all rounds


def officer_reports(
    today: date,
    round_id: int | None = None,
    state: str | None = None,
    status: str | None = None,
    page: int = 1,
) -> ReportPage:
    query = (
        select(
            ImpactReport,
            Award.number,
            Organization.legal_name,
            Organization.state_code,
            Round.title,
        )
        .join(Award, ImpactReport.award_id == Award.id)
        .join(Organization, ImpactReport.organization_id == Organization.id)
        .join(Round, Award.round_id == Round.id)
    )
    if round_id:
        query = query.where(Award.round_id == round_id)
    if state:
        query = query.where(ImpactReport.state == state)
    if status:
        query = query.where(status_filter(status, today))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.execute(
        query.order_by(ImpactReport.due_on, ImpactReport.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    counts = {
        key: db.session.scalar(select(func.count(ImpactReport.id)).where(status_filter(key, today)))
        or 0
        for key in STATUSES
    }
    return ReportPage(
        rows=[(r, n, org, st, rt, due_status(r, today)) for r, n, org, st, rt in rows],
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        counts=counts,
    )


def rounds_newest_first() -> list[Round]:
    return list(db.session.scalars(select(Round).order_by(Round.id.desc())).all())
