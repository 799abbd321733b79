"""``collector premium``: the KRW premium of some assets, live, in an 80-column table (or JSON lines).

    collector premium BTC,ETH,XRP --krw upbit,bithumb --usd binance,okx
    collector premium BTC,ETH,XRP --krw upbit,bithumb --usd binance --simulate   # offline

``--simulate`` serves every market the premium reads from the local exchange simulator,
so the command runs without the network (the simulated Korean venues quote coins a few
percent dearer than abroad).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from contextlib import AsyncExitStack

from rich.console import Console
from rich.live import Live
from rich.table import Table

from ..client import Collector
from ..codec import encode_event
from ..errors import UsageError
from ..exchanges import EXCHANGES
from ..models import Alert, Event, Premium
from ..premium import DEFAULT_MAX_AGE, PremiumMonitor
from .args import parse_endpoints, positive_float

__all__ = ["add_premium_arguments", "premium_command"]

WIDTH = 80


def add_premium_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``collector premium``."""
    p.add_argument("bases", metavar="ASSETS", help="comma-separated base assets, e.g. BTC,ETH,XRP")
    p.add_argument("--krw", required=True, metavar="VENUES", help="Korean venues, e.g. upbit,bithumb")
    p.add_argument("--usd", required=True, metavar="VENUES", help="venues abroad, e.g. binance,okx")
    p.add_argument("--quote", default="USDT", help="quote currency abroad (default USDT)")
    p.add_argument(
        "--fx",
        default=None,
        metavar="VENUE|RATE",
        help="KRW per quote unit: a Korean venue's <quote>/KRW market (default: the first --krw venue) "
        "or a fixed rate such as 1380",
    )
    p.add_argument(
        "--max-age",
        type=positive_float,
        default=DEFAULT_MAX_AGE,
        metavar="SECONDS",
        help=f"ignore books and trades older than this (default {DEFAULT_MAX_AGE:g})",
    )
    p.add_argument("--alert", action="append", default=[], metavar="RULE", help="e.g. 'premium > 0.03', repeatable")
    p.add_argument("--json", action="store_true", help="print premium and alert events as JSON lines, no table")
    p.add_argument("--simulate", action="store_true", help="run against the local exchange simulator (offline)")
    p.add_argument("--duration", type=positive_float, default=None, help="stop after this many seconds")
    p.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="EXCHANGE=WS,REST",
        help="override an exchange's websocket and REST base URLs",
    )


def _venues(text: str, flag: str) -> list[str]:
    venues = [v.strip() for v in text.split(",") if v.strip()]
    if not venues:
        raise UsageError(f"{flag}: name at least one exchange")
    for venue in venues:
        if venue not in EXCHANGES:
            raise UsageError(f"{flag}: no exchange {venue!r}; known: {', '.join(sorted(EXCHANGES))}")
    return venues


def _fx(text: str | None) -> str | float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        if text not in EXCHANGES:
            raise UsageError(f"--fx: {text!r} is neither a rate nor an exchange") from None
        return text


class _View:
    """The latest premium per pair, and the last alerts, as the table shows them."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str], Premium] = {}
        self.alerts: list[str] = []
        self.events = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, Premium):
            self.events += 1
            self.rows[event.base, event.krw_exchange, event.usd_exchange] = event
        elif isinstance(event, Alert):
            self.alerts = [*self.alerts[-2:], f"alert {event.symbol} {event.exchange}: {event.rule}"[:WIDTH]]

    def render(self, monitor: PremiumMonitor, elapsed: float) -> Table:
        fx = f"fx {monitor.fixed_fx:g} fixed" if monitor.fixed_fx else f"fx {monitor.fx_venue} {monitor.fx_symbol}"
        title = f"KRW premium  {elapsed:5.1f}s  {fx}"
        table = Table(title=title, box=None, pad_edge=False, padding=(0, 1), width=WIDTH)
        for name in ("asset", "korea", "KRW", "abroad", monitor.quote, "KRW/" + monitor.quote, "premium"):
            table.add_column(name, justify="left" if name in ("asset", "korea", "abroad") else "right", no_wrap=True)
        for pair in monitor.pairs:
            p = self.rows.get(pair)
            if p is None:
                table.add_row(pair.base, pair.krw_exchange, "-", pair.usd_exchange, "-", "-", "waiting")
                continue
            table.add_row(
                pair.base,
                pair.krw_exchange,
                f"{p.krw_price:,.0f}" if p.krw_price >= 100 else f"{p.krw_price:,.2f}",
                pair.usd_exchange,
                f"{p.usd_price:,.2f}" if p.usd_price >= 1 else f"{p.usd_price:.5f}",
                f"{p.fx:,.1f}",
                f"{p.premium * 100:+.2f}%",
            )
        for line in self.alerts:
            table.add_row(line, "", "", "", "", "", "")
        return table


async def premium_command(args: argparse.Namespace) -> int:
    """``collector premium``: compute and show the KRW premium until ``--duration`` or Ctrl-C."""
    bases = [b.strip().upper() for b in args.bases.split(",") if b.strip()]
    krw, usd = _venues(args.krw, "--krw"), _venues(args.usd, "--usd")
    fx = _fx(args.fx)
    endpoints = parse_endpoints(args.endpoint)
    async with AsyncExitStack() as stack:
        if args.simulate:
            from ..simulator import Simulator

            # The markets a monitor reads depend only on its arguments: ask a throwaway one.
            markets = PremiumMonitor(bases, krw, usd, book_of=lambda exchange, symbol: None, quote=args.quote, fx=fx)
            wanted = markets.markets()
            sim = await stack.enter_async_context(Simulator(wanted, seed=7, tick_interval=0.1))
            endpoints = {exchange: sim.endpoints(exchange) for exchange in wanted} | endpoints
        c = Collector(endpoints=endpoints, queue_size=0, transport=args.transport)
        monitor = c.premium(bases, krw, usd, quote=args.quote, fx=fx, max_age=args.max_age, alerts=args.alert)
        view = _View()
        c.on(view, Premium, Alert)
        if args.json:
            c.on(lambda event: print(encode_event(event).decode(), flush=True), Premium, Alert)
        running = asyncio.ensure_future(c.run(args.duration))
        try:
            if not args.json:
                await _show(running, view, monitor)
            await running  # raises when every connection failed for good
        finally:
            running.cancel()
    return 0


async def _show(running: asyncio.Future[None], view: _View, monitor: PremiumMonitor) -> None:
    """Redraw the table while the collector runs (a snapshot every 5 s when not on a terminal)."""
    console = Console() if Console().is_terminal else Console(width=WIDTH)
    start = time.monotonic()
    if console.is_terminal:
        with Live(view.render(monitor, 0.0), console=console, refresh_per_second=4) as live:
            while not running.done():
                live.update(view.render(monitor, time.monotonic() - start))
                await asyncio.sleep(0.25)
        return
    next_print = 5.0
    while not running.done():
        if (elapsed := time.monotonic() - start) >= next_print:
            console.print(view.render(monitor, elapsed))
            next_print += 5.0
        await asyncio.sleep(0.25)
    console.print(view.render(monitor, time.monotonic() - start))
