"""A bot that watches the maintained books and trades of two exchanges and prints the spread.

Live (needs the internet)::

    python examples/spread_bot.py --duration 30

Offline, against the bundled exchange simulator on localhost::

    python examples/spread_bot.py --simulated --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator

import collector

MARKETS = {"binance": ["BTC/USDT"], "bybit": ["BTC/USDT"]}


@contextlib.asynccontextmanager
async def endpoints(simulated: bool) -> AsyncIterator[dict[str, collector.exchanges.Endpoints]]:
    """The exchanges' real endpoints, or a simulator's when ``simulated``."""
    if not simulated:
        yield {}
        return
    from collector.simulator import Simulator

    async with Simulator(MARKETS, seed=7) as sim:
        yield {exchange: sim.endpoints(exchange) for exchange in MARKETS}


async def main(duration: float, simulated: bool) -> int:
    async with endpoints(simulated) as where, collector.Collector(endpoints=where) as c:
        for exchange, symbols in MARKETS.items():
            c.subscribe(exchange, symbols, ["trades", "book"])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + duration
        printed = 0.0
        async for event in c:
            if isinstance(event, collector.Resync):
                print(f"{event.exchange} {event.symbol}: book resync ({event.reason})")
            now = loop.time()
            if now >= deadline:
                break
            if now - printed < 1.0:
                continue
            printed = now
            books = {ex: c.book(ex, "BTC/USDT") for ex in MARKETS}
            if all(b is not None and b.synced for b in books.values()):
                binance, bybit = books["binance"], books["bybit"]
                assert binance is not None
                assert bybit is not None
                (bb, _), (ba, _) = binance.best_bid() or (0.0, 0.0), binance.best_ask() or (0.0, 0.0)
                (yb, _), (ya, _) = bybit.best_bid() or (0.0, 0.0), bybit.best_ask() or (0.0, 0.0)
                print(
                    f"binance {bb:,.2f}/{ba:,.2f}  bybit {yb:,.2f}/{ya:,.2f}  cross-exchange mid diff "
                    f"{(bb + ba) / 2 - (yb + ya) / 2:+,.2f}"
                )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--simulated", action="store_true", help="use the local exchange simulator (offline)")
    args = parser.parse_args()
    raise SystemExit(collector.runner.run(main(args.duration, args.simulated)))
