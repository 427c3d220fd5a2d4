"""The officer's view of a round's review: scores, the ranking and its CSV (how far the reviews
are is app.rules.review_progress).

Two ways to the same numbers:

- From scratch (`round_scores`): every submitted review of the round, its criteria, the
  applications and their priority areas, four queries, then the arithmetic of
  app.rules.scoring over the whole round. Used to rebuild the stored rows and to check them.
- Stored (`ranking_page`, `csv_rows`, `stored_round_scores`, `standing`): the rows that
  app.services.scores keeps, each application's own scores and the round's committed ranking of
  one scores version. Pages read these: they sort, filter and page in the database, with a fixed
  number of queries whatever the size of the round, and never compute the whole round.

Lower is better throughout, as on the NIH scale (1 exceptional … 9 poor).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, literal, select

from app.criteria import Entry, kind_of
from app.domain import GOVERNMENT_TYPES, PRIORITY_AREAS
from app.extensions import db
from app.memo import memoized
from app.models.application import Application, ApplicationPriorityArea
from app.models.review import Review
from app.models.round import Round, RubricCriterion
from app.models.scores import ApplicationScore as StoredScore
from app.models.scores import RankingEntry, ReviewerOffset, RoundRanking
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


def round_criteria(round_id: int) -> list[CriterionInfo]:
    """The round's rubric criteria in their order (one query)."""
    return [
        CriterionInfo(cid, title, kind, weight)
        for cid, title, kind, weight in db.session.execute(
            select(
                RubricCriterion.id,
                RubricCriterion.title,
                RubricCriterion.kind,
                RubricCriterion.weight,
            )
            .where(RubricCriterion.round_id == round_id)
            .order_by(RubricCriterion.position, RubricCriterion.id)
        )
    ]


@dataclass(frozen=True)
class OwnScores:
    """What an application's scores are from its own submitted reviews alone (what is stored in
    app.models.scores.ApplicationScore); calibration and rank need the whole round."""

    overall_scores: tuple[int, ...]
    raw: float
    nih: int
    criterion_score: float | None
    aggregates: dict[int, Any]
    spread: float
    stdev: float
    disagreement: bool


class ScoreCalculator:
    """Computes OwnScores for the applications of one rubric.

    The arithmetic depends only on small whole numbers (1-9 scores), so in a large round the same
    inputs recur thousands of times: each distinct case is computed once (exact Fractions and
    statistics.stdev cost about a second per 10,000 applications otherwise).
    """

    def __init__(self, criteria: list[CriterionInfo]) -> None:
        self.kinds = {c.id: kind_of(c) for c in criteria}
        self.kind_names = {cid: kind.name for cid, kind in self.kinds.items()}
        self.scored_weights = {c.id: c.weight for c in criteria if self.kinds[c.id].counts_in_score}
        self._weighted: dict[tuple[tuple[int, int], ...], float | None] = {}
        self._overall: dict[tuple[int, ...], tuple[scoring.Disagreement, float | None]] = {}

    def own_scores(self, reviews: list[tuple[int, dict[str, Any]]]) -> OwnScores | None:
        """From (overall score, criterion entries) of each submitted review, in review order."""
        if not reviews:
            return None
        overall = tuple(int(score) for score, _ in reviews)
        answers: dict[int, list[Entry]] = {cid: [] for cid in self.kinds}
        weighted: list[float] = []
        for _, entries in reviews:
            entries = entries or {}
            for cid in self.kinds:
                answers[cid].append(entries.get(str(cid)) or {})
            per_review: dict[int, int] = {}
            for cid in self.scored_weights:
                value = self.kinds[cid].score(answers[cid][-1])
                if value is not None:
                    per_review[cid] = value
            key = tuple(per_review.items())
            if key not in self._weighted:
                self._weighted[key] = scoring.criterion_score(per_review, self.scored_weights)
            review_score = self._weighted[key]
            if review_score is not None:
                weighted.append(review_score)
        if overall not in self._overall:
            self._overall[overall] = (
                scoring.disagreement(overall),
                scoring.application_raw_score(overall),
            )
        dis, raw = self._overall[overall]
        assert raw is not None
        return OwnScores(
            overall_scores=overall,
            raw=raw,
            nih=scoring.nih_score(raw),
            criterion_score=math.fsum(weighted) / len(weighted) if weighted else None,
            aggregates={cid: self.kinds[cid].aggregate(e) for cid, e in answers.items()},
            spread=dis.spread,
            stdev=dis.stdev,
            disagreement=dis.flag,
        )


