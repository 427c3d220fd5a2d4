"""The audit trail and the outbox: what a transition leaves behind, atomically, and its jobs.

Everything here runs the same way with jobs inline (SQLite) and with a real rq worker (PostgreSQL
and REDIS_URL): tests wait for jobs with `wait_for_jobs()`, and the failing job fails because of
its data, which a worker process sees as well as this one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask import Flask, current_app
from sqlalchemy import func, select

from app.clock import utcnow
from app.extensions import db
from app.jobs import commit, dispatch, retry, rollback, run_outbox_job
from app.models.application import Application
from app.models.audit import AppendOnlyError, AuditEvent
from app.models.outbox import EmailMessage, OutboxJob
from app.models.user import Invitation
from app.services.accounts import invite
from tests.factories import Factory
from tests.mailbox import body, sent_to
from workflows import fire

Wait = Callable[[], None]


def count(model: type, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def counts_seen_by_another_connection(application_id: int) -> tuple[str, int, int, int]:
    """What a second database connection (another request, the worker) sees right now."""
    applications, audit = Application.__table__.c, AuditEvent.__table__.c
    with db.engine.connect() as other:
        state = other.scalar(select(applications.state).where(applications.id == application_id))
        audits = other.scalar(
            select(func.count()).where(
                audit.entity_type == "application", audit.entity_id == application_id
            )
        )
        jobs = other.scalar(select(func.count()).select_from(OutboxJob.__table__))
        emails = other.scalar(select(func.count()).select_from(EmailMessage.__table__))
    return state, audits, jobs, emails


# --- the audit trail ----------------------------------------------------------------------------


def test_audit_events_cannot_be_changed_or_deleted(make: Factory) -> None:
    applicant = make.applicant()
    application = make.application(user=applicant)
    event = fire(application, "withdraw", applicant, comment="Changed our plans.")
    commit()

    event.comment = "We never meant it."
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    rollback()
    db.session.delete(event)
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    rollback()

    db.session.expire_all()
    stored = db.session.get(AuditEvent, event.id)
    assert stored is not None and stored.comment == "Changed our plans."
    assert (stored.trigger, stored.from_state, stored.to_state) == (
        "withdraw",
        "draft",
        "withdrawn",
    )


def test_every_transition_adds_one_event_in_order(make: Factory) -> None:
    officer = make.officer()
    applicant = make.applicant()
    application = make.application(user=applicant, submit=True)
    fire(application, "return_to_draft", officer, comment="Add a partner letter.")
    commit()
    fire(application, "submit", applicant)
    commit()
    rows = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == "application", AuditEvent.entity_id == application.id)
        .order_by(AuditEvent.id)
    ).all()
    assert [(r.from_state, r.to_state, r.actor_id) for r in rows] == [
        ("draft", "submitted", applicant.id),
        ("submitted", "draft", officer.id),
        ("draft", "submitted", applicant.id),
    ]
    assert rows[1].comment == "Add a partner letter."
    assert rows[1].actor_label == officer.email and rows[1].actor_role == "officer"
    assert all(isinstance(r.created_at, datetime) and r.created_at.tzinfo for r in rows)


# --- one transaction ----------------------------------------------------------------------------


def test_state_audit_and_outbox_commit_together(make: Factory, wait_for_jobs: Wait) -> None:
    applicant = make.applicant()
    application = make.application(user=applicant)
    event = fire(application, "submit", applicant)
    # Flushed in this transaction, invisible to everyone else until the commit.
    assert counts_seen_by_another_connection(application.id) == ("draft", 0, 0, 0)
    job = db.session.scalar(select(OutboxJob).where(OutboxJob.audit_event_id == event.id))
    assert job is not None and (job.name, job.status) == ("send_submission_receipt", "pending")
    assert (job.entity_type, job.entity_id) == ("application", application.id)

    commit()
    wait_for_jobs()
    assert counts_seen_by_another_connection(application.id) == ("submitted", 1, 1, 1)
    db.session.expire_all()
    assert job.status == "done" and job.attempts == 1 and job.error is None
    email = db.session.scalar(select(EmailMessage))
    assert email is not None and email.to_address == applicant.email


def test_a_rollback_leaves_no_state_no_event_and_runs_no_job(
    make: Factory, wait_for_jobs: Wait
) -> None:
    applicant = make.applicant()
    application = make.application(user=applicant)
    fire(application, "submit", applicant)
    assert application.state == "submitted"
    rollback()

    db.session.expire_all()
    assert application.state == "draft" and application.reference is None
    assert count(AuditEvent, AuditEvent.entity_type == "application") == 0
    assert count(OutboxJob) == 0
    # The next unit of work commits and dispatches only its own jobs: none of the rolled-back one.
    make.applicant(applicant.organization)
    assert dispatch() == 0
    wait_for_jobs()
    assert count(EmailMessage) == 0
    assert counts_seen_by_another_connection(application.id) == ("draft", 0, 0, 0)


# --- failures, retries and the dispatcher --------------------------------------------------------


def _invitation_with_a_broken_job(make: Factory) -> tuple[Invitation, str, OutboxJob]:
    """An invitation whose email job lost its token: it fails, wherever it runs."""
    officer = make.officer()
    invitation, token = invite("new.reviewer@example.gov", "reviewer", officer, utcnow())
    job = db.session.scalar(select(OutboxJob).where(OutboxJob.entity_id == invitation.id))
    assert job is not None and job.name == "send_invitation"
    job.payload = {}
    return invitation, token, job


def _without_rq_auto_retry(job: OutboxJob) -> None:
    """Under rq a failed job is also retried by rq itself, 5 s later. Take that retry off rq's
    schedule so it cannot run once this test's tables are emptied and the job's id is reused."""
    if not current_app.config.get("REDIS_URL"):
        return
    from redis import Redis
    from rq import Queue

    config = current_app.config
    with Redis.from_url(config["REDIS_URL"]) as connection:
        queue = Queue(config["RQ_QUEUE"], connection=connection)
        registry = queue.scheduled_job_registry
        rq_id = f"{queue.name}-outbox-{job.id}"
        deadline = time.monotonic() + 10
        while rq_id not in registry.get_job_ids() and time.monotonic() < deadline:
            time.sleep(0.05)
        registry.remove(rq_id)


def test_a_failing_job_is_recorded_and_a_retry_runs_it_to_done(
    app: Flask, make: Factory, wait_for_jobs: Wait
) -> None:
    invitation, token, job = _invitation_with_a_broken_job(make)
    commit()
    wait_for_jobs()
    _without_rq_auto_retry(job)

    db.session.expire_all()
    assert job.status == "failed"
    assert job.error == "KeyError: 'token'"
    assert job.attempts == 1 and job.finished_at is not None
    failed = db.session.scalars(select(OutboxJob.id).where(OutboxJob.status == "failed")).all()
    assert failed == [job.id]
    assert count(EmailMessage) == 0

    job.payload = {"token": token}  # the data is mended
    retry(job.id)
    assert job.status == "pending"
    commit()
    wait_for_jobs()

    db.session.expire_all()
    assert job.status == "done" and job.error is None
    assert job.attempts >= 2
    email = db.session.scalar(select(EmailMessage))
    assert email is not None and email.to_address == invitation.email
    assert f"/invitations/{token}" not in email.body  # recorded without its token
    assert f"/invitations/{token}" in body(sent_to(app, invitation.email)[-1])
    assert job.payload == {"token": "[token removed]"}  # sent: the payload forgets it
    assert run_outbox_job(job.id) == "done"  # done is done: nothing is sent twice
    assert count(EmailMessage) == 1


def test_only_a_failed_job_can_be_retried(app: Flask, make: Factory, wait_for_jobs: Wait) -> None:
    applicant = make.applicant()
    make.application(user=applicant, submit=True)
    wait_for_jobs()
    job = db.session.scalar(select(OutboxJob))
    assert job is not None and job.status == "done"
    with pytest.raises(ValueError, match="only a failed job can be retried"):
        retry(job.id)
    result = app.test_cli_runner().invoke(args=["jobs", "retry", str(job.id)])
    assert result.exit_code != 0
    assert "only a failed job can be retried" in result.output
    assert run_outbox_job(10_000) == "missing"


def test_flask_jobs_retry_sends_a_failed_job_again(
    app: Flask, make: Factory, wait_for_jobs: Wait
) -> None:
    _invitation, token, job = _invitation_with_a_broken_job(make)
    commit()
    wait_for_jobs()
    _without_rq_auto_retry(job)
    db.session.expire_all()
    assert job.status == "failed"
    job.payload = {"token": token}
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["jobs", "retry", str(job.id)])
    assert result.exit_code == 0, result.output
    assert f"Job {job.id} sent again." in result.output
    wait_for_jobs()
    db.session.expire_all()
    assert job.status == "done"
    assert count(EmailMessage) == 1


def test_flask_jobs_dispatch_runs_pending_jobs(
    app: Flask, make: Factory, wait_for_jobs: Wait
) -> None:
    applicant = make.applicant()
    application = make.application(user=applicant)
    fire(application, "submit", applicant)
    fire(application, "withdraw", applicant)
    db.session.commit()  # committed without dispatching, as after a crash between the two
    db.session.info.pop("outbox_ids", None)
    assert count(OutboxJob, OutboxJob.status == "pending") == 2

    result = app.test_cli_runner().invoke(args=["jobs", "dispatch"])
    assert result.exit_code == 0, result.output
    assert "Dispatched 2 job(s)." in result.output
    wait_for_jobs()
    db.session.expire_all()
    assert count(OutboxJob, OutboxJob.status == "done") == 2
    subjects = set(db.session.scalars(select(EmailMessage.subject)))
    assert subjects == {
        f"Received: {application.reference} {application.display_title}",
        f"{application.reference}: Withdrawn",
    }
    again = app.test_cli_runner().invoke(args=["jobs", "dispatch"])
    assert "Dispatched 0 job(s)." in again.output


def test_a_redis_outage_loses_no_job(
    app: Flask, make: Factory, wait_for_jobs: Wait, monkeypatch: pytest.MonkeyPatch
) -> None:
    applicant = make.applicant()
    application = make.application(user=applicant)
    with monkeypatch.context() as outage:
        outage.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
        fire(application, "submit", applicant)
        commit()  # the change is kept; its job waits
    db.session.expire_all()
    assert application.state == "submitted"
    job = db.session.scalar(select(OutboxJob))
    assert job is not None and job.status == "pending"
    assert count(EmailMessage) == 0

    result = app.test_cli_runner().invoke(args=["jobs", "dispatch"])
    assert "Dispatched 1 job(s)." in result.output
    wait_for_jobs()
    db.session.expire_all()
    assert job.status == "done"
    assert db.session.scalar(select(EmailMessage.to_address)) == applicant.email


def test_a_deactivated_colleague_gets_no_receipt(make: Factory, wait_for_jobs: Wait) -> None:
    applicant = make.applicant()
    gone = make.applicant(applicant.organization)
    gone.is_active_account = False
    commit()
    make.application(user=applicant, submit=True)
    wait_for_jobs()
    assert list(db.session.scalars(select(EmailMessage.to_address))) == [applicant.email]
