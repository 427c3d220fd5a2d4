"""Whether a decision may be made: the amount, the budget left, and the rank order it keeps.

The ranking is the round's (`app.rules.ranking`); a bulk decision holds one ranking for all its
guards with `ranking_held` (a cache in the session's info, not a write).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.formatting import money
from app.models.application import Application
from app.models.round import Round
from app.rules.awards import committed_total
from app.rules.ranking import rank_round
from app.states import ApplicationState


def amount_asked(application: Application, ctx: Any) -> Decimal | None:
    raw = (ctx.data or {}).get("amount")
    if raw in (None, ""):
        return application.requested_amount
    try:
        return Decimal(str(raw)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def rank_positions(rnd: Round) -> dict[int, int]:
    """Each ranked application's position (0 = best) in the round's ranking."""
    held = db.session.info.get(_RANK_CACHE, {}).get(rnd.id)
    if held is not None:
        return held
    return {row.application_id: i for i, row in enumerate(ranked_rows(rnd))}


def ranked_rows(rnd: Round) -> list[Any]:
    """The ranking service's rows for the round, best first."""
    return list(rank_round(rnd))


def calibrated_score(row: Any) -> float | None:
    value = getattr(row, "calibrated", None)
    return None if value is None else float(value)


def _states_of(rnd: Round) -> dict[int, str]:
    return dict(
        db.session.execute(
            select(Application.id, Application.state).where(Application.round_id == rnd.id)
        ).all()
    )


def budget_remaining(rnd: Round) -> Decimal:
    return Decimal(rnd.budget) - Decimal(committed_total(rnd))


def award_problems(application: Application, ctx: Any) -> list[str]:
    rnd = application.round
    amount = amount_asked(application, ctx)
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
        passed_over = _better_ranked_in(application, ApplicationState.tagged("passed_over"))
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


_RANK_CACHE = "decisions.rank_positions"


@contextmanager
def ranking_held(rnd: Round) -> Iterator[None]:
    """Within the block, the guards reuse one ranking of the round instead of ranking it again
    for every decision (a bulk decision fires many; the ranking depends on reviews, not
    decisions, so it cannot change in between)."""
    cache = db.session.info.setdefault(_RANK_CACHE, {})
    cache[rnd.id] = rank_positions(rnd)
    try:
        yield
    finally:
        cache.pop(rnd.id, None)
