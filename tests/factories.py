"""Factories that build real rows through the services, the way users would."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select, text

from app.clock import utcnow
from app.demo_applications import sample_letter_pdf
from app.domain import BUDGET_CATEGORIES, GOVERNMENT_TYPES, PRIORITY_AREAS
from app.extensions import db
from app.jobs import commit
from app.models.application import Application
from app.models.outbox import OutboxJob
from app.models.round import Round
from app.models.user import Organization, User
from app.services import applications as svc
from app.services.accounts import create_user
from app.services.rounds import create_round
from workflows import fire

PASSWORD = "correct horse battery staple"

# The `login` fixture: a browser of its own, signed in as the given user.
SignIn = Callable[[User], FlaskClient]
_seq = itertools.count(1)


class Factory:
    def __init__(self) -> None:
        self.password = PASSWORD

    def user(self, role: str, organization: Organization | None = None, **kw: Any) -> User:
        n = next(_seq)
        email = kw.pop("email", f"{role}{n}@example.gov")
        user = create_user(
            email,
            self.password,
            role,
            name=kw.pop("name", f"{role.title()} {n}"),
            organization=organization,
        )
        commit()
        return user

    def officer(self, **kw: Any) -> User:
        return self.user("officer", **kw)

    def admin(self, **kw: Any) -> User:
        return self.user("admin", **kw)

    def reviewer(self, **kw: Any) -> User:
        return self.user("reviewer", **kw)

    def organization(self, **kw: Any) -> Organization:
        n = next(_seq)
        values = dict(
            legal_name=f"City of Testville {n}",
            government_type="city",
            state_code="OH",
            population=100_000 + n,
            street="1 Main St",
            city="Testville",
            zip_code="43001",
            official_name="Alex Mayor",
            official_title="Mayor",
        )
        values.update(kw)
        organization = Organization(**values)
        db.session.add(organization)
        commit()
        return organization

    def applicant(self, organization: Organization | None = None, **kw: Any) -> User:
        return self.user("applicant", organization=organization or self.organization(), **kw)

    def round(self, state: str = "open", officer: User | None = None, **kw: Any) -> Round:
        now = utcnow()
        values: dict[str, Any] = dict(
            title=f"Round {next(_seq)}",
            description="Test round",
            timezone="America/New_York",
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=30),
            budget=Decimal("1000000"),
            min_award=Decimal("50000"),
            max_award=Decimal("250000"),
            eligible_government_types=list(GOVERNMENT_TYPES),
            priority_areas=list(PRIORITY_AREAS),
            reviewers_per_application=2,
            blind_review=False,
            performance_months=24,
        )
        values.update(kw)
        rnd = create_round(values)
        if state != "draft":
            fire(rnd, "open", officer or self.officer())
        if state in ("closed", "reviewing"):
            fire(rnd, "close", officer or self.officer())
        if state == "reviewing":
            fire(rnd, "start_review", officer or self.officer())
        commit()
        return rnd

    def application(
        self,
        rnd: Round | None = None,
        user: User | None = None,
        complete: bool = True,
        submit: bool = False,
        request: Decimal = Decimal("100000"),
    ) -> Application:
        rnd = rnd or self.round()
        user = user or self.applicant()
        application = svc.start_application(rnd, user)
        if complete:
            fill_application(application, user, request)
        if submit:
            fire(application, "submit", user)
        commit()
        return application


def fill_application(application: Application, user: User, request: Decimal) -> None:
    rnd = application.round
    start = rnd.local(rnd.closes_at).date() + timedelta(days=30)
    svc.save_project(
        application,
        {
            "title": "Sister-city climate exchange",
            "summary": "A two-year exchange on climate resilience with partner cities.",
            "priority_areas": ["climate", "education"],
            "partner_countries": ["JP", "DE"],
            "start_date": start,
            "period_months": 12,
        },
        application.version,
    )
    svc.save_narrative(
        application,
        {k: f"Our {k} text." for k in ("need", "approach", "alignment", "sustainability")},
        application.version,
    )
    svc.replace_partners(
        application,
        [{"name": "Testville University", "kind": "academic", "role": "Evaluation"}],
        application.version,
    )
    lines = {c: {"federal_amount": Decimal(0), "cost_share": Decimal(0)} for c in BUDGET_CATEGORIES}
    lines["personnel"] = {
        "description": "Coordinator",
        "federal_amount": request,
        "cost_share": Decimal("5000"),
    }
    svc.save_budget(application, lines, application.version)
    svc.replace_milestones(
        application,
        [{"due_on": start + timedelta(days=60), "description": "Kick-off forum"}],
        application.version,
    )
    svc.replace_targets(
        application,
        [{"indicator": "jobs", "baseline": Decimal(0), "target": Decimal(25)}],
        application.version,
    )
    svc.add_letter(application, "support.pdf", sample_letter_pdf(), user, application.version)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def wait_for_jobs(timeout: float = 60, raise_on_timeout: bool = True) -> None:
    """Block until every job is done: at once inline, polled under a real rq worker (where the
    ranking of a round, say, is computed a moment after the review that changed it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        busy = db.session.scalar(
            select(OutboxJob.id).where(OutboxJob.status.in_(("pending", "queued", "running")))
        )
        if busy is None:
            return
        time.sleep(0.05)
    if raise_on_timeout:
        raise AssertionError("background jobs did not finish in time")


def empty_tables() -> None:
    """Every table emptied (and PostgreSQL's id sequences restarted), as each test begins."""
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())
