"""End to end over real loopback websockets: the simulator, the real adapters, the Collector.

Nothing is mocked: the simulator is an aiohttp server speaking Binance's wire format,
the collector connects with the websockets client and fetches snapshots over HTTP.
Timeouts are shrunk so faults are detected in about a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import collector
from collector import Collector, Connected, Disconnected, Error, Event, Resync, Ticker, Trade
from collector.models import Book
from collector.simulator import Fault, Simulator
from tests.e2e import helpers
from tests.e2e.helpers import FAST, Recorder, quick_delays, start_collector, wait_for

PACKAGE = str(Path(collector.__file__).parent)


def _source(task: asyncio.Task[Any]) -> str:
    """File of the coroutine a task runs (to tell our tasks from the simulator's)."""
    code = getattr(task.get_coro(), "cr_code", None)
    return code.co_filename if code is not None else ""


MARKETS = {"binance": ["BTC/USDT", "ETH/USDT"], "binance_usdm": ["BTC/USDT:USDT"]}


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(MARKETS, seed=3, tick_interval=0.05) as s:
        yield s


async def start(sim: Simulator, **kwargs: Any) -> tuple[Collector, Recorder]:
    return await start_collector(sim, MARKETS, **kwargs)


def synced(c: Collector) -> bool:
    return helpers.synced(c, MARKETS)


async def books_equal_truth(c: Collector, sim: Simulator) -> None:
    await helpers.books_equal_truth(c, sim, MARKETS)


async def test_stream_and_books_match_simulator(sim: Simulator) -> None:
    """Trades, tickers and synced books arrive on spot and USDⓈ-M (both routed paths); books equal the truth."""
    c, rec = await start(sim)
    try:
        await wait_for(lambda: synced(c) and len(rec.of(Trade)) >= 20)
        await books_equal_truth(c, sim)
        assert {e.exchange for e in rec.of(Trade)} == {"binance", "binance_usdm"}
        assert {e.symbol for e in rec.of(Ticker)} == {"BTC/USDT", "ETH/USDT", "BTC/USDT:USDT"}
        assert len(rec.of(Connected)) == 3  # spot, usdm /public, usdm /market
        assert rec.of(Error) == [] and rec.of(Resync) == []
        trade_ids = [(t.exchange, t.symbol, t.id) for t in rec.of(Trade)]
        assert len(trade_ids) == len(set(trade_ids))
    finally:
        await c.stop()


async def test_gap_resyncs_only_that_symbol(sim: Simulator) -> None:
    """An injected sequence gap resyncs BTC/USDT alone, with reason gap, and the book is right again."""
    c, rec = await start(sim)
    try:
        await wait_for(lambda: synced(c))
        sim.inject("binance", Fault.GAP, symbol="BTC/USDT")
        await wait_for(lambda: len(rec.of(Resync)) == 1)
        (resync,) = rec.of(Resync)
        assert (resync.exchange, resync.symbol, resync.reason) == ("binance", "BTC/USDT", "gap")
        await wait_for(lambda: synced(c))
        snapshots = [(e.exchange, e.symbol) for e in rec.of(Book) if e.snapshot]
        assert snapshots.count(("binance", "BTC/USDT")) == 2
        assert snapshots.count(("binance", "ETH/USDT")) == 1
        await books_equal_truth(c, sim)
        assert len(rec.of(Connected)) == 3  # the socket was kept
    finally:
        await c.stop()


async def test_abrupt_close_reconnects_resubscribes_and_resyncs(sim: Simulator) -> None:
    """A dropped connection is reported, reconnected, resubscribed, and its books rebuilt."""
    c, rec = await start(sim)
    try:
        await wait_for(lambda: synced(c))
        sim.inject("binance", Fault.ABRUPT_CLOSE)
        await wait_for(lambda: len([e for e in rec.of(Connected) if e.exchange == "binance"]) == 2)
        (gone,) = [e for e in rec.of(Disconnected) if e.exchange == "binance"]
        assert gone.conn == "binance.0"
        assert sorted(e.symbol for e in rec.of(Resync)) == ["BTC/USDT", "ETH/USDT"]
        assert {e.reason for e in rec.of(Resync)} == {"reconnect"}
        await wait_for(lambda: synced(c))
        before = len([t for t in rec.of(Trade) if t.exchange == "binance"])
        await wait_for(lambda: len([t for t in rec.of(Trade) if t.exchange == "binance"]) > before)
        await books_equal_truth(c, sim)
    finally:
        await c.stop()


async def test_stall_is_detected_by_data_idle_timeout(sim: Simulator) -> None:
    """Data stops but pings are answered: the idle watchdog reconnects."""
    c, rec = await start(sim)
    try:
        await wait_for(lambda: synced(c))
        sim.inject("binance", Fault.STALL, seconds=2.5)
        await wait_for(lambda: any(e.exchange == "binance" for e in rec.of(Disconnected)), timeout=6)
        (gone,) = [e for e in rec.of(Disconnected) if e.exchange == "binance"]
        assert gone.reason == "no data for 1s"
        await wait_for(lambda: synced(c), timeout=10)
    finally:
        await c.stop()


async def test_freeze_is_detected_by_ping_timeout(sim: Simulator) -> None:
    """The peer stops answering pings: the keepalive closes the socket and the collector reconnects."""
    c, rec = await start(sim, plan_overrides={"idle_timeout": 0.0, "ping_interval": 0.3, "ping_timeout": 0.5})
    try:
        await wait_for(lambda: synced(c))
        sim.inject("binance", Fault.FREEZE, seconds=2.0)
        await wait_for(lambda: any(e.exchange == "binance" for e in rec.of(Disconnected)), timeout=6)
        (gone,) = [e for e in rec.of(Disconnected) if e.exchange == "binance"]
        assert "idle" not in gone.reason
        await wait_for(lambda: synced(c), timeout=10)
    finally:
        await c.stop()


async def test_malformed_frame_is_an_error_event_and_nothing_else_is_lost(sim: Simulator) -> None:
    """A garbage frame gives one error event per connection; books stay synced and correct."""
    c, rec = await start(sim)
    try:
        await wait_for(lambda: synced(c))
        sim.inject("binance", Fault.MALFORMED)
        await wait_for(lambda: len(rec.of(Error)) == 1)
        (err,) = rec.of(Error)
        assert (err.exchange, err.reason, err.conn) == ("binance", "malformed", "binance.0")
        assert c.adapter("binance").stats["error.malformed"] == 1
        assert rec.of(Resync) == []
        await books_equal_truth(c, sim)
    finally:
        await c.stop()


async def test_rate_limited_snapshot_is_retried_after_retry_after(sim: Simulator) -> None:
    """A 429 on the snapshot pauses the host for Retry-After, then the book syncs."""
    sim.inject("binance", Fault.RATE_LIMIT, count=1)
    started = time.monotonic()
    c, rec = await start(sim)
    try:
        await wait_for(lambda: synced(c))
        assert time.monotonic() - started >= 0.9  # Retry-After: 1
        assert c._rest.stats["rate_limited"] == 1
        assert rec.of(Error) == []
    finally:
        await c.stop()


async def test_async_iteration_and_clean_shutdown(sim: Simulator) -> None:
    """async for yields events; stop() leaves no task of ours running."""
    before = asyncio.all_tasks()
    c = Collector(endpoints={"binance": sim.endpoints("binance")}, delays=quick_delays)
    c.subscribe("binance", "BTC/USDT", ["trades", "book"])
    seen: list[Event] = []
    async with c:
        async for event in c:
            seen.append(event)
            if sum(isinstance(e, Trade) for e in seen) >= 5:
                break
    ours = [
        t
        for t in asyncio.all_tasks() - before
        if not t.done() and _source(t).startswith(PACKAGE) and "simulator" not in _source(t)
    ]
    assert ours == []
    assert c._tasks == set()
    assert isinstance(seen[0], Connected)
    assert all(e.symbol in (None, "BTC/USDT") for e in seen)


async def test_batches_carry_what_callbacks_see_in_the_same_order(sim: Simulator) -> None:
    """``c.batches()`` yields lists of the queued events: the same events, in the same order, that a
    callback on the same collector saw, and stopping ends the iteration."""
    c = Collector(endpoints={"binance": sim.endpoints("binance")}, delays=quick_delays)
    c.subscribe("binance", "BTC/USDT", ["trades", "book"])
    called: list[Event] = []
    c.on(called.append)
    batched: list[Event] = []
    sizes: list[int] = []
    async with c:
        async for events in c.batches():
            assert events
            sizes.append(len(events))
            batched += events
            if sum(isinstance(e, Trade) for e in batched) >= 20:
                break
    assert isinstance(batched[0], Connected)
    assert batched == called[: len(batched)]
    assert any(isinstance(e, Book) for e in batched)
    assert sum(sizes) == len(batched)


async def test_renewal_before_lifetime_limit_is_make_before_break(sim: Simulator) -> None:
    """A connection older than max_lifetime is replaced on our terms (Binance cuts at 24 h): the new
    socket subscribes before the old one closes, so no book is reset and no trade is lost or doubled."""
    c, rec = await start(sim, plan_overrides=FAST | {"max_lifetime": 1.0}, renewal_overlap=0.5)
    try:
        await wait_for(lambda: synced(c))
        await wait_for(lambda: all(conn.renewals >= 2 for conn in c.connections), timeout=15)
        assert rec.of(Disconnected) == []
        assert rec.of(Resync) == []
        for exchange, symbols in MARKETS.items():
            for symbol in symbols:
                ids = [t.id for t in rec.of(Trade, exchange) if t.symbol == symbol]
                assert len(ids) == len(set(ids)), f"{exchange} {symbol}: a trade was delivered twice"
        await books_equal_truth(c, sim)
    finally:
        await c.stop()


async def test_unknown_symbol_fails_at_start(sim: Simulator) -> None:
    """A symbol the exchange does not list raises UnknownSymbol from start(), with nothing left running."""
    c = Collector(endpoints={"binance": sim.endpoints("binance")}, queue_size=0)
    c.subscribe("binance", "NOPE/USDT", ["trades"])
    with pytest.raises(collector.UnknownSymbol, match="NOPE/USDT"):
        await c.start()
    assert c._tasks == set()
