"""Optional C accelerators, and the switch that turns them off.

``collector._speedups`` is compiled at install time when a C compiler is present; without
it every path runs in pure Python with identical results (the tests run both ways and
compare). The C code knows no exchange and makes no book transition: each function does
what a named Python function does, faster: applying a validated delta to the two sides
of a book (:func:`delta_applier`, twin of ``collector.orderbook._apply_delta``) and routing
frames to events by the recipes adapters declare (:func:`router_type`, twin of
``collector.fastpath.PyRouter``) and the CRC32 of a book's level texts (:func:`level_crc`,
twin of ``collector.crc._level_crc``).

Set ``COLLECTOR_NO_SPEEDUPS=1`` in the environment to run pure Python, or use
:func:`disabled` around the construction of books (tests and benchmarks do). The choice
is made when a book is built, so objects already built keep theirs.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

try:
    from . import _speedups
except ImportError:  # not compiled on this machine: pure Python it is
    _speedups = None  # type: ignore[assignment]

__all__ = ["available", "delta_applier", "disabled", "enabled", "level_crc", "router_type", "side_loader"]

_enabled = _speedups is not None and os.environ.get("COLLECTOR_NO_SPEEDUPS", "") in ("", "0")

ApplyDelta = Callable[["array[float]", "array[float]", Any, "array[float]", "array[float]", Any], int]


def available() -> bool:
    """True when the C module was compiled and imports on this machine."""
    return _speedups is not None


def enabled() -> bool:
    """True when new books will use the C module."""
    return _enabled


@contextmanager
def disabled() -> Iterator[None]:
    """Build pure-Python books inside this block (e.g. to compare both paths)."""
    global _enabled
    before = _enabled
    _enabled = False
    try:
        yield
    finally:
        _enabled = before


def side_loader() -> Callable[[Any], tuple[array[float], array[float]] | None] | None:
    """The C ``load_side`` (twin of ``collector.orderbook._load_side``), or ``None`` to use the Python one."""
    return _speedups.load_side if _enabled else None


def delta_applier() -> ApplyDelta | None:
    """The C ``apply_delta``, or ``None`` to use the Python one."""
    return _speedups.apply_delta if _enabled else None


def level_crc() -> Callable[..., int | None] | None:
    """The C ``level_crc`` (twin of ``collector.crc._level_crc``), or ``None`` to use the Python one."""
    return _speedups.level_crc if _enabled else None


def iso_parser() -> Callable[[Any], float | None] | None:
    """The C ``parse_iso`` (twin of ``collector.fastpath.parse_iso``), or ``None`` to use the Python one."""
    return _speedups.parse_iso if _enabled else None


def router_type() -> type[Any] | None:
    """The C ``Router`` (see :mod:`collector.fastpath`), or ``None`` to use the Python one."""
    return _speedups.Router if _enabled else None
