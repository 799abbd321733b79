"""The router in Python: the specification of the C ``collector._speedups.Router``.

The tests build adapters with it (:func:`collector.fastpath.specification`) and compare its
events with the C router's and with each adapter's own path.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .codes import (
    OP_ATTR,
    OP_CHOICE,
    OP_CONST,
    OP_ISO,
    OP_MILLIS,
    OP_OUT,
    OP_RATIO,
    OP_RECEIVED,
    OP_SCALED,
    OP_SIGN,
    OP_SYMBOL,
    OP_SYMBOL_FROM,
    OP_TEXT,
    STEP_EMIT,
    STEP_GUARD,
    Arg,
    Step,
)
from .iso import parse_iso
from .recipes import check_steps

__all__ = ["Fallback", "OnError", "PyRouter"]


class _Decline(Exception):
    """The fast path is not sure: the adapter's parse decides."""


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        obj = getattr(obj, name)
    return obj


Fallback = Callable[[str, "str | bytes", float], list[Any]]
"""The adapter's own receive, for every frame the router declines: ``fallback(conn, frame, received)``."""
OnError = Callable[[str, "str | bytes", float, BaseException], list[Any]]
"""Turns an exception raised while building a routed frame's events into the adapter's error events."""


class PyRouter:
    """The pure-Python router; :class:`Router` is the C one when compiled, with the same behaviour.

    Call it as ``router(conn, frame, received)``: the events of a routed frame, or
    ``fallback(conn, frame, received)`` for any other. ``key`` names the JSON field whose
    string value selects the route: the first field of every routed frame
    (``{"<key>":"<value>"...``), or with ``within=N`` a top-level field found in the
    frame's first ``N`` bytes (frames that put a timestamp or the payload first; a dotted
    key such as ``result.subscription`` walks into nested objects). ``prefix`` replaces
    ``{"<key>":"`` with a literal every routed frame starts with (a JSON-RPC envelope).
    ``data_at`` is the adapter's per-connection data clock, updated for every frame the
    router handles; ``on_error`` reports an exception raised by a step (a bug, never a bad
    frame). With ``per_conn``, routes are registered per connection id (native ids that
    repeat across a venue's connections). JSON in binary frames is routed too; a frame
    that is not UTF-8 is left to the adapter.
    """

    def __init__(
        self,
        key: str,
        data_at: dict[str, float],
        fallback: Fallback,
        on_error: OnError,
        *,
        per_conn: bool = False,
        within: int = 0,
        prefix: str | None = None,
    ) -> None:
        if within < 0:
            raise ValueError("within must be >= 0")
        if prefix is not None and within:
            raise ValueError("prefix must be a str, and cannot be combined with within")
        self.key = key
        self.within = within
        *parents, last = key.split(".")
        self.parents = [f'"{p}":'.encode() for p in parents] if within else []
        if prefix is not None:
            self.prefix = prefix.encode()
        else:
            self.prefix = (f'"{last}":' if within else f'{{"{key}":"').encode()
        self.data_at = data_at
        self.fallback = fallback
        self.on_error = on_error
        self.per_conn = per_conn
        self._routes: dict[Any, tuple[Any, str | None, tuple[Step, ...]]] = {}

    def add(
        self,
        value: str,
        decoder: Any,
        symbol: str | None,
        *steps: Step,
        conn: str | None = None,
    ) -> None:
        """Route frames whose key field is ``value`` (on connection ``conn`` when ``per_conn``)."""
        check_steps(steps)
        key = (conn, value) if self.per_conn else value
        self._routes[key] = (decoder.decode, symbol, steps)

    def __len__(self) -> int:
        return len(self._routes)

    def __call__(self, conn: str, frame: str | bytes, received: float) -> list[Any]:
        out = self._route(conn, frame, received)
        return out if out is not None else self.fallback(conn, frame, received)

    def _value(self, frame: str | bytes) -> str | None:
        """The routing value of a frame, or ``None`` when the frame is not one to route."""
        if isinstance(frame, bytes):
            data = frame  # JSON in a binary frame (Upbit): the decoder checks its UTF-8
        else:
            try:
                data = frame.encode()
            except UnicodeEncodeError:
                return None  # lone surrogates: the adapter decides
        prefix = self.prefix
        if self.within:
            found = _key_path(data, self.parents, prefix, self.within)
            if found is None:
                return None
            start = found
        else:
            if len(data) <= len(prefix) or not data.startswith(prefix):
                return None
            start = len(prefix)
        end = min(len(data), start + 256)
        stop = start
        while stop < end and data[stop] not in _QUOTE_OR_ESCAPE:
            stop += 1
        if stop >= end or data[stop] != _QUOTE:
            return None
        try:
            return data[start:stop].decode()
        except UnicodeDecodeError:
            return None

    def _route(self, conn: str, frame: str | bytes, received: float) -> list[Any] | None:
        value = self._value(frame)
        if value is None:
            return None
        route = self._routes.get((conn, value) if self.per_conn else value)
        if route is None:
            return None
        decode, symbol, steps = route
        if isinstance(frame, bytes):
            try:
                # The decoder does not check the UTF-8 of strings it skips: the frame must be UTF-8.
                frame.decode()
            except UnicodeDecodeError:
                return None
        try:
            message = decode(frame)
        except Exception:
            return None
        out: list[Any] = []
        try:
            if any(c is not None and _get(message, c[0]) != c[1] for _, _, _, _, c, _, _ in steps):
                return None
            for kind, target, args, each, _, at, check in steps:
                if kind == STEP_GUARD:
                    continue
                base = _get(message, at)
                items = _get(base, each) if each is not None else (base,)
                for item in items:
                    values = [_value(arg, item, symbol, received, out) for arg in args]
                    if kind == STEP_EMIT:
                        event = target(*values)
                        if check is not None and check(event) is not None:
                            return None
                        out.append(event)
                    else:
                        target(*values)
        except _Decline:
            return None
        except Exception as exc:
            return self.on_error(conn, frame, received, exc)
        self.data_at[conn] = received
        return out


