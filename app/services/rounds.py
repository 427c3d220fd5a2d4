"""Creating, editing and checking funding rounds."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models.application import Application
from app.models.round import Round
from app.services.rubrics import add_default_rubric

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
    if rnd.state not in ("draft", "open"):
        raise ValueError("a round can only be edited before it closes")
    for key in EDITABLE_FIELDS:
        if key in values:
            setattr(rnd, key, values[key])
    db.session.flush()
    return rnd


def date_problems(rnd: Round, now: datetime) -> list[str]:
    problems = []
    if rnd.opens_at is None or rnd.closes_at is None:
        return ["opening and closing times are required"]
    if rnd.closes_at <= rnd.opens_at:
        problems.append("the round must close after it opens")
    if rnd.closes_at <= now:
        problems.append("the closing time has already passed")
    if rnd.performance_months is None or not 1 <= rnd.performance_months <= 60:
        problems.append("the period of performance must be 1 to 60 months")
    return problems


def budget_problems(rnd: Round) -> list[str]:
    problems = []
    budget, low, high = rnd.budget, rnd.min_award, rnd.max_award
    if budget is None or budget <= 0:
        problems.append("the budget must be greater than zero")
    if low is None or high is None or low <= 0 or high < low:
        problems.append("the minimum award must be positive and not above the maximum")
    elif budget is not None and high > budget:
        problems.append("the maximum award cannot exceed the budget")
    if not rnd.eligible_government_types:
        problems.append("at least one government type must be eligible")
    if not rnd.priority_areas:
        problems.append("at least one priority area must be offered")
    if not rnd.reviewers_per_application or rnd.reviewers_per_application < 1:
        problems.append("each application needs at least one reviewer")
    return problems


def undecided_count(rnd: Round) -> int:
    return (
        db.session.scalar(
            select(func.count(Application.id)).where(
                Application.round_id == rnd.id, Application.state == "scored"
            )
        )
        or 0
    )


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
    from workflows import SYSTEM, fire

    due = rounds_past_deadline(now)
    for rnd in due:
        fire(rnd, "close", SYSTEM, comment="deadline passed", now=now)
    return due
