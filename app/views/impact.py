"""Impact reports: grantees file them; officers track, review and reschedule them."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.models.award import Award
from app.models.impact_report import ImpactReport
from app.services import impact_reports as svc
from app.services import report_lists
from app.services.applications import timeline
from app.services.pdf_uploads import UploadRejected, pdf_name
from app.services.rounds import StaleEdit
from app.storage import storage
from app.unit_of_work import attempt, keep_changes, returns_to
from app.views import get_for_user_or_404, parse_version, roles_required
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
STATUSES = report_lists.STATUSES


def _areas(report: ImpactReport) -> list[str]:
    return report.award.application.priority_areas


def _to_report(report: ImpactReport) -> Response:
    return redirect(url_for("impact.file_report", report_id=report.id))


def _to_review(report: ImpactReport) -> Response:
    return redirect(url_for("impact.review_report", report_id=report.id))


# --- the grantee -------------------------------------------------------------------------------


@bp.get("/applicant/reports/")
@roles_required("applicant")
def my_reports() -> str:
    rows = report_lists.organization_reports(current_user.organization_id, utcnow().date())
    return render_template("impact/my_reports.html", rows=rows)


@bp.route("/applicant/reports/<int:report_id>", methods=["GET", "POST"])
@roles_required("applicant")
def file_report(report_id: int) -> str | Response | tuple[str, int]:
    report = get_for_user_or_404(ImpactReport, report_id)
    areas = _areas(report)
    form_class = report_form_class(areas)
    editable = report.state in svc.OPEN_STATES  # as the person saw it when they sent the form
    if request.method != "POST":
        form = form_class(data=initial_data(report, areas))
        form.version.data = report.version
        return _filing_page(report, form, areas, editable)
    if not editable:
        flash("This report is submitted and can no longer be changed.", "info")
        return _to_report(report)
    form = form_class()
    if not form.validate_on_submit():
        return _filing_page(report, form, areas, editable)
    return _save_filing(report, form, areas, editable)


def _save_filing(
    report: ImpactReport, form: Any, areas: list[str], editable: bool
) -> Response | tuple[str, int]:
    """Save the draft, then submit it if asked: a refused submit keeps the draft."""
    try:
        with attempt(report):
            svc.save_draft(report, form_values(form, areas), parse_version(form.version.data))
        if form.submit.data:
            with attempt(report):
                fire(report, "submit", current_user)
    except (StaleEdit, StaleDataError):
        form.version.data = report.version  # the saved version, read again
        return _filing_page(report, form, areas, editable, stale=True)
    except TransitionRefused as exc:
        # The guards refuse before anything moves: keep the draft, say what is missing.
        keep_changes()
        form.version.data = report.version
        return _filing_page(report, form, areas, editable, refusal=exc.reasons)
    flash("Report submitted." if form.submit.data else "Draft saved.", "success")
    return _to_report(report)


def _filing_page(
    report: ImpactReport,
    form: Any,
    areas: list[str],
    editable: bool,
    stale: bool = False,
    refusal: list[str] | None = None,
    attachment_form: AttachmentForm | None = None,
) -> tuple[str, int]:
    status = 409 if stale else (422 if refusal or attachment_form is not None else 200)
    return render_template(
        "impact/file_report.html",
        report=report,
        form=form,
        areas=areas,
        editable=editable,
        stale=stale,
        refusal=refusal or [],
        problems=svc.report_problems(report) if editable else [],
        targets=svc.targets_for(report),
        attachment_form=attachment_form or AttachmentForm(),
        events=timeline("impact_report", report.id),
        status=svc.due_status(report, utcnow().date()),
    ), status


@bp.post("/applicant/reports/<int:report_id>/attachments")
@roles_required("applicant")
def upload_attachment(report_id: int) -> str | Response | tuple[str, int]:
    report = get_for_user_or_404(ImpactReport, report_id)
    form = AttachmentForm()
    if form.validate_on_submit():
        upload = form.attachment.data
        name = upload.filename or "attachment.pdf"
        try:
            with attempt():
                svc.add_attachment(report, name, upload.read(), current_user)
        except (UploadRejected, svc.ReportLocked) as exc:
            form.attachment.errors = [f"Not uploaded: {exc}."]
        else:
            flash("Attachment uploaded.", "success")
            return redirect(url_for("impact.file_report", report_id=report.id) + "#attachments")
    # The refusal is shown next to the file field, on the filing page as it was.
    areas = _areas(report)
    report_form = report_form_class(areas)(data=initial_data(report, areas))
    report_form.version.data = report.version
    editable = report.state in svc.OPEN_STATES
    return _filing_page(report, report_form, areas, editable, attachment_form=form)


@bp.get("/reports/<int:report_id>/attachments/<int:attachment_id>")
@roles_required("applicant", "officer")
def download_attachment(report_id: int, attachment_id: int) -> Response:
    report = get_for_user_or_404(ImpactReport, report_id)
    attachment = next((a for a in report.attachments if a.id == attachment_id), None)
    if attachment is None:
        abort(404)
    return send_file(
        io.BytesIO(storage().read(attachment.storage_key)),
        mimetype="application/pdf",
        download_name=pdf_name(attachment.filename, "attachment.pdf"),
        as_attachment=True,
    )


# --- the program officer -----------------------------------------------------------------------


@bp.get("/officer/reports")
@roles_required("officer")
def reports() -> str:
    round_id = request.args.get("round", type=int)
    state = request.args.get("state")
    state = state if state in LIFECYCLE.state_names else None
    status = request.args.get("status")
    status = status if status in STATUSES else None
    page = max(1, request.args.get("page", 1, type=int))
    found = report_lists.officer_reports(utcnow().date(), round_id, state, status, page)
    return render_template(
        "impact/reports.html",
        rows=found.rows,
        total=found.total,
        page=found.page,
        pages=found.pages,
        filters={"round": round_id, "state": state, "status": status},
        rounds=report_lists.rounds_newest_first(),
        states=LIFECYCLE.states,
        statuses=STATUSES,
        counts=found.counts,
    )


@bp.get("/officer/reports/<int:report_id>")
@roles_required("officer")
def review_report(report_id: int) -> str:
    report = get_for_user_or_404(ImpactReport, report_id)
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
@returns_to("impact.review_report")
def report_transition(report_id: int) -> Response:
    report = get_for_user_or_404(ImpactReport, report_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if form.version.data and parse_version(form.version.data) != report.version:
        flash("This report changed since you opened it; nothing was done.", "error")
        return _to_review(report)
    try:
        with attempt():
            fire(report, form.trigger.data, current_user, comment=form.comment.data)
    except StaleDataError:
        flash("Someone else changed this report at the same moment; nothing was done.", "error")
    else:
        flash(f"Report {report.state_title.lower()}.", "success")
    return _to_review(report)


@bp.post("/officer/reports/<int:report_id>/due")
@roles_required("officer")
def move_due(report_id: int) -> Any:
    report = get_for_user_or_404(ImpactReport, report_id)
    form = MoveDueDateForm()
    if form.validate_on_submit():
        try:
            with attempt():
                svc.move_due_date(
                    report, form.due_on.data, form.reason.data, current_user, utcnow()
                )
        except (ValueError, svc.ReportLocked) as exc:
            form.due_on.errors = [str(exc)]
        else:
            flash("Due date moved.", "success")
            return _to_review(report)
    return _render_review(report, form, 422)


@bp.route("/officer/awards/<int:award_id>/reports/new", methods=["GET", "POST"])
@roles_required("officer")
def add_report(award_id: int) -> Any:
    award = get_for_user_or_404(Award, award_id)
    form = OneOffReportForm()
    if form.validate_on_submit():
        try:
            with attempt():
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
        except ValueError as exc:
            form.period_end.errors = [str(exc)]
        else:
            flash("Report added to the schedule.", "success")
            return _to_review(report)
    return render_template("impact/add_report.html", award=award, form=form)
