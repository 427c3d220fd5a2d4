"""The funding line: one decision at a time or in bulk, and finalizing the round."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from app.models.application import Application
from app.models.round import Round
from app.services import awards as award_svc
from app.services import decisions
from app.unit_of_work import attempt, returns_to
from app.views import get_for_user_or_404, parse_version, roles_required
from app.views.officer import common
from app.views.officer.common import STALE, bp, round_or_404
from forms.award import BULK_ACTIONS, BulkDecisionForm, ButtonForm, DecisionForm, FloorForm
from workflows import TransitionRefused, available, fire
from workflows.application import LIFECYCLE as APPLICATION


def _floor(form: FloorForm) -> Decimal | None:
    return form.floor.data if form.validate() else None


@bp.get("/rounds/<int:round_id>/decisions")
@roles_required("officer")
def funding_line(round_id: int) -> Any:
    return _render_funding_line(round_or_404(round_id))


def _render_funding_line(
    rnd: Round,
    row_form: tuple[int, DecisionForm, dict[str, list[str]]] | None = None,
    bulk_form: BulkDecisionForm | None = None,
    bulk_errors: list[str] | None = None,
    selected: set[int] | None = None,
    status: int = 200,
) -> Any:
    floor_form = FloorForm(formdata=request.args)
    line = decisions.funding_line(
        rnd,
        _floor(floor_form),
        page=max(1, request.args.get("page", 1, type=int)),
        per_page=common.PAGE_SIZE,
        showing=row_form[0] if row_form else None,  # the page holding the form with errors
    )
    finalize = [o for o in available(rnd, current_user) if o.transition.trigger == "finalize"]
    return render_template(
        "officer/awards/funding_line.html",
        rnd=rnd,
        line=line,
        rows=line.rows,
        page=line.page,
        pages=line.pages,
        floor_form=floor_form,
        row_form=row_form,
        bulk_form=bulk_form or BulkDecisionForm(formdata=None),
        bulk_errors=bulk_errors or [],
        selected=selected or set(),
        finalize=finalize[0] if finalize else None,
        packages=award_svc.recent_packages(rnd),
        query={k: v for k, v in request.args.items() if k in ("floor",) and v},
    ), status


def _funding_url(rnd: Round, anchor: str | None = None) -> str:
    args = {k: v for k, v in request.args.items() if k in ("floor", "page") and v}
    return url_for("officer.funding_line", round_id=rnd.id, **args) + (
        f"#{anchor}" if anchor else ""
    )


@bp.post("/rounds/<int:round_id>/decisions/<int:application_id>")
@roles_required("officer")
def decide(round_id: int, application_id: int) -> Any:
    """Award (at the amount given, the request by default), waitlist or decline one
    application, through the engine; a refusal comes back with every reason by its field."""
    rnd = round_or_404(round_id)
    application = get_for_user_or_404(Application, application_id)
    if application.round_id != rnd.id:
        abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():
        if form.trigger.errors:
            abort(400)
        return _render_funding_line(rnd, (application.id, form, {}), status=400)
    if form.version.data and parse_version(form.version.data) != application.version:
        return _render_funding_line(rnd, (application.id, form, {"other": [STALE]}), status=409)
    trigger = form.trigger.data
    data = {"amount": form.amount.decimal} if trigger == "award" else {}
    data["ranking_version"] = form.ranking_version.data
    try:
        with attempt():
            fire(application, trigger, current_user, comment=form.justification.data, data=data)
    except TransitionRefused as exc:
        errors = decisions.classify_reasons(exc.reasons)
        return _render_funding_line(rnd, (application.id, form, errors), status=409)
    except StaleDataError:
        return _render_funding_line(rnd, (application.id, form, {"other": [STALE]}), status=409)
    flash(_decided(application, trigger), "success")
    return redirect(_funding_url(rnd, f"row-{application.id}"))


def _decided(application: Application, trigger: str) -> str:
    title = APPLICATION.transition(trigger).title.lower()
    award = award_svc.award_of(application.id) if trigger == "award" else None
    detail = f" ({award.number}, {award.amount:,.2f} USD)" if award else ""
    return f"Done: {title} {application.reference}{detail}."


@bp.post("/rounds/<int:round_id>/decisions/bulk")
@roles_required("officer")
def decide_bulk(round_id: int) -> Any:
    """One action and one justification for the selected applications, fired one by one (best
    ranked first), each refused or done on its own."""
    rnd = round_or_404(round_id)
    form = BulkDecisionForm()
    ids = sorted({int(x) for x in request.form.getlist("application_ids") if x.isdigit()})
    selection_error = None if ids else "Select at least one application."
    if not form.validate_on_submit() or selection_error:
        errors = [selection_error] if selection_error else []
        return _render_funding_line(
            rnd, bulk_form=form, bulk_errors=errors, selected=set(ids), status=400
        )
    chosen = decisions.round_applications(rnd, ids)
    try:
        with attempt():
            outcomes = decisions.decide_many(
                chosen,
                form.action.data,
                current_user,
                form.justification.data,
                ranking_version=form.ranking_version.data or None,
            )
    except StaleDataError:
        flash(STALE_BULK, "error")
        return redirect(_funding_url(rnd))
    return _render_bulk_result(rnd, form, ids, {a.id for a in chosen}, outcomes)


def _render_bulk_result(
    rnd: Round, form: BulkDecisionForm, ids: list[int], found: set[int], outcomes: list[Any]
) -> str:
    return render_template(
        "officer/awards/bulk_result.html",
        rnd=rnd,
        title=BULK_ACTIONS[form.action.data],
        justification=form.justification.data,
        done=[o for o in outcomes if o.done],
        refused=[o for o in outcomes if not o.done],
        missing=[i for i in ids if i not in found],
        line=decisions.funding_line(rnd, per_page=common.PAGE_SIZE),  # its budget summary
        awards=award_svc.awards_by_application(ids),
    )


STALE_BULK = "Someone else changed these applications at the same moment; nothing was done."


@bp.post("/rounds/<int:round_id>/finalize")
@roles_required("officer")
@returns_to("officer.funding_line")
def finalize(round_id: int) -> Response:
    """Make the round's decisions final; a refusal or a stale write is answered app-wide."""
    rnd = round_or_404(round_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    fire(rnd, "finalize", current_user)
    flash("The round's decisions are final.", "success")
    return redirect(url_for("officer.funding_line", round_id=rnd.id))
