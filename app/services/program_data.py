"""What the program has achieved: indicator totals against targets, for officers and the public.

Everything is computed from a fixed number of queries whatever the number of awards and reports.
Only ACCEPTED reports count as outcomes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.domain import INDICATORS
from app.extensions import db
from app.models.application import Application, ApplicationPriorityArea, ImpactTarget
from app.models.award import Award
from app.models.impact_report import ImpactReport
from app.models.round import Round
from app.models.user import Organization
from app.services.impact_reports import CUMULATIVE_INDICATORS

# An award is public once the grantee has accepted it.
PUBLIC_AWARD_STATES = ("accepted", "active", "suspended", "closed")


@dataclass
class AwardFacts:
    award_id: int
    number: str
    amount: Decimal
    state: str
    round_id: int
    round_title: str
    application_id: int
    project_title: str
    summary: str
    organization: str
    government_type: str
    state_code: str
    partner_countries: list[str]
    priority_areas: list[str] = field(default_factory=list)
    outcomes: dict[str, Decimal] = field(default_factory=dict)
    targets: dict[str, Decimal] = field(default_factory=dict)
    reports_accepted: int = 0


@dataclass(frozen=True)
class Filters:
    round_id: int | None = None
    state_code: str | None = None
    priority_area: str | None = None
    government_type: str | None = None


def _number(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def award_facts(
    filters: Filters = Filters(), states: tuple[str, ...] = PUBLIC_AWARD_STATES
) -> list[AwardFacts]:
    query = (
        select(Award, Application, Organization, Round.title)
        .join(Application, Award.application_id == Application.id)
        .join(Organization, Award.organization_id == Organization.id)
        .join(Round, Award.round_id == Round.id)
        .where(Award.state.in_(states))
        .order_by(Organization.state_code, Organization.legal_name, Award.id)
    )
    if filters.round_id:
        query = query.where(Award.round_id == filters.round_id)
    if filters.state_code:
        query = query.where(Organization.state_code == filters.state_code)
    if filters.government_type:
        query = query.where(Organization.government_type == filters.government_type)
    if filters.priority_area:
        query = query.where(
            Application.id.in_(
                select(ApplicationPriorityArea.application_id).where(
                    ApplicationPriorityArea.area == filters.priority_area
                )
            )
        )
    facts: dict[int, AwardFacts] = {}
    by_application: dict[int, AwardFacts] = {}
    for award, application, org, round_title in db.session.execute(query):
        fact = AwardFacts(
            award_id=award.id,
            number=award.number,
            amount=award.amount,
            state=award.state,
            round_id=award.round_id,
            round_title=round_title,
            application_id=application.id,
            project_title=application.display_title,
            summary=application.summary,
            organization=org.legal_name,
            government_type=org.government_type,
            state_code=org.state_code,
            partner_countries=list(application.partner_countries or []),
        )
        facts[award.id] = fact
        by_application[application.id] = fact
    if not facts:
        return []
    app_ids = list(by_application)
    for app_id, area in db.session.execute(
        select(ApplicationPriorityArea.application_id, ApplicationPriorityArea.area).where(
            ApplicationPriorityArea.application_id.in_(app_ids)
        )
    ):
        by_application[app_id].priority_areas.append(area)
    for app_id, indicator, target in db.session.execute(
        select(ImpactTarget.application_id, ImpactTarget.indicator, ImpactTarget.target).where(
            ImpactTarget.application_id.in_(app_ids)
        )
    ):
        by_application[app_id].targets[indicator] = Decimal(target)
    reports = db.session.execute(
        select(ImpactReport.award_id, ImpactReport.indicators, ImpactReport.period_end)
        .where(ImpactReport.award_id.in_(list(facts)), ImpactReport.state == "accepted")
        .order_by(ImpactReport.award_id, ImpactReport.period_end, ImpactReport.id)
    )
    for award_id, values, _period_end in reports:
        fact = facts[award_id]
        fact.reports_accepted += 1
        for code in INDICATORS:
            value = _number((values or {}).get(code))
            if value is None:
                continue
            if code in CUMULATIVE_INDICATORS:
                fact.outcomes[code] = value  # ordered by period: the latest wins
            else:
                fact.outcomes[code] = fact.outcomes.get(code, Decimal(0)) + value
    return list(facts.values())


@dataclass
class Totals:
    awards: int = 0
    amount: Decimal = Decimal(0)
    outcomes: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    targets: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def add(self, fact: AwardFacts) -> None:
        self.awards += 1
        self.amount += fact.amount
        for code, value in fact.outcomes.items():
            self.outcomes[code] += value
        for code, value in fact.targets.items():
            self.targets[code] += value


@dataclass
class Dashboard:
    overall: Totals
    by_area: dict[str, Totals]
    by_state: dict[str, Totals]
    by_round: dict[str, Totals]


def dashboard(facts: list[AwardFacts]) -> Dashboard:
    overall = Totals()
    by_area: dict[str, Totals] = defaultdict(Totals)
    by_state: dict[str, Totals] = defaultdict(Totals)
    by_round: dict[str, Totals] = defaultdict(Totals)
    for fact in facts:
        overall.add(fact)
        for area in fact.priority_areas:
            by_area[area].add(fact)
        by_state[fact.state_code].add(fact)
        by_round[fact.round_title].add(fact)
    return Dashboard(overall, dict(by_area), dict(sorted(by_state.items())), dict(by_round))