def submitted_reviews(
    round_id: int, application_id: int | None = None, *, entries: bool = True
) -> list[Any]:
    """(application id, reviewer id, overall score, criterion entries) of every submitted review
    of the round (or of one application), in review order: one query. Without `entries`, the
    criterion entries are not loaded (None): calibration needs only the overall scores."""
    query = (
        select(
            Review.application_id,
            Review.reviewer_id,
            Review.overall_score,
            Review.criterion_scores if entries else literal(None),
        )
        .join(Application, Review.application_id == Application.id)
        .where(
            Application.round_id == round_id,
            Review.state == "submitted",
            Review.overall_score.is_not(None),
        )
        .order_by(Review.id)
    )
    if application_id is not None:
        query = query.where(Review.application_id == application_id)
    return list(db.session.execute(query).all())


@dataclass(frozen=True)
class Placing:
    """An application's place in its round: what depends on every review of the round."""

    calibrated: float
    percentile: float
    rank: int


@dataclass(frozen=True)
class RoundPlacings:
    placings: dict[int, Placing]  # application id → its place
    offsets: dict[int, float]  # reviewer id → harshness offset
    review_counts: dict[int, int]  # reviewer id → submitted reviews in the calibration


def place(
    reviews: list[Any], own: dict[int, OwnScores], ranked_ids: Iterable[int]
) -> RoundPlacings:
    """Calibrate the round's reviews, then rank and place the ranked applications that have
    scores (`own`), best first: the order of app.rules.scoring.rank."""
    calibration = scoring.calibrate(
        scoring.ReviewScore(reviewer_id, application_id, overall)
        for application_id, reviewer_id, overall, _ in reviews
    )
    ids = [aid for aid in ranked_ids if aid in own]
    calibrated = {aid: calibration.calibrated.get(aid, own[aid].raw) for aid in ids}
    order = scoring.rank(
        scoring.RankRow(
            aid,
            calibrated[aid],
            tuple(float(s) for s in own[aid].overall_scores),
            stdev=own[aid].stdev,
        )
        for aid in ids
    )
    percentiles = dict(
        zip(ids, scoring.round_percentiles([calibrated[aid] for aid in ids]).tolist(), strict=True)
    )
    placings = {
        row.application_id: Placing(
            calibrated[row.application_id], percentiles[row.application_id], position
        )
        for position, row in enumerate(order, start=1)
    }
    return RoundPlacings(placings, dict(calibration.offsets), dict(calibration.review_counts))


@dataclass(frozen=True)
class _Described:
    """What the ranking shows of an application besides its scores."""

    reference: str | None
    title: str
    state: str
    organization_name: str
    government_type: str
    state_code: str
    requested_amount: Decimal
    priority_areas: tuple[str, ...]


def _score_row(
    aid: int,
    info: _Described,
    own: OwnScores,
    placing: Placing,
    calc_kinds: dict[int, str],
    scored: Iterable[int],
) -> ApplicationScore:
    return ApplicationScore(
        application_id=aid,
        reference=info.reference,
        title=info.title or "Untitled application",
        state=info.state,
        organization_name=info.organization_name,
        government_type=info.government_type,
        state_code=info.state_code,
        requested_amount=info.requested_amount,
        priority_areas=info.priority_areas,
        overall_scores=own.overall_scores,
        raw=own.raw,
        nih=own.nih,
        criterion_means={cid: own.aggregates.get(cid) for cid in scored},
        criterion_score=own.criterion_score,
        aggregates=own.aggregates,
        kinds=calc_kinds,
        calibrated=placing.calibrated,
        spread=own.spread,
        stdev=own.stdev,
        disagreement=own.disagreement,
        percentile=placing.percentile,
        rank=placing.rank,
    )


