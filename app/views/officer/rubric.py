"""The round's rubric editor."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy.orm.exc import StaleDataError

from app.models.round import Round
from app.services.rounds import StaleEdit
from app.services.rubrics import RubricLocked, replace_criteria, rubric_locked, rubric_problems
from app.unit_of_work import attempt
from app.views import parse_version, roles_required
from app.views.officer.common import bp, round_or_404
from forms.review_admin import RubricForm


def _rubric_data(rnd: Round) -> dict[str, Any]:
    return {
        "criteria": [
            {
                "id": str(c.id),
                "title": c.title,
                "guidance": c.guidance,
                "weight": c.weight,
                "kind": c.kind,
                "required": c.required,
            }
            for c in rnd.criteria
        ]
    }


@bp.route("/rounds/<int:round_id>/rubric", methods=["GET", "POST"])
@roles_required("officer")
def rubric(round_id: int) -> Any:
    rnd = round_or_404(round_id)
    locked = rubric_locked(rnd)
    if request.method == "GET" or locked:
        form = RubricForm(formdata=None, data=_rubric_data(rnd))
        form.version.data = rnd.version
        status = 200
        if request.method == "POST":  # locked since the page was opened
            status = 409
        return _render_rubric(rnd, form, locked=locked, status=status)
    form = RubricForm()
    if form.add_row.data:
        # A blank row to fill, without JavaScript: the page comes back with the input kept.
        form.criteria.append_entry({"kind": "scored", "required": True})
        return _render_rubric(rnd, form)
    if not form.validate_on_submit():
        return _render_rubric(rnd, form, status=400)
    return _save_rubric(rnd, form)


def _save_rubric(rnd: Round, form: RubricForm) -> Any:
    try:
        with attempt(rnd):
            replace_criteria(rnd, form.rows(), parse_version(form.version.data))
            problems = rubric_problems(rnd)
            if problems:
                raise ValueError("; ".join(problems))
    except RubricLocked:
        return _render_rubric(rnd, form, locked=True, status=409)
    except (StaleEdit, StaleDataError):
        form.version.data = rnd.version
        return _render_rubric(rnd, form, stale=True, status=409)
    except ValueError as exc:
        return _render_rubric(rnd, form, problems=[str(exc)], status=400)
    flash("Rubric saved.", "success")
    return redirect(url_for("officer.rubric", round_id=rnd.id))


def _render_rubric(
    rnd: Round,
    form: RubricForm,
    locked: bool = False,
    stale: bool = False,
    problems: list[str] | None = None,
    status: int = 200,
) -> Any:
    return render_template(
        "officer/rubric.html",
        rnd=rnd,
        form=form,
        locked=locked,
        stale=stale,
        problems=problems or [],
    ), status
