"""A small funded program for the dashboard and public catalog tests, built the way the program
builds one: applications submitted, screened, scored, awarded and accepted through the engine, and
impact reports filed, submitted and accepted (or not) through the services and the engine.

Set-up commits with `quiet_commit`: the emails and letters of the set-up are not under test here.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.clock import utcnow
from app.domain import INDICATORS
from app.extensions import db
from app.models.application import Application
from app.models.award import Award
from app.models.impact_report import ImpactReport
from app.models.review import Review
from app.models.round import Round
from app.models.user import User
from app.services import applications as applications_svc
from app.services import impact_reports as reports_svc
from app.services.scores import rebuild_round
from tests.decision_helpers import quiet_commit
from tests.factories import Factory
from workflows import fire

SIGNATURE = {"name": "Ophelia Privatename", "title": "Chief Hidden Officer", "consent": True}
_seq = itertools.count(1)


@dataclass
class Spec:
    """One application of a round: who applies, for what, and whether it is funded."""

    title: str = "Sister-city climate exchange"
    jurisdiction: str | None = None
    state_code: str = "OH"
    government_type: str = "city"
    areas: Sequence[str] = ("climate", "education")
    countries: Sequence[str] = ("JP", "DE")
    amount: int = 100_000
    targets: dict[str, int] = field(default_factory=lambda: {"jobs": 25, "fdi_usd": 1_000_000})
    funded: bool = True  # awarded ...
    accepted: bool = True  # ... and accepted by the grantee (otherwise the offer stays open)
    street: str = "1 Main St"
    official_name: str = "Alex Mayor"
    email: str | None = None
    strengths: str = "Clear plan."
    staff_comments: str = ""
    need: str = "Our need text."


@dataclass
class Funded:
    round: Round
    applications: list[Application]
    awards: list[Award]  # the funded specs' awards, in the specs' order
    grantees: list[User]  # one per spec


def funded_round(
    make: Factory,
    officer: User,
    specs: Sequence[Spec],
    justification: str = "Funded in rank order.",
    **round_values: Any,
) -> Funded:
    """A round whose applications are scored; the funded ones are awarded and accepted (which
    schedules their impact reports: 12 months of performance, so an interim and a final)."""
    values = {"budget": Decimal(50_000_000), **round_values}
    rnd = make.round(officer=officer, **values)
    reviewer = make.reviewer(email=f"panel-{rnd.id}-{next(_seq)}@review.example.org")
    applications, grantees = [], []
    for n, spec in enumerate(specs):
        organization = make.organization(
            legal_name=spec.jurisdiction or f"City of Fundville {next(_seq)}",
            state_code=spec.state_code,
            government_type=spec.government_type,
            street=spec.street,
            official_name=spec.official_name,
        )
        kw = {"email": spec.email} if spec.email else {}
        user = make.applicant(organization=organization, **kw)
        application = make.application(rnd, user=user, request=Decimal(spec.amount))
        applications_svc.save_project(
            application,
            {
                "title": spec.title,
                "summary": f"{spec.title}: a public summary.",
                "priority_areas": list(spec.areas),
                "partner_countries": list(spec.countries),
                "start_date": application.start_date,
                "period_months": 12,
            },
            application.version,
        )
        applications_svc.save_narrative(
            application,
            {"need": spec.need, "approach": "a", "alignment": "b", "sustainability": "c"},
            application.version,
        )
        applications_svc.replace_targets(
            application,
            [
                {"indicator": code, "baseline": Decimal(0), "target": Decimal(target)}
                for code, target in spec.targets.items()
            ],
            application.version,
        )
        fire(application, "submit", user)
        fire(application, "mark_eligible", officer)
        db.session.add(
            Review(
                application_id=application.id,
                reviewer_id=reviewer.id,
                state="submitted",
                overall_score=1 + n % 9,
                confidence=2,
                strengths=spec.strengths,
                weaknesses="None of note.",
                staff_comments=spec.staff_comments,
                submitted_at=utcnow(),
            )
        )
        db.session.flush()
        fire(application, "start_review", officer)
        fire(application, "complete_review", officer)
        quiet_commit()
        applications.append(application)
        grantees.append(user)
    fire(rnd, "close", officer)
    fire(rnd, "start_review", officer)
    rebuild_round(rnd)  # the reviews were written directly, not through the engine
    quiet_commit()
    awards = []
    for application, user, spec in zip(applications, grantees, specs, strict=True):
        if not spec.funded:
            continue
        fire(application, "award", officer, comment=justification)
        quiet_commit()
        award = db.session.scalar(select(Award).where(Award.application_id == application.id))
        assert award is not None
        if spec.accepted:
            fire(award, "accept", user, data=SIGNATURE)
            quiet_commit()
        awards.append(award)
    return Funded(rnd, applications, awards, grantees)


def grantee_of(award: Award) -> User:
    user = db.session.scalar(
        select(User).where(User.organization_id == award.organization_id).order_by(User.id)
    )
    assert user is not None
    return user


def reports_of(award: Award) -> list[ImpactReport]:
    return list(
        db.session.scalars(
            select(ImpactReport)
            .where(ImpactReport.award_id == award.id)
            .order_by(ImpactReport.period_start, ImpactReport.id)
        )
    )


def values(**indicators: int | str) -> dict[str, Decimal]:
    """Every indicator (the submit guard needs them all): 1 unless given."""
    return {code: Decimal(str(indicators.get(code, 1))) for code in INDICATORS}


def file_report(
    report: ImpactReport,
    grantee: User,
    numbers: dict[str, Decimal],
    narrative: str = "Signed two MOUs.",
    submit: bool = True,
) -> None:
    reports_svc.save_draft(
        report,
        {
            "indicators": numbers,
            "accomplishments": narrative,
            "challenges": "Travel delays.",
            "next_period_plans": "Host a delegation.",
        },
        report.version,
    )
    if submit:
        fire(report, "submit", grantee)
    quiet_commit()


def accept_report(report: ImpactReport, officer: User) -> None:
    fire(report, "accept", officer, comment="Thank you.")
    quiet_commit()


def request_changes(report: ImpactReport, officer: User) -> None:
    fire(report, "request_changes", officer, comment="Check the jobs figure.")
    quiet_commit()
