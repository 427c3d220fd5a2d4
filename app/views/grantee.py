"""The grantee's pages: its organization's awards, each award's letter, and accepting or refusing
an offer as the authorized official."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.models.award import Award
from app.services import acceptance as svc
from app.services.applications import timeline
from app.services.awards import schedule_for
from app.services.rounds import StaleEdit
from app.storage import storage
from app.unit_of_work import attempt
from app.views import get_for_user_or_404, parse_version, roles_required
from forms.award_acceptance import AcceptanceForm, RefusalForm
from workflows import TransitionRefused

bp = Blueprint("grantee", __name__, url_prefix="/applicant/awards")

STALE_MESSAGE = (
    "This award was changed since you opened it, by the program office or a colleague. Nothing "
    "was done and your input is kept below: read the award again, then answer again."
)


def _to_award(award: Award) -> Response:
    return redirect(url_for("grantee.detail", award_id=award.id))


def _sentence(reason: str) -> str:
    reason = reason.strip()
    return (reason[:1].upper() + reason[1:]).rstrip(".") + "."


def _acceptance_form(award: Award, bound: bool) -> AcceptanceForm:
    name = award.organization.legal_name
    if bound:
        return AcceptanceForm(organization_name=name)
    form = AcceptanceForm(formdata=None, organization_name=name)
    form.version.data = str(award.version)
    return form


def _refusal_form(award: Award, bound: bool) -> RefusalForm:
    if bound:
        return RefusalForm(prefix=RefusalForm.PREFIX)
    form = RefusalForm(formdata=None, prefix=RefusalForm.PREFIX)
    form.version.data = str(award.version)
    return form


@bp.get("/")
@roles_required("applicant")
def index() -> str:
    rows = svc.organization_awards(current_user.organization_id)
    return render_template("grantee/index.html", rows=rows, now=utcnow())


@bp.get("/<int:award_id>")
@roles_required("applicant")
def detail(award_id: int) -> str:
    return _render_detail(get_for_user_or_404(Award, award_id))


def _render_detail(
    award: Award,
    accept_form: AcceptanceForm | None = None,
    refusal_form: RefusalForm | None = None,
    general: tuple[str, ...] | list[str] = (),
    answered: str | None = None,
    stale: bool = False,
    status: int = 200,
) -> tuple[str, int]:
    now = utcnow()
    reports = svc.impact_reports(award)
    return render_template(
        "grantee/detail.html",
        award=award,
        rnd=award.round,
        application=award.application,
        accept_form=accept_form or _acceptance_form(award, bound=False),
        refusal_form=refusal_form or _refusal_form(award, bound=False),
        general=list(general),
        answered=answered,
        blocked=svc.answer_blocked(award, current_user, now) if award.state == "offered" else [],
        schedule=schedule_for(award),
        reports=reports,
        letters=list(reversed(award.letters)),
        events=timeline("award", award.id),
        stale=stale,
        stale_message=STALE_MESSAGE,
        now=now,
    ), status


@bp.post("/<int:award_id>/accept")
@roles_required("applicant")
def accept(award_id: int) -> Response | tuple[str, int]:
    award = get_for_user_or_404(Award, award_id)
    if award.state == "accepted":
        # A double-clicked Accept: the first click accepted; the second lands on the award.
        return _to_award(award)
    form = _acceptance_form(award, bound=True)
    if not form.validate_on_submit():
        return _render_detail(award, accept_form=form, answered="accept", status=422)
    data = svc.signature(form.name.data, form.title.data, form.consent.data)
    now = utcnow()
    try:
        with attempt(award):
            svc.accept_award(award, current_user, data, parse_version(form.version.data), now)
    except (StaleEdit, StaleDataError, TransitionRefused) as exc:
        return _not_accepted(award, form, exc, data, now)
    flash(
        f"You accepted award {award.number}. The impact reports it owes are listed below.",
        "success",
    )
    return _to_award(award)


def _not_accepted(
    award: Award, form: AcceptanceForm, exc: Exception, data: Any, now: datetime
) -> Response | tuple[str, int]:
    """The award as saved now: accepted by the other click of a double click, changed by
    someone else (409, the input kept), or the acceptance refused (422, reasons by field)."""
    if award.state == "accepted":
        return _to_award(award)
    if not isinstance(exc, TransitionRefused):
        form.version.data = str(award.version)
        return _render_detail(award, accept_form=form, answered="accept", stale=True, status=409)
    by_field = svc.refusal_by_field(award, "accept", current_user, now, data=data)
    for key in svc.SIGNATURE_FIELDS:
        form[key].errors = [_sentence(r) for r in by_field.get(key, [])]
    general = _general(by_field, exc)
    return _render_detail(award, accept_form=form, general=general, answered="accept", status=422)


def _general(by_field: dict[str, list[str]], exc: TransitionRefused) -> list[str]:
    """The reasons that belong to no one field, as sentences."""
    general = by_field.get(svc.GENERAL) or ([] if by_field else exc.reasons)
    return [_sentence(r) for r in general]


@bp.post("/<int:award_id>/refuse")
@roles_required("applicant")
def refuse(award_id: int) -> Response | tuple[str, int]:
    award = get_for_user_or_404(Award, award_id)
    if award.state == "refused":  # a double-clicked Refuse
        return _to_award(award)
    form = _refusal_form(award, bound=True)
    if not form.validate_on_submit():
        return _render_detail(award, refusal_form=form, answered="refuse", status=422)
    reason = (form.reason.data or "").strip()
    now = utcnow()
    try:
        with attempt(award):
            svc.refuse_award(award, current_user, reason, parse_version(form.version.data), now)
    except (StaleEdit, StaleDataError, TransitionRefused) as exc:
        return _not_refused(award, form, exc, reason, now)
    flash(f"You refused award {award.number}. The program office has been told.", "success")
    return _to_award(award)


def _not_refused(
    award: Award, form: RefusalForm, exc: Exception, reason: str, now: datetime
) -> Response | tuple[str, int]:
    """As `_not_accepted`, for a refusal."""
    if award.state == "refused":
        return _to_award(award)
    if not isinstance(exc, TransitionRefused):
        form.version.data = str(award.version)
        return _render_detail(award, refusal_form=form, answered="refuse", stale=True, status=409)
    by_field = svc.refusal_by_field(award, "refuse", current_user, now, comment=reason)
    form.reason.errors = [_sentence(r) for r in by_field.get("reason", [])]
    general = _general(by_field, exc)
    return _render_detail(award, refusal_form=form, general=general, answered="refuse", status=422)


@bp.get("/<int:award_id>/letter")
@roles_required("applicant")
def letter(award_id: int) -> Response:
    """The award's current letter (its latest version)."""
    return _send_letter(get_for_user_or_404(Award, award_id), None)


@bp.get("/<int:award_id>/letters/<int:version_no>")
@roles_required("applicant")
def letter_version(award_id: int, version_no: int) -> Response:
    """An earlier version of the letter: every version is kept."""
    return _send_letter(get_for_user_or_404(Award, award_id), version_no)


def _send_letter(award: Award, version_no: int | None) -> Response:
    found = svc.letter_version(award, version_no)
    if found is None:
        abort(404)
    response = send_file(
        io.BytesIO(storage().read(found.storage_key)),
        mimetype="application/pdf",
        download_name=f"{award.number}-award-letter-v{found.version_no}.pdf",
        as_attachment=True,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
