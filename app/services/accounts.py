"""Accounts: registration, sign-in with lock-out, passwords and invitations."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from app.domain import ROLES
from app.extensions import db
from app.models.user import Invitation, Organization, User
from app.outbox import enqueue_effect

MIN_PASSWORD_LENGTH = 12
INVITATION_DAYS = 14


class AccountError(ValueError):
    """A problem with the request, in words for the person; `field` names the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))


def password_problem(password: str) -> str | None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    return None


def create_user(
    email: str,
    password: str,
    role: str,
    name: str = "",
    organization: Organization | None = None,
) -> User:
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.", "role")
    if role == "applicant" and organization is None:
        raise AccountError("An applicant belongs to an organization.", "organization")
    if find_user(email) is not None:
        raise AccountError("An account with this email already exists.", "email")
    if problem := password_problem(password):
        raise AccountError(problem, "password")
    user = User(
        email=normalize_email(email), name=name.strip(), role=role, organization=organization
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def register_applicant(organization_values: dict[str, Any], user_values: dict[str, Any]) -> User:
    organization = Organization(**organization_values)
    db.session.add(organization)
    return create_user(
        user_values["email"],
        user_values["password"],
        "applicant",
        name=user_values.get("name", ""),
        organization=organization,
    )


@dataclass(frozen=True)
class SignIn:
    user: User | None
    message: str | None  # why it was refused, shown to the person


def authenticate(email: str, password: str, now: datetime) -> SignIn:
    """Check a password; after repeated failures the account is locked for a while.

    The same message is given for an unknown email and a wrong password.
    """
    refused = SignIn(None, "The email or password is not right.")
    user = find_user(email)
    if user is None:
        return refused
    if user.locked_until and user.locked_until > now:
        minutes = max(1, math.ceil((user.locked_until - now).total_seconds() / 60))
        return SignIn(None, f"Too many failed attempts. Try again in {minutes} minute(s).")
    if not user.check_password(password):
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
            user.failed_logins = 0
        db.session.flush()
        return refused
    if not user.is_active_account:
        return SignIn(None, "This account is deactivated.")
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    return SignIn(user, None)


def end_sessions(user: User) -> None:
    """End every session of this account, on every browser, and its remember cookies.

    Signing out, a password change and a password reset call it; a new role or a deactivation
    does it by itself (`User._authority_changed`). The session that should stay signed in (the
    one that changed the password) signs in again afterwards with `login_user(user)`, which
    writes the new token into that session only.
    """
    user.rotate_session_token()
    db.session.flush()


def sign_out(user: User) -> None:
    """Signing out ends the account's sessions everywhere, not only this browser's: a cookie
    copied from it, or a session left open on another computer, stops working too."""
    end_sessions(user)


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password; every session of the account ends (the caller signs itself in again)."""
    if not user.check_password(current):
        raise AccountError("The current password is not right.", "current_password")
    if problem := password_problem(new):
        raise AccountError(problem, "new_password")
    user.set_password(new)
    end_sessions(user)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(
    email: str, role: str, inviter: User, now: datetime, organization: Organization | None = None
) -> tuple[Invitation, str]:
    """Invite a person; returns the invitation and its one-time token (sent by email)."""
    if inviter.role == "applicant":
        if (
            role != "applicant"
            or organization is None
            or organization.id != inviter.organization_id
        ):
            raise AccountError("You can invite colleagues of your own organization only.", "email")
    elif inviter.role not in ("officer", "admin"):
        raise AccountError("You cannot invite people.", "email")
    if role == "admin" and inviter.role != "admin":
        raise AccountError("Only an administrator can invite administrators.", "role")
    if find_user(email) is not None:
        raise AccountError("An account with this email already exists.", "email")
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        email=normalize_email(email),
        role=role,
        organization=organization,
        token_hash=_token_hash(token),
        invited_by_id=inviter.id,
        created_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    )
    db.session.add(invitation)
    db.session.flush()
    enqueue_effect("send_invitation", "invitation", invitation.id, payload={"token": token})
    return invitation, token


def find_invitation(token: str, now: datetime) -> Invitation | None:
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.token_hash == _token_hash(token))
    )
    if invitation is None or invitation.accepted_at or invitation.expires_at < now:
        return None
    return invitation


def accept_invitation(invitation: Invitation, name: str, password: str, now: datetime) -> User:
    user = create_user(
        invitation.email, password, invitation.role, name=name, organization=invitation.organization
    )
    invitation.accepted_at = now
    db.session.flush()
    return user


def people() -> list[Any]:
    """Every account with its organization's name (None for staff), by role then email."""
    return list(
        db.session.execute(
            select(User, Organization.legal_name)
            .outerjoin(Organization, User.organization_id == Organization.id)
            .order_by(User.role, User.email)
        ).all()
    )


def pending_invitations(now: datetime) -> list[Invitation]:
    """Invitations not yet accepted and not expired, newest first."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.accepted_at.is_(None), Invitation.expires_at > now)
            .order_by(Invitation.created_at.desc())
        ).all()
    )


def colleagues(organization_id: int) -> list[User]:
    """The organization's accounts, by email."""
    return list(
        db.session.scalars(
            select(User).where(User.organization_id == organization_id).order_by(User.email)
        ).all()
    )
