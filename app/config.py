"""Configuration read from the environment, with safe defaults for production."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEV_SECRET_KEY = "l2g-development-key-not-for-production"


class ConfigError(RuntimeError):
    """The environment does not describe a configuration the app may start with."""


def _database_url(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return "sqlite:///" + str(Path(instance_path) / "l2g.sqlite")
    # psycopg 3 is the driver; accept the plain URLs hosting providers hand out.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _int_setting(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from None
    if value < 0:
        raise ConfigError(f"{name} cannot be negative.")
    return value


def load_config(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask config from the environment; `overrides` win (tests use them)."""
    overrides = overrides or {}
    env = overrides.get("ENV_NAME") or os.environ.get("L2G_ENV", "development")
    production = env == "production"
    secret = overrides.get("SECRET_KEY") or os.environ.get("SECRET_KEY")
    if not secret:
        if production:
            raise ConfigError("SECRET_KEY must be set in production (L2G_ENV=production).")
        secret = DEV_SECRET_KEY
    elif production and secret == DEV_SECRET_KEY:
        raise ConfigError("The development SECRET_KEY cannot be used in production.")

    config: dict[str, Any] = {
        "ENV_NAME": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "RQ_QUEUE": os.environ.get("RQ_QUEUE", "l2g"),
        "STORAGE_DIR": os.environ.get("STORAGE_DIR") or str(Path(instance_path) / "files"),
        # Letters of support and report attachments: 10 MB each; a request may carry a few.
        "MAX_UPLOAD_BYTES": 10 * 1024 * 1024,
        "MAX_UPLOAD_PAGES": 100,
        "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "587")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": os.environ.get("MAIL_USE_TLS", "1") == "1",
        "MAIL_SENDER": os.environ.get("MAIL_SENDER", "L2G <no-reply@l2g.example.gov>"),
        # Without SMTP, each email sent is written here as a .eml file (a development mailbox:
        # it holds the invitations' links); none in production, nor when set to "".
        "MAIL_DIR": os.environ.get(
            "MAIL_DIR", "" if production else str(Path(instance_path) / "mail")
        ),
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000"),
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", "5")),
        "LOGIN_LOCK_MINUTES": int(os.environ.get("LOGIN_LOCK_MINUTES", "15")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_ENABLED": True,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # Strict-Transport-Security's max-age in seconds (production only; 0 sends none).
        "HSTS_MAX_AGE": _int_setting("L2G_HSTS_MAX_AGE", 365 * 24 * 3600) if production else 0,
        # How many proxies in front of the app set X-Forwarded-For/-Proto/-Host/-Port (ProxyFix).
        "PROXY_HOPS": _int_setting("L2G_PROXY_HOPS", 1 if production else 0),
        # Benchmarks read each request's SQL statement count from a header (app/query_count.py).
        "QUERY_COUNT_HEADER": os.environ.get("L2G_QUERY_COUNT_HEADER") == "1",
    }
    config.update(overrides)
    return config
