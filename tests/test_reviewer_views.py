"""The reviewer's pages: who may see what, the queue, the declaration, the review form, blind
rounds, and other reviewers' reviews."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from app.demo_applications import sample_letter_pdf
from app.extensions import db
from app.jobs import commit
from app.models.audit import AuditEvent
from app.models.review import Conflict, Review, ReviewerProfile
from app.services import applications as app_svc
from app.services import reviews as svc
from app.services.conflicts import add_conflict
from forms.review import CONFIDENCE_MESSAGE, SCORE_MESSAGE
from tests.factories import Factory, SignIn
from tests.test_review_lifecycle import (
    Assigned,
    assign,
    new_reviewer,
    reload,
    start,
    submit,
)
from workflows import fire


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def form_data(review: Review, **fields: str | None) -> dict[str, str]:
    """A complete review as the browser posts it; a None value leaves the field out."""
    data: dict[str, str | None] = {"version": str(review.version), "save": "Save draft"}
    for c in review.application.round.criteria:
        if c.kind == "scored":
            data[svc.criterion_field(c.id, "score")] = "3"
        else:
            data[svc.criterion_field(c.id, "sufficient")] = "yes"
            data[svc.criterion_field(c.id, "explanation")] = "A capable team."
    data.update(
        overall_score="3",
        confidence="2",
        strengths="Clear plan.",
        weaknesses="Thin evaluation.",
        staff_comments="",
    )
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def submitting(review: Review, **fields: str | None) -> dict[str, str]:
    return form_data(review, save=None, submit_review="Submit review", **fields)


def error_of(html: str, field_id: str) -> str:
    """The error message shown next to a field: the element with id `<field>-error`, which the
    field (its input, or its fieldset for radios) names in aria-describedby."""
    match = re.search(rf'id="{re.escape(field_id)}-error"[^>]*>([^<]*)<', html)
    assert match, f"no error shown next to {field_id}"
    described = re.search(
        rf'<(?:fieldset|input|textarea|select)[^>]*\bid="{re.escape(field_id)}"[^>]*>', html
    ) or re.search(rf'<[^>]*aria-describedby="[^"]*{re.escape(field_id)}-error[^"]*"[^>]*>', html)
    assert described and f"{field_id}-error" in described.group(0), described
    return match.group(1)


def criterion(review: Review, kind: str, n: int = 0) -> Any:
    return [c for c in review.application.round.criteria if c.kind == kind][n]


def review_urls(review: Review, letter_id: int) -> list[tuple[str, str, dict[str, str]]]:
    """Every /review/ address of one review and its application, with a plausible post body."""
    rid = review.id
    return [
        ("get", f"/review/{rid}", {}),
        ("post", f"/review/{rid}", form_data(review)),
        ("post", f"/review/{rid}", submitting(review)),
        (
            "post",
            f"/review/{rid}/declaration",
            {"version": str(review.version), "conflict": "none", "confidentiality": "y"},
        ),
        (
            "post",
            f"/review/{rid}/recuse",
            {
                "recusal-version": str(review.version),
                "recusal-conflict_kind": "other",
                "recusal-explanation": "x",
            },
        ),
        ("get", f"/review/applications/{review.application_id}/letters/{letter_id}", {}),
    ]


def _request(client: FlaskClient, method: str, url: str, data: dict[str, str]) -> Any:
    return client.get(url) if method == "get" else client.post(url, data=data)


# --- Who sees what ------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["assigned", "in_progress", "submitted"])
def test_a_conflicted_reviewer_gets_404_on_every_page_of_the_application(
    make: Factory, login: SignIn, state: str
) -> None:
    setup = assign(make, reviewers=2)
    review = setup.review
    if state == "in_progress":
        start(review)
    elif state == "submitted":
        submit(review)
    # An officer records a conflict with the organization after the assignment.
    add_conflict(
        setup.reviewers[0],
        setup.application.organization,
        "personal",
        "officer",
        note="Sister works in the mayor's office",
        created_by=setup.officer,
    )
    commit()
    version = reload(review).version
    client = login(setup.reviewers[0])
    letter_id = setup.application.letters[0].id
    for method, url, data in review_urls(review, letter_id):
        response = _request(client, method, url, data)
        assert response.status_code == 404, (method, url, response.status_code)
    review = reload(review)
    assert (review.state, review.version) == (state, version)
    queue = text(client.get("/review/"))
    assert setup.application.reference not in queue
    assert "Sister-city climate exchange" not in queue


def test_a_detected_conflict_hides_the_application_too(make: Factory, login: SignIn) -> None:
    setup = assign(make)
    # The reviewer adds the application's partner to its affiliations after being assigned.
    svc.save_profile(setup.reviewers[0], {"affiliations": ["Testville University"]})
    commit()
    client = login(setup.reviewers[0])
    assert client.get(f"/review/{setup.review.id}").status_code == 404
    assert setup.application.reference not in text(client.get("/review/"))


@pytest.mark.parametrize("who", ["unassigned reviewer", "reviewer of another application"])
def test_other_reviewers_get_404_on_every_page_of_the_application(
    make: Factory, login: SignIn, who: str
) -> None:
    setup = assign(make)
    stranger = new_reviewer(make)
    if who == "reviewer of another application":
        assign(make, rnd=setup.round, officer=setup.officer, reviewer_users=[stranger])
    start(setup.review)
    client = login(stranger)
    version = reload(setup.review).version
    for method, url, data in review_urls(setup.review, setup.application.letters[0].id):
        response = _request(client, method, url, data)
        assert response.status_code == 404, (method, url, response.status_code)
    assert reload(setup.review).version == version
    assert setup.application.reference not in text(client.get("/review/"))


def test_a_recused_reviewer_gets_404(make: Factory, login: SignIn) -> None:
    setup = assign(make)
    fire(setup.review, "recuse", setup.officer, comment="Conflict")
    commit()
    client = login(setup.reviewers[0])
    for method, url, data in review_urls(setup.review, setup.application.letters[0].id):
        assert _request(client, method, url, data).status_code == 404, url


@pytest.mark.parametrize("role", ["applicant", "officer", "admin"])
def test_other_roles_may_not_use_the_reviewer_pages(
    make: Factory, login: SignIn, role: str
) -> None:
    setup = assign(make)
    user = {"applicant": setup.applicant, "officer": setup.officer, "admin": make.admin()}[role]
    client = login(user)
    for url in ("/review/", f"/review/{setup.review.id}", "/review/profile"):
        assert client.get(url).status_code == 403, url


def test_signed_out_people_are_sent_to_sign_in(make: Factory, client: FlaskClient) -> None:
    response = client.get("/review/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- The queue ----------------------------------------------------------------------------------


def test_the_queue_lists_only_the_reviewers_own_reviews(make: Factory, login: SignIn) -> None:
    me, other = new_reviewer(make), new_reviewer(make)
    officer = make.officer()
    mine = assign(make, officer=officer, reviewer_users=[me])
    blind = assign(make, officer=officer, reviewer_users=[me], blind_review=True)
    theirs = assign(make, officer=officer, reviewer_users=[other])
    home = login(me).get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/review/")
    html = text(login(me).get("/review/"))
    assert mine.application.reference in html
    assert blind.application.reference in html
    assert theirs.application.reference not in html
    assert mine.application.organization.legal_name in html
    assert blind.application.organization.legal_name not in html
    assert html.count("Hidden (blind review)") == 1
    assert 'href="/review/profile"' in html  # the nav and the page link to the profile


def test_the_queue_marks_overdue_reviews_and_sorts(
    make: Factory, login: SignIn, freeze: Callable[[datetime], None]
) -> None:
    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    freeze(now)
    me = new_reviewer(make)
    officer = make.officer()
    late = assign(make, officer=officer, reviewer_users=[me], due_at=now + timedelta(days=1))
    soon = assign(make, officer=officer, reviewer_users=[me], due_at=now + timedelta(days=3))
    done = assign(make, officer=officer, reviewer_users=[me], due_at=now + timedelta(days=2))
    start(soon.review)
    submit(done.review)
    freeze(now + timedelta(days=2, hours=1))  # `late` is overdue, `done` is past due but in
    client = login(me)
    html = text(client.get("/review/"))
    rows = re.findall(r"<tr>.*?</tr>", html, re.S)[1:]
    refs = [a.application.reference for a in (late, done, soon)]
    assert [next(r for r in refs if r in row) for row in rows] == refs  # by due date
    overdue = [row for row in rows if ">Overdue<" in row]
    assert len(overdue) == 1 and late.application.reference in overdue[0]
    assert "overdue" in rows[0] and "left" in rows[2]  # time left: "1 day overdue", "… left"
    # Due dates are shown in the round's zone.
    assert "EST" in rows[0] or "EDT" in rows[0]

    by_state = text(client.get("/review/?sort=state"))
    order = [by_state.index(a.application.reference) for a in (late, soon, done)]
    assert order == sorted(order)  # assigned, in progress, submitted
    by_assigned = text(client.get("/review/?sort=assigned"))
    assert 'aria-sort="descending"' in by_assigned
    assert client.get("/review/?sort=nonsense").status_code == 200


def test_a_long_queue_comes_in_pages_sorted_across_them(
    make: Factory,
    login: SignIn,
    freeze: Callable[[datetime], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reviewer with more reviews than a page holds sees them page by page, in one order over
    all pages (the database sorts and cuts), each page linking to the next and previous."""
    monkeypatch.setattr("app.services.reviews.QUEUE_PAGE_SIZE", 2)
    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    freeze(now)
    me = new_reviewer(make)
    officer = make.officer()
    setups = [
        assign(make, officer=officer, reviewer_users=[me], due_at=now + timedelta(days=days))
        for days in (5, 1, 4, 2, 3)
    ]
    by_due = [s.application.reference for s in sorted(setups, key=lambda s: s.review.due_at)]
    client = login(me)
    seen: list[str] = []
    for page in (1, 2, 3):
        html = text(client.get(f"/review/?page={page}"))
        rows = re.findall(r"<tr>.*?</tr>", html, re.S)[1:]
        seen += [next(r for r in by_due if r in row) for row in rows]
        assert f"5 reviews, page {page} of 3" in html
        assert ("Next page" in html) == (page < 3) and ("Previous page" in html) == (page > 1)
    assert seen == by_due
    # A page past the end shows the last one.
    assert by_due[4] in text(client.get("/review/?page=9"))


