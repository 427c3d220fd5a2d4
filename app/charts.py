"""What the server-rendered SVG charts draw: short number labels, bar rows and the tile map.

The macros in templates/_charts.html lay these out; every chart has a data table beside it, so the
numbers here are for reading at a glance, and the tables carry the exact ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask import Flask

from app.domain import INDICATORS, US_STATES
from app.formatting import day
from app.services.dashboard import Totals
from app.services.program_data import StateTotal
from app.services.tilemap import COLUMNS, ROWS, TILES

MONEY_INDICATORS = frozenset(code for code, title in INDICATORS.items() if "(USD)" in title)


_UNITS = ((1e3, "K"), (1e6, "M"), (1e9, "B"), (1e12, "T"))


def compact(value: Decimal | int | float | None, money: bool = False) -> str:
    """1.2K, $3.4M: a label that fits beside a bar (en-US, one decimal at most).

    Plain arithmetic rather than Babel's compact formats: a chart has hundreds of labels."""
    number = float(value or 0)
    sign, size = ("-" if number < 0 else ""), abs(number)
    text = f"{size:,.0f}"
    reached = [i for i, (limit, _) in enumerate(_UNITS) if size >= limit]
    if reached:
        i = reached[-1]
        if round(size / _UNITS[i][0], 1) >= 1000 and i + 1 < len(_UNITS):
            i += 1  # 999,960 reads 1M, not 1,000K
        limit, suffix = _UNITS[i]
        text = f"{round(size / limit, 1):,.1f}".removesuffix(".0") + suffix
    elif round(size) == 1000:
        text = "1K"
    return sign + ("$" if money else "") + text


def dollars(value: Decimal | int | float | None) -> str:
    """$1,250,000: whole dollars, with cents only when there are some."""
    amount = Decimal(value or 0)
    sign, amount = ("-" if amount < 0 else ""), abs(amount)
    whole = amount == amount.to_integral_value()
    return f"{sign}${amount:,.0f}" if whole else f"{sign}${amount:,.2f}"


def num(value: Decimal | int | float | None) -> str:
    """12,345 (or 12,345.50): a count or measure, en-US grouping."""
    number = Decimal(value or 0)
    return f"{number:,.0f}" if number == number.to_integral_value() else f"{number:,.2f}"


def compact_indicator(code: str, value: Decimal | int | float | None) -> str:
    return compact(value, money=code in MONEY_INDICATORS)


def percent(actual: Decimal, target: Decimal) -> float | None:
    return float(actual / target * 100) if target else None


# --- Bars ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetRow:
    """One indicator's total reported against its total target (the progress chart's row)."""

    code: str
    title: str
    actual: Decimal
    target: Decimal
    percent: float | None

    @property
    def text(self) -> str:
        if not self.target:
            return f"{compact_indicator(self.code, self.actual)} reported, no target"
        return (
            f"{self.percent:.0f}% · {compact_indicator(self.code, self.actual)} of "
            f"{compact_indicator(self.code, self.target)}"
        )


def target_rows(totals: Totals) -> list[TargetRow]:
    rows = []
    for code, title in INDICATORS.items():
        actual = totals.outcomes.get(code, Decimal(0))
        target = totals.targets.get(code, Decimal(0))
        rows.append(TargetRow(code, title, actual, target, percent(actual, target)))
    return rows


@dataclass(frozen=True)
class GroupRow:
    """A priority area, state or round: its awards, amount and one indicator (with target)."""

    label: str
    awards: int
    amount: Decimal
    actual: Decimal
    target: Decimal


def group_rows(groups: Iterable[tuple[str, Totals]], indicator: str) -> list[GroupRow]:
    return [
        GroupRow(
            label,
            totals.awards,
            totals.amount,
            totals.outcomes.get(indicator, Decimal(0)),
            totals.targets.get(indicator, Decimal(0)),
        )
        for label, totals in groups
    ]


