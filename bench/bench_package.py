"""Award package benchmark: 1,000 awards, built by one rq worker and by two.

``python -m bench.bench_package`` (``--awards N`` to change the size):

1. makes a throwaway PostgreSQL schema (``L2G_BENCH_DATABASE_URL``, default
   ``postgresql://postgres@127.0.0.1:5432/test``) and storage folder, and a private rq queue on
   the local Redis (``REDIS_URL``, default ``redis://127.0.0.1:6379/0``);
2. generates a scored round: organizations, applicants, applications with their sections and
   three submitted reviews each are inserted directly (like a fixture loader, seconds); the
   awards are then made through ``app.services.decisions.decide_many`` (the engine, the guards,
   the budget lock), one per application;
3. for 1 and then 2 workers: removes every award letter (so each build renders 1,000 letters and
   1,000 application summaries), asks for the package (``request_package``: parts of
   ``PACKAGE_PART_SIZE`` awards, then the build), starts that many ``rq worker --burst``
   processes and times until the package is stored;
4. prints wall times, the speed-up, the CPU seconds the workers used and the parallelism they
   achieved (CPU / wall: on a shared machine it shows how much of the CPU the build could get),
   and checks that both packages have the same SHA-256.

``--simple`` runs the workers as ``rq.worker.SimpleWorker`` (as the tests do: one process keeps
its app between jobs); without it each job runs in a forked work horse that builds the app again.
``L2G_BENCH_KEEP=1`` keeps the worker logs and files.

The figures go to ``bench/out/bench_package.json`` too. The schema and the files are removed at
the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, select, text, update
from werkzeug.security import generate_password_hash

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = Path(__file__).resolve().parent / "out"
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
PART_SIZE = 25


def _psycopg(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# --- data ---------------------------------------------------------------------------------------


def generate(n: int, seed: int = 4) -> int:
    """A round in review with `n` scored applications, each then awarded; returns the round id."""
    from app.domain import GOVERNMENT_TYPES, PRIORITY_AREAS, US_STATES
    from app.extensions import db
    from app.models.application import (
        Application,
        ApplicationPriorityArea,
        BudgetLine,
        ImpactTarget,
        Milestone,
        Partner,
    )
    from app.models.review import Review
    from app.models.user import Organization, User
    from app.services.decisions import decide_many
    from app.services.rounds import create_round

    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    officer = User(email="officer@bench.example.gov", name="Bench Officer", role="officer")
    officer.set_password("bench officer passphrase")
    reviewers = [
        User(email=f"reviewer{i}@panel.example.org", name=f"Reviewer {i}", role="reviewer")
        for i in range(30)
    ]
    db.session.add_all([officer, *reviewers])
    rnd = create_round(
        {
            "title": f"Bench round of {n} awards",
            "description": "Award package benchmark",
            "timezone": "America/New_York",
            "opens_at": now - timedelta(days=90),
            "closes_at": now - timedelta(days=30),
            "budget": Decimal(n) * Decimal(250_000),
            "min_award": Decimal(10_000),
            "max_award": Decimal(250_000),
            "eligible_government_types": list(GOVERNMENT_TYPES),
            "priority_areas": list(PRIORITY_AREAS),
            "reviewers_per_application": 3,
            "performance_months": 18,
        }
    )
    rnd.state = "reviewing"  # fixture data: the round's earlier life is not what is measured
    db.session.flush()
    states = [s for s in US_STATES if len(s) == 2][:50]
    areas = list(PRIORITY_AREAS)
    start = (now + timedelta(days=60)).date()
    applications = []
    for i in range(1, n + 1):
        org = Organization(
            legal_name=f"City of Benchmark {i}",
            government_type=rng.choice(["city", "county", "state", "tribal"]),
            state_code=rng.choice(states),
            population=10_000 + i * 37,
            street=f"{100 + i} Main Street",
            city=f"Benchmark {i}",
            zip_code=f"{10000 + i:05d}",
            official_name=f"Official {i}",
            official_title="Mayor",
        )
        user = User(
            email=f"applicant{i}@city{i}.example.gov", name=f"Applicant {i}", role="applicant"
        )
        user.organization = org
        requested = Decimal(rng.randrange(20, 240) * 1000)
        application = Application(
            round=rnd,
            organization=org,
            created_by=user,
            reference=f"L2G-{now.year}-{i:04d}",
            state="scored",
            submitted_at=now - timedelta(days=40),
            title=f"International engagement project {i}",
            summary="A two-year program of exchanges, trade missions and shared measurement.",
            partner_countries=rng.sample(["JP", "DE", "MX", "KE", "BR", "KR", "FR"], 2),
            start_date=start,
            period_months=18,
            need="The city's exporters lack foreign partners. " * 4,
            approach="Delegations, a sister-city compact and a shared indicator set. " * 4,
            alignment="Advances U.S. economic and people-to-people ties. " * 3,
            sustainability="Institutionalized in the city's trade office budget. " * 3,
            requested_amount=requested,
            cost_share_amount=requested / 10,
            priority_area_rows=[
                ApplicationPriorityArea(area=a) for a in sorted(rng.sample(areas, 2))
            ],
            partners=[
                Partner(position=0, name=f"University {i}", kind="academic", role="Evaluation"),
                Partner(position=1, name=f"Chamber {i}", kind="business", role="Trade missions"),
            ],
            budget_lines=[
                BudgetLine(
                    position=0,
                    category="personnel",
                    description="Coordinator",
                    federal_amount=requested,
                    cost_share=requested / 10,
                )
            ],
            milestones=[
                Milestone(position=0, due_on=start + timedelta(days=90), description="Kick-off")
            ],
            impact_targets=[
                ImpactTarget(position=0, indicator="jobs", baseline=Decimal(0), target=Decimal(50))
            ],
        )
        db.session.add(application)
        applications.append(application)
    db.session.flush()
    for application in applications:
        for reviewer in rng.sample(reviewers, 3):
            db.session.add(
                Review(
                    application_id=application.id,
                    reviewer_id=reviewer.id,
                    state="submitted",
                    overall_score=rng.randint(1, 7),
                    confidence=2,
                    submitted_at=now - timedelta(days=10),
                )
            )
    db.session.commit()
    db.session.info.pop("outbox_ids", None)
    started = time.perf_counter()
    outcomes = decide_many(applications, "award", officer, "Benchmark slate.")
    refused = [o for o in outcomes if not o.done]
    if refused:
        raise RuntimeError(f"{len(refused)} award(s) refused: {refused[0].reasons}")
    # The decision emails and letters the awards queued are not part of this benchmark: the
    # package renders the letters itself.
    db.session.info.pop("outbox_ids", None)
    from app.models.outbox import OutboxJob

    db.session.execute(update(OutboxJob).values(status="done"))
    db.session.commit()
    print(f"  {n} awards made through the engine in {time.perf_counter() - started:.1f} s")
    return rnd.id


def _remove_letters() -> None:
    from app.extensions import db
    from app.models.award import AwardLetter
    from app.storage import storage

    st = storage()
    for key in db.session.scalars(select(AwardLetter.storage_key)):
        st.delete(key)
    db.session.execute(delete(AwardLetter))
    db.session.commit()


# --- one measured build -------------------------------------------------------------------------


def build_with(
    round_id: int, workers: int, env: dict[str, str], log_dir: Path, worker_class: str | None
) -> dict[str, Any]:
    from app.extensions import db
    from app.jobs import commit
    from app.models.award import AwardPackage
    from app.models.outbox import OutboxJob
    from app.models.round import Round
    from app.models.user import User
    from app.services.packages import request_package

    _remove_letters()
    rnd = db.session.get(Round, round_id)
    officer = db.session.scalar(select(User).where(User.role == "officer"))
    package = request_package(rnd, officer)
    package_id, job_id = package.id, package.job_id
    commit()  # queued on the private rq queue; no worker runs yet
    logs = [open(log_dir / f"worker-{workers}-{i}.log", "wb") for i in range(workers)]  # noqa: SIM115
    load_before = os.getloadavg()[0]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rq.cli",
                "worker",
                "--burst",
                *(["--worker-class", worker_class] if worker_class else []),
                "--url",
                env["REDIS_URL"],
                env["RQ_QUEUE"],
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for log in logs
    ]
    done_at = None
    while done_at is None:
        db.session.rollback()
        status = db.session.scalar(select(OutboxJob.status).where(OutboxJob.id == job_id))
        if status == "done":
            done_at = time.perf_counter()
        elif status == "failed" or all(p.poll() is not None for p in processes):
            error = db.session.scalar(select(OutboxJob.error).where(OutboxJob.id == job_id))
            raise RuntimeError(f"the package build ended {status}: {error}")
        else:
            time.sleep(0.1)
    for p in processes:
        p.wait(timeout=120)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds the workers (and their work horses) used: what the build cost, whatever else
    # runs on the machine; divided by the wall time it is the parallelism they achieved.
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    wall_to_exit = time.perf_counter() - started
    for log in logs:
        log.close()
    db.session.rollback()
    jobs = db.session.scalars(
        select(OutboxJob).where(
            OutboxJob.entity_type == "award_package", OutboxJob.entity_id == package_id
        )
    ).all()
    first_start = min(j.started_at for j in jobs if j.started_at)
    build = next(j for j in jobs if j.id == job_id)
    parts = [j for j in jobs if j.id != job_id]
    package = db.session.get(AwardPackage, package_id)
    return {
        "workers": workers,
        "wall_seconds": round(done_at - started, 2),
        "worker_cpu_seconds": round(cpu, 1),
        "parallelism": round(cpu / wall_to_exit, 2),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "jobs_seconds": round((build.finished_at - first_start).total_seconds(), 2),
        "build_job_seconds": round((build.finished_at - build.started_at).total_seconds(), 2),
        "parts": len(parts),
        "sha256": package.sha256,
        "size_mb": round(package.size_bytes / 1048576, 1),
        "files": package.file_count,
    }


def run(
    awards: int = 1000, part_size: int = PART_SIZE, worker_class: str | None = None
) -> dict[str, Any]:
    from app import create_app
    from app.extensions import db

    database = os.environ.get("L2G_BENCH_DATABASE_URL", DEFAULT_DATABASE)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS)
    schema = f"l2g_bench_{uuid.uuid4().hex[:10]}"
    queue = f"l2g-bench-{uuid.uuid4().hex[:8]}"
    admin = create_engine(_psycopg(database))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    base = _psycopg(database)
    uri = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    workdir = Path(tempfile.mkdtemp(prefix="l2g-bench-package-"))
    app = create_app(
        {
            "SECRET_KEY": "bench-secret",
            "SQLALCHEMY_DATABASE_URI": uri,
            "REDIS_URL": redis_url,
            "RQ_QUEUE": queue,
            "STORAGE_DIR": str(workdir / "files"),
            "PACKAGE_PART_SIZE": part_size,
        }
    )
    env = dict(os.environ)
    env.update(
        DATABASE_URL=uri,
        REDIS_URL=redis_url,
        RQ_QUEUE=queue,
        STORAGE_DIR=str(workdir / "files"),
        SECRET_KEY="bench-secret",
    )
    import app.models.user as user_models

    user_models.generate_password_hash = partial(
        generate_password_hash, method="pbkdf2:sha256:1000"
    )
    results: list[dict[str, Any]] = []
    try:
        with app.app_context():
            db.create_all()
            print(f"Generating {awards} awards (schema {schema}) ...")
            round_id = generate(awards)
            for workers in (1, 2):
                print(f"Building the package with {workers} rq worker(s) ...")
                result = build_with(round_id, workers, env, workdir, worker_class)
                print(
                    f"  wall {result['wall_seconds']:.1f} s (jobs {result['jobs_seconds']:.1f} s, "
                    f"build job {result['build_job_seconds']:.1f} s), {result['parts']} parts, "
                    f"{result['files']} files, {result['size_mb']} MB; workers used "
                    f"{result['worker_cpu_seconds']:.0f} CPU s, parallelism "
                    f"{result['parallelism']:.2f}; load {result['load_average_before']} → "
                    f"{result['load_average_after']}"
                )
                results.append(result)
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()
        if os.environ.get("L2G_BENCH_KEEP"):
            print(f"Kept the files and worker logs in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    one, two = results
    summary = {
        "awards": awards,
        "part_size": part_size,
        "worker_class": worker_class or "rq.worker.Worker (forks a work horse per job)",
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "runs": results,
        "speedup_wall": round(one["wall_seconds"] / two["wall_seconds"], 2),
        "speedup_jobs": round(one["jobs_seconds"] / two["jobs_seconds"], 2),
        "cpu_ratio": round(two["worker_cpu_seconds"] / one["worker_cpu_seconds"], 2),
        "same_bytes": one["sha256"] == two["sha256"],
        "measured_at": date.today().isoformat(),
    }
    print(
        f"Speed-up with two workers: {summary['speedup_wall']}x wall "
        f"({summary['speedup_jobs']}x job time); identical packages: {summary['same_bytes']}"
    )
    OUT_DIR.mkdir(exist_ok=True)
    (OUT_DIR / "bench_package.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--awards", type=int, default=1000)
    parser.add_argument("--part-size", type=int, default=PART_SIZE)
    parser.add_argument(
        "--simple",
        action="store_true",
        help="run the workers as rq.worker.SimpleWorker (no fork: the app is made once a worker)",
    )
    args = parser.parse_args(argv)
    summary = run(args.awards, args.part_size, "rq.worker.SimpleWorker" if args.simple else None)
    return 0 if summary["same_bytes"] else 1


if __name__ == "__main__":
    sys.exit(main())
