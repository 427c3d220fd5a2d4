"""Whether a round's rubric is usable."""

from __future__ import annotations

from app.criteria import kind_of
from app.models.round import Round


def rubric_problems(rnd: Round) -> list[str]:
    problems = []
    scored = [c for c in rnd.criteria if kind_of(c).counts_in_score]
    if not scored:
        problems.append("the rubric needs at least one criterion scored 1–9")
    if any(c.weight is None or c.weight <= 0 for c in rnd.criteria):
        problems.append("every rubric weight must be greater than zero")
    if any(not (c.title or "").strip() for c in rnd.criteria):
        problems.append("every rubric criterion needs a title")
    return problems
