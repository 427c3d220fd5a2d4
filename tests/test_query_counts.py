"""Every page runs a fixed number of SQL statements, however many rows the program holds.

The applicants' pages and the officer's first pages are measured with 3 applications (and
rounds, people, sections' rows) and again with 30, built through the services; the officer's and
the reviewers' pages of a review round with 30 applications and again with 300 (a busiest
reviewer's queue of 9 and then 90 reviews, awards and impact reports), generated with bench.data's
bulk inserts, the round the benchmarks time at 10,000."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select, update

from app.clock import utcnow
from app.domain import INDICATORS, PARTNER_TYPES
from app.extensions import db
from app.jobs import commit
from app.models.application import Application
from app.models.award import Award
from app.models.impact_report import REPORT_KINDS, ImpactReport
from app.models.review import Review
from app.models.round import Round
from app.models.user import Invitation, Organization, User
from app.services import applications as svc
from app.services.accounts import create_user
from bench import data
from tests.factories import PASSWORD, Factory, SignIn, empty_tables
from tests.pdfs import good_pdf
from workflows import fire

SMALL, LARGE = 3, 30
_emails = itertools.count(1)


class World:
    """A program that grows: rounds, jurisdictions and their people, applications in every early
    state, invitations, and one application per size with that many rows in each section."""

    def __init__(self, make: Factory) -> None:
        self.make = make
        # Ids only: each measured request starts from a fresh session, which detaches rows.
        self.officer_id = make.officer().id
        self.admin_id = make.admin().id
        self.applicant_id = make.applicant().id
        self.round_ids: list[int] = []
        self.applications: list[int] = []
        self.invitations = 0
        self.detailed: dict[int, tuple[int, int]] = {}  # size -> (draft id, submitted id)

    @property
    def officer(self) -> User:
        return db.session.get(User, self.officer_id)

    @property
    def admin(self) -> User:
        return db.session.get(User, self.admin_id)

    @property
    def applicant(self) -> User:
        return db.session.get(User, self.applicant_id)

    @property
    def rounds(self) -> list[Round]:
        return [db.session.get(Round, i) for i in self.round_ids]

    @property
    def main_round(self) -> Round:
        return db.session.get(Round, self.round_ids[0])

    def grow(self, n: int) -> None:
        """Grow to n applications, n // 3 rounds, people and invitations (few commits: each one
        is a disk sync on SQLite)."""
        while len(self.round_ids) < max(1, n // 3):
            self.round_ids.append(self.make.round(officer=self.officer).id)
        now = utcnow()
        for _ in range(n // 3 - self.invitations):
            # Rows as invite() writes them, without its email job (a worker run under Redis).
            k = next(_emails)
            db.session.add(
                Invitation(
                    email=f"invitee{k}@agency.gov",
                    role="reviewer",
                    token_hash=f"{k:064d}",
                    invited_by_id=self.officer_id,
                    created_at=now,
                    expires_at=now + timedelta(days=14),
                )
            )
            self.invitations += 1
        commit()
        start = len(self.applications)
        # A third are the dashboard user's own; the rest come from new jurisdictions.
        owners = iter(self._new_applicants(sum(1 for i in range(start, n) if i % 3)))
        for i in range(start, n):
            user = self.applicant if i % 3 == 0 else next(owners)
            rnd = self.rounds[i % len(self.round_ids)] if i % 2 else self.main_round
            state = ("draft-empty", "draft", "submitted", "draft", "draft", "eligible")[i % 6]
            application = self.make.application(
                rnd,
                user,
                complete=state != "draft-empty",
                submit=state in ("submitted", "eligible"),
            )
            if state == "eligible":
                fire(application, "mark_eligible", self.officer)
                commit()
            self.applications.append(application.id)
        self.detailed[n] = (self._detailed(n, submit=False), self._detailed(n, submit=True))

    def _new_applicants(self, count: int) -> list[User]:
        users = []
        for _ in range(count):
            k = next(_emails)
            organization = Organization(
                legal_name=f"Town of Rowsville {k}",
                government_type="city",
                state_code="VT",
                population=1000 + k,
            )
            db.session.add(organization)
            users.append(
                create_user(f"clerk{k}@rowsville.gov", PASSWORD, "applicant", "", organization)
            )
        commit()
        return users

    def _detailed(self, n: int, submit: bool) -> int:
        """One of the dashboard user's applications with n rows in every repeating section."""
        application = self.make.application(self.main_round, self.applicant)
        kinds = list(PARTNER_TYPES)
        svc.replace_partners(
            application,
            [
                {"name": f"Partner {i}", "kind": kinds[i % len(kinds)], "role": "Role"}
                for i in range(n)
            ],
            application.version,
        )
        start = application.start_date
        svc.replace_milestones(
            application,
            [{"due_on": start + timedelta(days=i), "description": f"Step {i}"} for i in range(n)],
            application.version,
        )
        svc.replace_targets(
            application,
            [
                {"indicator": code, "baseline": Decimal(0), "target": Decimal(i + 1)}
                for i, code in enumerate(list(INDICATORS)[:n])
            ],
            application.version,
        )
        pdf = good_pdf()
        for i in range(n - 1):
            svc.add_letter(application, f"letter-{i}.pdf", pdf, self.applicant, application.version)
        commit()
        if submit:
            fire(application, "submit", self.applicant)
            commit()
            fire(application, "mark_eligible", self.officer, comment="Fine.")
            commit()
        return application.id