def test_the_queue_runs_the_same_number_of_queries_for_3_and_20_reviews(
    make: Factory, login: SignIn, count_queries: Callable[[], Any]
) -> None:
    me = new_reviewer(make)
    officer = make.officer()
    rounds = [make.round(officer=officer), make.round(officer=officer, blind_review=True)]

    def add(n: int) -> None:
        for i in range(n):
            setup = assign(make, officer=officer, rnd=rounds[i % 2], reviewer_users=[me])
            if i % 3 == 1:
                start(setup.review)
            elif i % 3 == 2:
                submit(setup.review)

    add(3)
    client = login(me)
    db.session.expire_all()  # each request starts from the database, as in production
    with count_queries() as few:
        assert client.get("/review/").status_code == 200
    add(17)
    db.session.expire_all()
    with count_queries() as many:
        response = client.get("/review/")
    assert text(response).count('href="/review/') - text(response).count("/review/profile") >= 20
    assert many.count == few.count, (few.statements, many.statements)


# --- Declaring conflicts and confidentiality ----------------------------------------------------


def test_the_application_stays_closed_until_the_declaration(make: Factory, login: SignIn) -> None:
    setup = assign(make)
    client = login(setup.reviewers[0])
    html = text(client.get(f"/review/{setup.review.id}"))
    assert "I have no conflict of interest with this applicant" in html
    assert "I will keep this application and its reviews confidential" in html
    assert "Our need text." not in html  # the narrative is not shown yet
    assert "support.pdf" not in html
    # Neither the form nor the letters can be reached around the declaration.
    response = client.post(f"/review/{setup.review.id}", data=form_data(setup.review))
    assert response.status_code == 302
    assert reload(setup.review).criterion_scores in ({}, None)
    letter = setup.application.letters[0]
    url = f"/review/applications/{setup.application.id}/letters/{letter.id}"
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"conflict": "none"}, "confidentiality", "Accept the confidentiality agreement"),
        ({"confidentiality": "y"}, "conflict", "Say whether you have a conflict of interest"),
        (
            {"conflict": "conflict", "confidentiality": "y", "explanation": "My employer"},
            "conflict_kind",
            "Choose the type of conflict",
        ),
        (
            {"conflict": "conflict", "confidentiality": "y", "conflict_kind": "financial"},
            "explanation",
            "Explain the conflict",
        ),
    ],
)
def test_an_incomplete_declaration_records_nothing(
    make: Factory, login: SignIn, data: dict[str, str], field: str, message: str
) -> None:
    setup = assign(make)
    client = login(setup.reviewers[0])
    response = client.post(f"/review/{setup.review.id}/declaration", data=data)
    assert response.status_code == 422
    assert error_of(text(response), field).startswith(message)
    review = reload(setup.review)
    assert review.state == "assigned"
    assert review.no_conflict_declared_at is None and review.confidentiality_accepted_at is None


