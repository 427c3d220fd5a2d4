"""Set-ups shared by the decision, award-lifecycle and award-package tests: rounds whose
applications are scored (so the ranking orders them) and awards made through the engine."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from app.clock import utcnow
from app.extensions import db
from app.jobs import commit
from app.models.application import Application
from app.models.audit import AuditEvent
from app.models.award import Award
from app.models.outbox import OutboxJob
from app.models.review import Review
from app.models.round import Round
from app.models.user import User
from app.services.scores import rebuild_round
from tests.factories import Factory
from workflows import fire


@pytest.fixture(autouse=True)
def jobs_settled(app: Flask) -> Iterator[None]:
    """After each test under a real rq worker, wait (long) for the jobs it handed over: a letter
    takes seconds there, and the tables must not be emptied under a running job. (Inline, jobs
    have run already; a job never handed over, as after a failed assertion, is not waited for.)"""
    yield
    if not app.config.get("REDIS_URL"):
        return
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        db.session.rollback()
        busy = db.session.scalar(
            select(OutboxJob.id).where(OutboxJob.status.in_(("queued", "running"))).limit(1)
        )
        if busy is None:
            return
        time.sleep(0.1)


def quiet_commit() -> None:
    """Commit set-up work without running its effects: the receipts and screening emails of the
    set-up are not what these tests check, and under a real rq worker each job costs seconds.
    (Set-up only; the jobs under test are run by `app.jobs.commit`.)"""
    ids = db.session.info.pop("outbox_ids", [])
    if ids:
        db.session.execute(update(OutboxJob).where(OutboxJob.id.in_(ids)).values(status="done"))
    db.session.commit()


def scored_round(
    make: Factory,
    officer: User,
    requests: Sequence[Decimal | int],
    scores: Sequence[int] | None = None,
    users: Sequence[User | None] | None = None,
    **round_values: Any,
) -> tuple[Round, list[Application]]:
    """A round in review whose applications are scored: one reviewer scores them all, so the
    ranking follows `scores` (lower is better; by default the order given)."""
    rnd = make.round(officer=officer, **round_values)
    reviewer = make.reviewer(email=f"panel-{rnd.id}@review.example.org")
    scores = list(scores) if scores is not None else [1 + i % 9 for i in range(len(requests))]
    users = list(users) if users is not None else [None] * len(requests)
    applications = []
    for request, score, user in zip(requests, scores, users, strict=True):
        application = make.application(rnd, user=user, request=Decimal(request))
        fire(application, "submit", application.created_by)
        fire(application, "mark_eligible", officer)
        db.session.add(
            Review(
                application_id=application.id,
                reviewer_id=reviewer.id,
                state="submitted",
                overall_score=score,
                confidence=2,
                submitted_at=utcnow(),
            )
        )
        db.session.flush()
        fire(application, "start_review", officer)
        fire(application, "complete_review", officer)
        quiet_commit()
        applications.append(application)
    fire(rnd, "close", officer)
    fire(rnd, "start_review", officer)
    rebuild_round(rnd)  # the reviews were written directly, not through the engine
    quiet_commit()
    return rnd, applications


def award(
    application: Application,
    officer: User,
    amount: Decimal | int | None = None,
    comment: str | None = "Funded in rank order.",
) -> Award:
    data = {"amount": Decimal(amount)} if amount is not None else {}
    fire(application, "award", officer, comment=comment, data=data)
    commit()
    found = db.session.scalar(select(Award).where(Award.application_id == application.id))
    assert found is not None
    return found


def events_of(entity_type: str, entity_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.id)
        )
    )
