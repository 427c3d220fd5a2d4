"""Uploaded letters of support and report attachments are checked for what they are: a readable,
unencrypted PDF without scripts, programs to launch, files inside it or links that open files,
within the page and size limits. Refused files leave a message by the field and nothing stored;
accepted ones are served as PDF downloads the browser does not sniff, to every role that may."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.http import parse_options_header

from app.clock import utcnow
from app.extensions import db
from app.jobs import commit
from app.models.application import Application
from app.models.impact_report import ReportAttachment
from app.services.pdf_uploads import UploadRejected, check_pdf, pdf_name
from app.services.reviews import declare
from tests import pdfs
from tests.factories import Factory, SignIn
from tests.test_application_forms import (  # noqa: F401 (fixtures)
    _upload,
    assert_error_at,
    draft,
    post_multipart,
    signed_in,
    snapshot,
    stored_files,
)
from tests.test_impact_reports import accepted_award, reports_of
from tests.test_review_lifecycle import assign
from workflows import fire

MB = 1024 * 1024

# Each bad file, and the words that say what is wrong with it (no two alike).
BAD_FILES = [
    pytest.param(pdfs.renamed_executable, "the file is a program, not a PDF", id="exe"),
    pytest.param(pdfs.with_javascript, "the file contains JavaScript", id="javascript"),
    pytest.param(pdfs.with_launch, "the file contains a Launch action", id="launch"),
    pytest.param(
        lambda: pdfs.with_launch(automatic=True), "contains a Launch action", id="open-launch"
    ),
    pytest.param(pdfs.with_embedded_file, "the file contains an embedded file", id="embedded"),
    pytest.param(
        lambda: pdfs.with_uri("file:///C:/Windows/System32/calc.exe"),
        "a link that opens something other than a web page",
        id="file-link",
    ),
    pytest.param(
        lambda: pdfs.with_uri("https://example.com/", automatic=True),
        "opens a web address by itself",
        id="open-uri",
    ),
    pytest.param(pdfs.encrypted, "the file is encrypted or password-protected", id="encrypted"),
    pytest.param(pdfs.html_mentioning_pdf, "it does not begin as a PDF does", id="html"),
    pytest.param(
        lambda: b"%PDF-1.7\n" + b"0" * 4000 + b"\n%%EOF\n", "damaged or incomplete", id="damaged"
    ),
    pytest.param(lambda: b"", "the file is empty", id="empty"),
    pytest.param(lambda: pdfs.good_pdf(pages=4), "the file has 4 pages; at most 3", id="pages"),
    pytest.param(lambda: pdfs.pdf_of_size(MB + 1), "the file is larger than 1 MB", id="size"),
]


@pytest.fixture
def limits(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", MB)
    monkeypatch.setitem(app.config, "MAX_UPLOAD_PAGES", 3)


def assert_served_as_pdf_attachment(response: Any, data: bytes, name: str) -> None:
    assert response.status_code == 200
    assert response.get_data() == data
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert disposition == "attachment" and options["filename"] == name


# --- the check itself --------------------------------------------------------------------------


@pytest.mark.parametrize(("build", "message"), BAD_FILES)
def test_each_bad_file_is_refused_with_its_own_reason(
    build: Callable[[], bytes], message: str
) -> None:
    with pytest.raises(UploadRejected) as refused:
        check_pdf(build(), MB, 3)
    assert message in str(refused.value)
    others = [p.values[1] for p in BAD_FILES if p.values[1] != message]
    assert not any(other in str(refused.value) for other in others if "Launch" not in other)


def test_good_pdfs_pass_with_web_and_email_links_and_at_the_limits() -> None:
    from app.demo_applications import sample_letter_pdf

    assert check_pdf(sample_letter_pdf(), MB, 3) == 1  # the demo's letters stay valid
    assert check_pdf(pdfs.good_pdf(pages=3), MB, 3) == 3
    assert check_pdf(pdfs.pdf_of_size(MB), MB, 3) == 1
    assert check_pdf(pdfs.with_uri("https://www.example.gov/about"), MB, 3) == 1
    assert check_pdf(pdfs.with_uri("mailto:mayor@example.gov"), MB, 3) == 1


def test_a_stored_name_is_always_a_plain_pdf_name() -> None:
    assert pdf_name("budget-support.exe") == "budget-support.pdf"
    assert pdf_name("../../etc/passwd") == "passwd.pdf"
    assert pdf_name("C:\\Users\\me\\Letter from the Port.pdf") == "Letter from the Port.pdf"
    assert pdf_name("<script>.html", "letter.pdf") == "_script_.pdf"
    assert pdf_name("", "letter.pdf") == "letter.pdf"
    assert pdf_name(" ... ", "letter.pdf") == "letter.pdf"


# --- letters of support ------------------------------------------------------------------------


@pytest.mark.parametrize(("build", "message"), BAD_FILES)
def test_the_letter_form_refuses_each_bad_file_by_the_field_and_stores_nothing(
    app: Flask,
    limits: None,
    signed_in: tuple[FlaskClient, int],  # noqa: F811
    build: Callable[[], bytes],
    message: str,
) -> None:
    client, application_id = signed_in
    before, files_before = snapshot(application_id), stored_files(app)
    response = _upload(client, application_id, ("support.pdf", build()))
    assert response.status_code == 422
    assert_error_at(response.get_data(as_text=True), "letter", message)
    assert snapshot(application_id) == before
    assert stored_files(app) == files_before


def test_a_good_letter_is_stored_as_pdf_and_served_so_to_applicant_officer_and_reviewer(
    app: Flask, make: Factory, login: SignIn
) -> None:
    officer, user = make.officer(), make.applicant()
    application = make.application(make.round(officer=officer), user)
    data = pdfs.good_pdf(pages=2)
    applicant = login(user)
    response = _upload(applicant, application.id, ("budget-support.exe", data))
    assert response.status_code == 302
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    letter = next(x for x in application.letters if x.filename == "budget-support.pdf")
    assert letter.storage_key.endswith(".pdf")
    path = f"applications/{application.id}/letters/{letter.id}"
    response = applicant.get(f"/applicant/{path}")
    assert_served_as_pdf_attachment(response, data, "budget-support.pdf")

    fire(application, "submit", user)
    fire(application, "mark_eligible", officer)
    commit()
    setup = assign(make, rnd=application.round, officer=officer, application=application)
    response = login(officer).get(f"/officer/{path}")
    assert_served_as_pdf_attachment(response, data, "budget-support.pdf")
    review = setup.review
    declare(review, no_conflict=True, confidentiality=True, now=utcnow())
    fire(review, "start", review.reviewer)
    commit()
    response = login(setup.reviewers[0]).get(f"/review/{path}")
    assert_served_as_pdf_attachment(response, data, "budget-support.pdf")


# --- impact-report attachments -----------------------------------------------------------------


def _attach(client: FlaskClient, report_id: int, name: str, data: bytes) -> Any:
    values = {"attachment": FileStorage(io.BytesIO(data), filename=name)}
    return post_multipart(client, f"/applicant/reports/{report_id}/attachments", values)


def _attachments() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(ReportAttachment)) or 0


@pytest.fixture
def report_filer(
    make: Factory, wait_for_jobs: Callable[[], None], login: SignIn
) -> tuple[Any, FlaskClient]:
    award, grantee = accepted_award(make, wait_for_jobs)
    return reports_of(award)[0], login(grantee)


@pytest.mark.parametrize(("build", "message"), BAD_FILES)
def test_the_attachment_form_refuses_each_bad_file_by_the_field_and_stores_nothing(
    app: Flask,
    limits: None,
    report_filer: tuple[Any, FlaskClient],
    build: Callable[[], bytes],
    message: str,
) -> None:
    report, client = report_filer
    count, files_before = _attachments(), stored_files(app)
    response = _attach(client, report.id, "report.pdf", build())
    assert response.status_code == 422
    assert_error_at(response.get_data(as_text=True), "attachment", message)
    assert _attachments() == count
    assert stored_files(app) == files_before


def test_a_good_attachment_is_stored_as_pdf_and_served_so_to_grantee_and_officer(
    app: Flask, make: Factory, login: SignIn, report_filer: tuple[Any, FlaskClient]
) -> None:
    report, client = report_filer
    data = pdfs.with_uri("https://www.example.gov/results")
    response = _attach(client, report.id, "photos.html", data)
    assert response.status_code == 302
    db.session.expire_all()
    attachment = db.session.scalar(
        select(ReportAttachment).where(ReportAttachment.report_id == report.id)
    )
    assert attachment.filename == "photos.pdf" and attachment.storage_key.endswith(".pdf")
    path = f"/reports/{report.id}/attachments/{attachment.id}"
    assert_served_as_pdf_attachment(client.get(path), data, "photos.pdf")
    assert_served_as_pdf_attachment(login(make.officer()).get(path), data, "photos.pdf")
