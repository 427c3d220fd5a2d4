"""People, the organizations (jurisdictions) they work for, and invitations."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from app.clock import utcnow
from app.domain import GOVERNMENT_TYPES, ROLES, US_STATES
from app.extensions import db
from app.models.types import UTCDateTime, state_check


class Organization(db.Model):
    """An applicant jurisdiction: a state, territory, county, city, tribe or regional council."""

    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint(state_check("government_type", list(GOVERNMENT_TYPES)), name="gov_type"),
        CheckConstraint(state_check("state_code", list(US_STATES)), name="state_code"),
        CheckConstraint("population >= 0", name="population"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    government_type: Mapped[str] = mapped_column(String(30))
    state_code: Mapped[str] = mapped_column(String(2), index=True)
    population: Mapped[int]
    street: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    zip_code: Mapped[str] = mapped_column(String(10), default="")
    official_name: Mapped[str] = mapped_column(String(200), default="")
    official_title: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organization")

    @property
    def government_type_title(self) -> str:
        return GOVERNMENT_TYPES.get(self.government_type, self.government_type)

    @property
    def state_name(self) -> str:
        return US_STATES.get(self.state_code, self.state_code)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(state_check("role", list(ROLES)), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    role: Mapped[str] = mapped_column(String(20))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of every session's (and remember cookie's) user id: a new one ends them all.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)

    organization: Mapped[Organization | None] = relationship(back_populates="users")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def rotate_session_token(self) -> None:
        """Every session signed in as this account, here or elsewhere, is refused from now on."""
        self.session_token = new_session_token()

    @validates("role", "is_active_account")
    def _authority_changed(self, key: str, value: Any) -> Any:
        # Sessions opened with the old role or while the account was active must not outlive
        # the change, whoever makes it (an admin page, the shell, a script).
        if self.id is not None and getattr(self, key) != value:
            self.rotate_session_token()
        return value

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.is_active_account

    @property
    def role_title(self) -> str:
        return ROLES.get(self.role, self.role)

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


class Invitation(db.Model):
    """A one-time link that lets a person set a password and join with a given role."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(20))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization | None] = relationship()
    invited_by: Mapped[User] = relationship()
