"""The program officer's pages: rounds, the applications inbox, screening and history."""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.domain import GOVERNMENT_TYPES, PRIORITY_AREAS, REGIONS, US_STATES
from app.extensions import db
from app.jobs import commit, rollback
from app.models.application import Application
from app.models.review import Conflict, Review, ReviewerProfile
from app.models.round import CRITERION_KINDS, Round
from app.models.user import Organization, User
from app.services import applications as svc
from app.services import ranking
from app.services import review_assignment as assigning
from app.services.assignment import AssignmentInfeasible
from app.services.bulk import fire_each
from app.services.conflicts import add_conflict, conflicted_pairs
from app.services.rounds import StaleEdit, create_round, update_round
from app.services.rubrics import RubricLocked, replace_criteria, rubric_locked, rubric_problems
from app.storage import storage
from app.views import flash_refusal, parse_version, roles_required
from forms.application import ActionForm
from forms.review_admin import (
    AddReviewerForm,
    AssignmentForm,
    BulkScreenForm,
    ConflictForm,
    DueDateForm,
    ReviewActionForm,
    RubricForm,
    SwapReviewerForm,
    aware,
)
from forms.round import RoundForm, initial_data
from workflows import TransitionRefused, available, fire
from workflows.application import LIFECYCLE as APPLICATION
from workflows.review import LIFECYCLE as REVIEW

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


def _applications_page(filters: dict[str, Any], page: int) -> dict[str, Any]:
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
    return dict(
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        filters=filters,
        rounds=db.session.scalars(select(Round).order_by(Round.id.desc())).all(),
        states=APPLICATION.states,
        screenable=any(a.state == "submitted" for a, _, _ in rows),
    )


@bp.get("/applications")
@roles_required("officer")
def applications() -> str:
    page = max(1, request.args.get("page", 1, type=int))
    return render_template(
        "officer/applications.html",
        screen_form=BulkScreenForm(formdata=None),
        selected=set(),
        selection_error=None,
        **_applications_page(_filters(), page),
    )


@dataclass(frozen=True)
class ScreeningOutcome:
    application: Application
    done: bool
    reasons: tuple[str, ...] = ()


@bp.post("/applications/screen")
@roles_required("officer")
def screen_applications() -> str | tuple[str, int]:
    """Mark every selected application eligible or ineligible, each through the engine.

    Each application is fired on its own: one refused (not submitted any more, say) does not stop
    the others, and the page reports which were done and which were refused, with the reasons."""
    form = BulkScreenForm()
    ids = sorted({int(x) for x in request.form.getlist("application_ids") if x.isdigit()})
    selection_error = None if ids else "Select at least one application."
    if not form.validate_on_submit() or selection_error:
        page = max(1, request.args.get("page", 1, type=int))
        return render_template(
            "officer/applications.html",
            screen_form=form,
            selected=set(ids),
            selection_error=selection_error,
            **_applications_page(_filters(), page),
        ), 400
    trigger = form.decision.data
    chosen = db.session.scalars(
        select(Application).where(Application.id.in_(ids)).order_by(Application.id)
    ).all()
    found = {a.id for a in chosen}
    try:
        outcomes = [
            ScreeningOutcome(o.entity, o.done, o.reasons)
            for o in fire_each(chosen, trigger, current_user, comment=form.reason.data)
        ]
        commit()
    except StaleDataError:
        rollback()
        flash(
            "Someone else changed these applications at the same moment; nothing was done. "
            "Check the list and try again.",
            "error",
        )
        return render_template(
            "officer/applications.html",
            screen_form=form,
            selected=set(ids),
            selection_error=None,
            **_applications_page(_filters(), 1),
        ), 409
    return render_template(
        "officer/screening_result.html",
        trigger=trigger,
        title=APPLICATION.transition(trigger).title,
        reason=form.reason.data,
        done=[o for o in outcomes if o.done],
        refused=[o for o in outcomes if not o.done],
        missing=[i for i in ids if i not in found],
        filters=_filters(),
    )