def scale_max(values: Iterable[Decimal | int | float]) -> float:
    """The largest value, or 1 (so an empty chart divides by something)."""
    top = max((float(v) for v in values), default=0.0)
    return top if top > 0 else 1.0


# --- The tile map --------------------------------------------------------------------------------

# Light to dark (USWDS blues), each with a text colour of at least 4.5:1 on it.
SHADES: tuple[tuple[str, str], ...] = (
    ("#d9e8f6", "#1b1b1b"),
    ("#aacdec", "#1b1b1b"),
    ("#73b3e7", "#1b1b1b"),
    ("#2378c3", "#ffffff"),
    ("#1a4480", "#ffffff"),
)
EMPTY_SHADE = ("#f0f0f0", "#565c65")
TILE = 74
GAP = 4


@dataclass(frozen=True)
class Tile:
    code: str
    name: str
    x: int
    y: int
    awards: int
    amount: Decimal
    fill: str
    ink: str
    selected: bool

    @property
    def amount_label(self) -> str:
        return compact(self.amount, money=True)


@dataclass(frozen=True)
class ShadeClass:
    fill: str
    ink: str
    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class TileMap:
    tiles: list[Tile]
    classes: list[ShadeClass]
    width: int
    height: int
    tile: int


def _breaks(amounts: list[Decimal], n: int) -> list[Decimal]:
    """Upper bounds of up to `n` classes with about as many states in each (quantiles)."""
    values = sorted(a for a in amounts if a > 0)
    bounds: list[Decimal] = []
    for i in range(1, n + 1):
        bound = values[math.ceil(i * len(values) / n) - 1] if values else None
        if bound is not None and (not bounds or bound > bounds[-1]):
            bounds.append(bound)
    return bounds


def tile_map(totals: dict[str, StateTotal], selected: str | None = None) -> TileMap:
    """Every state and territory on the grid, shaded by amount (quantile classes)."""
    bounds = _breaks([t.amount for t in totals.values()], len(SHADES))
    # With fewer classes than shades, spread them from light to dark.
    last = len(SHADES) - 1
    shade_of = [
        SHADES[round(k * last / (len(bounds) - 1)) if len(bounds) > 1 else last // 2]
        for k in range(len(bounds))
    ]
    members: dict[int, list[Decimal]] = {}
    tiles = []
    for code, (col, row) in TILES.items():
        total = totals.get(code)
        if total and total.amount > 0:
            k = next(i for i, b in enumerate(bounds) if total.amount <= b)
            members.setdefault(k, []).append(total.amount)
            fill, ink = shade_of[k]
        else:
            fill, ink = EMPTY_SHADE
        tiles.append(
            Tile(
                code=code,
                name=US_STATES.get(code, code),
                x=col * (TILE + GAP),
                y=row * (TILE + GAP),
                awards=total.awards if total else 0,
                amount=total.amount if total else Decimal(0),
                fill=fill,
                ink=ink,
                selected=code == selected,
            )
        )
    classes = [
        ShadeClass(shade_of[k][0], shade_of[k][1], min(members[k]), max(members[k]))
        for k in range(len(bounds))
        if k in members
    ]
    return TileMap(
        tiles=tiles,
        classes=classes,
        width=COLUMNS * (TILE + GAP) - GAP,
        height=ROWS * (TILE + GAP) - GAP,
        tile=TILE,
    )


def iso_day(value: str | None) -> str:
    """An ISO date (as the public records carry them) the way people read dates."""
    return day(date.fromisoformat(value)) if value else ""


def install(state: Any) -> None:
    """Blueprint hook: the chart helpers as template globals and filters."""
    app: Flask = state.app
    app.jinja_env.filters.setdefault("compact", compact)
    app.jinja_env.filters.setdefault("iso_day", iso_day)
    app.jinja_env.filters.setdefault("dollars", dollars)
    app.jinja_env.filters.setdefault("num", num)
    app.jinja_env.globals.setdefault("compact_indicator", compact_indicator)
    app.jinja_env.globals.setdefault("money_indicators", MONEY_INDICATORS)
