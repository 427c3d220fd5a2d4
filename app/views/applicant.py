"""The applicant's pages: rounds, applications section by section, submission and history."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.domain import BUDGET_CATEGORIES
from app.extensions import db
from app.jobs import commit, rollback
from app.models.application import Application
from app.models.round import Round
from app.models.user import User
from app.services import applications as svc
from app.services.accounts import AccountError, invite
from app.services.rounds import StaleEdit, open_rounds
from app.storage import storage
from app.views import flash_refusal, parse_version, roles_required
from forms.application import (
    EXTRA_ROWS,
    ActionForm,
    BudgetForm,
    LetterUploadForm,
    MilestonesForm,
    NarrativeForm,
    PartnersForm,
    ProjectForm,
    TargetsForm,
)
from forms.auth import ColleagueInviteForm
from workflows import TransitionRefused, available, fire

bp = Blueprint("applicant", __name__, url_prefix="/applicant")

STALE_MESSAGE = (
    "This application was changed by someone else since you opened it. Your input is kept "
    "below and has not been saved: check it against the saved version, then save again."
)


def _own_application(application_id: int) -> Application:
    application = db.session.get(Application, application_id)
    if application is None or application.organization_id != current_user.organization_id:
        abort(404)  # another jurisdiction's work does not exist, as far as this user can tell
    return application


@bp.get("/")
@roles_required("applicant")
def dashboard() -> str:
    rows = db.session.execute(
        select(Application, Round)
        .join(Round, Application.round_id == Round.id)
        .where(Application.organization_id == current_user.organization_id)
        .order_by(Application.updated_at.desc())
    ).all()
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
    rnd = db.session.get(Round, round_id)
    if rnd is None or not rnd.is_accepting(utcnow()):
        abort(404)
    application = svc.start_application(rnd, current_user)
    commit()
    flash("Application started. Fill in the sections in any order and save as you go.", "success")
    return redirect(url_for("applicant.overview", application_id=application.id))


@bp.get("/applications/<int:application_id>")
@roles_required("applicant")
def overview(application_id: int) -> str:
    application = _own_application(application_id)
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
def transition(application_id: int) -> str | Response:
    application = _own_application(application_id)
    form = ActionForm()
    if not form.validate_on_submit() or form.trigger.data not in ("submit", "withdraw"):
        abort(400)
    trigger = form.trigger.data
    if trigger == "submit" and application.state == "submitted":
        # A double-clicked Submit: the first click did it; the second lands on the receipt.
        return redirect(url_for("applicant.receipt", application_id=application.id))
    if form.version.data and parse_version(form.version.data) != application.version:
        flash(STALE_MESSAGE.split(".")[0] + ". Review it and try again.", "error")
        return redirect(url_for("applicant.overview", application_id=application.id))
    try:
        fire(application, trigger, current_user, comment=form.comment.data)
        commit()
    except TransitionRefused as exc:
        rollback()
        if trigger == "submit":
            flash("The application was not submitted. Fix the problems listed below.", "error")
            return _render_overview(application, submit_problems=True)
        flash_refusal(exc)
        return redirect(url_for("applicant.overview", application_id=application.id))
    except StaleDataError:
        rollback()
        return redirect(url_for("applicant.receipt", application_id=application.id))
    if trigger == "submit":
        return redirect(url_for("applicant.receipt", application_id=application.id))
    flash("The application is withdrawn.", "success")
    return redirect(url_for("applicant.overview", application_id=application.id))


@bp.get("/applications/<int:application_id>/receipt")
@roles_required("applicant")
def receipt(application_id: int) -> str:
    application = _own_application(application_id)
    if application.reference is None:
        abort(404)
    return render_template("applicant/receipt.html", application=application)


@dataclass(frozen=True)
class SectionHandler:
    form: type
    load: Callable[[Application], dict[str, Any]]
    save: Callable[[Application, Any, int], None]


def _rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return items + [{} for _ in range(EXTRA_ROWS)]


def _kept(rows: Any) -> list[Any]:
    return [r for r in rows if not r.remove.data and not _blank(r)]


def _blank(row: Any) -> bool:
    if hasattr(row, "is_blank"):
        return row.is_blank()
    return not row.due_on.data and not (row.description.data or "").strip()


HANDLERS: dict[str, SectionHandler] = {
    "project": SectionHandler(
        ProjectForm,
        lambda a: {
            "title": a.title,
            "summary": a.summary,
            "priority_areas": a.priority_areas,
            "partner_countries": a.partner_countries,
            "start_date": a.start_date,
            "period_months": a.period_months,
        },
        lambda a, f, v: svc.save_project(
            a,
            {
                "title": f.title.data or "",
                "summary": f.summary.data or "",
                "priority_areas": f.priority_areas.data or [],
                "partner_countries": f.partner_countries.data or [],
                "start_date": f.start_date.data,
                "period_months": f.period_months.data,
            },
            v,
        ),
    ),
    "narrative": SectionHandler(
        NarrativeForm,
        lambda a: {k: getattr(a, k) for k in ("need", "approach", "alignment", "sustainability")},
        lambda a, f, v: svc.save_narrative(
            a,
            {
                k: getattr(f, k).data or ""
                for k in ("need", "approach", "alignment", "sustainability")
            },
            v,
        ),
    ),
    "partners": SectionHandler(
        PartnersForm,
        lambda a: {
            "partners": _rows(
                [{"name": p.name, "kind": p.kind, "role": p.role} for p in a.partners]
            )
        },
        lambda a, f, v: svc.replace_partners(
            a,
            [
                {"name": r.name.data, "kind": r.kind.data, "role": r.role.data}
                for r in _kept([x.form for x in f.partners])
            ],
            v,
        ),
    ),
    "budget": SectionHandler(
        BudgetForm,
        lambda a: {
            "lines": [
                {
                    "category": line.category,
                    "description": line.description,
                    "federal_amount": line.federal_amount,
                    "cost_share": line.cost_share,
                }
                for line in a.budget_lines
            ]
        },
        lambda a, f, v: svc.save_budget(
            a,
            {
                r.form.category.data: {
                    "description": r.form.description.data,
                    "federal_amount": r.form.federal_amount.data,
                    "cost_share": r.form.cost_share.data,
                }
                for r in f.lines
                if r.form.category.data in BUDGET_CATEGORIES
            },
            v,
        ),
    ),
    "milestones": SectionHandler(
        MilestonesForm,
        lambda a: {
            "milestones": _rows(
                [{"due_on": m.due_on, "description": m.description} for m in a.milestones]
            )
        },
        lambda a, f, v: svc.replace_milestones(
            a,
            [
                {"due_on": r.due_on.data, "description": r.description.data}
                for r in _kept([x.form for x in f.milestones])
            ],
            v,
        ),
    ),
    "targets": SectionHandler(
        TargetsForm,
        lambda a: {
            "targets": _rows(
                [
                    {"indicator": t.indicator, "baseline": t.baseline, "target": t.target}
                    for t in a.impact_targets
                ]
            )
        },
        lambda a, f, v: svc.replace_targets(
            a,
            [
                {
                    "indicator": r.indicator.data,
                    "baseline": r.baseline.data or Decimal(0),
                    "target": r.target.data or Decimal(0),
                }
                for r in _kept([x.form for x in f.targets])
            ],
            v,
        ),
    ),
}


def _build_form(key: str, application: Application, formdata: bool) -> Any:
    handler = HANDLERS[key]
    kwargs: dict[str, Any] = {}
    if key == "project":
        kwargs["offered_areas"] = application.round.priority_areas
    if formdata:
        return handler.form(**kwargs)
    form = handler.form(data=handler.load(application), **kwargs)
    form.version.data = application.version
    return form


@bp.route("/applications/<int:application_id>/sections/<key>", methods=["GET", "POST"])
@roles_required("applicant")
def section(application_id: int, key: str) -> str | Response:
    application = _own_application(application_id)
    if key == "letters":
        return _letters_page(application, LetterUploadForm())
    if key not in HANDLERS:
        abort(404)
    if application.state != "draft":
        flash("This application is submitted and can no longer be changed.", "info")
        return redirect(url_for("applicant.overview", application_id=application.id))
    stale = False
    if request.method == "POST":
        form = _build_form(key, application, formdata=True)
        if form.validate_on_submit():
            try:
                HANDLERS[key].save(application, form, parse_version(form.version.data))
                commit()
            except (StaleEdit, StaleDataError):
                rollback()
                db.session.refresh(application)
                form.version.data = application.version
                stale = True
            else:
                flash(f"{svc.SECTION_TITLES[key]} saved.", "success")
                return redirect(
                    url_for("applicant.section", application_id=application.id, key=key)
                )
    else:
        form = _build_form(key, application, formdata=False)
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
    application = _own_application(application_id)
    form = LetterUploadForm()
    if form.validate_on_submit():
        upload = form.letter.data
        try:
            svc.add_letter(
                application,
                upload.filename or "letter.pdf",
                upload.read(),
                current_user,
                parse_version(form.version.data),
            )
            commit()
        except svc.UploadRejected as exc:
            rollback()
            form.letter.errors = [f"Not uploaded: {exc}."]
            return _letters_page(application, form, 422)
        except (StaleEdit, StaleDataError):
            rollback()
            form.letter.errors = [
                "The application changed since you opened this page; upload again."
            ]
            return _letters_page(application, form, 409)
        except PermissionError:
            rollback()
            abort(403)
        flash("Letter uploaded.", "success")
        return redirect(url_for("applicant.section", application_id=application.id, key="letters"))
    return _letters_page(application, form, 422)


@bp.post("/applications/<int:application_id>/letters/<int:letter_id>/delete")
@roles_required("applicant")
def delete_letter(application_id: int, letter_id: int) -> Response:
    application = _own_application(application_id)
    try:
        svc.remove_letter(application, letter_id, parse_version(request.form.get("version")))
        commit()
    except LookupError:
        abort(404)
    except (StaleEdit, StaleDataError):
        rollback()
        flash("The application changed since you opened this page; nothing was removed.", "error")
    except PermissionError:
        abort(403)
    else:
        flash("Letter removed.", "success")
    return redirect(url_for("applicant.section", application_id=application.id, key="letters"))


@bp.get("/applications/<int:application_id>/letters/<int:letter_id>")
@roles_required("applicant")
def download_letter(application_id: int, letter_id: int) -> Response:
    application = _own_application(application_id)
    letter = next((x for x in application.letters if x.id == letter_id), None)
    if letter is None:
        abort(404)
    return send_file(
        io.BytesIO(storage().read(letter.storage_key)),
        mimetype="application/pdf",
        download_name=letter.filename,
        as_attachment=True,
    )


@bp.route("/organization", methods=["GET", "POST"])
@roles_required("applicant")
def organization() -> str | Response:
    org = current_user.organization
    form = ColleagueInviteForm()
    if form.validate_on_submit():
        try:
            invite(form.email.data, "applicant", current_user, utcnow(), organization=org)
        except AccountError as exc:
            form.email.errors.append(str(exc))
        else:
            commit()
            flash(f"Invitation sent to {form.email.data}.", "success")
            return redirect(url_for("applicant.organization"))
    colleagues = db.session.scalars(
        select(User).where(User.organization_id == org.id).order_by(User.email)
    ).all()
    return render_template("applicant/organization.html", org=org, colleagues=colleagues, form=form)