@bp.get("/applications/<int:application_id>")
@roles_required("officer")
def application_detail(application_id: int) -> str:
    return _render_application(_application(application_id))


def _render_application(
    application: Application,
    add_form: AddReviewerForm | None = None,
    swap_form: tuple[int, SwapReviewerForm] | None = None,
    review_errors: dict[int, list[str]] | None = None,
    due_form: DueDateForm | None = None,
    status: int = 200,
) -> Any:
    reviews = _application_reviews(application)
    candidates = _candidates(application, reviews)
    rnd = application.round
    offered = AddReviewerForm(formdata=None, candidates=candidates)
    if add_form is None:
        add_form = offered
    add_form.reviewer.choices = offered.reviewer.choices  # a posted form keeps its input
    swap_forms = {
        review.id: SwapReviewerForm(formdata=None, prefix=f"swap{review.id}", candidates=candidates)
        for review, _ in reviews
        if review.state == "assigned"
    }
    if swap_form is not None and swap_form[0] in swap_forms:
        swap_forms[swap_form[0]] = swap_form[1]
    return render_template(
        "officer/application_detail.html",
        application=application,
        options=available(application, current_user),
        events=svc.timeline("application", application.id),
        letter_endpoint="officer.download_letter",
        reviews=reviews,
        review_options={
            review.id: [
                o
                for o in available(review, current_user)
                if o.transition.trigger in ("recuse", "reopen")
            ]
            for review, _ in reviews
        },
        review_errors=review_errors or {},
        add_form=add_form,
        swap_forms=swap_forms,
        due_form=due_form or DueDateForm(formdata=None, prefix="round", origin=application.id),
        assignable=application.state in assigning.ASSIGNABLE_STATES,
        zone=rnd.timezone,
        now=utcnow(),
    ), status


def _application_reviews(application: Application) -> list[tuple[Review, User]]:
    return list(
        db.session.execute(
            select(Review, User)
            .join(User, Review.reviewer_id == User.id)
            .where(Review.application_id == application.id)
            .order_by(Review.assigned_at, Review.id)
        ).all()
    )


def _candidates(application: Application, reviews: list[tuple[Review, User]]) -> list[User]:
    """Active reviewers not on the application and without a conflict with it."""
    pool = [user for user, _ in assigning.reviewer_pool()]
    taken = {user.id for _, user in reviews}
    conflicted = conflicted_pairs([u.id for u in pool], [application])
    return [u for u in pool if u.id not in taken and (u.id, application.id) not in conflicted]


def _reviewer(raw: str | None) -> User | None:
    user = db.session.get(User, int(raw)) if (raw or "").isdigit() else None
    return user if user is not None and user.role == "reviewer" else None


@bp.post("/applications/<int:application_id>/reviewers")
@roles_required("officer")
def add_reviewer(application_id: int) -> Any:
    application = _application(application_id)
    form = AddReviewerForm()
    form.reviewer.validate_choice = False  # the service says why a reviewer cannot be added
    if not form.validate_on_submit():
        return _render_application(application, add_form=form, status=400)
    reviewer = _reviewer(form.reviewer.data)
    if reviewer is None:
        form.reviewer.errors = ["Choose a reviewer from the list."]
        return _render_application(application, add_form=form, status=400)
    due_at = aware(form.due_at.data, application.round.zone) or _shared_due_date(application)
    try:
        assigning.add_reviewer(application, reviewer, due_at)
        commit()
    except (assigning.AssignmentRefused, TransitionRefused) as exc:
        rollback()
        form.reviewer.errors = [_reason(exc)]
        return _render_application(application, add_form=form, status=409)
    except IntegrityError:  # added by someone else at the same moment
        rollback()
        form.reviewer.errors = [f"{reviewer.display_name} is already on this application."]
        return _render_application(application, add_form=form, status=409)
    flash(f"{reviewer.display_name} added as a reviewer.", "success")
    return redirect(_reviewers_panel(application))


