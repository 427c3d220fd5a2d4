"""Whether a decision may be made: the amount, the budget left, and the rank order it keeps.

The ranking is the round's committed one (`app.rules.ranking`, stored rows of one scores
version); the guards read it with a few counting queries, each at most once per unit of work
(`app.memo`, forgotten at every write, so a bulk decision sees its own earlier decisions).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.formatting import money
from app.memo import memoized
from app.models.application import Application
from app.models.round import Round
from app.models.scores import RankingEntry
from app.rules.awards import committed_total
from app.rules.ranking import placing_of, rank_round, ranked_version
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
    """Each ranked application's position (0 = best) in the round's committed ranking."""
    version = ranked_version(rnd.id)
    return memoized(
        ("rank_positions", rnd.id, version),
        lambda: {
            aid: position - 1
            for aid, position in db.session.execute(
                select(RankingEntry.application_id, RankingEntry.rank).where(
                    RankingEntry.round_id == rnd.id, RankingEntry.version == version
                )
            )
        },
    )


def ranked_rows(rnd: Round) -> list[Any]:
    """The committed ranking's rows for the round, best first."""
    return list(rank_round(rnd))


def rank_of(application: Application) -> int | None:
    """The application's rank (1 = best) in the round's committed ranking; None if unranked."""
    placing = placing_of(application)
    return placing.rank if placing is not None else None


def _ranked_in(application: Application, states: Iterable[str], better: bool) -> int:
    """How many applications ranked above (better) or below the application are in `states`:
    one counting query on the committed ranking, none if the application has no rank."""
    mine = rank_of(application)
    if mine is None:
        return 0
    version = ranked_version(application.round_id)
    states = tuple(states)

    def count() -> int:
        # Driven from the applications in those states (the round/state index), each looking up
        # its rank: decided applications are few while decisions are made, where walking every
        # rank on one side costs ~9 ms at 10,000 applications (0.02 ms this way, SQLite).
        their_rank = (
            select(RankingEntry.rank)
            .where(
                RankingEntry.round_id == application.round_id,
                RankingEntry.version == version,
                RankingEntry.application_id == Application.id,
            )
            .scalar_subquery()
        )
        side = their_rank < mine if better else their_rank > mine
        return (
            db.session.scalar(
                select(func.count())
                .select_from(Application)
                .where(
                    Application.round_id == application.round_id,
                    Application.state.in_(states),
                    side,
                )
            )
            or 0
        )

    return memoized(("ranked_in", application.id, version, states, better), count)


def ranking_unchanged(application: Application, ctx: Any) -> str | None:
    """A decision is made on the ranking its page showed: if the committed ranking changed since
    (reviews reopened or resubmitted, a newer ranking computed), it is refused."""
    shown = (ctx.data or {}).get("ranking_version")
    if shown in (None, ""):
        return None
    try:
        shown = int(shown)
    except (TypeError, ValueError):
        return "the ranking version of the page is not a number"
    now = ranked_version(application.round_id)
    if shown != now:
        return (
            f"the ranking changed since the page was drawn (version {shown} shown, "
            f"{now} now): look at the new ranking and decide again"
        )
    return None


def budget_remaining(rnd: Round) -> Decimal:
    # Not memoized: the award read again under the round's lock must see the latest total.
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
    return _ranked_in(application, states, better=True)


def _worse_ranked_in(application: Application, states: Iterable[str]) -> int:
    return _ranked_in(application, states, better=False)
