"""A generic fast path from frames to events, driven by each adapter's declared recipes.

Most frames an exchange sends are the same few message kinds: a trade, a best bid/offer,
a book diff, a candle. For those, an adapter can declare — as data, beside its wire
schemas — how the frame is routed and how the event is built from the decoded message:

::

    router = adapter.use_router("stream")               # frames start with {"stream":"...
    router.add(
        "btcusdt@aggTrade",                             # the routing key's value
        msgspec.json.Decoder(Combined[AggTrade]),       # the adapter's own typed decoder
        "BTC/USDT",                                     # the unified symbol of the route
        emit(Trade, const("binance"), SYMBOL, millis("T"), RECEIVED, attr("p"), ..., at="data"),
    )

:class:`Router` then turns such frames into events without running Python code of the
adapter: it reads the routing key, decodes the frame once with the adapter's decoder (so
every constraint of the wire schema applies) and builds the events, or calls the book
synchroniser with the fields a delta needs (the state machine stays in
:mod:`collector.book`). Anything it is not sure of — a key it has no route for, a frame
that does not decode, a value a recipe does not map, a condition that does not hold — it
declines and hands the frame to the adapter's own boundary (``Adapter.receive``'s slow
path: ``parse`` decides and reports). So the fast path never produces anything the
adapter would not, and routed frames run no Python at all.

The router is the C type ``collector._speedups.Router`` (see :mod:`collector.speedups`).
:class:`PyRouter` is its specification in Python, and what the tests compare it with;
without the C module no router is installed at all and every frame takes the adapter's
own path, which gives the same events (the tests check that too).

Recipes read only constrained wire fields (:mod:`collector.exchanges.fields`), so the
values they copy were validated while decoding; the adapter boundary does not check fast
events again.

The package's parts: :mod:`.recipes` (the argument and step recipes above),
:mod:`.scanner` (compiling a route for the C scanner), :mod:`.pyrouter` (:class:`PyRouter`),
:mod:`.iso` (ISO 8601 times) and :mod:`.codes` (the numbers the C router shares).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .. import speedups
from .codes import Arg, Step
from .iso import iso_reader, parse_iso
from .pyrouter import Fallback, OnError, PyRouter
from .recipes import (
    OUT,
    RECEIVED,
    SYMBOL,
    attr,
    call,
    check_steps,
    choice,
    const,
    emit,
    guard,
    iso_seconds,
    levels,
    micros,
    millis,
    nanos,
    ratio,
    scaled,
    sign,
    symbol_from,
    text,
)
from .scanner import compile_route, compile_schema

__all__ = [
    "OUT",
    "RECEIVED",
    "SYMBOL",
    "Arg",
    "Fallback",
    "NoRouter",
    "OnError",
    "PyRouter",
    "Router",
    "Step",
    "attr",
    "call",
    "check_steps",
    "choice",
    "compile_route",
    "compile_schema",
    "const",
    "emit",
    "guard",
    "iso_reader",
    "iso_seconds",
    "levels",
    "micros",
    "millis",
    "nanos",
    "parse_iso",
    "ratio",
    "scaled",
    "sign",
    "specification",
    "symbol_from",
    "text",
]


class NoRouter:
    """What :meth:`Adapter.use_router` gives without the C module: routes are ignored and every
    frame takes the adapter's own path (a router in Python would only add work to it)."""

    def add(self, value: str, decoder: Any, symbol: str | None, *steps: Step, conn: str | None = None) -> None:
        """Ignored."""

    def __len__(self) -> int:
        return 0


_specification = False


@contextmanager
def specification() -> Iterator[None]:
    """Adapters built inside this block route with :class:`PyRouter` (tests compare it with the C one)."""
    global _specification
    before = _specification
    _specification = True
    try:
        yield
    finally:
        _specification = before


def Router(
    key: str,
    data_at: dict[str, float],
    fallback: Fallback,
    on_error: OnError,
    *,
    per_conn: bool = False,
    within: int = 0,
    prefix: str | None = None,
) -> Any:
    """The C router when compiled and enabled, else ``None`` (see :class:`NoRouter`); a
    :class:`PyRouter` inside :func:`specification`."""
    cls: Any = PyRouter if _specification else speedups.router_type()
    if cls is None:
        return None
    return cls(key, data_at, fallback, on_error, per_conn=per_conn, within=within, prefix=prefix)
