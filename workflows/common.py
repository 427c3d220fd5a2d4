"""Guards shared by several lifecycles."""

from __future__ import annotations

from typing import Any

from workflows.engine import FireContext


def comment_given(entity: Any, ctx: FireContext) -> str | None:
    return None if ctx.comment else "a comment giving the reason is required"


def relation_to_organization(entity: Any, actor: Any) -> set[str]:
    """Officers and admins act on everything; applicants only on their own organization's rows
    (the row's `can_view`, the same question its pages ask)."""
    if actor.role == "applicant":
        return {"applicant"} if entity.can_view(actor) else set()
    return {actor.role}
