"""Reviewers: the reviewer and conflict list, and reviewers added, removed, swapped, recused or
reopened by hand on an application."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.domain import PRIORITY_AREAS, REGIONS, US_STATES
from app.extensions import db
from app.jobs import commit, rollback
from app.models.application import Application
from app.models.review import Conflict, Review, ReviewerProfile
from app.models.user import Organization, User
from app.services import ranking
from app.services import review_assignment as assigning
from app.services.conflicts import add_conflict
from app.states import ReviewState
from app.views import parse_version, roles_required
from app.views.officer import common
from app.views.officer.applications import render_application
from app.views.officer.common import application_or_404, bp
from forms.review_admin import (
    AddReviewerForm,
    ConflictForm,
    ReviewActionForm,
    SwapReviewerForm,
    aware,
)
from workflows import TransitionRefused, fire
from workflows.review import LIFECYCLE as REVIEW


def reviewer_or_none(raw: str | None) -> User | None:
    user = db.session.get(User, int(raw)) if (raw or "").isdigit() else None
    return user if user is not None and user.role == "reviewer" else None


@bp.post("/applications/<int:application_id>/reviewers")
@roles_required("officer")
def add_reviewer(application_id: int) -> Any:
    application = application_or_404(application_id)
    form = AddReviewerForm()
    form.reviewer.validate_choice = False  # the service says why a reviewer cannot be added
    if not form.validate_on_submit():
        return render_application(application, add_form=form, status=400)
    reviewer = reviewer_or_none(form.reviewer.data)
    if reviewer is None:
        form.reviewer.errors = ["Choose a reviewer from the list."]
        return render_application(application, add_form=form, status=400)
    due_at = aware(form.due_at.data, application.round.zone) or _shared_due_date(application)
    try:
        assigning.add_reviewer(application, reviewer, due_at)
        commit()
    except (assigning.AssignmentRefused, TransitionRefused) as exc:
        rollback()
        form.reviewer.errors = [reason_sentence(exc)]
        return render_application(application, add_form=form, status=409)
    except IntegrityError:  # added by someone else at the same moment
        rollback()
        form.reviewer.errors = [f"{reviewer.display_name} is already on this application."]
        return render_application(application, add_form=form, status=409)
    flash(f"{reviewer.display_name} added as a reviewer.", "success")
    return redirect(reviewers_panel(application))


def _shared_due_date(application: Application) -> Any:
    """The due date the application's other open reviews share, so a late addition matches."""
    return db.session.scalar(
        select(func.max(Review.due_at)).where(
            Review.application_id == application.id,
            Review.state.in_(ReviewState.tagged("active")),
        )
    )


def reason_sentence(exc: Exception) -> str:
    """A refusal as a sentence: capitalised, with a full stop."""
    text = "; ".join(exc.reasons) if isinstance(exc, TransitionRefused) else str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _review(review_id: int) -> Review:
    return db.session.get(Review, review_id) or abort(404)


def reviewers_panel(application: Application) -> str:
    return url_for("officer.application_detail", application_id=application.id) + "#reviewers"


@bp.post("/reviews/<int:review_id>/remove")
@roles_required("officer")
def remove_reviewer(review_id: int) -> Any:
    review = _review(review_id)
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
        assigning.remove_reviewer(review)
        commit()
    except assigning.AssignmentRefused as exc:
        rollback()
        return render_application(
            application, review_errors={review_id: [reason_sentence(exc)]}, status=409
        )
    flash(f"{name} removed from this application.", "success")
    return redirect(reviewers_panel(application))


STALE_REVIEW = "This review changed since you opened the page; nothing was done. Check it again."


@bp.post("/reviews/<int:review_id>/swap")
@roles_required("officer")
def swap_reviewer(review_id: int) -> Any:
    review = _review(review_id)
    application = review.application
    form = SwapReviewerForm(prefix=f"swap{review.id}")
    form.replacement.validate_choice = False
    if not form.validate_on_submit():
        return render_application(application, swap_form=(review.id, form), status=400)
    replacement = reviewer_or_none(form.replacement.data)
    if replacement is None:
        form.replacement.errors = ["Choose a reviewer from the list."]
        return render_application(application, swap_form=(review.id, form), status=400)
    old_name = review.reviewer.display_name
    try:
        assigning.swap_reviewer(review, replacement, None)
        commit()
    except (assigning.AssignmentRefused, TransitionRefused) as exc:
        rollback()
        form.replacement.errors = [reason_sentence(exc)]
        return render_application(
            db.session.get(Application, application.id), swap_form=(review_id, form), status=409
        )
    flash(f"{old_name} replaced by {replacement.display_name}.", "success")
    return redirect(reviewers_panel(application))


