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


async def _record(path: Path, ep_ws: str, ep_rest: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "collector",
        "record",
        "binance:BTC/USDT",
        "--channels",
        "trades,book",
        "-o",
        str(path),
        "--endpoint",
        f"binance={ep_ws},{ep_rest}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


async def _wait_for_size(path: Path, size: int, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while _size(path) < size:
        assert asyncio.get_running_loop().time() < deadline, "the recording did not grow"
        await asyncio.sleep(0.1)


async def test_record_stopped_with_sigterm_finishes_its_file(tmp_path: Path) -> None:
    """SIGTERM is Ctrl-C: the capture is finished and complete, the summary is printed."""
    import signal

    path = tmp_path / "s.jsonl.zst"
    async with Simulator({"binance": ["BTC/USDT"]}, seed=7, tick_interval=0.02) as sim:
        ep = sim.endpoints("binance")
        proc = await _record(path, ep.ws, ep.rest)
        await _wait_for_size(path, 2000)
        await asyncio.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()
    assert b"recorded" in err and b"stopped by SIGTERM" in err
    replay = collector.Replay(path)
    events = list(replay)
    assert replay.truncated is None
    assert any(isinstance(e, Trade) for e in events)


async def test_record_killed_outright_still_replays_up_to_its_last_flush(tmp_path: Path) -> None:
    """SIGKILL gives no chance to clean up: the complete zstd frames flushed every 2 s still replay,
    and replay reports where the file ends instead of failing."""
    import signal

    path = tmp_path / "s.jsonl.zst"
    async with Simulator({"binance": ["BTC/USDT"]}, seed=8, tick_interval=0.02) as sim:
        ep = sim.endpoints("binance")
        proc = await _record(path, ep.ws, ep.rest)
        await _wait_for_size(path, 2000)
        await asyncio.sleep(2.5)
        proc.send_signal(signal.SIGKILL)
        await asyncio.wait_for(proc.communicate(), 30)
    assert _size(path) > 2000
    replay = collector.Replay(path)
    events = list(replay)
    trades = [e for e in events if isinstance(e, Trade)]
    assert trades, "frames flushed before the kill replay"
    code, out, err = await run_cli("replay", str(path))
    assert code in (0, 1), err.decode()
    assert len([line for line in out.splitlines() if b'"type":"trade"' in line]) == len(trades)
    if replay.truncated is not None:
        assert code == 1 and b"warning" in err
        assert events[-1].type == "error"  # type: ignore[union-attr]


async def test_simulate_prints_flags_that_run_can_use() -> None:
    """`collector simulate` serves the exchanges and prints --endpoint flags; `collector run` with them gets data."""
    sim = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "collector",
        "simulate",
        "binance:BTC/USDT",
        "bybit:BTC/USDT:USDT",
        "--duration",
        "20",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert sim.stdout is not None
    flags: dict[str, str] = {}
    while len(flags) < 2:
        raw = await asyncio.wait_for(sim.stdout.readline(), 20)
        assert raw, "simulate ended before printing its flags"
        line = raw.decode().strip()
        if line.startswith("--endpoint "):
            value = line.removeprefix("--endpoint ")
            flags[value.partition("=")[0]] = value
    try:
        code, out, err = await run_cli(
            "run",
            "binance:BTC/USDT",
            "bybit:BTC/USDT:USDT",
            "--channels",
            "trades,book",
            "--duration",
            "3",
            "--endpoint",
            flags["binance"],
            "--endpoint",
            flags["bybit"],
        )
    finally:
        sim.terminate()
        await sim.communicate()
    assert code == 0, err.decode()
    seen = {(e["exchange"], e["type"]) for e in map(orjson.loads, out.splitlines())}
    assert {("binance", "trade"), ("binance", "book"), ("bybit", "trade"), ("bybit", "book")} <= seen


async def test_demo_fits_80_columns_and_shows_every_exchange() -> None:
    """`collector demo` runs offline, prints a view no wider than 80 columns and ends with synced books."""
    code, out, err = await run_cli("demo", "--duration", "5", timeout=90)
    assert code == 0, err.decode()
    text = out.decode()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "done:" in text and "synced books" in text
    for exchange in collector.EXCHANGES:
        assert f"{exchange} " in text, f"{exchange} missing from the demo"
