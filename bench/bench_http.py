"""HTTP benchmark: the pages a program officer, a reviewer and the public open, timed over HTTP
against the app served by gunicorn on PostgreSQL, at two sizes of the bench round.

``.venv/bin/python -m bench.bench_http`` (or ``python bench/bench_http.py``; ``--sizes 1000,10000``
by default, ``--quick`` for 500 and 2,000; ``--repeat``, ``--keep``, ``--help``), or
``.venv/bin/python -m bench --only http``. For each size, one after the other:

1. **Load.** A fresh schema ``l2g_bench_http_<size>`` in the PostgreSQL database given by
   ``DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/l2g_bench``, created if
   missing; nothing outside that schema is touched), the tables made by the migrations
   (``flask db upgrade``), then ``bench.data.generate`` (COPY on PostgreSQL, then the stored
   scores' rebuild) and ``ANALYZE``. The times of the migrations, the load and the rebuild are
   reported. The schema is dropped at the end unless ``--keep``.
2. **Serve.** gunicorn with 2 sync workers on a free local port, configured as in production
   (``L2G_ENV=production``, a random ``SECRET_KEY``; no Redis, so jobs would run inline and the
   catalog's cache is each worker's memory, where production has Redis behind it) plus
   ``L2G_QUERY_COUNT_HEADER=1``, so each response says how many SQL statements it ran
   (``X-Query-Count``, app/query_count.py; for a streamed body, which runs statements after
   the header was sent, the whole count comes from the line the app logs when it is sent).
3. **Sign in** over HTTP as the officer and as the reviewer with the longest queue: the login
   form is fetched and posted back with its CSRF token. Production cookies are ``Secure``; the
   client sends them over plain HTTP anyway, as the TLS-terminating proxy in front of gunicorn
   would.
4. **Time**, one client, a new connection per request (gunicorn's sync workers close each one),
   the time to the last byte: three warm-up rounds of every page, then ``--repeat`` (10) rounds,
   the pages interleaved so a busy machine slows them alike, medians reported:

   - ``bare``: ``/healthz``, the app's health route (returns "ok" and touches neither the
     database nor the session), the baseline every page is divided by;
   - ``application``: the officer's page of the top-ranked application (the first one the
     ranking links to);
   - ``ranking`` and ``ranking_later``: the round's ranking, its first page and the page reached
     by following "Next page" from it ``LATER_PAGE - 1`` times (page 10);
   - ``applications``: the officer's applications list; ``queue``: the reviewer's queue;
     ``rounds``: the rounds page; ``dashboard``: the program dashboard;
   - ``catalog`` and ``catalog_json``: the public catalog and its JSON, as an anonymous visitor
     (the bench round has no awards yet: an empty catalog), and ``catalog_again`` and
     ``catalog_json_again`` by a visitor whose browser sends back the ETag it was given
     (``If-None-Match``: a 304 where the app answers one);
   - ``ranking_csv``: the ranking CSV of every row with every score.

Besides the wall time, each request's CPU time on the server side is taken from
``/proc/PID/schedstat``: the gunicorn workers' and, with PostgreSQL on this machine, their database
backends' (found by the connections' ``application_name``). On a machine other work shares, the
wall time includes waiting for a CPU; the CPU time does not, and its ratios are the steadier ones.

It prints a table (ms, × the bare route, CPU ms and its ratio, SQL statements per request, at each
size) and writes it with the load times, body sizes, CPU count and load averages to
``bench/out/http.json`` (``bench/out/quick/http.json`` for ``--quick``). The exit status is 1 if a
page's SQL count differs between the two sizes or a page answered anything but 200 (or 304 to a
revisit), or broke off.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

if __package__ in (None, ""):  # run as a file: python bench/bench_http.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from app import create_app, query_count
from app.extensions import db
from app.query_count import HEADER
from bench import data

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = Path(__file__).resolve().parent / "out"
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/l2g_bench"
FULL_SIZES = (1_000, 10_000)
QUICK_SIZES = (500, 2_000)
REPEAT = 10
WARMUP = 3
WORKERS = 2
LATER_PAGE = 10
TITLES = {
    "bare": "bare route (/healthz)",
    "application": "application page (officer)",
    "ranking": "ranking, first page",
    "ranking_later": f"ranking, page {LATER_PAGE}",
    "applications": "applications list (officer)",
    "queue": "reviewer's queue",
    "rounds": "rounds page",
    "dashboard": "program dashboard",
    "catalog": "public catalog",
    "catalog_json": "public catalog JSON",
    "catalog_again": "catalog, revisit (ETag)",
    "catalog_json_again": "catalog JSON, revisit (ETag)",
    "ranking_csv": "ranking CSV, all rows",
}


class BenchError(RuntimeError):
    """The benchmark could not get as far as timing the pages."""


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    seconds: float

    @property
    def queries(self) -> int | None:
        value = self.headers.get(HEADER)
        return int(value) if value is not None else None


class Client:
    """One visitor: a new connection per request and its own cookies, sent whatever their
    ``Secure`` flag says (see the module's docstring)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> Answer:
        headers = {"Accept": "*/*", **(extra or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        seconds = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return Answer(response.status, response.headers, content, seconds)

    def get(self, path: str) -> Answer:
        return self.request("GET", path)


class Revisiting(Client):
    """A visitor whose browser keeps what it was sent and asks again with ``If-None-Match``."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.etags: dict[str, str] = {}

    def get(self, path: str) -> Answer:
        known = self.etags.get(path)
        answer = self.request("GET", path, extra={"If-None-Match": known} if known else None)
        if answer.headers.get("ETag"):
            self.etags[path] = answer.headers["ETag"]
        return answer


class _Links(HTMLParser):
    """The hidden inputs and the links (href and text) of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, str] = {}
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("name"):
            self.inputs.setdefault(values["name"] or "", values.get("value") or "")
        elif tag == "a" and values.get("href"):
            self._href, self._text = values["href"], []

    def handle_data(self, text: str) -> None:
        if self._href is not None:
            self._text.append(text)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join("".join(self._text).split())))
            self._href = None


