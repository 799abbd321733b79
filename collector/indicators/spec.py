"""Indicator specs: ``RSI(14)``, ``MACD(12,26,9)``, ``OBV``, ``SVWAP``, ``RVWAP(20)``.

Any TA-Lib function is named as TA-Lib names it, with its parameters in TA-Lib's order
(``talib.abstract.Function(name).parameters``); missing trailing parameters take TA-Lib's
defaults, so ``RSI`` and ``RSI(14)`` are the same indicator. Its inputs are the candle
fields TA-Lib's abstract API names (``close``, or ``high``/``low``/``close``/``volume``...),
and its outputs keep TA-Lib's names (``real``; ``macd``/``macdsignal``/``macdhist``).

Two volume-weighted average prices are built in, both computed from the exact
price x amount of every trade (for exchange candles, from the typical price x volume):

``SVWAP(hours=24)``
    Session-anchored: resets at each session start. Sessions are consecutive blocks of
    ``hours`` from the Unix epoch in UTC, so the default session is the UTC day. A bar
    belongs to the session its start falls in.
``RVWAP(bars=20)``
    Rolling: over the last ``bars`` bars of the interval, the current bar included.

TA-Lib's own ``VWAP`` is also available: it is cumulative over the whole bar history
and uses the typical price of each bar.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

import msgspec

from ..errors import UsageError
from ._talib import abstract, function_names

__all__ = ["BUILTINS", "UNSUPPORTED", "IndicatorSpec", "format_number", "parse_indicator", "split_specs"]

BUILTINS: dict[str, tuple[tuple[str, int], ...]] = {
    "SVWAP": (("hours", 24),),
    "RVWAP": (("bars", 20),),
}
"""Built-in indicators and their parameters (name, default), in order."""

UNSUPPORTED: dict[str, str] = {
    "MAVP": "it needs a second series of periods, which candles do not have",
}
"""TA-Lib functions that cannot run on a candle stream, with the reason."""

_CANDLE_FIELDS = ("open", "high", "low", "close", "volume")
_SPEC = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*", re.DOTALL)


class IndicatorSpec(msgspec.Struct, frozen=True):
    """One parsed indicator: what to compute and what it is called in events.

    ``params`` is the full parameter list (defaults filled in); ``inputs`` the candle
    fields fed to it, in the function's order; ``outputs`` the names of its values.
    ``key`` identifies it: two specs with the same key are the same indicator.
    """

    name: str
    params: tuple[float, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    builtin: bool = False

    @property
    def key(self) -> tuple[str, tuple[float, ...]]:
        """``(name, params)``: how alerts and subscriptions refer to this indicator."""
        return self.name, self.params

    @property
    def text(self) -> str:
        """Canonical spelling, e.g. ``BBANDS(20,2,2,0)``; parse it back with :func:`parse_indicator`."""
        if not self.params:
            return self.name
        return f"{self.name}({','.join(format_number(p) for p in self.params)})"


def format_number(value: float) -> str:
    """``14`` for whole numbers, the shortest exact form otherwise (``2.5``)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def split_specs(text: str) -> list[str]:
    """Split ``RSI(14),MACD(12,26,9)`` on the commas outside parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise UsageError(f"unbalanced ')' in indicator list {text!r}")
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if depth:
        raise UsageError(f"unclosed '(' in indicator list {text!r}")
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _numbers(name: str, raw: str | None) -> list[float]:
    if raw is None or not raw.strip():
        return []
    values: list[float] = []
    for item in raw.split(","):
        try:
            values.append(float(item))
        except ValueError:
            raise UsageError(f"{name}: parameter {item.strip()!r} is not a number") from None
    return values


def _fill(name: str, given: list[float], defaults: Iterable[tuple[str, int | float]]) -> tuple[float, ...]:
    """Given parameters in order, defaults for the rest; whole numbers where the default is an int."""
    names_defaults = list(defaults)
    if len(given) > len(names_defaults):
        expected = ", ".join(n for n, _ in names_defaults) or "none"
        raise UsageError(f"{name} takes at most {len(names_defaults)} parameters ({expected}), got {len(given)}")
    result: list[float] = []
    for i, (param, default) in enumerate(names_defaults):
        value = given[i] if i < len(given) else default
        if isinstance(default, int):
            if not float(value).is_integer():
                raise UsageError(f"{name}: {param} must be a whole number, got {format_number(value)}")
            result.append(int(value))
        else:
            result.append(float(value))
    return tuple(result)


def _inputs(function: Any) -> tuple[str, ...]:
    fields: list[str] = []
    for value in function.input_names.values():
        fields.extend(value if isinstance(value, list) else [value])
    return tuple(fields)


def parse_indicator(text: str) -> IndicatorSpec:
    """Parse one spec like ``MACD(12,26,9)``; raises :class:`UsageError` saying what is wrong."""
    match = _SPEC.fullmatch(text)
    if match is None:
        raise UsageError(f"bad indicator {text!r}: write NAME or NAME(p1,p2,...), e.g. RSI(14)")
    name = match.group(1).upper()
    given = _numbers(name, match.group(2))
    if name in BUILTINS:
        params = _fill(name, given, BUILTINS[name])
        if params[0] <= 0:
            raise UsageError(f"{name}: {BUILTINS[name][0][0]} must be positive")
        return IndicatorSpec(name, params, ("high", "low", "close", "volume"), ("real",), builtin=True)
    if name in UNSUPPORTED:
        raise UsageError(f"{name} is not offered: {UNSUPPORTED[name]}")
    functions = function_names()
    if name not in functions:
        close = difflib.get_close_matches(name, [*functions, *BUILTINS], n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UsageError(f"unknown indicator {name!r}: not a TA-Lib function nor one of {sorted(BUILTINS)}{hint}")
    function = abstract.Function(name)
    params = _fill(name, given, function.parameters.items())
    function.set_parameters(dict(zip(function.parameters, params, strict=True)))
    # TA-Lib answers -1 for a parameter out of its range (RSI(1), SMA(0), ...).
    if function.lookback < 0:
        ranges = ", ".join(f"{n}={format_number(v)}" for n, v in zip(function.parameters, params, strict=True))
        raise UsageError(f"{name}: TA-Lib rejects these parameters ({ranges}); see talib.abstract.{name}.info")
    inputs = _inputs(function)
    unknown = [f for f in inputs if f not in _CANDLE_FIELDS]
    if unknown:
        raise UsageError(f"{name} needs inputs a candle does not have: {unknown}")
    return IndicatorSpec(name, params, inputs, tuple(function.output_names))