@bp.post("/reviews/<int:review_id>/transition")
@roles_required("officer")
def review_transition(review_id: int) -> Any:
    """Recuse a reviewer (a reason is required) or reopen a submitted review."""
    review = _review(review_id)
    application = review.application
    form = ReviewActionForm()
    trigger = request.form.get("trigger", "")
    if not form.validate_on_submit() or trigger not in ("recuse", "reopen"):
        abort(400)
    if form.version.data and parse_version(form.version.data) != review.version:
        return render_application(
            application, review_errors={review.id: [STALE_REVIEW]}, status=409
        )
    comment = (form.comment.data or "").strip()
    if trigger == "recuse" and not comment:
        return render_application(
            application,
            review_errors={review.id: ["Give the reason for the recusal."]},
            status=400,
        )
    try:
        fire(review, trigger, current_user, comment=comment)
        commit()
    except TransitionRefused as exc:
        rollback()
        return render_application(
            application, review_errors={review_id: [reason_sentence(exc)]}, status=409
        )
    except StaleDataError:
        rollback()
        return render_application(
            db.session.get(Application, application.id),
            review_errors={review_id: [STALE_REVIEW]},
            status=409,
        )
    title = REVIEW.transition(trigger).title
    flash(f"Done: {title.lower()} for {review.reviewer.display_name}.", "success")
    return redirect(reviewers_panel(application))


# ---------------------------------------------------------------------------------------------
# Reviewers and conflicts


@bp.route("/reviewers", methods=["GET", "POST"])
@roles_required("officer")
def reviewers() -> Any:
    people = list(
        db.session.execute(
            select(User, ReviewerProfile)
            .outerjoin(ReviewerProfile, ReviewerProfile.user_id == User.id)
            .where(User.role == "reviewer")
            .order_by(User.name, User.email)
        ).all()
    )
    organizations = db.session.scalars(
        select(Organization).order_by(Organization.legal_name, Organization.id)
    ).all()
    form = ConflictForm(
        reviewers=[u for u, _ in people if u.is_active_account], organizations=organizations
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            reviewer = reviewer_or_none(form.reviewer.data)
            organization = db.session.get(Organization, int(form.organization.data))
            application = None
            reference = (form.application.data or "").strip()
            if reference:
                application = db.session.scalar(
                    select(Application).where(Application.reference == reference)
                )
                if application is None:
                    form.application.errors = [f"No application has the reference {reference}."]
                elif organization is not None and application.organization_id != organization.id:
                    form.application.errors = [
                        f"{reference} is not an application of {organization.legal_name}."
                    ]
            if reviewer is not None and organization is not None and not form.application.errors:
                add_conflict(
                    reviewer,
                    organization,
                    form.kind.data,
                    "officer",
                    note=form.note.data or "",
                    application=application,
                    created_by=current_user,
                )
                commit()
                flash(
                    f"Conflict recorded: {reviewer.display_name} and {organization.legal_name}"
                    + (f" ({application.reference})" if application else "")
                    + ".",
                    "success",
                )
                return redirect(url_for("officer.reviewers") + "#conflicts")
    loads = ranking.reviewer_loads([u.id for u, _ in people])
    page = max(1, request.args.get("page", 1, type=int))
    conflict_total = db.session.scalar(select(func.count(Conflict.id))) or 0
    conflicts = db.session.execute(
        select(Conflict, User, Organization, Application.reference)
        .join(User, Conflict.reviewer_id == User.id)
        .join(Organization, Conflict.organization_id == Organization.id)
        .outerjoin(Application, Conflict.application_id == Application.id)
        .order_by(Conflict.created_at.desc(), Conflict.id.desc())
        .limit(common.PAGE_SIZE)
        .offset((page - 1) * common.PAGE_SIZE)
    ).all()
    return render_template(
        "officer/reviewers.html",
        people=people,
        loads=loads,
        form=form,
        conflicts=conflicts,
        conflict_total=conflict_total,
        page=page,
        pages=max(1, -(-conflict_total // common.PAGE_SIZE)),
        areas=PRIORITY_AREAS,
        regions=REGIONS,
        states=US_STATES,
    ), status