def measure(
    count_queries: Callable[[], Any], client: FlaskClient, url: str
) -> tuple[int, list[str]]:
    """The statements one request for `url` runs, from a fresh database session as in
    production (nothing already loaded by an earlier request)."""
    db.session.remove()
    with count_queries() as q:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return q.count, q.statements


def pages(world: World, size: int) -> dict[str, tuple[str, str]]:
    draft, submitted = world.detailed[size]
    return {
        "applicant dashboard": ("applicant", "/applicant/"),
        "applicant overview (draft)": ("applicant", f"/applicant/applications/{draft}"),
        "applicant overview (submitted)": ("applicant", f"/applicant/applications/{submitted}"),
        "officer applications": ("officer", "/officer/applications"),
        "officer rounds": ("officer", "/officer/rounds"),
        "officer round detail": ("officer", f"/officer/rounds/{world.main_round.id}"),
        "officer application detail": ("officer", f"/officer/applications/{submitted}"),
        "admin people (officer)": ("officer", "/admin/people"),
        "admin people (admin)": ("admin", "/admin/people"),
    }


def test_page_query_counts_do_not_grow_with_rows(
    app: Flask, make: Factory, count_queries: Callable[[], Any], login: SignIn
) -> None:
    world = World(make)
    clients = {
        "applicant": login(world.applicant),
        "officer": login(world.officer),
        "admin": login(world.admin),
    }
    counts: dict[int, dict[str, tuple[int, list[str]]]] = {}
    for size in (SMALL, LARGE):
        world.grow(size)
        counts[size] = {}
        for name, (who, url) in pages(world, size).items():
            counts[size][name] = measure(count_queries, clients[who], url)
    grew = {
        name: (counts[SMALL][name][0], counts[LARGE][name][0])
        for name in counts[SMALL]
        if counts[SMALL][name][0] != counts[LARGE][name][0]
    }
    details = "\n\n".join(
        f"{name}: {small} → {large} statements; with {LARGE} rows:\n"
        + "\n".join(s.split("\n")[0][:160] for s in counts[LARGE][name][1])
        for name, (small, large) in grew.items()
    )
    assert not grew, details
    # The rows really are there: the large pages list them.
    html = clients["officer"].get("/officer/applications").get_data(as_text=True)
    assert f"{len(world.applications) + 2 * 2} applications" in html


# ---------------------------------------------------------------------------------------------
# The review round at two sizes: the officer's and the reviewers' pages over a generated round
# (bench.data, bulk inserts) of 30 and then 300 applications, with awards and impact reports.

ROUND_SIZES = (30, 300)
REVIEWERS = 10  # fixed, so the busiest reviewer's queue grows with the round (9 -> 90 reviews)


def _empty_database() -> None:
    db.session.remove()
    empty_tables()


