"""Review pages benchmark: the officer's ranking page and CSV and a reviewer's queue.

``python -m bench.bench_review_pages`` (``--quick`` for smaller sizes) generates two throwaway
SQLite rounds with ``bench.data`` (10,000 and 1,000 reviewed applications, 300 reviewers, three
submitted reviews each; ``--quick``: 2,000 and 500), then, with Flask's test client and a
signed-in officer and reviewer, in one run:

- the median wall time (interleaved runs) on the large round of the ranking page
  (``/officer/rounds/<id>/ranking``, first page), the ranking CSV export (streamed; the time to
  read the whole body), the queue of the reviewer with the most reviews (``/review/``), and a
  bare Flask route (``/bare`` returning a short string), each page as a ratio to the bare route;
- the SQL statements each page runs on the small and on the large round (a
  ``before_cursor_execute`` counter): they must be equal;
- the time of ``app.rules.ranking.round_scores`` on the large round (load the reviews,
  calibrate, build and rank every row) and of ``scoring.calibrate`` alone within it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from app.extensions import db
from app.models.application import Application
from app.models.review import Review
from app.models.round import Round
from app.rules import ranking, scoring
from bench import data

OUT_DIR = Path(__file__).resolve().parent / "out"
FULL_SIZES = (1_000, 10_000)
QUICK_SIZES = (500, 2_000)


def pages(round_id: int) -> dict[str, str]:
    return {
        "ranking": f"/officer/rounds/{round_id}/ranking",
        "ranking_csv": f"/officer/rounds/{round_id}/ranking.csv",
        "queue": "/review/",
    }


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run on the app's engine inside the block."""
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": data.PASSWORD})
    assert response.status_code == 302, (email, response.status_code)
    return client


def fetch(client: FlaskClient, url: str) -> int:
    """GET the page and read the whole body (a streamed response is consumed to the end)."""
    response = client.get(url)
    body = response.get_data()
    assert response.status_code == 200, (url, response.status_code)
    return len(body)


def clients(app: Flask, made: data.Generated) -> dict[str, FlaskClient]:
    officer = signed_in(app, made.officer_email)
    reviewer = signed_in(app, made.busiest_reviewer_email)
    return {"bare": officer, "ranking": officer, "ranking_csv": officer, "queue": reviewer}


def query_counts(app: Flask, made: data.Generated) -> dict[str, int]:
    by_page = clients(app, made)
    counts = {}
    for name, url in pages(made.round_id).items():
        fetch(by_page[name], url)  # warm
        with counting(app) as statements:
            fetch(by_page[name], url)
        counts[name] = len(statements)
    return counts


def timings(app: Flask, made: data.Generated, repeat: int) -> dict[str, Any]:
    """Median wall and CPU ms per page over ``repeat`` interleaved rounds of requests, and body
    sizes. The test client runs the request in this process, so its CPU time is the request's:
    steadier than the wall time when other processes share the machine."""
    by_page = clients(app, made)
    urls = {"bare": "/bare", **pages(made.round_id)}
    walls: dict[str, list[float]] = {name: [] for name in urls}
    cpus: dict[str, list[float]] = {name: [] for name in urls}
    sizes = {name: fetch(by_page[name], url) for name, url in urls.items()}  # warm
    for _ in range(repeat):
        for name, url in urls.items():
            wall, cpu = time.perf_counter(), time.process_time()
            fetch(by_page[name], url)
            cpus[name].append(time.process_time() - cpu)
            walls[name].append(time.perf_counter() - wall)
    return {
        "median_ms": {name: statistics.median(v) * 1000 for name, v in walls.items()},
        "min_ms": {name: min(v) * 1000 for name, v in walls.items()},
        "cpu_median_ms": {name: statistics.median(v) * 1000 for name, v in cpus.items()},
        "bytes": sizes,
    }


def calibration_timings(app: Flask, made: data.Generated, repeat: int) -> dict[str, float]:
    """Median seconds of ranking.round_scores, and of scoring.calibrate on the same reviews."""
    with app.app_context():
        rnd = db.session.get(Round, made.round_id)
        assert rnd is not None
        totals, total_cpus, calibrations, calibration_cpus = [], [], [], []
        for _ in range(repeat):
            started, cpu = time.perf_counter(), time.process_time()
            result = ranking.round_scores(rnd)
            total_cpus.append(time.process_time() - cpu)
            totals.append(time.perf_counter() - started)
        reviews = [
            scoring.ReviewScore(reviewer_id, application_id, overall)
            for reviewer_id, application_id, overall in db.session.execute(
                select(Review.reviewer_id, Review.application_id, Review.overall_score)
                .join(Application, Review.application_id == Application.id)
                .where(Application.round_id == rnd.id, Review.state == "submitted")
            )
        ]
        for _ in range(repeat):
            started, cpu = time.perf_counter(), time.process_time()
            fit = scoring.calibrate(reviews)
            calibration_cpus.append(time.process_time() - cpu)
            calibrations.append(time.perf_counter() - started)
        db.session.remove()
    return {
        "round_scores_s": statistics.median(totals),
        "round_scores_cpu_s": statistics.median(total_cpus),
        "calibrate_s": statistics.median(calibrations),
        "calibrate_cpu_s": statistics.median(calibration_cpus),
        "ranked_rows": len(result.rows),
        "submitted_reviews": len(reviews),
        "calibration_iterations": fit.iterations,
    }


