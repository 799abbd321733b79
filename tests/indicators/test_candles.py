"""Candles from trades: closing, empty intervals, late trades, flush, forming rate limit, isolation."""

from __future__ import annotations

import logging

import pytest

from collector.indicators import IndicatorEngine
from collector.models import Candle, Event, Indicator
from tests.indicators.util import T0, trade


def candles(events: list[Event], interval: str | None = None, closed: bool | None = None) -> list[Candle]:
    return [
        e
        for e in events
        if isinstance(e, Candle)
        and (interval is None or e.interval == interval)
        and (closed is None or e.closed == closed)
    ]


def feed(engine: IndicatorEngine, *trades: tuple[float, float] | tuple[float, float, float]) -> list[Event]:
    out: list[Event] = []
    for t in trades:
        out += engine.process(trade(*t))
    return out


def test_bar_closes_on_first_trade_of_a_later_interval() -> None:
    """One closed candle per interval, exact OHLCV, stamped with the trade that closed it."""
    engine = IndicatorEngine(candles=["1m"], forming_interval=None)
    out = feed(engine, (T0 + 1, 10.0, 1.0), (T0 + 20, 12.0, 2.0), (T0 + 30, 9.0, 0.5), (T0 + 59.999, 11.0, 1.5))
    assert out == []
    out = feed(engine, (T0 + 60, 13.0, 1.0))
    assert out == [
        Candle(
            "binance", "BTC/USDT", T0 + 60, T0 + 60.1, "1m", T0, T0 + 60, 10.0, 12.0, 9.0, 11.0, 5.0, 4, True, "trades"
        )
    ]
    assert engine.stats["closed_candles"] == 1


def test_empty_intervals_are_flat_candles_at_previous_close() -> None:
    """A three-minute gap gives the closed bar, then two flat bars with volume 0 and 0 trades, in order."""
    engine = IndicatorEngine(candles=["1m"], forming_interval=None)
    feed(engine, (T0 + 5, 10.0), (T0 + 10, 11.0))
    out = feed(engine, (T0 + 185, 12.0))
    closed = candles(out, closed=True)
    assert [(c.start, c.open, c.high, c.low, c.close, c.volume, c.trades) for c in closed] == [
        (T0, 10.0, 11.0, 10.0, 11.0, 2.0, 2),
        (T0 + 60, 11.0, 11.0, 11.0, 11.0, 0.0, 0),
        (T0 + 120, 11.0, 11.0, 11.0, 11.0, 0.0, 0),
    ]
    assert engine.stats["empty_intervals"] == 2


def test_indicators_see_the_filled_bars() -> None:
    """SMA(2) on closes 10, 10 (flat), 12 gives None, 10, 11."""
    engine = IndicatorEngine(candles=["1m"], indicators=["SMA(2)"], forming_interval=None)
    out = feed(engine, (T0, 10.0), (T0 + 120, 12.0), (T0 + 180, 13.0))
    values = [(e.start, e.values["real"]) for e in out if isinstance(e, Indicator)]
    assert values == [(T0, None), (T0 + 60, 10.0), (T0 + 120, 11.0)]


def test_multiple_timeframes_at_once() -> None:
    """1m and 5m bars from the same trades; the 5m bar closes once, with the sum of its minutes."""
    engine = IndicatorEngine(candles=["5m", "1m"], forming_interval=None)
    trades = [(T0 + 25 * i, 100.0 + (i % 7), 1.0 + i) for i in range(30)]  # 12.5 minutes
    out = feed(engine, *trades)
    one = candles(out, "1m", closed=True)
    five = candles(out, "5m", closed=True)
    assert [c.start for c in one] == [T0 + 60 * k for k in range(12)]
    assert [c.start for c in five] == [T0, T0 + 300]
    for bar in five:
        inside = [c for c in one if bar.start <= c.start < bar.end]
        assert len(inside) == 5
        assert bar.volume == sum(c.volume for c in inside)
        assert bar.trades == sum(c.trades or 0 for c in inside)
        assert (bar.open, bar.close) == (inside[0].open, inside[-1].close)
        assert (bar.high, bar.low) == (max(c.high for c in inside), min(c.low for c in inside))
    assert len({(c.interval, c.start) for c in one + five}) == len(one + five)


def test_late_trade_is_counted_logged_and_dropped(caplog: pytest.LogCaptureFixture) -> None:
    """A trade for a closed minute changes no candle on any timeframe; it is counted and logged once."""
    engine = IndicatorEngine(candles=["1m", "5m"], forming_interval=None)
    feed(engine, (T0 + 10, 10.0, 1.0), (T0 + 70, 11.0, 1.0))
    with caplog.at_level(logging.WARNING, logger="collector.indicators"):
        assert feed(engine, (T0 + 30, 99.0, 5.0)) == []
    assert engine.stats["late_trades"] == 1
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "collector.indicators",
            "WARNING",
            f"event='late trade dropped' exchange='binance' symbol='BTC/USDT' trade_time={T0 + 30} "
            f"closed_until={T0 + 60} id='{T0 + 30}' late_trades=1",
        )
    ]
    out = feed(engine, (T0 + 300, 12.0, 1.0))
    five = candles(out, "5m", closed=True)
    one = candles(out, "1m", closed=True)
    assert [(c.high, c.volume) for c in five] == [(11.0, 2.0)]
    assert (one[0].start, one[0].volume) == (T0 + 60, 1.0)


