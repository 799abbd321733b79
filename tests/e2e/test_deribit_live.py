"""Deribit end to end over loopback websockets: the simulator's JSON-RPC server, the real adapter, the Collector.

Beyond the conformance scenario (which runs on BTC-PERPETUAL): options and linear contracts,
inverse amounts, derivative tickers, liquidations and candles; ``test_request`` answered over
the socket; a ``raw`` subscription refused by an unauthenticated server; a gap on an option book.
"""

from __future__ import annotations

import pytest

from collector import Collector, Error, Resync, Trade
from collector.exchanges.deribit import DeribitAdapter
from collector.exchanges.deribit.sim import DeribitWire
from collector.models import Candle, DerivativeTicker, Liquidation, Ticker
from collector.simulator import Fault, Simulator
from tests.e2e.helpers import Recorder, books_equal_truth, quick_delays, synced, wait_for

PERP = "BTC/USD:BTC"
LINEAR = "BTC/USDC:USDC"
OPTION = "BTC/USD:BTC-261225-100000-C"
MARKETS = {"deribit": [PERP, LINEAR, OPTION]}


def collector_on(sim: Simulator) -> tuple[Collector, Recorder]:
    c = Collector(endpoints={"deribit": sim.endpoints("deribit")}, queue_size=0, delays=quick_delays, stable_after=0.5)
    rec = Recorder()
    c.on(rec)
    return c, rec


async def test_options_linear_and_inverse_contracts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Books equal the truth; inverse trades are base units; funding, liquidations and bars flow; the
    server's ``test_request`` is answered with ``public/test`` and nothing is reported as an error."""
    monkeypatch.setattr(DeribitWire, "heartbeat_interval", 0.1)
    async with Simulator(MARKETS, seed=4, tick_interval=0.02) as sim:
        c, rec = collector_on(sim)
        c.subscribe("deribit", MARKETS["deribit"], ["trades", "ticker", "book", "liquidations"])
        c.subscribe("deribit", [PERP], ["funding", "candles"])
        await c.start()
        try:
            adapter = c.adapter("deribit")

            def enough() -> bool:
                traded = {t.symbol for t in rec.of(Trade)}
                return (
                    synced(c, MARKETS)
                    and traded == set(MARKETS["deribit"])
                    and len(rec.of(Liquidation)) >= 2
                    and len(rec.of(DerivativeTicker)) >= 3
                    and rec.of(Candle) != []
                    and adapter.stats["ignored.pong"] >= 1
                )

            await wait_for(enough, timeout=20)
            await books_equal_truth(c, sim, MARKETS)
        finally:
            await c.stop()
    assert rec.of(Error) == []
    assert adapter.stats["ignored.test_request"] >= 1
    # BTC-PERPETUAL amounts are multiples of its 10 USD contract: amount * price gives them back.
    for trade in (t for t in rec.of(Trade) if t.symbol == PERP):
        usd = trade.amount * trade.price
        assert abs(usd - round(usd / 10) * 10) < 1e-6
    assert {t.symbol for t in rec.of(Ticker)} == set(MARKETS["deribit"])
    funding = rec.of(DerivativeTicker)
    assert {e.symbol for e in funding} == {PERP}
    assert all(e.mark_price and e.index_price and e.open_interest == e.open_interest_value for e in funding)
    assert all(e.funding_rate is not None for e in funding)
    assert {c.interval for c in rec.of(Candle)} == {"1m"}


async def test_a_raw_subscription_is_refused_without_authentication(monkeypatch: pytest.MonkeyPatch) -> None:
    """ "raw interval is only available to authorized users": the reply lists none of them, which is reported."""
    monkeypatch.setattr(DeribitAdapter, "interval", "raw")
    async with Simulator({"deribit": [PERP]}, seed=2, tick_interval=0.02) as sim:
        c, rec = collector_on(sim)
        c.subscribe("deribit", [PERP], ["trades", "book"])
        await c.start()
        try:
            await wait_for(lambda: rec.of(Error) != [], timeout=10)
        finally:
            await c.stop()
    (error,) = rec.of(Error)
    assert error.reason == "rejected"
    assert error.detail == "2 channel(s) not subscribed: trades.BTC-PERPETUAL.raw, book.BTC-PERPETUAL.raw"


async def test_a_gap_on_an_option_book_resubscribes_it() -> None:
    """A withheld change breaks the ``prev_change_id`` link: that option's book resyncs and converges again."""
    markets = {"deribit": [OPTION, PERP]}
    async with Simulator(markets, seed=9, tick_interval=0.02) as sim:
        c, rec = collector_on(sim)
        c.subscribe("deribit", markets["deribit"], ["book"])
        await c.start()
        try:
            await wait_for(lambda: synced(c, markets), timeout=15)
            sim.inject("deribit", Fault.GAP, symbol=OPTION)
            await wait_for(lambda: any(e.reason == "gap" for e in rec.of(Resync)), timeout=10)
            await wait_for(lambda: synced(c, markets), timeout=15)
            await books_equal_truth(c, sim, markets)
        finally:
            await c.stop()
    assert [(e.symbol, e.reason) for e in rec.of(Resync)] == [(OPTION, "gap")]
    assert rec.of(Error) == []
