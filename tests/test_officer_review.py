"""The program officer's side of review: bulk screening, the rubric editor, reviewers and
conflicts, automatic and manual assignment, due dates, recusal, reopening and closing early."""

from __future__ import annotations

import html as html_module
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.clock import utcnow
from app.extensions import db
from app.jobs import commit
from app.models.application import Application
from app.models.audit import AuditEvent
from app.models.review import Conflict, Review, ReviewerProfile
from app.models.round import Round, RubricCriterion
from app.models.user import User
from app.services.conflicts import add_conflict, conflicted_pairs
from app.services.review_assignment import add_reviewer
from app.services.reviews import declare, save_draft
from tests.factories import Factory
from workflows import fire


@pytest.fixture
def officer(make: Factory) -> User:
    return make.officer()


@pytest.fixture
def as_officer(login: Any, officer: User) -> FlaskClient:
    return login(officer)


_n = iter(range(1, 10_000))


def reviewer(make: Factory, areas: tuple[str, ...] = (), regions: tuple[str, ...] = ()) -> User:
    """A reviewer outside every applicant's email domain (example.gov would be a conflict)."""
    n = next(_n)
    user = make.reviewer(email=f"reviewer{n}@university{n}.edu", name=f"Reviewer {n:03d}")
    db.session.add(
        ReviewerProfile(user_id=user.id, priority_areas=list(areas), regions=list(regions))
    )
    commit()
    return user


def eligible(make: Factory, rnd: Round, officer: User) -> Application:
    application = make.application(rnd, submit=True)
    fire(application, "mark_eligible", officer, comment="Eligible.")
    commit()
    return application


def submit_review(review: Review, overall: int = 3) -> None:
    scores: dict[str, Any] = {}
    for c in review.application.round.criteria:
        if c.kind == "scored":
            scores[str(c.id)] = {"score": overall}
        else:
            scores[str(c.id)] = {"sufficient": True, "explanation": "Adequate."}
    declare(review, True, True, utcnow())
    save_draft(
        review,
        {"criterion_scores": scores, "overall_score": overall, "confidence": 2},
        review.version,
    )
    fire(review, "submit", review.reviewer)
    commit()


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)


def error_next_to(html: str, field_id: str) -> str:
    """The error message rendered in the form group of the field `field_id`."""
    pattern = (
        r'<span class="usa-error-message" id="'
        + re.escape(field_id)
        + r'-error"[^>]*>([^<]+)</span>'
    )
    match = re.search(pattern, html)
    assert match, f"no error next to {field_id}"
    return html_module.unescape(match.group(1))


# --- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["applicant", "reviewer", "admin"])
def test_the_officer_review_pages_are_for_officers_only(
    role: str, make: Factory, login: Any, officer: User
) -> None:
    rnd = make.round(officer=officer)
    application = make.application(rnd, submit=True)
    user = make.applicant() if role == "applicant" else make.user(role)
    client = login(user)
    for url in (
        f"/officer/rounds/{rnd.id}/rubric",
        f"/officer/rounds/{rnd.id}/assignment",
        f"/officer/rounds/{rnd.id}/progress",
        "/officer/reviewers",
        f"/officer/applications/{application.id}",
    ):
        assert client.get(url).status_code == 403, url
    assert client.post("/officer/applications/screen", data={}).status_code == 403


# --- bulk screening -----------------------------------------------------------------------------


