"""End to end over loopback websockets: the simulator speaking Kraken spot v2 and Kraken Futures.

Nothing is mocked. Kraken spot books have no sequence numbers: a wrong book is caught by
the CRC32 of its top 10 levels (the CHECKSUM fault), and books subscribed at a depth are
truncated by the client because Kraken sends no delete for a level pushed out of it.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from typing import Any

import orjson
import pytest

from collector import Collector, Disconnected, Error, Resync
from collector.exchanges import Endpoints
from collector.exchanges.kraken import KrakenAdapter
from collector.models import DerivativeTicker, Liquidation, Ticker, Trade
from collector.simulator import Fault, Simulator
from tests.e2e.helpers import Recorder, compare_books, quick_delays, wait_for

SPOT = {"kraken": ["BTC/USD", "ETH/USD"]}


async def collect(sim: Simulator, markets: dict[str, list[str]], channels: list[str]) -> tuple[Collector, Recorder]:
    c = Collector(
        endpoints={ex: sim.endpoints(ex) for ex in markets},
        queue_size=0,
        delays=quick_delays,
        stable_after=0.5,
        check_interval=0.2,
        plan_overrides={"idle_timeout": 30.0, "ping_interval": 0.5, "ping_timeout": 2.0},
    )
    for exchange, symbols in markets.items():
        c.subscribe(exchange, symbols, channels)
    rec = Recorder()
    c.on(rec)
    await c.start()
    return c, rec


def synced(c: Collector, markets: dict[str, list[str]]) -> bool:
    return all((b := c.book(ex, s)) is not None and b.synced for ex, syms in markets.items() for s in syms)


def resynced(rec: Recorder, reason: str) -> set[str]:
    return {e.symbol for e in rec.of(Resync) if e.reason == reason and e.symbol is not None}


async def truth(c: Collector, sim: Simulator, markets: dict[str, list[str]]) -> None:
    sim.pause()
    try:
        await compare_books(c, sim, markets)
    finally:
        sim.resume()


async def test_spot_books_survive_hostile_frames_checksums_drops_and_stalls() -> None:
    """The conformance scenario for Kraken spot, but for the sequence gap its books cannot show."""
    async with Simulator(SPOT, seed=21, tick_interval=0.02) as sim:
        c, rec = await collect(sim, SPOT, ["trades", "ticker", "book"])
        try:
            await wait_for(lambda: synced(c, SPOT), timeout=15)
            await truth(c, sim, SPOT)
            assert rec.of(Error) == []

            hostile = [frame for frame, _ in sim.hostile_frames("kraken", "BTC/USD")]
            sim.send_raw("kraken", hostile)
            await wait_for(lambda: len(rec.of(Error)) >= len(hostile), timeout=10)
            await asyncio.sleep(0.3)
            assert len(rec.of(Error)) == len(hostile)

            sim.inject("kraken", Fault.CHECKSUM, symbol="BTC/USD")
            await wait_for(lambda: "BTC/USD" in resynced(rec, "checksum"), timeout=10)
            assert "ETH/USD" not in resynced(rec, "checksum")
            await wait_for(lambda: synced(c, SPOT), timeout=15)
            await truth(c, sim, SPOT)

            sim.inject("kraken", Fault.ABRUPT_CLOSE)
            await wait_for(lambda: set(SPOT["kraken"]) <= resynced(rec, "reconnect"), timeout=10)
            await wait_for(lambda: synced(c, SPOT), timeout=15)
            await truth(c, sim, SPOT)

            c.adapter("kraken").book_stale_after = 1.0
            sim.inject("kraken", Fault.STALL, seconds=2.5)
            await wait_for(lambda: set(SPOT["kraken"]) <= resynced(rec, "stale"), timeout=5)
            await wait_for(lambda: synced(c, SPOT), timeout=15)
            await truth(c, sim, SPOT)
            assert rec.of(Trade, "kraken")
            assert rec.of(Ticker, "kraken")
            assert len(rec.of(Disconnected)) == 1
        finally:
            await c.stop()


async def test_trades_missed_while_reconnecting_come_with_the_trade_snapshot() -> None:
    """v2 trades are subscribed with their snapshot: across a dropped connection every trade
    id arrives exactly once, in order, the ones traded while it was down included."""
    markets = {"kraken": ["BTC/USD"]}
    async with Simulator(markets, seed=5, tick_interval=0.05) as sim:
        # Reconnect after 0.6 s (about twelve market steps), short of Kraken's 50 recent trades.
        c = Collector(endpoints={"kraken": sim.endpoints("kraken")}, queue_size=0, delays=lambda: itertools.repeat(0.6))
        c.subscribe("kraken", markets["kraken"], ["trades"])
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            await wait_for(lambda: len(rec.of(Trade)) >= 60, timeout=15)
            sim.inject("kraken", Fault.ABRUPT_CLOSE)
            await wait_for(lambda: len(rec.of(Disconnected)) == 1, timeout=10)
            before = len(rec.of(Trade))
            await wait_for(lambda: len(rec.of(Trade)) >= before + 30, timeout=15)
        finally:
            await c.stop()
    ids = [int(t.id) for t in rec.of(Trade)]
    # The first subscription's snapshot starts the list with up to 50 trades from before it.
    assert ids == list(range(ids[0], ids[0] + len(ids)))
    assert c.adapter("kraken").stats["ignored.trade_snapshot"] > 0  # the second snapshot repeated some
    assert rec.of(Error) == []


async def test_depth_10_books_are_truncated_like_krakens(monkeypatch: pytest.MonkeyPatch) -> None:
    """At depth 10 levels pushed out get no delete; the truncated book equals what Kraken publishes."""
    monkeypatch.setattr(KrakenAdapter, "book_depth", 10)
    async with Simulator(SPOT, seed=3, tick_interval=0.02) as sim:
        c, rec = await collect(sim, SPOT, ["book"])
        try:
            await wait_for(lambda: synced(c, SPOT), timeout=15)
            await asyncio.sleep(1.0)  # about fifty updates, many of them pushing levels out
            sim.pause()
            try:
                for symbol in SPOT["kraken"]:
                    bids, asks, _ = sim.true_book("kraken", symbol, 10)

                    def equal(s: str = symbol, b: Any = bids, a: Any = asks) -> bool:
                        book = c.book("kraken", s)
                        return book is not None and (book.bids(), book.asks()) == (b, a)

                    await wait_for(equal)
                    assert len(bids) == len(asks) == 10
            finally:
                sim.resume()
            assert resynced(rec, "checksum") == set()
            assert c.adapter("kraken").books.stats["checksum_ok"] > 20
        finally:
            await c.stop()


async def test_v1_books_over_real_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pointed at the v1 address the adapter speaks v1: depth-10 books, a bad CRC rebuilt with v1 requests."""
    monkeypatch.setattr(KrakenAdapter, "book_depth", 10)
    async with Simulator(SPOT, seed=9, tick_interval=0.02) as sim:
        v2 = sim.endpoints("kraken")
        c = Collector(
            endpoints={"kraken": Endpoints(ws=v2.ws.removesuffix("v2"), rest=v2.rest)},
            queue_size=0,
            delays=quick_delays,
            stable_after=0.5,
            check_interval=0.2,
            plan_overrides={"idle_timeout": 30.0, "ping_interval": 0.5, "ping_timeout": 2.0},
        )
        c.subscribe("kraken", SPOT["kraken"], ["trades", "ticker", "book", "candles"])
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            await wait_for(lambda: synced(c, SPOT), timeout=15)
            sim.inject("kraken", Fault.CHECKSUM, symbol="ETH/USD")
            await wait_for(lambda: "ETH/USD" in resynced(rec, "checksum"), timeout=10)
            await wait_for(lambda: synced(c, SPOT), timeout=15)
            sim.pause()
            try:
                for symbol in SPOT["kraken"]:
                    bids, asks, _ = sim.true_book("kraken", symbol, 10)

                    def equal(s: str = symbol, b: Any = bids, a: Any = asks) -> bool:
                        book = c.book("kraken", s)
                        return book is not None and (book.bids(), book.asks()) == (b, a)

                    await wait_for(equal)
            finally:
                sim.resume()
            assert rec.of(Trade) and rec.of(Ticker)
            assert rec.of(Error) == []
            assert resynced(rec, "checksum") == {"ETH/USD"}
        finally:
            await c.stop()