def parse(answer: Answer) -> _Links:
    parser = _Links()
    parser.feed(answer.body.decode("utf-8", "replace"))
    return parser


def local_path(href: str) -> str:
    parts = urlsplit(href)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def sign_in(port: int, email: str) -> Client:
    client = Client(port)
    form = client.get("/login")
    token = parse(form).inputs.get("csrf_token")
    if form.status != 200 or not token:
        raise BenchError(f"the sign-in form did not load (HTTP {form.status}) or has no CSRF token")
    answer = client.request(
        "POST", "/login", {"email": email, "password": data.PASSWORD, "csrf_token": token}
    )
    if answer.status != 302:
        raise BenchError(f"signing in as {email} answered HTTP {answer.status}, not a redirect")
    return client


# The database ---------------------------------------------------------------------------------


def _psycopg(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def database_url() -> str:
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE
    if not url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://")):
        raise BenchError(f"the HTTP benchmark needs PostgreSQL; DATABASE_URL is {url!r}")
    return url


def ensure_database(url: str) -> None:
    """Create the database if the server does not have it yet."""
    target = make_url(_psycopg(url))
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            found = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            )
            if not found:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        admin.dispose()


def schema_uri(url: str, schema: str) -> str:
    """The URL of ``schema`` in the database; its connections are named after it too, so the
    database's own processes serving the benchmark can be told apart (``CpuMeter``)."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}&application_name={schema}"


def _on_cpu(pid: int) -> float:
    """Seconds the process has run on a CPU (its first field of /proc/PID/schedstat is in ns)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


class CpuMeter:
    """The CPU time the server spends on each request: its gunicorn workers, plus the PostgreSQL
    backends they are connected to when the database runs on this machine. On a machine shared
    with other work this is steadier than the wall time, which includes waiting for a CPU; it
    leaves out the client and the kernel's network path, which cost the bare route alike."""

    def __init__(self, master_pid: int, url: str, application_name: str) -> None:
        self.master_pid = master_pid
        self.url = url
        self.application_name = application_name
        host = make_url(_psycopg(url)).host
        self.local_database = host in (None, "", "127.0.0.1", "localhost", "::1")
        self.pids: list[int] = []
        self.counts: dict[str, int] = {}
        self.engine = create_engine(_psycopg(url), poolclass=NullPool)

    def refresh(self) -> None:
        """Find the workers and their database backends again (a worker may have been
        restarted, a pool may have opened a connection)."""
        workers = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.master_pid:  # the field after the state: the parent's pid
                workers.append(int(stat.parent.name))
        backends: list[int] = []
        if self.local_database:
            with self.engine.connect() as conn:
                backends = list(
                    conn.scalars(
                        text(
                            "SELECT pid FROM pg_stat_activity WHERE application_name = :name "
                            "AND pid <> pg_backend_pid()"
                        ),
                        {"name": self.application_name},
                    )
                )
        self.pids = workers + backends
        self.counts = {"gunicorn_workers": len(workers), "database_backends": len(backends)}

    def read(self) -> float:
        return sum(_on_cpu(pid) for pid in self.pids)

    def close(self) -> None:
        self.engine.dispose()


