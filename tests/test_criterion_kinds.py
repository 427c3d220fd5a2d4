"""Rubric criterion kinds come from one registry (app/criteria.py), checked when the app starts:
a kind the database allows but nobody registered, or a kind without all its parts, stops the
start-up instead of falling into some other kind's branch."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app import create_app, criteria
from app.criteria import (
    KINDS,
    CriterionKind,
    Scored,
    UnknownCriterionKind,
    check_registry,
    criterion_field,
    kind_of,
)
from app.extensions import db
from app.jobs import commit
from app.models.round import Round, RubricCriterion
from app.models.user import User
from app.rules import ranking
from tests.factories import Factory
from tests.test_review_lifecycle import assign, new_reviewer, reload, start, submit


def start_app(tmp_path: Path) -> Any:
    return create_app(
        {
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'startup.sqlite'}",
            "STORAGE_DIR": str(tmp_path / "files"),
        }
    )


def test_every_kind_the_database_allows_is_registered_with_all_its_parts(tmp_path: Path) -> None:
    from app.models.round import CRITERION_KINDS

    assert set(KINDS) == set(CRITERION_KINDS)
    start_app(tmp_path)  # no error


def test_the_app_refuses_to_start_with_a_kind_the_registry_does_not_know(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.models.round as round_model

    monkeypatch.setattr(
        round_model, "CRITERION_KINDS", (*round_model.CRITERION_KINDS, "ranked_choice")
    )
    with pytest.raises(RuntimeError, match="'ranked_choice' is allowed by the database but not"):
        start_app(tmp_path)


def test_the_app_refuses_to_start_with_a_kind_the_database_does_not_allow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Extra(Scored):
        name = "extra"

    monkeypatch.setattr(criteria, "KINDS", {**KINDS, "extra": Extra()})
    with pytest.raises(RuntimeError, match="'extra' is registered but the database does not"):
        start_app(tmp_path)


def test_a_kind_without_its_macros_or_methods_is_refused() -> None:
    class Half(CriterionKind):
        name = "half"
        title = "Half a kind"
        parts = ("answer",)
        macro = "half"

    class Module:  # a template module without the half_* macros
        pass

    with pytest.raises(TypeError) as unbuilt:  # its methods are missing: it cannot be built
        Half()
    for missing in ("fields", "stored", "problems", "aggregate", "csv_cells"):
        assert missing in str(unbuilt.value), missing

    class Unmacroed(Scored):
        name = "half"
        macro = "half"

    with pytest.raises(RuntimeError) as refused:
        check_registry(["half"], {"half": Unmacroed()}, macros=Module)
    for purpose in ("input", "answer", "ranking"):
        assert f"half_{purpose}" in str(refused.value), purpose
    with pytest.raises(RuntimeError, match="has no title"):

        class Untitled(Scored):
            title = ""

        check_registry(["scored"], {"scored": Untitled()})


def test_an_unknown_kind_is_an_error_not_a_fallback() -> None:
    with pytest.raises(UnknownCriterionKind):
        kind_of("ranked_choice")
    assert kind_of("scored").counts_in_score


# --- The yes/no kind, end to end ----------------------------------------------------------------

QUESTION = "The project has a letter of support from a foreign partner"


def rubric_post(rnd: Round, **row: str) -> dict[str, Any]:
    """The rubric editor's form with the round's criteria as they are and one new row."""
    data: dict[str, Any] = {"version": rnd.version, "save": "Save rubric"}
    for i, c in enumerate(rnd.criteria):
        data.update(
            {
                f"criteria-{i}-id": c.id,
                f"criteria-{i}-title": c.title,
                f"criteria-{i}-guidance": c.guidance,
                f"criteria-{i}-weight": str(c.weight),
                f"criteria-{i}-kind": c.kind,
                f"criteria-{i}-required": "y",
            }
        )
    n = len(rnd.criteria)
    data.update({f"criteria-{n}-{name}": value for name, value in row.items()})
    return data


def answers(rnd: Round, yes: bool | None, score: str = "3") -> dict[str, str]:
    """A complete review as the browser posts it; yes None leaves the yes/no question out."""
    data = {"version": "", "overall_score": score, "confidence": "2"}
    for c in rnd.criteria:
        if c.kind == "scored":
            data[criterion_field(c.id, "score")] = score
        elif c.kind == "sufficiency":
            data[criterion_field(c.id, "sufficient")] = "yes"
            data[criterion_field(c.id, "explanation")] = "A capable team."
        elif yes is not None:
            data[criterion_field(c.id, "answer")] = "yes" if yes else "no"
    return data


def error_next_to(html: str, field_id: str) -> str:
    match = re.search(rf'id="{re.escape(field_id)}-error"[^>]*>([^<]*)<', html)
    assert match, f"no error shown next to {field_id}"
    return match.group(1)


def test_the_officer_adds_a_yes_no_criterion_and_bad_input_is_refused_next_to_the_field(
    make: Factory, login: Any
) -> None:
    officer = make.officer()
    rnd = make.round(officer=officer)
    client = login(officer)
    page = client.get(f"/officer/rounds/{rnd.id}/rubric").get_data(as_text=True)
    assert '<option value="yes_no">Yes / no</option>' in page
    n = len(rnd.criteria)
    url = f"/officer/rounds/{rnd.id}/rubric"

    refused = client.post(url, data=rubric_post(rnd, title="", weight="0", kind="yes_no"))
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "Enter the criterion" in error_next_to(html, f"criteria-{n}-title")
    assert "greater than zero" in error_next_to(html, f"criteria-{n}-weight")
    refused = client.post(url, data=rubric_post(rnd, title=QUESTION, weight="1", kind="maybe"))
    assert refused.status_code == 400
    assert "Not a valid choice" in error_next_to(
        refused.get_data(as_text=True), f"criteria-{n}-kind"
    )
    db.session.expire_all()
    assert [c.kind for c in rnd.criteria] == ["scored", "scored", "scored", "sufficiency"]

    saved = client.post(
        url, data=rubric_post(rnd, title=QUESTION, weight="1", kind="yes_no", required="y")
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    db.session.expire_all()
    added = rnd.criteria[-1]
    assert (added.title, added.kind, added.required) == (QUESTION, "yes_no", True)
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'<option selected value="yes_no">|<option value="yes_no" selected', page)


def yes_no_round(make: Factory, officer: User) -> tuple[Round, RubricCriterion]:
    rnd = make.round(officer=officer)
    rnd.criteria.append(
        RubricCriterion(position=9, title=QUESTION, weight=Decimal(1), kind="yes_no")
    )
    commit()
    return rnd, rnd.criteria[-1]


def test_a_reviewer_answers_yes_or_no_and_cannot_submit_without_an_answer(
    make: Factory, login: Any
) -> None:
    officer = make.officer()
    rnd, question = yes_no_round(make, officer)
    setup = assign(make, rnd=rnd, officer=officer)
    start(setup.review)
    review = reload(setup.review)
    client = login(setup.reviewers[0])
    name = criterion_field(question.id, "answer")

    html = client.get(f"/review/{review.id}").get_data(as_text=True)
    fieldset = re.search(rf'<fieldset[^>]*id="{name}".*?</fieldset>', html, re.S)
    assert fieldset, "the question is a fieldset"
    assert re.search(rf"<legend[^>]*>{QUESTION}</legend>", fieldset.group(0))
    radios = re.findall(r'<input[^>]*type="radio"[^>]*>', fieldset.group(0))
    assert len(radios) == 2
    for value, label in (("yes", "Yes"), ("no", "No")):
        assert re.search(rf'<label[^>]*for="{name}-\d"[^>]*>{label}</label>', fieldset.group(0))
        assert any(f'value="{value}"' in r for r in radios)

    data = {**answers(rnd, yes=None), "version": str(review.version)}
    refused = client.post(f"/review/{review.id}", data={**data, "submit_review": "Submit"})
    assert refused.status_code == 422
    assert QUESTION in error_next_to(refused.get_data(as_text=True), name)
    assert reload(review).state == "in_progress"

    bad = client.post(f"/review/{review.id}", data={**data, name: "perhaps", "save": "Save"})
    assert bad.status_code in (400, 422)
    assert "Answer yes or no." in error_next_to(bad.get_data(as_text=True), name)

    data = {**answers(rnd, yes=True), "version": str(reload(review).version)}
    done = client.post(f"/review/{review.id}", data={**data, "submit_review": "Submit"})
    assert done.status_code == 302, done.get_data(as_text=True)[:2000]
    review = reload(review)
    assert review.state == "submitted"
    assert review.criterion_scores[str(question.id)] == {"yes": True}
    shown = client.get(f"/review/{review.id}").get_data(as_text=True)
    assert re.search(rf"<dt>{QUESTION}</dt>\s*<dd>Yes</dd>", shown)


def test_the_ranking_page_and_the_csv_show_the_share_answering_yes_without_changing_the_order(
    make: Factory, login: Any
) -> None:
    officer = make.officer()
    rnd, question = yes_no_round(make, officer)
    reviewers = [new_reviewer(make) for _ in range(3)]
    first = assign(make, rnd=rnd, officer=officer, reviewer_users=reviewers)
    second = assign(make, rnd=rnd, officer=officer, reviewer_users=reviewers)
    scores = {c.id: 3 for c in rnd.criteria}
    for setup, yes in ((first, (False, False, False)), (second, (True, True, False))):
        for review, answer in zip(setup.reviews, yes, strict=True):
            entries = {
                str(c.id): {"score": scores[c.id]}
                if c.kind == "scored"
                else {"sufficient": True, "explanation": "Fine."}
                for c in rnd.criteria
            }
            entries[str(question.id)] = {"yes": answer}
            submit(review, criterion_scores=entries)

    rows = ranking.rank_round(rnd)
    # Identical scores: the order is the tie-break's (lower application id), yes answers or not.
    assert [r.application_id for r in rows] == [first.application.id, second.application.id]
    assert [r.aggregates[question.id] for r in rows] == [(0, 3), (2, 3)]
    assert rows[0].criterion_score == rows[1].criterion_score == pytest.approx(3.0)

    client = login(officer)
    html = client.get(f"/officer/rounds/{rnd.id}/ranking").get_data(as_text=True)
    assert QUESTION in html
    assert "0% yes (0 of 3)" in html and "67% yes (2 of 3)" in html

    text = client.get(f"/officer/rounds/{rnd.id}/ranking.csv").get_data(as_text=True)
    header, *body = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    record = [dict(zip(header, row, strict=True)) for row in body]
    count = f"criterion_{question.id}_yes: {QUESTION}"
    percent = f"criterion_{question.id}_yes_percent: {QUESTION}"
    assert [(r["reference"], r[count], r[percent]) for r in record] == [
        (first.application.reference, "0/3", "0.0"),
        (second.application.reference, "2/3", "66.7"),
    ]
