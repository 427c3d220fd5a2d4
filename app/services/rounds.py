"""Creating, editing and checking funding rounds."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models.application import Application
from app.models.round import Round
from app.services.rubrics import add_default_rubric
from app.states import RoundState
from workflows import SYSTEM, fire

EDITABLE_FIELDS = (
    "title",
    "description",
    "timezone",
    "opens_at",
    "closes_at",
    "budget",
    "min_award",
    "max_award",
    "eligible_government_types",
    "priority_areas",
    "reviewers_per_application",
    "blind_review",
    "performance_months",
)


class StaleEdit(Exception):
    """The record changed since the person opened it."""


def create_round(values: dict[str, Any]) -> Round:
    rnd = Round(**{k: values[k] for k in EDITABLE_FIELDS if k in values})
    add_default_rubric(rnd)
    db.session.add(rnd)
    db.session.flush()
    return rnd


def update_round(rnd: Round, values: dict[str, Any], expected_version: int) -> Round:
    if rnd.version != expected_version:
        raise StaleEdit()
    if rnd.state not in RoundState.tagged("editable"):
        raise ValueError("a round can only be edited before it closes")
    for key in EDITABLE_FIELDS:
        if key in values:
            setattr(rnd, key, values[key])
    db.session.flush()
    return rnd


def open_rounds(now: datetime) -> list[Round]:
    rows = db.session.scalars(
        select(Round).where(Round.state == "open", Round.closes_at >= now).order_by(Round.closes_at)
    )
    return list(rows)


def rounds_past_deadline(now: datetime) -> list[Round]:
    # To the second, as submissions are: within 17:00:00 a 17:00:00 deadline has not passed.
    past = Round.closes_at < now.replace(microsecond=0)
    return list(db.session.scalars(select(Round).where(Round.state == "open", past)))


def money(value: Decimal | None) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def close_due_rounds(now: datetime) -> list[Round]:
    """The clock's part of the round lifecycle: close rounds whose deadline has passed."""
    due = rounds_past_deadline(now)
    for rnd in due:
        fire(rnd, "close", SYSTEM, comment="deadline passed", now=now)
    return due


def rounds_by_closing() -> list[Round]:
    """Every round, the latest deadline first (the officer's list of rounds)."""
    return list(db.session.scalars(select(Round).order_by(Round.closes_at.desc())))


def rounds_newest_first() -> list[Round]:
    """Every round, the newest first (the choices of a filter by round)."""
    return list(db.session.scalars(select(Round).order_by(Round.id.desc())))


def state_counts_by_round() -> dict[int, dict[str, int]]:
    """How many applications each round has in each state."""
    counts: dict[int, dict[str, int]] = {}
    for round_id, state, n in db.session.execute(
        select(Application.round_id, Application.state, func.count()).group_by(
            Application.round_id, Application.state
        )
    ):
        counts.setdefault(round_id, {})[state] = n
    return counts


def state_counts(rnd: Round, states: Collection[str] | None = None) -> dict[str, int]:
    """How many of the round's applications are in each state (of `states`, if given)."""
    query = select(Application.state, func.count()).where(Application.round_id == rnd.id)
    if states is not None:
        query = query.where(Application.state.in_(states))
    return {state: n for state, n in db.session.execute(query.group_by(Application.state))}


def round_titles_newest_first() -> list[tuple[int, str]]:
    """Every round's id and title, the newest first (without loading the rounds)."""
    return [
        (round_id, title)
        for round_id, title in db.session.execute(
            select(Round.id, Round.title).order_by(Round.id.desc())
        )
    ]
