"""What the program has achieved: indicator totals against targets, for officers and the public.

Everything is computed from a fixed number of queries whatever the number of awards and reports.
Only ACCEPTED reports count as outcomes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Numeric, Select, cast, func, literal, select, union_all
from sqlalchemy.orm import aliased

from app.countries import country_name
from app.domain import GOVERNMENT_TYPES, INDICATORS, PRIORITY_AREAS, US_STATES
from app.extensions import db
from app.models.application import Application, ApplicationPriorityArea, ImpactTarget
from app.models.award import Award
from app.models.impact_report import ImpactReport
from app.models.round import Round
from app.models.user import Organization
from app.services.impact_reports import CUMULATIVE_INDICATORS
from app.states import AwardState
from workflows.award import LIFECYCLE as AWARD_LIFECYCLE

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


_ZERO = Decimal(0)


def _number(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(value if isinstance(value, str) else str(value))
    except InvalidOperation:
        return None


def _filtered(query: Select[Any], filters: Filters) -> Select[Any]:
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
_OUTCOME_ORDER = (*_SUMMED, *_LATEST)
_CENT = Decimal("0.01")


def _indicator(code: str, report: Any = ImpactReport) -> Any:
    """One indicator of a report's JSON as a number the database can add up, NULL when blank.

    SQLite adds up the text json_extract returns (and parses the JSON once per call, in C);
    PostgreSQL and the others cast the text to an exact NUMERIC."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.nullif(func.json_extract(report.indicators, f'$."{code}"'), "")
    return cast(func.nullif(report.indicators[code].as_string(), ""), Numeric(20, 2))


def _exact(value: Any) -> Decimal | None:
    """A sum from the database as an exact amount (SQLite adds in floating point)."""
    if value is None:
        return None
    if isinstance(value, float):
        return Decimal(repr(value)).quantize(_CENT)
    number = _number(value)
    return number.quantize(_CENT) if number is not None else None


