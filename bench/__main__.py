"""Run every benchmark in bench/ in one command and summarize the figures.

``.venv/bin/python -m bench`` runs the ``run()`` of each ``bench/bench_*.py`` module, one after
the other, each in its own Python process (so one module's data, caches and patches do not
weigh on the next one's timings, and a module that fails does not stop the others). Then it
prints the figures as ratios and writes them, with each module's full result, the machine's CPU
count and the load averages seen, to ``bench/out/summary.json``.

``--quick`` asks for smaller sizes: ``quick=True`` is passed to each ``run()`` that has a
``quick`` parameter; a module without one may define ``QUICK_KWARGS`` (keyword arguments for
``run()``); for the others ``FALLBACK`` below holds smaller sizes (and, for a full run, fewer
repeats where the defaults alone would take most of the time budget). ``--only NAME``
(repeatable) runs only those modules (``bench_review_pages`` or ``review_pages``). Files the
modules write go to ``bench/out/``, or ``bench/out/quick/`` in a quick run and
``bench/out/combined/`` for a module run at other sizes than its own (see ``FALLBACK``), so they
never replace the files of the module's own full run.

The exit status is 1 if a module failed, a page's SQL query count differed between sizes, or a
page answered an error (a module's ``pages_ok`` figure is false).

``bench_http`` is the benchmark over HTTP (gunicorn on PostgreSQL, see its docstring); the others
time pages in-process with Flask's test client on SQLite, quicker to run.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT_DIR = HERE / "out"
SUMMARY = OUT_DIR / "summary.json"


# Sizes for modules whose run() has no ``quick`` parameter (and no QUICK_KWARGS) yet, chosen so
# that ``--quick`` keeps to about three minutes and a full run to about fifteen on a two-core
# machine. "kwargs" are passed only if run() has those parameters; "attrs" set module constants
# only if the module has them. A module that grows its own ``quick`` is no longer looked up here.
FALLBACK: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
    "bench_scoring": {
        # A full run keeps run()'s three repeats: OR-Tools solves the 10,000-application
        # assignment in 5-9 s (it took 1-2 minutes with networkx); a quick run solves once.
        "quick": {
            "kwargs": {"repeats": 1},
            "attrs": {"APPLICATIONS": 2_000, "MIN_LOAD": 14, "MAX_LOAD": 26},
        },
    },
    "bench_letters": {"quick": {"kwargs": {"letters": 6, "warmup": 1}}},
    "bench_program": {
        "quick": {"kwargs": {"awards": 500, "reports": 2_500, "small": 100, "repeat": 5}}
    },
    # 1,000 awards take 15-20 minutes (each build renders every letter and summary): 200 here.
    "bench_package": {"full": {"kwargs": {"awards": 200}}, "quick": {"kwargs": {"awards": 40}}},
}


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def modules() -> list[str]:
    return sorted(p.stem for p in HERE.glob("bench_*.py"))


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def run_one(name: str, quick: bool, result_path: Path) -> None:
    """In the child process: import the module, call run(), save what it returned."""
    module = importlib.import_module(f"bench.{name}")
    parameters = inspect.signature(module.run).parameters
    kwargs: dict[str, Any] = {}
    attrs: dict[str, Any] = {}
    if quick and "quick" in parameters:
        kwargs = {"quick": True}
    elif quick and hasattr(module, "QUICK_KWARGS"):
        kwargs = dict(module.QUICK_KWARGS)
    else:
        fallback = FALLBACK.get(name, {}).get("quick" if quick else "full", {})
        kwargs = {k: v for k, v in fallback.get("kwargs", {}).items() if k in parameters}
        attrs = {k: v for k, v in fallback.get("attrs", {}).items() if hasattr(module, k)}
    resized = quick or bool(kwargs or attrs)
    if resized and "quick" not in parameters and isinstance(getattr(module, "OUT_DIR", None), Path):
        # Files of a run at other sizes than the module's own must not replace those of its own
        # full run (a module with a quick parameter sees to that itself).
        attrs.setdefault("OUT_DIR", OUT_DIR / ("quick" if quick else "combined"))
    for key, value in attrs.items():
        setattr(module, key, value)
    if attrs:
        print(f"(for this run: {attrs})", flush=True)
    result = module.run(**kwargs)
    summary = module.summarize(result) if hasattr(module, "summarize") else None
    result_path.write_text(
        json.dumps(
            {"kwargs": kwargs, "attrs": attrs, "result": result, "summary": summary},
            default=str,
            indent=2,
        )
    )


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


# Ratios worth printing that a module's result holds only as two figures: name, numerator key,
# denominator key.
DERIVED = {
    "bench_scoring": [("rmse_calibrated_vs_raw_mean", "rmse_calibrated", "rmse_raw_mean")],
}


def figures(name: str, result: Any, summary: dict[str, Any] | None) -> dict[str, Any]:
    """The figures to print: the module's own ``summarize(result)`` if it has one; else every
    ratio and speed-up it returned, its yes/no checks, whether its query counts stayed equal
    between sizes, and its timings in seconds."""
    if summary:
        return summary
    flat = _flatten(result) if isinstance(result, dict) else {}
    picked: dict[str, Any] = {}
    for key, value in flat.items():
        ratio = ("ratio" in key or "speedup" in key) and "target" not in key
        timing = key.endswith("seconds")
        if isinstance(value, bool) or (isinstance(value, int | float) and (ratio or timing)):
            picked[key] = value
    for label, top, bottom in DERIVED.get(name, []):
        if isinstance(flat.get(top), int | float) and flat.get(bottom):
            picked[label] = flat[top] / flat[bottom]
    counts = result.get("query_counts") if isinstance(result, dict) else None
    if isinstance(counts, dict) and len(counts) == 2:
        first, second = counts.values()
        picked["sql_counts_equal_at_both_sizes"] = first == second
    return picked


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes where a module has them"
    )
    parser.add_argument("--only", action="append", default=[], metavar="NAME")
    parser.add_argument("--timeout", type=float, default=20 * 60, help="seconds per module")
    parser.add_argument("--_one", help=argparse.SUPPRESS)
    parser.add_argument("--_result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._one:
        run_one(args._one, args.quick, Path(args._result))
        return 0

    names = modules()
    if args.only:
        wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in args.only}
        unknown = wanted - set(names)
        if unknown:
            parser.error(f"no such benchmark: {', '.join(sorted(unknown))} (have {names})")
        names = [n for n in names if n in wanted]

    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    load_start = load_average()
    print(
        f"bench: {len(names)} module(s){' (quick)' if args.quick else ''}; "
        f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in load_start)}",
        flush=True,
    )
    report: dict[str, Any] = {}
    failed = False
    with tempfile.TemporaryDirectory(prefix="l2g-bench-") as tmp:
        for name in names:
            print(f"\n=== {name} ===", flush=True)
            result_path = Path(tmp) / f"{name}.json"
            command = [sys.executable, "-m", "bench", "--_one", name, "--_result", str(result_path)]
            if args.quick:
                command.append("--quick")
            load_before = load_average()
            t0 = time.perf_counter()
            try:
                code = subprocess.run(command, cwd=ROOT, timeout=args.timeout).returncode
                status = "ok" if code == 0 and result_path.exists() else f"failed (exit {code})"
            except subprocess.TimeoutExpired:
                status = f"failed (timed out after {args.timeout:.0f} s)"
            seconds = time.perf_counter() - t0
            entry: dict[str, Any] = {
                "status": status,
                "seconds": round(seconds, 1),
                "load_average_before": load_before,
                "load_average_after": load_average(),
            }
            if status == "ok":
                saved = json.loads(result_path.read_text())
                entry["kwargs"] = saved["kwargs"]
                entry["module_constants"] = saved["attrs"]
                entry["figures"] = _jsonable(figures(name, saved["result"], saved["summary"]))
                entry["result"] = saved["result"]
                checks = entry["figures"]
                if checks.get("sql_counts_equal_at_both_sizes") is False:
                    failed = True
                if checks.get("pages_ok") is False:  # a page answered an error (bench_http)
                    failed = True
            else:
                failed = True
            report[name] = entry

    total = time.perf_counter() - started
    load_end = load_average()
    print(f"\n=== summary ({total:.0f} s{', quick' if args.quick else ''}) ===")
    for name, entry in report.items():
        print(f"{name}: {entry['status']}, {entry['seconds']:.0f} s")
        for key, value in entry.get("figures", {}).items():
            print(f"    {key:<44} {_format(value)}")
    print(
        f"load average: {' '.join(f'{x:.2f}' for x in load_start)} at the start, "
        f"{' '.join(f'{x:.2f}' for x in load_end)} at the end ({os.cpu_count()} CPUs)"
    )
    OUT_DIR.mkdir(exist_ok=True)
    summary = {
        "started_at": started_at,
        "quick": args.quick,
        "seconds": round(total, 1),
        "cpus": os.cpu_count(),
        "load_average": {"start": load_start, "end": load_end},
        "modules": report,
    }
    if args.only and SUMMARY.exists():
        # A partial run updates its modules in the last summary instead of dropping the others.
        previous = json.loads(SUMMARY.read_text())
        if previous.get("quick") == args.quick:
            summary["modules"] = {**previous.get("modules", {}), **report}
    SUMMARY.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    print(f"written to {SUMMARY.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
