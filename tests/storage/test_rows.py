"""Events become rows of the documented tables, with exact values; batches keep one version per key."""

from __future__ import annotations

from typing import get_args

import pytest

from collector.models import (
    Alert,
    Book,
    BookTop,
    Candle,
    Connected,
    DerivativeTicker,
    Disconnected,
    Error,
    Event,
    Indicator,
    Liquidation,
    Outage,
    Premium,
    Resync,
    Ticker,
    Trade,
)
from collector.storage.rows import Batch, RowBuilder, uid_of
from collector.storage.tables import TABLES, table

T = 1_700_000_000.25


def rows_of(*events: Event, interval: float = 1.0) -> dict[str, list[tuple[object, ...]]]:
    batch = Batch()
    builder = RowBuilder(interval)
    for e in events:
        builder.add(e, batch)
    return {t.name: rows for t, rows in batch.tables()}


def book(ts: float, best: float, top: bool = True) -> Book:
    levels = BookTop([(best, 1.0), (best - 1, 2.0)], [(best + 1, 3.0)]) if top else None
    if levels is None:
        return Book("binance", "BTC/USDT", ts, ts + 0.001, False, [(best, 1.0)], [], 7)
    return Book("binance", "BTC/USDT", ts, ts + 0.001, False, [(best, 1.0)], [], 7, levels)


def candle(start: float, close: float, closed: bool, source: str = "exchange") -> Candle:
    return Candle("binance", "BTC/USDT", T, T, "1m", start, start + 60, 1, 2, 0.5, close, 3, 4, closed, source)


def test_every_event_type_has_a_table() -> None:
    """Each member of the Event union maps to a table (books through their top-N snapshots)."""
    samples: list[Event] = [
        Trade("binance", "BTC/USDT", T, T, 1.0, 2.0, "buy", "1"),
        Ticker("binance", "BTC/USDT", T, T, 1.0, 2.0, 3.0, 4.0),
        book(T, 100.0),
        candle(T, 1.0, True),
        DerivativeTicker("bybit", "BTC/USDT:USDT", T, T, mark_price=1.0, next_funding_time=T + 60),
        Liquidation("bybit", "BTC/USDT:USDT", T, T, "sell", 1.0, 2.0),
        Indicator("binance", "BTC/USDT", T, T, "1m", "SMA", [5.0], T, True, {"real": 1.5}),
        Alert("binance", "BTC/USDT", T, T, "close > 1", "1m", {"close": 2.0}, T),
        Premium("upbit", "BTC/KRW", T, T, "BTC", "upbit", 1.0, "binance", "BTC/USDT", 2.0, 3.0, "fixed", 0.1),
        Connected("binance", None, None, T, "c1", "wss://x"),
        Disconnected("binance", None, None, T, "c1", "closed"),
        Resync("binance", "BTC/USDT", None, T, "gap", "1 != 2"),
        Error("binance", None, None, T, "c1", "malformed", "bad"),
        Outage("collector", None, None, T, "postgres", "unavailable", "down", None),
    ]
    assert {type(e) for e in samples} == set(get_args(Event))
    counts = {name: len(rows) for name, rows in rows_of(*samples).items()}
    assert counts == {
        "trades": 1,
        "tickers": 1,
        "derivative_tickers": 1,
        "liquidations": 1,
        "candles": 1,
        "book_tops": 1,
        "indicators": 1,
        "alerts": 1,
        "premiums": 1,
        "status_events": 5,
    }
    for name, rows in rows_of(*samples).items():
        assert all(len(row) == len(table(name).columns) for row in rows), name


def test_trade_row_values() -> None:
    """A trade keeps its values; times become whole microseconds; a missing exchange time falls back to receipt."""
    rows = rows_of(
        Trade("binance", "BTC/USDT", 1633999999.123, 1633999999.1234567, 57000.5, 0.25, "sell", "42"),
        Trade("upbit", "BTC/KRW", None, 1633999999.5, 1.0, 2.0, "buy", "x"),
    )
    assert rows["trades"] == [
        ("binance", "BTC/USDT", 1633999999123000, 1633999999123457, "42", 57000.5, 0.25, "sell"),
        ("upbit", "BTC/KRW", 1633999999500000, 1633999999500000, "x", 1.0, 2.0, "buy"),
    ]


def test_rows_without_identity_are_keyed_by_their_json() -> None:
    """Equal tickers share a uid, different ones do not."""
    a = Ticker("binance", "BTC/USDT", T, T, 1.0, 2.0, 3.0, 4.0)
    b = Ticker("binance", "BTC/USDT", T, T, 1.0, 2.0, 3.0, 5.0)
    rows = rows_of(a, a, b)["tickers"]
    uids = [row[table("tickers").index("uid")] for row in rows]
    assert uids[0] == uids[1] != uids[2]
    assert uid_of(b"x") == uid_of(b"x") != uid_of(b"y")


def test_book_tops_are_sampled_once_per_interval() -> None:
    """The first book event of each second (per symbol) becomes a row; events without top are counted."""
    builder = RowBuilder(1.0)
    batch = Batch()
    times = [T, T + 0.3, T + 0.8, T + 1.0, T + 2.9, T + 2.95]
    for i, ts in enumerate(times):
        builder.add(book(ts, 100.0 + i), batch)
    builder.add(book(T + 5, 1.0, top=False), batch)
    rows = dict(batch.tables())[table("book_tops")]
    assert [(r[2], r[3]) for r in rows] == [
        (1700000000000000, 1700000000250000),
        (1700000001000000, 1700000001050000),
        (1700000003000000, 1700000003150000),
    ]
    assert rows[0][6:] == ([100.0, 99.0], [1.0, 2.0], [101.0], [3.0])
    assert builder.books_without_top == 1


def test_book_sampler_state_round_trips() -> None:
    """A restored sampler skips intervals the saved one had already sampled."""
    first = RowBuilder(1.0)
    first.add(book(T, 100.0), Batch())
    second = RowBuilder(1.0)
    second.restore_book_slots(first.book_slots())
    batch = Batch()
    second.add(book(T + 0.5, 101.0), batch)
    second.add(book(T + 1.0, 102.0), batch)
    assert [r[3] for r in dict(batch.tables())[table("book_tops")]] == [1700000001250000]


def test_a_batch_keeps_the_closed_candle() -> None:
    """Forming versions are replaced by later ones; a closed one is replaced only by a closed one."""
    rows = rows_of(candle(T, 1.0, False), candle(T, 2.0, True), candle(T, 3.0, False), candle(T, 9.0, False, "trades"))
    close = table("candles").index("close")
    assert sorted((r[3], r[close]) for r in rows["candles"]) == [("exchange", 2.0), ("trades", 9.0)]


@pytest.mark.parametrize("interval", [0.0, -1.0, float("nan")])
def test_book_interval_must_be_positive(interval: float) -> None:
    """A zero, negative or NaN interval is refused."""
    with pytest.raises(ValueError, match="book_interval"):
        RowBuilder(interval)


def test_tables_name_their_keys_and_time_columns() -> None:
    """Every key and time column is a column; hypertable keys include the time column."""
    for t in TABLES:
        assert set(t.key) <= set(t.names) and t.time in t.names, t.name
        assert t.time in t.hyper_key
