"""Impact reports: grantees file them; officers track, review and reschedule them."""

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
from app.models.award import Award
from app.models.impact_report import ImpactReport, ReportAttachment
from app.models.round import Round
from app.models.user import Organization
from app.services import impact_reports as svc
from app.services.applications import UploadRejected, timeline
from app.services.rounds import StaleEdit
from app.storage import storage
from app.views import flash_refusal, parse_version, roles_required
from forms.application import ActionForm
from forms.impact_report import (
    AttachmentForm,
    MoveDueDateForm,
    OneOffReportForm,
    form_values,
    initial_data,
    report_form_class,
)
from workflows import TransitionRefused, available, fire
from workflows.impact_report import LIFECYCLE

bp = Blueprint("impact", __name__)
PAGE_SIZE = 50
STATUSES = {
    "overdue": "Overdue",
    "due_soon": "Due soon",
    "awaiting_review": "Submitted, awaiting review",
    "accepted": "Accepted",
}


def _report(report_id: int) -> ImpactReport:
    report = db.session.get(ImpactReport, report_id)
    if report is None:
        abort(404)
    if current_user.role == "applicant" and report.organization_id != current_user.organization_id:
        abort(404)  # another jurisdiction's report does not exist, as far as this user can tell
    return report


def _areas(report: ImpactReport) -> list[str]:
    return report.award.application.priority_areas


# --- the grantee -------------------------------------------------------------------------------


@bp.get("/applicant/reports/")
@roles_required("applicant")
def my_reports() -> str:
    rows = db.session.execute(
        select(ImpactReport, Award.number, Application.title)
        .join(Award, ImpactReport.award_id == Award.id)
        .join(Application, Award.application_id == Application.id)
        .where(ImpactReport.organization_id == current_user.organization_id)
        .order_by(ImpactReport.due_on, ImpactReport.id)
    ).all()
    today = utcnow().date()
    return render_template(
        "impact/my_reports.html",
        rows=[(r, number, title, svc.due_status(r, today)) for r, number, title in rows],
    )


@bp.route("/applicant/reports/<int:report_id>", methods=["GET", "POST"])
@roles_required("applicant")
def file_report(report_id: int) -> str | Response | tuple[str, int]:
    report = _report(report_id)
    areas = _areas(report)
    form_class = report_form_class(areas)
    editable = report.state in svc.OPEN_STATES
    stale = False
    refusal: list[str] = []
    if request.method == "POST":
        if not editable:
            flash("This report is submitted and can no longer be changed.", "info")
            return redirect(url_for("impact.file_report", report_id=report.id))
        form = form_class()
        if form.validate_on_submit():
            try:
                svc.save_draft(report, form_values(form, areas), parse_version(form.version.data))
                if form.submit.data:
                    fire(report, "submit", current_user)
                commit()
            except (StaleEdit, StaleDataError):
                rollback()
                db.session.refresh(report)
                form.version.data = report.version
                stale = True
            except TransitionRefused as exc:
                # The guards refuse before anything moves: keep the draft, say what is missing.
                commit()
                form.version.data = report.version
                refusal = exc.reasons
            else:
                flash("Report submitted." if form.submit.data else "Draft saved.", "success")
                return redirect(url_for("impact.file_report", report_id=report.id))
    else:
        form = form_class(data=initial_data(report, areas))
        form.version.data = report.version
    status = 409 if stale else (422 if refusal else 200)
    return render_template(
        "impact/file_report.html",
        report=report,
        form=form,
        areas=areas,
        editable=editable,
        stale=stale,
        refusal=refusal,
        problems=svc.report_problems(report) if editable else [],
        targets=svc.targets_for(report),
        attachment_form=AttachmentForm(),
        events=timeline("impact_report", report.id),
        status=svc.due_status(report, utcnow().date()),
    ), status


@bp.post("/applicant/reports/<int:report_id>/attachments")
@roles_required("applicant")
def upload_attachment(report_id: int) -> Response:
    report = _report(report_id)
    form = AttachmentForm()
    if form.validate_on_submit():
        upload = form.attachment.data
        try:
            svc.add_attachment(
                report, upload.filename or "attachment.pdf", upload.read(), current_user
            )
            commit()
        except (UploadRejected, svc.ReportLocked) as exc:
            rollback()
            flash(f"Not uploaded: {exc}.", "error")
        else:
            flash("Attachment uploaded.", "success")
    else:
        flash("Choose a PDF file to upload.", "error")
    return redirect(url_for("impact.file_report", report_id=report.id) + "#attachments")


