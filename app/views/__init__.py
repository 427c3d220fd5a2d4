"""Blueprints, one per audience, and the checks every view shares."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, flash
from flask_login import current_user, login_required

from workflows import TransitionRefused

F = TypeVar("F", bound=Callable[..., Any])


def register_blueprints(app: Flask) -> None:
    from app.views import (
        admin,
        applicant,
        auth,
        awards,
        catalog,
        grantee,
        impact,
        officer,
        program,
        public,
        review,
    )

    for module in (
        auth,
        public,
        catalog,
        applicant,
        grantee,
        impact,
        review,
        officer,
        program,
        awards,
        admin,
    ):
        app.register_blueprint(module.bp)


def roles_required(*roles: str) -> Callable[[F], F]:
    """Signed in, and with one of these roles; anything else is refused on the server."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def flash_refusal(exc: TransitionRefused) -> None:
    flash("Not done: " + "; ".join(exc.reasons) + ".", "error")


def parse_version(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        abort(400)