def _shared_due_date(application: Application) -> Any:
    """The due date the application's other open reviews share, so a late addition matches."""
    return db.session.scalar(
        select(func.max(Review.due_at)).where(
            Review.application_id == application.id,
            Review.state.in_(("assigned", "in_progress", "submitted")),
        )
    )


def _reason(exc: Exception) -> str:
    """A refusal as a sentence: capitalised, with a full stop."""
    text = "; ".join(exc.reasons) if isinstance(exc, TransitionRefused) else str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _review(review_id: int) -> Review:
    return db.session.get(Review, review_id) or abort(404)


def _reviewers_panel(application: Application) -> str:
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
        return _render_application(
            application, review_errors={review.id: [STALE_REVIEW]}, status=409
        )
    name = review.reviewer.display_name
    try:
        assigning.remove_reviewer(review)
        commit()
    except assigning.AssignmentRefused as exc:
        rollback()
        return _render_application(
            application, review_errors={review_id: [_reason(exc)]}, status=409
        )
    flash(f"{name} removed from this application.", "success")
    return redirect(_reviewers_panel(application))


STALE_REVIEW = "This review changed since you opened the page; nothing was done. Check it again."


@bp.post("/reviews/<int:review_id>/swap")
@roles_required("officer")
def swap_reviewer(review_id: int) -> Any:
    review = _review(review_id)
    application = review.application
    form = SwapReviewerForm(prefix=f"swap{review.id}")
    form.replacement.validate_choice = False
    if not form.validate_on_submit():
        return _render_application(application, swap_form=(review.id, form), status=400)
    replacement = _reviewer(form.replacement.data)
    if replacement is None:
        form.replacement.errors = ["Choose a reviewer from the list."]
        return _render_application(application, swap_form=(review.id, form), status=400)
    old_name = review.reviewer.display_name
    try:
        assigning.swap_reviewer(review, replacement, None)
        commit()
    except (assigning.AssignmentRefused, TransitionRefused) as exc:
        rollback()
        form.replacement.errors = [_reason(exc)]
        return _render_application(
            db.session.get(Application, application.id), swap_form=(review_id, form), status=409
        )
    flash(f"{old_name} replaced by {replacement.display_name}.", "success")
    return redirect(_reviewers_panel(application))


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
        return _render_application(
            application, review_errors={review.id: [STALE_REVIEW]}, status=409
        )
    comment = (form.comment.data or "").strip()
    if trigger == "recuse" and not comment:
        return _render_application(
            application,
            review_errors={review.id: ["Give the reason for the recusal."]},
            status=400,
        )
    try:
        fire(review, trigger, current_user, comment=comment)
        commit()
    except TransitionRefused as exc:
        rollback()
        return _render_application(
            application, review_errors={review_id: [_reason(exc)]}, status=409
        )
    except StaleDataError:
        rollback()
        return _render_application(
            db.session.get(Application, application.id),
            review_errors={review_id: [STALE_REVIEW]},
            status=409,
        )
    title = REVIEW.transition(trigger).title
    flash(f"Done: {title.lower()} for {review.reviewer.display_name}.", "success")
    return redirect(_reviewers_panel(application))


@bp.post("/rounds/<int:round_id>/due-date")
@roles_required("officer")
def set_due_date(round_id: int) -> Any:
    """One due date for every open review of the round, from the assignment page or from an
    application's reviewers panel (`origin` names the application to come back to)."""
    rnd = _round(round_id)
    form = DueDateForm(prefix="round")
    origin = (
        db.session.get(Application, int(form.origin.data))
        if str(form.origin.data or "").isdigit()
        else None
    )
    if origin is not None and origin.round_id != rnd.id:
        origin = None
    if not form.validate_on_submit():
        if origin is not None:
            return _render_application(origin, due_form=form, status=400)
        return _render_assignment(rnd, due_form=form, status=400)
    due_at = aware(form.due_at.data, rnd.zone)
    count = assigning.set_due_date(rnd, due_at)
    commit()
    flash(
        f"Due date set to {rnd.format_moment(due_at)} for {count} open "
        f"review{'s' if count != 1 else ''} of the round.",
        "success",
    )
    if origin is not None:
        return redirect(_reviewers_panel(origin))
    return redirect(url_for("officer.assignment", round_id=rnd.id))


