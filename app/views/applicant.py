"""The applicant's pages: rounds, applications section by section, submission and history."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.models.application import Application
from app.services import accounts
from app.services import applications as svc
from app.services.pdf_uploads import pdf_name
from app.services.rounds import StaleEdit, open_rounds
from app.storage import storage
from app.unit_of_work import attempt, discard_changes, returns_to
from app.views import get_for_user_or_404, parse_version, roles_required
from app.views.application_sections import HANDLERS, build_form
from forms.application import ActionForm, LetterUploadForm
from forms.auth import ColleagueInviteForm
from workflows import TransitionRefused, available, fire

bp = Blueprint("applicant", __name__, url_prefix="/applicant")

STALE_MESSAGE = (
    "This application was changed by someone else since you opened it. Your input is kept "
    "below and has not been saved: check it against the saved version, then save again."
)


def _to_overview(application: Application) -> Response:
    return redirect(url_for("applicant.overview", application_id=application.id))


def _to_section(application: Application, key: str) -> Response:
    return redirect(url_for("applicant.section", application_id=application.id, key=key))


@bp.get("/")
@roles_required("applicant")
def dashboard() -> str:
    rows = svc.organization_applications(current_user.organization_id)
    now = utcnow()
    return render_template("applicant/dashboard.html", rows=rows, rounds=open_rounds(now), now=now)


@bp.get("/rounds")
@roles_required("applicant")
def rounds() -> str:
    now = utcnow()
    return render_template("applicant/rounds.html", rounds=open_rounds(now), now=now)


@bp.post("/rounds/<int:round_id>/start")
@roles_required("applicant")
def start(round_id: int) -> Response:
    rnd = svc.accepting_round(round_id, utcnow()) or abort(404)
    application = svc.start_application(rnd, current_user)
    flash("Application started. Fill in the sections in any order and save as you go.", "success")
    return _to_overview(application)


@bp.get("/applications/<int:application_id>")
@roles_required("applicant")
def overview(application_id: int) -> str:
    application = get_for_user_or_404(Application, application_id)
    return _render_overview(application)


def _render_overview(application: Application, submit_problems: bool = False) -> str:
    problems = svc.section_problems(application) if application.state == "draft" else {}
    options = available(application, current_user)
    submit_reasons = [
        reason
        for o in options
        if o.transition.trigger == "submit"
        for reason in o.reasons
        if not reason.startswith("incomplete")
    ]
    return render_template(
        "applicant/overview.html",
        application=application,
        sections=svc.SECTIONS,
        problems=problems,
        show_problems=submit_problems,
        options=options,
        submit_reasons=submit_reasons,
        events=svc.timeline("application", application.id),
        now=utcnow(),
    )


@bp.post("/applications/<int:application_id>/transition")
@roles_required("applicant")
@returns_to("applicant.overview")
def transition(application_id: int) -> str | Response:
    application = get_for_user_or_404(Application, application_id)
    form = ActionForm()
    if not form.validate_on_submit() or form.trigger.data not in ("submit", "withdraw"):
        abort(400)
    trigger = form.trigger.data
    if trigger == "submit" and application.state == "submitted":
        # A double-clicked Submit: the first click did it; the second lands on the receipt.
        return redirect(url_for("applicant.receipt", application_id=application.id))
    if form.version.data and parse_version(form.version.data) != application.version:
        flash(STALE_MESSAGE.split(".")[0] + ". Review it and try again.", "error")
        return _to_overview(application)
    try:
        with attempt():
            fire(application, trigger, current_user, comment=form.comment.data)
    except TransitionRefused:
        if trigger != "submit":
            raise  # answered app-wide: the reasons, back on the overview
        flash("The application was not submitted. Fix the problems listed below.", "error")
        return _render_overview(application, submit_problems=True)
    except StaleDataError:
        return redirect(url_for("applicant.receipt", application_id=application.id))
    if trigger == "submit":
        return redirect(url_for("applicant.receipt", application_id=application.id))
    flash("The application is withdrawn.", "success")
    return _to_overview(application)


@bp.get("/applications/<int:application_id>/receipt")
@roles_required("applicant")
def receipt(application_id: int) -> str:
    application = get_for_user_or_404(Application, application_id)
    if application.reference is None:
        abort(404)
    return render_template("applicant/receipt.html", application=application)


@bp.route("/applications/<int:application_id>/sections/<key>", methods=["GET", "POST"])
@roles_required("applicant")
def section(application_id: int, key: str) -> str | Response | tuple[str, int]:
    application = get_for_user_or_404(Application, application_id)
    if key == "letters":
        return _letters_page(application, LetterUploadForm())
    if key not in HANDLERS:
        abort(404)
    if application.state != "draft":
        flash("This application is submitted and can no longer be changed.", "info")
        return _to_overview(application)
    if request.method != "POST":
        return _section_page(application, key, build_form(key, application, formdata=False))
    form = build_form(key, application, formdata=True)
    if not form.validate_on_submit():
        return _section_page(application, key, form)
    try:
        with attempt(application):
            HANDLERS[key].save(application, form, parse_version(form.version.data))
    except (StaleEdit, StaleDataError):
        form.version.data = application.version  # the saved version, read again
        return _section_page(application, key, form, stale=True)
    flash(f"{svc.SECTION_TITLES[key]} saved.", "success")
    return _to_section(application, key)


def _section_page(
    application: Application, key: str, form: Any, stale: bool = False
) -> tuple[str, int]:
    problems = svc.section_problems(application)[key]
    return render_template(
        f"applicant/section_{key}.html",
        application=application,
        form=form,
        key=key,
        sections=svc.SECTIONS,
        section_title=svc.SECTION_TITLES[key],
        problems=problems,
        need=_needs(problems),
        stale=stale,
        stale_message=STALE_MESSAGE,
    ), (409 if stale else 200)


def _needs(problems: list[svc.Problem]) -> dict[str, list[str]]:
    """After a refused Submit (?check=1), each problem is shown next to its field."""
    if request.args.get("check") != "1":
        return {}
    need: dict[str, list[str]] = {}
    for p in problems:
        need.setdefault(p.field, []).append(p.message)
    return need


def _letters_page(
    application: Application, form: LetterUploadForm, status: int = 200
) -> tuple[str, int]:
    form.version.data = application.version
    problems = svc.section_problems(application)["letters"] if application.state == "draft" else []
    return render_template(
        "applicant/section_letters.html",
        application=application,
        form=form,
        key="letters",
        sections=svc.SECTIONS,
        section_title=svc.SECTION_TITLES["letters"],
        problems=problems,
        need=_needs(problems),
        stale=False,
    ), status


@bp.post("/applications/<int:application_id>/letters")
@roles_required("applicant")
def upload_letter(application_id: int) -> str | Response | tuple[str, int]:
    application = get_for_user_or_404(Application, application_id)
    form = LetterUploadForm()
    if not form.validate_on_submit():
        return _letters_page(application, form, 422)
    upload = form.letter.data
    version = parse_version(form.version.data)
    try:
        with attempt():
            name = upload.filename or "letter.pdf"
            svc.add_letter(application, name, upload.read(), current_user, version)
    except svc.UploadRejected as exc:
        form.letter.errors = [f"Not uploaded: {exc}."]
        return _letters_page(application, form, 422)
    except (StaleEdit, StaleDataError):
        form.letter.errors = ["The application changed since you opened this page; upload again."]
        return _letters_page(application, form, 409)
    except PermissionError:
        abort(403)
    flash("Letter uploaded.", "success")
    return _to_section(application, "letters")


@bp.post("/applications/<int:application_id>/letters/<int:letter_id>/delete")
@roles_required("applicant")
def delete_letter(application_id: int, letter_id: int) -> Response:
    application = get_for_user_or_404(Application, application_id)
    try:
        with attempt():
            svc.remove_letter(application, letter_id, parse_version(request.form.get("version")))
    except LookupError:
        abort(404)
    except (StaleEdit, StaleDataError):
        flash("The application changed since you opened this page; nothing was removed.", "error")
    except PermissionError:
        abort(403)
    else:
        flash("Letter removed.", "success")
    return _to_section(application, "letters")


@bp.get("/applications/<int:application_id>/letters/<int:letter_id>")
@roles_required("applicant")
def download_letter(application_id: int, letter_id: int) -> Response:
    application = get_for_user_or_404(Application, application_id)
    letter = next((x for x in application.letters if x.id == letter_id), None)
    if letter is None:
        abort(404)
    return send_file(
        io.BytesIO(storage().read(letter.storage_key)),
        mimetype="application/pdf",
        download_name=pdf_name(letter.filename, "letter.pdf"),
        as_attachment=True,
    )


@bp.route("/organization", methods=["GET", "POST"])
@roles_required("applicant")
def organization() -> str | Response:
    org = current_user.organization
    form = ColleagueInviteForm()
    if form.validate_on_submit():
        try:
            accounts.invite(form.email.data, "applicant", current_user, utcnow(), organization=org)
        except accounts.AccountError as exc:
            discard_changes()
            form.email.errors.append(str(exc))
        else:
            flash(f"Invitation sent to {form.email.data}.", "success")
            return redirect(url_for("applicant.organization"))
    return render_template(
        "applicant/organization.html",
        org=org,
        colleagues=accounts.colleagues(org.id),
        form=form,
    )
