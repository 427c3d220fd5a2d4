"""The demo's applications: each jurisdiction's project, filled in section by section through the
services as an applicant would, with a letter of support."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from functools import cache

from weasyprint import HTML

from app.domain import BUDGET_CATEGORIES, INDICATORS
from app.models.round import Round
from app.models.user import User
from app.services import applications as svc

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


@cache
def sample_letter_pdf() -> bytes:
    html = (
        "<html lang=en><head><title>Letter of support</title></head><body>"
        "<h1>Letter of support</h1><p>We are pleased to support this application to the "
        "Local-to-Global Engagement Fund.</p></body></html>"
    )
    return HTML(string=html).write_pdf()


def fill_application(
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
