"""An application's page for the officer: its reviewers panel, transitions and letters."""

from __future__ import annotations

import io
from typing import Any

from flask import abort, render_template, send_file, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.models.application import Application
from app.models.review import Review
from app.models.user import User
from app.rules import ranking
from app.services import applications as svc
from app.services import review_assignment as assigning
from app.services.pdf_uploads import pdf_name
from app.storage import storage
from app.unit_of_work import returns_to
from app.views import get_for_user_or_404, roles_required
from app.views.officer.common import bp, fire_from_form
from forms.review_admin import AddReviewerForm, DueDateForm, SwapReviewerForm
from workflows import available


@bp.get("/applications/<int:application_id>")
@roles_required("officer")
def application_detail(application_id: int) -> str:
    return render_application(
        get_for_user_or_404(Application, application_id, options=svc.WHOLE_APPLICATION)
    )


def render_application(
    application: Application,
    add_form: AddReviewerForm | None = None,
    swap_form: tuple[int, SwapReviewerForm] | None = None,
    review_errors: dict[int, list[str]] | None = None,
    due_form: DueDateForm | None = None,
    status: int = 200,
) -> Any:
    """The application's page; a posted form (add, swap, due date) keeps its input and errors."""
    reviews = assigning.application_reviews(application)
    add_form, swap_forms = _reviewer_forms(application, reviews, add_form, swap_form)
    return render_template(
        "officer/application_detail.html",
        application=application,
        options=available(application, current_user),
        standing=ranking.standing(application),
        events=svc.timeline("application", application.id),
        letter_endpoint="officer.download_letter",
        reviews=reviews,
        review_options={review.id: _review_options(review) for review, _ in reviews},
        review_errors=review_errors or {},
        add_form=add_form,
        swap_forms=swap_forms,
        due_form=due_form or DueDateForm(formdata=None, prefix="round", origin=application.id),
        assignable=application.state in assigning.ASSIGNABLE_STATES,
        zone=application.round.timezone,
        now=utcnow(),
    ), status


def _reviewer_forms(
    application: Application,
    reviews: list[tuple[Review, User]],
    add_form: AddReviewerForm | None,
    swap_form: tuple[int, SwapReviewerForm] | None,
) -> tuple[AddReviewerForm, dict[int, SwapReviewerForm]]:
    """The add-a-reviewer form and a swap form per assigned review, offering the candidates.

    Only while reviewers may still be assigned: once scored or decided, the service refuses
    an addition or a swap anyway, and the candidates (every reviewer of the pool checked for
    conflicts, a third of the page's time) are not worked out at all."""
    if application.state not in assigning.ASSIGNABLE_STATES:
        return add_form or AddReviewerForm(formdata=None, candidates=[]), {}
    candidates = assigning.candidates(application, reviews)
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
    return add_form, swap_forms


def _review_options(review: Review) -> list[Any]:
    return [
        o for o in available(review, current_user) if o.transition.trigger in ("recuse", "reopen")
    ]


@bp.post("/applications/<int:application_id>/transition")
@roles_required("officer")
@returns_to("officer.application_detail")
def application_transition(application_id: int) -> Response:
    application = get_for_user_or_404(Application, application_id)
    back = url_for("officer.application_detail", application_id=application.id)
    return fire_from_form(application, back)


@bp.get("/applications/<int:application_id>/letters/<int:letter_id>")
@roles_required("officer")
def download_letter(application_id: int, letter_id: int) -> Response:
    application = get_for_user_or_404(Application, application_id)
    letter = next((x for x in application.letters if x.id == letter_id), None) or abort(404)
    return send_file(
        io.BytesIO(storage().read(letter.storage_key)),
        mimetype="application/pdf",
        download_name=pdf_name(letter.filename, "letter.pdf"),
        as_attachment=True,
    )
