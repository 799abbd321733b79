"""Capture-fed mode with the shared Bybit and Upbit recordings, over loopback sockets.

A plain client gets exactly the recorded frames of what it subscribed (Bybit per
category, Upbit as binary frames), and a real Collector ends with the books and trades
that ``collector.Replay`` of the same capture produces.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets

import collector
from collector import Collector, Trade
from collector.capture import Frame, read_capture
from collector.simulator import Fault, Simulator
from tests.conftest import recording
from tests.e2e.helpers import Recorder, wait_for
from tests.simulator.helpers import get

BYBIT = {
    "bybit": ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "DOGE/USDT:USDT", "BTC/USDT", "ETH/USDT"],
}
UPBIT = {"upbit": ["LAMB/KRW", "WAVES/KRW", "XTZ/BTC", "ITAM/BTC", "PAX/BTC"]}


def recorded_on(frames: list[Frame], path_suffix: str, topics: set[str]) -> list[str | bytes]:
    """Recorded frames of ``topics`` on the connections whose address ends with ``path_suffix``, in time order."""
    conns = {f.conn for f in frames if f.kind == "connect" and f.url.endswith(path_suffix)}
    out: list[str | bytes] = []
    for f in sorted(frames, key=lambda f: f.ts):
        if f.kind == "recv" and f.conn in conns and orjson.loads(f.data).get("topic") in topics:
            out.append(f.data)
    return out


async def drain(ws: websockets.ClientConnection, count: int) -> list[str | bytes]:
    """``count`` frames, then a check that nothing else arrives."""
    got = [await asyncio.wait_for(ws.recv(), 2.0) for _ in range(count)]
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), 0.2)
    return got


async def test_bybit_plays_each_category_its_own_frames() -> None:
    """orderbook.200.BTCUSDT on /spot and /linear gets that category's recorded frames, byte for byte."""
    frames = read_capture(recording("bybit.jsonl.zst"))
    linear = recorded_on(frames, "/linear", {"orderbook.200.BTCUSDT", "publicTrade.BTCUSDT"})
    spot = recorded_on(frames, "/spot", {"orderbook.200.BTCUSDT"})
    assert (len(linear), len(spot)) == (430, 300)
    async with Simulator.from_capture(frames) as sim:
        base = sim.endpoints("bybit").ws
        async with websockets.connect(base + "/linear") as lin, websockets.connect(base + "/spot") as sp:
            await lin.send('{"op":"subscribe","req_id":"1","args":["orderbook.200.BTCUSDT","publicTrade.BTCUSDT"]}')
            await sp.send('{"op":"subscribe","req_id":"2","args":["orderbook.200.BTCUSDT"]}')
            lin_ack = orjson.loads(await lin.recv())
            sp_ack = orjson.loads(await sp.recv())
            got_linear = await drain(lin, len(linear))
            got_spot = await drain(sp, len(spot))
    assert (lin_ack["op"], lin_ack["success"], lin_ack["req_id"]) == ("subscribe", True, "1")
    assert (sp_ack["op"], sp_ack["success"], sp_ack["ret_msg"]) == ("subscribe", True, "subscribe")
    assert got_linear == linear
    assert got_spot == spot


async def test_bybit_gap_by_unified_symbol_hits_one_category() -> None:
    """GAP on BTC/USDT:USDT withholds the next linear BTCUSDT delta only; spot BTCUSDT plays whole."""
    frames = read_capture(recording("bybit.jsonl.zst"))
    linear = recorded_on(frames, "/linear", {"orderbook.200.BTCUSDT"})
    spot = recorded_on(frames, "/spot", {"orderbook.200.BTCUSDT"})
    assert [orjson.loads(f)["type"] for f in linear[:2]] == ["snapshot", "delta"]
    async with Simulator.from_capture(frames) as sim:
        base = sim.endpoints("bybit").ws
        async with websockets.connect(base + "/linear") as lin, websockets.connect(base + "/spot") as sp:
            sim.inject("bybit", Fault.GAP, symbol="BTC/USDT:USDT")
            for ws in (lin, sp):
                await ws.send('{"op":"subscribe","args":["orderbook.200.BTCUSDT"]}')
                await ws.recv()
            got_linear = await drain(lin, len(linear) - 1)
            got_spot = await drain(sp, len(spot))
    # The first linear frame is the snapshot, which a GAP leaves alone; the delta after it goes.
    assert got_linear == [linear[0], *linear[2:]]
    assert got_spot == spot
    assert sim.stats["dropped.gap"] == 1


