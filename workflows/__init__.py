"""Every lifecycle of L2G, and `fire` / `available` that pick the right one for an entity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflows import application, award, impact_report, review, round
from workflows.engine import (
    SYSTEM,
    FireContext,
    Lifecycle,
    Option,
    TransitionRefused,
)
from workflows.engine import available as _available
from workflows.engine import fire as _fire

LIFECYCLES: dict[str, Lifecycle] = {
    lifecycle.name: lifecycle
    for lifecycle in (
        round.LIFECYCLE,
        application.LIFECYCLE,
        review.LIFECYCLE,
        award.LIFECYCLE,
        impact_report.LIFECYCLE,
    )
}


def lifecycle_of(entity: Any) -> Lifecycle:
    for lifecycle in LIFECYCLES.values():
        if isinstance(entity, lifecycle.model()):
            return lifecycle
    raise LookupError(f"no lifecycle for {type(entity).__name__}")


def fire(
    entity: Any,
    trigger: str,
    actor: Any,
    comment: str | None = None,
    data: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    return _fire(lifecycle_of(entity), entity, trigger, actor, comment=comment, data=data, **kwargs)


def available(entity: Any, actor: Any, ctx: FireContext | None = None) -> list[Option]:
    return _available(lifecycle_of(entity), entity, actor, ctx)


__all__ = [
    "LIFECYCLES",
    "SYSTEM",
    "FireContext",
    "Lifecycle",
    "Option",
    "TransitionRefused",
    "available",
    "fire",
    "lifecycle_of",
]
