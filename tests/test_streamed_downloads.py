"""Downloads streamed as a server streams them: after the request has committed and its app
context (with its database session) has ended.

Every other test runs inside an app context the fixture keeps pushed, so a streamed body there
still finds the request's session and the rows it loaded; under gunicorn it does not. These
requests go to a second app on the same database, whose contexts end with each request.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from flask import Flask

from app import create_app
from app.extensions import db
from tests.decision_helpers import quiet_commit, scored_round
from tests.factories import PASSWORD, Factory
from tests.program_helpers import (
    Spec,
    accept_report,
    file_report,
    funded_round,
    reports_of,
    values,
)
from workflows import fire


@pytest.fixture
def served(app: Flask) -> Iterator[Flask]:
    shared = ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED", "STORAGE_DIR")
    other = create_app({k: app.config[k] for k in shared})
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_ranking_csv_streams_every_row_after_the_request_ends(
    served: Flask, make: Factory
) -> None:
    officer = make.officer()
    rnd, applications = scored_round(make, officer, [60_000, 70_000, 80_000], scores=[3, 1, 2])
    round_id, references = rnd.id, [a.reference for a in applications]
    browser = served.test_client()
    signed_in = browser.post("/login", data={"email": officer.email, "password": PASSWORD})
    assert signed_in.status_code == 302

    response = browser.get(f"/officer/rounds/{round_id}/ranking.csv")
    assert response.status_code == 200 and response.is_streamed
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["reference"] for r in rows] == [references[1], references[2], references[0]]
    assert [r["rank"] for r in rows] == ["1", "2", "3"]


def test_the_reports_csv_and_the_public_csv_stream_every_row_after_the_request_ends(
    served: Flask, make: Factory
) -> None:
    """The dashboard's impact-report CSV and the catalog's awards CSV, as gunicorn streams them:
    every funded project's row arrives, none cut off by a row read after the session closed."""
    officer = make.officer()
    funded = funded_round(
        make,
        officer,
        [Spec(title="Streamed climate exchange"), Spec(title="Streamed trade mission")],
    )
    report = reports_of(funded.awards[0])[0]
    file_report(report, funded.grantees[0], values(jobs=7))
    accept_report(report, officer)
    for award in funded.awards:
        fire(award, "activate", officer)
    quiet_commit()
    officer_email = officer.email

    browser = served.test_client()
    assert (
        browser.post("/login", data={"email": officer_email, "password": PASSWORD}).status_code
        == 302
    )
    reports = browser.get("/officer/dashboard/reports.csv")
    assert reports.status_code == 200 and reports.is_streamed
    rows = list(csv.DictReader(io.StringIO(reports.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == sum(len(reports_of(a)) for a in funded.awards)

    public = served.test_client().get("/catalog/awards.csv")
    assert public.status_code == 200
    public_rows = csv.DictReader(io.StringIO(public.get_data(as_text=True)))
    titles = {r["project_title"] for r in public_rows}
    assert titles == {"Streamed climate exchange", "Streamed trade mission"}
