"""Helpers shared by the end-to-end tests: fast reconnect policy, polling, an event recorder."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

from collector import Collector, Event
from collector.backoff import backoff_delays
from collector.book import OrderBook
from collector.simulator import Simulator

FAST = {"idle_timeout": 1.0, "ping_interval": 0.3, "ping_timeout": 0.6}
"""Plan overrides that detect a dead or idle connection in about a second."""


def quick_delays() -> Iterator[float]:
    """Reconnect backoff shrunk for tests (same shape as the default: capped, full jitter)."""
    return backoff_delays(initial=0.05, cap=0.2)


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


class Recorder:
    """Collects every event the collector delivers (use it as a callback)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[Any], exchange: str | None = None) -> list[Any]:
        """The recorded events of ``kind`` (optionally of one exchange), in arrival order."""
        return [e for e in self.events if isinstance(e, kind) and (exchange is None or e.exchange == exchange)]


async def start_collector(sim: Simulator, markets: dict[str, list[str]], **kwargs: Any) -> tuple[Collector, Recorder]:
    """A started Collector on ``sim`` for trades, tickers and books of ``markets``, recording every event.

    Timeouts are shrunk (:data:`FAST`, unless ``plan_overrides`` is given) and reconnects are quick.
    """
    c = Collector(
        endpoints={ex: sim.endpoints(ex) for ex in markets},
        queue_size=0,
        delays=quick_delays,
        stable_after=0.5,
        **({"plan_overrides": FAST} | kwargs),
    )
    for exchange, symbols in markets.items():
        c.subscribe(exchange, symbols, ["trades", "ticker", "book"])
    rec = Recorder()
    c.on(rec)
    await c.start()
    return c, rec


def synced(c: Collector, markets: dict[str, list[str]]) -> bool:
    """Every book of ``markets`` is synced."""
    return all((b := c.book(ex, s)) is not None and b.synced for ex, syms in markets.items() for s in syms)


async def books_equal_truth(c: Collector, sim: Simulator, markets: dict[str, list[str]]) -> None:
    """Pause the market, then :func:`compare_books`; the market resumes afterwards."""
    sim.pause()
    try:
        await compare_books(c, sim, markets)
    finally:
        sim.resume()


async def compare_books(c: Collector, sim: Simulator, markets: dict[str, list[str]]) -> None:
    """With the market paused: wait until each book caught up, then compare it level by level with the truth.

    A book has caught up when its sequence is the simulator's last id; books without ids
    (Upbit's full snapshots) have caught up when their levels are the truth.
    """
    for exchange, symbols in markets.items():
        for symbol in symbols:
            bids, asks, last = sim.true_book(exchange, symbol)

            def caught_up(ex: str = exchange, sym: str = symbol, b: Any = bids, a: Any = asks, u: Any = last) -> bool:
                book = c.book(ex, sym)
                if book is None or not book.synced:
                    return False
                return book.sequence == u if u is not None else (book.bids(), book.asks()) == (b, a)

            await wait_for(caught_up)
            book = c.book(exchange, symbol)
            assert isinstance(book, OrderBook)
            assert (book.bids(), book.asks()) == (bids, asks), f"{exchange} {symbol}"
