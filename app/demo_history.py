"""The demo's past round, lived through the real workflow with the clock moved: opened, applied
to, reviewed, decided, accepted and reported on."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app import clock
from app.criteria import kind_of
from app.demo_applications import fill_application
from app.domain import GOVERNMENT_TYPES, PRIORITY_AREAS
from app.extensions import db
from app.jobs import commit
from app.models.application import Application
from app.models.award import Award
from app.models.impact_report import ImpactReport
from app.models.review import Review, ReviewerProfile
from app.models.round import RubricCriterion
from app.models.user import User
from app.rules.ranking import rank_round
from app.services import applications as svc
from app.services import impact_reports, reviews
from app.services.decisions import budget_remaining
from app.services.review_assignment import confirm, propose
from app.services.rounds import create_round
from workflows import SYSTEM, fire

HISTORY_ROUND = "Local-to-Global Engagement Fund 2025"


def _demo_answer(criterion: RubricCriterion, score: int, rng: random.Random) -> dict[str, Any]:
    """A demo reviewer's answer to a criterion, near its overall score when the criterion counts."""
    kind = kind_of(criterion)
    if kind.counts_in_score:
        return kind.example(min(9, max(1, score + rng.randint(-1, 1))))
    return kind.example(score)


def seed_history(officer: User, users: list[User], rng: random.Random) -> int:
    """A past round lived through the real workflow with the clock moved: opened, applied to,
    reviewed, decided, accepted, and reported on. Returns the number of awards made."""

    def at(text: str) -> datetime:
        moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
        clock.freeze(moment)
        return moment

    reviewers = db.session.scalars(select(User).where(User.role == "reviewer")).all()
    areas = list(PRIORITY_AREAS)
    for i, reviewer in enumerate(reviewers):
        db.session.add(
            ReviewerProfile(
                user_id=reviewer.id,
                priority_areas=[areas[i % 8], areas[(i + 3) % 8], areas[(i + 5) % 8]],
                regions=[["EAP", "EUR"], ["AF", "WHA"], ["NEA", "SCA"]][i % 3],
                home_state=["NY", "CA", "IL", "GA", "AZ", "VA"][i % 6],
                affiliations=[f"{reviewer.name.split()[-1]} Policy Institute"],
            )
        )
    try:
        now = at("2025-01-06T14:00:00")
        rnd = create_round(
            {
                "title": HISTORY_ROUND,
                "description": "The program's first round.",
                "timezone": "America/New_York",
                "opens_at": now,
                "closes_at": datetime(2025, 3, 31, 21, 0, tzinfo=UTC),
                "budget": Decimal("2500000"),
                "min_award": Decimal("50000"),
                "max_award": Decimal("500000"),
                "eligible_government_types": list(GOVERNMENT_TYPES),
                "priority_areas": areas,
                "reviewers_per_application": 2,
                "blind_review": True,
                "performance_months": 12,
            }
        )
        fire(rnd, "open", officer)
        applications = []
        for i, user in enumerate(users):
            now = at(f"2025-02-{10 + i:02d}T15:00:00")
            application = svc.start_application(rnd, user)
            fill_application(application, rnd, user, rng, complete=True, index=i + 3)
            application.start_date = date(2025, 7, 1)
            application.period_months = 12
            fire(application, "submit", user)
            applications.append(application)
        now = at("2025-04-01T12:00:00")
        fire(rnd, "close", SYSTEM, comment="deadline passed")
        fire(rnd, "start_review", officer)
        for application in applications:
            fire(application, "mark_eligible", officer)
        confirm(rnd, propose(rnd, 0, None), now + timedelta(days=21))
        now = at("2025-04-15T12:00:00")
        for review in db.session.scalars(
            select(Review).join(Application).where(Application.round_id == rnd.id)
        ):
            score = rng.randint(1, 6)
            reviews.declare(review, True, True, now)
            scores = {str(c.id): _demo_answer(c, score, rng) for c in rnd.criteria}
            reviews.save_draft(
                review,
                {
                    "criterion_scores": scores,
                    "overall_score": score,
                    "confidence": rng.randint(2, 3),
                    "strengths": "A committed partnership with clear targets.",
                    "weaknesses": "The evaluation plan could be more specific.",
                },
                review.version,
            )
            fire(review, "submit", review.reviewer)
        db.session.flush()

        commit()  # the jobs after each submission move complete applications to scored
        now = at("2025-05-01T14:00:00")

        awarded = []
        for row in rank_round(rnd):
            application = db.session.get(Application, row.application_id)
            if application is None or application.state != "scored":
                continue
            if application.requested_amount <= budget_remaining(rnd) and len(awarded) < 8:
                fire(application, "award", officer, comment="Funded in rank order.")
                awarded.append(application)
            else:
                fire(application, "decline", officer, comment="Below the funding line.")
        fire(rnd, "finalize", officer)
        commit()

        awards = db.session.scalars(select(Award).where(Award.round_id == rnd.id)).all()
        for award in awards:
            now = at("2025-05-20T15:00:00")
            grantee = next(u for u in users if u.organization_id == award.organization_id)
            fire(
                award,
                "accept",
                grantee,
                data={
                    "name": "Jordan Lee",
                    "title": "Director of International Affairs",
                    "consent": True,
                },
            )
            now = at("2025-07-01T13:00:00")
            fire(award, "activate", SYSTEM, comment="the period of performance started")
        commit()

        for report in db.session.scalars(
            select(ImpactReport)
            .join(Award)
            .where(Award.round_id == rnd.id)
            .order_by(ImpactReport.due_on, ImpactReport.id)
        ):
            if report.due_on > date(2026, 11, 1):
                continue
            now = at(f"{report.due_on - timedelta(days=rng.randint(1, 10))}T15:00:00")
            grantee = next(u for u in users if u.organization_id == report.organization_id)
            values = {
                "indicators": {
                    "fdi_usd": Decimal(rng.randrange(0, 5_000_000, 50_000)),
                    "jobs": Decimal(rng.randint(0, 60)),
                    "delegations_hosted": Decimal(rng.randint(0, 4)),
                    "delegations_sent": Decimal(rng.randint(0, 3)),
                    "direct_flights": Decimal(rng.randint(0, 1)),
                    "agreements": Decimal(rng.randint(0, 3)),
                    "technical_exchanges": Decimal(rng.randint(0, 6)),
                    "educational_exchanges": Decimal(rng.randint(0, 40)),
                    "events": Decimal(rng.randint(0, 5)),
                    "people_reached": Decimal(rng.randint(100, 5000)),
                    "funds_spent_usd": Decimal(rng.randrange(10_000, 150_000, 1_000)),
                },
                "accomplishments": "Hosted a trade delegation and signed a sister-city MOU.",
                "challenges": "Visa delays for two partner delegates.",
                "next_period_plans": "A reciprocal visit and a youth exchange.",
            }
            impact_reports.save_draft(report, values, report.version)
            fire(report, "submit", grantee)
            now = at(f"{report.due_on + timedelta(days=5)}T15:00:00")
            fire(report, "accept", officer, comment="Thank you for a clear report.")
            commit()
        return len(awards)
    finally:
        clock.freeze(None)
