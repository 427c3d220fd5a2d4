"""One unit of work per request, committed in one place (as Indico's request handler does).

A view parses the request, checks access, calls a service and renders; it never commits or rolls
back. After the view returns, the request commits (and hands the jobs it wrote to the outbox
runner) when its answer is a success (status below 400), and rolls back otherwise or when it
raised. A refused transition and a stale write (the version column) that a view lets through are
answered here, the same way on every page:

- `TransitionRefused`: the reasons are flashed and the person goes back to the page they came
  from (declared with `@returns_to(...)`, else a same-site referrer);
- `StaleDataError` / `StaleEdit`: 409 "changed by someone else", listing what the person typed so
  nothing is lost, with a link back to the page where the saved version is.

Pages that re-render the person's typed input handle those errors themselves, inside
`attempt()`: a savepoint that undoes the attempt's changes (and expires what it touched, so the
page shows what is saved now) before the view decides what to show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from app.extensions import db
from app.jobs import commit, rollback
from app.services.rounds import StaleEdit
from workflows import TransitionRefused

F = TypeVar("F", bound=Callable[..., Any])

# Form fields that are plumbing, not what a person typed.
_HIDDEN_FIELDS = {"csrf_token", "version", "trigger", "fingerprint", "next"}


class L2GFlask(Flask):
    """Flask whose every view runs as one unit of work."""

    def dispatch_request(self) -> Any:  # type: ignore[override]
        # `g` outlives the request when an app context was already pushed (tests, CLI).
        g.pop("l2g_keep", None)
        g.pop("l2g_discard", None)
        g.pop("l2g_returns_to", None)
        try:
            response = self.make_response(super().dispatch_request())
            keep = response.status_code < 400 or g.pop("l2g_keep", False)
            if keep and not g.pop("l2g_discard", False):
                commit()  # a stale write surfaces here and is answered like one in a view
            else:
                rollback()
        except BaseException:
            rollback()
            raise
        return response


def discard_changes() -> None:
    """This request's answer is a success, but what it changed must not be kept."""
    g.l2g_discard = True


def keep_changes() -> None:
    """This request's answer is a refusal (4xx), but what it changed must be kept: failed
    sign-ins counted, a draft saved while its submission is refused."""
    g.l2g_keep = True


@contextmanager
def attempt(*reread: object) -> Iterator[None]:
    """Try a change that may be refused or stale; on either, undo just that change, re-raise.

    The view catches the error and re-renders the person's input; the objects the attempt
    touched are expired, so reading them again shows the saved version, and so are the rows
    given as `reread` (e.g. one refused as stale before anything was changed on it).
    """
    savepoint = db.session.begin_nested()
    try:
        yield
        db.session.flush()  # a stale write raises here, inside the savepoint
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        for row in reread:
            db.session.expire(row)
        raise
    else:
        savepoint.commit()


def returns_to(endpoint: str, **values: Any) -> Callable[[F], F]:
    """Where a refused or stale request sends the person back to: `endpoint`, built with the
    request's own URL values (e.g. its application_id) and `values`."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            g.l2g_returns_to = (endpoint, values)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def back_url() -> str:
    """The page the person came from: the view's declared one, else a same-site referrer."""
    declared = g.get("l2g_returns_to")
    if declared is not None:
        endpoint, values = declared
        return url_for(endpoint, **{**(request.view_args or {}), **values})
    referrer = request.referrer
    if referrer:
        parts = urlsplit(referrer)
        if parts.netloc == request.host and parts.scheme in ("http", "https"):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return url_for("public.index")


def refusal_message(exc: TransitionRefused) -> str:
    return "Not done: " + "; ".join(exc.reasons) + "."


def _answer_refusal(exc: TransitionRefused) -> Response:
    rollback()
    flash(refusal_message(exc), "error")
    return redirect(back_url())


def _answer_stale(exc: Exception) -> tuple[str, int]:
    rollback()
    typed = [
        (name, value)
        for name, value in request.form.items(multi=True)
        if name not in _HIDDEN_FIELDS and value.strip()
    ]
    return (
        render_template("conflict.html", typed=typed, back=back_url()),
        409,
    )


def install(app: Flask) -> None:
    """Answer refusals and stale writes app-wide (the commit itself is in `L2GFlask`)."""
    app.register_error_handler(TransitionRefused, _answer_refusal)
    app.register_error_handler(StaleDataError, _answer_stale)
    app.register_error_handler(StaleEdit, _answer_stale)
