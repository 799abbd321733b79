"""End to end over loopback websockets: the simulator speaking Coinbase Advanced Trade, the real adapter.

Nothing is mocked. One socket carries heartbeats, level2, market_trades and ticker for
two products; every frame on it is numbered by ``sequence_num``, so a withheld book
update shows as a jump the adapter answers by rebuilding every book of the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest
import websockets

from collector import Resync
from collector.simulator import Fault, Simulator
from tests.e2e import helpers
from tests.e2e.helpers import FAST, start_collector, wait_for

MARKETS = {"coinbase": ["BTC/USD", "ETH/USD"]}


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(MARKETS, seed=17, tick_interval=0.05) as s:
        yield s


async def test_sequence_num_is_one_counter_per_connection(sim: Simulator) -> None:
    """A plain client sees 0, 1, 2, ... across snapshots, acks, updates and the one-a-second heartbeats."""
    seen: list[tuple[int, str]] = []
    async with websockets.connect(sim.endpoints("coinbase").ws) as ws:
        await ws.send('{"type":"subscribe","channel":"heartbeats"}')
        await ws.send('{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"level2"}')
        await ws.send('{"type":"subscribe","product_ids":["BTC-USD"],"channel":"market_trades"}')
        async with asyncio.timeout(10):
            async for frame in ws:
                msg = orjson.loads(frame)
                seen.append((msg["sequence_num"], msg["channel"]))
                if sum(channel == "heartbeats" for _, channel in seen) == 2:
                    break
    assert [n for n, _ in seen] == list(range(len(seen)))
    assert [c for _, c in seen[:3]] == ["subscriptions", "l2_data", "l2_data"]
    assert {c for _, c in seen} >= {"subscriptions", "l2_data", "market_trades", "heartbeats"}


async def test_gap_rebuilds_every_book_of_the_connection(sim: Simulator) -> None:
    """A withheld BTC-USD update: both books on the socket resync as ``gap``, resubscribe and equal the truth."""
    c, rec = await start_collector(sim, MARKETS, plan_overrides=FAST)
    try:
        await wait_for(lambda: helpers.synced(c, MARKETS))
        await helpers.books_equal_truth(c, sim, MARKETS)
        sim.inject("coinbase", Fault.GAP, symbol="BTC/USD")

        def gaps() -> set[str | None]:
            return {e.symbol for e in rec.of(Resync, "coinbase") if e.reason == "gap"}

        await wait_for(lambda: gaps() == {"BTC/USD", "ETH/USD"})
        await wait_for(lambda: helpers.synced(c, MARKETS))
        await helpers.books_equal_truth(c, sim, MARKETS)
        assert c.adapter("coinbase").stats["sequence_gaps"] == 1
    finally:
        await c.stop()


async def test_heartbeats_keep_a_quiet_book_alive(sim: Simulator) -> None:
    """With the market paused, the simulator's heartbeats keep the books from going stale."""
    c, rec = await start_collector(sim, MARKETS, plan_overrides=FAST | {"idle_timeout": 30.0}, check_interval=0.2)
    try:
        await wait_for(lambda: helpers.synced(c, MARKETS))
        c.adapter("coinbase").book_stale_after = 1.5
        sim.pause()
        await asyncio.sleep(3.0)
        sim.resume()
        assert [e for e in rec.of(Resync, "coinbase") if e.reason == "stale"] == []
        assert helpers.synced(c, MARKETS)
    finally:
        await c.stop()
