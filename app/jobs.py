"""Background jobs through an outbox: written in the change's transaction, run after its commit.

Without REDIS_URL the jobs run inline, in this process, right after the commit. With it they are
handed to rq; a Redis outage leaves them pending and `flask jobs dispatch` hands them over later.
Every job takes ids, records its own status, and is idempotent.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import insert, select, update

from app.clock import utcnow
from app.extensions import db
from app.models.outbox import Counter, OutboxJob

log = logging.getLogger(__name__)

JobFunction = Callable[[OutboxJob], None]
_REGISTRY: dict[str, JobFunction] = {}


def job(name: str) -> Callable[[JobFunction], JobFunction]:
    """Register a function as the job (workflow effect) called `name`."""

    def register(fn: JobFunction) -> JobFunction:
        _REGISTRY[name] = fn
        return fn

    return register


def registered_jobs() -> dict[str, JobFunction]:
    import app.effects  # noqa: F401  (registers the jobs)

    return dict(_REGISTRY)


def enqueue_effect(
    name: str,
    entity_type: str | None,
    entity_id: int | None,
    audit_event_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> OutboxJob:
    """Write an outbox row in the current transaction; it is dispatched after the commit."""
    if name not in registered_jobs():
        raise KeyError(f"no job named {name!r}")
    row = OutboxJob(
        name=name,
        entity_type=entity_type,
        entity_id=entity_id,
        audit_event_id=audit_event_id,
        payload=payload or {},
    )
    db.session.add(row)
    db.session.flush()
    db.session.info.setdefault("outbox_ids", []).append(row.id)
    return row


def commit() -> None:
    """Commit the request's unit of work, then hand its new jobs to the runner."""
    ids = db.session.info.pop("outbox_ids", [])
    db.session.commit()
    if ids:
        dispatch(ids)


def rollback() -> None:
    db.session.info.pop("outbox_ids", None)
    db.session.rollback()


def _queue() -> Any:
    from redis import Redis
    from rq import Queue

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
    from redis.exceptions import RedisError
    from rq import Retry

    try:
        queue = _queue()
        for job_id in ids:
            queue.enqueue(
                run_outbox_job,
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


_worker_app: Flask | None = None


def _ensure_app() -> Any:
    """Inside an rq worker there is no app: make one per process, once."""
    global _worker_app
    if has_app_context():
        return None
    if _worker_app is None:
        from app import create_app

        _worker_app = create_app()
    ctx = _worker_app.app_context()
    ctx.push()
    return ctx


def run_outbox_job(outbox_id: int) -> str:
    """Run one outbox job by id. Done jobs are not run again; failures are recorded and re-raised
    under rq (so its Retry applies) and logged inline."""
    ctx = _ensure_app()
    try:
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
    finally:
        if ctx is not None:
            db.session.remove()
            ctx.pop()


def retry(outbox_id: int) -> None:
    """Send a failed job round again."""
    row = db.session.get(OutboxJob, outbox_id)
    if row is None or row.status != "failed":
        raise ValueError("only a failed job can be retried")
    row.status = "pending"
    db.session.flush()
    db.session.info.setdefault("outbox_ids", []).append(row.id)


def report_progress(row: OutboxJob, percent: int, note: str = "") -> None:
    """Record how far a long job has got, committed at once so a page can show it."""
    row.progress = max(0, min(100, percent))
    row.progress_note = note[:200]
    db.session.commit()


def next_number(name: str) -> int:
    """The next value of a named sequence, safe under concurrent transactions.

    The UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite) until commit.
    """
    bumped = db.session.execute(
        update(Counter)
        .where(Counter.name == name)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    ).scalar_one_or_none()
    if bumped is not None:
        return bumped
    db.session.execute(insert(Counter).values(name=name, value=1))
    return 1
