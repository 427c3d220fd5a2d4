"""Firing one transition on many records, each on its own."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.extensions import db
from workflows import TransitionRefused, fire


@dataclass(frozen=True)
class BulkOutcome:
    entity: Any
    done: bool
    reasons: tuple[str, ...] = ()


def fire_each(
    entities: Iterable[Any],
    trigger: str,
    actor: Any,
    comment: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> list[BulkOutcome]:
    """Fire `trigger` on each entity inside its own savepoint: one refused (even by an action,
    after its state moved) is rolled back alone and reported with its reasons; the caller
    commits the rest."""
    outcomes = []
    for entity in entities:
        try:
            with db.session.begin_nested():
                fire(entity, trigger, actor, comment=comment, data=data)
        except TransitionRefused as exc:
            outcomes.append(BulkOutcome(entity, False, tuple(exc.reasons)))
        else:
            outcomes.append(BulkOutcome(entity, True))
    return outcomes
