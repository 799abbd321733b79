"""End to end over loopback websockets: the simulator speaking Bitfinex, the real adapter, the Collector.

Nothing is mocked. What the conformance scenario does not reach: the info events a
Bitfinex server sends (20051 restart, 20060/20061 maintenance), and more channels than
one connection may hold (the simulator refuses a 26th with error 10305, as Bitfinex does).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from collector import Collector, Connected, Error, Resync, Trade
from collector.simulator import Simulator
from tests.e2e import helpers
from tests.e2e.helpers import FAST, Recorder, start_collector, wait_for

MARKETS = {"bitfinex": ["BTC/USD", "ETH/USD"]}
MANY = {
    "bitfinex": ["BTC/USD", "ETH/USD", "BTC/USDT", "ETH/USDT", "SOL/USD", "XRP/USD", "DOGE/USD", "ADA/USD", "LTC/USD"]
}


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(MARKETS, seed=7, tick_interval=0.05) as s:
        yield s


async def start(sim: Simulator, markets: dict[str, list[str]] = MARKETS) -> tuple[Collector, Recorder]:
    # Heartbeats are control frames: a data-idle limit well above the test's quiet moments.
    return await start_collector(sim, markets, plan_overrides=FAST | {"idle_timeout": 30.0})


def errors(rec: Recorder) -> list[Error]:
    return [e for e in rec.of(Error, "bitfinex") if e.conn != "rest"]


async def test_stream_books_and_checksums_match_the_simulator(sim: Simulator) -> None:
    """Trades and tickers flow, books equal the truth and every checksum passes."""
    c, rec = await start(sim)
    try:
        await wait_for(lambda: helpers.synced(c, MARKETS) and len(rec.of(Trade, "bitfinex")) >= 10)
        await helpers.books_equal_truth(c, sim, MARKETS)
        adapter = c.adapter("bitfinex")
        assert adapter.books.stats["checksum_ok"] > 0
        assert adapter.books.stats["resync.checksum"] == 0
        ids = [t.id for t in rec.of(Trade, "bitfinex")]
        assert len(ids) == len(set(ids))
        assert errors(rec) == []
    finally:
        await c.stop()


async def test_maintenance_pauses_books_until_it_ends(sim: Simulator) -> None:
    """Info 20060 drops the books; 20061 resubscribes every channel and they come back right."""
    c, rec = await start(sim)
    try:
        await wait_for(lambda: helpers.synced(c, MARKETS))
        sim.send_raw("bitfinex", ['{"event":"info","code":20060,"msg":"Entering in Maintenance mode."}'])
        await wait_for(lambda: not any(c.book("bitfinex", s).synced for s in MARKETS["bitfinex"]))  # type: ignore[union-attr]
        assert {r.symbol for r in rec.of(Resync, "bitfinex")} == set(MARKETS["bitfinex"])
        sim.send_raw("bitfinex", ['{"event":"info","code":20061,"msg":"Maintenance ended."}'])
        await wait_for(lambda: helpers.synced(c, MARKETS))
        await helpers.books_equal_truth(c, sim, MARKETS)
        assert errors(rec) == []
    finally:
        await c.stop()


async def test_server_restart_notice_reconnects(sim: Simulator) -> None:
    """Info 20051 ("please reconnect"): a new socket, new channel ids, books rebuilt."""
    c, rec = await start(sim)
    try:
        await wait_for(lambda: helpers.synced(c, MARKETS))
        sim.send_raw("bitfinex", ['{"event":"info","code":20051,"msg":"Stopping. Please try to reconnect"}'])
        await wait_for(lambda: len(rec.of(Connected, "bitfinex")) >= 2)
        await wait_for(lambda: helpers.synced(c, MARKETS))
        await helpers.books_equal_truth(c, sim, MARKETS)
        assert {r.reason for r in rec.of(Resync, "bitfinex")} == {"reconnect"}
        assert errors(rec) == []
    finally:
        await c.stop()


async def test_more_than_25_channels_take_a_second_connection() -> None:
    """27 channels: the plan opens two sockets and the exchange refuses none of them."""
    async with Simulator(MANY, seed=3, tick_interval=0.05) as sim:
        c, rec = await start(sim, MANY)
        try:
            await wait_for(lambda: helpers.synced(c, MANY), timeout=15)
            assert len(c.connections) == 2
            await helpers.books_equal_truth(c, sim, MANY)
            assert errors(rec) == []
        finally:
            await c.stop()
