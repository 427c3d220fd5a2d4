"""The outbox runner: the jobs a commit left in the outbox, run inline or handed to rq.

Without REDIS_URL the jobs run inline, in this process, right after the commit. With it they are
handed to rq (which runs `app.worker.run_outbox_job`); a Redis outage leaves them pending and
`flask jobs dispatch` hands them over later. Every job takes ids, records its own status, and is
idempotent. Writing a job, numbering and the registry are `app/outbox.py`; the job bodies are
`app/effects.py`, imported here so that every job is registered once an app exists.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from sqlalchemy import select, update

import app.effects  # noqa: F401  (registers the jobs)
from app.clock import utcnow
from app.extensions import db
from app.models.outbox import OutboxJob
from app.outbox import (
    JobFunction,
    enqueue_effect,
    job,
    next_number,
    registry,
    report_progress,
    retry,
    take_pending_ids,
)

__all__ = [
    "commit",
    "dispatch",
    "enqueue_effect",
    "job",
    "next_number",
    "registered_jobs",
    "report_progress",
    "retry",
    "rollback",
    "run_outbox_job",
]

log = logging.getLogger(__name__)
# rq imports the worker's entry point by name: it makes the app, which imports this module.
WORKER_ENTRY = "app.worker.run_outbox_job"


def registered_jobs() -> dict[str, JobFunction]:
    return registry()


def commit() -> None:
    """Commit the request's unit of work, then hand its new jobs to the runner."""
    ids = take_pending_ids()
    db.session.commit()
    if ids:
        dispatch(ids)


def rollback() -> None:
    take_pending_ids()
    db.session.rollback()


def _queue() -> Any:
    app = current_app
    return Queue(app.config["RQ_QUEUE"], connection=Redis.from_url(app.config["REDIS_URL"]))


def dispatch(ids: list[int] | None = None) -> int:
    """Run (inline) or enqueue (rq) the given pending jobs, or all pending ones."""
    if ids is None:
        ids = list(
            db.session.scalars(
                select(OutboxJob.id).where(OutboxJob.status == "pending").order_by(OutboxJob.id)
            )
        )
    if not current_app.config.get("REDIS_URL"):
        for job_id in ids:
            run_outbox_job(job_id)
        return len(ids)
    try:
        queue = _queue()
        for job_id in ids:
            queue.enqueue(
                WORKER_ENTRY,
                job_id,
                # Named by queue too: deployments (and test runs) sharing a Redis never meet.
                job_id=f"{queue.name}-outbox-{job_id}",
                retry=Retry(max=3, interval=[5, 30, 120]),
                failure_ttl=7 * 24 * 3600,
            )
    except RedisError:
        log.exception(
            "Redis unavailable: %d job(s) stay pending until `flask jobs dispatch`", len(ids)
        )
        return 0
    db.session.execute(
        update(OutboxJob)
        .where(OutboxJob.id.in_(ids), OutboxJob.status == "pending")
        .values(status="queued")
    )
    db.session.commit()
    return len(ids)


def run_outbox_job(outbox_id: int) -> str:
    """Run one outbox job by id. Done jobs are not run again; failures are recorded and re-raised
    under rq (so its Retry applies) and logged inline. Needs an app context (rq's worker makes
    one in `app.worker`)."""
    row = db.session.get(OutboxJob, outbox_id, populate_existing=True)
    if row is None:
        return "missing"
    if row.status == "done":
        return "done"
    row.status = "running"
    row.attempts += 1
    row.started_at = utcnow()
    row.error = None
    db.session.commit()
    try:
        registered_jobs()[row.name](row)
        row.status = "done"
        row.progress = 100
        row.finished_at = utcnow()
        commit()  # and dispatch any job this one created (a transition it fired, say)
        return "done"
    except Exception as exc:
        db.session.rollback()
        row = db.session.get(OutboxJob, outbox_id, populate_existing=True)
        assert row is not None
        row.status = "failed"
        row.error = "".join(traceback.format_exception_only(exc)).strip()
        row.finished_at = utcnow()
        db.session.commit()
        log.exception("job %s #%d failed", row.name, outbox_id)
        if current_app.config.get("REDIS_URL"):
            raise
        return "failed"
