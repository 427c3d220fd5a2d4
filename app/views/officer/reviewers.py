"""Reviewers: the reviewer and conflict list, and reviewers added, removed, swapped, recused or
reopened by hand on an application."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from app.domain import PRIORITY_AREAS, REGIONS, US_STATES
from app.models.application import Application
from app.models.review import Review
from app.rules import review_progress
from app.services import conflicts
from app.services import review_assignment as assigning
from app.unit_of_work import attempt
from app.views import get_for_user_or_404, parse_version, roles_required
from app.views.officer import common
from app.views.officer.applications import render_application
from app.views.officer.common import bp
from forms.review_admin import (
    AddReviewerForm,
    ConflictForm,
    ReviewActionForm,
    SwapReviewerForm,
    aware,
)
from workflows import TransitionRefused, fire
from workflows.review import LIFECYCLE as REVIEW

STALE_REVIEW = "This review changed since you opened the page; nothing was done. Check it again."


def reason_sentence(exc: Exception) -> str:
    """A refusal as a sentence: capitalised, with a full stop."""
    text = "; ".join(exc.reasons) if isinstance(exc, TransitionRefused) else str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def reviewers_panel(application: Application) -> str:
    return url_for("officer.application_detail", application_id=application.id) + "#reviewers"


@bp.post("/applications/<int:application_id>/reviewers")
@roles_required("officer")
def add_reviewer(application_id: int) -> Any:
    application = get_for_user_or_404(Application, application_id)
    form = AddReviewerForm()
    form.reviewer.validate_choice = False  # the service says why a reviewer cannot be added
    if not form.validate_on_submit():
        return render_application(application, add_form=form, status=400)
    reviewer = assigning.reviewer_by_id(form.reviewer.data)
    if reviewer is None:
        form.reviewer.errors = ["Choose a reviewer from the list."]
        return render_application(application, add_form=form, status=400)
    due_at = aware(form.due_at.data, application.round.zone)
    try:
        with attempt():
            assigning.add_reviewer(
                application, reviewer, due_at or assigning.shared_due_date(application)
            )
    except (assigning.AssignmentRefused, TransitionRefused) as exc:
        form.reviewer.errors = [reason_sentence(exc)]
        return render_application(application, add_form=form, status=409)
    except IntegrityError:  # added by someone else at the same moment
        form.reviewer.errors = [f"{reviewer.display_name} is already on this application."]
        return render_application(application, add_form=form, status=409)
    flash(f"{reviewer.display_name} added as a reviewer.", "success")
    return redirect(reviewers_panel(application))


@bp.post("/reviews/<int:review_id>/remove")
@roles_required("officer")
def remove_reviewer(review_id: int) -> Any:
    review = get_for_user_or_404(Review, review_id)
    application = review.application
    form = ReviewActionForm()
    if not form.validate_on_submit():
        abort(400)
    if form.version.data and parse_version(form.version.data) != review.version:
        return render_application(
            application, review_errors={review.id: [STALE_REVIEW]}, status=409
        )
    name = review.reviewer.display_name
    try:
        with attempt():
            assigning.remove_reviewer(review)
    except assigning.AssignmentRefused as exc:
        errors = {review_id: [reason_sentence(exc)]}
        return render_application(application, review_errors=errors, status=409)
    flash(f"{name} removed from this application.", "success")
    return redirect(reviewers_panel(application))


@bp.post("/reviews/<int:review_id>/swap")
@roles_required("officer")
def swap_reviewer(review_id: int) -> Any:
    review = get_for_user_or_404(Review, review_id)
    application = review.application
    form = SwapReviewerForm(prefix=f"swap{review.id}")
    form.replacement.validate_choice = False
    if not form.validate_on_submit():
        return render_application(application, swap_form=(review.id, form), status=400)
    replacement = assigning.reviewer_by_id(form.replacement.data)
    if replacement is None:
        form.replacement.errors = ["Choose a reviewer from the list."]
        return render_application(application, swap_form=(review.id, form), status=400)
    old_name = review.reviewer.display_name
    try:
        with attempt():
            assigning.swap_reviewer(review, replacement, None)
    except (assigning.AssignmentRefused, TransitionRefused) as exc:
        form.replacement.errors = [reason_sentence(exc)]
        return render_application(application, swap_form=(review_id, form), status=409)
    flash(f"{old_name} replaced by {replacement.display_name}.", "success")
    return redirect(reviewers_panel(application))


@bp.post("/reviews/<int:review_id>/transition")
@roles_required("officer")
def review_transition(review_id: int) -> Any:
    """Recuse a reviewer (a reason is required) or reopen a submitted review."""
    review = get_for_user_or_404(Review, review_id)
    application = review.application
    form = ReviewActionForm()
    trigger = request.form.get("trigger", "")
    if not form.validate_on_submit() or trigger not in ("recuse", "reopen"):
        abort(400)
    comment = (form.comment.data or "").strip()
    problem, status = None, 409
    if form.version.data and parse_version(form.version.data) != review.version:
        problem = STALE_REVIEW
    elif trigger == "recuse" and not comment:
        problem, status = "Give the reason for the recusal.", 400
    else:
        try:
            with attempt():
                fire(review, trigger, current_user, comment=comment)
        except TransitionRefused as exc:
            problem = reason_sentence(exc)
        except StaleDataError:
            problem = STALE_REVIEW
    if problem is not None:
        return render_application(application, review_errors={review_id: [problem]}, status=status)
    title = REVIEW.transition(trigger).title
    flash(f"Done: {title.lower()} for {review.reviewer.display_name}.", "success")
    return redirect(reviewers_panel(application))


# ---------------------------------------------------------------------------------------------
# Reviewers and conflicts


@bp.route("/reviewers", methods=["GET", "POST"])
@roles_required("officer")
def reviewers() -> Any:
    people = conflicts.reviewers_with_profiles()
    form = ConflictForm(
        reviewers=[u for u, _ in people if u.is_active_account],
        organizations=conflicts.organizations_by_name(),
    )
    if request.method == "POST":
        if form.validate_on_submit() and (recorded := _record_conflict(form)) is not None:
            return recorded
        return _render_reviewers(people, form, status=400)
    return _render_reviewers(people, form)


def _record_conflict(form: ConflictForm) -> Response | None:
    """Record the conflict the form describes; None when the form's input is refused."""
    reviewer = assigning.reviewer_by_id(form.reviewer.data)
    reference = (form.application.data or "").strip()
    organization, application, error = conflicts.conflict_target(
        int(form.organization.data), reference
    )
    if error:
        form.application.errors = [error]
    if reviewer is None or organization is None or error:
        return None
    conflicts.add_conflict(
        reviewer,
        organization,
        form.kind.data,
        "officer",
        note=form.note.data or "",
        application=application,
        created_by=current_user,
    )
    flash(
        f"Conflict recorded: {reviewer.display_name} and {organization.legal_name}"
        + (f" ({application.reference})" if application else "")
        + ".",
        "success",
    )
    return redirect(url_for("officer.reviewers") + "#conflicts")


def _render_reviewers(people: list[Any], form: ConflictForm, status: int = 200) -> Any:
    page = max(1, request.args.get("page", 1, type=int))
    rows, total = conflicts.conflicts_page(page, common.PAGE_SIZE)
    return render_template(
        "officer/reviewers.html",
        people=people,
        loads=review_progress.reviewer_loads([u.id for u, _ in people]),
        form=form,
        conflicts=rows,
        conflict_total=total,
        page=page,
        pages=max(1, -(-total // common.PAGE_SIZE)),
        areas=PRIORITY_AREAS,
        regions=REGIONS,
        states=US_STATES,
    ), status
