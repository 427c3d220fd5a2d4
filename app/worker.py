"""What an rq worker runs: one outbox job by id, in an app made once per worker process.

`app.jobs` hands rq this module's `run_outbox_job` by name, so the runner never imports the app
factory (which imports the runner).
"""

from __future__ import annotations

from flask import Flask, has_app_context

from app import create_app
from app.extensions import db
from app.jobs import run_outbox_job as run_here

_worker_app: Flask | None = None


def run_outbox_job(outbox_id: int) -> str:
    global _worker_app
    if has_app_context():
        return run_here(outbox_id)
    if _worker_app is None:
        _worker_app = create_app()
    with _worker_app.app_context():
        try:
            return run_here(outbox_id)
        finally:
            db.session.remove()