def _priority_areas(
    round_id: int, application_ids: Iterable[int] | None = None
) -> dict[int, list[str]]:
    query = select(ApplicationPriorityArea.application_id, ApplicationPriorityArea.area).order_by(
        ApplicationPriorityArea.application_id, ApplicationPriorityArea.area
    )
    if application_ids is not None:  # a page's rows: by their ids alone
        query = query.where(ApplicationPriorityArea.application_id.in_(list(application_ids)))
    else:
        query = query.join(Application, ApplicationPriorityArea.application_id == Application.id)
        query = query.where(Application.round_id == round_id, Application.state.in_(RANKED_STATES))
    areas: dict[int, list[str]] = {}
    for application_id, area in db.session.execute(query):
        areas.setdefault(application_id, []).append(area)
    return areas


_DESCRIBED_COLUMNS = (
    Application.id,
    Application.reference,
    Application.title,
    Application.state,
    Application.requested_amount,
    Organization.legal_name,
    Organization.government_type,
    Organization.state_code,
)


def _described(row: Any, areas: dict[int, list[str]]) -> _Described:
    aid, reference, title, state, requested, org_name, gov_type, state_code = row[:8]
    return _Described(
        reference,
        title,
        state,
        org_name,
        gov_type,
        state_code,
        Decimal(requested or 0),
        tuple(areas.get(aid, ())),
    )


def round_scores(rnd: Round) -> RoundScores:
    """Every ranked application of the round with all its scores, best first, computed from
    scratch from every submitted review: what the stored scores (`stored_round_scores`, which
    pages read) must always equal. Used to rebuild them and to check them."""
    criteria = round_criteria(rnd.id)
    calc = ScoreCalculator(criteria)
    reviews = submitted_reviews(rnd.id)
    by_application: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for application_id, _, overall, entries in reviews:
        by_application.setdefault(application_id, []).append((int(overall), entries or {}))
    applications = db.session.execute(
        select(*_DESCRIBED_COLUMNS)
        .join(Organization, Application.organization_id == Organization.id)
        .where(Application.round_id == rnd.id, Application.state.in_(RANKED_STATES))
    ).all()
    areas = _priority_areas(rnd.id)
    own: dict[int, OwnScores] = {}
    for row in applications:
        scores = calc.own_scores(by_application.get(row[0], []))
        if scores is not None:
            own[row[0]] = scores
    placings = place(reviews, own, (row[0] for row in applications))
    described = {row[0]: _described(row, areas) for row in applications}
    rows = [
        _score_row(aid, described[aid], own[aid], p, calc.kind_names, calc.scored_weights)
        for aid, p in sorted(placings.placings.items(), key=lambda item: item[1].rank)
    ]
    return RoundScores(criteria, rows, placings.offsets)


# ---------------------------------------------------------------------------------------------
# The stored ranking (app.models.scores): what pages and decisions read


def ranking_status(round_id: int) -> RoundRanking | None:
    """The round's scores version and committed ranking version (None: nothing scored yet),
    read once per request (app.memo)."""
    return memoized(("ranking_status", round_id), lambda: db.session.get(RoundRanking, round_id))


def ranked_version(round_id: int) -> int:
    status = ranking_status(round_id)
    return status.ranked_version if status is not None else 0


def _stored_query(round_id: int, version: int) -> Select[Any]:
    return (
        select(
            *_DESCRIBED_COLUMNS,
            StoredScore.overall_scores,
            StoredScore.raw,
            StoredScore.nih,
            StoredScore.criterion_score,
            StoredScore.aggregates,
            StoredScore.spread,
            StoredScore.stdev,
            StoredScore.disagreement,
            RankingEntry.rank,
            RankingEntry.calibrated,
            RankingEntry.percentile,
        )
        .join(RankingEntry, RankingEntry.application_id == Application.id)
        .join(StoredScore, StoredScore.application_id == Application.id)
        .join(Organization, Application.organization_id == Organization.id)
        .where(RankingEntry.round_id == round_id, RankingEntry.version == version)
    )