def test_declaring_no_conflict_opens_the_application(make: Factory, login: SignIn) -> None:
    setup = assign(make)
    client = login(setup.reviewers[0])
    response = client.post(
        f"/review/{setup.review.id}/declaration",
        data={"conflict": "none", "confidentiality": "y", "version": str(setup.review.version)},
    )
    assert response.status_code == 302
    review = reload(setup.review)
    assert review.state == "in_progress"
    assert review.no_conflict_declared_at and review.confidentiality_accepted_at
    html = text(client.get(f"/review/{review.id}"))
    assert "Our need text." in html
    assert setup.application.organization.legal_name in html
    for c in setup.round.criteria:
        assert c.title in html
        if c.guidance:
            assert str(escape(c.guidance)) in html
    for n, descriptor in svc.NIH_SCALE.items():
        assert f"{n} · {descriptor}" in html
    assert "Sufficient" in html and "Not sufficient" in html
    # Letters of support can be read once the application is open (in a round that is not blind).
    letter = setup.application.letters[0]
    download = client.get(f"/review/applications/{setup.application.id}/letters/{letter.id}")
    assert download.status_code == 200 and download.mimetype == "application/pdf"


def test_declaring_a_conflict_recuses_and_hides_the_application(
    make: Factory, login: SignIn
) -> None:
    setup = assign(make)
    reviewer = setup.reviewers[0]
    client = login(reviewer)
    response = client.post(
        f"/review/{setup.review.id}/declaration",
        data={
            "conflict": "conflict",
            "conflict_kind": "employer_or_partner",
            "explanation": "I teach at Testville University.",
            "confidentiality": "y",
            "version": str(setup.review.version),
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/review/")
    review = reload(setup.review)
    assert review.state == "recused"
    conflict = db.session.scalars(select(Conflict)).one()
    assert (conflict.kind, conflict.source, conflict.reviewer_id) == (
        "employer_or_partner",
        "declared",
        reviewer.id,
    )
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity_type == "review", AuditEvent.trigger == "recuse")
    ).one()
    assert event.comment == "I teach at Testville University."
    assert client.get(f"/review/{review.id}").status_code == 404
    assert setup.application.reference not in text(client.get("/review/"))