_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_QUOTE_OR_ESCAPE = frozenset((_QUOTE, _BACKSLASH))
_BLANKS = frozenset(b" \t\n\r")


def _find_key(data: bytes, obj: int, end: int, pattern: bytes, want: int) -> int | None:
    """In the object starting at ``data[obj]``, where its own key ``pattern`` (``"<key>":``) has its
    value: just past the opening quote when ``want`` is a quote, at the ``{`` when it is a brace.

    Strings are skipped whole (a quote inside one is escaped), so a match at depth 1 is a
    key of this object, never one of a nested object or text inside a value.
    """
    if end - obj < 2 or data[obj] != ord("{"):
        return None
    p, depth, size = obj + 1, 1, len(pattern)
    while p < end:
        ch = data[p]
        if ch == _QUOTE:
            if depth == 1 and end - p >= size and data[p : p + size] == pattern:
                q = p + size
                while q < end and data[q] in _BLANKS:
                    q += 1
                if q >= end or data[q] != want:
                    return None
                return q + 1 if want == _QUOTE else q
            p += 1
            while p < end and data[p] != _QUOTE:
                p += 2 if data[p] == _BACKSLASH else 1
            p += 1
            continue
        if ch in (0x7B, 0x5B):  # { [
            depth += 1
        elif ch in (0x7D, 0x5D):  # } ]
            depth -= 1
            if depth == 0:
                return None
        p += 1
    return None


def _key_path(data: bytes, parents: list[bytes], pattern: bytes, limit: int) -> int | None:
    """Where the routing value of a key path (``result.subscription``) starts in ``data[:limit]``."""
    end = min(len(data), limit)
    obj: int | None = 0
    for parent in parents:
        obj = _find_key(data, obj, end, parent, ord("{")) if obj is not None else None
    return _find_key(data, obj, end, pattern, _QUOTE) if obj is not None else None


def _value(arg: Arg, item: Any, symbol: str | None, received: float, out: list[Any]) -> Any:
    op = arg[0]
    if op == OP_CONST:
        return arg[1]
    if op == OP_SYMBOL:
        return symbol
    if op == OP_RECEIVED:
        return received
    if op == OP_OUT:
        return out
    value = _get(item, arg[1])
    if op == OP_ATTR:
        return value
    if op == OP_MILLIS:
        return (value + arg[2]) / arg[3] if value is not None else None
    if op == OP_SIGN:
        number = _number(value)
        if not (number < 0.0 or number > 0.0):
            raise _Decline
        return arg[2] if number < 0.0 else arg[3]
    if op == OP_SCALED:
        number = _number(value)
        if not math.isfinite(number):
            raise _Decline
        return abs(number) * arg[2]
    if op == OP_TEXT:
        return str(value)
    if op in (OP_CHOICE, OP_SYMBOL_FROM):
        mapping = arg[2]
        try:
            return mapping[value]
        except (KeyError, TypeError):
            raise _Decline from None
    if op == OP_ISO:
        seconds = parse_iso(value)
        if seconds is None:
            raise _Decline
        return seconds
    if op == OP_RATIO:
        numerator, denominator = _number(value), _number(_get(item, arg[2]))
        if not (math.isfinite(numerator) and math.isfinite(denominator)) or denominator == 0.0:
            raise _Decline
        return numerator / denominator * arg[3]
    # OP_LEVELS
    price, size, side_field, side_value, skip_zero = arg[2:7]
    result = []
    for entry in value:
        if side_field is not None and _field(entry, side_field) != side_value:
            continue
        p = _field(entry, price)
        q = _field(entry, size)
        if not skip_zero or (p and q):
            result.append((p, q))
    return result


def _field(entry: Any, name: str | int) -> Any:
    return entry[name] if isinstance(name, int) else getattr(entry, name)


def _number(value: Any) -> float:
    """A float or int (not a bool) as a float; NaN for anything else (the step declines)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    try:
        return float(value)
    except OverflowError:
        return math.nan