def reset_schema(url: str, schema: str, create: bool = True) -> None:
    engine = create_engine(_psycopg(url))
    try:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            if create:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
    finally:
        engine.dispose()


def load(uri: str, applications: int) -> tuple[data.Generated, dict[str, float]]:
    """The schema from the migrations, then the bench round, then fresh planner statistics."""
    started = time.perf_counter()
    env = {**os.environ, "DATABASE_URL": uri}
    migrated = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if migrated.returncode != 0:
        raise BenchError(f"flask db upgrade failed:\n{migrated.stderr[-3000:]}")
    upgrade = time.perf_counter() - started
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": _psycopg(uri), "SECRET_KEY": "bench-load", "REDIS_URL": None}
    )
    with app.app_context():
        made = data.generate(data.Sizes(applications=applications))
        tables = db.metadata.sorted_tables
        started = time.perf_counter()
        # The round's tables only: a bare ANALYZE would visit every schema of the database.
        names = ", ".join(db.engine.dialect.identifier_preparer.format_table(t) for t in tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"ANALYZE {names}"))
        analyze = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    return made, {
        "migrations_seconds": round(upgrade, 2),
        "generate_seconds": round(made.seconds, 2),
        "scores_rebuild_seconds": round(made.scores_seconds, 2),
        "analyze_seconds": round(analyze, 2),
    }