def test_a_reviewer_can_recuse_after_starting(make: Factory, login: SignIn) -> None:
    setup = assign(make)
    start(setup.review)
    client = login(setup.reviewers[0])
    bad = client.post(
        f"/review/{setup.review.id}/recuse", data={"recusal-conflict_kind": "personal"}
    )
    assert bad.status_code == 422
    assert error_of(text(bad), "recusal-explanation").startswith("Explain the conflict")
    assert reload(setup.review).state == "in_progress"
    response = client.post(
        f"/review/{setup.review.id}/recuse",
        data={
            "recusal-conflict_kind": "personal",
            "recusal-explanation": "My cousin leads the project.",
        },
    )
    assert response.status_code == 302
    assert reload(setup.review).state == "recused"
    assert db.session.scalars(select(Conflict.kind)).one() == "personal"


# --- The review form ----------------------------------------------------------------------------


def _bad_inputs() -> list[tuple[str, str, str, str]]:
    # (which field, value, expected message start, part of the field id)
    return [
        ("scored", "0", SCORE_MESSAGE, "score"),
        ("scored", "10", SCORE_MESSAGE, "score"),
        ("scored", "x", SCORE_MESSAGE, "score"),
        ("overall_score", "10", SCORE_MESSAGE, ""),
        ("confidence", "4", CONFIDENCE_MESSAGE, ""),
        ("confidence", "high", CONFIDENCE_MESSAGE, ""),
        ("sufficiency", "", "Explain why you judged", "explanation"),
    ]