def _outcomes_by_award(which: Any) -> Select[Any]:
    """Per award (of the reports `which` selects): how many reports are accepted, the sum of each
    indicator over them, and for cumulative indicators the latest accepted report's value (by
    period), in _OUTCOME_ORDER. One row per award; no JSON is parsed in Python."""
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
    query = _filtered(
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
        award_ids: Any = _filtered(
            select(Award.id)
            .join(Organization, Award.organization_id == Organization.id)
            .where(Award.state.in_(states)),
            filters,
        )
        app_ids: Any = _filtered(
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
        targets[indicator] = targets.get(indicator, _ZERO) + target
    # Each award's outcomes, summed by the database from the accepted reports' JSON.
    for award_id, count, *values in db.session.execute(
        _outcomes_by_award(ImpactReport.award_id.in_(award_ids))
    ):
        fact = facts[award_id]
        fact.reports_accepted = count
        for code, value in zip(_OUTCOME_ORDER, values, strict=True):
            number = _exact(value)
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
    query = _filtered(
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
    awards = _filtered(
        select(Award.id)
        .join(Organization, Award.organization_id == Organization.id)
        .where(Award.state.in_(states)),
        filters,
    )
    per_award = _outcomes_by_award(ImpactReport.award_id.in_(awards)).subquery()
    row = db.session.execute(select(*(func.sum(column) for column in list(per_award.c)[2:]))).one()
    totals = {code: _exact(value) for code, value in zip(_OUTCOME_ORDER, row, strict=True)}
    return {code: totals[code] for code in INDICATORS if totals.get(code) is not None}


# --- What the public may see ---------------------------------------------------------------------
#
# THE WHITELIST. The public catalog page, its JSON and its CSV show these fields and nothing else;
# each is read from `AwardFacts`, which itself holds no review, score, comment, contact, address,
# justification or unaccepted report. Add a field here only if it may be published.


def _plain(value: Decimal) -> int | float:
    """A JSON number: an integer when the value is whole."""
    return int(value) if value == value.to_integral_value() else float(value)


def _country(code: str) -> str:
    try:
        return country_name(code)
    except KeyError:
        return code


PUBLIC_FIELDS: dict[str, Any] = {
    "award_number": lambda f: f.number,
    "project_title": lambda f: f.project_title,
    "summary": lambda f: f.summary,
    "jurisdiction": lambda f: f.organization,
    "government_type": lambda f: GOVERNMENT_TYPES.get(f.government_type, f.government_type),
    "state": lambda f: f.state_code,
    "state_name": lambda f: US_STATES.get(f.state_code, f.state_code),
    "round": lambda f: f.round_title,
    "amount": lambda f: _plain(f.amount),
    "period_start": lambda f: f.start_date.isoformat() if f.start_date else None,
    "period_end": lambda f: f.end_date.isoformat() if f.end_date else None,
    "priority_areas": lambda f: [PRIORITY_AREAS.get(a, a) for a in f.priority_areas],
    "partner_countries": lambda f: [_country(c) for c in f.partner_countries],
    "status": lambda f: AWARD_LIFECYCLE.title_of(f.state),
    "accepted_reports": lambda f: f.reports_accepted,
    # Outcomes from accepted reports only (award_facts reads no other report).
    "outcomes": lambda f: {c: _plain(f.outcomes[c]) for c in INDICATORS if c in f.outcomes},
}
PUBLIC_CSV_COLUMNS: tuple[str, ...] = (
    *(name for name in PUBLIC_FIELDS if name != "outcomes"),
    *(f"outcome_{code}" for code in INDICATORS),
)


def public_record(fact: AwardFacts) -> dict[str, Any]:
    """One awarded project as the public sees it: the whitelisted fields, nothing else."""
    return {name: read(fact) for name, read in PUBLIC_FIELDS.items()}


def csv_text(value: str) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return csv_text("; ".join(value))
    if isinstance(value, str):
        return csv_text(value)
    return str(value)


def public_csv_row(record: dict[str, Any]) -> list[str]:
    outcomes = record["outcomes"]
    return [_cell(record[name]) for name in PUBLIC_FIELDS if name != "outcomes"] + [
        _cell(outcomes.get(code)) for code in INDICATORS
    ]


# --- Officers: every report's indicators ---------------------------------------------------------

REPORT_CSV_COLUMNS: tuple[str, ...] = (
    "award_number",
    "jurisdiction",
    "state",
    "round",
    "report_title",
    "kind",
    "period_start",
    "period_end",
    "due_on",
    "status",
    *INDICATORS,
)


def report_rows(filters: Filters = Filters(), batch: int = 500) -> Iterator[list[str]]:
    """Every impact report's indicator values, one row per report (header first), in any state:
    ONE query, streamed `batch` rows at a time, for officers only."""
    yield list(REPORT_CSV_COLUMNS)
    query = _filtered(
        select(
            Award.number,
            Organization.legal_name,
            Organization.state_code,
            Round.title,
            ImpactReport.title,
            ImpactReport.kind,
            ImpactReport.period_start,
            ImpactReport.period_end,
            ImpactReport.due_on,
            ImpactReport.state,
            ImpactReport.indicators,
        )
        .join(Award, ImpactReport.award_id == Award.id)
        .join(Organization, Award.organization_id == Organization.id)
        .join(Round, Award.round_id == Round.id)
        .order_by(Award.number, ImpactReport.period_start, ImpactReport.id),
        filters,
    ).execution_options(yield_per=batch)
    for (
        number,
        org,
        state_code,
        round_title,
        title,
        kind,
        start,
        end,
        due,
        state,
        values,
    ) in db.session.execute(query):
        values = values or {}
        yield [
            number,
            csv_text(org),
            state_code,
            csv_text(round_title),
            csv_text(title),
            kind,
            start.isoformat(),
            end.isoformat(),
            due.isoformat(),
            state,
            *(_cell(values.get(code)) for code in INDICATORS),
        ]


@dataclass
class Totals:
    awards: int = 0
    amount: Decimal = Decimal(0)
    outcomes: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    targets: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    reports_accepted: int = 0

    def add(self, fact: AwardFacts) -> None:
        self.awards += 1
        self.amount += fact.amount
        self.reports_accepted += fact.reports_accepted
        outcomes, targets = self.outcomes, self.targets
        for code, value in fact.outcomes.items():
            outcomes[code] += value
        for code, value in fact.targets.items():
            targets[code] += value


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


def dashboard_totals(
    filters: Filters = Filters(), states: tuple[str, ...] = PUBLIC_AWARD_STATES
) -> Dashboard:
    """`dashboard(award_facts(filters))`, added up by the database: two queries whatever the
    number of awards and reports, and no award loaded into Python.

    Each award's outcomes are computed once (a materialized CTE) and then grouped by state, round
    and priority area in one UNION ALL; the targets likewise. The whole program is the sum of its
    states, since every award is in exactly one state."""
    base = _filtered(
        select(
            Award.id.label("award_id"),
            Award.amount.label("amount"),
            Award.application_id.label("application_id"),
            Organization.state_code.label("state_code"),
            Round.title.label("round_title"),
        )
        .join(Organization, Award.organization_id == Organization.id)
        .join(Round, Award.round_id == Round.id)
        .where(Award.state.in_(states)),
        filters,
    ).cte("filtered_awards")
    per_award = (
        _outcomes_by_award(ImpactReport.award_id.in_(select(base.c.award_id)))
        .cte("award_outcomes")
        .prefix_with("MATERIALIZED")
    )
    outcome_columns = list(per_award.c)[1:]  # the count of accepted reports, then _OUTCOME_ORDER

    def sums(key: Any, joined: Any, kind: str) -> Select[Any]:
        return (
            select(
                literal(kind).label("kind"),
                key.label("key"),
                func.count(base.c.award_id),
                func.sum(base.c.amount),
                *(func.sum(column) for column in outcome_columns),
            )
            .select_from(joined)
            .group_by(key)
        )

    with_outcomes = base.outerjoin(per_award, per_award.c.award_id == base.c.award_id)
    areas = ApplicationPriorityArea
    grouped = union_all(
        sums(base.c.state_code, with_outcomes, "state"),
        sums(base.c.round_title, with_outcomes, "round"),
        sums(
            areas.area,
            with_outcomes.join(areas, areas.application_id == base.c.application_id),
            "area",
        ),
    )
    groups: dict[str, dict[str, Totals]] = {"state": {}, "round": {}, "area": {}}
    for kind, key, count, amount, reports, *values in db.session.execute(grouped):
        totals = groups[kind][key] = Totals(awards=count, amount=_exact(amount) or _ZERO)
        totals.reports_accepted = int(reports or 0)
        for code, value in zip(_OUTCOME_ORDER, values, strict=True):
            number = _exact(value)
            if number is not None:
                totals.outcomes[code] = number

    def target_sums(key: Any, joined: Any, kind: str) -> Select[Any]:
        return (
            select(
                literal(kind).label("kind"),
                key.label("key"),
                ImpactTarget.indicator,
                func.sum(ImpactTarget.target),
            )
            .select_from(joined)
            .group_by(key, ImpactTarget.indicator)
        )

    with_targets = base.join(ImpactTarget, ImpactTarget.application_id == base.c.application_id)
    targeted = union_all(
        target_sums(base.c.state_code, with_targets, "state"),
        target_sums(base.c.round_title, with_targets, "round"),
        target_sums(
            areas.area,
            with_targets.join(areas, areas.application_id == base.c.application_id),
            "area",
        ),
    )
    for kind, key, indicator, total in db.session.execute(targeted):
        number = _exact(total)
        if number is not None and key in groups[kind]:
            groups[kind][key].targets[indicator] = number
    overall = Totals()
    for totals in groups["state"].values():
        overall.awards += totals.awards
        overall.amount += totals.amount
        overall.reports_accepted += totals.reports_accepted
        for code, value in totals.outcomes.items():
            overall.outcomes[code] += value
        for code, value in totals.targets.items():
            overall.targets[code] += value
    return Dashboard(
        overall,
        {area: groups["area"][area] for area in PRIORITY_AREAS if area in groups["area"]},
        dict(sorted(groups["state"].items())),
        dict(sorted(groups["round"].items())),
    )
