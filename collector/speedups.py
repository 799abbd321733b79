"""Optional C accelerators, and the switch that turns them off.

``collector._speedups`` is compiled at install time when a C compiler is present; without
it every path runs in pure Python with identical results (the tests run both ways and
compare). It accelerates two things:

- book-side updates (:func:`apply_side`), used by :class:`collector.book.BookSync`;
- the Binance frame scanner, which turns the common combined-stream frames straight
  into events and hands everything unusual back to the Python adapter.

Set ``COLLECTOR_NO_SPEEDUPS=1`` in the environment to run pure Python, or use
:func:`disabled` around the construction of adapters and books (tests and benchmarks do).
The choice is made when an adapter or book is built, so objects already built keep theirs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

try:
    from . import _speedups
except ImportError:  # not compiled on this machine: pure Python it is
    _speedups = None  # type: ignore[assignment]

__all__ = ["available", "binance_scanner", "book_applier", "disabled", "enabled"]

_enabled = _speedups is not None and os.environ.get("COLLECTOR_NO_SPEEDUPS", "") in ("", "0")

ApplySide = Callable[[list[float], list[float], Any], None]


def available() -> bool:
    """True when the C module was compiled and imports on this machine."""
    return _speedups is not None


def enabled() -> bool:
    """True when new adapters and books will use the C module."""
    return _enabled


@contextmanager
def disabled() -> Iterator[None]:
    """Build pure-Python adapters and books inside this block (e.g. to compare both paths)."""
    global _enabled
    before = _enabled
    _enabled = False
    try:
        yield
    finally:
        _enabled = before


def book_applier() -> ApplySide | None:
    """The C ``apply_side(prices, sizes, levels)``, or ``None`` to use the Python one."""
    return _speedups.apply_side if _enabled else None


def binance_scanner(
    exchange: str,
    symbols: dict[str, str],
    channels: dict[str, int],
    events: tuple[type, type, type],
    fallback: Callable[[str, str | bytes, float], list[Any]],
    books: Any,
) -> _speedups.BinanceScanner | None:
    """A C scanner for Binance combined-stream frames, or ``None`` when disabled or unavailable.

    ``channels`` maps a stream suffix (``aggTrade``, ``bookTicker``, ``depth@100ms``,
    ``kline_1m``) to its kind: 0 trade, 1 ticker, 2 depth, 3 kline; ``events`` are the
    trade, ticker and candle types; ``books`` is the adapter's :class:`~collector.book.BookSync`.
    Calling the scanner with ``(frame, received)`` returns an event, a depth tuple
    ``(symbol, bids, asks, U, u, pu, timestamp, received)`` or ``None`` (the Python path
    decides). Its ``parse(conn, frame, received)`` is a whole adapter ``parse``: a depth
    diff that continues a live book is applied in C, other diffs go to ``books.delta``,
    declined frames to ``fallback`` (the adapter's Python parse).
    """
    if not _enabled:
        return None
    trade, ticker, candle = events
    scanner = _speedups.BinanceScanner(exchange, symbols, channels, trade, ticker, candle, fallback, books.delta)
    book_path = books.c_book_path()
    if book_path is not None:
        scanner.enable_books(*book_path)
    return scanner
