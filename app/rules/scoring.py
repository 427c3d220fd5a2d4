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
    when the residual falls below ``tolerance`` times its initial size.
    """
    by_app: dict[int, list[tuple[int, float]]] = {}
    by_reviewer: dict[int, list[tuple[int, float]]] = {}
    seen: set[tuple[int, int]] = set()
    for review in reviews:
        _check_score(review.score)
        pair = (review.reviewer_id, review.application_id)
        if pair in seen:
            raise ValueError(f"reviewer {pair[0]} scored application {pair[1]} twice")
        seen.add(pair)
        by_app.setdefault(review.application_id, []).append((review.reviewer_id, review.score))
        by_reviewer.setdefault(review.reviewer_id, []).append((review.application_id, review.score))
    raw = {a: math.fsum(s for _, s in rows) / len(rows) for a, rows in by_app.items()}
    counts = {r: len(rows) for r, rows in by_reviewer.items()}
    reviewer_ids = list(by_reviewer)
    index = {r: k for k, r in enumerate(reviewer_ids)}
    # Per application: its reviewers' positions; the quadratic's matrix is
    # diag(max(n_r, full_weight_reviews)) - Σ_applications 1_R 1_R^T / |R|.
    panels = [[index[r] for r, _ in rows] for rows in by_app.values()]
    diagonal = [float(max(counts[r], full_weight_reviews)) for r in reviewer_ids]
    groups = [[index[r] for r in group] for group in _reviewer_groups(by_app, by_reviewer)]

    def project(vector: list[float]) -> list[float]:
        for group in groups:
            mean = math.fsum(vector[k] for k in group) / len(group)
            for k in group:
                vector[k] -= mean
        return vector

    def apply(vector: list[float]) -> list[float]:
        product = [d * x for d, x in zip(diagonal, vector, strict=True)]
        for panel in panels:
            share = sum(vector[k] for k in panel) / len(panel)
            for k in panel:
                product[k] -= share
        return project(product)

    target = [0.0] * len(reviewer_ids)
    for a, rows in by_app.items():
        for r, score in rows:
            target[index[r]] += score - raw[a]
    offsets = [0.0] * len(reviewer_ids)
    residual = project(target)
    direction = list(residual)
    size = math.fsum(x * x for x in residual)
    stop = size * tolerance * tolerance
    iterations = 0
    while size > stop and iterations < max_iterations:
        iterations += 1
        product = apply(direction)
        step = size / math.fsum(p * q for p, q in zip(direction, product, strict=True))
        offsets = [o + step * p for o, p in zip(offsets, direction, strict=True)]
        residual = [r - step * q for r, q in zip(residual, product, strict=True)]
        new_size = math.fsum(x * x for x in residual)
        direction = [r + (new_size / size) * p for r, p in zip(residual, direction, strict=True)]
        size = new_size
    offset_of = dict(zip(reviewer_ids, offsets, strict=True))
    calibrated = {
        a: math.fsum(s - offset_of[r] for r, s in rows) / len(rows) for a, rows in by_app.items()
    }
    return Calibration(
        raw=raw,
        calibrated=calibrated,
        offsets=offset_of,
        review_counts=counts,
        iterations=iterations,
        converged=size <= stop,
    )


def _reviewer_groups(
    by_app: Mapping[int, list[tuple[int, float]]],
    by_reviewer: Mapping[int, list[tuple[int, float]]],
) -> list[list[int]]:
    """Reviewers linked through shared applications (connected components), each sorted."""
    parent = {r: r for r in by_reviewer}

    def find(r: int) -> int:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    for rows in by_app.values():
        first = find(rows[0][0])
        for r, _ in rows[1:]:
            root = find(r)
            if root != first:
                parent[root] = first
    groups: dict[int, list[int]] = {}
    for r in by_reviewer:
        groups.setdefault(find(r), []).append(r)
    return [sorted(g) for g in groups.values()]


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


@dataclass(frozen=True)
class RankRow:
    """An application to rank: its (calibrated) score and the overall scores of its reviews."""

    application_id: int
    score: float | None
    review_scores: tuple[float, ...] = field(default=())


def rank(rows: Iterable[RankRow]) -> list[RankRow]:
    """Rows from best to worst; applications without a score come last, by id."""
    return sorted(rows, key=_rank_key)


def _rank_key(row: RankRow) -> tuple[object, ...]:
    if row.score is None:
        return (1, 0.0, 0.0, (), row.application_id)
    stdev = disagreement(row.review_scores).stdev
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
