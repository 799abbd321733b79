"""Book metrics and indicators on exchange kline candles."""

from __future__ import annotations

import numpy as np
import talib

from collector.book import OrderBook
from collector.indicators import IndicatorEngine
from collector.models import Book, BookTop, Candle, Event, Indicator
from tests.indicators.util import T0, assert_series_close


def test_book_metrics_from_the_maintained_book() -> None:
    """Spread, mid, microprice and top-N imbalance, exactly, as a BOOK indicator event."""
    book = OrderBook()
    book.load([(99.0, 1.0), (98.0, 3.0), (97.0, 4.0)], [(101.0, 3.0), (102.0, 1.0), (103.0, 10.0)], 7)
    book.timestamp = T0
    engine = IndicatorEngine(book_metrics_depth=2)
    event = engine.book_metrics("binance", "BTC/USDT", book, T0 + 0.2)
    assert event == Indicator(
        "binance", "BTC/USDT", T0, T0 + 0.2, "tick", "BOOK", [2], T0, True,
        {"spread": 2.0, "mid": 100.0, "microprice": (99.0 * 3.0 + 101.0 * 1.0) / 4.0, "imbalance": 0.0},
        "book",
    )  # fmt: skip
    assert engine.book_metrics("binance", "BTC/USDT", book, T0, depth=3).values["imbalance"] == (8.0 - 14.0) / 22.0
    assert engine.book_metrics("binance", "BTC/USDT", OrderBook(), T0).values == {
        "spread": None, "mid": None, "microprice": None, "imbalance": None,
    }  # fmt: skip


def test_book_events_with_top_give_rate_limited_metrics() -> None:
    """Book events carrying top produce BOOK indicators at most once per forming_interval of book time."""
    engine = IndicatorEngine(book_metrics_depth=1, forming_interval=1.0)
    out: list[Event] = []
    for dt in (0.0, 0.5, 1.0, 1.1, 2.5):
        top = BookTop([(100.0 - dt, 2.0)], [(101.0, 1.0)])
        out += engine.process(Book("binance", "BTC/USDT", T0 + dt, T0 + dt, False, [], [], 1, top))
    assert [(e.timestamp - T0, e.values["spread"]) for e in out if isinstance(e, Indicator)] == [
        (0.0, 1.0), (1.0, 2.0), (2.5, 3.5),
    ]  # fmt: skip
    assert engine.process(Book("binance", "BTC/USDT", T0 + 9, T0 + 9, False, [], [], 2)) == []


def kline(i: int, close: float, closed: bool, ts: float) -> Candle:
    return Candle("binance", "BTC/USDT", ts, ts, "1m", T0 + 60 * i, T0 + 60 * (i + 1),
                  close - 1, close + 2, close - 2, close, 10.0 + i, 5, closed, "exchange")  # fmt: skip


def test_exchange_klines_are_kept_and_used_only_when_asked() -> None:
    """Unsubscribed, an exchange kline yields nothing but is kept; subscribed, indicators run on closed klines."""
    engine = IndicatorEngine(candles=["1m"], indicators=["SMA(3)"])
    first = kline(0, 100.0, False, T0 + 1)
    assert engine.process(first) == []
    assert engine.exchange_candle("binance", "BTC/USDT", "1m") == first

    engine.add("binance", "BTC/USDT", "1m", "SMA(3)", "ATR(3)", source="exchange")
    closes = [100.0 + (i * 7) % 5 for i in range(50)]
    out: list[Event] = []
    for i, c in enumerate(closes):
        out += engine.process(kline(i, c - 0.5, False, T0 + 60 * i + 10))
        out += engine.process(kline(i, c - 0.25, False, T0 + 60 * i + 10.5))  # rate-limited away
        out += engine.process(kline(i, c, True, T0 + 60 * i + 59.999))
        out += engine.process(kline(i, c, True, T0 + 60 * i + 60.2))  # Binance may repeat a final kline
    ind = [e for e in out if isinstance(e, Indicator)]
    assert all(e.source == "exchange" for e in ind)
    sma = [e.values["real"] for e in ind if e.closed and e.name == "SMA"]
    assert_series_close("SMA(3)", sma, talib.SMA(np.array(closes), 3))
    assert len([e for e in ind if not e.closed and e.name == "SMA"]) == 50
    assert engine.stats["exchange_candle_repeats"] == 50
    assert not any(isinstance(e, Candle) for e in out)  # the caller passes klines through itself
