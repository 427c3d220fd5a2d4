"""Automatic assignment of reviewers: proposed, shown, then confirmed exactly as shown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from app.extensions import db
from app.models.application import Application
from app.models.round import Round
from app.models.user import User
from app.services import review_assignment as assigning
from app.services.assignment import AssignmentInfeasible
from app.services.rounds import state_counts
from app.unit_of_work import attempt
from app.views import roles_required
from app.views.officer.applications import render_application
from app.views.officer.common import bp, round_or_404
from app.views.officer.reviewers import reviewers_panel
from forms.review_admin import AssignmentForm, DueDateForm, aware
from workflows import TransitionRefused


@bp.post("/rounds/<int:round_id>/due-date")
@roles_required("officer")
def set_due_date(round_id: int) -> Any:
    """One due date for every open review of the round, from the assignment page or from an
    application's reviewers panel (`origin` names the application to come back to)."""
    rnd = round_or_404(round_id)
    form = DueDateForm(prefix="round")
    raw = str(form.origin.data or "")
    origin = db.session.get(Application, int(raw)) if raw.isdigit() else None
    if origin is not None and origin.round_id != rnd.id:
        origin = None
    if not form.validate_on_submit():
        if origin is not None:
            return render_application(origin, due_form=form, status=400)
        return _render_assignment(rnd, due_form=form, status=400)
    due_at = aware(form.due_at.data, rnd.zone)
    count = assigning.set_due_date(rnd, due_at)
    flash(
        f"Due date set to {rnd.format_moment(due_at)} for {count} open "
        f"review{'s' if count != 1 else ''} of the round.",
        "success",
    )
    if origin is not None:
        return redirect(reviewers_panel(origin))
    return redirect(url_for("officer.assignment", round_id=rnd.id))


# ---------------------------------------------------------------------------------------------
# Automatic assignment


@bp.route("/rounds/<int:round_id>/assignment", methods=["GET", "POST"])
@roles_required("officer")
def assignment(round_id: int) -> Any:
    """Propose an assignment, show it, and confirm exactly what was shown.

    The confirm button carries the parameters and the proposal's fingerprint; confirming solves
    again and refuses when the answer differs (someone changed reviewers, conflicts or
    applications meanwhile), showing the new proposal instead."""
    rnd = round_or_404(round_id)
    if request.method == "GET":
        return _render_assignment(rnd, AssignmentForm(formdata=None))
    form = AssignmentForm()
    if not form.validate_on_submit():
        return _render_assignment(rnd, form, status=400)
    try:
        proposal = assigning.propose(rnd, form.min_load.data, form.max_load.data)
    except AssignmentInfeasible as exc:
        status = 409 if form.confirm.data else 200
        return _render_assignment(rnd, form, infeasible=exc, status=status)
    if form.confirm.data and form.fingerprint.data == proposal.fingerprint:
        return _confirm(rnd, proposal, aware(form.due_at.data, rnd.zone))
    changed = bool(form.confirm.data)  # what was shown is not what the data gives now
    form.fingerprint.data = proposal.fingerprint
    return _render_assignment(
        rnd, form, proposal=proposal, changed=changed, status=409 if changed else 200
    )


def _confirm(rnd: Round, proposal: assigning.Proposal, due_at: Any) -> Response:
    try:
        with attempt():
            created = assigning.confirm(rnd, proposal, due_at)
    except (TransitionRefused, StaleDataError, IntegrityError) as exc:
        # Another officer assigned or screened at the same moment.
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


def _render_assignment(
    rnd: Round,
    form: AssignmentForm | None = None,
    proposal: assigning.Proposal | None = None,
    infeasible: AssignmentInfeasible | None = None,
    changed: bool = False,
    due_form: DueDateForm | None = None,
    status: int = 200,
) -> Any:
    return render_template(
        "officer/assignment.html",
        rnd=rnd,
        form=form or AssignmentForm(formdata=None),
        proposal=proposal,
        plan=_plan(proposal) if proposal else None,
        infeasible=infeasible,
        changed=changed,
        counts=state_counts(rnd, assigning.ASSIGNABLE_STATES),
        pool_size=assigning.pool_size(),
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
