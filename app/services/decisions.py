"""Deciding a round: awards within the budget, waitlists, declines, and the suggested slate."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.formatting import money
from app.models.application import Application
from app.models.award import Award
from app.models.round import Round
from app.services.awards import DEFAULT_CONDITIONS, add_months, award_number, committed_total
from workflows import TransitionRefused


def _amount(application: Application, ctx: Any) -> Decimal | None:
    raw = (ctx.data or {}).get("amount")
    if raw in (None, ""):
        return application.requested_amount
    try:
        return Decimal(str(raw)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def rank_positions(rnd: Round) -> dict[int, int]:
    """Each ranked application's position (0 = best) in the round's ranking."""
    from app.services.ranking import rank_round

    return {row.application_id: i for i, row in enumerate(rank_round(rnd))}


def _states_of(rnd: Round) -> dict[int, str]:
    return dict(
        db.session.execute(
            select(Application.id, Application.state).where(Application.round_id == rnd.id)
        ).tuples()
    )


def budget_remaining(rnd: Round) -> Decimal:
    return Decimal(rnd.budget) - Decimal(committed_total(rnd))


def award_problems(application: Application, ctx: Any) -> list[str]:
    rnd = application.round
    amount = _amount(application, ctx)
    if amount is None:
        return ["the amount is not a number"]
    problems = []
    if not rnd.min_award <= amount <= rnd.max_award:
        problems.append(
            f"the amount must lie between {money(rnd.min_award)} and {money(rnd.max_award)}"
        )
    remaining = budget_remaining(rnd)
    if amount > remaining:
        problems.append(f"over budget: {money(amount)} asked, {money(remaining)} remains")
    if not ctx.comment:
        if amount != application.requested_amount:
            problems.append(
                f"a justification is needed to award {money(amount)} rather than the "
                f"{money(application.requested_amount)} requested"
            )
        passed_over = _better_ranked_in(application, ("declined", "waitlisted"))
        if passed_over:
            problems.append(
                f"a justification is needed to fund this over {passed_over} better-ranked "
                "application(s) declined or waitlisted"
            )
    return problems


def passing_over_problems(application: Application, ctx: Any) -> list[str]:
    """Waitlisting or declining an application ranked above one already funded needs a reason."""
    if ctx.comment:
        return []
    funded_below = _worse_ranked_in(application, ("awarded",))
    if funded_below:
        return [f"a justification is needed: {funded_below} lower-ranked application(s) are funded"]
    return []


def _better_ranked_in(application: Application, states: Iterable[str]) -> int:
    positions = rank_positions(application.round)
    mine = positions.get(application.id)
    if mine is None:
        return 0
    st = _states_of(application.round)
    return sum(1 for app_id, pos in positions.items() if pos < mine and st.get(app_id) in states)


def _worse_ranked_in(application: Application, states: Iterable[str]) -> int:
    positions = rank_positions(application.round)
    mine = positions.get(application.id)
    if mine is None:
        return 0
    st = _states_of(application.round)
    return sum(1 for app_id, pos in positions.items() if pos > mine and st.get(app_id) in states)


def create_award_for(application: Application, ctx: Any) -> Award:
    """Create the award, checking the budget again under the round's row lock so two officers
    deciding at the same moment can never exceed it."""
    rnd = application.round
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Round.id).where(Round.id == rnd.id).with_for_update())
    amount = _amount(application, ctx)
    assert amount is not None
    remaining = budget_remaining(rnd)
    if amount > remaining:
        raise TransitionRefused(
            "award", [f"over budget: {money(amount)} asked, {money(remaining)} remains"]
        )
    start = application.start_date or ctx.now.date()
    months = application.period_months or rnd.performance_months
    award = Award(
        application_id=application.id,
        round_id=rnd.id,
        organization_id=application.organization_id,
        number=award_number(ctx.now),
        amount=amount,
        start_date=start,
        end_date=add_months(start, months) - timedelta(days=1),
        conditions=list(DEFAULT_CONDITIONS),
        justification=ctx.comment or "",
        offered_at=ctx.now,
        offered_by_id=ctx.actor.id,
        acceptance_deadline=ctx.now + timedelta(days=rnd.acceptance_days),
    )
    db.session.add(award)
    db.session.flush()
    return award


@dataclass(frozen=True)
class SlateRow:
    application_id: int
    requested: Decimal
    score: float | None  # calibrated; lower is better
    funded: bool
    reason: str  # why it is in or out of the slate


def suggest_slate(
    ranked: Iterable[tuple[int, Decimal, float | None]],
    budget: Decimal,
    quality_floor: float | None,
) -> list[SlateRow]:
    """Fund in rank order at the requested amount until the budget is spent; an application that
    does not fit is skipped and the next tried; none worse than the quality floor is funded."""
    left = Decimal(budget)
    out = []
    for app_id, requested, score in ranked:
        if score is None:
            out.append(SlateRow(app_id, requested, score, False, "no score"))
        elif quality_floor is not None and score > quality_floor:
            out.append(SlateRow(app_id, requested, score, False, "below the quality floor"))
        elif requested > left:
            out.append(SlateRow(app_id, requested, score, False, "does not fit the budget left"))
        else:
            left -= requested
            out.append(SlateRow(app_id, requested, score, True, "funded in rank order"))
    return out