async def test_bybit_rest_answers_per_category() -> None:
    """Instrument listings are answered per category: recorded ones as recorded, the unrecorded inverse one empty."""
    frames = read_capture(recording("bybit.jsonl.zst"))
    bodies = {f.url.partition("category=")[2].partition("&")[0]: f.data for f in frames if f.kind == "http"}
    async with Simulator.from_capture(frames) as sim:
        rest = sim.endpoints("bybit").rest + "/v5/market/instruments-info"
        answers = {}
        for category in ("spot", "linear", "inverse"):
            status, _, body = await get(f"{rest}?category={category}&limit=1000")
            answers[category] = (status, body)
    assert answers["spot"] == (200, str(bodies["spot"]).encode())
    assert answers["linear"] == (200, str(bodies["linear"]).encode())
    inverse = orjson.loads(answers["inverse"][1])
    assert (answers["inverse"][0], inverse["retCode"], inverse["result"]["list"]) == (200, 0, [])


async def test_upbit_plays_binary_frames_of_the_request() -> None:
    """A trade + orderbook request for KRW-LAMB gets exactly its recorded binary frames; PING gets UP."""
    frames = read_capture(recording("upbit.jsonl.zst"))
    expected = [f.data for f in sorted(frames, key=lambda f: f.ts) if f.kind == "recv" and b'"cd":"KRW-LAMB"' in f.data]
    assert len(expected) == 386 and all(isinstance(d, bytes) for d in expected)
    request = [{"ticket": "t"}, {"type": "trade", "codes": ["KRW-LAMB"]}, {"type": "orderbook", "codes": ["KRW-LAMB"]}]
    async with Simulator.from_capture(frames) as sim, websockets.connect(sim.endpoints("upbit").ws) as ws:
        await ws.send(orjson.dumps([*request, {"format": "SIMPLE"}]).decode())
        got = await drain(ws, len(expected))
        await ws.send("PING")
        pong = await asyncio.wait_for(ws.recv(), 2.0)
    assert got == expected
    assert pong == b'{"status":"UP"}'


async def run_collector(path: Path, markets: dict[str, list[str]]) -> None:
    """A Collector on the capture-fed simulator ends with the books and trades of a replay of ``path``."""
    replay = collector.Replay(path)
    events = list(replay)
    ((exchange, symbols),) = markets.items()
    want_trades = trades_by_symbol([e for e in events if isinstance(e, Trade)])
    want_books = {s: book_levels(replay.adapter.book(s)) for s in symbols}
    assert all(want_books.values()) and sum(map(len, want_trades.values())) > 100
    async with Simulator.from_capture(path) as sim:
        c = Collector(endpoints={exchange: sim.endpoints(exchange)}, queue_size=0)
        c.subscribe(exchange, symbols, ["trades", "ticker", "book"])
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            books: dict[str, Any] = {}

            def caught_up() -> bool:
                books.update({s: book_levels(c.book(exchange, s)) for s in symbols})
                return books == want_books and trades_by_symbol(rec.of(Trade)) == want_trades

            # On a timeout the assertions below show what differs.
            with contextlib.suppress(AssertionError):
                await wait_for(caught_up, timeout=8.0)
        finally:
            # Stopping disconnects, which unsyncs the books (read above) and reports resyncs.
            live = list(rec.events)
            await c.stop()
    assert books == want_books
    assert trades_by_symbol(rec.of(Trade)) == want_trades
    assert not [e for e in live if isinstance(e, collector.Error | collector.Resync)]


async def test_collector_on_bybit_capture_ends_like_replay() -> None:
    """Spot and linear books and trades of the Bybit session equal those of collector.Replay."""
    await run_collector(recording("bybit.jsonl.zst"), BYBIT)


async def test_collector_on_upbit_capture_ends_like_replay() -> None:
    """Upbit books (full snapshots) and trades of the recorded session equal those of collector.Replay."""
    await run_collector(recording("upbit.jsonl.zst"), UPBIT)


def trades_by_symbol(trades: list[Trade]) -> dict[str, list[tuple[Any, ...]]]:
    """Each symbol's trades in arrival order, without the receipt time."""
    out: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for t in trades:
        out[t.symbol].append((t.id, t.price, t.amount, t.side, t.timestamp))
    return dict(out)


def book_levels(book: Any) -> tuple[dict[float, float], dict[float, float], Any] | None:
    """A synced book's levels and sequence, ``None`` if it is missing or not synced."""
    if book is None or not book.synced:
        return None
    return book.bids(), book.asks(), book.sequence