@pytest.mark.parametrize("button", ["save", "submit"])
@pytest.mark.parametrize("which, value, message, part", _bad_inputs())
def test_bad_input_is_shown_next_to_its_field_and_saves_nothing(
    make: Factory, login: SignIn, button: str, which: str, value: str, message: str, part: str
) -> None:
    setup = assign(make)
    review = setup.review
    start(review)
    review = reload(review)
    version = review.version
    build = form_data if button == "save" else submitting
    if which == "scored":
        field = svc.criterion_field(criterion(review, "scored", 1).id, "score")
        data = build(review, **{field: value})
    elif which == "sufficiency":
        c = criterion(review, "sufficiency")
        field = svc.criterion_field(c.id, "explanation")
        data = build(review, **{field: value, svc.criterion_field(c.id, "sufficient"): "yes"})
        message = f"Explain why you judged “{c.title}” sufficient."
    else:
        field = which
        data = build(review, **{field: value})
    client = login(setup.reviewers[0])
    response = client.post(f"/review/{review.id}", data=data)
    assert response.status_code == 422
    html = text(response)
    assert error_of(html, field).startswith(message)
    assert f'href="#{field}"' in html  # and in the summary at the top, linked to the field
    assert "Clear plan." in html  # the rest of the input is kept
    review = reload(review)
    assert review.version == version
    assert review.state == "in_progress"
    assert (review.criterion_scores or {}) == {}
    assert review.overall_score is None and review.strengths == ""


def test_a_draft_is_saved_however_incomplete(make: Factory, login: SignIn) -> None:
    setup = assign(make)
    start(setup.review)
    review = reload(setup.review)
    client = login(setup.reviewers[0])
    first = criterion(review, "scored")
    data = {
        "version": str(review.version),
        "save": "Save draft",
        svc.criterion_field(first.id, "score"): "2",
        "strengths": "Strong partners.",
    }
    response = client.post(f"/review/{review.id}", data=data)
    assert response.status_code == 302
    review = reload(review)
    assert review.state == "in_progress"
    assert review.criterion_scores == {str(first.id): {"score": 2}}
    assert review.strengths == "Strong partners." and review.overall_score is None
    html = text(client.get(f"/review/{review.id}"))
    assert "Draft saved." in html
    assert re.search(r'value="2"[^>]*checked|checked[^>]*value="2"', html)
    assert "Strong partners." in html


def test_submitting_an_incomplete_review_lists_each_missing_item_by_its_field(
    make: Factory, login: SignIn
) -> None:
    setup = assign(make)
    start(setup.review)
    review = reload(setup.review)
    client = login(setup.reviewers[0])
    missing = criterion(review, "scored", 2)
    sufficiency = criterion(review, "sufficiency")
    data = submitting(
        review,
        overall_score=None,
        **{
            svc.criterion_field(missing.id, "score"): None,
            svc.criterion_field(sufficiency.id, "sufficient"): None,
            svc.criterion_field(sufficiency.id, "explanation"): None,
        },
    )
    response = client.post(f"/review/{review.id}", data=data)
    assert response.status_code == 422
    html = text(response)
    assert "was not submitted" in html
    assert missing.title in error_of(html, svc.criterion_field(missing.id, "score"))
    assert sufficiency.title in error_of(html, svc.criterion_field(sufficiency.id, "sufficient"))
    assert "overall impact" in error_of(html, "overall_score")
    review = reload(review)
    assert review.state == "in_progress"  # not submitted, but the draft is kept
    assert review.confidence == 2 and review.strengths == "Clear plan."
    assert f'name="version" type="hidden" value="{review.version}"' in html


