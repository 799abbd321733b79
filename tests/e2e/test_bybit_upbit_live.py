"""End to end over loopback websockets: the simulator speaking Bybit v5 and Upbit, the real adapters, the Collector.

Nothing is mocked. Bybit runs spot, linear and inverse (one socket each, snapshots and
deltas on the stream, JSON pings); Upbit one socket of binary SIMPLE frames with full
book snapshots. Timeouts are shrunk so faults are detected in about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import websockets

from collector import Collector, Connected, Disconnected, Error, Resync, Ticker, Trade
from collector.models import Book
from collector.simulator import Fault, Simulator
from tests.e2e import helpers
from tests.e2e.helpers import FAST, Recorder, start_collector, wait_for

MARKETS = {"bybit": ["BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC"], "upbit": ["BTC/KRW", "ETH/KRW"]}
NATIVE = {"BTC/USDT": ("spot", "BTCUSDT"), "BTC/USDT:USDT": ("linear", "BTCUSDT"), "BTC/USD:BTC": ("inverse", "BTCUSD")}


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(MARKETS, seed=11, tick_interval=0.05) as s:
        yield s


async def start(sim: Simulator, **overrides: Any) -> tuple[Collector, Recorder]:
    return await start_collector(sim, MARKETS, plan_overrides=FAST | overrides)


def synced(c: Collector) -> bool:
    return helpers.synced(c, MARKETS)


async def books_equal_truth(c: Collector, sim: Simulator) -> None:
    await helpers.books_equal_truth(c, sim, MARKETS)


async def raw_trades(sim: Simulator, seen: dict[tuple[str, str], dict[str, Any]]) -> None:
    """A plain client per Bybit category and one Upbit DEFAULT client, recording trades by id."""

    async def bybit(category: str, native: str) -> None:
        async with websockets.connect(f"{sim.endpoints('bybit').ws}/{category}") as ws:
            await ws.send(orjson.dumps({"op": "subscribe", "args": [f"publicTrade.{native}"]}).decode())
            async for frame in ws:
                msg = orjson.loads(frame)
                for t in msg.get("data", ()) if msg.get("topic") else ():
                    seen[category, t["i"]] = t

    async def upbit() -> None:
        async with websockets.connect(sim.endpoints("upbit").ws) as ws:
            codes = ["KRW-BTC", "KRW-ETH"]
            await ws.send(orjson.dumps([{"ticket": "raw"}, {"type": "trade", "codes": codes}]).decode())
            async for frame in ws:
                t = orjson.loads(frame)
                seen["upbit", str(t["sequential_id"])] = t

    await asyncio.gather(*(bybit(*where) for where in NATIVE.values()), upbit())


async def test_stream_and_books_match_simulator(sim: Simulator) -> None:
    """Trades, tickers and books on Bybit spot/linear/inverse and Upbit; fields equal the wire, books the truth."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    raw = asyncio.create_task(raw_trades(sim, seen))
    c, rec = await start(sim)
    try:
        await wait_for(lambda: synced(c) and len(rec.of(Trade, "bybit")) >= 20 and len(rec.of(Trade, "upbit")) >= 10)
        sim.pause()
        try:
            await helpers.compare_books(c, sim, MARKETS)
            # The last Bybit ticker shows the true best bid/offer (spot takes it from orderbook.1).
            for symbol in MARKETS["bybit"]:
                bids, asks, _ = sim.true_book("bybit", symbol)
                best = (*max(bids.items()), *min(asks.items()))

                def shows_best(sym: str = symbol, want: Any = best) -> bool:
                    last = [e for e in rec.of(Ticker, "bybit") if e.symbol == sym][-1]
                    return (last.bid, last.bid_size, last.ask, last.ask_size) == want

                await wait_for(shows_best)
        finally:
            sim.resume()
        assert len(rec.of(Connected)) == 4  # bybit spot, linear, inverse; upbit
        assert rec.of(Error) == [] and rec.of(Resync) == []
        assert {e.symbol for e in rec.of(Ticker)} == set(MARKETS["bybit"] + MARKETS["upbit"])
        # Every trade is the wire's trade, converted exactly (inverse sizes are USD contracts).
        matched = 0
        for t in rec.of(Trade):
            category = NATIVE[t.symbol][0] if t.exchange == "bybit" else "upbit"
            w = seen.get((category, t.id))
            if w is None:
                continue  # traded before the plain client subscribed
            matched += 1
            if t.exchange == "bybit":
                price, size = float(w["p"]), float(w["v"])
                expected = (w["T"] / 1000, price, size / price if category == "inverse" else size, w["S"].lower())
            else:
                side = "buy" if w["ask_bid"] == "BID" else "sell"
                expected = (w["trade_timestamp"] / 1000, w["trade_price"], w["trade_volume"], side)
            assert (t.timestamp, t.price, t.amount, t.side) == expected, t
        assert matched >= 10
        ids = [(t.exchange, t.symbol, t.id) for t in rec.of(Trade)]
        assert len(ids) == len(set(ids))
    finally:
        raw.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await raw
        await c.stop()


