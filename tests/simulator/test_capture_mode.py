"""Capture-fed mode with the shared Binance recording: exact frames, recorded REST, pacing, faults."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
import websockets

from collector.actions import RestRequest
from collector.capture import Frame, read_capture
from collector.errors import CaptureError, UsageError
from collector.exchanges import Subscription, create
from collector.simulator import Fault, Simulator
from tests.conftest import recording
from tests.simulator.helpers import get, subscribe

DEPTH = "nknusdt@depth@100ms"


@pytest.fixture
def path() -> Path:
    return recording("binance.jsonl.zst")


def recorded(frames: list[Frame], *streams: str) -> list[str]:
    """Recorded frame texts of ``streams``, in time order."""
    out = []
    for f in sorted(frames, key=lambda f: f.ts):
        if f.kind == "recv" and orjson.loads(f.data).get("stream") in streams:
            out.append(str(f.data))
    return out


async def test_plays_exactly_the_subscribed_frames(path: Path) -> None:
    """A subscriber gets the recorded frames of its streams, byte for byte and in order, and nothing else."""
    frames = read_capture(path)
    expected = recorded(frames, DEPTH, "nknusdt@aggTrade")
    async with Simulator.from_capture(path) as sim:
        assert sim.exchanges == ["binance"]
        async with websockets.connect(sim.endpoints("binance").ws + "/stream") as ws:
            assert await subscribe(ws, [DEPTH, "nknusdt@aggTrade"]) == {"result": None, "id": 1}
            got = [await asyncio.wait_for(ws.recv(), 2.0) for _ in expected]
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.1)
    assert got == expected and len(got) == 151


async def test_rest_answers_are_the_recorded_bodies(path: Path) -> None:
    """exchangeInfo and depth return the recorded bodies; what was not recorded is a 404."""
    frames = read_capture(path)
    bodies = {f.url: str(f.data).encode() for f in frames if f.kind == "http"}
    async with Simulator.from_capture(frames) as sim:
        rest = sim.endpoints("binance").rest
        info = await get(rest + "/api/v3/exchangeInfo")
        depth = await get(rest + "/api/v3/depth?symbol=BLZETH&limit=1000")
        missing = await get(rest + "/api/v3/depth?symbol=BTCUSDT&limit=1000")
        with pytest.raises(UsageError, match="capture-fed"):
            sim.true_book("binance", "NKN/USDT")
    assert (info[0], info[2]) == (200, bodies["https://api.binance.com/api/v3/exchangeInfo"])
    assert (depth[0], depth[2]) == (200, bodies["https://api.binance.com/api/v3/depth?symbol=BLZETH&limit=1000"])
    assert missing[0] == 404


async def test_speed_paces_the_playback(path: Path) -> None:
    """speed=100 spaces frames by a hundredth of their recorded gaps."""
    frames = read_capture(path)
    depth = [f for f in sorted(frames, key=lambda f: f.ts) if f.kind == "recv" and DEPTH in str(f.data)][:12]
    async with Simulator.from_capture(frames, speed=100.0) as sim:
        ws = await websockets.connect(sim.endpoints("binance").ws + "/stream")
        await subscribe(ws, [DEPTH])
        loop = asyncio.get_running_loop()
        await ws.recv()
        start = loop.time()
        for _ in depth[1:]:
            await ws.recv()
        elapsed = loop.time() - start
        await ws.close()
    recorded_span = (depth[-1].ts - depth[0].ts) / 100.0
    assert recorded_span - 0.01 <= elapsed <= recorded_span + 0.1


async def test_gap_withholds_one_recorded_diff(path: Path) -> None:
    """GAP by unified symbol (mapped through the recorded exchangeInfo) drops that symbol's next diff only."""
    expected = recorded(read_capture(path), DEPTH)
    async with Simulator.from_capture(path) as sim:
        ws = await websockets.connect(sim.endpoints("binance").ws + "/stream")
        sim.inject("binance", Fault.GAP, symbol="NKN/USDT")
        await subscribe(ws, [DEPTH])
        got = [await asyncio.wait_for(ws.recv(), 2.0) for _ in expected[1:]]
        await ws.close()
    assert got == expected[1:]
    assert sim.stats["dropped.gap"] == 1


async def test_adapter_syncs_from_the_recording(path: Path) -> None:
    """The real adapter, fed over sockets from the recording, joins the recorded snapshot to the diffs."""
    last_u = orjson.loads(recorded(read_capture(path), DEPTH)[-1])["data"]["u"]
    async with Simulator.from_capture(path) as sim:
        adapter = create("binance", endpoints=sim.endpoints("binance"))
        for request in adapter.instrument_requests():
            status, _, body = await get(request.url)
            adapter.on_http(request, status, body, 0.0)
        (plan,) = adapter.plan([Subscription("NKN/USDT", "book")])
        async with websockets.connect(plan.url) as ws:
            for frame in plan.subscribe:
                await ws.send(frame)
            while True:
                try:
                    frame = await asyncio.wait_for(ws.recv(), 0.2)
                except TimeoutError:
                    break
                for item in adapter.parse(plan.conn, str(frame), 0.0):
                    if isinstance(item, RestRequest):
                        status, _, body = await get(item.url)
                        adapter.on_http(item, status, body, 0.0)
    book = adapter.book("NKN/USDT")
    assert book is not None and book.synced and not book.crossed()
    assert book.sequence == last_u
    assert adapter.books.stats["snapshots"] == 1


def test_capture_without_frames_is_refused() -> None:
    """A capture with nothing to play is a CaptureError."""
    frames = [Frame("connect", "c", 1.0, "", "wss://stream.binance.com:9443/stream")]
    with pytest.raises(CaptureError, match="no received frames"):
        Simulator.from_capture(frames)
