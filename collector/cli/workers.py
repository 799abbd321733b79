"""``collector run --workers N``: one collector process per core, the subscriptions sharded between them.

Each worker is ``collector run`` with the same arguments and ``--shard i/N`` (the stable
hash of ``exchange:symbol`` that ``--shard`` uses on its own), so every symbol is collected
by exactly one process and the split needs no coordination. Their JSON lines are merged
into this process's output line by line (whole lines, never interleaved mid-line); with
``--kafka`` every worker publishes to the same topics itself. ``--metrics HOST:PORT`` gives
worker ``i`` port ``PORT + i``.

The parent starts the workers, forwards SIGINT/SIGTERM to them (via cancellation) and waits
for them to finish; it exits non-zero when any worker did, after reporting which.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import BinaryIO

from ..errors import UsageError
from .args import open_output

__all__ = ["run_workers", "worker_argv"]


def worker_argv(argv: list[str], index: int, count: int, metrics: tuple[str, int] | None) -> list[str]:
    """The arguments of worker ``index`` of ``count``: ``argv`` without ``--workers``/``--out``,
    with ``--shard index/count`` (and its own metrics port)."""
    out: list[str] = []
    skip = False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in ("--workers", "--out", "--shard", "--metrics"):
            skip = "=" not in arg and i + 1 < len(argv)
            continue
        out.append(arg)
    out += ["--shard", f"{index}/{count}"]
    if metrics is not None:
        out += ["--metrics", f"{metrics[0]}:{metrics[1] + index}"]
    return out


async def run_workers(args: argparse.Namespace, argv: list[str]) -> int:
    """Run ``args.workers`` worker processes and merge their output (see the module docstring)."""
    count = args.workers
    if args.shard is not None:
        raise UsageError("--workers shards the subscriptions itself; leave out --shard")
    out = open_output(args.out)
    procs: list[asyncio.subprocess.Process] = []
    try:
        for index in range(count):
            child = worker_argv(argv, index, count, args.metrics)
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "collector", *child, stdout=asyncio.subprocess.PIPE
                )
            )
        await asyncio.gather(*(_copy(proc, out) for proc in procs))
        codes = [await proc.wait() for proc in procs]
    finally:
        for proc in procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        for proc in procs:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 30)
        out.flush()
        if args.out is not None:
            out.close()
    failed = [f"worker {i} exited with {code}" for i, code in enumerate(codes) if code != 0]
    if failed:
        print(f"collector: error: {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


async def _copy(proc: asyncio.subprocess.Process, out: BinaryIO) -> None:
    """Copy one worker's stdout, whole lines at a time."""
    assert proc.stdout is not None
    async for line in proc.stdout:
        out.write(line)
