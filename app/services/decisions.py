"""Deciding a round: awards within the budget, waitlists, declines, and the suggested slate."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from app.extensions import db
from app.formatting import money
from app.models.application import Application
from app.models.award import Award
from app.models.round import Round
from app.models.scores import ApplicationScore, RankingEntry
from app.models.user import Organization
from app.rules.decisions import (
    amount_asked,
    budget_remaining,
    rank_positions,
)
from app.rules.decisions import award_problems as award_problems  # re-exported
from app.rules.decisions import passing_over_problems as passing_over_problems
from app.rules.ranking import ranking_status
from app.services.awards import DEFAULT_CONDITIONS, add_months, award_number, committed_total
from app.states import ApplicationState
from workflows import TransitionRefused, fire
from workflows.engine import follows


@follows("application", "award")
def create_award_for(application: Application, ctx: Any) -> Award:
    """Create the award, checking the budget again under the round's row lock so two officers
    deciding at the same moment can never exceed it."""
    rnd = application.round
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        db.session.execute(select(Round.id).where(Round.id == rnd.id).with_for_update())
    elif dialect == "sqlite":
        # SQLite has no row locks: a no-op write takes its database write lock, so the budget
        # read below sees every committed award and no other award commits before this one.
        rounds = Round.__table__
        db.session.execute(update(rounds).where(rounds.c.id == rnd.id).values(id=rounds.c.id))
    amount = amount_asked(application, ctx)
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


# The funding line ------------------------------------------------------------------------------

UNDECIDED_STATES = ApplicationState.tagged("undecided")


@dataclass(frozen=True)
class RankedScore:
    calibrated: float
    raw: float | None


@dataclass(frozen=True)
class FundingRow:
    position: int  # 1 is the best-ranked
    application: Application
    organization: Organization
    award: Award | None
    ranked: RankedScore  # the committed ranking's scores
    slate: SlateRow | None  # the suggestion, for an application still to decide

    @property
    def decidable(self) -> bool:
        return self.application.state in UNDECIDED_STATES


@dataclass(frozen=True)
class FundingLine:
    round: Round
    rows: list[FundingRow]  # the page asked for, in rank order
    ranked: int  # applications in the ranking
    page: int
    pages: int
    budget: Decimal
    committed: Decimal
    remaining: Decimal
    quality_floor: Decimal | None
    suggested_total: Decimal
    suggested_ids: frozenset[int]
    undecided: int
    version: int  # the committed ranking's scores version that the line shows
    updating: bool  # a newer ranking is being computed


def funding_line(
    rnd: Round,
    quality_floor: Decimal | None = None,
    *,
    page: int = 1,
    per_page: int | None = None,
    showing: int | None = None,
) -> FundingLine:
    """The round's committed ranking with its decisions and the suggested slate, one page of it
    (all of it without `per_page`; the page holding application `showing` if given), in a fixed
    number of queries: the ranking's order with the amounts and states (small columns, every
    ranked application: the slate needs them all), the page's applications with their
    organizations, awards and raw scores, and the committed total. The slate spends what
    remains of the budget on the applications still to decide (scored or waitlisted), in rank
    order."""
    status = ranking_status(rnd.id)
    version = status.ranked_version if status is not None else 0
    order = (
        db.session.connection()
        .execute(
            select(
                RankingEntry.application_id,
                RankingEntry.calibrated,
                Application.requested_amount,
                Application.state,
            )
            .join(Application, RankingEntry.application_id == Application.id)
            .where(RankingEntry.round_id == rnd.id, RankingEntry.version == version)
            .order_by(RankingEntry.rank)
        )
        .all()
    )
    committed = Decimal(committed_total(rnd))
    remaining = Decimal(rnd.budget) - committed
    floor = float(quality_floor) if quality_floor is not None else None
    slate = {
        s.application_id: s
        for s in suggest_slate(
            (
                (aid, Decimal(requested or 0), calibrated)
                for aid, calibrated, requested, state in order
                if state in UNDECIDED_STATES
            ),
            remaining,
            floor,
        )
    }
    size = per_page or max(len(order), 1)
    pages = max(1, -(-len(order) // size))
    if showing is not None:
        position = next((i for i, row in enumerate(order) if row[0] == showing), 0)
        page = position // size + 1
    page = min(max(page, 1), pages)
    shown = order[(page - 1) * size : page * size]
    found = {
        application.id: (application, organization, award, raw)
        for application, organization, award, raw in db.session.execute(
            select(Application, Organization, Award, ApplicationScore.raw)
            .join(Organization, Application.organization_id == Organization.id)
            .outerjoin(Award, Award.application_id == Application.id)
            .outerjoin(ApplicationScore, ApplicationScore.application_id == Application.id)
            .where(Application.id.in_([row[0] for row in shown]))
        )
    }
    rows = [
        FundingRow(
            position,
            *found[aid][:3],
            RankedScore(calibrated, found[aid][3]),
            slate.get(aid),
        )
        for position, (aid, calibrated, _, _) in enumerate(shown, start=(page - 1) * size + 1)
        if aid in found
    ]
    funded = [s for s in slate.values() if s.funded]
    return FundingLine(
        round=rnd,
        rows=rows,
        ranked=len(order),
        page=page,
        pages=pages,
        budget=Decimal(rnd.budget),
        committed=committed,
        remaining=remaining,
        quality_floor=quality_floor,
        suggested_total=sum((s.requested for s in funded), Decimal(0)),
        suggested_ids=frozenset(s.application_id for s in funded),
        undecided=sum(1 for row in order if row[3] in UNDECIDED_STATES),
        version=version,
        updating=status is not None and status.updating,
    )


@dataclass(frozen=True)
class DecisionOutcome:
    application: Application
    done: bool
    reasons: tuple[str, ...] = ()


def decide_many(
    applications: Iterable[Application],
    trigger: str,
    actor: Any,
    justification: str | None,
    ranking_version: int | str | None = None,
) -> list[DecisionOutcome]:
    """Fire `trigger` on each application, best-ranked first, each through the engine in its own
    savepoint: a refusal (over budget, say) leaves the others to go ahead. Awards go at the
    requested amounts; `ranking_version` is the ranking the officer saw (refused if it changed).
    The caller commits."""
    chosen = list(applications)
    data = {} if ranking_version is None else {"ranking_version": ranking_version}
    outcomes: list[DecisionOutcome] = []
    for rnd in {a.round for a in chosen}:
        positions = rank_positions(rnd)
        ordered = sorted(
            (a for a in chosen if a.round_id == rnd.id),
            key=lambda a: (positions.get(a.id, len(positions)), a.id),
        )
        for application in ordered:
            try:
                with db.session.begin_nested():
                    fire(application, trigger, actor, comment=justification, data=dict(data))
            except TransitionRefused as exc:
                reasons = tuple(split_reasons(exc.reasons))
                outcomes.append(DecisionOutcome(application, False, reasons))
            else:
                outcomes.append(DecisionOutcome(application, True))
    return outcomes


def split_reasons(reasons: Iterable[str]) -> list[str]:
    """Each reason on its own: a guard returns its several problems joined by "; "."""
    return [part.strip() for reason in reasons for part in reason.split("; ") if part.strip()]


def classify_reasons(reasons: Iterable[str]) -> dict[str, list[str]]:
    """A refusal's reasons by the field of the decision form they are about: "amount" (range,
    budget, not a number), "justification", or "other" (role, state)."""
    out: dict[str, list[str]] = {"amount": [], "justification": [], "other": []}
    for reason in split_reasons(reasons):
        if "justification" in reason:
            out["justification"].append(reason)
        elif reason.startswith(("the amount", "over budget")):
            out["amount"].append(reason)
        else:
            out["other"].append(reason)
    return out


def round_applications(rnd: Round, ids: list[int]) -> list[Application]:
    """The applications of the round among `ids` (a selection on the funding line)."""
    return list(
        db.session.scalars(
            select(Application).where(Application.id.in_(ids), Application.round_id == rnd.id)
        )
    )