# ---------------------------------------------------------------------------------------------
# The rubric


def _rubric_data(rnd: Round) -> dict[str, Any]:
    return {
        "criteria": [
            {
                "id": str(c.id),
                "title": c.title,
                "guidance": c.guidance,
                "weight": c.weight,
                "kind": c.kind,
                "required": c.required,
            }
            for c in rnd.criteria
        ]
    }


@bp.route("/rounds/<int:round_id>/rubric", methods=["GET", "POST"])
@roles_required("officer")
def rubric(round_id: int) -> Any:
    rnd = _round(round_id)
    locked = rubric_locked(rnd)
    if request.method == "GET" or locked:
        form = RubricForm(formdata=None, data=_rubric_data(rnd))
        form.version.data = rnd.version
        status = 200
        if request.method == "POST":  # locked since the page was opened
            status = 409
        return _render_rubric(rnd, form, locked=locked, status=status)
    form = RubricForm()
    if form.add_row.data:
        # A blank row to fill, without JavaScript: the page comes back with the input kept.
        form.criteria.append_entry({"kind": "scored", "required": True})
        return _render_rubric(rnd, form)
    if not form.validate_on_submit():
        return _render_rubric(rnd, form, status=400)
    try:
        replace_criteria(rnd, form.rows(), parse_version(form.version.data))
        problems = rubric_problems(rnd)
        if problems:
            raise ValueError("; ".join(problems))
        commit()
    except RubricLocked:
        rollback()
        return _render_rubric(rnd, form, locked=True, status=409)
    except (StaleEdit, StaleDataError):
        rollback()
        db.session.refresh(rnd)
        form.version.data = rnd.version
        return _render_rubric(rnd, form, stale=True, status=409)
    except ValueError as exc:
        rollback()
        return _render_rubric(rnd, form, problems=[str(exc)], status=400)
    flash("Rubric saved.", "success")
    return redirect(url_for("officer.rubric", round_id=rnd.id))