async def test_gap_resyncs_only_that_symbol(sim: Simulator) -> None:
    """A skipped u on linear BTCUSDT resyncs BTC/USDT:USDT alone (not spot BTCUSDT), and the book is right again."""
    c, rec = await start(sim)
    try:
        await wait_for(lambda: synced(c))
        sim.inject("bybit", Fault.GAP, symbol="BTC/USDT:USDT")
        await wait_for(lambda: len(rec.of(Resync)) == 1)
        (resync,) = rec.of(Resync)
        assert (resync.exchange, resync.symbol, resync.reason) == ("bybit", "BTC/USDT:USDT", "gap")
        await wait_for(lambda: synced(c) and c.adapter("bybit").stats["ignored.ack"] >= 5)
        snapshots = [(e.exchange, e.symbol) for e in rec.of(Book) if e.snapshot]
        assert snapshots.count(("bybit", "BTC/USDT:USDT")) == 2
        assert snapshots.count(("bybit", "BTC/USDT")) == 1
        assert snapshots.count(("bybit", "BTC/USD:BTC")) == 1
        await books_equal_truth(c, sim)
        assert len(rec.of(Connected)) == 4  # the sockets were kept
        assert rec.of(Error) == []
    finally:
        await c.stop()


async def test_abrupt_close_reconnects_resubscribes_and_rebuilds(sim: Simulator) -> None:
    """Dropped sockets on both exchanges are reported, reconnected, resubscribed, and every book rebuilt."""
    c, rec = await start(sim)
    try:
        await wait_for(lambda: synced(c))
        sim.inject("bybit", Fault.ABRUPT_CLOSE)
        sim.inject("upbit", Fault.ABRUPT_CLOSE)
        await wait_for(lambda: len(rec.of(Connected)) == 8)
        assert sorted(e.conn for e in rec.of(Disconnected)) == [
            "bybit.inverse.0",
            "bybit.linear.0",
            "bybit.spot.0",
            "upbit.0",
        ]
        assert sorted((e.exchange, e.symbol) for e in rec.of(Resync)) == sorted(
            (ex, s) for ex, syms in MARKETS.items() for s in syms
        )
        assert {e.reason for e in rec.of(Resync)} == {"reconnect"}
        await wait_for(lambda: synced(c))
        before = {ex: len(rec.of(Trade, ex)) for ex in MARKETS}
        await wait_for(lambda: all(len(rec.of(Trade, ex)) > n for ex, n in before.items()))
        await books_equal_truth(c, sim)
        assert rec.of(Error) == []
    finally:
        await c.stop()


async def test_app_level_ping_is_answered_and_ignored(sim: Simulator) -> None:
    """Bybit's {"op":"ping"} (every 0.1 s here) gets pong replies the adapter counts, never errors."""
    c, rec = await start(sim, app_ping_interval=0.1)
    try:
        await wait_for(lambda: c.adapter("bybit").stats["ignored.pong"] >= 9)
        assert rec.of(Error) == [] and rec.of(Disconnected) == []
        assert synced(c)
    finally:
        await c.stop()


async def test_malformed_frame_is_an_error_event_and_nothing_else_is_lost(sim: Simulator) -> None:
    """A garbage frame gives one error event per connection (text on Bybit, binary on Upbit); books stay right."""
    c, rec = await start(sim)
    try:
        await wait_for(lambda: synced(c))
        sim.inject("bybit", Fault.MALFORMED)
        sim.inject("upbit", Fault.MALFORMED)
        await wait_for(lambda: len(rec.of(Error)) == 4)
        assert sorted((e.exchange, e.reason, e.conn) for e in rec.of(Error)) == [
            ("bybit", "malformed", "bybit.inverse.0"),
            ("bybit", "malformed", "bybit.linear.0"),
            ("bybit", "malformed", "bybit.spot.0"),
            ("upbit", "malformed", "upbit.0"),
        ]
        assert rec.of(Resync) == [] and rec.of(Disconnected) == []
        await books_equal_truth(c, sim)
    finally:
        await c.stop()


async def test_cli_run_against_both_exchanges(sim: Simulator) -> None:
    """`collector run bybit:... upbit:... --endpoint ... --duration 3` prints trades, tickers and books of both.

    ``--channels`` leaves out candles: the Upbit adapter offers no candle channel.
    """
    by, up = sim.endpoints("bybit"), sim.endpoints("upbit")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "collector",
        "--no-uvloop",
        "run",
        "bybit:BTC/USDT,BTC/USDT:USDT",
        "upbit:BTC/KRW",
        "--channels",
        "trades,ticker,book",
        "--endpoint",
        f"bybit={by.ws},{by.rest}",
        "--endpoint",
        f"upbit={up.ws},{up.rest}",
        "--duration",
        "3",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    lines = [orjson.loads(line) for line in out.splitlines()]
    connected = sorted(line["conn"] for line in lines if line["type"] == "connected")
    assert connected == ["bybit.linear.0", "bybit.spot.0", "upbit.0"]
    kinds = {(line["type"], line.get("symbol")) for line in lines}
    for symbol in ("BTC/USDT", "BTC/USDT:USDT", "BTC/KRW"):
        assert {("trade", symbol), ("book", symbol), ("ticker", symbol)} <= kinds, symbol
    assert not [line for line in lines if line["type"] == "error"]
    # Books are only reset when the run ends and the sockets close.
    assert {line["reason"] for line in lines if line["type"] == "resync"} <= {"reconnect"}