async def test_futures_funding_liquidations_and_gap() -> None:
    """Kraken Futures: tickers, derivative tickers and liquidations flow; a skipped ``seq`` rebuilds one book."""
    markets = {"kraken_futures": ["BTC/USD:BTC", "BTC/USD:USD"]}
    async with Simulator(markets, seed=8, tick_interval=0.02) as sim:
        c, rec = await collect(sim, markets, ["trades", "ticker", "book", "funding", "liquidations"])
        try:
            await wait_for(lambda: synced(c, markets), timeout=15)
            sim.inject("kraken_futures", Fault.GAP, symbol="BTC/USD:USD")
            await wait_for(lambda: "BTC/USD:USD" in resynced(rec, "gap"), timeout=10)
            assert resynced(rec, "gap") == {"BTC/USD:USD"}
            await wait_for(lambda: synced(c, markets), timeout=15)
            await wait_for(lambda: len(rec.of(Liquidation)) > 0 and len(rec.of(DerivativeTicker)) >= 2, timeout=15)
            await truth(c, sim, markets)
            funding = rec.of(DerivativeTicker)[-1]
            assert funding.funding_rate == 1.25e-05
            inverse = [t for t in rec.of(Trade) if t.symbol == "BTC/USD:BTC"]
            assert inverse and all(t.amount < 1.0 for t in inverse)  # dollars converted to bitcoin
            assert rec.of(Error) == []
        finally:
            await c.stop()


async def test_collector_run_against_the_simulator() -> None:
    """``collector run kraken:BTC/USD kraken_futures:BTC/USD:BTC`` prints both exchanges' events."""
    async with Simulator({"kraken": ["BTC/USD"], "kraken_futures": ["BTC/USD:BTC"]}, seed=5, tick_interval=0.05) as sim:
        flags = []
        for exchange in ("kraken", "kraken_futures"):
            ep = sim.endpoints(exchange)
            flags += ["--endpoint", f"{exchange}={ep.ws},{ep.rest}"]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "collector",
            "--no-uvloop",
            "run",
            "kraken:BTC/USD",
            "kraken_futures:BTC/USD:BTC",
            "--duration",
            "2",
            *flags,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    seen = {(line["exchange"], line["type"]) for line in map(orjson.loads, out.splitlines())}
    for exchange in ("kraken", "kraken_futures"):
        assert {(exchange, "book"), (exchange, "trade"), (exchange, "ticker")} <= seen
    assert ("kraken", "candle") in seen
    assert not any(kind == "error" for _, kind in seen)
