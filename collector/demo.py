"""``collector demo``: the whole pipeline offline, with a live terminal view.

The simulator serves every exchange's wire data on localhost; the real adapters connect
to it over real websockets, sync their books, and this module shows books, trades and
status as they arrive. Part-way through, the simulator injects a sequence gap so the
per-symbol resync can be seen happening. The view fits an 80x24 terminal; prices are
shown to the instrument's tick size.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from collections import deque
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .cli.kafka import sink_from_args
from .cli.live import simulator_markets
from .client import Collector
from .errors import UnknownSymbol
from .exchanges import EXCHANGES
from .indicators import IndicatorEngine
from .indicators.cli import engine_from_args
from .models import Book, Connected, Disconnected, Error, Event, Outage, Resync, Ticker, Trade
from .premium import PremiumMonitor

__all__ = ["DemoState", "price_decimals", "run_demo"]

WIDTH = 80


@dataclass
class _Row:
    trades: int = 0
    last: Trade | None = None
    ticker: Ticker | None = None
    book_events: int = 0
    resyncs: int = 0


@dataclass
class DemoState:
    """What the view shows, updated by the collector's callback."""

    rows: dict[tuple[str, str], _Row] = field(default_factory=dict)
    connections: dict[str, str] = field(default_factory=dict)  # conn id -> "up" / "down: reason"
    log: deque[str] = field(default_factory=lambda: deque(maxlen=4))
    events: int = 0

    def __call__(self, event: Event) -> None:
        self.events += 1
        if isinstance(event, Connected):
            self.connections[event.conn] = "up"
            return
        if isinstance(event, Disconnected):
            self.connections[event.conn] = f"down: {event.reason}"
            return
        if isinstance(event, Error | Outage):
            self.log.append(f"{event.type} {event.exchange}: {getattr(event, 'reason', '')}{event.detail}"[: WIDTH - 2])
            return
        symbol = event.symbol
        if symbol is None:
            return
        row = self.rows.setdefault((event.exchange, symbol), _Row())
        if isinstance(event, Trade):
            row.trades += 1
            row.last = event
        elif isinstance(event, Ticker):
            row.ticker = event
        elif isinstance(event, Book):
            row.book_events += 1
        elif isinstance(event, Resync):
            row.resyncs += 1
            self.log.append(f"resync {event.exchange} {symbol}: {event.reason} {event.detail}"[: WIDTH - 2])


def price_decimals(tick: float | None, price: float) -> int:
    """Decimals to show a price with: the tick size's, else five significant digits."""
    if tick:
        return max(0, -math.floor(math.log10(tick) + 1e-9))
    return max(0, 4 - math.floor(math.log10(price))) if price > 0 else 2


