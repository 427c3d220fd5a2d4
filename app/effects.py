"""The jobs that workflow effects name. Each takes its outbox row (ids only) and is idempotent."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models.application import Application
from app.models.audit import AuditEvent
from app.models.award import Award, AwardPackage
from app.models.impact_report import ImpactReport
from app.models.outbox import OutboxJob
from app.models.review import Review
from app.models.user import Invitation, User
from app.outbox import job, report_progress
from app.rules.applications import SECTIONS
from app.rules.awards import unaccepted_report_count
from app.services import scores
from app.services.awards import render_letter
from app.services.mail import TOKEN_REMOVED, send_email
from app.services.packages import build, prepare_part
from app.services.reviews import complete_if_all_in
from workflows import SYSTEM, fire


def _organization_users(organization_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(
                User.organization_id == organization_id, User.is_active_account.is_(True)
            )
        )
    )


def _application(row: OutboxJob) -> Application:
    application = db.session.get(Application, row.entity_id)
    if application is None:
        raise LookupError(f"application {row.entity_id} no longer exists")
    return application


@job("send_submission_receipt")
def send_submission_receipt(row: OutboxJob) -> None:
    application = _application(row)
    event = db.session.get(AuditEvent, row.audit_event_id)
    for user in _organization_users(application.organization_id):
        send_email(
            user.email,
            f"Received: {application.reference} {application.display_title}",
            "email/submission_receipt.txt",
            dedupe_key=f"receipt:{row.audit_event_id}:{user.id}",
            application=application,
            event=event,
            user=user,
            sections=SECTIONS,
        )


@job("send_status_email")
def send_status_email(row: OutboxJob) -> None:
    application = _application(row)
    event = db.session.get(AuditEvent, row.audit_event_id)
    assert event is not None
    for user in _organization_users(application.organization_id):
        send_email(
            user.email,
            f"{application.reference or 'Your application'}: {application.state_title}",
            "email/status_change.txt",
            dedupe_key=f"status:{row.audit_event_id}:{user.id}",
            application=application,
            event=event,
            user=user,
        )


@job("send_invitation")
def send_invitation(row: OutboxJob) -> None:
    invitation = db.session.get(Invitation, row.entity_id)
    if invitation is None or invitation.accepted_at:
        return
    send_email(
        invitation.email,
        "You are invited to L2G, the Local-to-Global Engagement Fund",
        "email/invitation.txt",
        dedupe_key=f"invitation:{invitation.id}",
        invitation=invitation,
        token=row.payload["token"],
        secret=row.payload["token"],
    )
    # Sent: the token now lives only in the recipient's mailbox (the invitation keeps its hash).
    row.payload = {"token": TOKEN_REMOVED}


@job("complete_application_review")
def complete_application_review(row: OutboxJob) -> None:
    """After a review is submitted: when all are in, the system moves the application to scored."""
    review = db.session.get(Review, row.entity_id)
    if review is not None:
        complete_if_all_in(review.application)


@job(scores.RANK_JOB)
def rank_round(row: OutboxJob) -> None:
    """After a change of scores: the round's ranking at its scores version (see services.scores)."""
    assert row.entity_id is not None
    scores.rank(row.entity_id)


@job("notify_recusal")
def notify_recusal(row: OutboxJob) -> None:
    review = db.session.get(Review, row.entity_id)
    if review is None:
        return
    event = db.session.get(AuditEvent, row.audit_event_id)
    officers = db.session.scalars(
        select(User).where(User.role == "officer", User.is_active_account.is_(True))
    ).all()
    for officer in officers:
        send_email(
            officer.email,
            f"Recusal on {review.application.reference}: a reviewer is needed",
            "email/recusal.txt",
            dedupe_key=f"recusal:{row.audit_event_id}:{officer.id}",
            review=review,
            event=event,
            user=officer,
        )


def _award(row: OutboxJob) -> Award:
    award = db.session.get(Award, row.entity_id)
    if award is None:
        raise LookupError(f"award {row.entity_id} no longer exists")
    return award


