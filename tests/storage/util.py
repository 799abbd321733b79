"""Helpers for the storage tests: what a stream of events should leave in storage, and what it did.

The expectations are computed here from the events themselves, by the rules docs/storage.md
states, without the library's row builder: trades once per id, candles and indicators once
per key (the closed version if one came), book tops once per symbol and interval (the
first book event of the interval), every other event once (identical events are one).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from collector.codec import encode_event
from collector.models import Book, Candle, Event, Indicator, StatusEvent, Trade

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATUS_TYPES = ("connected", "disconnected", "resync", "error", "outage")
BOOK_INTERVAL_US = 1_000_000


def us(value: float) -> int:
    """Seconds to whole microseconds, the resolution of timestamptz."""
    return round(value * 1_000_000)


def dt_us(value: datetime) -> int:
    """A timestamptz read by asyncpg, in microseconds since the epoch."""
    return (value - EPOCH) // timedelta(microseconds=1)


def event_time(e: Any) -> int:
    """``time`` as stored: the exchange's time, else the receipt time."""
    return us(e.timestamp if e.timestamp is not None else e.received)


def expected_trades(events: Iterable[Event]) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    """``(exchange, symbol, id) -> (time, received, price, amount, side)``; a repeated id keeps its first."""
    found: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    for e in events:
        if isinstance(e, Trade):
            found.setdefault((e.exchange, e.symbol, e.id), (event_time(e), us(e.received), e.price, e.amount, e.side))
    return found


def _winners(events: Iterable[Any], key: Callable[[Any], tuple[Any, ...]]) -> dict[tuple[Any, ...], Any]:
    won: dict[tuple[Any, ...], Any] = {}
    for e in events:
        k = key(e)
        held = won.get(k)
        if held is None or e.closed or not held.closed:
            won[k] = e
    return won


def expected_candles(events: Iterable[Event]) -> dict[tuple[Any, ...], Candle]:
    """The stored candle per ``(exchange, symbol, interval, source, start)``."""
    candles = [e for e in events if isinstance(e, Candle)]
    return _winners(candles, lambda c: (c.exchange, c.symbol, c.interval, c.source, us(c.start)))


def expected_indicators(events: Iterable[Event]) -> dict[tuple[Any, ...], Indicator]:
    """The stored indicator value per ``(exchange, symbol, interval, source, name, params, start)``."""
    values = [e for e in events if isinstance(e, Indicator)]
    return _winners(
        values, lambda i: (i.exchange, i.symbol, i.interval, i.source, i.name, tuple(i.params), us(i.start))
    )


def expected_book_tops(events: Iterable[Event]) -> dict[tuple[str, str, int], Book]:
    """The book event sampled per ``(exchange, symbol, interval start)``."""
    last: dict[tuple[str, str], int] = {}
    found: dict[tuple[str, str, int], Book] = {}
    for e in events:
        if not isinstance(e, Book) or not e.top:
            continue
        t = event_time(e)
        slot = t - t % BOOK_INTERVAL_US
        if slot > last.get((e.exchange, e.symbol), -1):
            last[(e.exchange, e.symbol)] = slot
            found[(e.exchange, e.symbol, slot)] = e
    return found


def distinct(events: Iterable[Event], kind: str) -> dict[bytes, Event]:
    """Events of ``type`` ``kind`` (or all status events for ``status``), identical ones once."""
    chosen = (
        (e for e in events if isinstance(e, StatusEvent)) if kind == "status" else (e for e in events if e.type == kind)
    )
    return {encode_event(e): e for e in chosen}


def expected_counts(events: list[Event]) -> dict[str, int]:
    """Rows per table."""
    return {
        "trades": len(expected_trades(events)),
        "tickers": len(distinct(events, "ticker")),
        "derivative_tickers": len(distinct(events, "derivative_ticker")),
        "liquidations": len(distinct(events, "liquidation")),
        "candles": len(expected_candles(events)),
        "book_tops": len(expected_book_tops(events)),
        "indicators": len(expected_indicators(events)),
        "alerts": len(distinct(events, "alert")),
        "premiums": len(distinct(events, "premium")),
        "status_events": len(distinct(events, "status")),
    }


async def table_counts(dsn: str, schema: str = "public") -> dict[str, int]:
    """Rows per table in the database (0 for a table not created yet)."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        counts = {}
        for name in expected_counts([]):
            exists = await conn.fetchval("SELECT to_regclass($1)", f'"{schema}"."{name}"')
            counts[name] = await conn.fetchval(f'SELECT count(*) FROM "{schema}"."{name}"') if exists else 0
        return counts
    finally:
        await conn.close()


async def fetch(dsn: str, sql: str) -> list[Any]:
    """Rows of ``sql`` (asyncpg records)."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def parquet_counts(root: Path) -> dict[str, int]:
    """Rows per ``type=`` partition of a Parquet dataset, read with pyarrow."""
    import pyarrow.dataset as ds

    labels = {
        "trades": "trade",
        "tickers": "ticker",
        "derivative_tickers": "derivative_ticker",
        "liquidations": "liquidation",
        "candles": "candle",
        "book_tops": "book_top",
        "indicators": "indicator",
        "alerts": "alert",
        "premiums": "premium",
        "status_events": "status",
    }
    counts = {}
    for name, label in labels.items():
        folder = root / f"type={label}"
        counts[name] = ds.dataset(folder, format="parquet", partitioning="hive").count_rows() if folder.exists() else 0
    return counts


def key_counts(rows: Iterable[tuple[Any, ...]]) -> Counter[tuple[Any, ...]]:
    """How often each key occurs (a duplicate shows as a count above 1)."""
    return Counter(rows)


async def cli(*args: str, timeout: float = 180.0) -> tuple[int, bytes, bytes]:
    """Run ``python -m collector ARGS``; returns (exit status, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "collector", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out, err


async def wait_for(condition: Callable[[], Any], within: float = 60.0, what: str = "condition") -> None:
    """Poll an async or plain ``condition`` every 50 ms until it is true; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.05)


ROOT_DIR = Path(__file__).resolve().parents[2]
"""The repository root (the working directory for child processes)."""
