"""The checks every view shares. The blueprints, one per audience, are the modules beside this
one; the app factory registers them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, Protocol, TypeVar

from flask import abort, flash
from flask_login import current_user, login_required
from sqlalchemy.orm.interfaces import ORMOption

from app.extensions import db
from app.unit_of_work import refusal_message
from workflows import TransitionRefused

F = TypeVar("F", bound=Callable[..., Any])


class Guarded(Protocol):
    def can_view(self, user: Any) -> bool: ...
    def can_edit(self, user: Any) -> bool: ...


G = TypeVar("G", bound=Guarded)


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


def get_for_user_or_404(
    model: type[G], ident: int, *, edit: bool = False, options: Sequence[ORMOption] = ()
) -> G:
    """The row, if the signed-in user may see it (or change it, with `edit`); else 404.

    Not 403: another jurisdiction's work, or an application a reviewer is conflicted on, does
    not exist as far as that person can tell. The model answers `can_view` / `can_edit`.
    `options` are loader options for the row (what the page reads of it, loaded with it).
    """
    row = db.session.get(model, ident, options=options)
    if row is None:
        abort(404)
    allowed = row.can_edit(current_user) if edit else row.can_view(current_user)
    if not allowed:
        abort(404)
    return row


def flash_refusal(exc: TransitionRefused) -> None:
    flash(refusal_message(exc), "error")


def parse_version(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        abort(400)
