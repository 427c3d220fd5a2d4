"""Applications: starting one, saving its sections, checking it is complete, and its files."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from app.clock import utcnow
from app.domain import BUDGET_CATEGORIES
from app.extensions import db
from app.models.application import (
    Application,
    ApplicationPriorityArea,
    BudgetLine,
    ImpactTarget,
    Milestone,
    Partner,
    SupportLetter,
)
from app.models.audit import AuditEvent
from app.models.round import Round
from app.models.user import User
from app.rules.applications import SECTION_TITLES as SECTION_TITLES  # re-exported for the pages
from app.rules.applications import SECTIONS as SECTIONS
from app.rules.applications import Problem as Problem
from app.rules.applications import section_problems as section_problems
from app.services.pdf_uploads import UploadRejected as UploadRejected  # re-exported
from app.services.pdf_uploads import check_upload, pdf_name
from app.services.rounds import StaleEdit, money
from app.storage import sha256, storage

# An application's whole page (its summary of every section): the organization and the round
# with the row, then one query per section's rows, rather than a load the first time each
# is read.
WHOLE_APPLICATION = (
    joinedload(Application.organization),
    joinedload(Application.round),
    selectinload(Application.priority_area_rows),
    selectinload(Application.partners),
    selectinload(Application.budget_lines),
    selectinload(Application.milestones),
    selectinload(Application.impact_targets),
    selectinload(Application.letters),
)


def start_application(rnd: Round, user: User) -> Application:
    if user.organization_id is None:
        raise ValueError("only a user of an applicant organization can start an application")
    application = Application(
        round=rnd,
        organization_id=user.organization_id,
        created_by_id=user.id,
        budget_lines=[
            BudgetLine(position=i, category=key) for i, key in enumerate(BUDGET_CATEGORIES)
        ],
    )
    db.session.add(application)
    db.session.flush()
    return application


def _check_editable(application: Application, expected_version: int) -> None:
    if application.state != "draft":
        raise PermissionError("a submitted application is read-only")
    if application.version != expected_version:
        raise StaleEdit()


def _touch(application: Application) -> None:
    # Child rows changing alone would not bump the version column; this row update does.
    application.updated_at = utcnow()
    db.session.flush()


def save_project(application: Application, values: dict[str, Any], expected_version: int) -> None:
    _check_editable(application, expected_version)
    application.title = values["title"].strip()
    application.summary = values["summary"].strip()
    application.partner_countries = list(dict.fromkeys(values["partner_countries"]))
    application.start_date = values["start_date"]
    application.period_months = values["period_months"]
    wanted = list(dict.fromkeys(values["priority_areas"]))
    application.priority_area_rows = [ApplicationPriorityArea(area=a) for a in wanted]
    _touch(application)


def save_narrative(application: Application, values: dict[str, str], expected_version: int) -> None:
    _check_editable(application, expected_version)
    for key in ("need", "approach", "alignment", "sustainability"):
        setattr(application, key, values[key].strip())
    _touch(application)


def replace_partners(
    application: Application, rows: Iterable[dict[str, str]], expected_version: int
) -> None:
    _check_editable(application, expected_version)
    application.partners = [
        Partner(position=i, name=r["name"].strip(), kind=r["kind"], role=r["role"].strip())
        for i, r in enumerate(rows)
    ]
    _touch(application)


def save_budget(
    application: Application, lines: dict[str, dict[str, Any]], expected_version: int
) -> None:
    """`lines` maps each SF-424A category to its description, federal amount and cost share."""
    _check_editable(application, expected_version)
    by_category = {line.category: line for line in application.budget_lines}
    for position, category in enumerate(BUDGET_CATEGORIES):
        values = lines.get(category, {})
        line = by_category.get(category)
        if line is None:
            line = BudgetLine(position=position, category=category)
            application.budget_lines.append(line)
        line.description = (values.get("description") or "").strip()
        line.federal_amount = money(values.get("federal_amount"))
        line.cost_share = money(values.get("cost_share"))
    application.requested_amount = sum(
        (line.federal_amount for line in application.budget_lines), Decimal("0")
    )
    application.cost_share_amount = sum(
        (line.cost_share for line in application.budget_lines), Decimal("0")
    )
    _touch(application)


def replace_milestones(
    application: Application, rows: Iterable[dict[str, Any]], expected_version: int
) -> None:
    _check_editable(application, expected_version)
    ordered = sorted(rows, key=lambda r: r["due_on"])
    application.milestones = [
        Milestone(position=i, due_on=r["due_on"], description=r["description"].strip())
        for i, r in enumerate(ordered)
    ]
    _touch(application)


def replace_targets(
    application: Application, rows: Iterable[dict[str, Any]], expected_version: int
) -> None:
    _check_editable(application, expected_version)
    application.impact_targets = [
        ImpactTarget(
            position=i, indicator=r["indicator"], baseline=r["baseline"], target=r["target"]
        )
        for i, r in enumerate(rows)
    ]
    _touch(application)


def add_letter(
    application: Application, filename: str, data: bytes, user: User, expected_version: int
) -> SupportLetter:
    _check_editable(application, expected_version)
    check_upload(data)
    key = storage().save(data, prefix=f"applications/{application.id}/letters", suffix=".pdf")
    letter = SupportLetter(
        filename=safe_filename(filename),
        storage_key=key,
        size_bytes=len(data),
        sha256=sha256(data),
        uploaded_by_id=user.id,
    )
    application.letters.append(letter)
    _touch(application)
    return letter


def remove_letter(application: Application, letter_id: int, expected_version: int) -> None:
    _check_editable(application, expected_version)
    letter = next((x for x in application.letters if x.id == letter_id), None)
    if letter is None:
        raise LookupError("no such letter")
    application.letters.remove(letter)
    _touch(application)
    storage().delete(letter.storage_key)


def safe_filename(name: str) -> str:
    return pdf_name(name, "letter.pdf")


def timeline(entity_type: str, entity_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.id)
        )
    )


def organization_applications(organization_id: int) -> list[Any]:
    """The organization's applications with their rounds, most recently changed first."""
    return list(
        db.session.execute(
            select(Application, Round)
            .join(Round, Application.round_id == Round.id)
            .where(Application.organization_id == organization_id)
            .order_by(Application.updated_at.desc())
        ).all()
    )


def accepting_round(round_id: int, now: datetime) -> Round | None:
    """The round, if it takes new applications now."""
    rnd = db.session.get(Round, round_id)
    return rnd if rnd is not None and rnd.is_accepting(now) else None
