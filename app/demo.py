"""Demonstration data: a program officer, reviewers, twelve jurisdictions and their applications."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import select

from app.criteria import kind_of
from app.domain import BUDGET_CATEGORIES, GOVERNMENT_TYPES, INDICATORS, PRIORITY_AREAS
from app.extensions import db
from app.models.application import Application
from app.models.round import Round, RubricCriterion
from app.models.user import Organization, User
from app.services import applications as svc
from app.services.accounts import create_user
from app.services.rounds import create_round

DEMO_PASSWORD = "l2g-demo-password"
OFFICER_EMAIL = "officer@l2g.example.gov"

JURISDICTIONS = [
    ("State of Colorado", "state", "CO", 5_877_610, "Denver"),
    ("City of Pittsburgh", "city", "PA", 302_898, "Pittsburgh"),
    ("King County", "county", "WA", 2_269_675, "Seattle"),
    ("Territory of Guam", "territory", "GU", 153_836, "Hagåtña"),
    ("Cherokee Nation", "tribal", "OK", 141_000, "Tahlequah"),
    ("Metropolitan Area Planning Council", "regional_council", "MA", 3_200_000, "Boston"),
    ("City of El Paso", "city", "TX", 678_815, "El Paso"),
    ("Miami-Dade County", "county", "FL", 2_701_767, "Miami"),
    ("State of Hawaii", "state", "HI", 1_435_138, "Honolulu"),
    ("City of Dayton", "city", "OH", 137_571, "Dayton"),
    ("Commonwealth of Puerto Rico", "territory", "PR", 3_205_691, "San Juan"),
    ("City of Saint Paul", "city", "MN", 303_176, "Saint Paul"),
]

REVIEWERS = [
    ("ana.reyes@review.example.org", "Ana Reyes"),
    ("ben.okafor@review.example.org", "Ben Okafor"),
    ("chen.wei@review.example.org", "Chen Wei"),
    ("dana.levi@review.example.org", "Dana Levi"),
    ("elif.kaya@review.example.org", "Elif Kaya"),
    ("farid.haddad@review.example.org", "Farid Haddad"),
]

PROJECTS = [
    ("Sister-city climate resilience exchange", ["climate", "education"], ["JP", "PH"]),
    ("Export readiness for small manufacturers", ["trade"], ["MX", "CA", "DE"]),
    ("Diaspora investment bridge", ["migration", "trade"], ["NG", "GH"]),
    ("Women's leadership in municipal diplomacy", ["gender", "democracy"], ["KE", "IN"]),
    ("Pandemic recovery tourism compact", ["health", "trade"], ["KR", "FR"]),
    ("Civic technology partnership", ["technology", "democracy"], ["EE", "TW"]),
    ("Student and staff exchange network", ["education"], ["BR", "ES", "VN"]),
    ("Clean energy trade mission", ["climate", "trade"], ["DK", "CL"]),
]


@dataclass
class DemoSummary:
    created: bool
    officer: str = OFFICER_EMAIL
    reviewers: list[str] = field(default_factory=list)
    applicants: list[str] = field(default_factory=list)
    applications: int = 0
    submitted: int = 0
    history_awards: int = 0

    def describe(self, password: str) -> str:
        lines = [
            "Demo data " + ("created." if self.created else "already present."),
            "Open http://127.0.0.1:5000 and sign in with any of these (password: "
            + password
            + "):",
            f"  program officer: {self.officer}",
            "  reviewers:       " + ", ".join(self.reviewers),
            "  applicants:      " + ", ".join(self.applicants),
        ]
        if self.created:
            lines.append(f"{self.applications} applications, {self.submitted} of them submitted.")
            lines.append(
                f"A past round, {HISTORY_ROUND}, reviewed and decided with "
                f"{self.history_awards} awards and their impact reports."
            )
        return "\n".join(lines)


@cache
def sample_letter_pdf() -> bytes:
    from weasyprint import HTML

    html = (
        "<html lang=en><head><title>Letter of support</title></head><body>"
        "<h1>Letter of support</h1><p>We are pleased to support this application to the "
        "Local-to-Global Engagement Fund.</p></body></html>"
    )
    return HTML(string=html).write_pdf()


def _applicant_email(legal_name: str) -> str:
    slug = "".join(ch for ch in legal_name.lower() if ch.isalnum())[:24]
    return f"grants@{slug}.example.gov"


def seed(now: datetime) -> DemoSummary:
    existing = db.session.scalar(select(User).where(User.email == OFFICER_EMAIL))
    summary = DemoSummary(created=existing is None)
    summary.reviewers = [email for email, _ in REVIEWERS]
    summary.applicants = [_applicant_email(j[0]) for j in JURISDICTIONS]
    if existing is not None:
        return summary

    rng = random.Random(2026)
    officer = create_user(OFFICER_EMAIL, DEMO_PASSWORD, "officer", name="Olivia Officer")
    for email, name in REVIEWERS:
        create_user(email, DEMO_PASSWORD, "reviewer", name=name)
    rnd = create_round(
        {
            "title": "Local-to-Global Engagement Fund 2027",
            "description": "Competitive grants for states, territories, counties, cities, tribal "
            "governments and regional councils building international engagement.",
            "timezone": "America/New_York",
            "opens_at": now - timedelta(days=10),
            "closes_at": (now + timedelta(days=30)).replace(second=0, microsecond=0),
            "budget": Decimal("5000000"),
            "min_award": Decimal("50000"),
            "max_award": Decimal("500000"),
            "eligible_government_types": list(GOVERNMENT_TYPES),
            "priority_areas": list(PRIORITY_AREAS),
            "reviewers_per_application": 3,
            "blind_review": False,
            "performance_months": 24,
        }
    )
    from workflows import fire

    fire(rnd, "open", officer, comment="Demo round opened")

    users = []
    for legal_name, gov_type, state, population, city in JURISDICTIONS:
        organization = Organization(
            legal_name=legal_name,
            government_type=gov_type,
            state_code=state,
            population=population,
            street="1 Government Plaza",
            city=city,
            zip_code=f"{rng.randint(10000, 99999)}",
            official_name="Jordan Lee",
            official_title="Director of International Affairs",
        )
        db.session.add(organization)
        user = create_user(
            _applicant_email(legal_name),
            DEMO_PASSWORD,
            "applicant",
            name=f"Grants team, {legal_name}",
            organization=organization,
        )
        users.append(user)

    for i in range(30):
        user = users[i % len(users)]
        application = svc.start_application(rnd, user)
        complete = i % 3 != 2
        _fill(application, rnd, user, rng, complete=complete, index=i)
        summary.applications += 1
        if complete and i % 3 == 0:
            fire(application, "submit", user)
            summary.submitted += 1
    summary.history_awards = seed_history(officer, users[:10], rng)
    return summary


def _fill(
    application, rnd: Round, user: User, rng: random.Random, complete: bool, index: int
) -> None:
    title, areas, countries = PROJECTS[index % len(PROJECTS)]
    organization = user.organization
    assert organization is not None
    svc.save_project(
        application,
        {
            "title": f"{title} ({organization.city})",
            "summary": f"{organization.legal_name} will build lasting international ties through "
            f"{title.lower()}, working with local universities, diaspora organizations and "
            "foreign consulates, and will report jobs, investment and exchanges each half-year.",
            "priority_areas": areas,
            "partner_countries": countries,
            "start_date": rnd.closes_at.date() + timedelta(days=60),
            "period_months": 18,
        },
        application.version,
    )
    if not complete:
        return
    svc.save_narrative(
        application,
        {
            "need": "Our region's firms and institutions lack international connections.",
            "approach": "A dedicated international affairs lead, two delegations and a forum.",
            "alignment": "Advances U.S. economic and climate diplomacy with allied partners.",
            "sustainability": "A standing partnership board and a budget line set by ordinance.",
        },
        application.version,
    )
    svc.replace_partners(
        application,
        [
            {"name": "State University Global Center", "kind": "academic", "role": "Research"},
            {"name": "Consulate General", "kind": "consulate", "role": "Introductions"},
        ],
        application.version,
    )
    request = Decimal(rng.randrange(60_000, 480_000, 5_000))
    lines = {c: {"federal_amount": 0, "cost_share": 0} for c in BUDGET_CATEGORIES}
    lines["personnel"] = {
        "description": "International affairs lead",
        "federal_amount": request * Decimal("0.6"),
        "cost_share": Decimal("20000"),
    }
    lines["travel"] = {
        "description": "Two delegations",
        "federal_amount": request * Decimal("0.3"),
        "cost_share": Decimal("5000"),
    }
    lines["other"] = {
        "description": "Forum venue",
        "federal_amount": request * Decimal("0.1"),
        "cost_share": 0,
    }
    svc.save_budget(application, lines, application.version)
    start = rnd.closes_at.date() + timedelta(days=60)
    svc.replace_milestones(
        application,
        [
            {"due_on": start + timedelta(days=90), "description": "Partnership agreement signed"},
            {"due_on": start + timedelta(days=240), "description": "First delegation hosted"},
        ],
        application.version,
    )
    indicators = list(INDICATORS)
    svc.replace_targets(
        application,
        [
            {
                "indicator": indicators[1],
                "baseline": Decimal("0"),
                "target": Decimal(rng.randint(10, 200)),
            },
            {
                "indicator": indicators[2],
                "baseline": Decimal("1"),
                "target": Decimal(rng.randint(3, 12)),
            },
        ],
        application.version,
    )
    svc.add_letter(
        application, "support-letter.pdf", sample_letter_pdf(), user, application.version
    )


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
    from app import clock
    from app.models.review import Review, ReviewerProfile
    from app.models.user import User as UserModel
    from app.services import impact_reports, reviews
    from app.services.review_assignment import confirm, propose
    from workflows import SYSTEM, fire

    def at(text: str) -> datetime:
        moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
        clock.freeze(moment)
        return moment

    reviewers = db.session.scalars(select(UserModel).where(UserModel.role == "reviewer")).all()
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
            _fill(application, rnd, user, rng, complete=True, index=i + 3)
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
        from app.jobs import commit

        commit()  # the jobs after each submission move complete applications to scored
        now = at("2025-05-01T14:00:00")
        from app.services.decisions import budget_remaining
        from app.services.ranking import rank_round

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
        from app.models.award import Award

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
        from app.models.impact_report import ImpactReport

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
