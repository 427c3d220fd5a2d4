"""Benchmark: assignment, calibration and ranking of a synthetic round of 10,000 applications.

300 reviewers, 3 reviews per application (30,000 reviews), loads 70–130.  Applications have one to
three priority areas and one to three partner countries (their regions through app.countries);
reviewers one to three areas and regions.  Every application and reviewer belongs to a state, and
no reviewer reviews their own state's applications (about 2 % of all pairs).  Scores are
``true quality + reviewer offset + noise``, rounded to 1–9.

Run: ``.venv/bin/python -m bench.bench_scoring`` (add ``--exact`` to also time a solve that proves
the exact optimum instead of stopping at the default balance tolerance).
"""

from __future__ import annotations

import math
import random
import statistics
import sys
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
)
from app.services.assignment import ApplicationItem, Pair, Reviewer, assign

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


def run(repeats: int = 3, exact: bool = False) -> dict[str, Any]:
    """Time each stage (median of ``repeats`` runs) and print the figures."""
    applications, reviewers, conflicts = synthetic_round()

    def solve(tolerance: float | None = None) -> Any:
        extra = {} if tolerance is None else {"balance_tolerance": tolerance}
        return assign(
            applications,
            reviewers,
            PER_APPLICATION,
            min_load=MIN_LOAD,
            max_load=MAX_LOAD,
            conflicts=conflicts,
            **extra,
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
    if exact:
        exact_wall, exact_cpu, exact_result = timed(1, lambda: solve(0.0))
        figures["exact_assignment_seconds"] = round(exact_wall, 2)
        figures["exact_assignment_cpu_seconds"] = round(exact_cpu, 2)
        figures["exact_assignment_stats"] = exact_result.stats

    reviews, quality = synthetic_scores(result.pairs)
    figures["reviews"] = len(reviews)
    wall, cpu, calibration = timed(repeats, lambda: calibrate(reviews))
    figures["calibration_seconds"] = round(wall, 3)
    figures["calibration_cpu_seconds"] = round(cpu, 3)
    figures["calibration_iterations"] = calibration.iterations
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
    run(exact="--exact" in sys.argv)
