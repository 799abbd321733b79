"""A writer for the crash test: seals batches of PER_SEAL trades (six files each) until it is killed.

Run as ``python -m tests.storage.seal_child ROOT``; it prints the number of each finished seal.
"""

from __future__ import annotations

import asyncio
import os
import sys

from collector.models import Trade
from collector.storage import FileTarget
from collector.storage.rows import Batch, RowBuilder

PER_SEAL = 3000
DAY = 86_400.0
T0 = 1_700_000_000.0


async def main(root: str) -> None:
    target = FileTarget(root, row_group_rows=250)
    await target.open()
    builder = RowBuilder()
    seal = 0
    while True:
        batch = Batch()
        for i in range(PER_SEAL):
            # Three exchanges and two days: every seal spans six partitions.
            ts = T0 + (i % 2) * DAY + i / 1000
            trade = Trade(f"ex{i % 3}", "BTC/USDT", ts, ts, 100.0 + i, 1.0, "buy", f"{os.getpid()}.{seal}-{i}")
            builder.add(trade, batch)
        await target.write(batch)
        await target.seal(None)
        print(seal, flush=True)
        seal += 1


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