def _from_stored(row: Any, areas: dict[int, list[str]], calc: ScoreCalculator) -> ApplicationScore:
    stored = row._mapping
    aggregates = {cid: _aggregate(stored["aggregates"].get(str(cid))) for cid in calc.kinds}
    own = OwnScores(
        overall_scores=tuple(stored["overall_scores"]),
        raw=float(stored["raw"] or 0.0),
        nih=int(stored["nih"] or 0),
        criterion_score=stored["criterion_score"],
        aggregates=aggregates,
        spread=stored["spread"],
        stdev=stored["stdev"],
        disagreement=stored["disagreement"],
    )
    placing = Placing(stored["calibrated"], stored["percentile"], stored["rank"])
    return _score_row(
        row[0], _described(row, areas), own, placing, calc.kind_names, calc.scored_weights
    )


def _aggregate(value: Any) -> Any:
    """A kind's aggregate as stored in JSON back to what the kind gives (pairs are tuples)."""
    return tuple(value) if isinstance(value, list) else value


def stored_round_scores(rnd: Round) -> RoundScores:
    """The round's committed ranking with every score, best first, from the stored rows."""
    criteria = round_criteria(rnd.id)
    calc = ScoreCalculator(criteria)
    version = ranked_version(rnd.id)
    areas = _priority_areas(rnd.id)
    rows = [
        _from_stored(row, areas, calc)
        for row in db.session.execute(_stored_query(rnd.id, version).order_by(RankingEntry.rank))
    ]
    offsets = dict(
        db.session.execute(
            select(ReviewerOffset.reviewer_id, ReviewerOffset.offset).where(
                ReviewerOffset.round_id == rnd.id, ReviewerOffset.version == version
            )
        ).all()
    )
    return RoundScores(criteria, rows, offsets)


def rank_round(rnd: Round) -> list[ApplicationScore]:
    """The round's committed ranking, best first (what decisions build on)."""
    return stored_round_scores(rnd).rows


@dataclass(frozen=True)
class RankingFilters:
    area: str | None = None
    government_type: str | None = None
    state_code: str | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        """The filters as SQL conditions on applications and their organizations."""
        out: list[ColumnElement[bool]] = []
        if self.area is not None:
            out.append(
                exists().where(
                    ApplicationPriorityArea.application_id == Application.id,
                    ApplicationPriorityArea.area == self.area,
                )
            )
        if self.government_type is not None:
            out.append(Organization.government_type == self.government_type)
        if self.state_code is not None:
            out.append(Organization.state_code == self.state_code)
        return out


@dataclass(frozen=True)
class RankingPage:
    criteria: list[CriterionInfo]
    rows: list[ApplicationScore]
    total: int  # rows matching the filters
    ranked: int  # rows in the whole ranking
    first: int  # position of the first row among those matching (1-based; 0 without rows)
    version: int  # the scores version of the ranking shown
    scores_version: int  # the version the reviews are at: newer while a ranking is computing
    next_after: int | None  # the rank to start the next page after
    previous_before: int | None  # the rank to end the previous page before

    @property
    def updating(self) -> bool:
        return self.scores_version != self.version


