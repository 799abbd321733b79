"""BitMEX end to end over real loopback websockets: the simulator's wire, the real adapter, the Collector.

The conformance suite covers trades, tickers, books and their faults; this covers what is
BitMEX's own: the ``instrument`` table as derivative tickers, liquidation orders, and a book
rebuilt by unsubscribing and subscribing its table again (a new ``partial``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from collector import Collector, Error, Resync, Trade
from collector.models import DerivativeTicker, Liquidation
from collector.simulator import Simulator
from tests.e2e.helpers import Recorder, books_equal_truth, quick_delays, synced, wait_for

MARKETS = {"bitmex": ["BTC/USD:BTC", "BTC/USDT:USDT"]}


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(MARKETS, seed=4, tick_interval=0.02) as s:
        yield s


async def test_funding_liquidations_and_a_resubscribed_book(sim: Simulator) -> None:
    """Derivative tickers and liquidations flow; a lost row rebuilds one book from a new partial."""
    c = Collector(endpoints={"bitmex": sim.endpoints("bitmex")}, queue_size=0, delays=quick_delays)
    c.subscribe("bitmex", MARKETS["bitmex"], ["trades", "ticker", "book", "funding", "liquidations"])
    rec = Recorder()
    c.on(rec)
    await c.start()
    try:
        await wait_for(lambda: synced(c, MARKETS) and len(rec.of(Trade)) >= 10, timeout=15)
        await books_equal_truth(c, sim, MARKETS)
        await wait_for(lambda: {e.symbol for e in rec.of(DerivativeTicker)} == set(MARKETS["bitmex"]), timeout=10)
        inverse = next(e for e in rec.of(DerivativeTicker) if e.symbol == "BTC/USD:BTC")
        assert inverse.funding_rate == 0.0001 and inverse.open_interest == inverse.open_interest_value
        await wait_for(lambda: len(rec.of(Liquidation)) >= 1, timeout=20)

        # An update row for an id the book never had, without a price: rows were lost.
        lost = {"symbol": "XBTUSD", "id": 1, "side": "Buy", "size": 100, "timestamp": "2024-01-01T00:00:00.000Z"}
        sim.send_raw("bitmex", [orjson.dumps({"table": "orderBookL2", "action": "update", "data": [lost]}).decode()])
        await wait_for(lambda: any(e.reason == "gap" for e in rec.of(Resync)), timeout=10)
        assert {e.symbol for e in rec.of(Resync)} == {"BTC/USD:BTC"}
        await wait_for(lambda: synced(c, MARKETS), timeout=10)
        await books_equal_truth(c, sim, MARKETS)
        assert rec.of(Error) == []
    finally:
        await c.stop()
