"""The reviewer's pages: the queue, the declaration, the review form, others' reviews, the profile.

A reviewer sees only its own active reviews of applications it is not conflicted with: anything
else is a 404, as if it did not exist.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from babel.dates import format_timedelta
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.formatting import LOCALE
from app.models.review import CONFLICT_KINDS, Review
from app.services import review_desk, review_reading
from app.services import reviews as svc
from app.services.pdf_uploads import pdf_name
from app.services.rounds import StaleEdit
from app.storage import storage
from app.unit_of_work import attempt, keep_changes, returns_to
from app.views import parse_version, roles_required
from forms.review import (
    DeclarationForm,
    ProfileForm,
    RecusalForm,
    ReviewForm,
    build_review_form,
)

bp = Blueprint("review", __name__, url_prefix="/review")

RECUSAL = "recusal"  # the recusal form's field prefix: it shares a page with the review form
SORTS = {"due": "Due date", "state": "State", "assigned": "Assigned"}
STALE_MESSAGE = (
    "This review was changed by someone else since you opened it (in another window, or by a "
    "program officer). Your input is kept below and has not been saved: check it, then save again."
)


def _own_review(review_id: int) -> Review:
    """The signed-in reviewer's own active review, of an application it is not conflicted with:
    anything else (recused, conflicted, another's) does not exist for this reviewer."""
    return review_desk.visible_review(current_user, review_id) or abort(404)


def _back(review: Review) -> Response:
    return redirect(url_for("review.review", review_id=review.id))


def time_left(review: Review, now: datetime) -> str:
    """How long until the review is due ("3 days left") or how late it is ("2 days overdue")."""
    if review.state == "submitted" or review.due_at is None:
        return "—"
    delta = review.due_at - now
    words = format_timedelta(abs(delta), threshold=1.1, add_direction=False, locale=LOCALE)
    return f"{words} left" if delta.total_seconds() > 0 else f"{words} overdue"


@bp.get("/")
@roles_required("reviewer")
def queue() -> str:
    sort = request.args.get("sort", "due")
    if sort not in SORTS:
        sort = "due"
    page = max(1, request.args.get("page", 1, type=int))
    result = svc.reviewer_queue(current_user, sort, page, per_page=svc.QUEUE_PAGE_SIZE)
    return render_template(
        "review/queue.html",
        rows=result.rows,
        result=result,
        sort=sort,
        sorts=SORTS,
        now=utcnow(),
        time_left=time_left,
    )


@bp.get("/<int:review_id>")
@roles_required("reviewer")
def review(review_id: int) -> str | tuple[str, int]:
    review = _own_review(review_id)
    if review.state == "assigned":
        form = DeclarationForm(formdata=None)
        form.version.data = review.version
        return _render_declaration(review, form)
    return _render_review(review)


def _render_declaration(review: Review, form: DeclarationForm, status: int = 200) -> Any:
    return render_template(
        "review/declare.html",
        review=review,
        view=review_reading.application_view(review.application),
        rnd=review.application.round,
        form=form,
        now=utcnow(),
    ), status


def _render_review(
    review: Review,
    form: ReviewForm | None = None,
    problems: dict[str, list[str]] | None = None,
    stale: bool = False,
    status: int = 200,
    recusal: RecusalForm | None = None,
) -> Any:
    editable = review.state == "in_progress"
    if form is None and editable:
        form = build_review_form(review, formdata=False)
    if recusal is None and editable:
        recusal = RecusalForm(formdata=None, prefix=RECUSAL)
        recusal.version.data = review.version
    return render_template(
        "review/review.html",
        review=review,
        rnd=review.application.round,
        view=review_reading.application_view(review.application),
        form=form,
        recusal=recusal,
        problems=problems or {},
        stale=stale,
        stale_message=STALE_MESSAGE,
        criteria=review.application.round.criteria,
        others=review_reading.other_reviews(review),
        nih_scale=svc.NIH_SCALE,
        confidence_scale=svc.CONFIDENCE,
        now=utcnow(),
    ), status


@bp.post("/<int:review_id>/declaration")
@roles_required("reviewer")
@returns_to("review.review")
def declare(review_id: int) -> Any:
    review = _own_review(review_id)
    if review.state != "assigned":
        flash("You have already made your declaration for this application.", "info")
        return _back(review)
    form = DeclarationForm()
    if not form.validate_on_submit():
        return _render_declaration(review, form, 422)
    if form.version.data and parse_version(form.version.data) != review.version:
        flash("This review changed since you opened it; nothing was recorded. Try again.", "error")
        return _back(review)
    kind = form.conflict_kind.data if form.declares_conflict else None
    try:
        with attempt():
            review_desk.make_declaration(
                review, current_user, utcnow(), kind, form.explanation.data
            )
    except StaleDataError:
        flash("Someone changed this review at the same moment; nothing was recorded.", "error")
        return _back(review)
    if kind:
        flash(
            f"Your conflict of interest is recorded ({CONFLICT_KINDS[kind].lower()}). The "
            "program office will reassign the application, and it has left your queue.",
            "success",
        )
        return redirect(url_for("review.queue"))
    flash("Declaration recorded. The application is open for your review.", "success")
    return _back(review)


@bp.post("/<int:review_id>")
@roles_required("reviewer")
@returns_to("review.review")
def save(review_id: int) -> Any:
    review = _own_review(review_id)
    if review.state == "assigned":
        flash("Declare conflicts and accept confidentiality before reviewing.", "error")
        return _back(review)
    if review.state != "in_progress":
        flash("This review is submitted and can no longer be changed.", "info")
        return _back(review)
    form = build_review_form(review, formdata=True)
    if not form.validate_on_submit():
        return _render_review(review, form=form, status=422)
    version = parse_version(form.version.data)
    try:
        with attempt(review):
            missing = review_desk.save_or_submit(
                review, current_user, form.values(), version, form.submitting
            )
    except (StaleEdit, StaleDataError):
        return _stale(review, form)
    except PermissionError as exc:
        flash(f"Not saved: {exc}.", "error")
        return _back(review)
    if missing:
        return _still_missing(review, form, missing)
    if form.submitting:
        flash("Review submitted. Thank you. The other reviews are shown below.", "success")
    else:
        flash("Draft saved.", "success")
    return _back(review)


def _stale(review: Review, form: ReviewForm) -> Any:
    form.version.data = review.version
    if review.state != "in_progress":
        flash("This review was submitted or reopened elsewhere; nothing was saved.", "error")
        return _back(review)
    return _render_review(review, form=form, stale=True, status=409)


def _still_missing(review: Review, form: ReviewForm, missing: list[tuple[str, str]]) -> Any:
    """The draft is kept; the page lists what submission still needs."""
    keep_changes()
    form.version.data = review.version
    problems: dict[str, list[str]] = {}
    for name, message in missing:
        problems.setdefault(name, []).append(f"Needed to submit: {message}.")
    flash(
        "Your draft is saved, but the review was not submitted: "
        f"{len(missing)} item{'s' if len(missing) != 1 else ''} still missing, marked below.",
        "error",
    )
    return _render_review(review, form=form, problems=problems, status=422)


@bp.post("/<int:review_id>/recuse")
@roles_required("reviewer")
@returns_to("review.review")
def recuse(review_id: int) -> Any:
    review = _own_review(review_id)
    if review.state != "in_progress":
        return _back(review)
    form = RecusalForm(prefix=RECUSAL)
    if not form.validate_on_submit():
        return _render_review(review, recusal=form, status=422)
    if form.version.data and parse_version(form.version.data) != review.version:
        flash("This review changed since you opened it; nothing was done. Try again.", "error")
        return _back(review)
    try:
        with attempt():
            review_desk.recuse(review, current_user, form.conflict_kind.data, form.explanation.data)
    except StaleDataError:
        flash("Someone changed this review at the same moment; nothing was done.", "error")
        return _back(review)
    flash(
        "Your conflict of interest is recorded and you are recused. The program office will "
        "reassign the application.",
        "success",
    )
    return redirect(url_for("review.queue"))


@bp.get("/applications/<int:application_id>/letters/<int:letter_id>")
@roles_required("reviewer")
def download_letter(application_id: int, letter_id: int) -> Response:
    review = svc.reviewer_review(current_user, application_id)
    if review is None or review.state == "assigned" or review.application.round.blind_review:
        abort(404)  # not before the declaration, and never in a blind round
    letter = next((x for x in review.application.letters if x.id == letter_id), None)
    if letter is None:
        abort(404)
    return send_file(
        io.BytesIO(storage().read(letter.storage_key)),
        mimetype="application/pdf",
        download_name=pdf_name(letter.filename, "letter.pdf"),
        as_attachment=True,
    )


@bp.route("/profile", methods=["GET", "POST"])
@roles_required("reviewer")
def profile() -> Any:
    if request.method == "POST":
        form = ProfileForm()
        if form.validate_on_submit():
            svc.save_profile(current_user, form.values())
            flash("Profile saved.", "success")
            return redirect(url_for("review.profile"))
        return render_template("review/profile.html", form=form), 422
    saved = svc.reviewer_profile(current_user)
    data = (
        {
            "priority_areas": saved.priority_areas,
            "regions": saved.regions,
            "home_state": saved.home_state or "",
            "affiliations": "\n".join(saved.affiliations or []),
        }
        if saved
        else {}
    )
    return render_template("review/profile.html", form=ProfileForm(formdata=None, data=data))
