"""Recipes: how an adapter declares, as data, the events a routed frame becomes.

Each function returns a plain tuple the routers read (:class:`collector.fastpath.PyRouter`
and the C router); :func:`emit`, :func:`call` and :func:`guard` make a route's steps from
the argument recipes. :func:`check_steps` refuses a route that could apply a frame twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .codes import (
    OP_ATTR,
    OP_CHOICE,
    OP_CONST,
    OP_ISO,
    OP_LEVELS,
    OP_MILLIS,
    OP_OUT,
    OP_RATIO,
    OP_RECEIVED,
    OP_SCALED,
    OP_SIGN,
    OP_SYMBOL,
    OP_SYMBOL_FROM,
    OP_TEXT,
    STEP_CALL,
    STEP_EMIT,
    STEP_GUARD,
    Arg,
    Step,
)

__all__ = [
    "OUT",
    "RECEIVED",
    "SYMBOL",
    "attr",
    "call",
    "check_steps",
    "choice",
    "const",
    "emit",
    "guard",
    "iso_seconds",
    "levels",
    "micros",
    "millis",
    "nanos",
    "ratio",
    "scaled",
    "sign",
    "symbol_from",
    "text",
]


def _path(dotted: str) -> tuple[str, ...]:
    return tuple(dotted.split("."))


def const(value: object) -> Arg:
    """A fixed value (the exchange id, ``None``)."""
    return (OP_CONST, value)


SYMBOL: Arg = (OP_SYMBOL,)
"""The route's unified symbol."""
RECEIVED: Arg = (OP_RECEIVED,)
"""The frame's receipt time."""
OUT: Arg = (OP_OUT,)
"""The output list (for a :func:`call` that appends to it, like ``BookSync.delta``)."""


def attr(dotted: str) -> Arg:
    """A field of the decoded message, e.g. ``"data.p"``."""
    return (OP_ATTR, _path(dotted))


def millis(dotted: str, plus: int = 0) -> Arg:
    """A time field in milliseconds, plus ``plus`` ms, as float seconds (``None`` stays ``None``)."""
    return (OP_MILLIS, _path(dotted), plus, 1000.0)


def micros(dotted: str) -> Arg:
    """A time field in microseconds as float seconds (``None`` stays ``None``)."""
    return (OP_MILLIS, _path(dotted), 0, 1_000_000.0)


def nanos(dotted: str) -> Arg:
    """A time field in nanoseconds as float seconds (``None`` stays ``None``)."""
    return (OP_MILLIS, _path(dotted), 0, 1_000_000_000.0)


def sign(dotted: str, negative: object, positive: object) -> Arg:
    """``negative`` or ``positive`` by the sign of a number (a taker side from a signed size); 0 declines."""
    return (OP_SIGN, _path(dotted), negative, positive)


def scaled(dotted: str, factor: float) -> Arg:
    """``abs(value) * factor`` as a float (contracts times their size in base units)."""
    return (OP_SCALED, _path(dotted), float(factor))


def text(dotted: str) -> Arg:
    """A field as ``str`` (trade ids sent as numbers)."""
    return (OP_TEXT, _path(dotted))


def choice(dotted: str, mapping: Mapping[Any, Any]) -> Arg:
    """A field mapped through ``mapping`` (a taker side from a flag); an unmapped value declines the frame."""
    return (OP_CHOICE, _path(dotted), dict(mapping))


def symbol_from(dotted: str, symbols: Mapping[str, str]) -> Arg:
    """The unified symbol of a native id field; an unknown id declines the frame (the adapter reports it)."""
    return (OP_SYMBOL_FROM, _path(dotted), symbols)


def levels(
    dotted: str,
    price: str | int,
    size: str | int,
    *,
    side: tuple[str | int, object] | None = None,
    skip_zero: bool = True,
) -> Arg:
    """``[(price, size), ...]`` from a list of structs (field names) or of arrays (indices).

    ``side=(field, value)`` keeps only the entries whose ``field`` equals ``value`` (a list
    holding both sides of a book change). ``skip_zero`` drops entries whose price or size
    is 0 (padding of a fixed-depth snapshot); book deltas keep them (``skip_zero=False``:
    size 0 removes a level).
    """
    field, value = side if side is not None else (None, None)
    return (OP_LEVELS, _path(dotted), price, size, field, value, skip_zero)


def iso_seconds(dotted: str) -> Arg:
    """A UTC ISO 8601 time (``2024-01-02T03:04:05.678Z``) as float seconds; anything else declines."""
    return (OP_ISO, _path(dotted))


def ratio(numerator: str, denominator: str, factor: float = 1.0) -> Arg:
    """``numerator / denominator * factor`` (inverse contracts: USD amount / price); a zero or
    non-finite operand declines."""
    return (OP_RATIO, _path(numerator), _path(denominator), float(factor))


def emit(
    event: type,
    *args: Arg,
    at: str | None = None,
    each: str | None = None,
    when: tuple[str, object] | None = None,
    check: Callable[[Any], str | None] | None = None,
) -> Step:
    """Build ``event(*args)``. ``at``: argument paths start at that field (``"data"``); ``each``:
    once per element of that list field (paths then start at the element). ``when=(path, value)``:
    the frame is declined unless the field (from the message root) equals ``value``.
    ``check(event)``: for events with rules across fields that no wire type states (a candle's
    start before its end: :func:`collector.validate.invalid`); anything but ``None`` declines
    the frame. Put emit steps before call steps: a declined frame must have changed nothing."""
    condition = (_path(when[0]), when[1]) if when is not None else None
    return (STEP_EMIT, event, tuple(args), _path(each) if each else None, condition, _path(at) if at else (), check)


def call(
    function: Callable[..., Any],
    *args: Arg,
    at: str | None = None,
    each: str | None = None,
    when: tuple[str, object] | None = None,
) -> Step:
    """Call ``function(*args)`` (it appends its events to :data:`OUT`), e.g. ``BookSync.delta``;
    with ``each``, once per element of that list field (a book message holding several books).

    A call has effects, so the frame must not be declined after one ran: arguments that can
    decline (``choice``, ``sign``, ``scaled``, ...) are refused in a call with ``each`` and in
    any step after a call (:func:`check_steps`).
    """
    condition = (_path(when[0]), when[1]) if when is not None else None
    return (STEP_CALL, function, tuple(args), _path(each) if each else None, condition, _path(at) if at else (), None)


def guard(dotted: str, value: object) -> Step:
    """A condition on its own: the frame is declined unless the field equals ``value`` (for a
    route that needs more conditions than its steps' ``when``). It runs nothing."""
    return (STEP_GUARD, None, (), None, (_path(dotted), value), (), None)


_DECLINING = frozenset({OP_CHOICE, OP_SYMBOL_FROM, OP_SIGN, OP_SCALED, OP_ISO, OP_RATIO})


def check_steps(steps: tuple[Step, ...]) -> None:
    """Raise ``ValueError`` when a route could decline a frame after a call step has run
    (the adapter's path would then apply the same frame a second time)."""
    called = False
    for kind, _, args, each, _, _, check in steps:
        declines = check is not None or any(arg[0] in _DECLINING for arg in args)
        if declines and (called or (kind == STEP_CALL and each is not None)):
            raise ValueError(
                "a route step that can decline comes after a call: put emits first, keep calls exact "
                "(extra conditions belong in guard() steps, which run nothing)"
            )
        called = called or kind == STEP_CALL
