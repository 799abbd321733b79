"""The KRW premium: exact values from fixed books, the staleness rules, FX sources, throttling, alerts."""

from __future__ import annotations

import pytest

from collector import Alert, OrderBook, Premium
from collector.errors import UsageError
from collector.indicators import IndicatorEngine
from collector.models import Book, DerivativeTicker, Resync, Trade
from collector.premium import PremiumMonitor

T = 1_800_000_000.0


def book(bid: float, ask: float, updated: float = T) -> OrderBook:
    b = OrderBook()
    b.load([(bid, 1.0), (bid - 1, 2.0)], [(ask, 1.0), (ask + 1, 2.0)], 1)
    b.updated = updated
    return b


class Books(dict[tuple[str, str], OrderBook]):
    """A book accessor over fixed books, keyed (exchange, symbol)."""

    def __call__(self, exchange: str, symbol: str) -> OrderBook | None:
        return self.get((exchange, symbol))


def touch(exchange: str, symbol: str, received: float = T) -> Book:
    """A book event for the monitor: which market changed, and when."""
    return Book(exchange, symbol, None, received, False, [], [], None)


@pytest.fixture
def books() -> Books:
    return Books(
        {
            ("upbit", "BTC/KRW"): book(86_000_000, 86_002_000),  # mid 86,001,000
            ("upbit", "USDT/KRW"): book(1_399, 1_401),  # mid 1,400
            ("binance", "BTC/USDT"): book(59_999.5, 60_000.5),  # mid 60,000
        }
    )


def test_premium_is_krw_mid_over_usd_mid_times_fx(books: Books) -> None:
    """86,001,000 / (60,000 * 1,400) - 1, from the three books' mids."""
    monitor = PremiumMonitor(["btc"], ["upbit"], ["binance"], book_of=books)
    (event,) = monitor.process(touch("upbit", "BTC/KRW"))
    assert event == Premium(
        "upbit",
        "BTC/KRW",
        None,
        T,
        "BTC",
        "upbit",
        86_001_000.0,
        "binance",
        "BTC/USDT",
        60_000.0,
        1_400.0,
        "upbit:USDT/KRW",
        86_001_000 / (60_000 * 1_400) - 1,
        "mid",
        "mid",
    )
    assert round(event.premium, 6) == 0.023821
    assert monitor.latest("BTC", "upbit", "binance") == event
    assert monitor.markets() == {"upbit": ["BTC/KRW", "USDT/KRW"], "binance": ["BTC/USDT"]}


def test_a_fixed_rate_replaces_the_fx_market(books: Books) -> None:
    monitor = PremiumMonitor(["BTC"], ["upbit"], ["binance"], book_of=books, fx=1_380.0)
    (event,) = monitor.process(touch("binance", "BTC/USDT"))
    assert isinstance(event, Premium)
    assert (event.fx, event.fx_source, event.premium) == (1_380.0, "fixed", 86_001_000 / (60_000 * 1_380) - 1)
    assert "USDT/KRW" not in monitor.markets()["upbit"]


def test_unsynced_or_old_books_give_way_to_recent_trades_then_to_nothing(books: Books) -> None:
    """A book that is not synced, or last updated more than max_age ago, is not used; a trade that recent is."""
    monitor = PremiumMonitor(["BTC"], ["upbit"], ["binance"], book_of=books, max_age=30.0, min_interval=0.0)
    books["upbit", "BTC/KRW"].clear()  # resyncing
    assert monitor.process(Resync("upbit", "BTC/KRW", None, T, "gap")) == []  # no KRW price at all
    trade = Trade("upbit", "BTC/KRW", T, T, 85_000_000.0, 0.1, "buy", "1")
    (event,) = monitor.process(trade)
    assert isinstance(event, Premium)
    assert (event.krw_price, event.krw_source, event.usd_source) == (85_000_000.0, "last", "mid")
    books["binance", "BTC/USDT"].updated = T - 31  # older than max_age
    assert monitor.process(touch("upbit", "BTC/KRW", T + 1)) == []
    books["binance", "BTC/USDT"].updated = T + 1
    assert len(monitor.process(touch("binance", "BTC/USDT", T + 1))) == 1
    assert monitor.process(touch("upbit", "BTC/KRW", T + 31)) == []  # the KRW trade is now too old too


