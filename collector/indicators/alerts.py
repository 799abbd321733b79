"""Alert rules: thresholds and crosses over indicator values and candle prices.

Grammar (one rule per string, as the CLI's ``--alert`` takes it)::

    rule     := [interval ":"] operand op operand
    op       := ">" | ">=" | "<" | "<=" | "crosses above" | "crosses below"
    operand  := number | open | high | low | close | volume | indicator ["." output]
              | event field (funding_rate, mark_price, index_price, open_interest, ... premium)

``indicator`` is a spec as :func:`collector.indicators.parse_indicator` reads it; the
``.output`` may be left out when the indicator has one output (``RSI(14)`` means
``RSI(14).real``). An ``interval:`` prefix (``5m: RSI(14).real > 70``) limits the rule to
that interval; without it the rule runs on every candle series.

Rules are evaluated on closed bars only, so an alert never fires on a value that the
bar's close may still revise. Alerts are edge-triggered, per exchange + symbol + interval:

- a threshold fires on the first closed bar where it is true after one where it was
  false (a rule that is true on the first bar with values fires then); it re-arms when
  it is false again. A missing value (warm-up) counts as false.
- ``A crosses above B`` fires on a bar where ``A > B`` after a bar where ``A <= B``
  (``crosses below``: ``A < B`` after ``A >= B``). Both bars need values, so the first
  bar after the warm-up never fires a cross.

Rules over event fields (:data:`EVENT_FIELDS`: a derivative ticker's ``funding_rate > 0.0005``,
a KRW premium's ``premium > 0.03``) run on every event of that type instead of on bars,
edge-triggered the same way per exchange + symbol (per market pair for premiums). They
compare fields of one event type with numbers or with each other, and take no interval.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from ..errors import UsageError
from .intervals import canonical_interval
from .spec import IndicatorSpec, format_number, parse_indicator
from .streams import Bar, Values

__all__ = ["EVENT_FIELDS", "FIELDS", "AlertRule", "Operand", "RuleState", "parse_rule"]

FIELDS = ("open", "high", "low", "close", "volume")
"""Candle fields a rule may use directly."""

EVENT_FIELDS = {
    "funding_rate": "derivative_ticker",
    "predicted_funding_rate": "derivative_ticker",
    "mark_price": "derivative_ticker",
    "index_price": "derivative_ticker",
    "open_interest": "derivative_ticker",
    "open_interest_value": "derivative_ticker",
    "premium": "premium",
    "krw_price": "premium",
    "usd_price": "premium",
    "fx": "premium",
}
"""Event fields a rule may use, and the event ``type`` that carries each."""

Op = Literal[">", ">=", "<", "<=", "crosses above", "crosses below"]
_OP = re.compile(r"\s+crosses\s+(above|below)\s+|>=|<=|>|<", re.IGNORECASE)
_PREFIX = re.compile(r"\s*([^:()]+?)\s*:")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class Operand(msgspec.Struct, frozen=True):
    """One side of a rule: a constant, a candle field, or one output of an indicator."""

    text: str
    constant: float | None = None
    field: str | None = None
    spec: IndicatorSpec | None = None
    output: int = 0
    event: str | None = None  # the event type carrying ``field``, for event fields


class AlertRule(msgspec.Struct, frozen=True):
    """A parsed rule; ``text`` is its canonical spelling, used as the ``rule`` of alert events."""

    text: str
    left: Operand
    op: Op
    right: Operand
    interval: str | None = None
    event: str | None = None
    """The event type the rule runs on (``derivative_ticker``, ``premium``); ``None``: closed bars."""

    @property
    def specs(self) -> list[IndicatorSpec]:
        """The indicators this rule needs; the engine computes them wherever the rule runs."""
        return [o.spec for o in (self.left, self.right) if o.spec is not None]


def _operand(text: str, rule: str) -> Operand:
    text = text.strip()
    if not text:
        raise UsageError(f"alert {rule!r}: an operand is missing")
    if _NUMBER.fullmatch(text):
        value = float(text)
        return Operand(format_number(value), constant=value)
    if text.lower() in FIELDS:
        return Operand(text.lower(), field=text.lower())
    if text.lower() in EVENT_FIELDS:
        name = text.lower()
        return Operand(name, field=name, event=EVENT_FIELDS[name])
    head, dot, output = text.rpartition(".")
    if not dot or ")" in output:
        head, output = text, ""
    try:
        spec = parse_indicator(head)
    except UsageError as exc:
        raise UsageError(f"alert {rule!r}: {exc} (operands are numbers, {', '.join(FIELDS)} or indicators)") from None
    if not output:
        if len(spec.outputs) != 1:
            raise UsageError(
                f"alert {rule!r}: {spec.text} has outputs {list(spec.outputs)}; name one, e.g. .{spec.outputs[0]}"
            )
        output = spec.outputs[0]
    if output not in spec.outputs:
        raise UsageError(f"alert {rule!r}: {spec.name} has no output {output!r}; it has {list(spec.outputs)}")
    return Operand(f"{spec.text}.{output}", spec=spec, output=spec.outputs.index(output))


def parse_rule(text: str) -> AlertRule:
    """Parse one rule, e.g. ``MACD(12,26,9).macd crosses above MACD(12,26,9).macdsignal``.

    Raises :class:`UsageError` naming the part that is wrong. Hand the result (or the
    string) to :class:`collector.indicators.IndicatorEngine`.
    """
    body = text
    interval = None
    prefix = _PREFIX.match(body)
    if prefix:
        interval = canonical_interval(prefix.group(1).replace(" ", ""))
        body = body[prefix.end() :]
    match = _OP.search(body)
    if match is None:
        raise UsageError(f"alert {text!r}: no comparison; use >, >=, <, <=, 'crosses above' or 'crosses below'")
    op_text = match.group(0).strip().lower()
    op: Op = f"crosses {match.group(1).lower()}" if match.group(1) else op_text  # type: ignore[assignment]
    rest = body[match.end() :]
    if _OP.search(rest):
        raise UsageError(f"alert {text!r}: one comparison per rule")
    left = _operand(body[: match.start()], text)
    right = _operand(rest, text)
    if left.constant is not None and right.constant is not None:
        raise UsageError(f"alert {text!r}: compares two constants")
    events = {o.event for o in (left, right) if o.event is not None}
    event = events.pop() if len(events) == 1 else None
    if events or (event and any(o.constant is None and o.event is None for o in (left, right))):
        raise UsageError(f"alert {text!r}: compare the fields of one event type with numbers or with each other")
    if event and interval is not None:
        raise UsageError(f"alert {text!r}: {event} rules run on every event, not on {interval} bars")
    canonical = f"{left.text} {op} {right.text}"
    if interval is not None:
        canonical = f"{interval}: {canonical}"
    return AlertRule(canonical, left, op, right, interval, event)


Getter = Callable[[Any, list[Values]], float | None]
"""Reads an operand from a bar (or, for event rules, the event) and the series' indicator values."""


