"""Storing without Kafka: ``collector run --postgres --parquet`` and the StorageSink's outage behaviour."""

from __future__ import annotations

import asyncio
from pathlib import Path

from collector.backoff import Backoff
from collector.codec import decode_event
from collector.models import Book, Event, Ticker, Trade
from collector.simulator import Simulator
from collector.storage import FileTarget, PostgresTarget, StorageSettings, StorageSink
from tests.storage.conftest import PgServer
from tests.storage.util import (
    cli,
    expected_book_tops,
    expected_trades,
    fetch,
    parquet_counts,
    table_counts,
    wait_for,
)

T0 = 1_700_000_000.0


async def test_run_stores_what_it_prints(pg_dsn: str, tmp_path: Path) -> None:
    """`collector run` against the simulator: the database and the dataset hold the printed trades and books."""
    out = tmp_path / "events.jsonl"
    data = tmp_path / "data"
    async with Simulator({"binance": ["BTC/USDT", "ETH/USDT"]}, seed=3, tick_interval=0.05) as sim:
        endpoint = sim.endpoints("binance")
        code, _, err = await cli(
            *("run", "binance:BTC/USDT,ETH/USDT", "--channels", "trades,book", "--duration", "4"),
            *("--endpoint", f"binance={endpoint.ws},{endpoint.rest}", "--out", str(out)),
            *("--postgres", pg_dsn, "--parquet", str(data)),
        )
    assert code == 0, err.decode()
    printed = [decode_event(line) for line in out.read_bytes().splitlines()]
    trades = expected_trades(printed)
    books = [e for e in printed if isinstance(e, Book)]
    assert len(trades) > 20 and books and all(b.top for b in books)  # storing asks the collector for book tops
    rows = await fetch(pg_dsn, "SELECT exchange, symbol, id FROM trades")
    assert {(r[0], r[1], r[2]) for r in rows} == set(trades)
    counts = await table_counts(pg_dsn)
    assert counts["book_tops"] == len(expected_book_tops(printed)) > 0
    assert parquet_counts(data)["trades"] == len(trades)
    assert parquet_counts(data)["book_tops"] == counts["book_tops"]


def ticks(start: int, count: int) -> list[Event]:
    events: list[Event] = []
    for n in range(start, start + count):
        ts = T0 + n / 100
        events.append(Trade("binance", "BTC/USDT", ts, ts, 100.0 + n, 1.0, "buy", str(n)))
        events.append(Ticker("binance", "BTC/USDT", ts, ts, 100.0 + n, 1.0, 101.0 + n, 2.0))
    return events


async def test_a_database_outage_slows_writes_and_loses_nothing(own_pg: PgServer, tmp_path: Path) -> None:
    """While the database is down, rows wait; past the buffer, write() waits (backpressure, reported); after the
    restart every row is stored once, in the database and the Parquet dataset, and the outage was reported."""
    statuses: list[tuple[str, str]] = []
    settings = StorageSettings(
        batch_rows=100, flush_interval=0.05, buffer_events=300, backoff=Backoff(initial=0.05, cap=0.3)
    )
    pg = PostgresTarget(own_pg.dsn(), connect_timeout=5, command_timeout=5)
    sink = StorageSink([pg, FileTarget(tmp_path, roll_interval=0.2)], settings)
    sink.on_status = lambda source, kind, detail: statuses.append((source, kind))
    await sink.start()
    for event in ticks(0, 200):
        await sink.write(event)
    await wait_for(lambda: pg.stats.stored == 400, 20, "the first rows")

    await asyncio.to_thread(own_pg.stop, crash=True)
    writer = asyncio.create_task(_write_all(sink, ticks(200, 400)))
    await wait_for(lambda: ("postgres+parquet", "backpressure") in statuses, 20, "backpressure")
    assert not writer.done()  # write() waits while the buffer is full
    await asyncio.to_thread(own_pg.start)
    await asyncio.wait_for(writer, 60)
    await sink.close()

    counts = await table_counts(own_pg.dsn())
    assert (counts["trades"], counts["tickers"]) == (600, 600)
    assert parquet_counts(tmp_path)["trades"] == 600 and parquet_counts(tmp_path)["tickers"] == 600
    assert ("postgres", "unavailable") in statuses and ("postgres", "recovered") in statuses
    assert ("postgres+parquet", "recovered") in statuses
    assert sink.stats.accepted == sink.stats.stored == 1200 and sink.stats.lost == 0
    assert sink.stats.blocked >= 1 and pg.stats.outages >= 1


async def _write_all(sink: StorageSink, events: list[Event]) -> None:
    for event in events:
        await sink.write(event)