def _render_rubric(
    rnd: Round,
    form: RubricForm,
    locked: bool = False,
    stale: bool = False,
    problems: list[str] | None = None,
    status: int = 200,
) -> Any:
    return render_template(
        "officer/rubric.html",
        rnd=rnd,
        form=form,
        locked=locked,
        stale=stale,
        problems=problems or [],
        kinds=CRITERION_KINDS,
    ), status


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
            reviewer = _reviewer(form.reviewer.data)
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
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return render_template(
        "officer/reviewers.html",
        people=people,
        loads=loads,
        form=form,
        conflicts=conflicts,
        conflict_total=conflict_total,
        page=page,
        pages=max(1, -(-conflict_total // PAGE_SIZE)),
        areas=PRIORITY_AREAS,
        regions=REGIONS,
        states=US_STATES,
    ), status


# ---------------------------------------------------------------------------------------------
# Automatic assignment


@bp.route("/rounds/<int:round_id>/assignment", methods=["GET", "POST"])
@roles_required("officer")
def assignment(round_id: int) -> Any:
    """Propose an assignment, show it, and confirm exactly what was shown.

    The confirm button carries the parameters and the proposal's fingerprint; confirming solves
    again and refuses when the answer differs (someone changed reviewers, conflicts or
    applications meanwhile), showing the new proposal instead."""
    rnd = _round(round_id)
    if request.method == "GET":
        return _render_assignment(rnd, AssignmentForm(formdata=None))
    form = AssignmentForm()
    if not form.validate_on_submit():
        return _render_assignment(rnd, form, status=400)
    due_at = aware(form.due_at.data, rnd.zone)
    try:
        proposal = assigning.propose(rnd, form.min_load.data, form.max_load.data)
    except AssignmentInfeasible as exc:
        return _render_assignment(
            rnd, form, infeasible=exc, status=409 if form.confirm.data else 200
        )
    if form.confirm.data:
        if form.fingerprint.data != proposal.fingerprint:
            form.fingerprint.data = proposal.fingerprint
            return _render_assignment(rnd, form, proposal=proposal, changed=True, status=409)
        try:
            created = assigning.confirm(rnd, proposal, due_at)
            commit()
        except (TransitionRefused, StaleDataError, IntegrityError) as exc:
            # Another officer assigned or screened at the same moment.
            rollback()
            flash(
                "Not done: the data changed while the assignment was saved"
                + (f" ({'; '.join(exc.reasons)})" if isinstance(exc, TransitionRefused) else "")
                + ". Propose again.",
                "error",
            )
            return redirect(url_for("officer.assignment", round_id=rnd.id))
        flash(
            f"Assignment confirmed: {created} review{'s' if created != 1 else ''} created"
            + (f", due {rnd.format_moment(due_at)}" if due_at else "")
            + ".",
            "success",
        )
        return redirect(url_for("officer.progress", round_id=rnd.id))
    form.fingerprint.data = proposal.fingerprint
    return _render_assignment(rnd, form, proposal=proposal)


def _render_assignment(
    rnd: Round,
    form: AssignmentForm | None = None,
    proposal: assigning.Proposal | None = None,
    infeasible: AssignmentInfeasible | None = None,
    changed: bool = False,
    due_form: DueDateForm | None = None,
    status: int = 200,
) -> Any:
    counts = dict(
        db.session.execute(
            select(Application.state, func.count())
            .where(
                Application.round_id == rnd.id,
                Application.state.in_(assigning.ASSIGNABLE_STATES),
            )
            .group_by(Application.state)
        ).all()
    )
    pool_size = (
        db.session.scalar(
            select(func.count(User.id)).where(
                User.role == "reviewer", User.is_active_account.is_(True)
            )
        )
        or 0
    )
    return render_template(
        "officer/assignment.html",
        rnd=rnd,
        form=form or AssignmentForm(formdata=None),
        proposal=proposal,
        plan=_plan(proposal) if proposal else None,
        infeasible=infeasible,
        changed=changed,
        counts=counts,
        pool_size=pool_size,
        due_form=due_form or DueDateForm(formdata=None, prefix="round"),
    ), status


@dataclass(frozen=True)
class PlannedReviewer:
    user: User
    score: int
    new: bool


@dataclass(frozen=True)
class PlannedLoad:
    user: User
    existing: int
    new: int

    @property
    def total(self) -> int:
        return self.existing + self.new


def _plan(proposal: assigning.Proposal) -> dict[str, Any]:
    """A proposal as the page shows it: each application's reviewers, each reviewer's load."""
    result = proposal.result
    new = set(result.new_pairs)
    per_application: dict[int, list[PlannedReviewer]] = {a: [] for a in proposal.applications}
    existing_load: dict[int, int] = {}
    new_load: dict[int, int] = {}
    for reviewer_id, application_id in result.pairs:
        is_new = (reviewer_id, application_id) in new
        target = new_load if is_new else existing_load
        target[reviewer_id] = target.get(reviewer_id, 0) + 1
        user = proposal.reviewers.get(reviewer_id)
        if user is not None and application_id in per_application:
            per_application[application_id].append(
                PlannedReviewer(user, result.scores.get((reviewer_id, application_id), 0), is_new)
            )
    applications = sorted(proposal.applications.values(), key=lambda a: (a.reference or "", a.id))
    loads = [
        PlannedLoad(user, existing_load.get(rid, 0), new_load.get(rid, 0))
        for rid, user in proposal.reviewers.items()
    ]
    loads.sort(key=lambda x: (-x.total, x.user.display_name))
    return {
        "applications": [(a, per_application[a.id]) for a in applications],
        "loads": loads,
        "new_count": len(new),
        "quality": result.quality,
    }


# ---------------------------------------------------------------------------------------------
# Progress, scores and the ranking


@bp.get("/rounds/<int:round_id>/progress")
@roles_required("officer")
def progress(round_id: int) -> str:
    rnd = _round(round_id)
    page = max(1, request.args.get("page", 1, type=int))
    now = utcnow()
    report = ranking.round_progress(rnd, now, page=page, per_page=PAGE_SIZE)
    return render_template(
        "officer/progress.html",
        rnd=rnd,
        report=report,
        chart=_bar_chart(report.reviewers),
        page=page,
        pages=max(1, -(-report.application_total // PAGE_SIZE)),
        now=now,
    )


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    submitted_width: float
    outstanding_width: float
    submitted: int
    outstanding: int


CHART_LABEL_WIDTH = 200
CHART_BAR_AREA = 360
CHART_ROW = 28


def _bar_chart(rows: list[ranking.ReviewerProgress]) -> dict[str, Any]:
    """Geometry of a stacked bar per reviewer (submitted, then outstanding), drawn in SVG."""
    scale = max([r.counts.assigned for r in rows] + [1])
    bars = [
        Bar(
            label=r.name if len(r.name) <= 28 else r.name[:27] + "…",
            y=i * CHART_ROW,
            submitted_width=CHART_BAR_AREA * r.counts.submitted / scale,
            outstanding_width=CHART_BAR_AREA * r.counts.outstanding / scale,
            submitted=r.counts.submitted,
            outstanding=r.counts.outstanding,
        )
        for i, r in enumerate(rows)
    ]
    return {
        "bars": bars,
        "label_width": CHART_LABEL_WIDTH,
        "bar_area": CHART_BAR_AREA,
        "width": CHART_LABEL_WIDTH + CHART_BAR_AREA + 140,
        "height": max(len(bars), 1) * CHART_ROW + 36,
        "row": CHART_ROW,
    }


def _ranking_filters() -> ranking.RankingFilters:
    args = request.args
    area = args.get("area") or None
    gov_type = args.get("government_type") or None
    state_code = (args.get("state") or "").upper() or None
    return ranking.RankingFilters(
        area=area if area in PRIORITY_AREAS else None,
        government_type=gov_type if gov_type in GOVERNMENT_TYPES else None,
        state_code=state_code if state_code in US_STATES else None,
    )


@bp.get("/rounds/<int:round_id>/ranking")
@roles_required("officer")
def ranking_page(round_id: int) -> str:
    rnd = _round(round_id)
    filters = _ranking_filters()
    page = request.args.get("page", 1, type=int)
    result = ranking.ranking_page(rnd, filters, page=page, per_page=PAGE_SIZE)
    query = {
        "area": filters.area,
        "government_type": filters.government_type,
        "state": filters.state_code,
    }
    return render_template(
        "officer/ranking.html",
        rnd=rnd,
        result=result,
        filters=filters,
        query={k: v for k, v in query.items() if v},
        areas=PRIORITY_AREAS,
        government_types=GOVERNMENT_TYPES,
        states=US_STATES,
    )


@bp.get("/rounds/<int:round_id>/ranking.csv")
@roles_required("officer")
def ranking_csv(round_id: int) -> Response:
    """Every score of every ranked application, streamed a row at a time."""
    rnd = _round(round_id)
    rows = ranking.csv_rows(rnd, _ranking_filters())
    header = next(rows)  # the scores are computed here, inside the request, before streaming

    def generate() -> Any:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        yield "\ufeff"  # a byte-order mark, so spreadsheet programs read UTF-8
        for line in itertools.chain([header], rows):
            writer.writerow(line)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)

    filename = f"ranking-round-{rnd.id}.csv"
    return Response(
        generate(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
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
