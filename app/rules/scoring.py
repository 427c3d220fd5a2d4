"""Review scores on the NIH scale, where lower is better: 1 exceptional … 9 poor.

Formulas:

* A review's criterion score is the weighted mean of its numeric criteria,
  ``Σ weight × score / Σ weight``; criteria judged only "sufficient"/"insufficient" take no part.
* An application's raw score is the mean of its reviews' overall impact scores; its NIH score is
  that mean × 10 rounded half up, 10 (best) to 90.
* Calibration fits ``score = application effect + reviewer offset + noise`` by least squares, with
  the offsets of each connected group of reviewers summing to zero and a penalty
  ``(5 - n) × offset²`` for a reviewer with n < 5 reviews, which shrinks such a reviewer's offset
  by the factor n / 5.  A positive offset marks a harsh reviewer (worse scores than their
  colleagues give the same applications).  The calibrated score of an application is the mean of
  its reviews' ``score - offset``.
* Percentile within the round: ``100 × (rank - 0.5) / n``, rank 1 being the best (lowest) score,
  tied scores sharing the mean of their ranks.
* Disagreement is flagged when the spread (max - min) of an application's scores is at least 3 or
  their sample standard deviation (n - 1 in the denominator) is at least 1.5.
* Ranking: calibrated score ascending; ties go to the lower standard deviation, then to more
  reviews with the best score (more 1s, then more 2s, …), then to the lower application id.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import TypeVar

import numpy as np

BEST_SCORE = 1
WORST_SCORE = 9
FULL_WEIGHT_REVIEWS = 5
SPREAD_FLAG = 3.0
STDEV_FLAG = 1.5
# Scores that agree to this many decimal places count as tied (percentiles, ranking).
TIE_DIGITS = 9

K = TypeVar("K")


def _check_score(score: float) -> None:
    if isinstance(score, bool) or not BEST_SCORE <= score <= WORST_SCORE:
        raise ValueError(f"score {score!r} is outside {BEST_SCORE}–{WORST_SCORE}")


def criterion_score(scores: Mapping[K, int], weights: Mapping[K, Decimal | float]) -> float | None:
    """The weighted mean of a review's criterion scores; None if there is nothing to average.

    ``scores`` holds the numeric criteria only.  Every criterion in it needs a weight; weights
    must not be negative, and a total weight of zero gives None.
    """
    total_weight = Fraction(0)
    total = Fraction(0)
    for criterion, score in scores.items():
        _check_score(score)
        if criterion not in weights:
            raise ValueError(f"criterion {criterion!r} has no weight")
        weight = Fraction(weights[criterion])
        if weight < 0:
            raise ValueError(f"criterion {criterion!r} has a negative weight")
        total_weight += weight
        total += weight * score
    if not total_weight:
        return None
    return float(total / total_weight)


def application_raw_score(overall_scores: Sequence[float]) -> float | None:
    """The mean overall impact score of an application's reviews; None without reviews."""
    for score in overall_scores:
        _check_score(score)
    if not overall_scores:
        return None
    return math.fsum(overall_scores) / len(overall_scores)