def test_a_stale_save_is_refused_with_the_input_kept(make: Factory, login: SignIn) -> None:
    setup = assign(make)
    start(setup.review)
    review = reload(setup.review)
    opened = form_data(review, strengths="My careful words.")
    # Meanwhile, in another window, the same reviewer saves.
    svc.save_draft(review, {"strengths": "Other window."}, review.version)
    commit()
    response = login(setup.reviewers[0]).post(f"/review/{review.id}", data=opened)
    assert response.status_code == 409
    html = text(response)
    assert "changed by someone else" in html
    assert "My careful words." in html
    assert reload(review).strengths == "Other window."


def test_a_submitted_review_is_read_only(make: Factory, login: SignIn) -> None:
    setup = assign(make, reviewers=2)
    start(setup.review)
    review = reload(setup.review)
    client = login(setup.reviewers[0])
    response = client.post(f"/review/{review.id}", data=submitting(review))
    assert response.status_code == 302
    review = reload(review)
    assert review.state == "submitted" and review.submitted_at is not None
    html = text(client.get(f"/review/{review.id}"))
    assert "Review submitted." in html
    assert 'name="overall_score"' not in html and 'name="strengths"' not in html
    assert "3 · Excellent" in html
    version = review.version
    again = client.post(f"/review/{review.id}", data=submitting(review, strengths="Changed"))
    assert again.status_code == 302
    review = reload(review)
    assert (review.version, review.strengths) == (version, "Clear plan.")


# --- Other reviewers' reviews -------------------------------------------------------------------


def test_others_reviews_are_shown_only_after_submitting_and_never_staff_comments(
    make: Factory, login: SignIn
) -> None:
    me = new_reviewer(make, name="Ada Firstreviewer")
    them = new_reviewer(make, name="Bea Otherreviewer")
    setup = assign(make, reviewer_users=[me, them])
    mine, theirs = setup.reviews
    submit(theirs, strengths="THEIR-STRENGTH", weaknesses="THEIR-WEAKNESS", staff_comments="SECRET")
    start(mine)
    client = login(me)
    before = text(client.get(f"/review/{mine.id}"))
    assert "THEIR-STRENGTH" not in before and "THEIR-WEAKNESS" not in before
    assert "Other reviewers" not in before

    mine = reload(mine)
    data = submitting(mine, strengths="MY-STRENGTH", staff_comments="MY-SECRET")
    assert client.post(f"/review/{mine.id}", data=data).status_code == 302
    after = text(client.get(f"/review/{mine.id}"))
    assert "THEIR-STRENGTH" in after and "THEIR-WEAKNESS" in after
    assert "Reviewer 1" in after
    assert "SECRET" not in after.replace("MY-SECRET", "")  # own staff comment only
    assert "MY-SECRET" in after
    assert them.name not in after and them.email not in after

    # The other reviewer, too, sees my review without my staff comment or my name.
    other_page = text(login(them).get(f"/review/{theirs.id}"))
    assert "MY-STRENGTH" in other_page and "Reviewer 1" in other_page
    assert "MY-SECRET" not in other_page
    assert me.name not in other_page and me.email not in other_page


def test_a_reopened_review_hides_the_others_again(
    make: Factory, login: SignIn, wait_for_jobs: Callable[[], None]
) -> None:
    setup = assign(make, reviewers=2)
    mine, theirs = setup.reviews
    submit(theirs, strengths="THEIR-STRENGTH")
    submit(mine)
    wait_for_jobs()
    mine = reload(mine)
    fire(mine, "reopen", setup.officer, comment="Please look again")
    commit()
    html = text(login(setup.reviewers[0]).get(f"/review/{mine.id}"))
    assert 'name="overall_score"' in html  # editable again
    assert "THEIR-STRENGTH" not in html


# --- Blind rounds -------------------------------------------------------------------------------

