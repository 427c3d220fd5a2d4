"""The program dashboard's totals: awards, money, outcomes against targets, for the whole
program and by priority area, state and round; from award facts or added up by the database."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, literal, select, union_all

from app.domain import PRIORITY_AREAS
from app.extensions import db
from app.models.application import ApplicationPriorityArea, ImpactTarget
from app.models.award import Award
from app.models.impact_report import ImpactReport
from app.models.round import Round
from app.models.user import Organization
from app.services.program_data import (
    OUTCOME_ORDER,
    PUBLIC_AWARD_STATES,
    ZERO,
    AwardFacts,
    Filters,
    exact,
    filtered,
    outcomes_by_award,
)


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
    filters: Filters | None = None, states: tuple[str, ...] = PUBLIC_AWARD_STATES
) -> Dashboard:
    """`dashboard(award_facts(filters))`, added up by the database: two queries whatever the
    number of awards and reports, and no award loaded into Python.

    Each award's outcomes are computed once (a materialized CTE) and then grouped by state, round
    and priority area in one UNION ALL; the targets likewise. The whole program is the sum of its
    states, since every award is in exactly one state."""
    filters = filters or Filters()
    base = filtered(
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
        outcomes_by_award(ImpactReport.award_id.in_(select(base.c.award_id)))
        .cte("award_outcomes")
        .prefix_with("MATERIALIZED")
    )
    outcome_columns = list(per_award.c)[1:]  # the count of accepted reports, then OUTCOME_ORDER

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
        totals = groups[kind][key] = Totals(awards=count, amount=exact(amount) or ZERO)
        totals.reports_accepted = int(reports or 0)
        for code, value in zip(OUTCOME_ORDER, values, strict=True):
            number = exact(value)
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
        number = exact(total)
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
