"""The command line against the simulator: `collector run`, and `record` followed by `replay`."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson

import collector
from collector.models import Book, Trade
from collector.simulator import Simulator


async def run_cli(*args: str, timeout: float = 60.0) -> tuple[int, bytes, bytes]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "collector",
        "--no-uvloop",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out, err


async def test_run_prints_json_lines_with_book_top() -> None:
    """`collector run ... --book-top 3` prints trades and book events that carry the top 3 levels."""
    async with Simulator({"binance": ["BTC/USDT"]}, seed=5, tick_interval=0.05) as sim:
        ep = sim.endpoints("binance")
        code, out, err = await run_cli(
            "run",
            "binance:BTC/USDT",
            "--channels",
            "trades,book",
            "--book-top",
            "3",
            "--duration",
            "2",
            "--endpoint",
            f"binance={ep.ws},{ep.rest}",
        )
    assert code == 0, err.decode()
    lines = [orjson.loads(line) for line in out.splitlines()]
    types = {line["type"] for line in lines}
    assert {"connected", "trade", "book", "disconnected"} <= types
    books = [line for line in lines if line["type"] == "book"]
    assert books[0]["snapshot"] is True
    for book in books:
        assert len(book["top"]["bids"]) == 3 and len(book["top"]["asks"]) == 3
        assert book["top"]["bids"][0][0] < book["top"]["asks"][0][0]


async def test_record_then_replay_reproduces_the_session(tmp_path: Path) -> None:
    """A recorded live session replays into the same trades and a synced book."""
    path = tmp_path / "session.jsonl.zst"
    async with Simulator({"binance": ["BTC/USDT"]}, seed=6, tick_interval=0.05) as sim:
        ep = sim.endpoints("binance")
        code, _, err = await run_cli(
            "record",
            "binance:BTC/USDT",
            "--channels",
            "trades,book",
            "-o",
            str(path),
            "--duration",
            "2",
            "--endpoint",
            f"binance={ep.ws},{ep.rest}",
        )
    assert code == 0, err.decode()
    frames = collector.read_capture(path)
    kinds = {f.kind for f in frames}
    assert kinds == {"header", "connect", "send", "recv", "http"}
    recorded_trades = sum(1 for f in frames if f.kind == "recv" and "@aggTrade" in str(f.data))
    replay = collector.Replay(frames, exchange="binance")
    events = list(replay)
    trades = [e for e in events if isinstance(e, Trade)]
    assert len(trades) == recorded_trades > 0
    assert any(isinstance(e, Book) and e.snapshot for e in events)
    book = replay.adapter.book("BTC/USDT")
    assert book is not None and book.synced and not book.crossed()
    assert replay.stats["unanswered_requests"] == 0
