"""Awards: the list, an award's page, its transitions, conditions and letters."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.models.award import Award
from app.services import awards as award_svc
from app.services.applications import timeline
from app.services.rounds import rounds_newest_first
from app.unit_of_work import attempt
from app.views import get_for_user_or_404, parse_version, roles_required
from app.views.officer import common
from app.views.officer.common import STALE, bp, stream_file
from forms.award import AwardActionForm, ButtonForm, ConditionsForm
from workflows import TransitionRefused, available, fire
from workflows.award import LIFECYCLE as AWARD


@bp.get("/awards")
@roles_required("officer")
def award_list() -> str:
    round_id = request.args.get("round", type=int)
    state = request.args.get("state") if request.args.get("state") in AWARD.state_names else None
    page = max(1, request.args.get("page", 1, type=int))
    rows, total = award_svc.award_list(round_id, state, page, common.PAGE_SIZE)
    return render_template(
        "officer/awards/list.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // common.PAGE_SIZE)),
        filters={"round": round_id, "state": state},
        rounds=rounds_newest_first(),
        states=AWARD.states,
    )


@bp.get("/awards/<int:award_id>")
@roles_required("officer")
def award_detail(award_id: int) -> Any:
    return _render_award(get_for_user_or_404(Award, award_id))


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
    return render_template(
        "officer/awards/detail.html",
        award=award,
        application=award.application,
        organization=award.organization,
        rnd=award.round,
        schedule=award_svc.schedule_for(award),
        letters=list(reversed(award.letters)),
        letter_jobs=award_svc.unfinished_letter_jobs(award),
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
    award = get_for_user_or_404(Award, award_id)
    form = AwardActionForm()
    if not form.validate_on_submit():
        abort(400)
    trigger = form.trigger.data
    comment = form.comment.data or ""
    if form.version.data and parse_version(form.version.data) != award.version:
        return _render_award(award, action=(trigger, comment, [STALE]), status=409)
    try:
        with attempt():
            event = fire(award, trigger, current_user, comment=comment)
    except TransitionRefused as exc:
        return _render_award(award, action=(trigger, comment, list(exc.reasons)), status=409)
    except StaleDataError:
        return _render_award(award, action=(trigger, comment, [STALE]), status=409)
    flash(f"Done: award {award.number} is {AWARD.title_of(event.to_state).lower()}.", "success")
    return redirect(url_for("officer.award_detail", award_id=award.id))


@bp.post("/awards/<int:award_id>/conditions")
@roles_required("officer")
def edit_conditions(award_id: int) -> Any:
    award = get_for_user_or_404(Award, award_id)
    form = ConditionsForm()
    if award.state != "offered":
        form.conditions.errors = ["Conditions can be changed only while the award is offered."]
        return _render_award(award, conditions_form=form, status=409)
    if not form.validate_on_submit():
        return _render_award(award, conditions_form=form, status=400)
    try:
        with attempt():
            award_svc.update_conditions(
                award, form.lines(), parse_version(form.version.data), current_user, utcnow()
            )
    except (award_svc.StaleAward, StaleDataError):
        form.version.data = str(award.version)
        form.conditions.errors = [
            "The award changed since you opened it; your text is kept below and was not saved."
        ]
        return _render_award(award, conditions_form=form, status=409)
    flash("Conditions saved. Regenerate the letter to include them.", "success")
    return redirect(url_for("officer.award_detail", award_id=award.id) + "#letters")


@bp.post("/awards/<int:award_id>/letter")
@roles_required("officer")
def regenerate_letter(award_id: int) -> Response:
    award = get_for_user_or_404(Award, award_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    award_svc.request_letter(award)
    flash(
        "The letter is being rendered: a new version if the award's data changed since the "
        "latest one, otherwise the latest one stays.",
        "success",
    )
    return redirect(url_for("officer.award_detail", award_id=award.id) + "#letters")


@bp.get("/awards/<int:award_id>/letters/<int:letter_id>")
@roles_required("officer")
def download_award_letter(award_id: int, letter_id: int) -> Response:
    award = get_for_user_or_404(Award, award_id)
    letter = next((x for x in award.letters if x.id == letter_id), None) or abort(404)
    return stream_file(
        letter.storage_key, "application/pdf", f"{award.number}-v{letter.version_no}.pdf"
    )