@job("send_decision_email")
def send_decision_email(row: OutboxJob) -> None:
    application = _application(row)
    event = db.session.get(AuditEvent, row.audit_event_id)
    award = db.session.scalar(select(Award).where(Award.application_id == application.id))
    for user in _organization_users(application.organization_id):
        send_email(
            user.email,
            f"Decision on {application.reference}: {application.state_title}",
            "email/decision.txt",
            dedupe_key=f"decision:{row.audit_event_id}:{user.id}",
            application=application,
            event=event,
            award=award,
            user=user,
        )


@job("render_award_letter")
def render_award_letter(row: OutboxJob) -> None:
    """Render the award letter (idempotent: the same data gives back the same stored letter)."""
    if row.entity_type == "award":
        award = _award(row)
    else:
        award = db.session.scalar(select(Award).where(Award.application_id == row.entity_id))
        if award is None:
            raise LookupError(f"application {row.entity_id} has no award")
    render_letter(award)


@job("award_accepted")
def award_accepted(row: OutboxJob) -> None:
    award = _award(row)
    event = db.session.get(AuditEvent, row.audit_event_id)
    recipients = _organization_users(award.organization_id) + list(
        db.session.scalars(select(User).where(User.role == "officer"))
    )
    for user in recipients:
        send_email(
            user.email,
            f"Award {award.number} accepted",
            "email/award_status.txt",
            dedupe_key=f"award:{row.audit_event_id}:{user.id}",
            award=award,
            event=event,
            user=user,
        )


@job("send_award_status_email")
def send_award_status_email(row: OutboxJob) -> None:
    award = _award(row)
    event = db.session.get(AuditEvent, row.audit_event_id)
    recipients = _organization_users(award.organization_id)
    if event is not None and event.actor_role == "applicant":
        recipients += list(db.session.scalars(select(User).where(User.role == "officer")))
    for user in recipients:
        send_email(
            user.email,
            f"Award {award.number}: {award.state_title}",
            "email/award_status.txt",
            dedupe_key=f"award:{row.audit_event_id}:{user.id}",
            award=award,
            event=event,
            user=user,
        )


@job("send_report_status_email")
def send_report_status_email(row: OutboxJob) -> None:
    report = db.session.get(ImpactReport, row.entity_id)
    if report is None:
        raise LookupError(f"impact report {row.entity_id} no longer exists")
    event = db.session.get(AuditEvent, row.audit_event_id)
    recipients = _organization_users(report.organization_id)
    if report.state == "submitted":
        recipients = list(db.session.scalars(select(User).where(User.role == "officer")))
    for user in recipients:
        send_email(
            user.email,
            f"{report.title} for award {report.award.number}: {report.state_title}",
            "email/report_status.txt",
            dedupe_key=f"report:{row.audit_event_id}:{user.id}",
            report=report,
            event=event,
            user=user,
        )


@job("close_award_if_complete")
def close_award_if_complete(row: OutboxJob) -> None:
    """Accepting the final report, with every other report accepted, closes the award."""
    report = db.session.get(ImpactReport, row.entity_id)
    if report is None:
        return
    award = report.award
    if award.state == "active" and unaccepted_report_count(award) == 0:
        fire(award, "close", SYSTEM, comment="every impact report is accepted")


# The award package (officer side of issue 4) -----------------------------------------------------


def _package_id(row: OutboxJob) -> int:
    package = db.session.get(AwardPackage, row.entity_id)
    if package is None:
        raise LookupError(f"award package {row.entity_id} no longer exists")
    return package.id


@job("prepare_package_part")
def prepare_package_part(row: OutboxJob) -> None:
    """Render the missing letters and the summaries of one part of a package's awards, so
    several workers share the work; the build takes what the parts made (idempotent: a second
    run keeps the summaries it stored the first time)."""
    _package_id(row)
    payload = dict(row.payload or {})
    payload["prepared"] = prepare_part(
        list(payload.get("award_ids") or []),
        payload.get("scores") or {},
        payload.get("prepared") or {},
    )
    row.payload = payload


@job("build_award_package")
def build_award_package(row: OutboxJob) -> None:
    """Write the round's award package (a ZIP) through the storage interface, reporting its
    progress; running it again gives the same bytes."""
    build(_package_id(row), lambda percent, note: report_progress(row, percent, note))
