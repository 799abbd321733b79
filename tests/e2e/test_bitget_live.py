"""End to end over loopback websockets: the simulator speaking Bitget v2, the real adapter, the Collector.

One socket carries spot, USDT-M and coin-M subscriptions (``instType`` per argument);
books start from the snapshot each subscription brings and link by ``pseq``, with the
checksum checked on every update; tickers feed both ``ticker`` and ``funding``.
"""

from __future__ import annotations

import asyncio

import orjson
import websockets

from collector import Collector
from collector.models import Candle, DerivativeTicker, Error, Resync, Ticker, Trade
from collector.simulator import Fault, Simulator
from tests.e2e import helpers
from tests.e2e.helpers import FAST, Recorder, quick_delays, wait_for

MARKETS = {"bitget": ["BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC"]}


async def test_one_socket_serves_every_product_line_and_every_channel() -> None:
    """Trades, tickers, derivative tickers, candles and checksummed books arrive; books equal the truth;
    a checksum fault on one book resubscribes that book only."""
    async with Simulator(MARKETS, seed=5, tick_interval=0.03) as sim:
        c = Collector(
            endpoints={"bitget": sim.endpoints("bitget")}, queue_size=0, delays=quick_delays, plan_overrides=FAST
        )
        c.subscribe("bitget", MARKETS["bitget"], ["trades", "ticker", "book", "candles"])
        c.subscribe("bitget", ["BTC/USDT:USDT", "BTC/USD:BTC"], ["funding"])
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            assert len(c.connections) == 1
            await wait_for(lambda: helpers.synced(c, MARKETS), timeout=10)
            await wait_for(lambda: {e.symbol for e in rec.of(DerivativeTicker)} == {"BTC/USDT:USDT", "BTC/USD:BTC"})
            await wait_for(lambda: {e.symbol for e in rec.of(Trade)} == set(MARKETS["bitget"]))
            await wait_for(lambda: {e.symbol for e in rec.of(Candle)} == set(MARKETS["bitget"]))
            assert {e.symbol for e in rec.of(Ticker)} == set(MARKETS["bitget"])
            await helpers.books_equal_truth(c, sim, MARKETS)
            await wait_for(lambda: c.adapter("bitget").books.stats["checksum_ok"] > 30)

            sim.inject("bitget", Fault.CHECKSUM, symbol="BTC/USD:BTC")
            await wait_for(lambda: any(e.reason == "checksum" for e in rec.of(Resync, "bitget")))
            await wait_for(lambda: helpers.synced(c, MARKETS), timeout=10)
            await helpers.books_equal_truth(c, sim, MARKETS)
            assert [(e.symbol, e.reason) for e in rec.of(Resync, "bitget")] == [("BTC/USD:BTC", "checksum")]
            assert rec.of(Error, "bitget") == []
        finally:
            await c.stop()


async def test_text_ping_and_subscription_replies() -> None:
    """A plain client: ``ping`` is answered ``pong``; each argument is acknowledged, an unknown one refused."""
    async with (
        Simulator(MARKETS, seed=5, tick_interval=0.05) as sim,
        websockets.connect(sim.endpoints("bitget").ws) as ws,
    ):
        await ws.send("ping")
        assert await asyncio.wait_for(ws.recv(), 5) == "pong"
        args = [
            {"instType": "USDT-FUTURES", "channel": "books", "instId": "BTCUSDT"},
            {"instType": "SPOT", "channel": "books", "instId": "NOPEUSDT"},
        ]
        await ws.send(orjson.dumps({"op": "subscribe", "args": args}).decode())
        ack = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        snapshot = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        refusal = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert ack == {"event": "subscribe", "arg": args[0]}
        assert (snapshot["action"], snapshot["arg"], snapshot["data"][0]["pseq"]) == ("snapshot", args[0], 0)
        assert (refusal["event"], refusal["code"], refusal["arg"]) == ("error", 30001, args[1])
        update = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        assert update["action"] == "update"
        assert update["data"][0]["pseq"] == snapshot["data"][0]["seq"]
