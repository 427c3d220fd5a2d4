"""How money, dates and moments are shown: Babel for the words, zoneinfo for the zones."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_currency, format_decimal

# Parsed once: given a name, Babel parses it again on every call (a fifth of a date's cost).
LOCALE = Locale.parse("en_US")


def money(value: Decimal | int | float | None) -> str:
    return format_currency(Decimal(value or 0), "USD", locale=LOCALE)


def number(value: Decimal | int | float | None) -> str:
    return format_decimal(value or 0, locale=LOCALE)


def day(value: date | None) -> str:
    return format_date(value, "medium", locale=LOCALE) if value else ""


@lru_cache(maxsize=4096)
def moment(value: datetime | None, zone: str = "UTC") -> str:
    """A moment in a zone, with the zone's name. Memoized: a list shows the same few moments
    (a round's due date, one assignment run's time) on row after row."""
    if value is None:
        return ""
    return format_datetime(value, "MMM d, y, h:mm a zzz", tzinfo=ZoneInfo(zone), locale=LOCALE)


def time_left(deadline: datetime, now: datetime) -> str:
    delta = deadline - now
    if delta.total_seconds() <= 0:
        return "closed"
    return format_timedelta(delta, threshold=1.1, add_direction=False, locale=LOCALE) + " left"
