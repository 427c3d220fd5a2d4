"""Program dashboard and public catalog benchmark.

``python -m bench.bench_program`` builds a throwaway SQLite program with 2,000 awards and 10,000
impact reports (bulk ORM inserts, a few seconds), then, with Flask's test client in one run:

- the median time of the officer dashboard, the public catalog page and its JSON against a bare
  Flask route (``/bare`` returning a short string), as ratios;
- the SQL statements each page runs with 200 awards and with 2,000 (they must be equal);
- the time of the two CSV files (every report's indicators; the open data).

``--screenshots`` also serves the 2,000-award program on a local port and saves full-page
screenshots of the dashboard and the public map, taken with Debian's Chromium, to
``bench/out/screenshots/``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event, insert
from werkzeug.security import generate_password_hash

from app import create_app
from app.domain import GOVERNMENT_TYPES, INDICATORS, PRIORITY_AREAS
from app.extensions import db
from app.models.application import Application, ApplicationPriorityArea, ImpactTarget
from app.models.award import Award
from app.models.impact_report import ImpactReport
from app.models.round import Round
from app.models.user import Organization, User

OUT_DIR = Path(__file__).resolve().parent / "out"
SCREENSHOTS = OUT_DIR / "screenshots"
OFFICER_EMAIL = "officer@bench.example.gov"
OFFICER_PASSWORD = "bench officer passphrase"
PAGES = {
    "dashboard": "/officer/dashboard",
    "catalog": "/catalog",
    "catalog_json": "/catalog/awards.json",
}
FILES = {
    "reports_csv": "/officer/dashboard/reports.csv",
    "catalog_csv": "/catalog/awards.csv",
}

# Places by state, so the jurisdictions read like real ones; weights roughly follow population.
PLACES: dict[str, tuple[int, list[str], list[str]]] = {
    "AL": (5, ["Birmingham", "Huntsville", "Mobile"], ["Jefferson", "Madison"]),
    "AK": (1, ["Anchorage", "Juneau"], []),
    "AZ": (7, ["Phoenix", "Tucson", "Mesa"], ["Maricopa", "Pima"]),
    "AR": (3, ["Little Rock", "Fayetteville"], ["Pulaski"]),
    "CA": (39, ["Los Angeles", "San Diego", "San Jose", "Oakland", "Fresno"], ["Alameda"]),
    "CO": (6, ["Denver", "Aurora", "Boulder"], ["Arapahoe"]),
    "CT": (4, ["Hartford", "New Haven"], []),
    "DE": (1, ["Wilmington", "Dover"], ["New Castle"]),
    "DC": (1, [], []),
    "FL": (22, ["Miami", "Orlando", "Tampa", "Jacksonville"], ["Miami-Dade", "Broward"]),
    "GA": (11, ["Atlanta", "Savannah", "Augusta"], ["Fulton", "DeKalb"]),
    "HI": (1, ["Honolulu"], ["Maui", "Hawaii"]),
    "ID": (2, ["Boise"], ["Ada"]),
    "IL": (12, ["Chicago", "Aurora", "Rockford"], ["Cook", "DuPage"]),
    "IN": (7, ["Indianapolis", "Fort Wayne"], ["Marion"]),
    "IA": (3, ["Des Moines", "Cedar Rapids"], ["Polk"]),
    "KS": (3, ["Wichita", "Kansas City"], ["Johnson"]),
    "KY": (4, ["Louisville", "Lexington"], ["Jefferson"]),
    "LA": (4, ["New Orleans", "Baton Rouge"], []),
    "ME": (1, ["Portland", "Bangor"], ["Cumberland"]),
    "MD": (6, ["Baltimore", "Frederick"], ["Montgomery", "Prince George's"]),
    "MA": (7, ["Boston", "Worcester", "Springfield"], ["Middlesex"]),
    "MI": (10, ["Detroit", "Grand Rapids", "Ann Arbor"], ["Wayne", "Kent"]),
    "MN": (6, ["Minneapolis", "Saint Paul", "Duluth"], ["Hennepin"]),
    "MS": (3, ["Jackson", "Gulfport"], ["Hinds"]),
    "MO": (6, ["Kansas City", "St. Louis"], ["Jackson"]),
    "MT": (1, ["Billings", "Missoula"], []),
    "NE": (2, ["Omaha", "Lincoln"], ["Douglas"]),
    "NV": (3, ["Las Vegas", "Reno"], ["Clark", "Washoe"]),
    "NH": (1, ["Manchester", "Nashua"], []),
    "NJ": (9, ["Newark", "Jersey City", "Paterson"], ["Bergen", "Essex"]),
    "NM": (2, ["Albuquerque", "Las Cruces"], ["Bernalillo"]),
    "NY": (19, ["New York", "Buffalo", "Rochester", "Syracuse"], ["Erie", "Westchester"]),
    "NC": (10, ["Charlotte", "Raleigh", "Durham"], ["Wake", "Mecklenburg"]),
    "ND": (1, ["Fargo", "Bismarck"], []),
    "OH": (11, ["Columbus", "Cleveland", "Cincinnati", "Dayton"], ["Franklin", "Cuyahoga"]),
    "OK": (4, ["Oklahoma City", "Tulsa"], ["Tulsa"]),
    "OR": (4, ["Portland", "Eugene"], ["Multnomah"]),
    "PA": (13, ["Philadelphia", "Pittsburgh", "Allentown"], ["Allegheny"]),
    "RI": (1, ["Providence"], []),
    "SC": (5, ["Charleston", "Columbia", "Greenville"], ["Richland"]),
    "SD": (1, ["Sioux Falls", "Rapid City"], []),
    "TN": (7, ["Nashville", "Memphis", "Knoxville"], ["Shelby"]),
    "TX": (30, ["Houston", "San Antonio", "Dallas", "Austin", "El Paso"], ["Harris", "Travis"]),
    "UT": (3, ["Salt Lake City", "Provo"], ["Salt Lake"]),
    "VT": (1, ["Burlington"], []),
    "VA": (8, ["Virginia Beach", "Richmond", "Norfolk"], ["Fairfax", "Arlington"]),
    "WA": (8, ["Seattle", "Spokane", "Tacoma"], ["King", "Pierce"]),
    "WV": (1, ["Charleston", "Huntington"], []),
    "WI": (6, ["Milwaukee", "Madison"], ["Dane"]),
    "WY": (1, ["Cheyenne", "Casper"], []),
    "PR": (2, ["San Juan", "Ponce"], []),
    "GU": (1, [], []),
    "VI": (1, [], []),
    "AS": (1, [], []),
    "MP": (1, [], []),
}
TRIBES = {
    "OK": "Cherokee Nation",
    "AZ": "Navajo Nation",
    "SD": "Oglala Sioux Tribe",
    "WA": "Tulalip Tribes",
    "MT": "Blackfeet Nation",
    "NM": "Pueblo of Zuni",
}
COUNCILS = {
    "MA": "Metropolitan Area Planning Council",
    "GA": "Atlanta Regional Commission",
    "CA": "Southern California Association of Governments",
    "MN": "Metropolitan Council",
    "TX": "North Central Texas Council of Governments",
}
THEMES = {
    "trade": ["Export readiness for small manufacturers", "Trade and tourism gateway"],
    "climate": ["Sister-city climate resilience exchange", "Clean energy partnership"],
    "migration": ["Diaspora investment bridge", "Newcomer welcome network"],
    "gender": ["Women's leadership in municipal diplomacy", "Women entrepreneurs' exchange"],
    "democracy": ["Local governance fellows exchange", "Open government partnership"],
    "health": ["Pandemic recovery tourism compact", "Public health twinning"],
    "education": ["Student and staff exchange network", "Culture and language exchange"],
    "technology": ["Civic technology partnership", "Smart port innovation exchange"],
}
COUNTRIES = [
    "JP", "KR", "DE", "FR", "MX", "CA", "BR", "GH", "NG", "KE", "IN", "VN", "PH", "CL", "DK", "ES",
    "IE", "IT", "TW", "IL", "MA", "ZA", "CO", "PE", "NL", "SE", "EE", "PL", "UA", "AU",
]  # fmt: skip
# (low, high) of a target per indicator; reports measure a share of it each period.
TARGETS = {
    "fdi_usd": (500_000, 25_000_000),
    "jobs": (10, 400),
    "delegations_hosted": (2, 15),
    "delegations_sent": (1, 10),
    "direct_flights": (1, 2),
    "agreements": (1, 8),
    "technical_exchanges": (2, 20),
    "educational_exchanges": (10, 300),
    "events": (2, 25),
    "people_reached": (500, 60_000),
}


def _jurisdictions(rng: random.Random, count: int) -> list[dict[str, Any]]:
    states = list(PLACES)
    weights = [PLACES[s][0] for s in states]
    made: dict[str, dict[str, Any]] = {}
    for _ in range(count * 50):  # the places run out before that: then jurisdictions repeat
        if len(made) >= count:
            break
        state = rng.choices(states, weights)[0]
        _, cities, counties = PLACES[state]
        roll = rng.random()
        if state in ("DC", "PR", "GU", "VI", "AS", "MP") and (roll < 0.5 or not cities):
            name = {
                "DC": "District of Columbia",
                "PR": "Commonwealth of Puerto Rico",
                "GU": "Territory of Guam",
                "VI": "Government of the U.S. Virgin Islands",
                "AS": "American Samoa Government",
                "MP": "Commonwealth of the Northern Mariana Islands",
            }[state]
            kind = "state" if state == "DC" else "territory"
        elif roll < 0.06:
            name, kind = f"State of {state}", "state"
        elif roll < 0.1 and state in TRIBES:
            name, kind = TRIBES[state], "tribal"
        elif roll < 0.14 and state in COUNCILS:
            name, kind = COUNCILS[state], "regional_council"
        elif roll < 0.35 and counties:
            name, kind = f"{rng.choice(counties)} County", "county"
        elif cities:
            name, kind = f"City of {rng.choice(cities)}", "city"
        else:
            continue
        if kind == "state":
            from app.domain import US_STATES

            name = US_STATES[state] if state == "DC" else f"State of {US_STATES[state]}"
        made.setdefault(
            f"{state}:{name}",
            {"legal_name": name, "government_type": kind, "state_code": state},
        )
    return list(made.values())


def generate(awards: int, reports: int, seed: int = 7) -> dict[str, int]:
    """Fill the current app's empty database with a program of `awards` awards and `reports`
    impact reports, with bulk inserts. Returns row counts."""
    rng = random.Random(seed)
    now = datetime(2026, 5, 1, 15, 0, tzinfo=UTC)
    session = db.session
    officer_hash = generate_password_hash(OFFICER_PASSWORD)
    session.execute(
        insert(User),
        [
            {
                "id": 1,
                "email": OFFICER_EMAIL,
                "name": "Jordan Whitfield",
                "role": "officer",
                "password_hash": officer_hash,
            }
        ],
    )
    rounds = []
    for n, year in enumerate((2023, 2024, 2025, 2026), start=1):
        rounds.append(
            {
                "id": n,
                "title": f"{year} Local-to-Global Engagement round",
                "description": "Competitive grants for subnational diplomacy.",
                "opens_at": datetime(year - 1, 9, 1, tzinfo=UTC),
                "closes_at": datetime(year - 1, 11, 30, 22, tzinfo=UTC),
                "budget": Decimal("150000000"),
                "min_award": Decimal("50000"),
                "max_award": Decimal("250000"),
                "eligible_government_types": list(GOVERNMENT_TYPES),
                "priority_areas": list(PRIORITY_AREAS),
                "performance_months": 24,
                "state": "archived" if year < 2026 else "decided",
            }
        )
    session.execute(insert(Round), rounds)
    orgs = _jurisdictions(rng, max(10, awards * 2 // 5))
    for i, org in enumerate(orgs, start=1):
        org.update(
            id=i,
            population=rng.randint(20_000, 4_000_000),
            street=f"{rng.randint(1, 999)} Civic Center Plaza",
            city=org["legal_name"].removeprefix("City of "),
            zip_code=f"{rng.randint(10000, 99999)}",
            official_name="Private Official Name",
            official_title="Mayor",
        )
    session.execute(insert(Organization), orgs)
    session.execute(
        insert(User),
        [
            {
                "id": 1 + i,
                "email": f"grants{i}@jurisdiction{i}.example.gov",
                "name": f"Grants manager {i}",
                "role": "applicant",
                "organization_id": i,
                "password_hash": "",
            }
            for i in range(1, len(orgs) + 1)
        ],
    )
    applications, areas, targets, award_rows = [], [], [], []
    # Awards follow population: a jurisdiction of a big state wins more often than one of a small
    # state with as many jurisdictions on the list.
    per_state: dict[str, int] = {}
    for org in orgs:
        per_state[org["state_code"]] = per_state.get(org["state_code"], 0) + 1
    org_ids = [org["id"] for org in orgs]
    org_weights = [PLACES[o["state_code"]][0] / per_state[o["state_code"]] for o in orgs]
    states = ["active"] * 60 + ["closed"] * 15 + ["accepted"] * 15 + ["suspended"] * 3
    states += ["offered"] * 4 + ["refused"] * 2 + ["rescinded"]
    for i in range(1, awards + 1):
        org = rng.choices(org_ids, org_weights)[0]
        rnd = rounds[rng.choices(range(4), [2, 3, 3, 2])[0]]
        year = rnd["closes_at"].year + 1
        picked = rng.sample(list(PRIORITY_AREAS), rng.choice((1, 2, 2, 3)))
        countries = rng.sample(COUNTRIES, rng.randint(1, 3))
        amount = Decimal(rng.randrange(50_000, 250_001, 5_000))
        applications.append(
            {
                "id": i,
                "round_id": rnd["id"],
                "organization_id": org,
                "created_by_id": 1 + org,
                "reference": f"L2G-{year - 1}-{i:05d}",
                "state": "awarded",
                "title": rng.choice(THEMES[picked[0]]),
                "summary": "A two-year program with partner governments abroad.",
                "partner_countries": countries,
                "need": "Private narrative.",
                "requested_amount": amount,
                "submitted_at": rnd["closes_at"] - timedelta(days=3),
            }
        )
        areas += [{"application_id": i, "area": a} for a in picked]
        chosen = rng.sample(list(TARGETS), rng.randint(3, 6))
        for position, code in enumerate(chosen):
            low, high = TARGETS[code]
            targets.append(
                {
                    "application_id": i,
                    "position": position,
                    "indicator": code,
                    "baseline": Decimal(0),
                    "target": Decimal(rng.randint(low, high)),
                }
            )
        targets.append(
            {
                "application_id": i,
                "position": len(chosen),
                "indicator": "funds_spent_usd",
                "baseline": Decimal(0),
                "target": amount,
            }
        )
        start = date(year, 7, 1)
        state = rng.choice(states)
        accepted = state not in ("offered", "refused", "rescinded")
        award_rows.append(
            {
                "id": i,
                "application_id": i,
                "round_id": rnd["id"],
                "organization_id": org,
                "number": f"L2G-{year}-A{i:05d}",
                "amount": amount,
                "state": state,
                "start_date": start,
                "end_date": start + timedelta(days=730),
                "conditions": [],
                "justification": "Private justification.",
                "offered_at": datetime(year, 4, 1, tzinfo=UTC),
                "offered_by_id": 1,
                "acceptance_deadline": datetime(year, 5, 15, tzinfo=UTC),
                "responded_at": datetime(year, 4, 20, tzinfo=UTC) if state != "offered" else None,
                "accepted_by_id": 1 + org if accepted else None,
                "accepted_name": "Private Official Name" if accepted else None,
                "accepted_title": "Mayor" if accepted else None,
            }
        )
    session.execute(insert(Application), applications)
    session.execute(insert(ApplicationPriorityArea), areas)
    session.execute(insert(ImpactTarget), targets)
    session.execute(insert(Award), award_rows)
    targets_of: dict[int, dict[str, Decimal]] = {}
    for t in targets:
        targets_of.setdefault(t["application_id"], {})[t["indicator"]] = t["target"]
    public = [a for a in award_rows if a["accepted_by_id"]]
    base, extra = divmod(reports, len(public))
    report_rows = []
    for k, award in enumerate(public):
        count = base + (1 if k < extra else 0)
        done = {"closed": count, "accepted": 0}.get(award["state"], rng.randint(0, count))
        for n in range(count):
            start = award["start_date"] + timedelta(days=n * 730 // count)
            end = award["start_date"] + timedelta(days=(n + 1) * 730 // count - 1)
            final = n == count - 1
            if n < done:
                state = "accepted"
            elif n == done and award["state"] in ("active", "suspended"):
                state = rng.choice(("submitted", "changes_requested", "scheduled"))
            else:
                state = "scheduled"
            values: dict[str, str | None] = {}
            if state != "scheduled":
                goal = targets_of[award["application_id"]]
                for code in INDICATORS:
                    if code == "funds_spent_usd":
                        spent = award["amount"] * (n + 1) / count * Decimal(rng.uniform(0.8, 1))
                        values[code] = str(spent.quantize(Decimal("0.01")))
                    else:
                        share = goal.get(code, Decimal(0)) / count * Decimal(rng.uniform(0.3, 1.6))
                        values[code] = str(share.quantize(Decimal("1")))
            report_rows.append(
                {
                    "award_id": award["id"],
                    "organization_id": award["organization_id"],
                    "kind": "final" if final else "interim",
                    "title": "Final report" if final else f"Progress report {n + 1}",
                    "period_start": start,
                    "period_end": end,
                    "due_on": end + timedelta(days=120 if final else 30),
                    "state": state,
                    "indicators": values,
                    "accomplishments": "Private draft narrative." if values else "",
                    "submitted_at": now if state != "scheduled" else None,
                    "accepted_at": now if state == "accepted" else None,
                }
            )
    session.execute(insert(ImpactReport), report_rows)
    session.commit()
    return {"awards": len(award_rows), "public_awards": len(public), "reports": len(report_rows)}


def build_app(database: Path, **config: Any) -> Flask:
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "SECRET_KEY": "bench-secret",
            "WTF_CSRF_ENABLED": False,
            "STORAGE_DIR": str(database.parent / "files"),
            "REDIS_URL": None,
            **config,
        }
    )

    @app.get("/bare")
    def bare() -> str:
        return "ok"

    return app


def build_program(database: Path, awards: int, reports: int) -> tuple[Flask, dict[str, int]]:
    app = build_app(database)
    with app.app_context():
        db.create_all()
        counts = generate(awards, reports)
    return app, counts


@contextmanager
def counting(app: Flask) -> Iterator[list[str]]:
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


def officer_client(app: Flask) -> Any:
    client = app.test_client()
    response = client.post("/login", data={"email": OFFICER_EMAIL, "password": OFFICER_PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def fetch(client: Any, url: str) -> int:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(response.get_data())


def query_counts(app: Flask) -> dict[str, int]:
    client = officer_client(app)
    counts = {}
    for name, url in {**PAGES, **FILES}.items():
        fetch(client, url)  # warm
        with counting(app) as statements:
            fetch(client, url)
        counts[name] = len(statements)
    return counts


def timings(app: Flask, repeat: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall-clock and CPU milliseconds per page, the pages interleaved with the bare route
    so a busy machine slows them alike. (CPU time is the steadier figure on a shared machine.)"""
    client = officer_client(app)
    urls = {"bare": "/bare", **PAGES}
    wall: dict[str, list[float]] = {name: [] for name in urls}
    cpu: dict[str, list[float]] = {name: [] for name in urls}
    for url in urls.values():
        fetch(client, url)  # warm: templates compiled, caches filled
    for _ in range(repeat):
        for name, url in urls.items():
            started, started_cpu = time.perf_counter(), time.process_time()
            fetch(client, url)
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    return (
        {name: statistics.median(values) * 1000 for name, values in wall.items()},
        {name: statistics.median(values) * 1000 for name, values in cpu.items()},
    )


