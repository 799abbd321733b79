"""One bar series (exchange + symbol + interval + candle source) with its indicators and alert rules.

The engine hands a series each closed bar once, in order, and the forming bar whenever
it publishes it; the series turns them into ``indicator`` events and, on closed bars,
checks its alert rules.
"""

from __future__ import annotations

from ..models import Alert, Event, Indicator
from .alerts import AlertRule, RuleState
from .spec import IndicatorSpec
from .streams import Bar, Stream, Values, make_stream

__all__ = ["Series"]


class Series:
    """Indicators and rules on one bar series. Add indicators with :meth:`add` before or between bars.

    An indicator added after bars have passed starts its warm-up at the next closed bar:
    its history is the bars it has seen, which is what its values are exact against.
    """

    __slots__ = (
        "exchange",
        "forming_start",
        "index",
        "interval",
        "last_start",
        "next_forming",
        "rules",
        "source",
        "streams",
        "symbol",
        "values",
    )

    def __init__(self, exchange: str, symbol: str, interval: str, source: str) -> None:
        self.exchange = exchange
        self.symbol = symbol
        self.interval = interval
        self.source = source
        self.streams: list[Stream] = []
        self.index: dict[tuple[str, tuple[float, ...]], int] = {}
        self.values: list[Values] = []
        self.rules: list[RuleState] = []
        # Used by exchange-candle series (trade-built ones keep these in the aggregator):
        # the start of the last closed bar, and the forming bar's rate-limit state.
        self.last_start = float("-inf")
        self.forming_start = float("-inf")
        self.next_forming = float("-inf")

    def add(self, spec: IndicatorSpec) -> None:
        """Compute ``spec`` on this series from the next closed bar on (a no-op if it is already here)."""
        if spec.key not in self.index:
            self.index[spec.key] = len(self.streams)
            self.streams.append(make_stream(spec))
            self.values.append((None,) * len(spec.outputs))

    def add_rule(self, rule: AlertRule) -> None:
        """Check ``rule`` on every closed bar; the indicators it needs are added here."""
        if any(state.rule.text == rule.text for state in self.rules):
            return
        for spec in rule.specs:
            self.add(spec)
        self.rules.append(RuleState(rule, self.index))

    def closed(self, bar: Bar, timestamp: float, received: float, out: list[Event]) -> list[Alert]:
        """Feed a closed bar: append its indicator events and fired alerts to ``out``; return the alerts."""
        exchange, symbol, start = self.exchange, self.symbol, bar.start
        values = self.values
        for i, stream in enumerate(self.streams):
            result = values[i] = stream.update(bar)
            out.append(self._event(stream.spec, start, True, result, timestamp, received))
        self.last_start = start
        if not self.rules:
            return []
        fired: list[Alert] = []
        for state in self.rules:
            operands = state.check(bar, values)
            if operands is not None:
                alert = Alert(exchange, symbol, timestamp, received, state.rule.text, self.interval, operands, start)
                out.append(alert)
                fired.append(alert)
        return fired

    def forming(self, bar: Bar, timestamp: float, received: float, out: list[Event]) -> None:
        """Append the indicator values on the forming ``bar`` (``closed: false``) to ``out``."""
        for stream in self.streams:
            out.append(self._event(stream.spec, bar.start, False, stream.peek(bar), timestamp, received))

    def _event(
        self,
        spec: IndicatorSpec,
        start: float,
        closed: bool,
        result: Values,
        timestamp: float,
        received: float,
    ) -> Indicator:
        return Indicator(
            self.exchange,
            self.symbol,
            timestamp,
            received,
            self.interval,
            spec.name,
            [*spec.params],
            start,
            closed,
            dict(zip(spec.outputs, result, strict=True)),
            self.source,
        )

    def latest(self) -> dict[str, dict[str, float | None]]:
        """The values on the last closed bar, keyed by spec text (``RSI(14)``) then output name."""
        return {
            stream.spec.text: dict(zip(stream.spec.outputs, self.values[i], strict=True))
            for i, stream in enumerate(self.streams)
        }
