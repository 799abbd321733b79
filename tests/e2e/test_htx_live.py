"""End to end over loopback websockets: the simulator speaking HTX, the real adapters, the Collector.

Nothing is mocked. Every frame is gzip; the server pings with ``{"ping": ms}`` and hangs up
on a client that stops answering; swap books are rebuilt by resubscribing, spot books by a
``req`` refresh on the same socket; funding and liquidations come from the index and
notification endpoints.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import orjson
import pytest
import websockets

from collector import Collector, Trade
from collector.exchanges.htx.codec import inflate
from collector.exchanges.htx.sim import HtxWire
from collector.exchanges.htx.sim_swap import HtxSwapWire
from collector.models import DerivativeTicker, Liquidation, Resync
from collector.simulator import Fault, Simulator
from tests.e2e import helpers
from tests.e2e.helpers import FAST, Recorder, quick_delays, wait_for

SWAPS = {"htx_swap": ["BTC/USDT:USDT", "BTC/USD:BTC"]}


async def collect(sim: Simulator, symbols: list[str], derivatives: list[str]) -> tuple[Collector, Recorder]:
    """A started Collector on ``sim``: trades, tickers and books of ``symbols``, funding and
    liquidations of ``derivatives``, with timeouts shrunk."""
    c = Collector(
        endpoints={"htx_swap": sim.endpoints("htx_swap")},
        queue_size=0,
        delays=quick_delays,
        stable_after=0.5,
        plan_overrides=FAST | {"idle_timeout": 30.0},
    )
    c.subscribe("htx_swap", symbols, ["trades", "ticker", "book"])
    c.subscribe("htx_swap", derivatives, ["funding", "liquidations"])
    rec = Recorder()
    c.on(rec)
    await c.start()
    return c, rec


@pytest.fixture
async def spot_sim(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Simulator]:
    monkeypatch.setattr(HtxWire, "heartbeat_interval", 0.1)
    async with Simulator({"htx": ["BTC/USDT"]}, seed=5, tick_interval=0.05) as s:
        yield s


async def _pings(ws: websockets.ClientConnection, answer: bool, until: float) -> tuple[int, bool]:
    """Read frames until ``until`` (loop time); answer pings if asked. Returns (pings seen, closed by the server)."""
    loop = asyncio.get_running_loop()
    pings = 0
    try:
        while (left := until - loop.time()) > 0:
            frame = await asyncio.wait_for(ws.recv(), left)
            msg = orjson.loads(inflate(frame) if isinstance(frame, bytes) else frame)
            if "ping" in msg:
                pings += 1
                if answer:
                    await ws.send(orjson.dumps({"pong": msg["ping"]}).decode())
    except TimeoutError:
        return pings, False
    except websockets.ConnectionClosed:
        return pings, True
    return pings, False


async def test_a_client_that_leaves_two_pings_unanswered_is_disconnected(spot_sim: Simulator) -> None:
    """HTX: "after the server sent two consecutive heartbeat messages without receiving at least one
    matching pong ... right before server sends the next ping, the server will be disconnected"."""
    url = spot_sim.endpoints("htx").ws + "/ws"
    loop = asyncio.get_running_loop()
    async with websockets.connect(url) as silent, websockets.connect(url) as polite:
        started = time.monotonic()
        (seen, closed), (answered, kept_closed) = await asyncio.gather(
            _pings(silent, False, loop.time() + 2.0), _pings(polite, True, loop.time() + 1.0)
        )
        assert closed and seen == 2, (seen, closed)
        assert time.monotonic() - started < 2.0
        assert silent.close_code == 1008
        assert answered >= 5 and not kept_closed  # pongs keep the connection open


async def test_swap_books_funding_and_liquidations_over_loopback() -> None:
    """Linear and coin-margined books equal the truth, a gap resubscribes that book alone; funding
    (mark, index, funding rate) and liquidations arrive from the index and notification endpoints."""
    async with Simulator(SWAPS, seed=7, tick_interval=0.02) as sim:
        c, rec = await collect(sim, SWAPS["htx_swap"], ["BTC/USDT:USDT"])
        try:
            await wait_for(lambda: helpers.synced(c, SWAPS), timeout=15)
            await helpers.books_equal_truth(c, sim, SWAPS)
            sim.inject("htx_swap", Fault.GAP, symbol="BTC/USD:BTC")
            await wait_for(lambda: any(e.reason == "gap" for e in rec.of(Resync, "htx_swap")), timeout=10)
            assert {e.symbol for e in rec.of(Resync, "htx_swap")} == {"BTC/USD:BTC"}
            await wait_for(lambda: helpers.synced(c, SWAPS), timeout=15)
            await helpers.books_equal_truth(c, sim, SWAPS)

            def funded() -> bool:
                latest = [e for e in rec.of(DerivativeTicker, "htx_swap") if e.symbol == "BTC/USDT:USDT"]
                return bool(latest) and None not in (
                    latest[-1].mark_price,
                    latest[-1].index_price,
                    latest[-1].funding_rate,
                )

            await wait_for(funded, timeout=10)
            await wait_for(lambda: bool(rec.of(Liquidation, "htx_swap")), timeout=20)
            ticker = [e for e in rec.of(DerivativeTicker, "htx_swap") if e.symbol == "BTC/USDT:USDT"][-1]
            assert ticker.open_interest is None  # HTX streams no open interest
            assert ticker.next_funding_time is not None and ticker.next_funding_time % (8 * 3600) == 0
            trades = {e.symbol for e in rec.of(Trade, "htx_swap")}
            assert trades == {"BTC/USDT:USDT", "BTC/USD:BTC"}
        finally:
            await c.stop()


async def test_swap_server_pings_are_answered_by_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    """The adapter answers market and notification pings, so HTX never hangs up on the collector."""
    monkeypatch.setattr(HtxSwapWire, "heartbeat_interval", 0.05)
    markets = {"htx_swap": ["BTC/USDT:USDT"]}
    async with Simulator(markets, seed=3, tick_interval=0.05) as sim:
        c, rec = await collect(sim, markets["htx_swap"], ["BTC/USDT:USDT"])
        try:
            await asyncio.sleep(1.5)  # 30 pings per connection: 5 unanswered would close it
            assert [e for e in rec.events if type(e).__name__ == "Disconnected"] == []
            assert c.adapter("htx_swap").stats["ignored.ping"] >= 40
        finally:
            await c.stop()