# The server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(uri: str, workdir: Path) -> Iterator[tuple[int, int]]:
    """gunicorn serving the app on ``uri`` until the block ends; yields its port and pid."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FLASK_DEBUG")}
    env.update(
        L2G_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(32),
        DATABASE_URL=uri,
        L2G_QUERY_COUNT_HEADER="1",
        STORAGE_DIR=str(workdir / "files"),
        BASE_URL=f"http://127.0.0.1:{port}",
    )
    log_path = workdir / "gunicorn.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "300",
        "--log-level",
        "warning",
        "app:create_app()",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise BenchError(f"gunicorn stopped:\n{log_path.read_text()[-3000:]}")
            try:
                if Client(port).get("/healthz").status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"gunicorn did not answer:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        errors = log_path.read_text(errors="replace")
        if "Traceback" in errors:
            print(f"gunicorn's log had errors:\n{errors[-3000:]}", flush=True)


# The pages ------------------------------------------------------------------------------------


def pages(port: int, made: data.Generated) -> dict[str, tuple[Client, str]]:
    """Each page to time: the client that opens it and its path."""
    officer = sign_in(port, made.officer_email)
    reviewer = sign_in(port, made.busiest_reviewer_email)
    public, revisiting = Client(port), Revisiting(port)
    ranking = f"/officer/rounds/{made.round_id}/ranking"
    first = officer.get(ranking)
    if first.status != 200:
        raise BenchError(f"the ranking answered HTTP {first.status}")
    links = parse(first).links
    application = next(
        (local_path(h) for h, _ in links if urlsplit(h).path.startswith("/officer/applications/")),
        None,
    )
    if application is None:
        raise BenchError("the ranking's first page links to no application")
    later, answer = ranking, first
    for _ in range(LATER_PAGE - 1):
        following = [h for h, label in parse(answer).links if label.startswith("Next")]
        if not following:
            raise BenchError(f"the ranking has fewer than {LATER_PAGE} pages")
        later = local_path(following[0])
        answer = officer.get(later)
    return {
        "bare": (officer, "/healthz"),
        "application": (officer, application),
        "ranking": (officer, ranking),
        "ranking_later": (officer, later),
        "applications": (officer, "/officer/applications"),
        "queue": (reviewer, "/review/"),
        "rounds": (officer, "/officer/rounds"),
        "dashboard": (officer, "/officer/dashboard"),
        "catalog": (public, "/catalog"),
        "catalog_json": (public, "/catalog/awards.json"),
        "catalog_again": (revisiting, "/catalog"),
        "catalog_json_again": (revisiting, "/catalog/awards.json"),
        "ranking_csv": (officer, f"/officer/rounds/{made.round_id}/ranking.csv"),
    }


def measure(port: int, made: data.Generated, repeat: int, meter: CpuMeter) -> dict[str, Any]:
    """Warm every page, then time ``repeat`` interleaved rounds of them."""
    targets = pages(port, made)
    seconds: dict[str, list[float]] = {name: [] for name in targets}
    cpu: dict[str, list[float]] = {name: [] for name in targets}
    queries: dict[str, list[int | None]] = {name: [] for name in targets}
    statuses: dict[str, Counter[int]] = {name: Counter() for name in targets}
    sizes: dict[str, int] = {}
    errors: dict[str, str] = {}
    for measured in [False] * WARMUP + [True] * repeat:
        if measured:
            meter.refresh()
        for name, (client, path) in targets.items():
            before = meter.read()
            try:
                answer = client.get(path)
            except (http.client.HTTPException, OSError) as error:  # e.g. a body cut short
                errors[name] = repr(error)
                statuses[name][0] += 1
                continue
            used = meter.read() - before
            statuses[name][answer.status] += 1
            sizes[name] = len(answer.body)
            if measured:
                seconds[name].append(answer.seconds)
                cpu[name].append(used)
                queries[name].append(answer.queries)
    bare, bare_cpu = _median(seconds["bare"]), _median(cpu["bare"])
    out: dict[str, Any] = {}
    for name, (_, path) in targets.items():
        median, median_cpu = _median(seconds[name]), _median(cpu[name])
        counts = Counter(queries[name])
        out[name] = {
            "path": path,
            "median_ms": round(median * 1000, 2),
            "min_ms": round(min(seconds[name], default=float("nan")) * 1000, 2),
            "x_bare": round(median / bare, 1),
            "cpu_ms": round(median_cpu * 1000, 2),
            "cpu_x_bare": round(median_cpu / bare_cpu, 1) if bare_cpu else float("nan"),
            "sql": counts.most_common(1)[0][0] if counts else None,
            "sql_seen": sorted(c for c in counts if c is not None),
            "bytes": sizes.get(name, 0),
            "statuses": {str(k): v for k, v in sorted(statuses[name].items())},
            # A revisit may be answered "not modified"; every other page must be a 200.
            "ok": set(statuses[name]) <= ({200, 304} if name.endswith("_again") else {200}),
        }
        if name in errors:
            out[name]["error"] = errors[name]
    return out


STREAMED = re.compile(
    re.escape(query_count.STREAMED_LOG).replace("%s", r"(\S+)").replace("%d", r"(\d+)")
)


def add_streamed_counts(timed: dict[str, Any], log_path: Path, repeat: int) -> None:
    """A streamed page's whole SQL count, from the line the app logs when its body has been sent
    (app/query_count.py): ``sql`` becomes that, ``sql_before_body`` keeps the header's."""
    totals: dict[str, list[int]] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        found = STREAMED.search(line)
        if found:
            totals.setdefault(found.group(2), []).append(int(found.group(3)))
    for page in timed.values():
        seen = totals.get(page["path"], [])[-repeat:]  # the timed requests came last
        if seen:
            page["sql_before_body"] = page["sql"]
            page["sql"] = Counter(seen).most_common(1)[0][0]
            page["streamed"] = True


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run_size(url: str, applications: int, repeat: int, keep: bool) -> dict[str, Any]:
    schema = f"l2g_bench_http_{applications}"
    uri = schema_uri(url, schema)
    print(f"\n{applications:,} applications: loading into schema {schema} ...", flush=True)
    reset_schema(url, schema)
    workdir = Path(tempfile.mkdtemp(prefix="l2g-bench-http-"))
    try:
        made, loading = load(uri, applications)
        print(
            f"  migrations {loading['migrations_seconds']:.1f} s, generated {made.counts} in "
            f"{loading['generate_seconds']:.1f} s (the scores' rebuild "
            f"{loading['scores_rebuild_seconds']:.1f} s of it), "
            f"ANALYZE {loading['analyze_seconds']:.1f} s",
            flush=True,
        )
        load_before = [round(x, 2) for x in os.getloadavg()]
        with serve(uri, workdir) as (port, pid):
            print(f"  gunicorn ({WORKERS} sync workers) on port {port}; timing ...", flush=True)
            meter = CpuMeter(pid, url, schema)
            started = time.perf_counter()
            try:
                timed = measure(port, made, repeat, meter)
            finally:
                meter.close()
            print(f"  CPU time read from {meter.counts}")
            seconds = time.perf_counter() - started
        add_streamed_counts(timed, workdir / "gunicorn.log", repeat)
        load_after = [round(x, 2) for x in os.getloadavg()]
        print(f"  timed in {seconds:.0f} s, load average {load_before} -> {load_after}")
        return {
            "applications": applications,
            "counts": made.counts,
            "loading": loading,
            "pages": timed,
            "timing_seconds": round(seconds, 1),
            "cpu_measured_in": meter.counts,
            "load_average": {"before": load_before, "after": load_after},
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if keep:
            print(f"  kept: DATABASE_URL={uri}")
        else:
            reset_schema(url, schema, create=False)


def table(result: dict[str, Any]) -> list[str]:
    sizes = list(result["sizes"].values())
    lines = [
        f"{'':<30}" + "".join(f"{s['applications']:>35,} applications" for s in sizes),
        f"{'page':<30}"
        + f"{'ms':>10} {'× bare':>7} {'CPU ms':>9} {'× bare':>7} {'SQL':>7}" * len(sizes),
    ]
    for name in TITLES:
        cells = []
        for size in sizes:
            page = size["pages"][name]
            sql = f"{page['sql']}{'*' if page.get('streamed') else ''}"
            sql = sql if page["ok"] else f"{sql} ERR"
            cells.append(
                f"{page['median_ms']:>10.1f} {page['x_bare']:>7.1f} {page['cpu_ms']:>9.1f} "
                f"{page['cpu_x_bare']:>7.1f} {sql:>7}"
            )
        same = result["sql_equal"].get(name)
        lines.append(f"{TITLES[name]:<30}" + "".join(cells) + ("" if same else "  SQL DIFFERS"))
    return lines


def run(
    sizes: tuple[int, ...] = FULL_SIZES,
    repeat: int = REPEAT,
    quick: bool = False,
    keep: bool = False,
) -> dict[str, Any]:
    if quick:
        sizes = QUICK_SIZES
    url = database_url()
    ensure_database(url)
    started = time.perf_counter()
    by_size = {str(n): run_size(url, n, repeat, keep) for n in sizes}
    first, *others = by_size.values()
    sql_equal = {
        name: all(other["pages"][name]["sql"] == first["pages"][name]["sql"] for other in others)
        for name in TITLES
    }
    result = {
        "sizes": by_size,
        "sql_equal": sql_equal,
        "all_ok": all(p["ok"] for s in by_size.values() for p in s["pages"].values()),
        "repeat": repeat,
        "warmup_rounds": WARMUP,
        "gunicorn_workers": WORKERS,
        "cpus": os.cpu_count(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(
        f"\nHTTP (gunicorn, {WORKERS} sync workers, PostgreSQL), one client, median of {repeat} "
        f"after {WARMUP} warm-up rounds, time to last byte:"
    )
    for line in table(result):
        print("  " + line)
    print(
        "  (CPU: the gunicorn worker's and its PostgreSQL backend's. SQL: the statements of one"
        " request; *: a streamed body, counted to its end from the app's log)"
    )
    for size in by_size.values():
        for name, page in size["pages"].items():
            if not page["ok"]:
                print(
                    f"  ERROR at {size['applications']:,}: {name} ({page['path']}) answered "
                    f"{page['statuses']} {page.get('error', '')}"
                )
    out_dir = OUT_DIR / "quick" if quick else OUT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "http.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {path.relative_to(ROOT)}")
    return result


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    """The figures ``python -m bench`` prints: each page's ratio to the bare route at the largest
    size, the bare route's time there, the load times, and the two checks."""
    sizes = list(result["sizes"].values())
    largest = sizes[-1]
    figures: dict[str, Any] = {
        f"bare_route_ms_at_{largest['applications']}": largest["pages"]["bare"]["median_ms"]
    }
    for name, page in largest["pages"].items():
        if name != "bare":
            figures[f"{name}_x_bare_at_{largest['applications']}"] = page["x_bare"]
            figures[f"{name}_cpu_x_bare_at_{largest['applications']}"] = page["cpu_x_bare"]
    for size in sizes:
        figures[f"load_seconds_at_{size['applications']}"] = size["loading"]["generate_seconds"]
    figures["sql_counts_equal_at_both_sizes"] = all(result["sql_equal"].values())
    figures["pages_ok"] = result["all_ok"]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(n) for n in FULL_SIZES),
        help="applications in each round, comma-separated (default %(default)s)",
    )
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES}")
    parser.add_argument("--repeat", type=int, default=REPEAT)
    parser.add_argument("--keep", action="store_true", help="keep the schemas (prints their URLs)")
    args = parser.parse_args(argv)
    sizes = tuple(int(n) for n in args.sizes.split(",") if n.strip())
    try:
        result = run(sizes, args.repeat, args.quick, args.keep)
    except BenchError as error:
        print(f"bench_http: {error}", file=sys.stderr)
        return 1
    return 0 if result["all_ok"] and all(result["sql_equal"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
