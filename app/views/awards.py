"""The program officer's side of decisions and awards: the funding line, the awards and their
letters, and the round's award package.

Views parse the form, fire through the workflow engine (`fire`/`available`) or call one
service, and commit once; the rules (budget, range, justification, who may do what) are the
services' and the lifecycles' guards, and their refusals are shown with every reason.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.extensions import db
from app.jobs import commit, retry, rollback
from app.models.application import Application
from app.models.award import Award, AwardPackage
from app.models.outbox import OutboxJob
from app.models.round import Round
from app.services import awards as award_svc
from app.services import decisions
from app.services import packages as package_svc
from app.services.applications import timeline
from app.storage import storage
from app.views import flash_refusal, parse_version, roles_required
from forms.award import (
    BULK_ACTIONS,
    AwardActionForm,
    BulkDecisionForm,
    ButtonForm,
    ConditionsForm,
    DecisionForm,
    FloorForm,
)
from reports.package import package_filename
from workflows import TransitionRefused, available, fire
from workflows.application import LIFECYCLE as APPLICATION
from workflows.award import LIFECYCLE as AWARD

bp = Blueprint("awards", __name__, url_prefix="/officer")
PAGE_SIZE = 50
STALE = "This changed since you opened the page; nothing was done. Check it and try again."


def _round(round_id: int) -> Round:
    return db.session.get(Round, round_id) or abort(404)


def _award(award_id: int) -> Award:
    return db.session.get(Award, award_id) or abort(404)


def _package(package_id: int) -> AwardPackage:
    return db.session.get(AwardPackage, package_id) or abort(404)


def _stream(key: str, mimetype: str, name: str) -> Response:
    """Send a stored file in chunks (the storage's open file when it has one)."""
    st = storage()
    opener = getattr(st, "open", None)
    try:
        fileobj = opener(key) if opener is not None else io.BytesIO(st.read(key))
    except OSError:
        abort(404)
    return send_file(fileobj, mimetype=mimetype, download_name=name, as_attachment=True)


# ---------------------------------------------------------------------------------------------
# The funding line


def _floor(form: FloorForm) -> Decimal | None:
    return form.floor.data if form.validate() else None


@bp.get("/rounds/<int:round_id>/decisions")
@roles_required("officer")
def funding_line(round_id: int) -> Any:
    return _render_funding_line(_round(round_id))


def _render_funding_line(
    rnd: Round,
    row_form: tuple[int, DecisionForm, dict[str, list[str]]] | None = None,
    bulk_form: BulkDecisionForm | None = None,
    bulk_errors: list[str] | None = None,
    selected: set[int] | None = None,
    status: int = 200,
) -> Any:
    floor_form = FloorForm(formdata=request.args)
    line = decisions.funding_line(rnd, _floor(floor_form))
    page = max(1, request.args.get("page", 1, type=int))
    pages = max(1, -(-len(line.rows) // PAGE_SIZE))
    if row_form is not None:  # show the page that holds the row with the errors
        position = next((r.position for r in line.rows if r.application.id == row_form[0]), 1)
        page = (position - 1) // PAGE_SIZE + 1
    page = min(page, pages)
    finalize = [o for o in available(rnd, current_user) if o.transition.trigger == "finalize"]
    packages = db.session.execute(
        select(AwardPackage, OutboxJob)
        .outerjoin(OutboxJob, AwardPackage.job_id == OutboxJob.id)
        .where(AwardPackage.round_id == rnd.id)
        .order_by(AwardPackage.id.desc())
        .limit(5)
    ).all()
    return render_template(
        "awards/funding_line.html",
        rnd=rnd,
        line=line,
        rows=line.rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        page=page,
        pages=pages,
        floor_form=floor_form,
        row_form=row_form,
        bulk_form=bulk_form or BulkDecisionForm(formdata=None),
        bulk_errors=bulk_errors or [],
        selected=selected or set(),
        finalize=finalize[0] if finalize else None,
        packages=packages,
        query={k: v for k, v in request.args.items() if k in ("floor",) and v},
    ), status


def _funding_url(rnd: Round, anchor: str | None = None) -> str:
    args = {k: v for k, v in request.args.items() if k in ("floor", "page") and v}
    return url_for("awards.funding_line", round_id=rnd.id, **args) + (
        f"#{anchor}" if anchor else ""
    )


@bp.post("/rounds/<int:round_id>/decisions/<int:application_id>")
@roles_required("officer")
def decide(round_id: int, application_id: int) -> Any:
    """Award (at the amount given, the request by default), waitlist or decline one
    application, through the engine; a refusal comes back with every reason by its field."""
    rnd = _round(round_id)
    application = db.session.get(Application, application_id)
    if application is None or application.round_id != rnd.id:
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
    try:
        fire(application, trigger, current_user, comment=form.justification.data, data=data)
        commit()
    except TransitionRefused as exc:
        rollback()
        errors = decisions.classify_reasons(exc.reasons)
        return _render_funding_line(rnd, (application.id, form, errors), status=409)
    except StaleDataError:
        rollback()
        return _render_funding_line(rnd, (application.id, form, {"other": [STALE]}), status=409)
    title = APPLICATION.transition(trigger).title.lower()
    award = db.session.scalar(select(Award).where(Award.application_id == application.id))
    detail = f" ({award.number}, {award.amount:,.2f} USD)" if trigger == "award" and award else ""
    flash(f"Done: {title} {application.reference}{detail}.", "success")
    return redirect(_funding_url(rnd, f"row-{application.id}"))


@bp.post("/rounds/<int:round_id>/decisions/bulk")
@roles_required("officer")
def decide_bulk(round_id: int) -> Any:
    """One action and one justification for the selected applications, fired one by one (best
    ranked first), each refused or done on its own."""
    rnd = _round(round_id)
    form = BulkDecisionForm()
    ids = sorted({int(x) for x in request.form.getlist("application_ids") if x.isdigit()})
    selection_error = None if ids else "Select at least one application."
    if not form.validate_on_submit() or selection_error:
        return _render_funding_line(
            rnd,
            bulk_form=form,
            bulk_errors=[selection_error] if selection_error else [],
            selected=set(ids),
            status=400,
        )
    chosen = list(
        db.session.scalars(
            select(Application).where(Application.id.in_(ids), Application.round_id == rnd.id)
        )
    )
    try:
        outcomes = decisions.decide_many(
            chosen, form.action.data, current_user, form.justification.data
        )
        commit()
    except StaleDataError:
        rollback()
        flash(
            "Someone else changed these applications at the same moment; nothing was done.", "error"
        )
        return redirect(_funding_url(rnd))
    found = {a.id for a in chosen}
    line = decisions.funding_line(rnd)
    return render_template(
        "awards/bulk_result.html",
        rnd=rnd,
        title=BULK_ACTIONS[form.action.data],
        justification=form.justification.data,
        done=[o for o in outcomes if o.done],
        refused=[o for o in outcomes if not o.done],
        missing=[i for i in ids if i not in found],
        line=line,
        awards={
            a.application_id: a
            for a in db.session.scalars(select(Award).where(Award.application_id.in_(ids)))
        },
    )


@bp.post("/rounds/<int:round_id>/finalize")
@roles_required("officer")
def finalize(round_id: int) -> Response:
    rnd = _round(round_id)
    form = ButtonForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        fire(rnd, "finalize", current_user)
        commit()
    except TransitionRefused as exc:
        rollback()
        flash_refusal(exc)
    except StaleDataError:
        rollback()
        flash(STALE, "error")
    else:
        flash("The round's decisions are final.", "success")
    return redirect(url_for("awards.funding_line", round_id=rnd.id))


# ---------------------------------------------------------------------------------------------
# Awards


@bp.get("/awards")
@roles_required("officer")
def award_list() -> str:
    round_id = request.args.get("round", type=int)
    state = request.args.get("state") if request.args.get("state") in AWARD.state_names else None
    page = max(1, request.args.get("page", 1, type=int))
    rows, total = award_svc.award_list(round_id, state, page, PAGE_SIZE)
    return render_template(
        "awards/list.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        filters={"round": round_id, "state": state},
        rounds=db.session.scalars(select(Round).order_by(Round.id.desc())).all(),
        states=AWARD.states,
    )


@bp.get("/awards/<int:award_id>")
@roles_required("officer")
def award_detail(award_id: int) -> Any:
    return _render_award(_award(award_id))


def _render_award(
    award: Award,
    conditions_form: ConditionsForm | None = None,
    action: tuple[str, str, list[str]] | None = None,
    status: int = 200,
) -> Any:
    if conditions_form is None:
        conditions_form = ConditionsForm(formdata=None)
        conditions_form.conditions.data = "\n".join(award.conditions)
        conditions_form.version.data = str(award.version)
    # The latest letter job of the award (or of its application, the first one), if unfinished.
    latest_job = db.session.scalars(
        select(OutboxJob)
        .where(
            OutboxJob.name == "render_award_letter",
            (
                (OutboxJob.entity_type == "award") & (OutboxJob.entity_id == award.id)
                | (OutboxJob.entity_type == "application")
                & (OutboxJob.entity_id == award.application_id)
            ),
        )
        .order_by(OutboxJob.id.desc())
        .limit(1)
    ).first()
    letter_jobs = [latest_job] if latest_job is not None and latest_job.status != "done" else []
    return render_template(
        "awards/detail.html",
        award=award,
        application=award.application,
        organization=award.organization,
        rnd=award.round,
        schedule=award_svc.schedule_for(award),
        letters=list(reversed(award.letters)),
        letter_jobs=letter_jobs,
        options=available(award, current_user),
        action=action,
        events=timeline("award", award.id),
        conditions_form=conditions_form,
        now=utcnow(),
    ), status


@bp.post("/awards/<int:award_id>/transition")
@roles_required("officer")
def award_transition(award_id: int) -> Any:
    """Rescind (a reason required; its money returns to the budget), activate, suspend (a
    reason required), resume or close, through the award lifecycle."""
    award = _award(award_id)
    form = AwardActionForm()
    if not form.validate_on_submit():
        abort(400)
    trigger = form.trigger.data
    comment = form.comment.data or ""
    if form.version.data and parse_version(form.version.data) != award.version:
        return _render_award(award, action=(trigger, comment, [STALE]), status=409)
    try:
        event = fire(award, trigger, current_user, comment=comment)
        commit()
    except TransitionRefused as exc:
        rollback()
        return _render_award(award, action=(trigger, comment, list(exc.reasons)), status=409)
    except StaleDataError:
        rollback()
        award = _award(award_id)
        return _render_award(award, action=(trigger, comment, [STALE]), status=409)
    flash(f"Done: award {award.number} is {AWARD.title_of(event.to_state).lower()}.", "success")
    return redirect(url_for("awards.award_detail", award_id=award.id))


@bp.post("/awards/<int:award_id>/conditions")
@roles_required("officer")
def edit_conditions(award_id: int) -> Any:
    award = _award(award_id)
    form = ConditionsForm()
    if award.state != "offered":
        form.conditions.errors = ["Conditions can be changed only while the award is offered."]
        return _render_award(award, conditions_form=form, status=409)
    if not form.validate_on_submit():
        return _render_award(award, conditions_form=form, status=400)
    try:
        award_svc.update_conditions(
            award, form.lines(), parse_version(form.version.data), current_user, utcnow()
        )
        commit()
    except (award_svc.StaleAward, StaleDataError):
        rollback()
        award = _award(award_id)
        form.version.data = str(award.version)
        form.conditions.errors = [
            "The award changed since you opened it; your text is kept below and was not saved."
        ]
        return _render_award(award, conditions_form=form, status=409)
    flash("Conditions saved. Regenerate the letter to include them.", "success")
    return redirect(url_for("awards.award_detail", award_id=award.id) + "#letters")


@bp.post("/awards/<int:award_id>/letter")
@roles_required("officer")
def regenerate_letter(award_id: int) -> Response:
    award = _award(award_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    award_svc.request_letter(award)
    commit()
    flash(
        "The letter is being rendered: a new version if the award's data changed since the "
        "latest one, otherwise the latest one stays.",
        "success",
    )
    return redirect(url_for("awards.award_detail", award_id=award.id) + "#letters")


@bp.get("/awards/<int:award_id>/letters/<int:letter_id>")
@roles_required("officer")
def download_letter(award_id: int, letter_id: int) -> Response:
    award = _award(award_id)
    letter = next((x for x in award.letters if x.id == letter_id), None) or abort(404)
    return _stream(
        letter.storage_key, "application/pdf", f"{award.number}-v{letter.version_no}.pdf"
    )


# ---------------------------------------------------------------------------------------------
# The award package


@bp.post("/rounds/<int:round_id>/package")
@roles_required("officer")
def request_package(round_id: int) -> Response:
    rnd = _round(round_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    package = package_svc.request_package(rnd, current_user)
    commit()
    return redirect(url_for("awards.package", package_id=package.id))


@bp.get("/packages/<int:package_id>")
@roles_required("officer")
def package(package_id: int) -> str:
    package = _package(package_id)
    job = db.session.get(OutboxJob, package.job_id) if package.job_id else None
    return render_template(
        "awards/package.html",
        package=package,
        rnd=package.round,
        job=job,
        running=job is not None and job.status in ("pending", "queued", "running"),
    )


@bp.post("/packages/<int:package_id>/retry")
@roles_required("officer")
def retry_package(package_id: int) -> Response:
    package = _package(package_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        retry(package.job_id or 0)
        commit()
    except ValueError:
        rollback()
        flash("Only a failed build can be retried.", "error")
    else:
        flash("The package is being built again.", "success")
    return redirect(url_for("awards.package", package_id=package.id))


@bp.get("/packages/<int:package_id>/download")
@roles_required("officer")
def download_package(package_id: int) -> Response:
    package = _package(package_id)
    if not package.storage_key:
        abort(404)
    return _stream(package.storage_key, "application/zip", package_filename(package))
