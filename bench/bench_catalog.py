"""Benchmark: the public catalog's cached, versioned answers against a bare route.

``python -m bench.bench_catalog`` builds the program of ``bench_program`` (2,000 awards and
10,000 impact reports by default, a throwaway SQLite file; ``--database-url`` a PostgreSQL
database it empties and fills instead) and times with Flask's test client, interleaved with a
bare route, medians of ``--repeat`` requests:

- the page as an anonymous visitor and as a signed-in officer, and the JSON, once cached;
- the page and the JSON answered 304 to a matching If-None-Match;
- the page and the JSON built again after the catalog's version changed (cold);

and counts the SQL statements of each warm request (at most two: the version, and the account
of a signed-in person). With ``REDIS_URL`` set the cache is that Redis, as in production with
several processes; without it, a dict per process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

from app.extensions import db
from app.services import catalog
from bench import bench_program

QUICK_KWARGS = {"awards": 500, "reports": 2_500, "repeat": 15}


def _timed(client: Any, url: str, headers: dict[str, str], status: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    response = client.get(url, headers=headers)
    response.get_data()
    assert response.status_code == status, (url, response.status_code)
    return time.perf_counter() - wall, time.process_time() - cpu


def run(
    awards: int = 2_000,
    reports: int = 10_000,
    repeat: int = 25,
    database_url: str | None = None,
    redis_url: str | None = None,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    redis_url = redis_url or os.environ.get("REDIS_URL") or None
    with tempfile.TemporaryDirectory(prefix="l2g-bench-catalog-") as tmp:
        config: dict[str, Any] = {"REDIS_URL": redis_url}
        if database_url:
            config["SQLALCHEMY_DATABASE_URI"] = database_url.replace(
                "postgresql://", "postgresql+psycopg://", 1
            )
        app = bench_program.build_app(Path(tmp) / "catalog.sqlite", **config)
        with app.app_context():
            db.drop_all()
            db.create_all()
            counts = bench_program.generate(awards, reports)
            engine = db.engine
        kind = "Redis" if redis_url else "dict"
        out(f"generated {counts} ({engine.dialect.name}; cache: {kind})")
        anonymous, officer = app.test_client(), bench_program.officer_client(app)
        page, document = "/catalog", "/catalog/awards.json"
        for client in (anonymous, officer):
            for url in (page, document):
                client.get(url)  # built and cached
        tags = {url: anonymous.get(url).headers["ETag"] for url in (page, document)}
        cases: dict[str, tuple[Any, str, dict[str, str], int]] = {
            "bare": (anonymous, "/bare", {}, 200),
            "page_anonymous": (anonymous, page, {}, 200),
            "page_signed_in": (officer, page, {}, 200),
            "json": (anonymous, document, {}, 200),
            "page_304": (anonymous, page, {"If-None-Match": tags[page]}, 304),
            "json_304": (anonymous, document, {"If-None-Match": tags[document]}, 304),
        }
        statements: list[str] = []

        def record(*args: Any) -> None:
            statements.append(args[2])

        queries: dict[str, int] = {}
        event.listen(engine, "before_cursor_execute", record)
        try:
            for name, (client, url, headers, status) in cases.items():
                statements.clear()
                _timed(client, url, headers, status)
                queries[name] = len(statements)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        wall: dict[str, list[float]] = {name: [] for name in cases}
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(repeat):
            for name, (client, url, headers, status) in cases.items():
                w, c = _timed(client, url, headers, status)
                wall[name].append(w)
                cpu[name].append(c)
        cold: dict[str, list[float]] = {"page": [], "json": []}
        for _ in range(max(3, repeat // 5)):
            for name, url in (("page", page), ("json", document)):
                with app.app_context():
                    catalog.bump(db.session)
                    db.session.commit()
                cold[name].append(_timed(anonymous, url, {}, 200)[0])
        with app.app_context():
            db.engine.dispose()
    medians = {name: statistics.median(values) for name, values in wall.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    out(f"\nmedian of {repeat} requests, {awards} awards and {reports} reports (wall; CPU):")
    for name in cases:
        ratio = medians[name] / medians["bare"]
        cpu_ratio = cpu_medians[name] / cpu_medians["bare"]
        out(
            f"  {name:<16} {medians[name] * 1000:8.2f} ms {cpu_medians[name] * 1000:8.2f} ms"
            f"   {ratio:6.1f} × bare ({cpu_ratio:.1f} × in CPU)   {queries[name]} SQL"
        )
    for name, values in cold.items():
        out(f"  {name + ' cold':<16} {statistics.median(values) * 1000:8.2f} ms (version changed)")
    return {
        "awards": awards,
        "reports": reports,
        "cache": "redis" if redis_url else "dict",
        "ratios": {name: medians[name] / medians["bare"] for name in cases if name != "bare"},
        "cpu_ratios": {
            name: cpu_medians[name] / cpu_medians["bare"] for name in cases if name != "bare"
        },
        "cold_seconds": {name: statistics.median(values) for name, values in cold.items()},
        "query_counts": queries,
        "warm_queries_at_most_two": all(n <= 2 for n in queries.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--awards", type=int, default=2_000)
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=25)
    parser.add_argument(
        "--database-url", help="a PostgreSQL database to empty and fill (default: SQLite file)"
    )
    args = parser.parse_args(argv)
    result = run(args.awards, args.reports, args.repeat, args.database_url)
    return 0 if result["warm_queries_at_most_two"] else 1


if __name__ == "__main__":
    sys.exit(main())