def file_timings(app: Flask, repeat: int = 3) -> dict[str, tuple[float, int]]:
    client = officer_client(app)
    out = {}
    for name, url in FILES.items():
        times, size = [], 0
        for _ in range(repeat):
            started = time.perf_counter()
            size = fetch(client, url)
            times.append(time.perf_counter() - started)
        out[name] = (statistics.median(times) * 1000, size)
    return out


def profile(app: Flask, url: str) -> None:
    import cProfile
    import pstats

    client = officer_client(app)
    fetch(client, url)
    profiler = cProfile.Profile()
    profiler.enable()
    fetch(client, url)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def screenshots(database: Path) -> list[Path]:
    """Serve the program (CSRF on, as in production) and photograph the two pages."""
    import logging

    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = build_app(database, WTF_CSRF_ENABLED=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    saved = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/catalog")
            for name in ("bench-catalog-map", "bench-catalog-full"):
                path = SCREENSHOTS / f"{name}.png"
                page.screenshot(path=str(path), full_page=name.endswith("full"))
                if name.endswith("map"):
                    page.locator("#h-map").scroll_into_view_if_needed()
                    page.locator(".l2g-map").screenshot(path=str(path))
                saved.append(path)
            page.goto(f"{base}/catalog?area=climate&state=CA")
            path = SCREENSHOTS / "bench-catalog-filtered.png"
            page.screenshot(path=str(path), full_page=True)
            saved.append(path)
            page.goto(f"{base}/login")
            page.get_by_label("Email").fill(OFFICER_EMAIL)
            page.get_by_label("Password").fill(OFFICER_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state("load")
            page.goto(f"{base}/officer/dashboard")
            path = SCREENSHOTS / "bench-dashboard.png"
            page.screenshot(path=str(path), full_page=True)
            saved.append(path)
            page.goto(f"{base}/officer/dashboard?round=4&indicator=fdi_usd")
            path = SCREENSHOTS / "bench-dashboard-round.png"
            page.screenshot(path=str(path), full_page=True)
            saved.append(path)
            page.set_viewport_size({"width": 400, "height": 900})
            page.goto(f"{base}/catalog#h-map")
            path = SCREENSHOTS / "bench-catalog-narrow.png"
            page.screenshot(path=str(path), full_page=False)
            saved.append(path)
            browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=10)
    return saved


def run(
    awards: int = 2000,
    reports: int = 10_000,
    small: int = 200,
    repeat: int = 15,
    shots: bool = False,
    profile_url: str | None = None,
    out: Callable[[str], None] = print,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="l2g-bench-program-") as tmp:
        started = time.perf_counter()
        small_app, small_counts = build_program(Path(tmp) / "small.sqlite", small, small * 5)
        big_db = Path(tmp) / "big.sqlite"
        big_app, big_counts = build_program(big_db, awards, reports)
        out(
            f"generated {big_counts} and {small_counts} in "
            f"{time.perf_counter() - started:.1f} s (SQLite, bulk inserts)"
        )
        if profile_url:
            profile(big_app, profile_url)
        counts_small = query_counts(small_app)
        counts_big = query_counts(big_app)
        medians, cpu = timings(big_app, repeat)
        files = file_timings(big_app)
        out(f"\nmedian of {repeat} requests, {awards} awards and {reports} reports (wall; CPU):")
        out(f"  {'bare route':<22} {medians['bare']:8.2f} ms {cpu['bare']:8.2f} ms")
        for name in PAGES:
            ratio, cpu_ratio = medians[name] / medians["bare"], cpu[name] / cpu["bare"]
            out(
                f"  {name:<22} {medians[name]:8.2f} ms {cpu[name]:8.2f} ms   "
                f"{ratio:6.1f} × bare ({cpu_ratio:.1f} × in CPU)"
            )
        for name, (ms, size) in files.items():
            out(f"  {name:<22} {ms:8.2f} ms   ({size / 1024:.0f} KiB)")
        out(f"\nSQL statements per request: {small} awards vs {awards} awards")
        for name in counts_small:
            same = "equal" if counts_small[name] == counts_big[name] else "DIFFERENT"
            out(f"  {name:<22} {counts_small[name]:4d} vs {counts_big[name]:4d}   {same}")
        saved = screenshots(big_db) if shots else []
        for path in saved:
            out(f"screenshot: {path}")
        for engine_app in (small_app, big_app):
            with engine_app.app_context():
                db.engine.dispose()
    return {
        "medians_ms": medians,
        "cpu_ms": cpu,
        "ratios": {name: medians[name] / medians["bare"] for name in PAGES},
        "query_counts": {"small": counts_small, "big": counts_big},
        "files_ms": {name: ms for name, (ms, _) in files.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--awards", type=int, default=2000)
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=200, help="awards of the smaller program")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--screenshots", action="store_true")
    parser.add_argument("--profile", metavar="URL", help="cProfile one request of this URL")
    args = parser.parse_args(argv)
    result = run(args.awards, args.reports, args.small, args.repeat, args.screenshots, args.profile)
    counts = result["query_counts"]
    return 0 if counts["small"] == counts["big"] else 1


if __name__ == "__main__":
    sys.exit(main())
