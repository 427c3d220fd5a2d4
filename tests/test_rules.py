"""Rules that users rely on and that nothing else pins down: the edges of amounts, of complete
reports, of closing an award, of disagreement, of uploads, and of what a reviewer's page holds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask, template_rendered
from sqlalchemy import select, update

from app import create_app
from app.demo_applications import sample_letter_pdf
from app.extensions import db
from app.jobs import commit, rollback
from app.models.impact_report import ImpactReport
from app.models.user import User
from app.rules import scoring
from app.services import applications as app_svc
from app.services.applications import UploadRejected
from tests.factories import Factory, SignIn
from tests.test_impact_reports import FULL, accepted_award, fill, reports_of
from tests.test_review_lifecycle import assign, start, submit
from workflows import TransitionRefused, fire

# --- amounts -------------------------------------------------------------------------------------


def test_a_request_exactly_equal_to_the_maximum_award_is_accepted(make: Factory) -> None:
    rnd = make.round(officer=make.officer(), max_award=Decimal("250000"))
    user = make.applicant()
    application = make.application(rnd, user, request=Decimal("250000"))
    assert app_svc.section_problems(application)["budget"] == []
    fire(application, "submit", user)
    commit()
    assert application.state == "submitted"


def test_a_request_one_cent_over_the_maximum_award_is_refused(make: Factory) -> None:
    rnd = make.round(officer=make.officer(), max_award=Decimal("250000"))
    user = make.applicant()
    application = make.application(rnd, user, request=Decimal("250000.01"))
    (problem,) = app_svc.section_problems(application)["budget"]
    assert problem.field == "budget-total" and "must lie between" in problem.message
    with pytest.raises(TransitionRefused):
        fire(application, "submit", user)


# --- impact reports and closing an award ---------------------------------------------------------


def test_an_impact_report_with_an_empty_indicator_value_cannot_be_submitted(
    make: Factory, wait_for_jobs: Callable[[], None], login: SignIn
) -> None:
    award, grantee = accepted_award(make, wait_for_jobs)
    report = reports_of(award)[0]
    form = {f"ind_{code}": str(value) for code, value in FULL.items()}
    form.update(
        ind_jobs="",
        version=str(report.version),
        accomplishments="Signed two MOUs.",
        challenges="Travel delays.",
        next_period_plans="Host a delegation.",
        submit="Submit the report",
    )
    response = login(grantee).post(f"/applicant/reports/{report.id}", data=form)
    assert response.status_code == 422
    assert "enter the actual value of every indicator" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ImpactReport, report.id).state != "submitted"
    # The same rule holds for a draft saved with the value left out, fired directly.
    fill(report, jobs=None)
    with pytest.raises(TransitionRefused, match="every indicator"):
        fire(report, "submit", grantee)


@pytest.mark.parametrize("last_report", ["submitted", "open"])
def test_an_award_does_not_close_while_one_report_is_not_accepted(
    make: Factory, wait_for_jobs: Callable[[], None], last_report: str
) -> None:
    award, grantee = accepted_award(make, wait_for_jobs)
    officer = db.session.scalar(select(User).where(User.role == "officer"))
    fire(award, "activate", officer)
    commit()
    reports = reports_of(award)
    *others, last = reports
    db.session.execute(
        update(ImpactReport)
        .where(ImpactReport.id.in_([r.id for r in others]))
        .values(state="accepted")
    )
    commit()
    if last_report == "submitted":
        fill(last)
        fire(last, "submit", grantee)
        commit()
        assert last.state == "submitted"
    with pytest.raises(TransitionRefused, match="1 impact report"):
        fire(award, "close", officer)
    rollback()
    assert award.state == "active"


# --- disagreement --------------------------------------------------------------------------------


def test_spread_alone_flags_a_disagreement() -> None:
    result = scoring.disagreement([1, 1, 1, 1, 4])
    assert result.spread == 3
    assert result.stdev < scoring.STDEV_FLAG  # the standard deviation alone would not flag it
    assert result.flag
    assert not scoring.disagreement([1, 1, 1, 1, 3]).flag


# --- security defaults ---------------------------------------------------------------------------


def test_csrf_is_on_by_default_in_the_apps_own_configuration(app: Flask, make: Factory) -> None:
    user = make.applicant()
    own = create_app(
        {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "STORAGE_DIR", "SECRET_KEY")}
    )
    assert own.config["WTF_CSRF_ENABLED"] is True
    response = own.test_client().post(
        "/login", data={"email": user.email, "password": make.password}
    )
    assert response.status_code == 400  # no token: refused before the password is looked at


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"%PDF-1.7\n" + b"0" * 4000, "a header without the %%EOF trailer"),
        (b"0" * 4000 + b"\n%%EOF\n", "the %%EOF trailer without a header"),
    ],
)
def test_a_half_pdf_is_refused_as_a_letter(make: Factory, content: bytes, what: str) -> None:
    rnd = make.round(officer=make.officer())
    user = make.applicant()
    application = make.application(rnd, user, complete=False)
    with pytest.raises(UploadRejected, match="not a PDF"):
        app_svc.add_letter(application, "support.pdf", content, user, application.version)
    rollback()
    assert app_svc.add_letter(
        application, "support.pdf", sample_letter_pdf(), user, application.version
    )


# --- what a reviewer's page is given -------------------------------------------------------------


@contextmanager
def rendered_contexts(app: Flask) -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    def record(sender: Flask, template: Any, context: dict[str, Any], **extra: Any) -> None:
        seen.append(context)

    template_rendered.connect(record, app)
    try:
        yield seen
    finally:
        template_rendered.disconnect(record, app)


def flattened(value: Any, depth: int = 0) -> Iterator[Any]:
    """Every value reachable through the dataclasses, lists and dicts a page's data is made of."""
    yield value
    if depth > 6:
        return
    if is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            yield from flattened(getattr(value, f.name), depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from flattened(item, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from flattened(item, depth + 1)


def page_data(context: dict[str, Any]) -> list[Any]:
    """What the page was given to show, beyond the review row itself and the form."""
    return [v for k, v in context.items() if is_dataclass(v) or isinstance(v, list)]


def test_a_blind_rounds_review_page_is_given_no_letters_and_no_identity(
    app: Flask, make: Factory, login: SignIn
) -> None:
    setup = assign(make, reviewers=1, blind_review=True)
    start(setup.review)
    org = setup.application.organization
    identity = {org.legal_name, org.official_name, setup.applicant.email, setup.applicant.name}
    client = login(setup.reviewers[0])
    with rendered_contexts(app) as contexts:
        assert client.get(f"/review/{setup.review.id}").status_code == 200
    (context,) = [c for c in contexts if "review" in c]
    values = [v for d in page_data(context) for v in flattened(d)]
    views = [v for v in values if type(v).__name__ == "ApplicationView"]
    assert views and all(v.letters == [] and v.applicant is None for v in views)
    texts = [v for v in values if isinstance(v, str)]
    assert not [t for t in texts for name in identity if name and name.lower() in t.lower()]
    assert not [v for v in values if type(v).__name__ == "SupportLetter"]


def test_an_unsubmitted_review_page_is_given_no_other_reviews(
    app: Flask, make: Factory, login: SignIn
) -> None:
    setup = assign(make, reviewers=2)
    mine, theirs = setup.reviews
    submit(theirs, strengths="Another reviewer's strengths.")
    start(mine)
    client = login(setup.reviewers[0])
    with rendered_contexts(app) as contexts:
        html = client.get(f"/review/{mine.id}").get_data(as_text=True)
    (context,) = [c for c in contexts if "review" in c]
    values = [v for d in page_data(context) for v in flattened(d)]
    assert not [v for v in values if type(v).__name__ == "PeerReview"]
    assert not [v for v in values if isinstance(v, str) and "Another reviewer's" in v]
    assert "Another reviewer&#39;s strengths." not in html
    # Once mine is submitted, theirs is there.
    submit(mine)
    with rendered_contexts(app) as contexts:
        client.get(f"/review/{mine.id}")
    (context,) = [c for c in contexts if "review" in c]
    values = [v for d in page_data(context) for v in flattened(d)]
    assert [v for v in values if type(v).__name__ == "PeerReview"]
