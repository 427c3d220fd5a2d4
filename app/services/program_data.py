"""What the program has achieved: indicator totals against targets, for officers and the public.

Everything is computed from a fixed number of queries whatever the number of awards and reports.
Only ACCEPTED reports count as outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Numeric, Select, cast, func, select
from sqlalchemy.orm import aliased

from app.domain import GOVERNMENT_TYPES, INDICATORS, PRIORITY_AREAS, US_STATES
from app.extensions import db
from app.models.application import Application, ApplicationPriorityArea, ImpactTarget
from app.models.award import Award
from app.models.impact_report import ImpactReport
from app.models.round import Round
from app.models.user import Organization
from app.services.impact_reports import CUMULATIVE_INDICATORS
from app.states import AwardState

# An award is public once the grantee has accepted it.
PUBLIC_AWARD_STATES = AwardState.tagged("signed")


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
    start_date: date | None = None
    end_date: date | None = None


@dataclass(frozen=True)
class Filters:
    round_id: int | None = None
    state_code: str | None = None
    priority_area: str | None = None
    government_type: str | None = None

    def query_args(self) -> dict[str, Any]:
        """The filters as URL parameters (what `parse_filters` reads back)."""
        args = {
            "round": self.round_id,
            "state": self.state_code,
            "area": self.priority_area,
            "government_type": self.government_type,
        }
        return {k: v for k, v in args.items() if v}


def parse_filters(args: Mapping[str, Any]) -> Filters:
    """Filters from a query string; anything unknown is ignored rather than trusted."""
    try:
        round_id = int(args.get("round") or 0) or None
    except (TypeError, ValueError):
        round_id = None
    state = (args.get("state") or "").upper()
    area = args.get("area") or ""
    government_type = args.get("government_type") or ""
    return Filters(
        round_id=round_id if round_id and round_id > 0 else None,
        state_code=state if state in US_STATES else None,
        priority_area=area if area in PRIORITY_AREAS else None,
        government_type=government_type if government_type in GOVERNMENT_TYPES else None,
    )


ZERO = Decimal(0)


def _number(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(value if isinstance(value, str) else str(value))
    except InvalidOperation:
        return None


def filtered(query: Select[Any], filters: Filters) -> Select[Any]:
    """`query` (over awards joined to their organization) narrowed by the filters."""
    if filters.round_id:
        query = query.where(Award.round_id == filters.round_id)
    if filters.state_code:
        query = query.where(Organization.state_code == filters.state_code)
    if filters.government_type:
        query = query.where(Organization.government_type == filters.government_type)
    if filters.priority_area:
        query = query.where(
            Award.application_id.in_(
                select(ApplicationPriorityArea.application_id).where(
                    ApplicationPriorityArea.area == filters.priority_area
                )
            )
        )
    return query


_SUMMED = tuple(code for code in INDICATORS if code not in CUMULATIVE_INDICATORS)
_LATEST = tuple(code for code in INDICATORS if code in CUMULATIVE_INDICATORS)
OUTCOME_ORDER = (*_SUMMED, *_LATEST)
_CENT = Decimal("0.01")


def _indicator(code: str, report: Any = ImpactReport) -> Any:
    """One indicator of a report's JSON as a number the database can add up, NULL when blank.

    SQLite adds up the text json_extract returns (and parses the JSON once per call, in C);
    PostgreSQL and the others cast the text to an exact NUMERIC."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.nullif(func.json_extract(report.indicators, f'$."{code}"'), "")
    return cast(func.nullif(report.indicators[code].as_string(), ""), Numeric(20, 2))


def exact(value: Any) -> Decimal | None:
    """A sum from the database as an exact amount (SQLite adds in floating point)."""
    if value is None:
        return None
    if isinstance(value, float):
        return Decimal(repr(value)).quantize(_CENT)
    number = _number(value)
    return number.quantize(_CENT) if number is not None else None


def outcomes_by_award(which: Any) -> Select[Any]:
    """Per award (of the reports `which` selects): how many reports are accepted, the sum of each
    indicator over them, and for cumulative indicators the latest accepted report's value (by
    period), in OUTCOME_ORDER. One row per award; no JSON is parsed in Python."""
    accepted = ImpactReport.state == "accepted"
    latest = []
    for code in _LATEST:
        later = aliased(ImpactReport)
        latest.append(
            select(_indicator(code, later))
            .where(
                later.award_id == ImpactReport.award_id,
                later.state == "accepted",
                _indicator(code, later).is_not(None),
            )
            .order_by(later.period_end.desc(), later.id.desc())
            .limit(1)
            .correlate(ImpactReport)
            .scalar_subquery()
        )
    return (
        select(
            ImpactReport.award_id,
            func.count(ImpactReport.id),
            *(func.sum(_indicator(code)) for code in _SUMMED),
            *latest,
        )
        .where(accepted, which)
        .group_by(ImpactReport.award_id)
    )