def _getter(operand: Operand, index: dict[tuple[str, tuple[float, ...]], int]) -> Getter:
    constant = operand.constant
    if constant is not None:
        return lambda bar, values: constant
    field = operand.field
    if field is not None:
        get_field = operator.attrgetter(field)

        def read(bar: Any, values: list[Values]) -> float | None:
            value = get_field(bar)
            return None if value is None else float(value)

        return read
    assert operand.spec is not None
    slot = index[operand.spec.key]
    output = operand.output
    return lambda bar, values: values[slot][output]


class RuleState:
    """One rule on one series: its operands bound to the series' indicators, and its edge state.

    ``index`` maps indicator keys to their position in the series' value list. Call
    :meth:`check` once per closed bar; it returns the operand values when the rule fires.
    """

    __slots__ = ("_last", "_last_diff", "_left", "_right", "rule")

    def __init__(self, rule: AlertRule, index: dict[tuple[str, tuple[float, ...]], int]) -> None:
        self.rule = rule
        self._left = _getter(rule.left, index)
        self._right = _getter(rule.right, index)
        self._last = False
        self._last_diff: float | None = None

    def check(self, bar: Bar | Any, values: list[Values]) -> dict[str, float | None] | None:
        """Evaluate on a closed bar (an event, for event rules); the operands' values if the rule fires now."""
        a = self._left(bar, values)
        b = self._right(bar, values)
        rule = self.rule
        op = rule.op
        if op == "crosses above" or op == "crosses below":
            diff = None if a is None or b is None else a - b
            last = self._last_diff
            self._last_diff = diff
            if diff is None or last is None:
                return None
            fired = (last <= 0 < diff) if op == "crosses above" else (last >= 0 > diff)
        else:
            now = a is not None and b is not None and _COMPARE[op](a, b)
            fired = now and not self._last
            self._last = now
        if not fired:
            return None
        out: dict[str, float | None] = {}
        if rule.left.constant is None:
            out[rule.left.text] = a
        if rule.right.constant is None:
            out[rule.right.text] = b
        return out
