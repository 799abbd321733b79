"""The indicator engine: events in, candles, indicator values and alerts out. Sans-I/O.

It never awaits, reads the clock or starts tasks; time comes from the events' exchange
timestamps (and from ``flush(now)``, which the caller drives). Feed every event of the
pipeline through :meth:`IndicatorEngine.process` and publish what it returns after the
event itself.

What it does with each event:

``Trade``
    Builds candles for every configured interval of that exchange + symbol (see
    :mod:`collector.indicators.candles` for the close, empty-interval, late-trade and
    forming-rate policies) and returns ``candle`` events with ``source="trades"``, the
    ``indicator`` events on each closed bar (and on each published forming bar) and any
    ``alert`` events.
``Candle`` from an exchange kline stream (``source="exchange"``)
    Kept as the latest kline per exchange + symbol + interval
    (:meth:`IndicatorEngine.exchange_candle`); the caller passes the event itself through.
    Indicators run on it only where asked (``add(..., source="exchange")`` or
    ``exchange_candles=True``): closed klines are the bars (a repeated or older close is
    ignored and counted), unclosed ones the forming bar, rate-limited like trade-built
    ones. Missing klines are not filled: the exchange decides that series.
``Book`` carrying ``top`` (``book_top=N``) when ``book_metrics_depth`` is set
    Returns a book-metrics ``indicator`` event (name ``BOOK``, ``source="book"``),
    at most once per ``forming_interval`` of book time per symbol. Books without
    ``top``: call :meth:`IndicatorEngine.book_metrics` with the maintained book after
    each book event instead.

Anything else returns nothing. Events the engine made itself are ignored if fed back.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..book import OrderBook
from ..errors import UsageError
from ..log import get_logger
from ..models import UNSET, Alert, Book, Candle, DerivativeTicker, Event, Indicator, Premium, Trade
from .alerts import AlertRule, RuleState, parse_rule
from .book_metrics import BOOK_NAME, book_values
from .candles import IntervalState, SymbolCandles
from .intervals import canonical_interval, interval_seconds
from .series import Series
from .spec import IndicatorSpec, parse_indicator
from .streams import Bar, typical_pv

__all__ = ["AlertCallback", "IndicatorEngine"]

AlertCallback = Callable[[Alert], None]
"""Called synchronously with each alert, after it was appended to the returned events."""

log = get_logger("collector.indicators")

_Key = tuple[str, str]
_SeriesKey = tuple[str, str, str]


def _specs(items: Iterable[str | IndicatorSpec]) -> list[IndicatorSpec]:
    return [parse_indicator(i) if isinstance(i, str) else i for i in items]


class IndicatorEngine:
    """Streaming candles, TA-Lib indicators, VWAP, book metrics and alerts for many symbols.

    ``candles`` and ``indicators`` apply to every exchange + symbol whose trades arrive;
    :meth:`add` subscribes one symbol to more. ``alerts`` are rule strings (see
    :func:`collector.indicators.parse_rule`); the indicators they mention are computed
    wherever they run. ``forming_interval`` (event-time seconds) limits how often a
    forming candle and its live indicator values are published; ``None`` publishes no
    forming bars. ``book_metrics_depth`` turns on book metrics over that many levels.
    ``exchange_candles=True`` also runs the global indicators and alerts on every
    exchange kline stream.

    Read :attr:`stats` for counters: ``late_trades``, ``empty_intervals``,
    ``closed_candles``, ``forming_candles``, ``no_timestamp``, ``bad_trades``,
    ``exchange_candles``, ``exchange_candle_repeats``, ``alerts``, ``book_metrics``,
    ``alert_callback_errors``.
    """

    def __init__(
        self,
        candles: Iterable[str] = (),
        indicators: Iterable[str | IndicatorSpec] = (),
        alerts: Iterable[str | AlertRule] = (),
        *,
        forming_interval: float | None = 1.0,
        book_metrics_depth: int | None = None,
        exchange_candles: bool = False,
    ) -> None:
        if forming_interval is not None and forming_interval < 0:
            raise UsageError("forming_interval must be >= 0 seconds (or None for no forming bars)")
        if book_metrics_depth is not None and book_metrics_depth < 1:
            raise UsageError("book_metrics_depth must be at least 1 level")
        self.intervals = sorted(dict.fromkeys(canonical_interval(c) for c in candles), key=interval_seconds)
        self.indicators = _specs(indicators)
        rules = [parse_rule(r) if isinstance(r, str) else r for r in alerts]
        self.rules = [r for r in rules if r.event is None]
        self._event_rules: dict[str, list[AlertRule]] = {}
        for rule in rules:
            if rule.event is not None:
                self._event_rules.setdefault(rule.event, []).append(rule)
        self._event_states: dict[tuple[str, ...], list[RuleState]] = {}
        self.forming_interval = forming_interval
        self.book_metrics_depth = book_metrics_depth
        self.exchange_candles = exchange_candles
        self.stats: Counter[str] = Counter()
        self._callbacks: list[AlertCallback] = []
        self._subs: dict[_Key, dict[str, list[IndicatorSpec]]] = {}
        self._exchange_subs: dict[_SeriesKey, list[IndicatorSpec]] = {}
        self._symbols: dict[_Key, SymbolCandles] = {}
        self._exchange_series: dict[_SeriesKey, Series | None] = {}
        self._klines: dict[_SeriesKey, Candle] = {}
        self._book_next: dict[_Key, float] = {}
        self._late_logged: Counter[_Key] = Counter()
        self._dispatch: dict[type, Callable[[Any, list[Event]], None]] = {
            Trade: self._on_trade,
            Candle: self._on_candle,
            Book: self._on_book,
        }
        if self._event_rules:
            self._dispatch[DerivativeTicker] = self._on_rule_event
            self._dispatch[Premium] = self._on_rule_event

    # -- configuration ------------------------------------------------------------------------

    def add(
        self, exchange: str, symbol: str, interval: str, *specs: str | IndicatorSpec, source: str = "trades"
    ) -> None:
        """Compute ``specs`` on ``exchange``/``symbol`` bars of ``interval``.

        ``source="trades"`` (default) builds the candles from trades; ``source="exchange"``
        uses the exchange's own kline stream for that interval (subscribe to it with the
        ``candles`` channel). May be called while data flows: new indicators start their
        warm-up at the next closed bar, a new interval at the next trade.
        """
        parsed = _specs(specs)
        if source == "exchange":
            key = (exchange, symbol, interval)
            self._exchange_subs.setdefault(key, []).extend(parsed)
            series = self._exchange_series.get(key)
            if series is not None:
                for spec in parsed:
                    series.add(spec)
            else:
                self._exchange_series.pop(key, None)  # forget a cached "not subscribed"
            return
        if source != "trades":
            raise UsageError(f"unknown candle source {source!r}: use 'trades' or 'exchange'")
        name = canonical_interval(interval)
        self._subs.setdefault((exchange, symbol), {}).setdefault(name, []).extend(parsed)
        candles = self._symbols.get((exchange, symbol))
        if candles is None:
            return
        for st in candles.intervals:
            if st.name == name:
                for spec in parsed:
                    st.series.add(spec)
                return
        candles.add_interval(self._interval(exchange, symbol, name, parsed))

    def on_alert(self, callback: AlertCallback) -> None:
        """Call ``callback(alert)`` for every alert, in addition to returning it as an event."""
        self._callbacks.append(callback)

    # -- events -------------------------------------------------------------------------------

    def process(self, event: Event) -> list[Event]:
        """Take one pipeline event; return the candle, indicator and alert events it causes (often none)."""
        out: list[Event] = []
        handler = self._dispatch.get(type(event))
        if handler is not None:
            handler(event, out)
        return out

    def flush(self, now: float) -> list[Event]:
        """Close every trade-built bar that ended by ``now`` (exchange time) and publish held-back forming bars.

        Call it periodically for quiet markets, with ``now`` a little behind the exchange
        clock (e.g. the latest receipt time minus a couple of seconds of latency): a trade
        that arrives for an interval already closed this way is late and dropped.
        """
        out: list[Event] = []
        alerts: list[Alert] = []
        for candles in self._symbols.values():
            candles.flush(now, out, alerts)
        self._fire(alerts)
        return out

    def book_metrics(
        self, exchange: str, symbol: str, book: OrderBook, received: float, depth: int | None = None
    ) -> Indicator:
        """Book metrics of the maintained ``book`` as an ``indicator`` event; publish it like any other.

        ``name`` is ``BOOK``, ``params`` ``[depth]``, ``interval`` ``"tick"``, ``source``
        ``"book"``; values are ``spread``, ``mid``, ``microprice`` and ``imbalance`` over
        the best ``depth`` levels (default ``book_metrics_depth``, else 5), ``None`` where
        a side is empty. Not rate-limited: call it as often as you want a value.
        """
        n = depth or self.book_metrics_depth or 5
        top = book.top(n)
        self.stats["book_metrics"] += 1
        return self._book_event(exchange, symbol, book.timestamp, received, n, top.bids, top.asks)

    # -- reading state ------------------------------------------------------------------------

    def exchange_candle(self, exchange: str, symbol: str, interval: str) -> Candle | None:
        """The latest exchange kline (forming or closed) seen for this interval, or ``None``."""
        return self._klines.get((exchange, symbol, interval))

    def latest(
        self, exchange: str, symbol: str, interval: str, source: str = "trades"
    ) -> dict[str, dict[str, float | None]]:
        """Indicator values on the last closed bar, ``{"RSI(14)": {"real": 61.2}, ...}`` (empty if none)."""
        series = self._series(exchange, symbol, interval, source)
        return series.latest() if series is not None else {}

    def _series(self, exchange: str, symbol: str, interval: str, source: str) -> Series | None:
        if source == "exchange":
            return self._exchange_series.get((exchange, symbol, interval))
        candles = self._symbols.get((exchange, symbol))
        name = canonical_interval(interval)
        for st in candles.intervals if candles else ():
            if st.name == name:
                return st.series
        return None

    # -- internals ----------------------------------------------------------------------------

    def _new_series(
        self, exchange: str, symbol: str, interval: str, source: str, extra: Sequence[IndicatorSpec]
    ) -> Series:
        series = Series(exchange, symbol, interval, source)
        for spec in (*self.indicators, *extra) if source == "trades" or self.exchange_candles else extra:
            series.add(spec)
        for rule in self.rules:
            if rule.interval is None or rule.interval == interval:
                series.add_rule(rule)
        return series

    def _interval(self, exchange: str, symbol: str, name: str, extra: Sequence[IndicatorSpec]) -> IntervalState:
        return IntervalState(name, interval_seconds(name), self._new_series(exchange, symbol, name, "trades", extra))

    def _candles(self, key: _Key) -> SymbolCandles:
        candles = SymbolCandles(key[0], key[1], self.forming_interval, self.stats)
        subs = self._subs.get(key, {})
        for name in dict.fromkeys([*self.intervals, *subs]):
            candles.add_interval(self._interval(key[0], key[1], name, subs.get(name, ())))
        self._symbols[key] = candles
        return candles

    def _on_trade(self, trade: Trade, out: list[Event]) -> None:
        key = (trade.exchange, trade.symbol)
        candles = self._symbols.get(key) or self._candles(key)
        if not candles.intervals:
            return
        ts = trade.timestamp
        if ts is None:
            self.stats["no_timestamp"] += 1
            ts = trade.received
        price = trade.price
        amount = trade.amount
        # One test for all three: the sum is NaN (so x - x is not 0) if any is NaN or infinite.
        check = price + amount + ts
        if check - check != 0.0:
            self.stats["bad_trades"] += 1
            return
        alerts: list[Alert] = []
        if not candles.trade(ts, price, amount, trade.received, out, alerts):
            self._late(trade, ts, candles.watermark)
        elif alerts:
            self._fire(alerts)

    def _late(self, trade: Trade, ts: float, watermark: float) -> None:
        self.stats["late_trades"] += 1
        key = (trade.exchange, trade.symbol)
        count = self._late_logged[key] = self._late_logged[key] + 1
        # Log the 1st, 10th, 100th, ... late trade per symbol: visible, never a flood.
        if count == 10 ** int(math.log10(count)):
            log.warning(
                "late trade dropped",
                exchange=trade.exchange,
                symbol=trade.symbol,
                trade_time=ts,
                closed_until=watermark,
                id=trade.id,
                late_trades=count,
            )

    def _on_candle(self, candle: Candle, out: list[Event]) -> None:
        if candle.source == "trades":
            return  # one of ours, fed back
        key = (candle.exchange, candle.symbol, candle.interval)
        self._klines[key] = candle
        self.stats["exchange_candles"] += 1
        series = self._exchange_series.get(key, UNSET)
        if series is UNSET:
            subscribed = key in self._exchange_subs or self.exchange_candles
            series = self._exchange_series[key] = (
                self._new_series(*key, "exchange", self._exchange_subs.get(key, ())) if subscribed else None
            )
        if series is None:
            return
        assert isinstance(series, Series)
        bar = Bar(
            candle.start,
            candle.end,
            candle.open,
            candle.high,
            candle.low,
            candle.close,
            candle.volume,
            candle.trades or 0,
            0.0,
        )
        bar.pv = typical_pv(bar)
        ts = candle.timestamp if candle.timestamp is not None else candle.received
        if candle.start <= series.last_start:
            self.stats["exchange_candle_repeats"] += 1
            return
        if candle.closed:
            self._fire(series.closed(bar, ts, candle.received, out))
            return
        if self.forming_interval is None:
            return
        if candle.start != series.forming_start:
            series.forming_start = candle.start
            series.next_forming = float("-inf")
        if ts >= series.next_forming:
            series.forming(bar, ts, candle.received, out)
            series.next_forming = ts + self.forming_interval

    def _on_book(self, book: Book, out: list[Event]) -> None:
        depth = self.book_metrics_depth
        top = book.top
        if depth is None or top is UNSET:
            return
        key = (book.exchange, book.symbol)
        ts = book.timestamp if book.timestamp is not None else book.received
        if self.forming_interval is not None:
            if ts < self._book_next.get(key, float("-inf")):
                return
            self._book_next[key] = ts + self.forming_interval
        self.stats["book_metrics"] += 1
        out.append(
            self._book_event(
                book.exchange, book.symbol, book.timestamp, book.received, depth, top.bids[:depth], top.asks[:depth]
            )
        )

    def _book_event(
        self, exchange: str, symbol: str, timestamp: float | None, received: float, depth: int, bids: Any, asks: Any
    ) -> Indicator:
        start = timestamp if timestamp is not None else received
        values = book_values(bids, asks)
        return Indicator(exchange, symbol, timestamp, received, "tick", BOOK_NAME, [depth], start, True, values, "book")

    def _on_rule_event(self, event: DerivativeTicker | Premium, out: list[Event]) -> None:
        """Event-field rules (``funding_rate > 0.0005``, ``premium > 0.03``), edge-triggered per market."""
        rules = self._event_rules.get(event.type)
        if not rules:
            return
        key = (event.type, event.exchange, event.symbol, getattr(event, "usd_exchange", ""))
        states = self._event_states.get(key)
        if states is None:
            states = self._event_states[key] = [RuleState(rule, {}) for rule in rules]
        fired = []
        for state in states:
            values = state.check(event, [])
            if values is not None:
                alert = Alert(
                    event.exchange, event.symbol, event.timestamp, event.received, state.rule.text, None, values
                )
                fired.append(alert)
        if fired:
            out.extend(fired)
            self._fire(fired)

    def _fire(self, alerts: list[Alert]) -> None:
        self.stats["alerts"] += len(alerts)
        for alert in alerts:
            for callback in self._callbacks:
                try:
                    callback(alert)
                except Exception:
                    # A bot's callback must not stop the data flowing to everyone else.
                    self.stats["alert_callback_errors"] += 1
                    log.exception("alert callback failed", rule=alert.rule, symbol=alert.symbol)
