"""The officer's view of a round's review: scores, the ranking and its CSV (how far the reviews
are is app.rules.review_progress).

Every function here runs a fixed number of queries, whatever the number of applications,
reviewers or reviews: one query loads all of a round's submitted reviews, one its criteria, one
the applications with their organizations and one their priority areas. The arithmetic is
app.rules.scoring's.

Lower is better throughout, as on the NIH scale (1 exceptional … 9 poor).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.criteria import Entry, kind_of
from app.domain import GOVERNMENT_TYPES, PRIORITY_AREAS
from app.extensions import db
from app.models.application import Application, ApplicationPriorityArea
from app.models.review import Review
from app.models.round import Round, RubricCriterion
from app.models.user import Organization
from app.rules import scoring
from app.states import ApplicationState

# Applications that have been (or are being) scored: ranked once a review of theirs is in.
RANKED_STATES = ApplicationState.tagged("ranked")

# ---------------------------------------------------------------------------------------------
# Scores and the ranking


@dataclass(frozen=True)
class CriterionInfo:
    id: int
    title: str
    kind: str
    weight: Decimal


@dataclass
class ApplicationScore:
    """One application's scores in its round. Raw scores are always kept beside calibrated ones."""

    application_id: int
    reference: str | None
    title: str
    state: str
    organization_name: str
    government_type: str
    state_code: str
    requested_amount: Decimal
    priority_areas: tuple[str, ...]
    overall_scores: tuple[int, ...]  # every submitted review's overall impact score
    raw: float  # mean overall impact, 1 to 9
    nih: int  # raw times 10 rounded half up, 10 to 90
    criterion_means: dict[int, float | None]  # mean score per criterion counting in the score
    criterion_score: float | None  # mean of the reviews' weighted criterion scores
    aggregates: dict[int, Any]  # per criterion: its kind's summary of the reviews (app.criteria)
    kinds: dict[int, str]  # per criterion: its kind
    calibrated: float
    spread: float  # max - min of the overall scores
    stdev: float  # their sample standard deviation
    disagreement: bool
    percentile: float = 0.0
    rank: int = 0

    @property
    def best_count(self) -> int:
        """Reviews giving the best score, 1 (ties go to more 1s, then more 2s, ...)."""
        return sum(1 for s in self.overall_scores if s == scoring.BEST_SCORE)

    percentile: float = 0.0
    rank: int = 0

    @property
    def n_reviews(self) -> int:
        return len(self.overall_scores)

    def of_kind(self, kind: str) -> dict[int, Any]:
        """The aggregates of the criteria of one kind, by criterion id."""
        return {cid: a for cid, a in self.aggregates.items() if self.kinds[cid] == kind}

    @property
    def sufficiency(self) -> dict[int, tuple[int, int]]:
        """Per sufficiency criterion: (judged sufficient, judged)."""
        return self.of_kind("sufficiency")

    @property
    def flags(self) -> list[str]:
        out = []
        if self.disagreement:
            out.append(f"Disagreement (spread {self.spread:g}, SD {self.stdev:.2f})")
        if self.state == "in_review":
            out.append("Review still open")
        return out

    @property
    def government_type_title(self) -> str:
        return GOVERNMENT_TYPES.get(self.government_type, self.government_type)

    @property
    def priority_area_titles(self) -> list[str]:
        return [PRIORITY_AREAS.get(a, a) for a in self.priority_areas]


@dataclass
class RoundScores:
    criteria: list[CriterionInfo]
    rows: list[ApplicationScore]  # in rank order, best first
    offsets: dict[int, float] = field(default_factory=dict)  # reviewer id → harshness offset


