"""Rounds: the list, creating and editing a round, its page and its transitions."""

from __future__ import annotations

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.extensions import db
from app.jobs import commit, rollback
from app.models.application import Application
from app.models.round import Round
from app.services import applications as svc
from app.services.rounds import StaleEdit, create_round, update_round
from app.states import RoundState
from app.views import parse_version, roles_required
from app.views.officer.common import bp, fire_from_form, round_or_404
from forms.round import RoundForm, initial_data
from workflows import available
from workflows.application import LIFECYCLE as APPLICATION


@bp.get("/rounds")
@roles_required("officer")
def rounds() -> str:
    rounds = db.session.scalars(select(Round).order_by(Round.closes_at.desc())).all()
    counts: dict[int, dict[str, int]] = {}
    for round_id, state, n in db.session.execute(
        select(Application.round_id, Application.state, func.count()).group_by(
            Application.round_id, Application.state
        )
    ):
        counts.setdefault(round_id, {})[state] = n
    return render_template("officer/rounds.html", rounds=rounds, counts=counts, now=utcnow())


@bp.route("/rounds/new", methods=["GET", "POST"])
@roles_required("officer")
def new_round() -> str | Response:
    form = RoundForm()
    if form.validate_on_submit():
        rnd = create_round(form.values())
        commit()
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
    else:
        form = RoundForm()
        if form.validate_on_submit():
            try:
                update_round(rnd, form.values(), parse_version(form.version.data))
                commit()
            except (StaleEdit, StaleDataError):
                rollback()
                db.session.refresh(rnd)
                form.version.data = rnd.version
                flash(
                    "This round was changed by someone else since you opened it. Your input is "
                    "kept below and was not saved; check it and save again.",
                    "error",
                )
                return render_template("officer/round_form.html", form=form, rnd=rnd), 409
            flash("Round saved.", "success")
            return redirect(url_for("officer.round_detail", round_id=rnd.id))
    return render_template("officer/round_form.html", form=form, rnd=rnd)


@bp.get("/rounds/<int:round_id>")
@roles_required("officer")
def round_detail(round_id: int) -> str:
    rnd = round_or_404(round_id)
    counts = dict(
        db.session.execute(
            select(Application.state, func.count())
            .where(Application.round_id == rnd.id)
            .group_by(Application.state)
        ).all()
    )
    return render_template(
        "officer/round_detail.html",
        rnd=rnd,
        counts=counts,
        states=APPLICATION.states,
        options=available(rnd, current_user),
        events=svc.timeline("round", rnd.id),
        now=utcnow(),
    )


@bp.post("/rounds/<int:round_id>/transition")
@roles_required("officer")
def round_transition(round_id: int) -> Response:
    rnd = round_or_404(round_id)
    return fire_from_form(rnd, url_for("officer.round_detail", round_id=rnd.id))
