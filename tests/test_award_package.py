"""The award package and the officer's award pages: the ZIP's manifest, CSVs and summaries,
byte-for-byte reproducibility, a failed build shown and retried, the letters (their text, and
new versions after a change), and who may open any of it."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select

from app.extensions import db
from app.jobs import commit, dispatch, report_progress, run_outbox_job
from app.models.award import Award, AwardLetter, AwardPackage
from app.models.outbox import OutboxJob
from app.models.round import Round
from app.models.user import User
from app.services.awards import schedule_for
from app.services.packages import request_package
from reports.letters import amount_in_words, extract_text
from reports.package import AWARDS_CSV_COLUMNS
from tests.decision_helpers import (
    award,
    jobs_settled,  # noqa: F401  (autouse)
    scored_round,
)
from tests.factories import Factory, SignIn
from workflows import fire

K = Decimal(1000)
AMOUNTS = [Decimal("125000"), Decimal("80000"), Decimal("60000.50")]


@pytest.fixture
def officer(make: Factory) -> User:
    return make.officer()


def funded_round(
    make: Factory, officer: User, wait_for_jobs: Callable[..., None]
) -> tuple[Round, list[Award]]:
    """Three awards (one at less than its request), their letters rendered by their jobs."""
    rnd, apps = scored_round(
        make, officer, [125 * K, 90 * K, Decimal("60000.50"), 100 * K], scores=[1, 2, 3, 8]
    )
    awards = [
        award(apps[0], officer, comment=None),
        award(apps[1], officer, 80 * K, comment="Travel trimmed."),
        award(apps[2], officer, comment=None),
    ]
    fire(apps[3], "decline", officer)
    commit()
    wait_for_jobs(timeout=300)
    return rnd, awards


def stored_path(app: Flask, key: str) -> Path:
    return Path(app.config["STORAGE_DIR"]) / key


def package_of(client: FlaskClient, rnd: Round, wait_for_jobs: Callable[..., None]) -> AwardPackage:
    response = client.post(f"/officer/rounds/{rnd.id}/package")
    assert response.status_code == 302
    package_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    wait_for_jobs(timeout=300)
    db.session.expire_all()
    package = db.session.get(AwardPackage, package_id)
    assert package is not None
    return package


def job_of(package: AwardPackage) -> OutboxJob:
    db.session.expire_all()
    job = db.session.get(OutboxJob, package.job_id)
    assert job is not None
    return job


def zip_of(app: Flask, package: AwardPackage) -> bytes:
    db.session.refresh(package)
    assert package.storage_key, job_of(package).error
    return stored_path(app, package.storage_key).read_bytes()


# --- the ZIP ------------------------------------------------------------------------------------


def test_manifest_checksums_match_the_files_and_awards_csv_has_one_row_per_award(
    app: Flask, make: Factory, officer: User, wait_for_jobs: Callable[..., None], login: SignIn
) -> None:
    rnd, awards = funded_round(make, officer, wait_for_jobs)
    client = login(officer)
    package = package_of(client, rnd, wait_for_jobs)
    assert job_of(package).status == "done"
    page = client.get(f"/officer/packages/{package.id}").get_data(as_text=True)
    assert "Download the award package (ZIP)" in page and 'value="100"' in page
    download = client.get(f"/officer/packages/{package.id}/download")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    data = download.get_data()
    download.close()
    assert hashlib.sha256(data).hexdigest() == package.sha256
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert names == sorted(names)
    numbers = sorted(a.number for a in awards)
    assert set(names) == {
        "awards.csv",
        "manifest.json",
        "scores.csv",
        *(f"letters/{n}.pdf" for n in numbers),
        *(f"summaries/{n}.pdf" for n in numbers),
    }
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["award_count"] == 3
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(names) - {"manifest.json"}
    for path, entry in listed.items():
        body = archive.read(path)
        assert entry["sha256"] == hashlib.sha256(body).hexdigest(), path
        assert entry["size"] == len(body)
    rows = list(csv.DictReader(io.StringIO(archive.read("awards.csv").decode())))
    assert tuple(rows[0]) == AWARDS_CSV_COLUMNS
    assert [r["award_number"] for r in rows] == numbers
    by_number = {a.number: a for a in awards}
    for row in rows:
        made = by_number[row["award_number"]]
        assert Decimal(row["amount"]) == made.amount
        assert row["state"] == "offered"
        assert row["jurisdiction"] == made.organization.legal_name
        assert row["government_type"] == "City" and row["state_code"] == "OH"
        assert row["priority_areas"] == "Climate and energy; Education, culture and exchanges"
        assert row["application_reference"] == made.application.reference
        assert row["raw_score"] and row["calibrated_score"]
    assert sorted(Decimal(r["amount"]) for r in rows) == sorted([125 * K, 80 * K, AMOUNTS[2]])
    scores = list(csv.DictReader(io.StringIO(archive.read("scores.csv").decode())))
    assert [(s["rank"], s["overall_scores"]) for s in scores] == [
        ("1", "1"),
        ("2", "2"),
        ("3", "3"),
    ]
    # The letters in the ZIP are the stored latest letters; the summaries are tagged PDFs.
    for made in awards:
        letter = made.latest_letter
        assert (
            archive.read(f"letters/{made.number}.pdf")
            == stored_path(app, letter.storage_key).read_bytes()
        )
        summary = PdfReader(io.BytesIO(archive.read(f"summaries/{made.number}.pdf")))
        assert "/StructTreeRoot" in summary.trailer["/Root"]
        assert summary.metadata.title.startswith("Application summary")
        text = extract_text(archive.read(f"summaries/{made.number}.pdf"))
        assert made.application.reference in text and made.number in text


def test_building_again_gives_the_same_bytes(
    app: Flask,
    make: Factory,
    officer: User,
    wait_for_jobs: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    login: SignIn,
) -> None:
    rnd, _ = funded_round(make, officer, wait_for_jobs)
    client = login(officer)
    first = package_of(client, rnd, wait_for_jobs)
    data = zip_of(app, first)
    key = first.storage_key
    # The same job run again (a worker restarted mid-build, say): same bytes, stored once.
    job = job_of(first)
    job.status = "running"
    commit()
    assert run_outbox_job(job.id) == "done"
    db.session.expire_all()
    assert (first.storage_key, zip_of(app, first)) == (key, data)
    # Another package of the same round, and one built in parts (one award a part, several
    # jobs): the same bytes again.
    second = package_of(client, rnd, wait_for_jobs)
    assert zip_of(app, second) == data
    monkeypatch.setitem(app.config, "PACKAGE_PART_SIZE", 1)
    third = package_of(client, rnd, wait_for_jobs)
    parts = db.session.scalars(
        select(OutboxJob).where(
            OutboxJob.name == "prepare_package_part", OutboxJob.entity_id == third.id
        )
    ).all()
    assert len(parts) == 3 and {p.status for p in parts} == {"done"}
    assert zip_of(app, third) == data
    # The parts' intermediate summaries are cleaned up once the package is stored.
    for part in parts:
        for entry in part.payload["prepared"].values():
            assert not stored_path(app, entry["key"]).exists()


def test_missing_letters_are_rendered_for_the_package(
    app: Flask, make: Factory, officer: User, wait_for_jobs: Callable[..., None], login: SignIn
) -> None:
    rnd, awards = funded_round(make, officer, wait_for_jobs)
    for letter in db.session.scalars(select(AwardLetter)):
        db.session.delete(letter)
    commit()
    package = package_of(login(officer), rnd, wait_for_jobs)
    archive = zipfile.ZipFile(io.BytesIO(zip_of(app, package)))
    for made in awards:
        db.session.refresh(made)
        assert made.latest_letter is not None
        assert archive.read(f"letters/{made.number}.pdf")[:5] == b"%PDF-"


def test_a_failed_build_shows_its_error_and_retry_runs_it_again(
    app: Flask, make: Factory, officer: User, wait_for_jobs: Callable[..., None], login: SignIn
) -> None:
    rnd, awards = funded_round(make, officer, wait_for_jobs)
    letter = awards[1].latest_letter
    path = stored_path(app, letter.storage_key)
    original = path.read_bytes()
    path.unlink()
    client = login(officer)
    package = package_of(client, rnd, wait_for_jobs)
    job = job_of(package)
    assert job.status == "failed"
    expected = f"the stored letter of award {awards[1].number} (version 1) cannot be read"
    assert expected in job.error
    page = client.get(f"/officer/packages/{package.id}")
    html = page.get_data(as_text=True)
    assert "The build failed" in html and expected in html
    assert re.search(r"<button[^>]*>Retry</button>", html)
    assert "Download the award package" not in html
    assert "data-l2g-live" not in html
    path.write_bytes(original)
    if job_of(package).status == "failed":  # (under rq its own retry may have begun meanwhile)
        response = client.post(f"/officer/packages/{package.id}/retry", follow_redirects=True)
        assert "The package is being built again." in response.get_data(as_text=True)
    wait_for_jobs(timeout=300)
    assert job_of(package).status == "done"
    assert "Download the award package (ZIP)" in client.get(
        f"/officer/packages/{package.id}"
    ).get_data(as_text=True)
    # A letter altered on disk is caught by its recorded checksum.
    path.write_bytes(original + b"%")
    again = package_of(client, rnd, wait_for_jobs)
    assert "does not match its recorded SHA-256" in job_of(again).error
    path.write_bytes(original)


def test_the_progress_page_refreshes_itself_while_the_build_runs(
    app: Flask, make: Factory, officer: User, wait_for_jobs: Callable[..., None], login: SignIn
) -> None:
    rnd, _ = funded_round(make, officer, wait_for_jobs)
    package = request_package(rnd, officer)
    ids = db.session.info.pop("outbox_ids")
    db.session.commit()  # recorded, not yet handed to a worker
    job = job_of(package)
    client = login(officer)
    html = client.get(f"/officer/packages/{package.id}").get_data(as_text=True)
    # Updated in place every 2 seconds by a script (a timed meta refresh fails WCAG 2.2.1).
    assert 'data-l2g-live="2"' in html and "js/live-progress.js" in html
    assert re.search(r'<label class="usa-label" for="package-progress"[^>]*>Progress of', html)
    assert re.search(r'<progress id="package-progress"[^>]*max="100" value="0"', html)
    report_progress(job, 40, "Assembling: 2 of 3 awards")
    html = client.get(f"/officer/packages/{package.id}").get_data(as_text=True)
    assert 'value="40"' in html and "40%: Assembling: 2 of 3 awards" in html
    assert 'aria-describedby="package-note"' in html and 'id="package-note" role="status"' in html
    assert (
        client.post(f"/officer/packages/{package.id}/retry", follow_redirects=True).status_code
        == 200
    )
    dispatch(ids)
    wait_for_jobs(timeout=300)
    html = client.get(f"/officer/packages/{package.id}").get_data(as_text=True)
    assert "data-l2g-live" not in html and "The package is ready" in html


# --- the letter ---------------------------------------------------------------------------------


def test_the_letter_holds_amount_number_dates_and_schedule(
    app: Flask, make: Factory, officer: User, wait_for_jobs: Callable[..., None]
) -> None:
    from babel.dates import format_date

    _, awards = funded_round(make, officer, wait_for_jobs)
    made = awards[0]
    letter = made.latest_letter
    pdf = stored_path(app, letter.storage_key).read_bytes()
    text = " ".join(extract_text(pdf).split())
    assert "$125,000.00" in text
    assert amount_in_words(made.amount) in text
    assert amount_in_words(made.amount) == "One hundred twenty-five thousand dollars and 00/100"
    assert made.number in text and made.application.reference in text

    def long(d: Any) -> str:
        return format_date(d, format="long", locale="en_US")

    for day in (made.start_date, made.end_date):
        assert long(day) in text
    deadline = made.acceptance_deadline.astimezone(made.round.zone).date()
    assert long(deadline) in text
    schedule = schedule_for(made)
    assert len(schedule) >= 2
    for entry in schedule:
        assert f"{entry.title} {entry.kind.capitalize()}" in text
        assert long(entry.due) in text
    reader = PdfReader(io.BytesIO(pdf))
    assert (
        reader.metadata.title == f"Notice of Award {made.number}: Local-to-Global Engagement Fund"
    )
    assert reader.metadata.author == "Office of City and State Diplomacy"
    assert "/StructTreeRoot" in reader.trailer["/Root"]
    assert hashlib.sha256(pdf).hexdigest() == letter.sha256


def test_regenerating_after_a_change_keeps_every_version(
    app: Flask, make: Factory, officer: User, wait_for_jobs: Callable[..., None], login: SignIn
) -> None:
    _, awards = funded_round(make, officer, wait_for_jobs)
    made = awards[0]
    client = login(officer)
    url = f"/officer/awards/{made.id}"
    # Nothing changed: regenerating keeps the one letter.
    client.post(f"{url}/letter")
    wait_for_jobs(timeout=300)
    db.session.expire_all()
    assert [x.version_no for x in made.letters] == [1]
    # New conditions (edited while offered), then the organization's address.
    response = client.post(
        f"{url}/conditions",
        data={"conditions": "Report quarterly.\n\n  Keep receipts. ", "version": made.version},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert made.conditions == ["Report quarterly.", "Keep receipts."]
    client.post(f"{url}/letter")
    wait_for_jobs(timeout=300)
    made.organization.street = "200 New Street"
    commit()
    client.post(f"{url}/letter")
    wait_for_jobs(timeout=300)
    db.session.expire_all()
    letters = made.letters
    assert [x.version_no for x in letters] == [1, 2, 3]
    assert len({x.data_checksum for x in letters}) == 3
    assert "Keep receipts." in extract_text(stored_path(app, letters[1].storage_key).read_bytes())
    assert "200 New Street" in extract_text(stored_path(app, letters[2].storage_key).read_bytes())
    page = client.get(url).get_data(as_text=True)
    for letter in letters:
        assert letter.data_checksum in page
        assert f"/officer/awards/{made.id}/letters/{letter.id}" in page
    assert page.count("award-letter/1") == 3
    first = client.get(f"/officer/awards/{made.id}/letters/{letters[0].id}")
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert first.get_data() == stored_path(app, letters[0].storage_key).read_bytes()
    first.close()
    # Stale or empty conditions are refused next to the field, the text kept.
    stale = client.post(f"{url}/conditions", data={"conditions": "Other.", "version": 1})
    assert stale.status_code == 409 and "Other." in stale.get_data(as_text=True)
    empty = client.post(f"{url}/conditions", data={"conditions": " \n", "version": made.version})
    assert empty.status_code == 400 and "Give at least one condition." in empty.get_data(
        as_text=True
    )


# --- the officer's award pages ------------------------------------------------------------------


def test_award_detail_fires_the_lifecycle_with_reasons_next_to_the_field(
    app: Flask, make: Factory, officer: User, wait_for_jobs: Callable[..., None], login: SignIn
) -> None:
    rnd, awards = funded_round(make, officer, wait_for_jobs)
    made = awards[0]
    client = login(officer)
    page = client.get(f"/officer/awards/{made.id}").get_data(as_text=True)
    assert "Rescind the offer" in page and "Accept the award" not in page
    for entry in schedule_for(made):
        assert entry.title in page
    blank = client.post(
        f"/officer/awards/{made.id}/transition",
        data={"trigger": "rescind", "comment": "", "version": made.version},
    )
    assert blank.status_code == 409
    assert re.search(
        r'id="comment-rescind-error" role="alert">a comment giving the reason is required<',
        blank.get_data(as_text=True),
    )
    from app.services.decisions import budget_remaining

    before = budget_remaining(rnd)
    done = client.post(
        f"/officer/awards/{made.id}/transition",
        data={"trigger": "rescind", "comment": "Cost share withdrawn.", "version": made.version},
        follow_redirects=True,
    )
    assert "is rescinded" in done.get_data(as_text=True)
    db.session.expire_all()
    assert made.state == "rescinded"
    assert budget_remaining(rnd) == before + made.amount
    assert "Cost share withdrawn." in client.get(f"/officer/awards/{made.id}").get_data(
        as_text=True
    )


def test_award_list_filters_by_round_and_state_in_a_fixed_number_of_queries(
    app: Flask,
    make: Factory,
    officer: User,
    wait_for_jobs: Callable[..., None],
    count_queries: Any,
    login: SignIn,
) -> None:
    rnd, awards = funded_round(make, officer, wait_for_jobs)
    fire(awards[2], "rescind", officer, comment="Duplicate funding.")
    commit()
    client = login(officer)
    db.session.expire_all()
    with count_queries() as q:
        html = client.get(f"/officer/awards?round={rnd.id}").get_data(as_text=True)
    assert all(a.number in html for a in awards)
    html = client.get(f"/officer/awards?round={rnd.id}&state=rescinded").get_data(as_text=True)
    assert awards[2].number in html and awards[0].number not in html
    assert "1 award." in html
    funded_round(make, officer, wait_for_jobs)
    db.session.expire_all()
    with count_queries() as q2:
        html = client.get("/officer/awards").get_data(as_text=True)
    assert "6 awards." in html
    assert q2.count <= q.count + 1  # one page query whatever the rows (+ the rounds filter)


@pytest.mark.parametrize("role", ["grantee", "reviewer", "admin"])
def test_only_officers_open_award_and_package_pages(
    role: str,
    app: Flask,
    make: Factory,
    officer: User,
    wait_for_jobs: Callable[..., None],
    login: SignIn,
) -> None:
    rnd, awards = funded_round(make, officer, wait_for_jobs)
    package = package_of(login(officer), rnd, wait_for_jobs)
    made = awards[0]
    if role == "grantee":  # even the award's own grantee: its pages are the grantee pages
        user = db.session.scalar(select(User).where(User.organization_id == made.organization_id))
    else:
        user = make.user(role)
    client = login(user)
    letter = made.latest_letter
    for url in (
        "/officer/awards",
        f"/officer/awards/{made.id}",
        f"/officer/awards/{made.id}/letters/{letter.id}",
        f"/officer/packages/{package.id}",
        f"/officer/packages/{package.id}/download",
        f"/officer/rounds/{rnd.id}/decisions",
    ):
        assert client.get(url).status_code == 403, url
    for url in (
        f"/officer/rounds/{rnd.id}/package",
        f"/officer/packages/{package.id}/retry",
        f"/officer/awards/{made.id}/letter",
        f"/officer/awards/{made.id}/conditions",
        f"/officer/awards/{made.id}/transition",
    ):
        assert client.post(url, data={"trigger": "rescind", "comment": "x"}).status_code == 403, url
    db.session.expire_all()
    assert made.state == "offered" and len(made.letters) == 1
    assert db.session.scalar(select(func.count(AwardPackage.id))) == 1
