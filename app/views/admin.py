"""People: officers and admins see accounts and invite staff and reviewers."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.services.accounts import AccountError, invite, pending_invitations, people
from app.views import roles_required
from forms.auth import InviteForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/people", methods=["GET", "POST"])
@roles_required("officer", "admin")
def users() -> str | Response:
    form = InviteForm()
    if current_user.role != "admin":
        # A choice is a SelectChoice or a tuple; either iterates from its value.
        form.role.choices = [c for c in form.role.choices if next(iter(c)) != "admin"]
    if form.validate_on_submit():
        try:
            invitation, _token = invite(form.email.data, form.role.data, current_user, utcnow())
        except AccountError as exc:
            getattr(form, exc.field or "email").errors.append(str(exc))
        else:
            flash(f"Invitation sent to {invitation.email}.", "success")
            return redirect(url_for("admin.users"))
    return render_template(
        "admin/users.html", people=people(), pending=pending_invitations(utcnow()), form=form
    )
