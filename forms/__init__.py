"""WTForms classes, one module per lifecycle or audience. Forms parse and check input only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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


class FiniteDecimalField(DecimalField):
    """A DecimalField that refuses "NaN", "sNaN" and "Infinity": Python parses them as decimals,
    no amount or count is one, and a signalling NaN even crashes NumberRange (a 500)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value."))