def test_submitted_applications_have_checkboxes_and_the_bulk_form(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    submitted = make.application(rnd, submit=True)
    draft = make.application(rnd)
    html = text_of(as_officer.get(f"/officer/applications?round={rnd.id}"))
    assert f'id="select-{submitted.id}"' in html
    assert f'id="select-{draft.id}"' not in html
    assert f'<label class="usa-checkbox__label margin-top-0" for="select-{submitted.id}">' in html
    assert "Mark ineligible" in html and 'for="reason"' in html


def test_marking_ineligible_in_bulk_needs_a_reason(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    apps = [make.application(rnd, submit=True) for _ in range(2)]
    response = as_officer.post(
        f"/officer/applications/screen?round={rnd.id}&state=submitted",
        data={
            "decision": "mark_ineligible",
            "reason": "  ",
            "application_ids": [a.id for a in apps],
        },
    )
    assert response.status_code == 400
    html = text_of(response)
    assert error_next_to(html, "reason") == "Give the reason the applications are ineligible."
    # The selection is kept for the next try.
    assert all(re.search(rf'id="select-{a.id}"[^>]*checked', html) for a in apps)
    db.session.expire_all()
    assert {a.state for a in apps} == {"submitted"}


def test_bulk_screening_needs_a_selection_and_a_decision(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    make.application(rnd, submit=True)
    response = as_officer.post(f"/officer/applications/screen?round={rnd.id}", data={"reason": "x"})
    assert response.status_code == 400
    html = text_of(response)
    assert "Select at least one application." in html
    assert "Choose eligible or ineligible." in html


def test_bulk_screening_fires_each_and_reports_the_refused_with_reasons(
    make: Factory, officer: User, as_officer: FlaskClient, wait_for_jobs: Any
) -> None:
    rnd = make.round(officer=officer)
    ok = [make.application(rnd, submit=True) for _ in range(2)]
    already = eligible(make, rnd, officer)
    response = as_officer.post(
        f"/officer/applications/screen?round={rnd.id}&state=submitted",
        data={
            "decision": "mark_ineligible",
            "reason": "Not a subnational government.",
            "application_ids": [a.id for a in [*ok, already]] + [987654],
        },
    )
    assert response.status_code == 200
    html = text_of(response)
    assert "2 applications done; 1 refused; 1 not found." in html
    assert already.reference in html
    assert "Not possible while the application is eligible" in html
    wait_for_jobs()
    db.session.expire_all()
    assert [a.state for a in ok] == ["ineligible", "ineligible"]
    assert already.state == "eligible"
    comments = db.session.scalars(
        select(AuditEvent.comment).where(
            AuditEvent.trigger == "mark_ineligible", AuditEvent.actor_id == officer.id
        )
    ).all()
    assert comments == ["Not a subnational government."] * 2


def test_bulk_mark_eligible_needs_no_reason(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    apps = [make.application(rnd, submit=True) for _ in range(3)]
    response = as_officer.post(
        "/officer/applications/screen",
        data={"decision": "mark_eligible", "application_ids": [a.id for a in apps]},
    )
    assert response.status_code == 200
    assert "3 applications done." in text_of(response)
    db.session.expire_all()
    assert {a.state for a in apps} == {"eligible"}


# --- the rubric editor --------------------------------------------------------------------------


def rubric_form(rnd: Round, **changes: Any) -> dict[str, Any]:
    """The rubric page's form as a browser would post it, with `changes` on top."""
    data: dict[str, Any] = {"version": rnd.version, "save": "Save rubric"}
    for i, c in enumerate(rnd.criteria):
        data[f"criteria-{i}-id"] = c.id
        data[f"criteria-{i}-title"] = c.title
        data[f"criteria-{i}-guidance"] = c.guidance
        data[f"criteria-{i}-weight"] = str(c.weight)
        data[f"criteria-{i}-kind"] = c.kind
        if c.required:
            data[f"criteria-{i}-required"] = "y"
    data.update(changes)
    return data


def criteria_of(rnd: Round) -> list[tuple[str, Decimal, str, bool]]:
    db.session.expire_all()
    return [
        (c.title, c.weight, c.kind, c.required)
        for c in db.session.scalars(
            select(RubricCriterion)
            .where(RubricCriterion.round_id == rnd.id)
            .order_by(RubricCriterion.position)
        )
    ]


def test_the_rubric_page_shows_every_criterion_with_labels(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    html = text_of(as_officer.get(f"/officer/rounds/{rnd.id}/rubric"))
    for i, c in enumerate(rnd.criteria):
        assert f'value="{c.title}"' in html
        for name in ("title", "guidance", "weight", "kind", "required", "remove"):
            assert f'for="criteria-{i}-{name}"' in html
    assert 'value="1.5"' in html  # weights shown as typed, not 1.50


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        ("0", "The weight must be greater than zero."),
        ("-1", "The weight must be greater than zero."),
        ("heavy", "Enter the weight as a number, like 1 or 1.5."),
        ("NaN", "Enter the weight as a number, like 1 or 1.5."),
        ("", "Enter a weight above zero."),
        ("1.005", "Use at most two decimal places."),
    ],
)
def test_a_bad_weight_is_refused_next_to_its_field_and_nothing_saved(
    weight: str, message: str, make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    before = criteria_of(rnd)
    response = as_officer.post(
        f"/officer/rounds/{rnd.id}/rubric",
        data=rubric_form(rnd, **{"criteria-1-weight": weight, "criteria-0-title": "Changed"}),
    )
    assert response.status_code == 400
    html = text_of(response)
    assert error_next_to(html, "criteria-1-weight") == message
    assert 'aria-invalid="true"' in html
    assert 'value="Changed"' in html  # the input is kept
    assert criteria_of(rnd) == before


def test_an_empty_title_is_refused_next_to_its_field(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    before = criteria_of(rnd)
    response = as_officer.post(
        f"/officer/rounds/{rnd.id}/rubric", data=rubric_form(rnd, **{"criteria-2-title": " "})
    )
    assert response.status_code == 400
    assert error_next_to(text_of(response), "criteria-2-title") == "Enter the criterion's title."
    assert criteria_of(rnd) == before


def test_a_rubric_needs_a_scored_criterion(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    data = rubric_form(rnd)
    for i in range(4):
        data[f"criteria-{i}-kind"] = "sufficiency"
    response = as_officer.post(f"/officer/rounds/{rnd.id}/rubric", data=data)
    assert response.status_code == 400
    assert "Keep at least one criterion scored 1–9." in text_of(response)


def test_editing_adding_and_removing_criteria(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    first_id = rnd.criteria[0].id
    # "Add a criterion" brings the page back with a blank row and saves nothing.
    data = rubric_form(rnd, **{"criteria-0-title": "Significance"})
    del data["save"]
    data["add_row"] = "Add a criterion"
    response = as_officer.post(f"/officer/rounds/{rnd.id}/rubric", data=data)
    assert response.status_code == 200
    html = text_of(response)
    assert 'id="criteria-4-title"' in html and 'value="Significance"' in html
    assert criteria_of(rnd)[0][0] != "Significance"
    # Save: one title and weight changed, one criterion removed, one added, one blank row ignored.
    data = rubric_form(
        rnd,
        **{
            "criteria-0-title": "Significance",
            "criteria-0-weight": "2",
            "criteria-2-remove": "y",
            "criteria-4-title": "Diaspora engagement",
            "criteria-4-guidance": "Does the project involve diaspora communities?",
            "criteria-4-weight": "0.5",
            "criteria-4-kind": "scored",
            "criteria-5-title": "",
            "criteria-5-kind": "scored",
        },
    )
    response = as_officer.post(f"/officer/rounds/{rnd.id}/rubric", data=data)
    assert response.status_code == 302
    after = criteria_of(rnd)
    assert [t for t, *_ in after] == [
        "Significance",
        "Approach, feasibility and measurement plan",
        "Capacity and budget realism",
        "Diaspora engagement",
    ]
    assert after[0][1] == Decimal("2") and after[3][1] == Decimal("0.5")
    assert after[3][3] is False  # "required" unticked
    assert rnd.criteria[0].id == first_id  # kept its id: drafted scores stay attached


def test_a_stale_rubric_edit_is_refused_with_the_input_kept(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    data = rubric_form(rnd, **{"criteria-0-title": "Mine"})
    rnd.description = "Changed by a colleague"
    commit()
    response = as_officer.post(f"/officer/rounds/{rnd.id}/rubric", data=data)
    assert response.status_code == 409
    html = text_of(response)
    assert "changed by someone else" in html and 'value="Mine"' in html
    assert criteria_of(rnd)[0][0] != "Mine"


def test_the_rubric_locks_once_a_review_is_submitted(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    application = eligible(make, rnd, officer)
    review = add_reviewer(application, reviewer(make), None)
    commit()
    data = rubric_form(rnd, **{"criteria-0-title": "Too late"})
    submit_review(review)
    html = text_of(as_officer.get(f"/officer/rounds/{rnd.id}/rubric"))
    assert "The rubric is locked" in html and 'name="criteria-0-title"' not in html
    response = as_officer.post(f"/officer/rounds/{rnd.id}/rubric", data=data)
    assert response.status_code == 409
    assert "The rubric is locked" in text_of(response)
    assert "Too late" not in [t for t, *_ in criteria_of(rnd)]


# --- reviewers and conflicts --------------------------------------------------------------------


def test_the_reviewers_page_lists_profiles_and_loads(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    expert = reviewer(make, areas=("climate",), regions=("EUR",))
    profile = db.session.get(ReviewerProfile, expert.id)
    profile.home_state, profile.affiliations = "VT", ["Green Mountain Institute"]
    commit()
    for _ in range(2):
        add_reviewer(eligible(make, rnd, officer), expert, None)
    commit()
    html = text_of(as_officer.get("/officer/reviewers"))
    row = html[html.index(expert.display_name) :]
    row = row[: row.index("</tr>")]
    for text in ("Climate and energy", "Europe and Eurasia", "Vermont", "Green Mountain Institute"):
        assert text in row
    assert re.findall(r'<td class="l2g-money">(\d+)</td>', row) == ["2", "0", "0"]


def test_an_officer_records_a_conflict(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    person = reviewer(make)
    application = make.application(rnd, submit=True)
    org = application.organization
    response = as_officer.post(
        "/officer/reviewers",
        data={
            "reviewer": person.id,
            "organization": org.id,
            "application": application.reference,
            "kind": "personal",
            "note": "Sister works on the project.",
        },
    )
    assert response.status_code == 302
    conflict = db.session.scalar(select(Conflict).where(Conflict.reviewer_id == person.id))
    assert conflict is not None
    assert (conflict.organization_id, conflict.application_id) == (org.id, application.id)
    assert (conflict.kind, conflict.source, conflict.created_by_id) == (
        "personal",
        "officer",
        officer.id,
    )
    assert (person.id, application.id) in conflicted_pairs([person.id], [application])


def test_a_conflict_with_a_wrong_reference_is_refused_next_to_the_field(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    person = reviewer(make)
    mine = make.application(rnd, submit=True)
    other = make.application(rnd, submit=True)
    for reference, message in (
        ("L2G-NOPE", "No application has the reference L2G-NOPE."),
        (
            other.reference,
            f"{other.reference} is not an application of {mine.organization.legal_name}.",
        ),
    ):
        response = as_officer.post(
            "/officer/reviewers",
            data={
                "reviewer": person.id,
                "organization": mine.organization_id,
                "application": reference,
                "kind": "other",
            },
        )
        assert response.status_code == 400
        assert error_next_to(text_of(response), "application") == message
    response = as_officer.post("/officer/reviewers", data={"kind": "other"})
    assert error_next_to(text_of(response), "reviewer") == "Choose the reviewer."
    assert error_next_to(text_of(response), "organization") == "Choose the jurisdiction."
    assert db.session.scalar(select(func.count(Conflict.id))) == 0


# --- automatic assignment -----------------------------------------------------------------------


def hidden(html: str, name: str) -> str:
    match = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', html)
    assert match, name
    return match.group(1)


@pytest.fixture
def assignment_round(make: Factory, officer: User) -> dict[str, Any]:
    """Five eligible applications, two reviewers each, five reviewers, and a few conflicts."""
    rnd = make.round(officer=officer, reviewers_per_application=2)
    applications = [eligible(make, rnd, officer) for _ in range(5)]
    people = [
        reviewer(make, areas=("climate",), regions=("EAP",)),
        reviewer(make, areas=("education",)),
        reviewer(make, areas=("trade",)),
        reviewer(make, regions=("EUR",)),
        reviewer(make),
    ]
    add_conflict(people[0], applications[0].organization, "personal", "officer", created_by=officer)
    add_conflict(
        people[1],
        applications[1].organization,
        "financial",
        "declared",
        application=applications[1],
    )
    # The reviewer's own organization is a conflict detected from the data.
    people[2].organization_id = applications[2].organization_id
    commit()
    return {"round": rnd, "applications": applications, "reviewers": people}


def test_propose_then_confirm_assigns_every_application_without_conflicts(
    assignment_round: dict[str, Any], as_officer: FlaskClient
) -> None:
    rnd: Round = assignment_round["round"]
    params = {"min_load": "1", "max_load": "3", "due_at": "2031-05-15T17:00"}
    response = as_officer.post(
        f"/officer/rounds/{rnd.id}/assignment", data={**params, "propose": "Propose assignment"}
    )
    assert response.status_code == 200
    html = text_of(response)
    assert "Proposed assignment" in html and "10 new reviews for 5 applications" in html
    assert db.session.scalar(select(func.count(Review.id))) == 0  # nothing saved yet
    fingerprint = hidden(html, "fingerprint")
    assert hidden(html, "due_at") == "2031-05-15T17:00"
    response = as_officer.post(
        f"/officer/rounds/{rnd.id}/assignment",
        data={**params, "fingerprint": fingerprint, "confirm": "Confirm assignment"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/officer/rounds/{rnd.id}/progress")
    db.session.expire_all()
    reviews = db.session.scalars(select(Review)).all()
    applications: list[Application] = assignment_round["applications"]
    people: list[User] = assignment_round["reviewers"]
    pairs = {(r.reviewer_id, r.application_id) for r in reviews}
    per_app = {a.id: sum(1 for _, aid in pairs if aid == a.id) for a in applications}
    assert per_app == {a.id: 2 for a in applications}
    conflicts = conflicted_pairs([p.id for p in people], applications)
    assert (people[0].id, applications[0].id) in conflicts
    assert (people[1].id, applications[1].id) in conflicts
    assert (people[2].id, applications[2].id) in conflicts
    assert not pairs & conflicts
    loads = [sum(1 for rid, _ in pairs if rid == p.id) for p in people]
    assert all(1 <= load <= 3 for load in loads), loads
    assert {a.state for a in applications} == {"in_review"}
    # 17:00 in New York in May is 21:00 UTC.
    assert {r.due_at for r in reviews} == {datetime(2031, 5, 15, 21, 0, tzinfo=UTC)}


def test_an_infeasible_request_is_refused_with_its_numbers(
    assignment_round: dict[str, Any], as_officer: FlaskClient
) -> None:
    rnd: Round = assignment_round["round"]
    response = as_officer.post(
        f"/officer/rounds/{rnd.id}/assignment",
        data={"min_load": "0", "max_load": "1", "propose": "Propose assignment"},
    )
    html = text_of(response)
    assert "No assignment meets these conditions" in html
    assert "5 applications × 2 reviewers = 10 assignments needed" in html
    assert "5 reviewers × max load 1 = 5 available" in html
    assert "Confirm assignment" not in html
    response = as_officer.post(
        f"/officer/rounds/{rnd.id}/assignment",
        data={"min_load": "4", "max_load": "5", "propose": "Propose assignment"},
    )
    assert "Min load 4 × 5 reviewers = 20 exceeds the 10 assignments needed" in text_of(response)
    assert db.session.scalar(select(func.count(Review.id))) == 0


def test_assignment_form_errors_are_shown_next_to_the_fields(
    assignment_round: dict[str, Any], as_officer: FlaskClient
) -> None:
    rnd: Round = assignment_round["round"]
    response = as_officer.post(
        f"/officer/rounds/{rnd.id}/assignment",
        data={"min_load": "3", "max_load": "2", "due_at": "soon", "propose": "Propose assignment"},
    )
    assert response.status_code == 400
    html = text_of(response)
    assert error_next_to(html, "max_load") == "The maximum load cannot be below the minimum."
    assert "due_at-error" in html


def test_a_changed_proposal_is_not_confirmed(
    assignment_round: dict[str, Any], officer: User, as_officer: FlaskClient
) -> None:
    rnd: Round = assignment_round["round"]
    params = {"min_load": "0", "max_load": "4"}
    html = text_of(
        as_officer.post(
            f"/officer/rounds/{rnd.id}/assignment", data={**params, "propose": "Propose"}
        )
    )
    fingerprint = hidden(html, "fingerprint")
    # Meanwhile a reviewer declares a conflict with an application it was proposed for.
    proposed = re.search(r"<th scope=\"row\">(L2G-[^<]+)<br>.*?<li>(Reviewer \d+) \(", html, re.S)
    assert proposed
    application = db.session.scalar(
        select(Application).where(Application.reference == proposed.group(1))
    )
    person = db.session.scalar(select(User).where(User.name == proposed.group(2)))
    add_conflict(person, application.organization, "personal", "declared", application=application)
    commit()
    response = as_officer.post(
        f"/officer/rounds/{rnd.id}/assignment",
        data={**params, "fingerprint": fingerprint, "confirm": "Confirm assignment"},
    )
    assert response.status_code == 409
    html = text_of(response)
    assert "the data changed" in html and "review the new proposal" in html
    assert hidden(html, "fingerprint") != fingerprint
    assert db.session.scalar(select(func.count(Review.id))) == 0


# --- by hand: add, remove, swap, recuse, reopen, due date, close early ---------------------------


def test_adding_a_reviewer_by_hand_and_refusing_a_conflicted_one(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    application = eligible(make, rnd, officer)
    free, conflicted = reviewer(make), reviewer(make)
    add_conflict(conflicted, application.organization, "financial", "officer")
    commit()
    html = text_of(as_officer.get(f"/officer/applications/{application.id}"))
    select_html = html[
        html.index('id="reviewer"') : html.index("</select>", html.index('id="reviewer"'))
    ]
    assert free.display_name in select_html and conflicted.display_name not in select_html
    response = as_officer.post(
        f"/officer/applications/{application.id}/reviewers", data={"reviewer": conflicted.id}
    )
    assert response.status_code == 409
    assert error_next_to(text_of(response), "reviewer") == (
        f"{conflicted.display_name} has a conflict with this application."
    )
    assert db.session.scalar(select(func.count(Review.id))) == 0
    response = as_officer.post(
        f"/officer/applications/{application.id}/reviewers",
        data={"reviewer": free.id, "due_at": "2031-01-10T09:30"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    review = db.session.scalar(select(Review))
    assert review.reviewer_id == free.id
    assert review.due_at == datetime(2031, 1, 10, 14, 30, tzinfo=UTC)
    assert application.state == "in_review"
    # A second reviewer with no due date given takes the one the others share.
    second = reviewer(make)
    as_officer.post(
        f"/officer/applications/{application.id}/reviewers", data={"reviewer": second.id}
    )
    added = db.session.scalar(select(Review).where(Review.reviewer_id == second.id))
    assert added.due_at == review.due_at


def test_remove_and_swap_only_untouched_reviews(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    application = eligible(make, rnd, officer)
    first, second, third, spare = (reviewer(make) for _ in range(4))
    r1 = add_reviewer(application, first, None)
    r2 = add_reviewer(application, second, None)
    r3 = add_reviewer(application, third, None)
    commit()
    declare(r3, True, True, utcnow())
    fire(r3, "start", third)
    commit()
    response = as_officer.post(f"/officer/reviews/{r1.id}/remove", data={"version": r1.version})
    assert response.status_code == 302
    response = as_officer.post(
        f"/officer/reviews/{r2.id}/swap", data={f"swap{r2.id}-replacement": spare.id}
    )
    assert response.status_code == 302
    db.session.expire_all()
    on_it = set(
        db.session.scalars(
            select(Review.reviewer_id).where(Review.application_id == application.id)
        )
    )
    assert on_it == {third.id, spare.id}
    response = as_officer.post(f"/officer/reviews/{r3.id}/remove", data={"version": r3.version})
    assert response.status_code == 409
    assert "The review has started: recuse the reviewer instead." in text_of(response)
    assert db.session.get(Review, r3.id) is not None


def test_swapping_to_a_conflicted_reviewer_is_refused_and_changes_nothing(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    application = eligible(make, rnd, officer)
    first, conflicted = reviewer(make), reviewer(make)
    review = add_reviewer(application, first, None)
    add_conflict(conflicted, application.organization, "personal", "officer")
    commit()
    response = as_officer.post(
        f"/officer/reviews/{review.id}/swap", data={f"swap{review.id}-replacement": conflicted.id}
    )
    assert response.status_code == 409
    assert "has a conflict with this application" in text_of(response)
    db.session.expire_all()
    assert db.session.scalars(select(Review.reviewer_id)).all() == [first.id]


def test_recusing_needs_a_reason_and_records_a_conflict(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    application = eligible(make, rnd, officer)
    person = reviewer(make)
    review = add_reviewer(application, person, None)
    commit()
    url = f"/officer/reviews/{review.id}/transition"
    response = as_officer.post(
        url, data={"trigger": "recuse", "comment": "", "version": review.version}
    )
    assert response.status_code == 400
    assert "Give the reason for the recusal." in text_of(response)
    response = as_officer.post(
        url, data={"trigger": "recuse", "comment": "Former employer.", "version": review.version}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert review.state == "recused"
    conflict = db.session.scalar(select(Conflict).where(Conflict.reviewer_id == person.id))
    assert conflict is not None and conflict.source == "officer"


def test_reopening_a_submitted_review(
    make: Factory, officer: User, as_officer: FlaskClient, wait_for_jobs: Any
) -> None:
    rnd = make.round(officer=officer)
    application = eligible(make, rnd, officer)
    person = reviewer(make)
    review = add_reviewer(application, person, None)
    commit()
    submit_review(review)
    wait_for_jobs()
    db.session.expire_all()
    assert application.state == "scored"
    html = text_of(as_officer.get(f"/officer/applications/{application.id}"))
    assert "Reopen the review" in html
    response = as_officer.post(
        f"/officer/reviews/{review.id}/transition",
        data={
            "trigger": "reopen",
            "comment": "Please revisit the budget.",
            "version": review.version,
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert review.state == "in_progress"
    assert application.state == "in_review"


def test_setting_the_rounds_due_date(make: Factory, officer: User, as_officer: FlaskClient) -> None:
    rnd = make.round(officer=officer)
    application = eligible(make, rnd, officer)
    reviews = [add_reviewer(application, reviewer(make), None) for _ in range(2)]
    commit()
    response = as_officer.post(
        f"/officer/rounds/{rnd.id}/due-date",
        data={"round-due_at": "2031-12-01T17:00", "round-origin": application.id},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/officer/applications/{application.id}#reviewers"
    )
    db.session.expire_all()
    # December: New York is on EST, UTC-5.
    assert {r.due_at for r in reviews} == {datetime(2031, 12, 1, 22, 0, tzinfo=UTC)}
    response = as_officer.post(f"/officer/rounds/{rnd.id}/due-date", data={"round-due_at": ""})
    assert response.status_code == 400
    assert "Enter the due date" in error_next_to(text_of(response), "round-due_at")


def test_an_officer_closes_review_early_with_a_reason(
    make: Factory, officer: User, as_officer: FlaskClient, wait_for_jobs: Any
) -> None:
    rnd = make.round(officer=officer)
    application = eligible(make, rnd, officer)
    done = add_reviewer(application, reviewer(make), None)
    add_reviewer(application, reviewer(make), None)
    commit()
    submit_review(done, overall=2)
    wait_for_jobs()
    db.session.expire_all()
    assert application.state == "in_review"
    url = f"/officer/applications/{application.id}/transition"
    as_officer.post(url, data={"trigger": "complete_review", "version": application.version})
    db.session.expire_all()
    assert application.state == "in_review"
    response = as_officer.post(
        url,
        data={
            "trigger": "complete_review",
            "comment": "The second reviewer is unreachable.",
            "version": application.version,
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert application.state == "scored"
    event = db.session.scalar(
        select(AuditEvent)
        .where(AuditEvent.trigger == "complete_review")
        .order_by(AuditEvent.id.desc())
    )
    assert event.actor_id == officer.id and event.comment == "The second reviewer is unreachable."


def test_the_round_page_links_the_review_pages(
    make: Factory, officer: User, as_officer: FlaskClient
) -> None:
    rnd = make.round(officer=officer)
    html = text_of(as_officer.get(f"/officer/rounds/{rnd.id}"))
    for path in ("rubric", "assignment", "progress", "ranking"):
        assert f'href="/officer/rounds/{rnd.id}/{path}"' in html
    assert 'href="/officer/reviewers"' in html