def round_scores(rnd: Round) -> RoundScores:
    """Every ranked application of the round with all its scores, best first."""
    criteria = [
        CriterionInfo(cid, title, kind, weight)
        for cid, title, kind, weight in db.session.execute(
            select(
                RubricCriterion.id,
                RubricCriterion.title,
                RubricCriterion.kind,
                RubricCriterion.weight,
            )
            .where(RubricCriterion.round_id == rnd.id)
            .order_by(RubricCriterion.position, RubricCriterion.id)
        )
    ]
    kinds = {c.id: kind_of(c) for c in criteria}
    kind_names = {cid: kind.name for cid, kind in kinds.items()}
    scored_weights = {c.id: c.weight for c in criteria if kinds[c.id].counts_in_score}
    reviews = db.session.execute(
        select(
            Review.application_id,
            Review.reviewer_id,
            Review.overall_score,
            Review.criterion_scores,
        )
        .join(Application, Review.application_id == Application.id)
        .where(
            Application.round_id == rnd.id,
            Review.state == "submitted",
            Review.overall_score.is_not(None),
        )
        .order_by(Review.id)
    ).all()
    calibration = scoring.calibrate(
        scoring.ReviewScore(reviewer_id, application_id, overall)
        for application_id, reviewer_id, overall, _ in reviews
    )
    by_application: dict[int, list[tuple[int, dict[str, dict[str, object]]]]] = {}
    for application_id, _, overall, entries in reviews:
        by_application.setdefault(application_id, []).append((int(overall), entries or {}))
    applications = db.session.execute(
        select(
            Application.id,
            Application.reference,
            Application.title,
            Application.state,
            Application.requested_amount,
            Organization.legal_name,
            Organization.government_type,
            Organization.state_code,
        )
        .join(Organization, Application.organization_id == Organization.id)
        .where(Application.round_id == rnd.id, Application.state.in_(RANKED_STATES))
    ).all()
    areas: dict[int, list[str]] = {}
    for application_id, area in db.session.execute(
        select(ApplicationPriorityArea.application_id, ApplicationPriorityArea.area)
        .join(Application, ApplicationPriorityArea.application_id == Application.id)
        .where(Application.round_id == rnd.id, Application.state.in_(RANKED_STATES))
        .order_by(ApplicationPriorityArea.application_id, ApplicationPriorityArea.area)
    ):
        areas.setdefault(application_id, []).append(area)

    # The arithmetic below depends only on small whole numbers (1-9 scores), so in a large round
    # the same inputs recur thousands of times: each distinct case is computed once (exact
    # Fractions and statistics.stdev cost about a second per 10,000 applications otherwise).
    weighted_memo: dict[tuple[tuple[int, int], ...], float | None] = {}
    overall_memo: dict[tuple[int, ...], tuple[scoring.Disagreement, float | None]] = {}
    rows = []
    for aid, reference, title, state, requested, org_name, gov_type, state_code in applications:
        scored = by_application.get(aid)
        if not scored:
            continue
        overall = tuple(score for score, _ in scored)
        answers: dict[int, list[Entry]] = {cid: [] for cid in kinds}
        weighted: list[float] = []
        for _, entries in scored:
            for cid in kinds:
                answers[cid].append(entries.get(str(cid)) or {})
            per_review: dict[int, int] = {}
            for cid in scored_weights:
                value = kinds[cid].score(answers[cid][-1])
                if value is not None:
                    per_review[cid] = value
            key = tuple(per_review.items())
            if key not in weighted_memo:
                weighted_memo[key] = scoring.criterion_score(per_review, scored_weights)
            review_score = weighted_memo[key]
            if review_score is not None:
                weighted.append(review_score)
        aggregates = {cid: kinds[cid].aggregate(entries) for cid, entries in answers.items()}
        if overall not in overall_memo:
            overall_memo[overall] = (
                scoring.disagreement(overall),
                scoring.application_raw_score(overall),
            )
        dis, raw = overall_memo[overall]
        assert raw is not None
        rows.append(
            ApplicationScore(
                application_id=aid,
                reference=reference,
                title=title or "Untitled application",
                state=state,
                organization_name=org_name,
                government_type=gov_type,
                state_code=state_code,
                requested_amount=Decimal(requested or 0),
                priority_areas=tuple(areas.get(aid, ())),
                overall_scores=overall,
                raw=raw,
                nih=scoring.nih_score(raw),
                criterion_means={cid: aggregates[cid] for cid in scored_weights},
                criterion_score=math.fsum(weighted) / len(weighted) if weighted else None,
                aggregates=aggregates,
                kinds=kind_names,
                calibrated=calibration.calibrated.get(aid, raw),
                spread=dis.spread,
                stdev=dis.stdev,
                disagreement=dis.flag,
            )
        )
    by_id = {r.application_id: r for r in rows}
    order = scoring.rank(
        scoring.RankRow(r.application_id, r.calibrated, tuple(float(s) for s in r.overall_scores))
        for r in rows
    )
    percentiles = scoring.percentiles({r.application_id: r.calibrated for r in rows})
    ranked = []
    for position, item in enumerate(order, start=1):
        row = by_id[item.application_id]
        row.rank = position
        row.percentile = percentiles[row.application_id]
        ranked.append(row)
    return RoundScores(criteria, ranked, dict(calibration.offsets))


