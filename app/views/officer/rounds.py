"""Rounds: the list, creating and editing a round, its page and its transitions."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.services import applications as svc
from app.services import rounds as round_svc
from app.services.rounds import StaleEdit, create_round, update_round
from app.states import RoundState
from app.unit_of_work import attempt, returns_to
from app.views import parse_version, roles_required
from app.views.officer.common import bp, fire_from_form, round_or_404
from forms.round import RoundForm, initial_data
from workflows import available
from workflows.application import LIFECYCLE as APPLICATION

STALE_ROUND = (
    "This round was changed by someone else since you opened it. Your input is "
    "kept below and was not saved; check it and save again."
)


@bp.get("/rounds")
@roles_required("officer")
def rounds() -> str:
    return render_template(
        "officer/rounds.html",
        rounds=round_svc.rounds_by_closing(),
        counts=round_svc.state_counts_by_round(),
        now=utcnow(),
    )


@bp.route("/rounds/new", methods=["GET", "POST"])
@roles_required("officer")
def new_round() -> str | Response:
    form = RoundForm()
    if form.validate_on_submit():
        rnd = create_round(form.values())
        flash("Round created as a draft. Open it when it is ready.", "success")
        return redirect(url_for("officer.round_detail", round_id=rnd.id))
    return render_template("officer/round_form.html", form=form, rnd=None)


@bp.route("/rounds/<int:round_id>/edit", methods=["GET", "POST"])
@roles_required("officer")
def edit_round(round_id: int) -> str | Response | tuple[str, int]:
    rnd = round_or_404(round_id)
    if rnd.state not in RoundState.tagged("editable"):
        flash("A round can be edited only before it closes.", "error")
        return redirect(url_for("officer.round_detail", round_id=rnd.id))
    if request.method == "GET":
        form = RoundForm(data=initial_data(rnd))
        form.version.data = rnd.version
        return render_template("officer/round_form.html", form=form, rnd=rnd)
    form = RoundForm()
    if not form.validate_on_submit():
        return render_template("officer/round_form.html", form=form, rnd=rnd)
    try:
        with attempt(rnd):
            update_round(rnd, form.values(), parse_version(form.version.data))
    except (StaleEdit, StaleDataError):
        form.version.data = rnd.version
        flash(STALE_ROUND, "error")
        return render_template("officer/round_form.html", form=form, rnd=rnd), 409
    flash("Round saved.", "success")
    return redirect(url_for("officer.round_detail", round_id=rnd.id))


@bp.get("/rounds/<int:round_id>")
@roles_required("officer")
def round_detail(round_id: int) -> str:
    rnd = round_or_404(round_id)
    return render_template(
        "officer/round_detail.html",
        rnd=rnd,
        counts=round_svc.state_counts(rnd),
        states=APPLICATION.states,
        options=available(rnd, current_user),
        events=svc.timeline("round", rnd.id),
        now=utcnow(),
    )


@bp.post("/rounds/<int:round_id>/transition")
@roles_required("officer")
@returns_to("officer.round_detail")
def round_transition(round_id: int) -> Response:
    rnd = round_or_404(round_id)
    return fire_from_form(rnd, url_for("officer.round_detail", round_id=rnd.id))
