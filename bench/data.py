"""A synthetic review round for the benchmarks: 10,000 applications, 300 reviewers, 30,000 reviews.

Everything is written with bulk inserts (``bulk_insert``: PostgreSQL's COPY, elsewhere one
executemany INSERT), the way a fixture loader would, **not** through the workflow engine: firing
submit, screen, assign and submit-review for every row would write an audit event and outbox
rows each time and take hours at this size. The states are set directly, consistent with what
the engine would have produced:

- ``sizes.applications`` reviewed applications, each with ``sizes.per_application`` distinct
  reviewers whose reviews are *submitted* (overall impact 1–9, confidence, a 1–9 score for every
  scored criterion of the default rubric, a judged and explained sufficiency criterion, strengths
  and weaknesses). At full size: 10,000 applications and 30,000 submitted reviews.
- Of those, ``sizes.open_share`` (5 %) are still ``in_review``: an officer added one more
  reviewer whose review is still open (assigned or in progress, a draft); the rest are
  ``scored``. So the reviewers' queues mix submitted and open reviews, and the ranking flags
  applications whose review is still open.
- ``sizes.unscreened_share`` (1 %) more applications are only ``submitted`` (awaiting screening,
  no reviews): pages must leave them out.
- Every application has its own jurisdiction (organization) with one applicant user, one to three
  priority areas, one or two partners and some narrative text.
- ``sizes.reviewers`` reviewers with profiles (priority areas, regions, home state,
  affiliations) and one declared conflict each (with a jurisdiction they do not review); no
  reviewer is assigned to an application it would be conflicted with (its home state's
  state-level government), so the queue's conflict check hides nothing.
- One program officer. The officer and every reviewer sign in with ``PASSWORD``.
- The stored scores and ranking (``app.services.scores.rebuild_round``), as the review
  transitions would have left them.

Scores are ``true quality + reviewer harshness + noise`` rounded to 1–9, so the calibration has
real offsets to find. Reviewers are drawn at random for each application (loads near the mean,
the reviewer graph connected), seeded: the same sizes and seed give the same database.

Use ``build(path, sizes)`` for an app on a new SQLite file with the data in it, or ``generate``
inside an app context with an empty schema. ``Sizes(applications=1_000)`` and the like choose
smaller rounds. At full size generation takes about 10–20 s on SQLite and 5–7 s on PostgreSQL
(about 3 times less than with the batched INSERTs; ``bench/bench_http.py`` loads it there).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event, insert, text
from werkzeug.security import generate_password_hash

from app.domain import GOVERNMENT_TYPES, PARTNER_TYPES, PRIORITY_AREAS, REGIONS, US_STATES
from app.extensions import db
from app.models.application import Application, ApplicationPriorityArea, Partner
from app.models.review import Conflict, Review, ReviewerProfile
from app.models.round import Round, RubricCriterion
from app.models.user import Organization, User
from app.services import scores
from app.services.rubrics import DEFAULT_RUBRIC

PASSWORD = "bench passphrase for every account"
OFFICER_EMAIL = "officer@bench.example.gov"
STATE_LEVEL = ("state", "territory")
TERRITORIES = ("AS", "GU", "MP", "PR", "VI")
STATES = tuple(code for code in US_STATES if code not in TERRITORIES)
# Government types of the applicants, roughly as often as they apply.
GOVERNMENT_WEIGHTS = {
    "city": 55,
    "county": 28,
    "tribal": 6,
    "regional_council": 6,
    "state": 4,
    "territory": 1,
}
COUNTRIES = (
    "JP", "KR", "DE", "FR", "MX", "CA", "BR", "GH", "NG", "KE", "IN", "VN", "PH", "CL", "DK",
    "ES", "IE", "IT", "TW", "IL", "MA", "ZA", "CO", "PE", "NL", "SE", "EE", "PL", "UA", "AU",
)  # fmt: skip
TITLES = (
    "Sister-city climate resilience exchange",
    "Export readiness for small manufacturers",
    "Diaspora investment bridge",
    "Women's leadership in municipal diplomacy",
    "Local governance fellows exchange",
    "Public health twinning",
    "Student and staff exchange network",
    "Civic technology partnership",
    "Smart port innovation exchange",
    "Trade and tourism gateway",
)
PARAGRAPH = (
    "The jurisdiction will work with its partner municipalities abroad on a two-year program of "
    "exchanges, joint working groups and public events. Staff from both sides will meet each "
    "quarter, share results with residents and local businesses, and report on the agreed "
    "indicators. The program builds on earlier informal contacts and on the diaspora community's "
    "ties, and it is designed to continue after the award ends. "
)
STRENGTHS = (
    "Clear objectives tied to the round's priority areas; realistic milestones; committed "
    "partners with defined roles and a credible plan to measure results. "
)
WEAKNESSES = (
    "The budget justification for travel is thin, and the sustainability plan depends on a "
    "single champion in the mayor's office; measurement of long-term outcomes is vague. "
)


@dataclass(frozen=True)
class Sizes:
    applications: int = 10_000  # reviewed applications, each with per_application submitted reviews
    reviewers: int = 300
    per_application: int = 3
    open_share: float = 0.05  # of the reviewed applications, still in review with one open review
    unscreened_share: float = 0.01  # extra applications only submitted (no reviews)


FULL = Sizes()


@dataclass(frozen=True)
class Generated:
    round_id: int
    officer_email: str
    reviewer_emails: list[str]  # by reviewer id order
    busiest_reviewer_email: str  # the reviewer with the longest queue
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0  # all of it, the scores' rebuild included
    scores_seconds: float = 0.0  # app.services.scores.rebuild_round


def _sqlite_fast(dbapi_connection: Any, record: Any) -> None:
    # A throwaway database: no need to wait for the disk.
    dbapi_connection.execute("PRAGMA synchronous=OFF")
    dbapi_connection.execute("PRAGMA journal_mode=MEMORY")


def make_app(database: Path, **config: Any) -> Flask:
    """An L2G app on the SQLite file ``database`` (jobs inline, CSRF off), with a ``/bare`` route
    returning a short string: the baseline the pages are compared with."""
    from app import create_app

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

    with app.app_context():
        event.listen(db.engine, "connect", _sqlite_fast)
    return app


def build(database: Path, sizes: Sizes = FULL, seed: int = 2026) -> tuple[Flask, Generated]:
    """A new SQLite database at ``database`` with the schema and a generated round in it."""
    app = make_app(database)
    with app.app_context():
        db.create_all()
        generated = generate(sizes, seed)
        db.session.remove()
    return app, generated


def bulk_insert(model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` into ``model``'s table in the session's transaction: with PostgreSQL's
    COPY (a few times faster than the batched INSERTs it replaces at 10,000 applications), else
    with one executemany INSERT. Columns a row leaves out get the model's Python-side default, as
    an ORM insert would give them."""
    session = db.session
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql" or not rows:
        session.execute(insert(model), rows)
        return
    table = model.__table__
    given = set().union(*rows)
    columns = [c for c in table.columns if c.key in given or c.default is not None]
    defaults = {
        c.key: c.default.arg(None) if c.default.is_callable else c.default.arg
        for c in columns
        if c.default is not None and (c.default.is_scalar or c.default.is_callable)
    }
    # Each type's own conversion for this driver (JSON documents, UTC datetimes...).
    converters = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in columns)
    statement = f"COPY {dialect.identifier_preparer.format_table(table)} ({names}) FROM STDIN"
    cursor = connection.connection.driver_connection.cursor()
    with cursor, cursor.copy(statement) as copy:
        for row in rows:
            values = [row[c.key] if c.key in row else defaults.get(c.key) for c in columns]
            copy.write_row(
                [
                    v if f is None or v is None else f(v)
                    for f, v in zip(converters, values, strict=True)
                ]
            )


