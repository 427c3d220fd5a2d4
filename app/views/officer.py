"""The program officer's pages: rounds, the applications inbox, screening and history."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.extensions import db
from app.jobs import commit, rollback
from app.models.application import Application
from app.models.round import Round
from app.models.user import Organization
from app.services import applications as svc
from app.services.rounds import StaleEdit, create_round, update_round
from app.storage import storage
from app.views import flash_refusal, parse_version, roles_required
from forms.application import ActionForm
from forms.round import RoundForm, initial_data
from workflows import TransitionRefused, available, fire
from workflows.application import LIFECYCLE as APPLICATION

bp = Blueprint("officer", __name__, url_prefix="/officer")
PAGE_SIZE = 50


def _round(round_id: int) -> Round:
    return db.session.get(Round, round_id) or abort(404)


def _application(application_id: int) -> Application:
    return db.session.get(Application, application_id) or abort(404)


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
    rnd = _round(round_id)
    if rnd.state not in ("draft", "open"):
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
    rnd = _round(round_id)
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
    rnd = _round(round_id)
    return _fire_from_form(rnd, url_for("officer.round_detail", round_id=rnd.id))


def _fire_from_form(entity: Any, back: str) -> Response:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if form.version.data and parse_version(form.version.data) != entity.version:
        flash(
            "This record changed since you opened it; nothing was done. Check it and try again.",
            "error",
        )
        return redirect(back)
    try:
        event = fire(entity, form.trigger.data, current_user, comment=form.comment.data)
        commit()
    except TransitionRefused as exc:
        rollback()
        flash_refusal(exc)
    except StaleDataError:
        rollback()
        flash("Someone else changed this record at the same moment; nothing was done.", "error")
    else:
        flash(
            f"Done: {event.trigger.replace('_', ' ')} → {event.to_state.replace('_', ' ')}.",
            "success",
        )
    return redirect(back)


def _filters() -> dict[str, Any]:
    args = request.args
    return {
        "round": args.get("round", type=int),
        "state": args.get("state") if args.get("state") in APPLICATION.state_names else None,
        "q": (args.get("q") or "").strip()[:100],
    }


@bp.get("/applications")
@roles_required("officer")
def applications() -> str:
    filters = _filters()
    page = max(1, request.args.get("page", 1, type=int))
    query = (
        select(Application, Organization, Round)
        .join(Organization, Application.organization_id == Organization.id)
        .join(Round, Application.round_id == Round.id)
    )
    if filters["round"]:
        query = query.where(Application.round_id == filters["round"])
    if filters["state"]:
        query = query.where(Application.state == filters["state"])
    if filters["q"]:
        like = f"%{filters['q']}%"
        query = query.where(
            Application.title.ilike(like)
            | Organization.legal_name.ilike(like)
            | Application.reference.ilike(like)
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.execute(
        query.order_by(Application.submitted_at.desc().nulls_last(), Application.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return render_template(
        "officer/applications.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        filters=filters,
        rounds=db.session.scalars(select(Round).order_by(Round.id.desc())).all(),
        states=APPLICATION.states,
    )


@bp.get("/applications/<int:application_id>")
@roles_required("officer")
def application_detail(application_id: int) -> str:
    application = _application(application_id)
    return render_template(
        "officer/application_detail.html",
        application=application,
        options=available(application, current_user),
        events=svc.timeline("application", application.id),
        letter_endpoint="officer.download_letter",
    )


@bp.post("/applications/<int:application_id>/transition")
@roles_required("officer")
def application_transition(application_id: int) -> Response:
    application = _application(application_id)
    back = url_for("officer.application_detail", application_id=application.id)
    return _fire_from_form(application, back)


@bp.get("/applications/<int:application_id>/letters/<int:letter_id>")
@roles_required("officer")
def download_letter(application_id: int, letter_id: int) -> Response:
    application = _application(application_id)
    letter = next((x for x in application.letters if x.id == letter_id), None) or abort(404)
    return send_file(
        io.BytesIO(storage().read(letter.storage_key)),
        mimetype="application/pdf",
        download_name=letter.filename,
        as_attachment=True,
    )
