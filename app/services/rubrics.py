"""A round's review rubric: the program's default, and what makes one usable."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from app.criteria import kind_of
from app.extensions import db
from app.models.application import Application
from app.models.review import Review
from app.models.round import Round, RubricCriterion
from app.rules.rubrics import rubric_problems as rubric_problems  # re-exported

DEFAULT_RUBRIC: tuple[tuple[str, str, str, str], ...] = (
    (
        "Significance and fit with the priority areas",
        "Does the project address an important need of the jurisdiction and advance one or more "
        "of the round's priority areas and U.S. foreign-policy objectives?",
        "1.5",
        "scored",
    ),
    (
        "Approach, feasibility and measurement plan",
        "Are the activities, milestones and impact targets realistic for the period, and will "
        "the applicant be able to measure and report what the project achieves?",
        "1.5",
        "scored",
    ),
    (
        "Partnerships and collective impact",
        "Does the project bring academic, community, diaspora, philanthropic, consular or "
        "subnational partners with clear roles, so that its results outlast political transitions?",
        "1",
        "scored",
    ),
    (
        "Capacity and budget realism",
        "Can the applicant manage a federal award, and is the budget reasonable, allowable and "
        "consistent with the proposed work?",
        "1",
        "sufficiency",
    ),
)


def add_default_rubric(rnd: Round) -> None:
    for position, (title, guidance, weight, kind) in enumerate(DEFAULT_RUBRIC):
        rnd.criteria.append(
            RubricCriterion(
                position=position, title=title, guidance=guidance, weight=Decimal(weight), kind=kind
            )
        )


class RubricLocked(ValueError):
    """The rubric can no longer change: a review against it has been submitted."""


def rubric_locked(rnd: Round) -> bool:
    return (
        db.session.scalar(
            select(Review.id)
            .join(Application, Review.application_id == Application.id)
            .where(Application.round_id == rnd.id, Review.submitted_at.is_not(None))
            .limit(1)
        )
        is not None
    )


def replace_criteria(rnd: Round, rows: list[dict[str, object]], expected_version: int) -> None:
    """Set the rubric's criteria in the given order; rows keep their id where they had one, so
    scores already drafted against a criterion stay attached to it."""
    from app.services.rounds import StaleEdit

    if rubric_locked(rnd):
        raise RubricLocked("a review has been submitted against this rubric")
    if rnd.version != expected_version:
        raise StaleEdit()
    by_id = {c.id: c for c in rnd.criteria}
    kept: list[RubricCriterion] = []
    for position, row in enumerate(rows):
        criterion = by_id.get(row.get("id")) or RubricCriterion()  # type: ignore[arg-type]
        criterion.position = position
        criterion.title = str(row["title"]).strip()
        criterion.guidance = str(row.get("guidance") or "").strip()
        criterion.weight = Decimal(str(row["weight"]))
        criterion.kind = kind_of(str(row["kind"])).name
        criterion.required = bool(row.get("required", True))
        kept.append(criterion)
    rnd.criteria = kept
    flag_modified(rnd, "title")  # an UPDATE of the round bumps its version for other editors
    db.session.flush()
