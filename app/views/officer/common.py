"""What the officer's pages share: the one blueprint, lookups, firing a transition from a form."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, flash, redirect, send_file
from flask_login import current_user
from werkzeug.wrappers import Response

from app import charts
from app.extensions import db
from app.models.award import AwardPackage
from app.models.round import Round
from app.storage import storage
from app.views import parse_version
from forms.application import ActionForm
from workflows import fire

bp = Blueprint("officer", __name__, url_prefix="/officer")
bp.record_once(charts.install)
PAGE_SIZE = 50
STALE = "This changed since you opened the page; nothing was done. Check it and try again."


# Rows the models answer `can_view` for load through `get_for_user_or_404`; rounds and packages
# are the officers' own and have no such question.
def round_or_404(round_id: int) -> Round:
    return db.session.get(Round, round_id) or abort(404)


def package_or_404(package_id: int) -> AwardPackage:
    return db.session.get(AwardPackage, package_id) or abort(404)


def stream_file(key: str, mimetype: str, name: str) -> Response:
    """Send a stored file in chunks (the storage's open file when it has one)."""
    st = storage()
    opener = getattr(st, "open", None)
    try:
        fileobj = opener(key) if opener is not None else io.BytesIO(st.read(key))
    except OSError:
        abort(404)
    return send_file(fileobj, mimetype=mimetype, download_name=name, as_attachment=True)


def fire_from_form(entity: Any, back: str) -> Response:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if form.version.data and parse_version(form.version.data) != entity.version:
        flash(
            "This record changed since you opened it; nothing was done. Check it and try again.",
            "error",
        )
        return redirect(back)
    # A refusal is answered app-wide (the view's `@returns_to`), a stale write with the 409 page.
    data = {"ranking_version": form.ranking_version.data} if form.ranking_version.data else {}
    event = fire(entity, form.trigger.data, current_user, comment=form.comment.data, data=data)
    flash(
        f"Done: {event.trigger.replace('_', ' ')} → {event.to_state.replace('_', ' ')}.",
        "success",
    )
    return redirect(back)
