"""The one source of the current time, so tests can stop or move it."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def utcnow() -> datetime:
    """Now, timezone-aware in UTC, to the microsecond (or the moment a test froze)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(moment: datetime | None) -> None:
    """Tests only: make utcnow() return `moment` (None lets the clock run again)."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("freeze needs an aware datetime")
    _frozen = moment
