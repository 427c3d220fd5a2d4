"""WTForms classes, one module per lifecycle or audience. Forms parse and check input only."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import wtforms
from wtforms import DecimalField

try:
    from wtforms import SelectChoice
except ImportError:  # WTForms 3.2 takes (value, label) tuples
    SelectChoice = None


def options(pairs: Iterable[tuple[str, str]]) -> list[Any]:
    """(value, label) pairs as the installed WTForms wants a select's choices.

    SelectChoice from WTForms 3.3 on (tuples are deprecated there, an error under the tests'
    filterwarnings), tuples before."""
    if SelectChoice is None:
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


def exact_decimal(text: str, places: int | None) -> Decimal:
    """The number typed, exactly as a Decimal, or ValueError with the message to show.

    Python reads "NaN", "sNaN" and "Infinity" as decimals: none is an amount or a count, and a
    signalling NaN even crashes a comparison (a 500). More places than the column stores would be
    rounded silently by the database (12.999 saved as 13.00), so they are refused. -0 is 0."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        raise ValueError("Not a valid decimal value.") from None
    if not value.is_finite():
        raise ValueError("Not a valid decimal value.")
    if places is not None:
        # Trailing zeros are not precision (12.500 is 12.50); counted on the digits, not with
        # normalize(), which rounds to the context's 28 digits.
        _sign, digits, exponent = value.as_tuple()
        digits = list(digits)
        while exponent < 0 and len(digits) > 1 and digits[-1] == 0:
            digits.pop()
            exponent += 1
        if exponent < -places:
            whole = places == 0
            raise ValueError(
                "Enter a whole number." if whole else f"Enter at most {places} decimal places."
            )
    if value.is_zero():
        return value.copy_abs()
    if value.as_tuple().exponent > 0 and value.adjusted() < 28:
        value = value.quantize(Decimal(1))  # 1E+3 is kept and shown as 1000
    return value


class FiniteDecimalField(DecimalField):
    """A DecimalField that takes only a finite number with no more places than it stores
    (exact_decimal); an empty value is left to Optional or InputRequired, as a DecimalField's."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            super().process_formdata(valuelist)
            return
        try:
            self.data = exact_decimal(str(valuelist[0]), self.places)
        except ValueError:
            self.data = None
            raise


EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2100, 12, 31)


class _SensibleDate:
    """A date (or moment) from 1990 to 2100: a year typed as 0227 or 20270 is a slip, and far
    dates overflow what the database and the calendar pages handle."""

    data: Any

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)  # type: ignore[misc]
        day = self.data.date() if isinstance(self.data, datetime) else self.data
        if isinstance(day, date) and not EARLIEST_DATE <= day <= LATEST_DATE:
            self.data = None
            raise ValueError("Enter a date from 1990 to 2100.")


class DateField(_SensibleDate, wtforms.DateField):
    """wtforms' DateField limited to 1990-2100."""


class DateTimeLocalField(_SensibleDate, wtforms.DateTimeLocalField):
    """wtforms' DateTimeLocalField limited to 1990-2100."""