def ranking_page(
    rnd: Round,
    filters: RankingFilters,
    *,
    after: int | None = None,
    before: int | None = None,
    per_page: int = 50,
) -> RankingPage:
    """One page of the committed ranking, filtered, sorted and cut in the database (keyset on
    rank: the rows after rank `after`, or the page ending before rank `before`). Ranks and
    percentiles stay those of the whole round. A fixed number of queries."""
    status = ranking_status(rnd.id)
    version = status.ranked_version if status is not None else 0
    criteria = round_criteria(rnd.id)
    calc = ScoreCalculator(criteria)
    query = _stored_query(rnd.id, version).where(*filters.clauses())
    if before is not None:
        found = db.session.execute(
            query.where(RankingEntry.rank < before)
            .order_by(RankingEntry.rank.desc())
            .limit(per_page + 1)
        ).all()
        more_before = len(found) > per_page
        found = list(reversed(found[:per_page]))
        more_after = True
    else:
        found = db.session.execute(
            query.where(RankingEntry.rank > (after or 0))
            .order_by(RankingEntry.rank)
            .limit(per_page + 1)
        ).all()
        more_after = len(found) > per_page
        found = found[:per_page]
        more_before = bool(after)
    first_rank = found[0].rank if found else 0
    matching = (
        select(func.count(), func.count().filter(RankingEntry.rank < first_rank))
        .select_from(RankingEntry)
        .where(RankingEntry.round_id == rnd.id, RankingEntry.version == version)
    )
    if filters.clauses():  # the joins only where a filter needs them: else the index counts
        matching = (
            matching.join(Application, RankingEntry.application_id == Application.id)
            .join(Organization, Application.organization_id == Organization.id)
            .where(*filters.clauses())
        )
    total, earlier = db.session.execute(matching).one()
    ranked = (
        total
        if not filters.clauses()
        else db.session.scalar(
            select(func.count())
            .select_from(RankingEntry)
            .where(RankingEntry.round_id == rnd.id, RankingEntry.version == version)
        )
    )
    areas = _priority_areas(rnd.id, [row[0] for row in found]) if found else {}
    rows = [_from_stored(row, areas, calc) for row in found]
    return RankingPage(
        criteria=criteria,
        rows=rows,
        total=total,
        ranked=ranked or 0,
        first=(earlier + 1) if rows else 0,
        version=version,
        scores_version=status.scores_version if status is not None else 0,
        next_after=rows[-1].rank if rows and more_after else None,
        previous_before=rows[0].rank if rows and (more_before or earlier) else None,
    )


def _text(value: str) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _number(value: float | None, places: int = 2) -> str:
    return "" if value is None else f"{value:.{places}f}"


def csv_rows(rnd: Round, filters: RankingFilters | None = None) -> Iterator[list[str]]:
    """The committed ranking as CSV rows, header first: every score, per criterion too. The
    rows come from the ranking page's query, streamed from the database in batches.

    The round's id is read now, in the request: a server streams the rows after the request
    has committed and its session has closed, when ``rnd`` can no longer be read."""
    return _csv_rows(rnd.id, filters or RankingFilters())


def _csv_rows(round_id: int, filters: RankingFilters) -> Iterator[list[str]]:
    criteria = round_criteria(round_id)
    calc = ScoreCalculator(criteria)
    version = ranked_version(round_id)
    areas = _priority_areas(round_id)
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
    kinds = [(c, kind_of(c)) for c in criteria]
    for c, kind in kinds:
        header.extend(kind.csv_header(c))
    yield header
    query = (
        _stored_query(round_id, version)
        .where(*filters.clauses())
        .order_by(RankingEntry.rank)
        .execution_options(yield_per=1000)
    )
    # Core rows, not the ORM's: at 10,000 rows the ORM's row processing is a third of the time.
    for found in db.session.connection().execute(query):
        r = _from_stored(found, areas, calc)
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


def placing_of(application: Application) -> Placing | None:
    """The application's place in the round's committed ranking (None: unranked), read once
    per unit of work."""
    version = ranked_version(application.round_id)

    def read() -> Placing | None:
        row = db.session.execute(
            select(RankingEntry.calibrated, RankingEntry.percentile, RankingEntry.rank).where(
                RankingEntry.round_id == application.round_id,
                RankingEntry.version == version,
                RankingEntry.application_id == application.id,
            )
        ).one_or_none()
        return Placing(*row) if row is not None else None

    return memoized(("placing_of", application.id, version), read)


@dataclass(frozen=True)
class Standing:
    """An application's place in the committed ranking, as its page shows it."""

    version: int  # the ranking's scores version (decisions carry it back)
    updating: bool  # a newer ranking is being computed
    rank: int | None  # None: not ranked
    ranked: int
    calibrated: float | None
    percentile: float | None


def standing(application: Application) -> Standing:
    """Where the application stands in its round's committed ranking: three small queries."""
    status = ranking_status(application.round_id)
    entry = placing_of(application)
    return Standing(
        version=status.ranked_version if status is not None else 0,
        updating=status is not None and status.updating,
        rank=entry.rank if entry else None,
        ranked=status.ranked_count if status is not None else 0,
        calibrated=entry.calibrated if entry else None,
        percentile=entry.percentile if entry else None,
    )
