"""End to end over loopback websockets: the simulator speaking OKX v5, the real adapter, the Collector.

Nothing is mocked: spot, a linear and an inverse swap on /ws/v5/public (books with seqId
chains and checksums, tickers, trades, mark/index/funding/open interest, liquidations) and
candles on /ws/v5/business, with OKX's text ping. Timeouts are shrunk so faults show in
about a second.
"""

from __future__ import annotations

import asyncio
import sys

import orjson
import pytest

from collector import Collector, Connected, Error, Resync, Ticker, Trade
from collector.exchanges.okx.sim import OkxWire
from collector.models import Book, Candle, DerivativeTicker, Liquidation
from collector.simulator import Fault, Simulator
from tests.e2e import helpers
from tests.e2e.helpers import FAST, Recorder, quick_delays, wait_for

SYMBOLS = ["BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC"]
MARKETS = {"okx": SYMBOLS}
CONTRACTS = {"BTC/USDT:USDT": 0.01, "BTC/USD:BTC": 100.0}


async def start(sim: Simulator) -> tuple[Collector, Recorder]:
    c = Collector(
        endpoints={"okx": sim.endpoints("okx")},
        queue_size=0,
        delays=quick_delays,
        stable_after=0.5,
        plan_overrides=FAST | {"idle_timeout": 5.0},
    )
    c.subscribe("okx", SYMBOLS, ["trades", "ticker", "book", "candles"])
    c.subscribe("okx", list(CONTRACTS), ["funding", "liquidations"])
    rec = Recorder()
    c.on(rec)
    await c.start()
    return c, rec


def synced(c: Collector) -> bool:
    return helpers.synced(c, MARKETS)


async def test_stream_books_and_derivatives_match_the_simulator() -> None:
    """Books equal the truth in contracts; trades are base units; derivative tickers and candles flow."""
    async with Simulator(MARKETS, seed=7, tick_interval=0.03) as sim:
        c, rec = await start(sim)
        try:

            def flowing() -> bool:
                funded = {e.symbol for e in rec.of(DerivativeTicker) if e.funding_rate is not None}
                return synced(c) and len(rec.of(Trade)) >= 30 and funded == set(CONTRACTS) and bool(rec.of(Candle))

            await wait_for(flowing, timeout=15)
            await helpers.books_equal_truth(c, sim, MARKETS)
            assert sorted(e.conn for e in rec.of(Connected)) == ["okx.business.0", "okx.public.0"]
            assert rec.of(Error) == [] and rec.of(Resync) == []
            assert {e.symbol for e in rec.of(Ticker)} == set(SYMBOLS)
            assert {e.symbol for e in rec.of(Candle)} == set(SYMBOLS)
            for trade in rec.of(Trade):
                face = CONTRACTS.get(trade.symbol)
                if face == 100.0:  # inverse: whole 100 USD contracts
                    contracts = trade.amount * trade.price / face
                    assert abs(contracts - round(contracts)) < 1e-6, trade
                elif face is not None:  # linear: lots of 0.01 contract of 0.01 BTC
                    assert round(trade.amount, 4) == trade.amount, trade
            for symbol in CONTRACTS:
                last = [e for e in rec.of(DerivativeTicker) if e.symbol == symbol][-1]
                assert None not in (last.mark_price, last.index_price, last.funding_rate, last.open_interest)
                assert last.next_funding_time is not None and last.next_funding_time % 28800 == 0
            assert {e.symbol for e in rec.of(Liquidation)} <= set(CONTRACTS)
            ids = [(t.symbol, t.id) for t in rec.of(Trade)]
            assert len(ids) == len(set(ids))
        finally:
            await c.stop()


async def test_gap_and_checksum_resync_only_that_book(monkeypatch: pytest.MonkeyPatch) -> None:
    """A withheld update and a corrupted checksum on the linear swap rebuild its book alone, on the
    same socket (books with the CRC32 OKX sent before it fixed the field to 0)."""
    monkeypatch.setattr(OkxWire, "checksums", True)
    async with Simulator(MARKETS, seed=8, tick_interval=0.03) as sim:
        c, rec = await start(sim)
        try:
            await wait_for(lambda: synced(c), timeout=15)
            for fault, reason in ((Fault.GAP, "gap"), (Fault.CHECKSUM, "checksum")):
                sim.inject("okx", fault, symbol="BTC/USDT:USDT")
                await wait_for(lambda reason=reason: any(e.reason == reason for e in rec.of(Resync)), timeout=10)
                await wait_for(lambda: synced(c), timeout=10)
            assert sorted((e.symbol, e.reason) for e in rec.of(Resync)) == [
                ("BTC/USDT:USDT", "checksum"),
                ("BTC/USDT:USDT", "gap"),
            ]
            snapshots = [e.symbol for e in rec.of(Book) if e.snapshot]
            assert (snapshots.count("BTC/USDT:USDT"), snapshots.count("BTC/USDT")) == (3, 1)
            await helpers.books_equal_truth(c, sim, MARKETS)
            assert len(rec.of(Connected)) == 2  # the sockets were kept: OKX rebuilds a book by resubscribing
            assert rec.of(Error) == []
        finally:
            await c.stop()


async def test_books_join_the_rest_book_when_the_stream_pushes_no_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    """OKX's announced change ("Delist initial snapshot ... use the GET / Order book endpoint"):
    no snapshot on subscribe; the REST book's seqId is joined to the buffered updates, at the
    start and after a gap, and the books equal the truth."""
    monkeypatch.setattr(OkxWire, "stream_snapshots", False)
    async with Simulator(MARKETS, seed=10, tick_interval=0.03) as sim:
        c, rec = await start(sim)
        try:
            await wait_for(lambda: synced(c), timeout=15)
            sim.inject("okx", Fault.GAP, symbol="BTC/USDT:USDT")
            await wait_for(lambda: any(e.reason == "gap" for e in rec.of(Resync)), timeout=10)
            await wait_for(lambda: synced(c), timeout=10)
            await helpers.books_equal_truth(c, sim, MARKETS)
            assert rec.of(Error) == []
            assert len(rec.of(Connected)) == 2  # no resubscription: nothing on the stream would answer it
            assert c.adapter("okx").stats["rest_book_without_seq"] == 0
        finally:
            await c.stop()


async def test_cli_run_against_the_simulator() -> None:
    """`collector run okx:BTC/USDT,BTC/USDT:USDT --endpoint ... --duration 3` prints both symbols' data."""
    async with Simulator(MARKETS, seed=9, tick_interval=0.05) as sim:
        okx = sim.endpoints("okx")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "collector",
            "--no-uvloop",
            "run",
            "okx:BTC/USDT,BTC/USDT:USDT",
            "--endpoint",
            f"okx={okx.ws},{okx.rest}",
            "--duration",
            "3",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    lines = [orjson.loads(line) for line in out.splitlines()]
    assert sorted(line["conn"] for line in lines if line["type"] == "connected") == ["okx.business.0", "okx.public.0"]
    kinds = {(line["type"], line.get("symbol")) for line in lines}
    for symbol in ("BTC/USDT", "BTC/USDT:USDT"):
        assert {("trade", symbol), ("book", symbol), ("ticker", symbol), ("candle", symbol)} <= kinds, symbol
    assert not [line for line in lines if line["type"] == "error"]
    assert {line["reason"] for line in lines if line["type"] == "resync"} <= {"reconnect"}