def rank_round(rnd: Round) -> list[ApplicationScore]:
    """The round's ranked applications, best first (what decisions build on)."""
    return round_scores(rnd).rows


@dataclass(frozen=True)
class RankingFilters:
    area: str | None = None
    government_type: str | None = None
    state_code: str | None = None

    def admits(self, row: ApplicationScore) -> bool:
        return (
            (self.area is None or self.area in row.priority_areas)
            and (self.government_type is None or row.government_type == self.government_type)
            and (self.state_code is None or row.state_code == self.state_code)
        )


@dataclass(frozen=True)
class RankingPage:
    criteria: list[CriterionInfo]
    rows: list[ApplicationScore]
    total: int  # rows matching the filters
    ranked: int  # rows in the whole ranking
    page: int
    pages: int


def ranking_page(
    rnd: Round, filters: RankingFilters, page: int = 1, per_page: int = 50
) -> RankingPage:
    """One page of the ranking, filtered. Ranks and percentiles stay those of the whole round."""
    scores = round_scores(rnd)
    matching = [r for r in scores.rows if filters.admits(r)]
    pages = max(1, -(-len(matching) // per_page))
    page = min(max(page, 1), pages)
    return RankingPage(
        scores.criteria,
        matching[(page - 1) * per_page : page * per_page],
        len(matching),
        len(scores.rows),
        page,
        pages,
    )


def _text(value: str) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _number(value: float | None, places: int = 2) -> str:
    return "" if value is None else f"{value:.{places}f}"


def csv_rows(rnd: Round, filters: RankingFilters | None = None) -> Iterator[list[str]]:
    """The ranking as CSV rows, header first: every score, per criterion too."""
    scores = round_scores(rnd)
    filters = filters or RankingFilters()
    header = [
        "rank",
        "reference",
        "title",
        "jurisdiction",
        "government_type",
        "state",
        "priority_areas",
        "status",
        "requested_amount",
        "reviews",
        "overall_scores",
        "raw_score",
        "nih_score",
        "calibrated_score",
        "percentile",
        "weighted_criterion_score",
        "spread",
        "standard_deviation",
        "disagreement",
        "best_scores",
    ]
    kinds = [(c, kind_of(c)) for c in scores.criteria]
    for c, kind in kinds:
        header.extend(kind.csv_header(c))
    yield header
    for r in scores.rows:
        if not filters.admits(r):
            continue
        line = [
            str(r.rank),
            r.reference or "",
            _text(r.title),
            _text(r.organization_name),
            r.government_type_title,
            r.state_code,
            "; ".join(r.priority_area_titles),
            r.state,
            f"{r.requested_amount:.2f}",
            str(r.n_reviews),
            " ".join(str(s) for s in r.overall_scores),
            _number(r.raw),
            str(r.nih),
            _number(r.calibrated),
            _number(r.percentile, 1),
            _number(r.criterion_score),
            f"{r.spread:g}",
            _number(r.stdev),
            "yes" if r.disagreement else "no",
            str(r.best_count),
        ]
        for c, kind in kinds:
            line.extend(kind.csv_cells(r.aggregates[c.id]))
        yield line
