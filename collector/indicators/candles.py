"""Candles from trades, several intervals at once, for one exchange + symbol.

Policies (the engine's docstring repeats them for users):

Bars
    Aligned to the Unix epoch in UTC and placed by the trade's *exchange* timestamp
    (its receipt time only when the exchange sends none, counted as ``no_timestamp``).
Close
    A bar closes when the first trade of a later interval arrives, or when
    :meth:`SymbolCandles.flush` is told that time has passed its end. Each interval gets
    exactly one ``closed: true`` candle; its ``timestamp``/``received`` are those of the
    event that closed it.
Empty intervals
    Filled with a flat candle at the previous close (volume 0, trades 0), closed in
    order, so indicators see a regular series. Nothing is filled before the first trade.
Late trades
    A trade older than the start of any of the symbol's current bars (its interval has
    closed, on some timeframe) is dropped -- not amended -- so every timeframe is built
    from the same trades and nothing published is ever revised. Counted as ``late_trades``.
Forming candles
    Published when a trade changes the bar, at most once per ``forming_interval``
    seconds of event time per interval; the first trade of a bar is always published.
    A change held back by the limit is published by a later trade or by ``flush``.
"""

from __future__ import annotations

from collections import Counter

from ..models import Alert, Candle, Event
from .series import Series
from .streams import Bar

__all__ = ["IntervalState", "SymbolCandles"]

_NEVER = float("-inf")


class IntervalState:
    """The bar being built for one interval, and what is needed to continue the series."""

    __slots__ = ("bar", "closed_until", "dirty", "last_close", "name", "next_forming", "secs", "series")

    def __init__(self, name: str, secs: int, series: Series) -> None:
        self.name = name
        self.secs = float(secs)
        self.series = series
        self.bar: Bar | None = None
        self.closed_until = _NEVER  # end of the last closed bar
        self.last_close = 0.0
        self.next_forming = _NEVER  # event time from which a forming candle may go out again
        self.dirty = False  # the bar changed since its forming candle was last published


class SymbolCandles:
    """Every interval of one exchange + symbol. Feed trades in with :meth:`trade`."""

    __slots__ = ("exchange", "forming_interval", "intervals", "stats", "symbol", "watermark")

    def __init__(self, exchange: str, symbol: str, forming_interval: float | None, stats: Counter[str]) -> None:
        self.exchange = exchange
        self.symbol = symbol
        self.forming_interval = forming_interval
        self.stats = stats
        self.intervals: list[IntervalState] = []
        # Trades older than this are late: some interval has moved past them.
        self.watermark = _NEVER

    def add_interval(self, state: IntervalState) -> None:
        """Start building ``state``'s interval from the next trade on (shortest intervals first)."""
        self.intervals.append(state)
        self.intervals.sort(key=lambda s: s.secs)

    def trade(
        self, ts: float, price: float, amount: float, received: float, out: list[Event], alerts: list[Alert]
    ) -> bool:
        """Add one trade at exchange time ``ts``; ``False`` if it was late and dropped."""
        if ts < self.watermark:
            return False
        forming_interval = self.forming_interval
        for st in self.intervals:
            bar = st.bar
            if bar is not None and ts < bar.end:
                if price > bar.high:
                    bar.high = price
                elif price < bar.low:
                    bar.low = price
                bar.close = price
                bar.volume += amount
                bar.trades += 1
                bar.pv += price * amount
                if forming_interval is not None:
                    if ts >= st.next_forming:
                        self._forming(st, bar, ts, received, out)
                    else:
                        st.dirty = True
                continue
            if bar is not None:
                self._close(st, bar, ts, received, out, alerts)
            start = (ts // st.secs) * st.secs
            self._fill(st, start, ts, received, out, alerts)
            bar = st.bar = Bar(start, start + st.secs, price, price, price, price, amount, 1, price * amount)
            if start > self.watermark:
                self.watermark = start
            if forming_interval is not None:
                self._forming(st, bar, ts, received, out)
        return True

    def flush(self, now: float, out: list[Event], alerts: list[Alert]) -> None:
        """Close every bar that ended by ``now``, fill empty intervals up to ``now``, publish held-back changes."""
        for st in self.intervals:
            bar = st.bar
            if bar is not None and bar.end <= now:
                self._close(st, bar, now, now, out, alerts)
                st.bar = bar = None
            if bar is None:
                if st.closed_until != _NEVER:
                    # The last whole interval that ended by now; fill up to it.
                    self._fill(st, ((now // st.secs) * st.secs), now, now, out, alerts)
                if st.closed_until > self.watermark:
                    self.watermark = st.closed_until
            elif st.dirty and self.forming_interval is not None and now >= st.next_forming:
                self._forming(st, bar, now, now, out)

    def _forming(self, st: IntervalState, bar: Bar, ts: float, received: float, out: list[Event]) -> None:
        out.append(self._candle(st, bar, ts, received, False))
        st.series.forming(bar, ts, received, out)
        assert self.forming_interval is not None
        st.next_forming = ts + self.forming_interval
        st.dirty = False
        self.stats["forming_candles"] += 1

    def _close(
        self, st: IntervalState, bar: Bar, ts: float, received: float, out: list[Event], alerts: list[Alert]
    ) -> None:
        out.append(self._candle(st, bar, ts, received, True))
        alerts.extend(st.series.closed(bar, ts, received, out))
        st.closed_until = bar.end
        st.last_close = bar.close
        # A new bar always publishes its first trade, whatever the previous bar did.
        st.next_forming = _NEVER
        st.dirty = False
        self.stats["closed_candles"] += 1

    def _fill(
        self, st: IntervalState, until: float, ts: float, received: float, out: list[Event], alerts: list[Alert]
    ) -> None:
        """Close flat bars from the last close up to ``until`` (the start of the next real bar)."""
        if st.closed_until == _NEVER:
            return
        secs = st.secs
        price = st.last_close
        while st.closed_until < until:
            start = st.closed_until
            self.stats["empty_intervals"] += 1
            self._close(
                st, Bar(start, start + secs, price, price, price, price, 0.0, 0, 0.0), ts, received, out, alerts
            )

    def _candle(self, st: IntervalState, bar: Bar, ts: float, received: float, closed: bool) -> Candle:
        return Candle(
            self.exchange,
            self.symbol,
            ts,
            received,
            st.name,
            bar.start,
            bar.end,
            bar.open,
            bar.high,
            bar.low,
            bar.close,
            bar.volume,
            bar.trades,
            closed,
            "trades",
        )
