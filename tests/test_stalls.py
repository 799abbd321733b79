"""LoopStalls: how long the process was blocked after a given time, from late wake-ups."""

from __future__ import annotations

import asyncio
import time

from collector.book import SNAPSHOT, BookSync
from collector.models import Resync
from collector.stalls import STALL, LoopStalls


def test_allowance_counts_only_the_stalled_seconds_after_the_time_asked() -> None:
    stalls = LoopStalls()
    stalls.record(100.0, 3.0)  # blocked 97..100
    stalls.record(110.0, 1.0)  # blocked 109..110
    assert stalls.allowance(90.0) == 4.0
    assert stalls.allowance(98.0) == 3.0  # 98..100 and 109..110
    assert stalls.allowance(105.0) == 1.0
    assert stalls.allowance(110.0) == 0.0
    assert stalls.total == 4.0


def test_tasks_waking_late_from_one_block_record_one_stall() -> None:
    """Two periodic tasks see the same 3 s block with different lateness: one stall, their union."""
    stalls = LoopStalls()
    stalls.record(100.0, 2.5)  # this task was due at 97.5
    stalls.record(100.2, 3.1)  # this one at 97.1: the block began by then
    assert stalls.allowance(0.0) == stalls.total
    assert abs(stalls.total - 3.1) < 1e-9


def test_keeps_a_bounded_history() -> None:
    stalls = LoopStalls(keep=4)
    for i in range(100):
        stalls.record(10.0 * i, 1.0)
    assert stalls.allowance(0.0) == 4.0  # only the last four are known
    assert stalls.total == 100.0


async def test_sleep_records_a_wake_up_that_comes_late() -> None:
    stalls = LoopStalls()
    blocker = asyncio.get_running_loop().call_later(0.01, lambda: time.sleep(STALL + 0.3))
    woke = await stalls.sleep(0.02)
    blocker.cancel()
    assert woke <= time.time()
    assert stalls.total >= 0.3
    before = stalls.total
    await stalls.sleep(0.01)  # on time: nothing more
    assert stalls.total == before


def test_stale_books_subtract_the_stalled_seconds() -> None:
    """A book silent for 5 s of which 4 were a stall has been silent 1 s: not stale at a 2 s limit."""
    sync = BookSync("x", SNAPSHOT, lambda symbol: [])
    sync.snapshot([], "A/B", [(1.0, 1.0)], [(2.0, 1.0)], None, None, 100.0)
    stalls = LoopStalls()
    stalls.record(104.0, 4.0)
    out: list[object] = []
    sync.expire(out, 105.0, 2.0, stalls.allowance)
    assert out == []
    sync.expire(out, 107.5, 2.0, stalls.allowance)  # 3.5 s of running time: stale
    assert [(e.reason, e.detail) for e in out if isinstance(e, Resync)] == [("stale", "no update for 3.5s")]