def run(quick: bool = False, repeat: int | None = None, out: Any = print) -> dict[str, Any]:
    small_n, big_n = QUICK_SIZES if quick else FULL_SIZES
    repeat = repeat or (5 if quick else 7)
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="l2g-bench-review-") as tmp:
        built: dict[str, tuple[Flask, data.Generated]] = {}
        for label, n in (("small", small_n), ("big", big_n)):
            built[label] = data.build(Path(tmp) / f"{label}.sqlite", data.Sizes(applications=n))
            made = built[label][1]
            out(
                f"generated {made.counts['applications']} applications, "
                f"{made.counts['reviews']} reviews ({made.counts['submitted_reviews']} submitted) "
                f"in {made.seconds:.1f} s"
            )
        (small_app, small), (big_app, big) = built["small"], built["big"]
        counts = {"small": query_counts(small_app, small), "big": query_counts(big_app, big)}
        measured = timings(big_app, big, repeat)
        calibration = calibration_timings(big_app, big, max(3, repeat // 2))
        for app in (small_app, big_app):
            with app.app_context():
                db.engine.dispose()
    medians, cpu = measured["median_ms"], measured["cpu_median_ms"]
    ratios = {name: medians[name] / medians["bare"] for name in pages(1)}
    cpu_ratios = {name: cpu[name] / cpu["bare"] for name in pages(1)}
    same = counts["small"] == counts["big"]
    out(f"\nmedian of {repeat} requests, {big_n:,} reviewed applications (wall; CPU):")
    out(f"  {'bare route':<14} {medians['bare']:9.2f} ms {cpu['bare']:9.2f} ms")
    for name in pages(1):
        out(
            f"  {name:<14} {medians[name]:9.2f} ms {cpu[name]:9.2f} ms  "
            f"{ratios[name]:7.0f} × bare ({cpu_ratios[name]:.0f} × in CPU)  "
            f"{measured['bytes'][name] / 1024:.0f} KiB"
        )
    out(f"  (queue of the busiest reviewer: {big.counts['busiest_queue']} reviews)")
    out(f"\nSQL statements per request: {small_n:,} vs {big_n:,} applications")
    for name in pages(1):
        a, b = counts["small"][name], counts["big"][name]
        out(f"  {name:<14} {a:4d} vs {b:4d}   {'equal' if a == b else 'DIFFERENT'}")
    out(
        f"\nranking.round_scores at {big_n:,}: {calibration['round_scores_s'] * 1000:.0f} ms "
        f"(CPU {calibration['round_scores_cpu_s'] * 1000:.0f} ms; {calibration['ranked_rows']} "
        f"rows), of which scoring.calibrate {calibration['calibrate_s'] * 1000:.0f} ms "
        f"(CPU {calibration['calibrate_cpu_s'] * 1000:.0f} ms; "
        f"{calibration['submitted_reviews']} reviews, {calibration['calibration_iterations']} "
        "iterations)"
    )
    result = {
        "sizes": {"small": small_n, "big": big_n},
        "generated": {"small": small.counts, "big": big.counts},
        "repeat": repeat,
        "median_ms": medians,
        "min_ms": measured["min_ms"],
        "cpu_median_ms": cpu,
        "ratios": ratios,
        "cpu_ratios": cpu_ratios,
        "query_counts": counts,
        "query_counts_equal": same,
        "calibration": calibration,
        "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
        "cpus": os.cpu_count(),
    }
    directory = OUT_DIR / "quick" if quick else OUT_DIR  # a quick run keeps the full figures
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "bench_review_pages.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """The figures ``python -m bench`` prints: ratios to the bare route, query counts, timings."""
    small, big = result["sizes"]["small"], result["sizes"]["big"]
    out: dict[str, Any] = {"bare_route_ms": round(result["median_ms"]["bare"], 2)}
    out["bare_route_cpu_ms"] = round(result["cpu_median_ms"]["bare"], 2)
    for name, ratio in result["ratios"].items():
        out[f"{name}_vs_bare"] = (
            f"{ratio:,.0f}x ({result['median_ms'][name]:,.0f} ms); "
            f"in CPU {result['cpu_ratios'][name]:,.0f}x ({result['cpu_median_ms'][name]:,.0f} ms)"
        )
    for name in result["ratios"]:
        a, b = result["query_counts"]["small"][name], result["query_counts"]["big"][name]
        out[f"{name}_sql_{small}_vs_{big}"] = f"{a} vs {b}"
    out["sql_counts_equal_at_both_sizes"] = result["query_counts_equal"]
    calibration = result["calibration"]
    out[f"round_scores_ms_at_{big}"] = (
        f"{calibration['round_scores_s'] * 1000:,.0f} (CPU "
        f"{calibration['round_scores_cpu_s'] * 1000:,.0f})"
    )
    out[f"calibrate_ms_at_{big}"] = (
        f"{calibration['calibrate_s'] * 1000:,.0f} "
        f"(CPU {calibration['calibrate_cpu_s'] * 1000:,.0f})"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 and 500 applications")
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args(argv)
    result = run(args.quick, args.repeat)
    return 0 if result["query_counts_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
