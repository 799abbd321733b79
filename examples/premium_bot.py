"""A bot that trades nothing but watches the KRW premium ("kimchi premium") and acts on alerts.

It asks the collector for the premium of BTC, ETH and XRP on Upbit over Binance (FX from
Upbit's USDT/KRW market), prints every change once a second, and reacts when an asset's
premium goes above a threshold (edge-triggered: once per crossing).

Live (needs the internet)::

    python examples/premium_bot.py --duration 60

Offline, against the bundled exchange simulator on localhost (its Korean venue quotes
coins about 2.5 % dearer than abroad)::

    python examples/premium_bot.py --simulated --duration 10 --threshold 0.02
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator

import collector

BASES = ["BTC", "ETH", "XRP"]
KRW, USD = ["upbit"], ["binance"]


@contextlib.asynccontextmanager
async def endpoints(simulated: bool) -> AsyncIterator[dict[str, collector.exchanges.Endpoints]]:
    """The exchanges' real endpoints, or a simulator's when ``simulated``."""
    if not simulated:
        yield {}
        return
    from collector.simulator import Simulator

    markets = {"upbit": [f"{b}/KRW" for b in BASES] + ["USDT/KRW"], "binance": [f"{b}/USDT" for b in BASES]}
    async with Simulator(markets, seed=11) as sim:
        yield {exchange: sim.endpoints(exchange) for exchange in markets}


async def main(duration: float, simulated: bool, threshold: float) -> int:
    async with endpoints(simulated) as where, collector.Collector(endpoints=where) as c:
        monitor = c.premium(BASES, KRW, USD, alerts=[f"premium > {threshold}"])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + duration
        async for event in c:
            if loop.time() >= deadline:
                break
            if isinstance(event, collector.Alert):
                # The place to act: hedge, rebalance, notify.
                print(f"ALERT {event.symbol} on {event.exchange}: {event.rule}, values {event.values}")
            elif isinstance(event, collector.Premium):
                print(
                    f"{event.base:4} {event.krw_exchange}/{event.usd_exchange} "
                    f"{event.krw_price:,.0f} KRW vs {event.usd_price:,.2f} {event.usd_symbol.split('/')[1]} "
                    f"at {event.fx:,.1f}: {event.premium * 100:+.2f}%"
                )
        for base in BASES:
            last = monitor.latest(base, KRW[0], USD[0])
            print(f"final {base}: {f'{last.premium * 100:+.2f}%' if last is not None else 'no data'}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--simulated", action="store_true", help="use the local exchange simulator")
    parser.add_argument("--threshold", type=float, default=0.03, help="alert above this premium (0.03 = 3 %%)")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(main(args.duration, args.simulated, args.threshold)))
