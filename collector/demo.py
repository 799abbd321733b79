"""``collector demo``: the whole pipeline offline, with a live terminal view.

The simulator serves exchange wire data on localhost; the real adapters connect to it
over real websockets, sync their books from its REST snapshots, and this module shows
books, trades and status as they arrive. Part-way through, the simulator injects a
sequence gap so the per-symbol resync can be seen happening.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .client import Collector
from .indicators import IndicatorEngine
from .indicators.cli import engine_from_args
from .models import Book, Connected, Disconnected, Error, Event, Resync, Ticker, Trade
from .sinks.kafka import sink_from_args

__all__ = ["DemoState", "run_demo"]


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
    recent: deque[Trade] = field(default_factory=lambda: deque(maxlen=8))
    status: deque[str] = field(default_factory=lambda: deque(maxlen=6))
    events: int = 0

    def __call__(self, event: Event) -> None:
        self.events += 1
        if isinstance(event, Connected | Disconnected | Error):
            self.status.append(f"{event.type:<12} {event.exchange:<13} {getattr(event, 'reason', event.conn)}")
            return
        if isinstance(event, Resync):
            self.status.append(f"resync       {event.exchange:<13} {event.symbol} ({event.reason}: {event.detail})")
        symbol = event.symbol
        if symbol is None:
            return
        row = self.rows.setdefault((event.exchange, symbol), _Row())
        if isinstance(event, Trade):
            row.trades += 1
            row.last = event
            self.recent.append(event)
        elif isinstance(event, Ticker):
            row.ticker = event
        elif isinstance(event, Book):
            row.book_events += 1
        elif isinstance(event, Resync):
            row.resyncs += 1


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _indicator_text(engine: IndicatorEngine, exchange: str, symbol: str) -> str:
    parts = []
    for interval in engine.intervals[:1]:
        for name, values in engine.latest(exchange, symbol, interval).items():
            shown = ", ".join(f"{v:,.2f}" for v in values.values() if v is not None)
            parts.append(f"{name}={shown or '…'}")
    return " ".join(parts) or "warming up"


def _render(state: DemoState, c: Collector, engine: IndicatorEngine, elapsed: float, duration: float) -> Group:
    table = Table(title=f"collector demo — {elapsed:4.1f}s / {duration:g}s, {state.events} events")
    columns = ("exchange", "symbol", "bid", "ask", "spread", "levels", "last trade", "trades", "book ev", "resyncs")
    interval = engine.intervals[0] if engine.intervals else ""
    for col in (*columns, f"indicators {interval}"):
        table.add_column(col, justify="right" if col not in ("exchange", "symbol") else "left")
    for (exchange, symbol), row in sorted(state.rows.items()):
        book = c.book(exchange, symbol)
        bid = book.best_bid() if book is not None else None
        ask = book.best_ask() if book is not None else None
        last = row.last
        table.add_row(
            exchange,
            symbol,
            f"{_fmt(bid[0])} x {bid[1]:.3f}" if bid else "-",
            f"{_fmt(ask[0])} x {ask[1]:.3f}" if ask else "-",
            _fmt(book.spread() if book is not None else None),
            str(len(book)) if book is not None else "0",
            f"{last.side} {last.amount:.4f} @ {_fmt(last.price)}" if last else "-",
            str(row.trades),
            str(row.book_events),
            str(row.resyncs),
            _indicator_text(engine, exchange, symbol),
        )
    trades = Text("recent trades:\n", style="bold")
    for t in reversed(state.recent):
        trades.append(f"  {t.exchange:<13} {t.symbol:<15} {t.side:<4} {t.amount:>10.4f} @ {t.price:,.2f}\n")
    status = Text("status:\n", style="bold")
    for line in state.status:
        status.append(f"  {line}\n")
    return Group(table, trades, status)


async def run_demo(args: argparse.Namespace) -> int:
    """Run the simulator, a collector on it and the live view for ``args.duration`` seconds."""
    from .simulator import Fault, Simulator

    spot = [s.strip() for s in args.symbols.split(",") if s.strip()]
    first_base = spot[0].split("/")[0]
    markets = {
        "binance": spot,
        "binance_usdm": [f"{s}:{s.split('/')[1]}" for s in spot[:1]],
        "bybit": [spot[0], f"{spot[0]}:{spot[0].split('/')[1]}"],
        "upbit": [f"{first_base}/KRW"],
    }
    console = Console() if Console().is_terminal else Console(width=170)
    duration = float(args.duration)
    async with Simulator(markets, seed=int(time.time()) & 0xFFFF, tick_interval=0.1) as sim:
        state = DemoState()
        c = Collector(endpoints={ex: sim.endpoints(ex) for ex in markets}, queue_size=0)
        for exchange, symbols in markets.items():
            c.subscribe(exchange, symbols, ["trades", "ticker", "book"])
        c.on(state)
        engine = engine_from_args(args) or IndicatorEngine(candles=["1s"], indicators=["SMA(5)", "RSI(6)"])
        c.use_indicators(engine)
        kafka = sink_from_args(args)
        if kafka is not None:
            c.add_sink(kafka)
        await c.start()
        start = time.monotonic()
        gap_at = duration * 0.4
        injected = False
        try:
            if console.is_terminal:
                with Live(_render(state, c, engine, 0.0, duration), console=console, refresh_per_second=8) as live:
                    while (elapsed := time.monotonic() - start) < duration:
                        if not injected and elapsed >= gap_at:
                            sim.inject("binance", Fault.GAP, symbol=spot[0])
                            injected = True
                        live.update(_render(state, c, engine, elapsed, duration))
                        await asyncio.sleep(0.125)
            else:
                # Not a terminal (a pipe, CI): print a snapshot of the view every second instead.
                next_print = 1.0
                while (elapsed := time.monotonic() - start) < duration:
                    if not injected and elapsed >= gap_at:
                        sim.inject("binance", Fault.GAP, symbol=spot[0])
                        injected = True
                    if elapsed >= next_print:
                        console.print(_render(state, c, engine, elapsed, duration))
                        next_print += 1.0
                    await asyncio.sleep(0.05)
            console.print(_render(state, c, engine, duration, duration))
            synced = sum(1 for ex, sym in state.rows if (b := c.book(ex, sym)) is not None and b.synced)
        finally:
            await c.stop()
        console.print(f"done: {state.events} events, {synced} synced books, simulator stats {dict(sim.stats)}")
        if kafka is not None:
            console.print(f"kafka: {kafka.stats.as_dict()}")
    return 0