def _fund(made: data.Generated) -> None:
    """Every tenth scored application awarded, half of those awards accepted and running with
    two impact reports each: rows as the award and acceptance transitions leave them."""
    now = utcnow().replace(microsecond=0)
    scored = db.session.execute(
        select(Application.id, Application.organization_id, Application.created_by_id)
        .where(Application.state == "scored")
        .order_by(Application.id)
    ).all()[::10]
    awards, reports = [], []
    for n, (application_id, organization_id, applicant_id) in enumerate(scored, start=1):
        running = n % 2 == 0
        awards.append(
            {
                "id": n,
                "application_id": application_id,
                "round_id": made.round_id,
                "organization_id": organization_id,
                "number": f"L2G-A-{n:05d}",
                "amount": Decimal("100000"),
                "state": "active" if running else "offered",
                "start_date": now.date(),
                "end_date": now.date() + timedelta(days=540),
                "offered_at": now - timedelta(days=30),
                "offered_by_id": 1,
                "acceptance_deadline": now + timedelta(days=30),
                "responded_at": now - timedelta(days=20) if running else None,
                "accepted_by_id": applicant_id if running else None,
                "accepted_name": "Alex Official" if running else None,
                "accepted_title": "Mayor" if running else None,
            }
        )
        for k, kind in enumerate(("interim", "final") if running else ()):
            start = now.date() + timedelta(days=270 * k)
            reports.append(
                {
                    "award_id": n,
                    "organization_id": organization_id,
                    "kind": kind,
                    "title": f"{REPORT_KINDS[kind]} {k + 1}",
                    "period_start": start,
                    "period_end": start + timedelta(days=269),
                    "due_on": start + timedelta(days=300),
                }
            )
    db.session.execute(
        update(Application)
        .where(Application.id.in_([a["application_id"] for a in awards]))
        .values(state="awarded", decided_at=now)
    )
    db.session.execute(insert(Award), awards)
    db.session.execute(insert(ImpactReport), reports)
    if db.engine.dialect.name == "postgresql":
        data.reset_sequences()
    db.session.commit()


def _round_pages(made: data.Generated) -> dict[str, tuple[str, str]]:
    def first(*where: Any) -> int:
        return db.session.scalar(select(func.min(Application.id)).where(*where))

    busiest = db.session.scalar(select(User.id).where(User.email == made.busiest_reviewer_email))
    reviews = dict(
        db.session.execute(
            select(Review.state, func.min(Review.id))
            .where(Review.reviewer_id == busiest)
            .group_by(Review.state)
        ).all()
    )
    award = db.session.scalar(select(func.min(Award.id)).where(Award.state == "active"))
    rnd = made.round_id
    return {
        "applications list": ("officer", "/officer/applications"),
        "applications list, one round": ("officer", f"/officer/applications?round={rnd}"),
        "application (scored)": (
            "officer",
            f"/officer/applications/{first(Application.state == 'scored')}",
        ),
        "application (in review)": (
            "officer",
            f"/officer/applications/{first(Application.state == 'in_review')}",
        ),
        "ranking": ("officer", f"/officer/rounds/{rnd}/ranking"),
        "rounds": ("officer", "/officer/rounds"),
        "round": ("officer", f"/officer/rounds/{rnd}"),
        "program dashboard": ("officer", "/officer/dashboard"),
        "awards list": ("officer", "/officer/awards"),
        "award": ("officer", f"/officer/awards/{award}"),
        "impact reports list": ("officer", "/officer/reports"),
        "reviewer queue": ("reviewer", "/review/"),
        "review (submitted)": ("reviewer", f"/review/{reviews['submitted']}"),
    }


def test_review_round_pages_run_as_many_statements_at_ten_times_the_size(
    app: Flask, count_queries: Callable[[], Any]
) -> None:
    counts: dict[int, dict[str, tuple[int, list[str]]]] = {}
    for size in ROUND_SIZES:
        _empty_database()
        made = data.generate(data.Sizes(applications=size, reviewers=REVIEWERS))
        _fund(made)
        clients = {}
        for who, email in (
            ("officer", made.officer_email),
            ("reviewer", made.busiest_reviewer_email),
        ):
            clients[who] = app.test_client()
            response = clients[who].post("/login", data={"email": email, "password": data.PASSWORD})
            assert response.status_code == 302, who
        pages = _round_pages(made)
        counts[size] = {
            name: measure(count_queries, clients[who], url) for name, (who, url) in pages.items()
        }
        # A blind round: the reviewer's pages redact the applicants' names and places.
        db.session.execute(update(Round).values(blind_review=True))
        db.session.commit()
        for name in ("reviewer queue", "review (submitted)"):
            who, url = pages[name]
            counts[size][f"{name}, blind round"] = measure(count_queries, clients[who], url)
        assert made.counts["busiest_queue"] >= 3 * size // REVIEWERS
    small, large = ROUND_SIZES
    grew = {
        name: (counts[small][name][0], counts[large][name][0])
        for name in counts[small]
        if counts[small][name][0] != counts[large][name][0]
    }
    details = "\n\n".join(
        f"{name}: {a} → {b} statements; with {large} applications:\n"
        + "\n".join(s.split("\n")[0][:160] for s in counts[large][name][1])
        for name, (a, b) in grew.items()
    )
    assert not grew, details
