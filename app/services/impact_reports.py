"""Impact reports: what a report needs before it is submitted, and its frozen versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.domain import INDICATORS
from app.extensions import db
from app.models.application import ImpactTarget
from app.models.audit import AuditEvent
from app.models.impact_report import ImpactReport, ReportAttachment, ReportSubmission
from app.models.user import User
from app.rules.impact_reports import NARRATIVE_FIELDS
from app.rules.impact_reports import report_problems as report_problems  # re-exported
from app.services.applications import safe_filename
from app.services.mail import email_sent, send_email
from app.services.pdf_uploads import check_upload
from app.states import ImpactReportState
from app.storage import sha256, storage
from workflows.engine import follows


def submission_content(report: ImpactReport) -> dict[str, Any]:
    return {
        "indicators": dict(report.indicators or {}),
        "accomplishments": report.accomplishments,
        "challenges": report.challenges,
        "next_period_plans": report.next_period_plans,
        "outcomes_by_area": dict(report.outcomes_by_area or {}),
    }


@follows("impact_report", "submit")
def freeze_submission(report: ImpactReport, ctx: Any) -> ReportSubmission:
    """Keep the report exactly as submitted; a resubmission after changes is a new version."""
    count = db.session.scalar(
        select(func.count(ReportSubmission.id)).where(ReportSubmission.report_id == report.id)
    )
    submission = ReportSubmission(
        report_id=report.id,
        number=(count or 0) + 1,
        content=submission_content(report),
        submitted_by_id=ctx.actor.id,
        submitted_at=ctx.now,
    )
    db.session.add(submission)
    return submission


DUE_SOON_DAYS = 14
OVERDUE_FIRST_REMINDER_DAYS = 1
OVERDUE_REPEAT_DAYS = 7
OPEN_STATES = ImpactReportState.tagged("open")
# Indicators that are running totals: the latest accepted value counts, not the sum.
CUMULATIVE_INDICATORS = frozenset({"funds_spent_usd"})


class ReportLocked(PermissionError):
    pass


def due_status(report: ImpactReport, today: date) -> tuple[str, int]:
    """('overdue', days late) | ('due_soon', days left) | ('upcoming', days left) | ('done', 0).

    Computed from the due date, never stored.
    """
    if report.state in ImpactReportState.tagged("filed"):
        return ("done", 0)
    days = (report.due_on - today).days
    if days < 0:
        return ("overdue", -days)
    if days <= DUE_SOON_DAYS:
        return ("due_soon", days)
    return ("upcoming", days)


def status_filter(status: str, today: date) -> Any:
    """The SQL condition for a computed status, so lists filter in the database."""
    open_ = ImpactReport.state.in_(OPEN_STATES)
    if status == "overdue":
        return open_ & (ImpactReport.due_on < today)
    if status == "due_soon":
        return open_ & ImpactReport.due_on.between(today, today + timedelta(days=DUE_SOON_DAYS))
    if status == "awaiting_review":
        return ImpactReport.state == "submitted"
    if status == "accepted":
        return ImpactReport.state == "accepted"
    return None


def save_draft(report: ImpactReport, values: dict[str, Any], expected_version: int) -> None:
    if report.state not in OPEN_STATES:
        raise ReportLocked("a submitted report is read-only unless changes are requested")
    if report.version != expected_version:
        from app.services.rounds import StaleEdit

        raise StaleEdit()
    report.indicators = {
        code: (
            str(values["indicators"][code]) if values["indicators"].get(code) is not None else None
        )
        for code in INDICATORS
    }
    for key in NARRATIVE_FIELDS:
        setattr(report, key, (values.get(key) or "").strip())
    report.outcomes_by_area = {
        k: v.strip() for k, v in (values.get("outcomes_by_area") or {}).items() if v and v.strip()
    }
    db.session.flush()


def _record(report: ImpactReport, trigger: str, actor: Any, comment: str, now: datetime) -> None:
    """Schedule changes are not transitions but belong in the same audit trail."""
    db.session.add(
        AuditEvent(
            entity_type="impact_report",
            entity_id=report.id,
            trigger=trigger,
            from_state=report.state,
            to_state=report.state,
            actor_id=actor.id,
            actor_label=actor.email,
            actor_role=actor.role,
            comment=comment,
            created_at=now,
        )
    )


def move_due_date(
    report: ImpactReport, new_due: date, reason: str, actor: Any, now: datetime
) -> None:
    if not reason.strip():
        raise ValueError("a reason is required to move a due date")
    if report.state == "accepted":
        raise ReportLocked("an accepted report keeps its due date")
    old = report.due_on
    report.due_on = new_due
    db.session.flush()
    _record(
        report,
        "move_due_date",
        actor,
        f"{old.isoformat()} → {new_due.isoformat()}: {reason.strip()}",
        now,
    )


def add_one_off(
    award: Any,
    title: str,
    period_start: date,
    period_end: date,
    due: date,
    reason: str,
    actor: Any,
    now: datetime,
) -> ImpactReport:
    if not reason.strip():
        raise ValueError("a reason is required to add a report")
    if period_end < period_start:
        raise ValueError("the period must end after it starts")
    report = ImpactReport(
        award_id=award.id,
        organization_id=award.organization_id,
        kind="interim",
        title=title.strip(),
        period_start=period_start,
        period_end=period_end,
        due_on=due,
    )
    db.session.add(report)
    db.session.flush()
    _record(report, "add_report", actor, reason.strip(), now)
    return report


@dataclass(frozen=True)
class Reminder:
    report: ImpactReport
    kind: str  # before | overdue
    sequence: int  # 0 for "before" and the first overdue; n for the n-th weekly one


def reminders_due(today: date) -> list[Reminder]:
    """Which reminders are owed today: 14 days before the due date, 1 day after it, then weekly
    while the report stays overdue. Each (report, kind, sequence) is one email, ever."""
    reports = db.session.scalars(
        select(ImpactReport).where(
            ImpactReport.state.in_(OPEN_STATES),
            ImpactReport.due_on <= today + timedelta(days=DUE_SOON_DAYS),
        )
    ).all()
    owed = []
    for report in reports:
        late = (today - report.due_on).days
        if late < OVERDUE_FIRST_REMINDER_DAYS:
            if late <= 0:
                owed.append(Reminder(report, "before", 0))
        else:
            weeks = (late - OVERDUE_FIRST_REMINDER_DAYS) // OVERDUE_REPEAT_DAYS
            owed.append(Reminder(report, "overdue", weeks))
    return owed


def send_reminders(now: datetime) -> int:
    """Send every reminder owed today to the grantee's users and the officers, once each."""
    officers = db.session.scalars(select(User).where(User.role == "officer")).all()
    sent = 0
    for reminder in reminders_due(now.date()):
        report = reminder.report
        grantees = db.session.scalars(
            select(User).where(User.organization_id == report.organization_id)
        ).all()
        recipients = list(grantees) + (list(officers) if reminder.kind == "overdue" else [])
        for user in recipients:
            key = (
                f"report-reminder:{report.id}:{report.due_on.isoformat()}:"
                f"{reminder.kind}:{reminder.sequence}:{user.id}"
            )
            if email_sent(key):
                continue
            send_email(
                user.email,
                (
                    f"Overdue: {report.title}"
                    if reminder.kind == "overdue"
                    else f"Due soon: {report.title}"
                )
                + f" for award {report.award.number}",
                "email/report_reminder.txt",
                dedupe_key=key,
                report=report,
                reminder=reminder,
                user=user,
                today=now.date(),
            )
            sent += 1
    return sent


def add_attachment(report: ImpactReport, filename: str, data: bytes, user: Any) -> Any:
    """A PDF attachment, checked like a letter of support (app/services/pdf_uploads.py)."""

    if report.state not in OPEN_STATES:
        raise ReportLocked("attachments can change only while the report is open")
    check_upload(data)
    key = storage().save(data, prefix=f"reports/{report.id}", suffix=".pdf")
    attachment = ReportAttachment(
        report_id=report.id,
        filename=safe_filename(filename),
        storage_key=key,
        size_bytes=len(data),
        sha256=sha256(data),
        uploaded_by_id=user.id,
    )
    db.session.add(attachment)
    db.session.flush()
    return attachment


def targets_for(report: ImpactReport) -> dict[str, Any]:
    """The application's baselines and targets, which the report form shows beside each value."""
    rows = db.session.scalars(
        select(ImpactTarget).where(ImpactTarget.application_id == report.award.application_id)
    ).all()
    return {t.indicator: t for t in rows}
