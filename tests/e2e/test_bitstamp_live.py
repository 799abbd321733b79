"""End to end over loopback websockets: the simulator speaking Bitstamp, the real adapter, the Collector.

Nothing is mocked. What the conformance scenario does not reach: tickers taken from the
``order_book_<pair>`` top, Bitstamp's maintenance notice ``bts:request_reconnect``, and a
perpetual's book and funding rate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from collector import Collector, Connected, DerivativeTicker, Error, Resync, Ticker, Trade
from collector.simulator import Simulator
from tests.e2e import helpers
from tests.e2e.helpers import FAST, Recorder, start_collector, wait_for
from tests.exchanges.test_bitstamp_replay import capture

MARKETS = {"bitstamp": ["BTC/USD", "ETH/USD"]}


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(MARKETS, seed=5, tick_interval=0.05) as s:
        yield s


async def start(sim: Simulator) -> tuple[Collector, Recorder]:
    # Heartbeat replies are control frames: a data-idle limit well above the test's quiet moments.
    return await start_collector(sim, MARKETS, plan_overrides=FAST | {"idle_timeout": 30.0})


def errors(rec: Recorder) -> list[Error]:
    return [e for e in rec.of(Error, "bitstamp") if e.conn != "rest"]


async def test_books_equal_the_truth_and_tickers_follow_the_top(sim: Simulator) -> None:
    """Books join their REST snapshots; each symbol's last ticker is the simulator's best bid and ask."""
    c, rec = await start(sim)
    try:
        await wait_for(lambda: helpers.synced(c, MARKETS) and len(rec.of(Trade, "bitstamp")) >= 10)
        sim.pause()
        try:
            await helpers.compare_books(c, sim, MARKETS)
            for symbol in MARKETS["bitstamp"]:
                bids, asks, _ = sim.true_book("bitstamp", symbol)
                bid, ask = max(bids), min(asks)

                def caught_up(symbol: str = symbol, bid: float = bid, ask: float = ask) -> bool:
                    tickers = [t for t in rec.of(Ticker, "bitstamp") if t.symbol == symbol]
                    return bool(tickers) and (tickers[-1].bid, tickers[-1].ask) == (bid, ask)

                await wait_for(caught_up)
                last = [t for t in rec.of(Ticker, "bitstamp") if t.symbol == symbol][-1]
                assert (last.bid_size, last.ask_size) == (bids[bid], asks[ask])
        finally:
            sim.resume()
        ids = [(t.symbol, t.id) for t in rec.of(Trade, "bitstamp")]
        assert len(ids) == len(set(ids))
        assert errors(rec) == []
    finally:
        await c.stop()


async def test_request_reconnect_rebuilds_the_books_as_maintenance(sim: Simulator) -> None:
    """bts:request_reconnect: a new socket at once, every book resyncs as maintenance and comes back right."""
    c, rec = await start(sim)
    try:
        await wait_for(lambda: helpers.synced(c, MARKETS))
        sim.send_raw("bitstamp", ['{"event": "bts:request_reconnect", "channel": "", "data": ""}'])
        await wait_for(lambda: len(rec.of(Connected, "bitstamp")) >= 2)
        maintenance = {r.symbol for r in rec.of(Resync, "bitstamp") if r.reason == "maintenance"}
        assert maintenance == set(MARKETS["bitstamp"])
        await wait_for(lambda: helpers.synced(c, MARKETS))
        await helpers.books_equal_truth(c, sim, MARKETS)
        assert c.adapter("bitstamp").stats["ignored.request_reconnect"] == 1
        assert errors(rec) == []
    finally:
        await c.stop()


async def test_perpetual_book_and_funding() -> None:
    """A perpetual (btcusd-perp): its book equals the truth, funding_rate frames give derivative tickers."""
    markets = {"bitstamp": ["BTC/USD:USD"]}
    async with Simulator(markets, seed=9, tick_interval=0.05) as sim:
        c = Collector(
            endpoints={"bitstamp": sim.endpoints("bitstamp")},
            queue_size=0,
            delays=helpers.quick_delays,
            plan_overrides=FAST | {"idle_timeout": 30.0},
        )
        c.subscribe("bitstamp", ["BTC/USD:USD"], ["trades", "book", "funding"])
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            await wait_for(lambda: helpers.synced(c, markets) and len(rec.of(DerivativeTicker, "bitstamp")) >= 2)
            await helpers.books_equal_truth(c, sim, markets)
            funding = rec.of(DerivativeTicker, "bitstamp")
            assert all(
                t.symbol == "BTC/USD:USD" and t.mark_price and t.index_price and t.funding_rate == 0.0001
                for t in funding
            )
            assert all(t.next_funding_time is not None and t.next_funding_time % 3600 == 0 for t in funding)
            assert rec.of(Ticker, "bitstamp") == []
            assert errors(rec) == []
        finally:
            await c.stop()


async def test_a_recorded_session_plays_to_the_collector() -> None:
    """Simulator.from_capture plays a cryptofeed-style capture; the book joins its recorded snapshot."""
    # Ten times the recorded pace: both channels are subscribed before the first diff plays.
    async with Simulator.from_capture(capture(), speed=10.0) as sim:
        c = Collector(endpoints={"bitstamp": sim.endpoints("bitstamp")}, queue_size=0, delays=helpers.quick_delays)
        c.subscribe("bitstamp", ["BTC/USD"], ["trades", "book"])
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            await wait_for(lambda: (b := c.book("bitstamp", "BTC/USD")) is not None and b.sequence == 1580336904228758)
            book = c.book("bitstamp", "BTC/USD")
            assert book is not None and book.best_bid() == (9317.09, 2.6791) and book.best_ask() == (9337.1, 0.03)
            assert [(t.id, t.side) for t in rec.of(Trade, "bitstamp")] == [("104007706", "sell")]
            assert errors(rec) == []
        finally:
            await c.stop()