def reset_sequences() -> None:
    """Move each PostgreSQL id sequence past the ids inserted explicitly, so rows the app adds
    later (a decision, an audit event) do not collide with them."""
    for table in db.metadata.sorted_tables:
        if "id" not in table.columns or not table.columns["id"].autoincrement:
            continue
        name = db.engine.dialect.identifier_preparer.format_table(table)
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:table, 'id'), "
                f"coalesce(max(id), 0) + 1, false) FROM {name}"
            ),
            {"table": name},
        )


def generate(sizes: Sizes = FULL, seed: int = 2026) -> Generated:
    """Fill the current app's empty database with a round of the given sizes (bulk inserts)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    session = db.session
    now = datetime.now(UTC).replace(microsecond=0)
    closed = now - timedelta(days=40)
    password_hash = generate_password_hash(PASSWORD)  # one hash for every account: hashing is slow

    round_id = 1
    session.execute(
        insert(Round),
        [
            {
                "id": round_id,
                "title": "2026 Local-to-Global Engagement round (benchmark)",
                "description": "Competitive grants for subnational diplomacy.",
                "timezone": "America/New_York",
                "opens_at": closed - timedelta(days=90),
                "closes_at": closed,
                "budget": Decimal("150000000"),
                "min_award": Decimal("50000"),
                "max_award": Decimal("250000"),
                "eligible_government_types": list(GOVERNMENT_TYPES),
                "priority_areas": list(PRIORITY_AREAS),
                "reviewers_per_application": sizes.per_application,
                "blind_review": False,
                "state": "reviewing",
            }
        ],
    )
    criteria = [
        {
            "id": position + 1,
            "round_id": round_id,
            "position": position,
            "title": title,
            "guidance": guidance,
            "weight": Decimal(weight),
            "kind": kind,
            "required": True,
        }
        for position, (title, guidance, weight, kind) in enumerate(DEFAULT_RUBRIC)
    ]
    session.execute(insert(RubricCriterion), criteria)
    scored_ids = [c["id"] for c in criteria if c["kind"] == "scored"]
    sufficiency_ids = [c["id"] for c in criteria if c["kind"] == "sufficiency"]

    # People: the officer, the reviewers, then one applicant per jurisdiction.
    users = [
        {
            "id": 1,
            "email": OFFICER_EMAIL,
            "name": "Jordan Whitfield",
            "role": "officer",
            "password_hash": password_hash,
            "organization_id": None,
        }
    ]
    reviewer_ids = list(range(2, 2 + sizes.reviewers))
    areas = list(PRIORITY_AREAS)
    profiles = []
    home: dict[int, str] = {}
    for n, rid in enumerate(reviewer_ids, start=1):
        users.append(
            {
                "id": rid,
                "email": f"reviewer{n}@review-panel.example.org",
                "name": f"Reviewer {n:03d}",
                "role": "reviewer",
                "password_hash": password_hash,
                "organization_id": None,
            }
        )
        home[rid] = rng.choice(STATES)
        profiles.append(
            {
                "user_id": rid,
                "priority_areas": rng.sample(areas, rng.randint(1, 3)),
                "regions": rng.sample(list(REGIONS), rng.randint(1, 3)),
                "home_state": home[rid],
                "affiliations": [f"Panel Institute {n}"],
                "updated_at": now,
            }
        )

    unscreened = round(sizes.applications * sizes.unscreened_share)
    total = sizes.applications + unscreened
    kinds = rng.choices(list(GOVERNMENT_WEIGHTS), list(GOVERNMENT_WEIGHTS.values()), k=total)
    orgs, applications, area_rows, partners = [], [], [], []
    narrative = PARAGRAPH * 3
    first_applicant = 2 + sizes.reviewers
    for i in range(1, total + 1):
        kind = kinds[i - 1]
        state = rng.choice(TERRITORIES if kind == "territory" else STATES)
        name = {
            "city": f"City of Springfield {i}",
            "county": f"Franklin County {i}",
            "tribal": f"Tribal Nation {i}",
            "regional_council": f"Regional Council of Governments {i}",
            "state": f"State of {US_STATES[state]} ({i})",
            "territory": f"Government of {US_STATES[state]} ({i})",
        }[kind]
        orgs.append(
            {
                "id": i,
                "legal_name": name,
                "government_type": kind,
                "state_code": state,
                "population": rng.randint(20_000, 4_000_000),
                "street": f"{rng.randint(1, 999)} Civic Center Plaza",
                "city": "Springfield",
                "zip_code": f"{rng.randint(10000, 99999)}",
                "official_name": "Alex Official",
                "official_title": "Mayor",
                "created_at": closed - timedelta(days=200),
            }
        )
        users.append(
            {
                "id": first_applicant + i - 1,
                "email": f"grants{i}@jurisdiction{i}.example.gov",
                "name": f"Grants manager {i}",
                "role": "applicant",
                "password_hash": "",
                "organization_id": i,
            }
        )
        reviewed = i <= sizes.applications
        applications.append(
            {
                "id": i,
                "round_id": round_id,
                "organization_id": i,
                "created_by_id": first_applicant + i - 1,
                "reference": f"L2G-2026-{i:05d}",
                "state": "scored" if reviewed else "submitted",  # in_review set below
                "title": rng.choice(TITLES),
                "summary": PARAGRAPH,
                "partner_countries": rng.sample(COUNTRIES, rng.randint(1, 3)),
                "start_date": date(now.year + 1, 1, 1),
                "period_months": 18,
                "need": narrative,
                "approach": narrative,
                "alignment": PARAGRAPH,
                "sustainability": PARAGRAPH,
                "requested_amount": Decimal(rng.randrange(50_000, 250_001, 5_000)),
                "cost_share_amount": Decimal(rng.randrange(0, 50_001, 1_000)),
                "created_at": closed - timedelta(days=60),
                "updated_at": closed - timedelta(days=2),
                "submitted_at": closed - timedelta(days=2, minutes=i % 1440),
            }
        )
        area_rows += [
            {"application_id": i, "area": a} for a in rng.sample(areas, rng.choice((1, 2, 2, 3)))
        ]
        for position in range(rng.randint(1, 2)):
            partners.append(
                {
                    "application_id": i,
                    "position": position,
                    "name": f"Sister Cities Association of Springfield {i}-{position}",
                    "kind": rng.choice(list(PARTNER_TYPES)),
                    "role": "Co-organizes the exchanges.",
                }
            )

    # Reviews: per_application distinct reviewers drawn at random for each reviewed application,
    # never one whose home state is a state-level applicant's own.
    quality = [rng.uniform(1.5, 7.5) for _ in range(total + 1)]
    harshness = {rid: rng.gauss(0, 0.8) for rid in reviewer_ids}
    open_count = round(sizes.applications * sizes.open_share)
    open_ids = set(rng.sample(range(1, sizes.applications + 1), open_count))
    reviews = []
    loads = dict.fromkeys(reviewer_ids, 0)

    def score(value: float) -> int:
        return min(9, max(1, round(value)))

    def eligible(rid: int, org: dict[str, Any]) -> bool:
        return not (org["government_type"] in STATE_LEVEL and home[rid] == org["state_code"])

    for i in range(1, sizes.applications + 1):
        org = orgs[i - 1]
        wanted = sizes.per_application + (1 if i in open_ids else 0)
        panel: list[int] = []
        while len(panel) < wanted:
            rid = rng.choice(reviewer_ids)
            if rid not in panel and eligible(rid, org):
                panel.append(rid)
        assigned = closed + timedelta(days=5)
        for k, rid in enumerate(panel):
            loads[rid] += 1
            submitted = k < sizes.per_application
            mean = quality[i] + harshness[rid]
            entries: dict[str, Any] = {
                str(cid): {"score": score(mean + rng.gauss(0, 0.9))} for cid in scored_ids
            }
            for cid in sufficiency_ids:
                entries[str(cid)] = {
                    "sufficient": rng.random() < 0.85,
                    "explanation": "Budget and staffing are consistent with the work plan.",
                }
            state = "submitted" if submitted else rng.choice(("assigned", "in_progress"))
            reviews.append(
                {
                    "application_id": i,
                    "reviewer_id": rid,
                    "state": state,
                    "assigned_at": assigned,
                    "due_at": now + timedelta(days=rng.randint(-3, 14)),
                    "submitted_at": (
                        assigned + timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 1439))
                        if submitted
                        else None
                    ),
                    "no_conflict_declared_at": assigned if state != "assigned" else None,
                    "confidentiality_accepted_at": assigned if state != "assigned" else None,
                    "criterion_scores": entries if state != "assigned" else {},
                    "overall_score": score(mean + rng.gauss(0, 0.7)) if submitted else None,
                    "confidence": rng.randint(1, 3) if submitted else None,
                    "strengths": STRENGTHS * 2 if submitted else "",
                    "weaknesses": WEAKNESSES * 2 if submitted else "",
                    "staff_comments": "",
                }
            )
        if i in open_ids:
            applications[i - 1]["state"] = "in_review"

    # One declared conflict per reviewer, with a jurisdiction it does not review.
    reviewed_by: dict[int, set[int]] = {}
    for r in reviews:
        reviewed_by.setdefault(r["reviewer_id"], set()).add(r["application_id"])
    conflicts = []
    for rid in reviewer_ids:
        org_id = rng.randint(1, total)
        while org_id in reviewed_by.get(rid, set()):
            org_id = rng.randint(1, total)
        conflicts.append(
            {
                "reviewer_id": rid,
                "organization_id": org_id,
                "application_id": None,
                "kind": "personal",
                "source": "declared",
                "note": "A relative works for this jurisdiction.",
                "created_by_id": rid,
                "created_at": closed,
            }
        )

    for model, rows in (
        (Organization, orgs),
        (User, users),
        (ReviewerProfile, profiles),
        (Application, applications),
        (ApplicationPriorityArea, area_rows),
        (Partner, partners),
        (Review, reviews),
        (Conflict, conflicts),
    ):
        bulk_insert(model, rows)
    if session.get_bind().dialect.name == "postgresql":
        reset_sequences()
    # The stored scores and ranking, which the review transitions write as they go: loaded
    # without the engine, the round gets them at once.
    scoring_started = time.perf_counter()
    rnd = session.get(Round, round_id)
    assert rnd is not None
    scores.rebuild_round(rnd)
    scores_seconds = time.perf_counter() - scoring_started
    session.commit()

    busiest = max(reviewer_ids, key=lambda rid: (loads[rid], -rid))
    counts = {
        "applications": total,
        "reviewed_applications": sizes.applications,
        "in_review": len(open_ids),
        "unscreened": unscreened,
        "organizations": len(orgs),
        "users": len(users),
        "reviewers": sizes.reviewers,
        "reviews": len(reviews),
        "submitted_reviews": sum(1 for r in reviews if r["state"] == "submitted"),
        "busiest_queue": loads[busiest],
        "conflicts": len(conflicts),
    }
    return Generated(
        round_id=round_id,
        officer_email=OFFICER_EMAIL,
        reviewer_emails=[u["email"] for u in users if u["role"] == "reviewer"],
        busiest_reviewer_email=users[busiest - 1]["email"],
        counts=counts,
        seconds=time.perf_counter() - started,
        scores_seconds=scores_seconds,
    )


if __name__ == "__main__":
    import sys
    import tempfile

    n = int(sys.argv[1]) if len(sys.argv) > 1 else FULL.applications
    with tempfile.TemporaryDirectory(prefix="l2g-bench-data-") as tmp:
        _, made = build(Path(tmp) / "round.sqlite", Sizes(applications=n))
        print(f"{made.counts} in {made.seconds:.1f} s")
