"""Signing in and out, registering a jurisdiction, passwords and invitations."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.services import accounts
from app.unit_of_work import discard_changes, keep_changes
from forms.auth import InvitationAcceptForm, LoginForm, PasswordChangeForm, RegistrationForm

bp = Blueprint("auth", __name__)

ORGANIZATION_FIELDS = (
    "legal_name",
    "government_type",
    "state_code",
    "population",
    "street",
    "city",
    "zip_code",
    "official_name",
    "official_title",
)


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths: never redirect a sign-in to another host.
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    # Browsers drop tabs and newlines from a URL and read "\" as "/": "/\t/evil.example" and
    # "/\\evil.example" both lead to evil.example.
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("public.index"))
    form = LoginForm()
    refusal = None
    if form.validate_on_submit():
        result = accounts.authenticate(form.email.data, form.password.data, utcnow())
        keep_changes()  # failed attempts count even when refused
        if result.user is not None:
            login_user(result.user)
            return redirect(_safe_next(request.args.get("next")) or url_for("public.index"))
        refusal = result.message
    return render_template(
        "auth/login.html", form=form, refusal=refusal
    ), 200 if not refusal else 401


@bp.post("/logout")
@login_required
def logout() -> Response:
    accounts.sign_out(current_user._get_current_object())
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
def register() -> str | Response:
    form = RegistrationForm()
    if form.validate_on_submit():
        try:
            user = accounts.register_applicant(
                {k: getattr(form, k).data for k in ORGANIZATION_FIELDS},
                {"email": form.email.data, "password": form.password.data, "name": form.name.data},
            )
        except accounts.AccountError as exc:
            discard_changes()
            getattr(form, exc.field or "email").errors.append(str(exc))
        else:
            login_user(user)
            flash(f"Welcome. {user.organization.legal_name} is registered.", "success")
            return redirect(url_for("applicant.dashboard"))
    return render_template("auth/register.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> str | Response:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except accounts.AccountError as exc:
            discard_changes()
            getattr(form, exc.field or "new_password").errors.append(str(exc))
        else:
            # The new password ended every session of the account; this one stays signed in.
            login_user(current_user._get_current_object())
            flash("Your password is changed. You are signed out everywhere else.", "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> str | Response:
    invitation = accounts.find_invitation(token, utcnow())
    if invitation is None:
        abort(404)
    form = InvitationAcceptForm()
    if form.validate_on_submit():
        try:
            user = accounts.accept_invitation(
                invitation, form.name.data, form.password.data, utcnow()
            )
        except accounts.AccountError as exc:
            discard_changes()
            getattr(form, exc.field or "password").errors.append(str(exc))
        else:
            logout_user()
            login_user(user)
            flash("Your account is ready.", "success")
            return redirect(url_for("public.index"))
    return render_template("auth/invitation.html", form=form, invitation=invitation)
