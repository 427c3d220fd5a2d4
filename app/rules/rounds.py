"""Whether a round may open, and what still stops it being finalized."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from app.extensions import db
from app.models.application import Application
from app.models.round import Round


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