def nih_score(mean: float) -> int:
    """The NIH overall impact score: the mean × 10, rounded half up, within 10–90.

    Calibrated means can fall slightly outside 1–9; they are held to the ends of the scale.
    """
    value = int((Decimal(repr(mean)) * 10).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return min(max(value, BEST_SCORE * 10), WORST_SCORE * 10)


@dataclass(frozen=True, slots=True)
class ReviewScore:
    reviewer_id: int
    application_id: int
    score: float


@dataclass(frozen=True)
class Calibration:
    """Raw and calibrated application scores and the reviewer offsets they come from.

    ``offsets[r] > 0``: reviewer r scores worse (higher) than colleagues on the same
    applications.  ``converged`` is False only if the fit stopped at ``max_iterations``.
    """

    raw: dict[int, float]
    calibrated: dict[int, float]
    offsets: dict[int, float]
    review_counts: dict[int, int]
    iterations: int = 0
    converged: bool = True


def calibrate(
    reviews: Iterable[ReviewScore],
    *,
    full_weight_reviews: int = FULL_WEIGHT_REVIEWS,
    tolerance: float = 1e-10,
    max_iterations: int = 1000,
) -> Calibration:
    """Estimate reviewer offsets and calibrated application scores (see the module docstring).

    The least-squares problem is solved for the offsets alone: for given offsets the best
    application effect is the mean of its ``score - offset``, and putting that back leaves a
    positive definite quadratic in the offsets, on the subspace where each group's offsets sum
    to zero.  Conjugate gradients on that subspace reach its minimum in at most one step per
    reviewer (in exact arithmetic), far fewer than alternating between effects and offsets
    takes when reviewers and applications are matched by expertise and so mix slowly.  It stops
    when the residual falls below ``tolerance`` times its initial size.  The arithmetic runs on
    numpy arrays indexed by review: each step is a few gathers and ``bincount`` sums.
    """
    rows = list(reviews)
    if not rows:
        return Calibration(raw={}, calibrated={}, offsets={}, review_counts={})
    given = [review.score for review in rows]
    scores, suspects = _scores_array(given)
    reviewer_ids, reviewer_of = _first_seen_index([review.reviewer_id for review in rows])
    application_ids, application_of = _first_seen_index([review.application_id for review in rows])
    n_reviewers, n_applications = len(reviewer_ids), len(application_ids)
    pairs = reviewer_of * n_applications + application_of
    _, first = np.unique(pairs, return_index=True)
    repeated = np.ones(len(pairs), dtype=bool)
    repeated[first] = False
    twice = int(np.argmax(repeated)) if len(first) < len(pairs) else len(rows)
    # The first bad review in the given order is the one reported, as a loop would.
    for k in suspects[suspects < twice].tolist():
        _check_score(given[k])
    if twice < len(rows):
        pair = (rows[twice].reviewer_id, rows[twice].application_id)
        raise ValueError(f"reviewer {pair[0]} scored application {pair[1]} twice")

    def per_application(values: np.ndarray) -> np.ndarray:
        return np.bincount(application_of, weights=values, minlength=n_applications)

    def per_reviewer(values: np.ndarray) -> np.ndarray:
        return np.bincount(reviewer_of, weights=values, minlength=n_reviewers)

    panel_sizes = np.bincount(application_of, minlength=n_applications).astype(float)
    counts = np.bincount(reviewer_of, minlength=n_reviewers)
    raw = per_application(scores) / panel_sizes
    # The quadratic's matrix: diag(max(n_r, full_weight_reviews)) - Σ_applications 1_R 1_R^T / |R|.
    diagonal = np.maximum(counts, full_weight_reviews).astype(float)
    group = _reviewer_groups(reviewer_of, application_of, n_reviewers, n_applications)
    group_sizes = np.bincount(group, minlength=n_reviewers).astype(float)
    group_sizes[group_sizes == 0] = 1.0  # labels no group uses

    def project(vector: np.ndarray) -> np.ndarray:
        means = np.bincount(group, weights=vector, minlength=n_reviewers) / group_sizes
        return vector - means[group]

    def apply(vector: np.ndarray) -> np.ndarray:
        shares = per_application(vector[reviewer_of]) / panel_sizes
        return project(diagonal * vector - per_reviewer(shares[application_of]))

    offsets = np.zeros(n_reviewers)
    residual = project(per_reviewer(scores - raw[application_of]))
    direction = residual.copy()
    size = float(residual @ residual)
    stop = size * tolerance * tolerance
    iterations = 0
    while size > stop and iterations < max_iterations:
        iterations += 1
        product = apply(direction)
        step = size / float(direction @ product)
        offsets += step * direction
        residual -= step * product
        new_size = float(residual @ residual)
        direction = residual + (new_size / size) * direction
        size = new_size
    calibrated = per_application(scores - offsets[reviewer_of]) / panel_sizes
    return Calibration(
        raw=dict(zip(application_ids, raw.tolist(), strict=True)),
        calibrated=dict(zip(application_ids, calibrated.tolist(), strict=True)),
        offsets=dict(zip(reviewer_ids, offsets.tolist(), strict=True)),
        review_counts=dict(zip(reviewer_ids, counts.tolist(), strict=True)),
        iterations=iterations,
        converged=size <= stop,
    )


def _scores_array(scores: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """The scores as floats, and the positions of those `_check_score` must look at: out of
    the scale, or not a plain int or float (a bool, a string, ...)."""
    if set(map(type, scores)) <= {int, float}:
        plain = np.ones(len(scores), dtype=bool)
    else:
        plain = np.fromiter((type(score) in (int, float) for score in scores), bool, len(scores))
    try:
        values = np.asarray(scores, dtype=float)
    except (TypeError, ValueError):
        return np.zeros(len(scores)), np.arange(len(scores))
    suspect = ~plain | (values < BEST_SCORE) | (values > WORST_SCORE) | np.isnan(values)
    return values, np.flatnonzero(suspect)


def _first_seen_index(ids: Sequence[int]) -> tuple[list[int], np.ndarray]:
    """The distinct ids in order of first appearance, and each entry's position among them."""
    distinct, first, inverse = np.unique(np.asarray(ids), return_index=True, return_inverse=True)
    order = np.argsort(first)
    position = np.empty(len(order), dtype=np.intp)
    position[order] = np.arange(len(order))
    return distinct[order].tolist(), position[inverse.reshape(-1)]


def _reviewer_groups(
    reviewer_of: np.ndarray, application_of: np.ndarray, n_reviewers: int, n_applications: int
) -> np.ndarray:
    """Each reviewer's group (connected through shared applications) as its lowest member.

    Labels spread along reviews (reviewer → application → reviewer) as minima, and each label
    then jumps to its own label's label, so long chains of panels settle in few rounds.
    """
    label = np.arange(n_reviewers)
    while True:
        lowest = np.full(n_applications, n_reviewers)
        np.minimum.at(lowest, application_of, label[reviewer_of])
        spread = label.copy()
        np.minimum.at(spread, reviewer_of, lowest[application_of])
        while True:
            jumped = spread[spread]
            if np.array_equal(jumped, spread):
                break
            spread = jumped
        if np.array_equal(spread, label):
            return label
        label = spread


def percentiles(scores: Mapping[K, float]) -> dict[K, float]:
    """Percentile of every score within the round; the best (lowest) score has the lowest."""
    n = len(scores)
    ordered = sorted(scores.items(), key=lambda item: item[1])
    result: dict[K, float] = {}
    start = 0
    while start < n:
        end = start
        value = round(ordered[start][1], TIE_DIGITS)
        while end + 1 < n and round(ordered[end + 1][1], TIE_DIGITS) == value:
            end += 1
        mean_rank = (start + end) / 2 + 1
        for key, _ in ordered[start : end + 1]:
            result[key] = 100 * (mean_rank - 0.5) / n
        start = end + 1
    return result


@dataclass(frozen=True, slots=True)
class Disagreement:
    flag: bool
    spread: float
    stdev: float


def disagreement(scores: Sequence[float]) -> Disagreement:
    """Spread and sample standard deviation of the scores; flagged if either is large.

    Fewer than two scores cannot disagree: spread and standard deviation are then 0.
    """
    if len(scores) < 2:
        return Disagreement(False, 0.0, 0.0)
    spread = float(max(scores) - min(scores))
    stdev = statistics.stdev(scores)
    flag = round(spread, TIE_DIGITS) >= SPREAD_FLAG or round(stdev, TIE_DIGITS) >= STDEV_FLAG
    return Disagreement(flag, spread, stdev)


def round_percentiles(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    """`percentiles` of a whole round at once: the percentile of each score, in the given order.

    The same tie rule (scores equal to TIE_DIGITS places share the mean of their ranks) and
    the same arithmetic, so each value equals the one `percentiles` gives.
    """
    values = np.asarray(scores, dtype=float)
    n = len(values)
    if not n:
        return np.zeros(0)
    # Python's round, not numpy's (which scales by 10**digits and can differ in the last place).
    keys = np.array([round(value, TIE_DIGITS) for value in values.tolist()])
    _, tie, sizes = np.unique(keys, return_inverse=True, return_counts=True)
    end = np.cumsum(sizes) - 1  # 0-based position of each tie group's last member
    start = end - sizes + 1
    mean_rank = (start + end) / 2 + 1
    return (100 * (mean_rank - 0.5) / n)[tie]


@dataclass(frozen=True)
class RoundDisagreement:
    """`disagreement` of every application of a round, as arrays aligned on ``application_ids``
    (in order of first appearance), with each application's number of scores."""

    application_ids: list[int]
    counts: np.ndarray
    spread: np.ndarray
    stdev: np.ndarray
    flag: np.ndarray

    def by_application(self) -> dict[int, Disagreement]:
        return {
            application_id: Disagreement(bool(flag), spread, stdev)
            for application_id, flag, spread, stdev in zip(
                self.application_ids,
                self.flag.tolist(),
                self.spread.tolist(),
                self.stdev.tolist(),
                strict=True,
            )
        }


def round_disagreement(
    application_ids: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> RoundDisagreement:
    """Spread, sample standard deviation and flag of each application's scores, for a whole
    round given one (application id, score) per review.

    The spread and flag follow `disagreement` exactly; the standard deviation is computed in
    floating point (two passes: mean, then squared deviations) and so agrees with
    `statistics.stdev` to about 1e-15 rather than to the last bit.
    """
    values = np.asarray(scores, dtype=float)
    ids, of = _first_seen_index(application_ids)
    n = len(ids)
    counts = np.bincount(of, minlength=n)
    if not n:
        empty = np.zeros(0)
        return RoundDisagreement([], counts, empty, empty, np.zeros(0, dtype=bool))
    order = np.argsort(of, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    grouped = values[order]
    spread = np.maximum.reduceat(grouped, starts) - np.minimum.reduceat(grouped, starts)
    means = np.bincount(of, weights=values, minlength=n) / counts
    squares = np.bincount(of, weights=(values - means[of]) ** 2, minlength=n)
    several = counts >= 2
    stdev = np.sqrt(np.divide(squares, counts - 1, out=np.zeros(n), where=several))
    flag = np.fromiter(
        (
            round(s, TIE_DIGITS) >= SPREAD_FLAG or round(d, TIE_DIGITS) >= STDEV_FLAG
            for s, d in zip(spread.tolist(), stdev.tolist(), strict=True)
        ),
        bool,
        n,
    )
    return RoundDisagreement(ids, counts, spread, stdev, flag & several)


@dataclass(frozen=True)
class RankRow:
    """An application to rank: its (calibrated) score and the overall scores of its reviews."""

    application_id: int
    score: float | None
    review_scores: tuple[float, ...] = field(default=())
    # The review scores' sample standard deviation when already known (stored scores); else
    # computed from review_scores.
    stdev: float | None = None


def rank(rows: Iterable[RankRow]) -> list[RankRow]:
    """Rows from best to worst; applications without a score come last, by id."""
    return sorted(rows, key=_rank_key)


def _rank_key(row: RankRow) -> tuple[object, ...]:
    if row.score is None:
        return (1, 0.0, 0.0, (), row.application_id)
    stdev = row.stdev if row.stdev is not None else disagreement(row.review_scores).stdev
    # More reviews at 1, then at 2, …: negative counts so that more sorts first.
    counts = [0] * (WORST_SCORE - BEST_SCORE + 1)
    for score in row.review_scores:
        whole = int(Decimal(repr(score)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        counts[min(max(whole, BEST_SCORE), WORST_SCORE) - BEST_SCORE] -= 1
    return (
        0,
        round(row.score, TIE_DIGITS),
        round(stdev, TIE_DIGITS),
        tuple(counts),
        row.application_id,
    )
