"""The applications inbox and bulk screening (eligible / ineligible), each through the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import flash, render_template, request
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.jobs import commit, rollback
from app.models.application import Application
from app.models.round import Round
from app.models.user import Organization
from app.services.bulk import fire_each
from app.views import roles_required
from app.views.officer import common
from app.views.officer.common import bp
from forms.review_admin import (
    BulkScreenForm,
)
from workflows.application import LIFECYCLE as APPLICATION


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
        .limit(common.PAGE_SIZE)
        .offset((page - 1) * common.PAGE_SIZE)
    ).all()
    return dict(
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // common.PAGE_SIZE)),
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
