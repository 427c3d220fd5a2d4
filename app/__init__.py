"""L2G: the Local-to-Global Engagement Fund grants engine."""

from __future__ import annotations

import hmac
import logging
from pathlib import Path
from typing import Any

from flask import Flask, abort, g, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from app import log_redaction
from app.config import load_config
from app.extensions import cache, csrf, db, local_cache, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    from app.unit_of_work import L2GFlask

    app = L2GFlask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(load_config(app.instance_path, overrides))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("transitions").setLevel(logging.WARNING)  # one line per callback otherwise
    log_redaction.install()

    from app import models  # noqa: F401  (every table known to metadata and migrations)

    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True
    )
    csrf.init_app(app)
    cache.init_app(app, config=_cache_config(app.config))
    local_cache.init_app(
        app,
        config={"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": 32, "CACHE_DEFAULT_TIMEOUT": 3600},
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to see that page."
    login_manager.login_message_category = "info"

    from app.models.user import User

    # The services that follow a transition (the award an approval creates, the reports an
    # acceptance owes...) register with the engine when imported: import them with the app.
    from app.services import (  # noqa: F401
        awards,
        catalog,
        conflicts,
        decisions,
        impact_reports,
        reviews,
        scores,
    )

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        # A session carries "<id>:<token>" (User.get_id); once the account's token is rotated
        # (sign-out, new password, deactivation, new role) every older session is refused.
        user_id, _, token = session_id.partition(":")
        if not user_id.isdigit() or not token:
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.is_active:
            return None
        if not hmac.compare_digest(user.session_token.encode(), token.encode()):
            return None
        return user

    _register_blueprints(app)
    _register_template_helpers(app)
    from app import criteria
    from app.models.round import CRITERION_KINDS

    criteria.install(app, CRITERION_KINDS)  # an unknown criterion kind stops the start-up
    _register_errors(app)
    from app import unit_of_work

    unit_of_work.install(app)

    from app.cli import register_commands

    register_commands(app)

    @app.before_request
    def refuse_nul_characters() -> None:
        # Nobody types a NUL character, and PostgreSQL cannot hold one in a text column: a form
        # or query string carrying one failed deep in a query (a 500). Refuse it up front.
        for values in (request.args, request.form):
            for key, value in values.items(multi=True):
                if "\x00" in key or "\x00" in value:
                    abort(400)

    @app.after_request
    def security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "frame-ancestors 'none'",
        )
        if app.config["HSTS_MAX_AGE"]:
            response.headers.setdefault(
                "Strict-Transport-Security",
                f"max-age={app.config['HSTS_MAX_AGE']}; includeSubDomains",
            )
        # A signed-in page is the person's own: no browser or proxy cache keeps it, so the Back
        # button after signing out or a shared computer's cache shows nothing of it. Flask-Login
        # keeps the user in `g` once the request asked who is signed in; a route that never asks
        # (/healthz, static files) answers the same to anyone and costs no query here. Not
        # `is_authenticated`: it reads the account's row, expired by the request's commit.
        user = g.get("_login_user")
        if user is not None and not user.is_anonymous:
            response.headers["Cache-Control"] = "no-store"
        return response

    from app import query_count

    query_count.install(app)
    if hops := app.config["PROXY_HOPS"]:
        # Behind the load balancer: the scheme (secure cookies, https URLs) and the client's
        # address are the ones it forwards, trusted from that many proxies and no further.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )
    return app


def _cache_config(config: Any) -> dict[str, Any]:
    """Flask-Caching's settings: Redis (every process shares it) when REDIS_URL is set, else a
    bounded dict per process. Settings given explicitly (CACHE_*) win."""
    chosen: dict[str, Any] = {
        "CACHE_DEFAULT_TIMEOUT": 24 * 3600,
        "CACHE_KEY_PREFIX": "l2g-cache:",
        "CACHE_THRESHOLD": 500,
    }
    if config.get("REDIS_URL"):
        chosen |= {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": config["REDIS_URL"]}
    else:
        chosen["CACHE_TYPE"] = "SimpleCache"
    return chosen | {k: v for k, v in config.items() if k.startswith("CACHE_")}


def _register_blueprints(app: Flask) -> None:
    """One blueprint per audience. Only the factory imports the views."""
    from app.views import (
        admin,
        applicant,
        auth,
        catalog,
        grantee,
        impact,
        officer,
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
        admin,
    ):
        app.register_blueprint(module.bp)


def _register_template_helpers(app: Flask) -> None:
    from app import formatting
    from app.clock import utcnow

    app.jinja_env.filters.update(
        money=formatting.money,
        number=formatting.number,
        day=formatting.day,
        moment=formatting.moment,
    )
    from app.countries import country_name
    from app.domain import BUDGET_CATEGORIES, INDICATORS, PRIORITY_AREAS
    from app.states import LIFECYCLE_STATES

    # Templates ask for state groups the way code does: RoundState.tagged("editable").
    app.jinja_env.globals.update({s.__name__: s for s in LIFECYCLE_STATES.values()})
    app.jinja_env.globals.update(
        time_left=formatting.time_left,
        utcnow=utcnow,
        country_names=lambda codes: [country_name(c) for c in codes or []],
        budget_categories=BUDGET_CATEGORIES,
        indicator_titles=INDICATORS,
        priority_titles=PRIORITY_AREAS,
    )


def _register_errors(app: Flask) -> None:
    def page(code: int, title: str, message: str) -> tuple[str, int]:
        return render_template("error.html", code=code, title=title, message=message), code

    app.register_error_handler(
        403, lambda e: page(403, "Not allowed", "Your account cannot open this page.")
    )
    app.register_error_handler(
        404, lambda e: page(404, "Not found", "There is nothing at this address you can see.")
    )
    app.register_error_handler(
        413,
        lambda e: page(413, "File too large", "The upload is larger than this site accepts."),
    )
    app.register_error_handler(
        CSRFError,
        lambda e: page(
            400,
            "Form expired",
            "The form had expired or did not come from this site. Go back, reload and try again: "
            "what you typed is still in your browser's back page.",
        ),
    )
