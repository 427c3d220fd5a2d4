"""The busiest pages run a fixed number of SQL statements, however many rows they show: each page is
measured with 3 applications (and rounds, people, sections' rows) and again with 30."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app.clock import utcnow
from app.domain import INDICATORS, PARTNER_TYPES
from app.extensions import db
from app.jobs import commit
from app.models.round import Round
from app.models.user import Invitation, Organization, User
from app.services import applications as svc
from app.services.accounts import create_user
from tests.factories import PASSWORD, Factory, SignIn
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
        pdf = b"%PDF-1.7\n" + b"0" * 1000 + b"\n%%EOF\n"
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