def award_facts(
    filters: Filters = Filters(),
    states: tuple[str, ...] = PUBLIC_AWARD_STATES,
    limit: int | None = None,
    offset: int = 0,
) -> list[AwardFacts]:
    """The awards matching `filters`, with their targets and their ACCEPTED reports' outcomes.

    Four queries whatever the number of awards (columns only, no ORM objects); `limit` and
    `offset` take one page of awards, and the other queries then read that page's rows only.
    """
    query = filtered(
        select(
            Award.id,
            Award.number,
            Award.amount,
            Award.state,
            Award.round_id,
            Award.start_date,
            Award.end_date,
            Round.title,
            Application.id,
            Application.title,
            Application.summary,
            Application.partner_countries,
            Organization.legal_name,
            Organization.government_type,
            Organization.state_code,
        )
        .join(Application, Award.application_id == Application.id)
        .join(Organization, Award.organization_id == Organization.id)
        .join(Round, Award.round_id == Round.id)
        .where(Award.state.in_(states))
        .order_by(Organization.state_code, Organization.legal_name, Award.id),
        filters,
    )
    if limit is not None:
        query = query.limit(limit).offset(offset)
    facts: dict[int, AwardFacts] = {}
    by_application: dict[int, AwardFacts] = {}
    for row in db.session.execute(query):
        (award_id, number, amount, state, round_id, start, end, round_title) = row[:8]
        (application_id, title, summary, countries, org_name, gov_type, state_code) = row[8:]
        fact = AwardFacts(
            award_id=award_id,
            number=number,
            amount=amount,
            state=state,
            round_id=round_id,
            round_title=round_title,
            application_id=application_id,
            project_title=title or "Untitled application",
            summary=summary or "",
            organization=org_name,
            government_type=gov_type,
            state_code=state_code,
            partner_countries=list(countries or []),
            start_date=start,
            end_date=end,
        )
        facts[award_id] = fact
        by_application[application_id] = fact
    if not facts:
        return []
    if limit is None:
        # Every matching award: the other queries select them again rather than list their ids
        # (a list of thousands of parameters is slow to bind, and PostgreSQL caps it at 65,535).
        award_ids: Any = filtered(
            select(Award.id)
            .join(Organization, Award.organization_id == Organization.id)
            .where(Award.state.in_(states)),
            filters,
        )
        app_ids: Any = filtered(
            select(Award.application_id)
            .join(Organization, Award.organization_id == Organization.id)
            .where(Award.state.in_(states)),
            filters,
        )
    else:
        award_ids, app_ids = list(facts), list(by_application)
    for app_id, area in db.session.execute(
        select(ApplicationPriorityArea.application_id, ApplicationPriorityArea.area)
        .where(ApplicationPriorityArea.application_id.in_(app_ids))
        .order_by(ApplicationPriorityArea.application_id, ApplicationPriorityArea.area)
    ):
        by_application[app_id].priority_areas.append(area)
    for app_id, indicator, target in db.session.execute(
        select(ImpactTarget.application_id, ImpactTarget.indicator, ImpactTarget.target).where(
            ImpactTarget.application_id.in_(app_ids)
        )
    ):
        targets = by_application[app_id].targets
        targets[indicator] = targets.get(indicator, ZERO) + target
    # Each award's outcomes, summed by the database from the accepted reports' JSON.
    for award_id, count, *values in db.session.execute(
        outcomes_by_award(ImpactReport.award_id.in_(award_ids))
    ):
        fact = facts[award_id]
        fact.reports_accepted = count
        for code, value in zip(OUTCOME_ORDER, values, strict=True):
            number = exact(value)
            if number is not None:
                fact.outcomes[code] = number
    return list(facts.values())


@dataclass(frozen=True)
class StateTotal:
    awards: int
    amount: Decimal


def state_totals(
    filters: Filters = Filters(), states: tuple[str, ...] = PUBLIC_AWARD_STATES
) -> dict[str, StateTotal]:
    """Awards and amount per U.S. state or territory, in one GROUP BY query."""
    query = filtered(
        select(Organization.state_code, func.count(Award.id), func.sum(Award.amount))
        .join(Organization, Award.organization_id == Organization.id)
        .where(Award.state.in_(states))
        .group_by(Organization.state_code),
        filters,
    )
    return {
        code: StateTotal(int(n), Decimal(amount or 0))
        for code, n, amount in db.session.execute(query)
    }


def public_rounds() -> list[Any]:
    """(id, title) of the rounds that have a public award: a draft round's title stays private."""
    return list(
        db.session.execute(
            select(Round.id, Round.title)
            .where(Round.id.in_(select(Award.round_id).where(Award.state.in_(PUBLIC_AWARD_STATES))))
            .order_by(Round.id.desc())
        )
    )


def outcome_totals(
    filters: Filters = Filters(), states: tuple[str, ...] = PUBLIC_AWARD_STATES
) -> dict[str, Decimal]:
    """The accepted reports' outcomes of every award matching `filters`, added up in the
    database in one query however many reports: the totals `dashboard(award_facts(...))` gives."""
    awards = filtered(
        select(Award.id)
        .join(Organization, Award.organization_id == Organization.id)
        .where(Award.state.in_(states)),
        filters,
    )
    per_award = outcomes_by_award(ImpactReport.award_id.in_(awards)).subquery()
    row = db.session.execute(select(*(func.sum(column) for column in list(per_award.c)[2:]))).one()
    totals = {code: exact(value) for code, value in zip(OUTCOME_ORDER, row, strict=True)}
    return {code: totals[code] for code in INDICATORS if totals.get(code) is not None}
