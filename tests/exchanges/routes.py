"""Checks shared by the fast-path tests: one session fed three ways must give one output.

A fast route is an optimisation, never a second meaning: the C router, its Python
specification (:func:`collector.fastpath.specification`) and the adapter alone must turn the
same frames into the same events. :func:`three_ways` runs all three and also reports which
frames the routes handed back to the adapter, so a test can say which ones were routed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from collector import fastpath, speedups
from collector.exchanges import Adapter

__all__ = ["three_ways"]

Frame = str | tuple[str, str | bytes]
"""A text frame on connection ``"c"``, or ``(conn, frame)``."""


def _declined(adapter: Adapter) -> list[tuple[str, str | bytes]]:
    """Record the ``(conn, frame)`` pairs the specification router hands to the adapter."""
    router = adapter.receive
    assert isinstance(router, fastpath.PyRouter), "the adapter has no fast routes"
    calls: list[tuple[str, str | bytes]] = []
    fallback = router.fallback

    def counting(conn: str, frame: str | bytes, received: float) -> Any:
        calls.append((conn, frame))
        return fallback(conn, frame, received)

    router.fallback = counting
    return calls


def three_ways(
    make: Callable[[], Adapter],
    frames: Sequence[Frame],
    *,
    start: float = 1700000000.5,
    spacing: float = 0.0,
) -> tuple[list[Any], list[Frame]]:
    """Feed ``frames`` (received at ``start + i * spacing``) to a fresh adapter from ``make`` with
    the C router, with its specification and with neither; assert the outputs are equal and
    return them (one list per frame) with the frames the routes declined, given as they were."""
    pairs = [("c", f) if isinstance(f, str) else f for f in frames]
    outs: list[list[Any]] = []
    declined: list[tuple[str, str | bytes]] = []
    for mode in (contextlib.nullcontext, fastpath.specification, speedups.disabled):
        with mode():
            adapter = make()
            calls = _declined(adapter) if mode is fastpath.specification else []
            outs.append([adapter.receive(c, f, start + i * spacing) for i, (c, f) in enumerate(pairs)])
            declined += calls
    assert outs[0] == outs[1] == outs[2]
    given: dict[Any, Frame] = dict(zip(pairs, frames, strict=True))
    return outs[0], [given[pair] for pair in declined]
