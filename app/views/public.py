"""Pages anyone may see."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.services.rounds import open_rounds

bp = Blueprint("public", __name__)

HOME_BY_ROLE = {
    "applicant": "applicant.dashboard",
    "officer": "officer.rounds",
    "admin": "admin.users",
    "reviewer": "review.queue",
}


@bp.get("/")
def index() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for(HOME_BY_ROLE[current_user.role]))
    now = utcnow()
    return render_template("public/index.html", rounds=open_rounds(now), now=now)


@bp.get("/healthz")
def health() -> tuple[str, int]:
    return "ok", 200
