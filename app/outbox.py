"""The outbox: jobs written in the change's transaction, run after its commit.

Services (and the engine) import this module to leave work for after the commit, and to number
things; they never import the job bodies (`app/effects.py`) nor the runner (`app/jobs.py`). The job
bodies register themselves here by name with `@job(...)`; the runner imports them, and the app
factory imports the runner, so every name is known once an app exists.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, update

from app.extensions import db
from app.models.outbox import Counter, OutboxJob

JobFunction = Callable[[OutboxJob], None]
# A job's name → the module and function that run it, looked up when the job runs, so that
# replacing the function in its module (as a test's monkeypatch does) counts at once.
_REGISTRY: dict[str, tuple[str, str]] = {}


def job(name: str) -> Callable[[JobFunction], JobFunction]:
    """Register a function as the job (workflow effect) called `name`."""

    def register(fn: JobFunction) -> JobFunction:
        _REGISTRY[name] = (fn.__module__, fn.__name__)
        return fn

    return register


def registry() -> dict[str, JobFunction]:
    """The jobs registered so far (all of them once `app.jobs` is imported, as the app does)."""
    return {
        name: getattr(importlib.import_module(module), function)
        for name, (module, function) in _REGISTRY.items()
    }


def enqueue_effect(
    name: str,
    entity_type: str | None,
    entity_id: int | None,
    audit_event_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> OutboxJob:
    """Write an outbox row in the current transaction; it is dispatched after the commit."""
    if name not in _REGISTRY:
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
    pending_ids().append(row.id)
    return row


def pending_ids() -> list[int]:
    """The outbox rows this transaction wrote, to dispatch once it commits."""
    return db.session.info.setdefault("outbox_ids", [])


def take_pending_ids() -> list[int]:
    return db.session.info.pop("outbox_ids", [])


def retry(outbox_id: int) -> None:
    """Send a failed job round again."""
    row = db.session.get(OutboxJob, outbox_id)
    if row is None or row.status != "failed":
        raise ValueError("only a failed job can be retried")
    row.status = "pending"
    db.session.flush()
    pending_ids().append(row.id)


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