def _render(
    state: DemoState,
    c: Collector,
    engine: IndicatorEngine,
    premium: PremiumMonitor | None,
    elapsed: float,
    duration: float,
) -> Group:
    up = sum(1 for s in state.connections.values() if s == "up")
    conns = f"{up}/{len(state.connections)} connections up"
    title = f"collector demo {elapsed:4.1f}/{duration:g}s  {state.events:,} events  {conns}"
    table = Table(title=title, box=None, pad_edge=False, padding=(0, 1), width=WIDTH)
    for name, justify in (("market", "left"), ("bid", "right"), ("ask", "right"), ("last", "right")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("trades", justify="right", no_wrap=True)
    table.add_column("book", justify="right", no_wrap=True)
    for (exchange, symbol), row in sorted(state.rows.items()):
        book = c.book(exchange, symbol)
        try:
            tick = c.adapter(exchange).instruments.by_symbol(symbol).tick_size
        except UnknownSymbol:
            tick = None
        bid = book.best_bid() if book is not None and book.synced else None
        ask = book.best_ask() if book is not None and book.synced else None
        last = row.last
        reference = bid[0] if bid else ask[0] if ask else last.price if last else 1.0
        decimals = price_decimals(tick, reference)
        status = "sync" if book is not None and book.synced else "wait" if book is not None else "-"
        table.add_row(
            f"{exchange} {symbol}"[:26],
            f"{bid[0]:,.{decimals}f}" if bid else "-",
            f"{ask[0]:,.{decimals}f}" if ask else "-",
            f"{last.price:,.{decimals}f}" if last else "-",
            str(row.trades),
            f"{status} {row.resyncs}r" if row.resyncs else status,
        )
    parts: list[Table | Text] = [table]
    interval = engine.intervals[0] if engine.intervals else ""
    if interval and state.rows:
        exchange, symbol = min(state.rows)
        values = []
        for name, outputs in engine.latest(exchange, symbol, interval).items():
            shown = ", ".join(f"{v:,.2f}" for v in outputs.values() if v is not None)
            values.append(f"{name}={shown or '…'}")
        parts.append(Text(f"{interval} {exchange} {symbol}: {' '.join(values) or 'warming up'}"[:WIDTH]))
    if premium is not None:
        premiums = []
        for pair in premium.pairs:
            p = premium.latest(*pair)
            value = f"{p.premium * 100:+.2f}%" if p is not None else "…"
            premiums.append(f"{pair.base} {pair.krw_exchange}/{pair.usd_exchange} {value}")
        parts.append(Text(f"KRW premium: {'  '.join(premiums)}"[:WIDTH]))
    log = Text("recent resyncs and errors:\n", style="bold")
    for line in state.log:
        log.append(f"  {line}\n", style="")
    parts.append(log)
    return Group(*parts)


def _premium(c: Collector, markets: dict[str, list[str]]) -> PremiumMonitor | None:
    """The KRW premium of the assets both a Korean venue and a USDT venue show (``None`` if none)."""
    krw = [ex for ex, syms in sorted(markets.items()) if any(s.endswith("/KRW") for s in syms)]
    usd = [ex for ex, syms in sorted(markets.items()) if any(s.endswith("/USDT") for s in syms)][:1]
    if not krw or not usd:
        return None
    bases = sorted(
        {s.split("/")[0] for s in markets[krw[0]] if s.endswith("/KRW")}
        & {s.split("/")[0] for s in markets[usd[0]] if s.endswith("/USDT")}
    )
    return c.premium(bases, krw[:1], usd) if bases else None


async def run_demo(args: argparse.Namespace) -> int:
    """Run the simulator, a collector on it and the live view for ``args.duration`` seconds."""
    from .simulator import Fault, Simulator

    markets = simulator_markets([])
    if args.symbols:
        spot = [s.strip() for s in args.symbols.split(",") if s.strip()]
        markets = {ex: spot if all(":" not in s for s in syms) else syms for ex, syms in markets.items()}
    for symbols in markets.values():
        if any(s.endswith("/KRW") for s in symbols) and "USDT/KRW" not in symbols:
            symbols.append("USDT/KRW")  # the FX rate of the KRW premium
    console = Console() if Console().is_terminal else Console(width=WIDTH)
    duration = float(args.duration)
    async with Simulator(markets, seed=int(time.time()) & 0xFFFF, tick_interval=0.1) as sim:
        state = DemoState()
        c = Collector(endpoints={ex: sim.endpoints(ex) for ex in markets}, queue_size=0, transport=args.transport)
        for exchange, symbols in markets.items():
            c.subscribe(exchange, symbols, ["trades", "ticker", "book"])
        c.on(state)
        premium = _premium(c, markets)
        engine = engine_from_args(args) or IndicatorEngine(candles=["1s"], indicators=["SMA(5)", "RSI(6)"])
        c.use_indicators(engine)
        kafka = sink_from_args(args)
        if kafka is not None:
            c.add_sink(kafka)
        await c.start()
        # The gap goes to the first exchange whose books are diffs (a whole-book exchange cannot gap).
        gap_target = next(
            ((ex, syms[0]) for ex, syms in sorted(markets.items()) if EXCHANGES[ex].simulator_wire().book_diffs), None
        )
        start = time.monotonic()
        injected = False
        synced = 0
        try:
            with (
                Live(
                    _render(state, c, engine, premium, 0.0, duration),
                    console=console,
                    refresh_per_second=4,
                    transient=False,
                )
                if console.is_terminal
                else _NoLive() as live
            ):
                next_print = 1.0
                while (elapsed := time.monotonic() - start) < duration:
                    if not injected and elapsed >= duration * 0.4 and gap_target is not None:
                        sim.inject(gap_target[0], Fault.GAP, symbol=gap_target[1])
                        injected = True
                    if console.is_terminal:
                        live.update(_render(state, c, engine, premium, elapsed, duration))
                    elif elapsed >= next_print:
                        # Not a terminal (a pipe, CI): a snapshot of the view every few seconds.
                        console.print(_render(state, c, engine, premium, elapsed, duration))
                        next_print += 5.0
                    await asyncio.sleep(0.25)
            console.print(_render(state, c, engine, premium, duration, duration))
            synced = sum(1 for ex, sym in state.rows if (b := c.book(ex, sym)) is not None and b.synced)
        finally:
            await c.stop()
        console.print(f"done: {state.events:,} events, {synced} synced books across {len(markets)} exchanges")
        if kafka is not None:
            console.print(f"kafka: {kafka.stats.as_dict()}")
    return 0


class _NoLive:
    """Stands in for :class:`rich.live.Live` when the output is not a terminal."""

    def __enter__(self) -> _NoLive:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, renderable: object) -> None:
        """Nothing to redraw."""