def test_flush_closes_quiet_intervals_and_fills_up_to_now() -> None:
    """flush(now) closes every bar that ended by now, fills empty ones, and later trades for them are late."""
    engine = IndicatorEngine(candles=["1m"], forming_interval=None)
    feed(engine, (T0 + 10, 10.0))
    assert engine.flush(T0 + 59.9) == []
    out = engine.flush(T0 + 150)
    assert [(c.start, c.close, c.volume, c.timestamp) for c in candles(out)] == [
        (T0, 10.0, 1.0, T0 + 150),
        (T0 + 60, 10.0, 0.0, T0 + 150),
    ]
    assert engine.flush(T0 + 170) == []
    assert feed(engine, (T0 + 119, 11.0)) == []
    assert engine.stats["late_trades"] == 1
    out = feed(engine, (T0 + 200, 12.0))
    assert [(c.start, c.close, c.volume) for c in candles(out)] == [(T0 + 120, 10.0, 0.0)]


def test_forming_candles_are_rate_limited_by_event_time() -> None:
    """With forming_interval=1.0: at most one forming candle per second of trade time; a new bar publishes at once."""
    engine = IndicatorEngine(candles=["1m"], forming_interval=1.0)
    times = [0.0, 0.25, 0.5, 1.0, 1.25, 2.5, 2.75, 59.75, 60.0, 60.5]
    out = feed(engine, *((T0 + t, 100.0 + t) for t in times))
    forming = [(c.timestamp - T0, c.close - 100.0, c.trades) for c in candles(out, closed=False)]
    assert forming == [(0.0, 0.0, 1), (1.0, 1.0, 4), (2.5, 2.5, 6), (59.75, 59.75, 8), (60.0, 60.0, 1)]
    assert [c.start for c in candles(out, closed=True)] == [T0]


def test_flush_publishes_a_held_back_forming_change() -> None:
    """A change suppressed by the rate limit goes out on flush once the limit has passed."""
    engine = IndicatorEngine(candles=["1m"], forming_interval=1.0)
    feed(engine, (T0, 10.0), (T0 + 0.5, 11.0))
    assert engine.flush(T0 + 0.9) == []
    out = engine.flush(T0 + 1.0)
    assert [(c.close, c.trades, c.closed) for c in candles(out)] == [(11.0, 2, False)]
    assert engine.flush(T0 + 5.0) == []


def test_forming_interval_zero_publishes_every_trade() -> None:
    """forming_interval=0: every trade publishes the forming candle."""
    engine = IndicatorEngine(candles=["1m"], forming_interval=0.0)
    out = feed(engine, (T0, 10.0), (T0, 11.0), (T0 + 1, 12.0))
    assert [c.close for c in candles(out, closed=False)] == [10.0, 11.0, 12.0]


def test_symbols_and_exchanges_do_not_share_state() -> None:
    """Interleaved symbols and exchanges give exactly the events of separate engines, one per symbol."""
    keys = [("binance", "BTC/USDT"), ("binance", "ETH/USDT"), ("bybit", "BTC/USDT")]
    specs = ["RSI(5)", "EMA(3)", "OBV"]
    rules = ["RSI(5).real > 60"]
    mixed = IndicatorEngine(candles=["1m"], indicators=specs, alerts=rules, forming_interval=0.5)
    alone = {k: IndicatorEngine(candles=["1m"], indicators=specs, alerts=rules, forming_interval=0.5) for k in keys}
    got: dict[tuple[str, str], list[Event]] = {k: [] for k in keys}
    want: dict[tuple[str, str], list[Event]] = {k: [] for k in keys}
    for i in range(3000):
        k = keys[(i * 7) % 3]
        t = trade(T0 + i * 2.3 + keys.index(k), 100 + ((i * 37) % 23) * (1 + keys.index(k)), 1.0, k[1], k[0])
        for e in mixed.process(t):
            got[(e.exchange, e.symbol)].append(e)  # type: ignore[union-attr]
        want[k] += alone[k].process(t)
    for k in keys:
        assert got[k] == want[k]
        assert any(isinstance(e, Indicator) and e.values["real"] is not None for e in got[k])


def test_a_restarted_engine_gives_the_same_events() -> None:
    """Two engines over the same trades produce identical events (no hidden global state)."""
    trades = [trade(T0 + i * 7.0, 100 + (i * 13) % 17) for i in range(2000)]

    def run() -> list[Event]:
        engine = IndicatorEngine(candles=["1m", "5m"], indicators=["MACD(12,26,9)", "SVWAP"], alerts=["close > 110"])
        return [e for t in trades for e in engine.process(t)]

    assert run() == run()


def test_trade_without_exchange_time_uses_receipt_time() -> None:
    """A trade with timestamp None is placed by its receipt time and counted."""
    engine = IndicatorEngine(candles=["1m"], forming_interval=None)
    t = trade(T0 + 5, 10.0)
    engine.process(type(t)(t.exchange, t.symbol, None, T0 + 5, 10.0, 1.0, "buy", "1"))
    out = engine.process(trade(T0 + 65, 11.0))
    assert [c.start for c in candles(out, closed=True)] == [T0]
    assert engine.stats["no_timestamp"] == 1


def test_non_finite_trades_are_counted_and_ignored() -> None:
    """A NaN or infinite price or amount never reaches a candle."""
    engine = IndicatorEngine(candles=["1m"], forming_interval=None)
    assert feed(engine, (T0, float("nan")), (T0 + 1, 10.0, float("inf")), (T0 + 2, 10.0)) == []
    out = feed(engine, (T0 + 60, 11.0))
    assert [(c.open, c.volume, c.trades) for c in candles(out, closed=True)] == [(10.0, 1.0, 1)]
    assert engine.stats["bad_trades"] == 2
