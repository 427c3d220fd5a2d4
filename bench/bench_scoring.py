"""Benchmark: assignment, calibration and ranking of a synthetic round of 10,000 applications.

300 reviewers, 3 reviews per application (30,000 reviews), loads 70–130.  Applications have one to
three priority areas and one to three partner countries (their regions through app.countries);
reviewers one to three areas and regions.  Every application and reviewer belongs to a state, and
no reviewer reviews their own state's applications (about 2 % of all pairs).  Scores are
``true quality + reviewer offset + noise``, rounded to 1–9.

Run: ``.venv/bin/python -m bench.bench_scoring``.  The assignment is solved exactly (OR-Tools'
min-cost flow on the complete network of about three million arcs).

Calibration is timed twice in the same run: ``app.rules.scoring.calibrate`` (numpy) and the pure
Python conjugate gradients it replaced (kept here only, as ``python_calibrate``), with the largest
difference between their offsets and calibrated scores; the round's percentiles and disagreement
likewise, vectorised (``round_percentiles``, ``round_disagreement``) against the per-application
functions.
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections.abc import Callable
from typing import Any, TypeVar

from app.countries import COUNTRIES, region_of
from app.domain import PRIORITY_AREAS, REGIONS, US_STATES
from app.rules.scoring import (
    Calibration,
    RankRow,
    ReviewScore,
    calibrate,
    disagreement,
    nih_score,
    percentiles,
    rank,
    round_disagreement,
    round_percentiles,
)
from app.services.assignment import ApplicationItem, AssignmentResult, Pair, Reviewer, assign

APPLICATIONS = 10_000
REVIEWERS = 300
PER_APPLICATION = 3
MIN_LOAD = 70
MAX_LOAD = 130

T = TypeVar("T")


def synthetic_round(
    seed: int = 2026,
) -> tuple[list[ApplicationItem], list[Reviewer], set[Pair]]:
    rng = random.Random(seed)
    areas = sorted(PRIORITY_AREAS)
    countries = sorted(COUNTRIES)
    states = sorted(US_STATES)
    applications = []
    app_state = []
    for i in range(APPLICATIONS):
        partners = rng.sample(countries, rng.randint(1, 3))
        applications.append(
            ApplicationItem(
                i + 1,
                frozenset(rng.sample(areas, rng.randint(1, 3))),
                frozenset(r for r in map(region_of, partners) if r),
            )
        )
        app_state.append(rng.choice(states))
    reviewers = [
        Reviewer(
            100_001 + j,
            frozenset(rng.sample(areas, rng.randint(1, 3))),
            frozenset(rng.sample(sorted(REGIONS), rng.randint(1, 3))),
        )
        for j in range(REVIEWERS)
    ]
    by_state: dict[str, list[int]] = {}
    for application, state in zip(applications, app_state, strict=True):
        by_state.setdefault(state, []).append(application.id)
    conflicts = {
        (reviewer.id, aid) for reviewer in reviewers for aid in by_state.get(rng.choice(states), [])
    }
    return applications, reviewers, conflicts


def synthetic_scores(
    pairs: list[Pair], seed: int = 7
) -> tuple[list[ReviewScore], dict[int, float]]:
    rng = random.Random(seed)
    quality: dict[int, float] = {}
    offset: dict[int, float] = {}
    reviews = []
    for reviewer_id, application_id in pairs:
        q = quality.setdefault(application_id, rng.uniform(1.5, 7.5))
        o = offset.setdefault(reviewer_id, rng.gauss(0, 0.8))
        score = min(9, max(1, round(q + o + rng.gauss(0, 0.7))))
        reviews.append(ReviewScore(reviewer_id, application_id, score))
    return reviews, quality


def timed(repeats: int, work: Callable[[], T]) -> tuple[float, float, T]:
    """Median wall-clock and CPU seconds over ``repeats`` runs, and the last result."""
    walls, cpus = [], []
    result: T | None = None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    assert result is not None
    return statistics.median(walls), statistics.median(cpus), result


def python_calibrate(
    reviews: list[ReviewScore], full_weight_reviews: int = 5, tolerance: float = 1e-10
) -> Calibration:
    """The pure Python calibration that ``calibrate`` replaced (same model, same stopping rule),
    kept for the before/after figure."""
    by_app: dict[int, list[tuple[int, float]]] = {}
    by_reviewer: dict[int, list[tuple[int, float]]] = {}
    for review in reviews:
        by_app.setdefault(review.application_id, []).append((review.reviewer_id, review.score))
        by_reviewer.setdefault(review.reviewer_id, []).append((review.application_id, review.score))
    raw = {a: math.fsum(s for _, s in rows) / len(rows) for a, rows in by_app.items()}
    counts = {r: len(rows) for r, rows in by_reviewer.items()}
    reviewer_ids = list(by_reviewer)
    index = {r: k for k, r in enumerate(reviewer_ids)}
    panels = [[index[r] for r, _ in rows] for rows in by_app.values()]
    diagonal = [float(max(counts[r], full_weight_reviews)) for r in reviewer_ids]
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
    members: dict[int, list[int]] = {}
    for r in by_reviewer:
        members.setdefault(find(r), []).append(index[r])
    groups = list(members.values())

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
    while size > stop and iterations < 1000:
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
    return Calibration(raw, calibrated, offset_of, counts, iterations, size <= stop)


def scalar_round_stats(reviews: list[ReviewScore], calibration: Calibration) -> Any:
    """Percentiles and disagreement of the round through the per-application functions."""
    scores: dict[int, list[float]] = {}
    for review in reviews:
        scores.setdefault(review.application_id, []).append(review.score)
    return percentiles(calibration.calibrated), {a: disagreement(s) for a, s in scores.items()}


def vector_round_stats(reviews: list[ReviewScore], calibration: Calibration) -> Any:
    """The same through round_percentiles and round_disagreement."""
    ids = list(calibration.calibrated)
    found = round_percentiles(list(calibration.calibrated.values()))
    spreads = round_disagreement(
        [r.application_id for r in reviews], [r.score for r in reviews]
    ).by_application()
    return dict(zip(ids, found.tolist(), strict=True)), spreads


def calibration_figures(reviews: list[ReviewScore], repeats: int) -> tuple[dict[str, Any], Any]:
    """numpy calibration against the pure Python one, and vectorised round statistics against
    the per-application ones, each pair timed in the same run."""
    figures: dict[str, Any] = {}
    wall, cpu, calibration = timed(repeats, lambda: calibrate(reviews))
    old_wall, _, old = timed(repeats, lambda: python_calibrate(reviews))
    figures["calibration_seconds"] = round(wall, 4)
    figures["calibration_cpu_seconds"] = round(cpu, 4)
    figures["calibration_python_seconds"] = round(old_wall, 3)
    figures["calibration_speedup"] = round(old_wall / wall, 1)
    figures["calibration_iterations"] = calibration.iterations
    figures["calibration_python_iterations"] = old.iterations
    figures["calibration_max_difference"] = max(
        max(abs(calibration.offsets[r] - old.offsets[r]) for r in old.offsets),
        max(abs(calibration.calibrated[a] - old.calibrated[a]) for a in old.calibrated),
    )
    wall, _, vector = timed(repeats, lambda: vector_round_stats(reviews, calibration))
    old_wall, _, scalar = timed(repeats, lambda: scalar_round_stats(reviews, calibration))
    figures["round_stats_seconds"] = round(wall, 4)
    figures["round_stats_scalar_seconds"] = round(old_wall, 4)
    figures["round_stats_speedup"] = round(old_wall / wall, 1)
    figures["round_stats_percentiles_equal"] = vector[0] == scalar[0]
    figures["round_stats_flags_equal"] = all(
        (vector[1][a].flag, vector[1][a].spread) == (d.flag, d.spread) for a, d in scalar[1].items()
    )
    return figures, calibration


def rank_round(reviews: list[ReviewScore], calibration: Calibration) -> dict[str, Any]:
    """Everything the ranking page needs once the calibration is done."""
    scores: dict[int, list[float]] = {}
    for review in reviews:
        scores.setdefault(review.application_id, []).append(review.score)
    rows = [RankRow(aid, calibration.calibrated[aid], tuple(own)) for aid, own in scores.items()]
    ordered = rank(rows)
    return {
        "order": [row.application_id for row in ordered],
        "percentiles": percentiles(calibration.calibrated),
        "flags": sum(disagreement(own).flag for own in scores.values()),
        "nih": {aid: nih_score(calibration.calibrated[aid]) for aid in scores},
    }


def _rmse(estimate: dict[int, float], truth: dict[int, float]) -> float:
    me = math.fsum(estimate.values()) / len(estimate)
    mt = math.fsum(truth[k] for k in estimate) / len(estimate)
    return math.sqrt(
        math.fsum((estimate[k] - me - truth[k] + mt) ** 2 for k in estimate) / len(estimate)
    )


def run(repeats: int = 3) -> dict[str, Any]:
    """Time each stage (median of ``repeats`` runs) and print the figures."""
    applications, reviewers, conflicts = synthetic_round()

    def solve() -> AssignmentResult:
        return assign(
            applications,
            reviewers,
            PER_APPLICATION,
            min_load=MIN_LOAD,
            max_load=MAX_LOAD,
            conflicts=conflicts,
        )

    wall, cpu, result = timed(repeats, solve)
    figures: dict[str, Any] = {
        "applications": len(applications),
        "reviewers": len(reviewers),
        "conflicts": len(conflicts),
        "assignment_seconds": round(wall, 2),
        "assignment_cpu_seconds": round(cpu, 2),
        "assignment_stats": result.stats,
        "quality": result.quality,
        "load_range": (min(result.loads.values()), max(result.loads.values())),
    }

    reviews, quality = synthetic_scores(result.pairs)
    figures["reviews"] = len(reviews)
    calibration_part, calibration = calibration_figures(reviews, repeats)
    figures.update(calibration_part)
    figures["rmse_raw_mean"] = round(_rmse(calibration.raw, quality), 4)
    figures["rmse_calibrated"] = round(_rmse(calibration.calibrated, quality), 4)
    wall, cpu, ranking = timed(repeats, lambda: rank_round(reviews, calibration))
    figures["ranking_seconds"] = round(wall, 3)
    figures["ranking_cpu_seconds"] = round(cpu, 3)
    figures["disagreement_flags"] = ranking["flags"]
    for key, value in figures.items():
        print(f"{key:32} {value}")
    return figures


if __name__ == "__main__":
    run()