def test_one_event_per_change_and_at_most_one_per_interval(books: Books) -> None:
    monitor = PremiumMonitor(["BTC"], ["upbit"], ["binance"], book_of=books, min_interval=1.0)
    assert len(monitor.process(touch("upbit", "BTC/KRW", T))) == 1
    assert monitor.process(touch("upbit", "BTC/KRW", T + 5)) == []  # nothing changed
    books["upbit", "BTC/KRW"] = book(86_100_000, 86_102_000, T + 5.5)
    assert monitor.process(touch("upbit", "BTC/KRW", T + 5.5)) != []
    books["upbit", "BTC/KRW"] = book(86_200_000, 86_202_000, T + 5.6)
    assert monitor.process(touch("upbit", "BTC/KRW", T + 5.6)) == []  # within a second of the last one
    assert monitor.process(touch("upbit", "BTC/KRW", T + 6.6)) != []


def test_fx_moves_reprice_every_pair(books: Books) -> None:
    books["binance", "ETH/USDT"] = book(2_999.5, 3_000.5)
    books["upbit", "ETH/KRW"] = book(4_300_000, 4_302_000)
    monitor = PremiumMonitor(["BTC", "ETH"], ["upbit"], ["binance"], book_of=books, min_interval=0.0)
    assert [e.base for e in monitor.process(touch("upbit", "USDT/KRW"))] == ["BTC", "ETH"]  # type: ignore[attr-defined]


def test_premium_alerts_are_edge_triggered_per_pair(books: Books) -> None:
    monitor = PremiumMonitor(
        ["BTC"], ["upbit"], ["binance"], book_of=books, min_interval=0.0, alerts=["premium > 0.03"]
    )
    assert [type(e) for e in monitor.process(touch("upbit", "BTC/KRW"))] == [Premium]  # 2.38 %: below
    books["upbit", "BTC/KRW"] = book(87_000_000, 87_002_000)
    out = monitor.process(touch("upbit", "BTC/KRW", T + 1))
    assert [type(e) for e in out] == [Premium, Alert]
    alert = out[1]
    assert isinstance(alert, Alert)
    assert (alert.exchange, alert.symbol, alert.rule) == ("upbit", "BTC/KRW", "premium > 0.03 (binance BTC/USDT)")
    assert alert.values == {"premium": 87_001_000 / (60_000 * 1_400) - 1}
    books["upbit", "BTC/KRW"] = book(87_100_000, 87_102_000)
    assert [type(e) for e in monitor.process(touch("upbit", "BTC/KRW", T + 2))] == [Premium]  # still true: no repeat


def test_bad_arguments_are_one_clear_error(books: Books) -> None:
    with pytest.raises(UsageError, match="at least one base"):
        PremiumMonitor([" "], ["upbit"], ["binance"], book_of=books)
    with pytest.raises(UsageError, match="fixed FX rate must be positive"):
        PremiumMonitor(["BTC"], ["upbit"], ["binance"], book_of=books, fx=0.0)
    with pytest.raises(UsageError, match="use premium fields"):
        PremiumMonitor(["BTC"], ["upbit"], ["binance"], book_of=books, alerts=["RSI(14) > 70"])


def test_funding_rate_alerts_run_on_derivative_tickers() -> None:
    """``funding_rate > 0.0005`` fires on the derivative ticker that crosses it, once, per symbol."""
    engine = IndicatorEngine(alerts=["funding_rate > 0.0005"])
    assert engine.intervals == []

    def ticker(rate: float | None, at: float) -> DerivativeTicker:
        return DerivativeTicker("bybit", "BTC/USDT:USDT", at, at, mark_price=60_000.0, funding_rate=rate)

    assert engine.process(ticker(0.0001, T)) == []
    assert engine.process(ticker(None, T + 1)) == []
    (alert,) = engine.process(ticker(0.0006, T + 2))
    assert isinstance(alert, Alert)
    assert (alert.symbol, alert.rule, alert.values, alert.interval) == (
        "BTC/USDT:USDT",
        "funding_rate > 0.0005",
        {"funding_rate": 0.0006},
        None,
    )
    assert engine.process(ticker(0.0007, T + 3)) == []
    with pytest.raises(UsageError, match="one event type"):
        IndicatorEngine(alerts=["funding_rate > close"])
    with pytest.raises(UsageError, match="run on every event"):
        IndicatorEngine(alerts=["5m: premium > 0.03"])
