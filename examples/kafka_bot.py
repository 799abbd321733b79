"""A bot that reads trades from Redpanda/Kafka and prints a running VWAP per symbol.

Start Redpanda (``docker compose up -d``), a collector that publishes to it::

    collector run binance:BTC/USDT,ETH/USDT --channels trades --kafka localhost:19092

and then this bot (run several copies: the group shares the partitions between them)::

    python examples/kafka_bot.py localhost:19092
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections import defaultdict

import collector
from collector.consume import consume


async def main(bootstrap: str, group: str) -> None:
    notional: dict[str, float] = defaultdict(float)
    volume: dict[str, float] = defaultdict(float)
    async with consume(bootstrap, types=["trade"], group=group) as trades:
        async for trade in trades:
            # Only trades are subscribed, but the stream is typed as any event.
            if not isinstance(trade, collector.Trade):
                continue
            key = f"{trade.exchange}:{trade.symbol}"
            notional[key] += trade.price * trade.amount
            volume[key] += trade.amount
            vwap = notional[key] / volume[key]
            print(f"{key:28} {trade.side:4} {trade.amount:>12.6f} @ {trade.price:<12g} vwap {vwap:g}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bootstrap", nargs="?", default="localhost:19092")
    parser.add_argument("--group", default="vwap-bot")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(args.bootstrap, args.group))