BLIND_ORG = dict(
    legal_name="City of Zephyrhaven",
    city="Zephyrhaven",
    street="77 Harbor Lane",
    official_name="Marisol Quintero",
    official_title="Mayor",
)
LETTER = "quintero-support-letter.pdf"


def _identifying_application(make: Factory, blind: bool) -> tuple[Assigned, list[str]]:
    """An application whose free text names its applicant everywhere, assigned to two reviewers.

    Returns the setup and the strings that must never reach a reviewer in a blind round."""
    officer = make.officer()
    rnd = make.round(officer=officer, blind_review=blind)
    org = make.organization(**BLIND_ORG)
    user = make.applicant(org, email="grants.office@zephyrhaven-city.gov")
    colleague = make.applicant(org, email="m.quintero@zephyrhaven-city.gov")
    application = make.application(rnd, user=user)
    app_svc.save_project(
        application,
        {
            "title": "Zephyrhaven–Osaka climate exchange",
            "summary": "The City of Zephyrhaven will exchange climate staff with Osaka.",
            "priority_areas": ["climate"],
            "partner_countries": ["JP"],
            "start_date": application.start_date,
            "period_months": 12,
        },
        application.version,
    )
    app_svc.save_narrative(
        application,
        {
            "need": "zephyrhaven's harbor floods; Mayor Marisol Quintero asked for help.",
            "approach": "Staff of the city of ZEPHYRHAVEN will visit Osaka. Write to "
            "grants.office@zephyrhaven-city.gov with questions.",
            "alignment": "Zephyrhavenites support the partnership.",
            "sustainability": "The office at 77 Harbor Lane keeps the work going.",
        },
        application.version,
    )
    app_svc.replace_partners(
        application,
        [
            {"name": "Zephyrhaven Community College", "kind": "academic", "role": "Evaluation"},
            {"name": "Osaka Climate Network", "kind": "network", "role": "Host Zephyrhaven staff"},
        ],
        application.version,
    )
    app_svc.replace_milestones(
        application,
        [
            {
                "due_on": application.start_date + timedelta(days=30),
                "description": "Zephyrhaven forum",
            }
        ],
        application.version,
    )
    app_svc.add_letter(application, LETTER, sample_letter_pdf(), user, application.version)
    fire(application, "submit", user)
    fire(application, "mark_eligible", officer)
    commit()
    setup = assign(make, reviewers=2, rnd=rnd, officer=officer, application=application)
    forbidden = [
        BLIND_ORG["legal_name"],
        BLIND_ORG["city"],
        BLIND_ORG["street"],
        BLIND_ORG["official_name"],
        user.email,
        colleague.email,
        "zephyrhaven-city.gov",
        LETTER,
        "support.pdf",
    ]
    return setup, forbidden


def _leaks(html: str, forbidden: list[str]) -> list[str]:
    lower = html.lower()
    return [s for s in forbidden if s.lower() in lower]


def test_a_blind_round_leaks_no_identity_on_any_reviewer_page(make: Factory, login: SignIn) -> None:
    setup, forbidden = _identifying_application(make, blind=True)
    mine, theirs = setup.reviews
    submit(theirs, strengths="Zephyrhaven has a strong team.", weaknesses="Quintero is busy.")
    client = login(setup.reviewers[0])
    pages = {"queue": text(client.get("/review/"))}
    pages["declaration"] = text(client.get(f"/review/{mine.id}"))
    declared = client.post(
        f"/review/{mine.id}/declaration",
        data={"conflict": "none", "confidentiality": "y"},
    )
    assert declared.status_code == 302
    pages["review"] = text(client.get(f"/review/{mine.id}"))
    bad = form_data(reload(mine), overall_score="12")
    pages["review with errors"] = text(client.post(f"/review/{mine.id}", data=bad))
    assert client.post(f"/review/{mine.id}", data=submitting(reload(mine))).status_code == 302
    pages["submitted, with the other review"] = text(client.get(f"/review/{mine.id}"))
    for name, html in pages.items():
        assert _leaks(html, forbidden) == [], name
    assert "Hidden (blind review)" in pages["queue"]
    assert "[applicant]–Osaka climate exchange" in pages["queue"]
    review_page = pages["submitted, with the other review"]
    assert "[applicant] Community College" in review_page
    assert "[applicant] has a strong team." in review_page  # others' words are redacted too
    assert "Letters of support" not in review_page
    assert "Osaka" in review_page  # the rest of the text stays
    letter = setup.application.letters[0]
    url = f"/review/applications/{setup.application.id}/letters/{letter.id}"
    assert client.get(url).status_code == 404


