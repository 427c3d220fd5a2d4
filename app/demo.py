"""Demonstration data: a program officer, reviewers, twelve jurisdictions and their applications."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from app.demo_applications import fill_application
from app.demo_history import HISTORY_ROUND, seed_history
from app.domain import GOVERNMENT_TYPES, PRIORITY_AREAS
from app.extensions import db
from app.models.user import Organization, User
from app.services import applications as svc
from app.services.accounts import create_user
from app.services.rounds import create_round
from workflows import fire

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
        fill_application(application, rnd, user, rng, complete=complete, index=i)
        summary.applications += 1
        if complete and i % 3 == 0:
            fire(application, "submit", user)
            summary.submitted += 1
    summary.history_awards = seed_history(officer, users[:10], rng)
    return summary
