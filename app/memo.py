"""A memo for the reads of one unit of work: a value several guards need is read once.

`memoized(key, compute)` keeps what `compute()` returned in the session until the session next
writes (flush), commits or rolls back, so a page that asks the award, waitlist and decline
guards the same question reads the database once, while a request that decides many
applications in a row never reads a value its own earlier decisions changed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

T = TypeVar("T")
_MEMO = "l2g.memo"


def memoized(key: Hashable, compute: Callable[[], T]) -> T:
    store: dict[Hashable, Any] = db.session.info.setdefault(_MEMO, {})
    if key not in store:
        store[key] = compute()
    return store[key]


def forget(session: Session, *_: Any) -> None:
    session.info.pop(_MEMO, None)


for _name in ("after_flush", "after_commit", "after_rollback", "after_soft_rollback"):
    event.listen(Session, _name, forget)
