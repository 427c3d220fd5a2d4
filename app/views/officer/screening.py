"""The applications inbox and bulk screening (eligible / ineligible), each through the engine."""

from __future__ import annotations

from typing import Any

from flask import flash, render_template, request
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from app.services import screening
from app.services.rounds import rounds_newest_first
from app.unit_of_work import attempt
from app.views import roles_required
from app.views.officer import common
from app.views.officer.common import bp
from forms.review_admin import BulkScreenForm
from workflows.application import LIFECYCLE as APPLICATION

STALE_SCREENING = (
    "Someone else changed these applications at the same moment; nothing was done. "
    "Check the list and try again."
)


def _filters() -> dict[str, Any]:
    args = request.args
    return {
        "round": args.get("round", type=int),
        "state": args.get("state") if args.get("state") in APPLICATION.state_names else None,
        "q": (args.get("q") or "").strip()[:100],
    }


def _render_inbox(
    form: BulkScreenForm,
    page: int,
    selected: set[int] | None = None,
    selection_error: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    filters = _filters()
    inbox = screening.applications_page(filters, page, common.PAGE_SIZE)
    return render_template(
        "officer/applications.html",
        screen_form=form,
        selected=selected or set(),
        selection_error=selection_error,
        rows=inbox.rows,
        total=inbox.total,
        page=inbox.page,
        pages=inbox.pages,
        filters=filters,
        rounds=rounds_newest_first(),
        states=APPLICATION.states,
        screenable=any(a.state == "submitted" for a, _, _ in inbox.rows),
    ), status


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int))


@bp.get("/applications")
@roles_required("officer")
def applications() -> tuple[str, int]:
    return _render_inbox(BulkScreenForm(formdata=None), _page())


@bp.post("/applications/screen")
@roles_required("officer")
def screen_applications() -> tuple[str, int]:
    """Mark every selected application eligible or ineligible, each through the engine; the page
    reports which were done and which were refused, with the reasons."""
    form = BulkScreenForm()
    ids = sorted({int(x) for x in request.form.getlist("application_ids") if x.isdigit()})
    selection_error = None if ids else "Select at least one application."
    if not form.validate_on_submit() or selection_error:
        return _render_inbox(form, _page(), set(ids), selection_error, status=400)
    trigger = form.decision.data
    try:
        with attempt():
            result = screening.screen(ids, trigger, current_user, form.reason.data)
    except StaleDataError:
        flash(STALE_SCREENING, "error")
        return _render_inbox(form, 1, set(ids), status=409)
    return render_template(
        "officer/screening_result.html",
        trigger=trigger,
        title=APPLICATION.transition(trigger).title,
        reason=form.reason.data,
        done=result.done,
        refused=result.refused,
        missing=result.missing,
        filters=_filters(),
    ), 200
