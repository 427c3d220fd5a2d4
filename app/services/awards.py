"""Awards: numbers, periods, reporting schedules, acceptance and letters."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models.application import Application
from app.models.audit import AuditEvent
from app.models.award import Award, AwardLetter, AwardPackage
from app.models.impact_report import ImpactReport
from app.models.outbox import OutboxJob
from app.models.round import Round
from app.models.user import Organization
from app.outbox import enqueue_effect, next_number
from app.rules.awards import committed_total as committed_total  # re-exported
from app.storage import sha256, storage
from reports.letters import (
    TEMPLATE_VERSION,
    LetterData,
    ScheduledReport,
    data_checksum,
    render_letter_pdf,
)
from workflows.engine import follows

INTERIM_REPORT_DUE_DAYS = 30  # 2 CFR 200.328(b): interim reports within 30 days of the period
DEFAULT_CONDITIONS = (
    "This award is subject to 2 CFR 200 (Uniform Administrative Requirements, Cost Principles, "
    "and Audit Requirements for Federal Awards) and the terms in the notice of funding.",
    "Funds may be spent only on the activities and budget categories of the approved application; "
    "a change of scope or of more than 10 percent between categories needs prior written approval.",
    "The recipient will file every impact report on the schedule in this letter, measuring the "
    "indicators and targets of the approved application.",
    "The recipient will acknowledge the Office of City and State Diplomacy in public materials "
    "about the project.",
    "Cost share stated in the application is a condition of this award and must be documented.",
)


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class ScheduleEntry:
    kind: str  # interim | final
    title: str
    period_start: date
    period_end: date
    due: date


def reporting_schedule(
    start: date, end: date, interval_months: int = 6, final_days: int = 120
) -> list[ScheduleEntry]:
    """Interim progress reports every `interval_months` (due 30 days after each period), and a
    final report for the rest of the period, due `final_days` after its end."""
    entries: list[ScheduleEntry] = []
    period_start = start
    n = 1
    while True:
        period_end = add_months(start, interval_months * n) - timedelta(days=1)
        if period_end >= end:
            break
        entries.append(
            ScheduleEntry(
                "interim",
                f"Progress report {n}",
                period_start,
                period_end,
                period_end + timedelta(days=INTERIM_REPORT_DUE_DAYS),
            )
        )
        period_start = period_end + timedelta(days=1)
        n += 1
    # The final report measures the last stretch (its narrative covers the whole award), so
    # the indicator values of all of an award's reports add up to its totals.
    entries.append(
        ScheduleEntry("final", "Final report", period_start, end, end + timedelta(days=final_days))
    )
    return entries


def schedule_for(award: Award) -> list[ScheduleEntry]:
    rnd: Round = award.round
    return reporting_schedule(
        award.start_date, award.end_date, rnd.report_interval_months, rnd.final_report_days
    )


def award_number(now: datetime) -> str:
    return f"L2G-{now.year}-A{next_number(f'award-{now.year}'):04d}"


@follows("award", "accept")
def reports_owed(award: Award, ctx: Any) -> None:
    """An accepted award owes its impact reports (the acceptance itself is the action's)."""
    create_reports(award)


def create_reports(award: Award) -> list[ImpactReport]:
    existing = db.session.scalar(
        select(func.count(ImpactReport.id)).where(ImpactReport.award_id == award.id)
    )
    if existing:
        return []
    reports = [
        ImpactReport(
            award_id=award.id,
            organization_id=award.organization_id,
            kind=entry.kind,
            title=entry.title,
            period_start=entry.period_start,
            period_end=entry.period_end,
            due_on=entry.due,
        )
        for entry in schedule_for(award)
    ]
    db.session.add_all(reports)
    return reports


def letter_data(award: Award, letter_date: date) -> Any:
    """Everything the letter shows, gathered from the award, its application and its round."""
    application = award.application
    org = award.organization
    officer = award.offered_by
    return LetterData(
        letter_date=letter_date,
        organization_legal_name=org.legal_name,
        authorized_official_name=org.official_name or "Authorized official",
        authorized_official_title=org.official_title or "Authorized official",
        street_address=org.street or "Address on file",
        city=org.city or "City on file",
        state=org.state_code,
        zip_code=org.zip_code if org.zip_code else "00000",
        award_number=award.number,
        application_reference=application.reference or "",
        project_title=application.display_title,
        amount=award.amount,
        period_start=award.start_date,
        period_end=award.end_date,
        reporting_schedule=tuple(
            ScheduledReport(
                kind=e.kind,
                title=e.title,
                period_start=e.period_start,
                period_end=e.period_end,
                due=e.due,
            )
            for e in schedule_for(award)
        ),
        conditions=tuple(award.conditions),
        acceptance_deadline=award.acceptance_deadline,
        time_zone=award.round.timezone,
        signing_officer_name=(officer.display_name if officer else "Program Officer"),
        signing_officer_title="Program Officer, Office of City and State Diplomacy",
    )


def render_letter(award: Award) -> AwardLetter:
    """Render and store a new version of the award's letter, or return the latest one when it
    was made from the same data with the same template (a job run twice makes one letter)."""
    data = letter_data(award, award.offered_at.astimezone(award.round.zone).date())
    checksum = data_checksum(data)
    latest = award.latest_letter
    if latest and latest.data_checksum == checksum and latest.template_version == TEMPLATE_VERSION:
        return latest
    pdf = render_letter_pdf(data)
    key = storage().save(pdf, prefix=f"awards/{award.id}/letters", suffix=".pdf")
    letter = AwardLetter(
        award_id=award.id,
        version_no=(latest.version_no + 1) if latest else 1,
        storage_key=key,
        template_version=TEMPLATE_VERSION,
        data_checksum=checksum,
        sha256=sha256(pdf),
        size_bytes=len(pdf),
    )
    db.session.add(letter)
    db.session.flush()
    return letter


# The officer's side: the list of awards, conditions, letter regeneration ------------------------

AWARDS_PAGE_SIZE = 50


class StaleAward(Exception):
    """The award changed since the page that edits it was opened."""


@dataclass(frozen=True)
class AwardListRow:
    award: Award
    application: Any
    organization: Any
    round: Round


def award_list(
    round_id: int | None = None,
    state: str | None = None,
    page: int = 1,
    per_page: int = AWARDS_PAGE_SIZE,
) -> tuple[list[AwardListRow], int]:
    """One page of awards with their application, organization and round in one query, plus the
    total (a count query), whatever the number of awards."""
    query = (
        select(Award, Application, Organization, Round, func.count().over())
        .join(Application, Award.application_id == Application.id)
        .join(Organization, Award.organization_id == Organization.id)
        .join(Round, Award.round_id == Round.id)
    )
    if round_id:
        query = query.where(Award.round_id == round_id)
    if state:
        query = query.where(Award.state == state)
    rows = db.session.execute(
        query.order_by(Award.number.desc(), Award.id.desc())
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    ).all()
    total = int(rows[0][4]) if rows else 0
    if not rows and page > 1:  # past the last page: the count needs its own query
        total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return [AwardListRow(a, app, org, rnd) for a, app, org, rnd, _ in rows], total


def update_conditions(
    award: Award, conditions: list[str], expected_version: int, actor: Any, now: datetime
) -> None:
    """Replace an offered award's conditions; recorded in its audit trail. The letter keeps its
    old version until it is regenerated (every version is kept)."""
    if award.state != "offered":
        raise ValueError("conditions can be changed only while the award is offered")
    if award.version != expected_version:
        raise StaleAward()
    if list(award.conditions) == conditions:
        return
    award.conditions = list(conditions)
    db.session.add(
        AuditEvent(
            entity_type="award",
            entity_id=award.id,
            trigger="edit_conditions",
            from_state=award.state,
            to_state=award.state,
            actor_id=actor.id,
            actor_label=actor.email,
            actor_role=actor.role,
            comment=f"{len(conditions)} condition(s) set",
            created_at=now,
        )
    )
    db.session.flush()


def request_letter(award: Award) -> Any:
    """Queue the rendering of the award's letter: a new version if its data changed since the
    latest one, the latest one again if not."""
    return enqueue_effect("render_award_letter", "award", award.id)


# ---------------------------------------------------------------------------------------------
# What the officer's award pages read


def recent_packages(rnd: Round, limit: int = 5) -> list[Any]:
    """The round's latest award packages, each with its build job (or None)."""
    return list(
        db.session.execute(
            select(AwardPackage, OutboxJob)
            .outerjoin(OutboxJob, AwardPackage.job_id == OutboxJob.id)
            .where(AwardPackage.round_id == rnd.id)
            .order_by(AwardPackage.id.desc())
            .limit(limit)
        ).all()
    )


def unfinished_letter_jobs(award: Award) -> list[OutboxJob]:
    """The latest letter job of the award (or of its application, the first one), if it has
    not finished."""
    latest = db.session.scalars(
        select(OutboxJob)
        .where(
            OutboxJob.name == "render_award_letter",
            (
                (OutboxJob.entity_type == "award") & (OutboxJob.entity_id == award.id)
                | (OutboxJob.entity_type == "application")
                & (OutboxJob.entity_id == award.application_id)
            ),
        )
        .order_by(OutboxJob.id.desc())
        .limit(1)
    ).first()
    return [latest] if latest is not None and latest.status != "done" else []


def award_of(application_id: int) -> Award | None:
    return db.session.scalar(select(Award).where(Award.application_id == application_id))


def awards_by_application(application_ids: list[int]) -> dict[int, Award]:
    return {
        a.application_id: a
        for a in db.session.scalars(select(Award).where(Award.application_id.in_(application_ids)))
    }


def package_job(package: AwardPackage) -> OutboxJob | None:
    return db.session.get(OutboxJob, package.job_id) if package.job_id else None