@bp.get("/reports/<int:report_id>/attachments/<int:attachment_id>")
@roles_required("applicant", "officer")
def download_attachment(report_id: int, attachment_id: int) -> Response:
    report = _report(report_id)
    attachment = db.session.get(ReportAttachment, attachment_id)
    if attachment is None or attachment.report_id != report.id:
        abort(404)
    return send_file(
        io.BytesIO(storage().read(attachment.storage_key)),
        mimetype="application/pdf",
        download_name=attachment.filename,
        as_attachment=True,
    )


# --- the program officer -----------------------------------------------------------------------


@bp.get("/officer/reports")
@roles_required("officer")
def reports() -> str:
    today = utcnow().date()
    round_id = request.args.get("round", type=int)
    state = (
        request.args.get("state") if request.args.get("state") in LIFECYCLE.state_names else None
    )
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    page = max(1, request.args.get("page", 1, type=int))
    query = (
        select(
            ImpactReport,
            Award.number,
            Organization.legal_name,
            Organization.state_code,
            Round.title,
        )
        .join(Award, ImpactReport.award_id == Award.id)
        .join(Organization, ImpactReport.organization_id == Organization.id)
        .join(Round, Award.round_id == Round.id)
    )
    if round_id:
        query = query.where(Award.round_id == round_id)
    if state:
        query = query.where(ImpactReport.state == state)
    if status:
        query = query.where(svc.status_filter(status, today))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.execute(
        query.order_by(ImpactReport.due_on, ImpactReport.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    counts = {
        key: db.session.scalar(
            select(func.count(ImpactReport.id)).where(svc.status_filter(key, today))
        )
        for key in STATUSES
    }
    return render_template(
        "impact/reports.html",
        rows=[(r, n, org, st, rt, svc.due_status(r, today)) for r, n, org, st, rt in rows],
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        filters={"round": round_id, "state": state, "status": status},
        rounds=db.session.scalars(select(Round).order_by(Round.id.desc())).all(),
        states=LIFECYCLE.states,
        statuses=STATUSES,
        counts=counts,
    )


@bp.get("/officer/reports/<int:report_id>")
@roles_required("officer")
def review_report(report_id: int) -> str:
    report = _report(report_id)
    return _render_review(report, MoveDueDateForm(data={"due_on": report.due_on}))


def _render_review(report: ImpactReport, move_form: Any, code: int = 200) -> Any:
    return render_template(
        "impact/review_report.html",
        report=report,
        targets=svc.targets_for(report),
        areas=_areas(report),
        options=available(report, current_user),
        events=timeline("impact_report", report.id),
        move_form=move_form,
        status=svc.due_status(report, utcnow().date()),
    ), code


@bp.post("/officer/reports/<int:report_id>/transition")
@roles_required("officer")
def report_transition(report_id: int) -> Response:
    report = _report(report_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if form.version.data and parse_version(form.version.data) != report.version:
        flash("This report changed since you opened it; nothing was done.", "error")
    else:
        try:
            fire(report, form.trigger.data, current_user, comment=form.comment.data)
            commit()
        except TransitionRefused as exc:
            rollback()
            flash_refusal(exc)
        except StaleDataError:
            rollback()
            flash("Someone else changed this report at the same moment; nothing was done.", "error")
        else:
            flash(f"Report {report.state_title.lower()}.", "success")
    return redirect(url_for("impact.review_report", report_id=report.id))


@bp.post("/officer/reports/<int:report_id>/due")
@roles_required("officer")
def move_due(report_id: int) -> Any:
    report = _report(report_id)
    form = MoveDueDateForm()
    if form.validate_on_submit():
        try:
            svc.move_due_date(report, form.due_on.data, form.reason.data, current_user, utcnow())
            commit()
        except (ValueError, svc.ReportLocked) as exc:
            rollback()
            form.due_on.errors = [str(exc)]
        else:
            flash("Due date moved.", "success")
            return redirect(url_for("impact.review_report", report_id=report.id))
    return _render_review(report, form, 422)


@bp.route("/officer/awards/<int:award_id>/reports/new", methods=["GET", "POST"])
@roles_required("officer")
def add_report(award_id: int) -> Any:
    award = db.session.get(Award, award_id) or abort(404)
    form = OneOffReportForm()
    if form.validate_on_submit():
        try:
            report = svc.add_one_off(
                award,
                form.title.data,
                form.period_start.data,
                form.period_end.data,
                form.due_on.data,
                form.reason.data,
                current_user,
                utcnow(),
            )
            commit()
        except ValueError as exc:
            rollback()
            form.period_end.errors = [str(exc)]
        else:
            flash("Report added to the schedule.", "success")
            return redirect(url_for("impact.review_report", report_id=report.id))
    return render_template("impact/add_report.html", award=award, form=form)