def test_the_same_application_in_an_open_round_shows_its_identity(
    make: Factory, login: SignIn
) -> None:
    # The control for the test above: the strings it searches for do reach the page unredacted.
    setup, forbidden = _identifying_application(make, blind=False)
    start(setup.review)
    html = text(login(setup.reviewers[0]).get(f"/review/{setup.review.id}"))
    assert {BLIND_ORG["legal_name"], BLIND_ORG["city"], LETTER} <= set(_leaks(html, forbidden))
    assert "[applicant]" not in html


def test_the_redaction_function(make: Factory) -> None:
    org = make.organization(
        legal_name="City of Ada", city="Ada", official_name="Jo Lee", street="1 Main St"
    )
    redact = svc.redactor(org, blind=True)
    assert redact("The City of Ada and ADA's mayor Jo Lee, at 1 Main St.") == (
        "The [applicant] and [applicant]'s mayor [applicant], at [applicant]."
    )
    assert redact("Canada and Adamsville") == "Canada and [applicant]msville"
    assert redact("Mail ada@city.example.org") == "Mail [applicant]"
    assert svc.redactor(org, blind=False)("City of Ada") == "City of Ada"


# --- The profile --------------------------------------------------------------------------------


def test_the_reviewer_profile_is_saved_and_shown(make: Factory, login: SignIn) -> None:
    me = new_reviewer(make)
    client = login(me)
    page = text(client.get("/review/profile"))
    for label in ("Expertise: priority areas", "Expertise: world regions", "Home state"):
        assert label in page
    response = client.post(
        "/review/profile",
        data={
            "priority_areas": ["climate", "trade"],
            "regions": ["EAP", "EUR"],
            "home_state": "OR",
            "affiliations": (
                "Portland State University\n\n  Climate   Alliance \nportland state university"
            ),
        },
    )
    assert response.status_code == 302
    profile = db.session.get(ReviewerProfile, me.id, populate_existing=True)
    assert profile is not None
    assert (profile.priority_areas, profile.regions, profile.home_state) == (
        ["climate", "trade"],
        ["EAP", "EUR"],
        "OR",
    )
    assert profile.affiliations == ["Portland State University", "Climate Alliance"]
    page = text(client.get("/review/profile"))
    assert re.search(r'checked[^>]*value="climate"|value="climate"[^>]*checked', page)
    assert re.search(r'selected[^>]*value="OR"|value="OR"[^>]*selected', page)
    bad = client.post("/review/profile", data={"home_state": "ZZ", "regions": ["MARS"]})
    assert bad.status_code == 422
    assert error_of(text(bad), "home_state")
    assert db.session.get(ReviewerProfile, me.id, populate_existing=True).home_state == "OR"


def test_a_home_state_conflict_declared_in_the_profile_hides_the_application(
    make: Factory, login: SignIn
) -> None:
    # Declaring a home state equal to a state-level applicant's hides that application at once.
    officer = make.officer()
    state = make.organization(legal_name="State of Ohio", government_type="state", state_code="OH")
    user = make.applicant(state)
    rnd = make.round(officer=officer)
    application = make.application(rnd, user=user, submit=True)
    fire(application, "mark_eligible", officer)
    commit()
    setup = assign(make, rnd=rnd, officer=officer, application=application)
    client = login(setup.reviewers[0])
    assert client.get(f"/review/{setup.review.id}").status_code == 200
    assert client.post("/review/profile", data={"home_state": "OH"}).status_code == 302
    assert client.get(f"/review/{setup.review.id}").status_code == 404
    assert setup.application.reference not in text(client.get("/review/"))
