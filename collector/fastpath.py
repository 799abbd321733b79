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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import msgspec.inspect as mi
from msgspec import NODEFAULT

from . import speedups

__all__ = [
    "OUT",
    "RECEIVED",
    "SYMBOL",
    "NoRouter",
    "PyRouter",
    "Router",
    "attr",
    "call",
    "check_steps",
    "choice",
    "const",
    "emit",
    "guard",
    "iso_reader",
    "iso_seconds",
    "levels",
    "micros",
    "millis",
    "nanos",
    "ratio",
    "scaled",
    "sign",
    "specification",
    "symbol_from",
    "text",
]

# Schema node kinds (the C scanner reads the same codes).
_K_STRUCT, _K_INT, _K_FLOAT, _K_STR, _K_BOOL, _K_OPTIONAL, _K_LEVELS, _K_LIST = range(8)
# Argument operations (the C router reads the same codes).
(
    _CONST,
    _SYMBOL,
    _RECEIVED,
    _ATTR,
    _MILLIS,
    _TEXT,
    _CHOICE,
    _OUT,
    _SYMBOL_FROM,
    _LEVELS,
    _SIGN,
    _SCALED,
    _ISO,
    _RATIO,
) = range(14)
# Step kinds.
_EMIT, _CALL, _GUARD = 0, 1, 2

Arg = tuple[Any, ...]
Step = tuple[Any, ...]


def _path(dotted: str) -> tuple[str, ...]:
    return tuple(dotted.split("."))


def const(value: object) -> Arg:
    """A fixed value (the exchange id, ``None``)."""
    return (_CONST, value)


SYMBOL: Arg = (_SYMBOL,)
"""The route's unified symbol."""
RECEIVED: Arg = (_RECEIVED,)
"""The frame's receipt time."""
OUT: Arg = (_OUT,)
"""The output list (for a :func:`call` that appends to it, like ``BookSync.delta``)."""


def attr(dotted: str) -> Arg:
    """A field of the decoded message, e.g. ``"data.p"``."""
    return (_ATTR, _path(dotted))


def millis(dotted: str, plus: int = 0) -> Arg:
    """A time field in milliseconds, plus ``plus`` ms, as float seconds (``None`` stays ``None``)."""
    return (_MILLIS, _path(dotted), plus, 1000.0)


def micros(dotted: str) -> Arg:
    """A time field in microseconds as float seconds (``None`` stays ``None``)."""
    return (_MILLIS, _path(dotted), 0, 1_000_000.0)


def nanos(dotted: str) -> Arg:
    """A time field in nanoseconds as float seconds (``None`` stays ``None``)."""
    return (_MILLIS, _path(dotted), 0, 1_000_000_000.0)


def sign(dotted: str, negative: object, positive: object) -> Arg:
    """``negative`` or ``positive`` by the sign of a number (a taker side from a signed size); 0 declines."""
    return (_SIGN, _path(dotted), negative, positive)


def scaled(dotted: str, factor: float) -> Arg:
    """``abs(value) * factor`` as a float (contracts times their size in base units)."""
    return (_SCALED, _path(dotted), float(factor))


def text(dotted: str) -> Arg:
    """A field as ``str`` (trade ids sent as numbers)."""
    return (_TEXT, _path(dotted))


def choice(dotted: str, mapping: Mapping[Any, Any]) -> Arg:
    """A field mapped through ``mapping`` (a taker side from a flag); an unmapped value declines the frame."""
    return (_CHOICE, _path(dotted), dict(mapping))


def symbol_from(dotted: str, symbols: Mapping[str, str]) -> Arg:
    """The unified symbol of a native id field; an unknown id declines the frame (the adapter reports it)."""
    return (_SYMBOL_FROM, _path(dotted), symbols)


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
    return (_LEVELS, _path(dotted), price, size, field, value, skip_zero)


def iso_seconds(dotted: str) -> Arg:
    """A UTC ISO 8601 time (``2024-01-02T03:04:05.678Z``) as float seconds; anything else declines."""
    return (_ISO, _path(dotted))


def ratio(numerator: str, denominator: str, factor: float = 1.0) -> Arg:
    """``numerator / denominator * factor`` (inverse contracts: USD amount / price); a zero or
    non-finite operand declines."""
    return (_RATIO, _path(numerator), _path(denominator), float(factor))


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
    return (_EMIT, event, tuple(args), _path(each) if each else None, condition, _path(at) if at else (), check)


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
    return (_CALL, function, tuple(args), _path(each) if each else None, condition, _path(at) if at else (), None)


def guard(dotted: str, value: object) -> Step:
    """A condition on its own: the frame is declined unless the field equals ``value`` (for a
    route that needs more conditions than its steps' ``when``). It runs nothing."""
    return (_GUARD, None, (), None, (_path(dotted), value), (), None)


_DECLINING = frozenset({_CHOICE, _SYMBOL_FROM, _SIGN, _SCALED, _ISO, _RATIO})


def check_steps(steps: tuple[Step, ...]) -> None:
    """Raise ``ValueError`` when a route could decline a frame after a call step has run
    (the adapter's path would then apply the same frame a second time)."""
    called = False
    for kind, _, args, each, _, _, check in steps:
        declines = check is not None or any(arg[0] in _DECLINING for arg in args)
        if declines and (called or (kind == _CALL and each is not None)):
            raise ValueError(
                "a route step that can decline comes after a call: put emits first, keep calls exact "
                "(extra conditions belong in guard() steps, which run nothing)"
            )
        called = called or kind == _CALL


Node = tuple[Any, ...]


class _Unsupported(Exception):
    """A type the C scanner does not read: the route decodes with msgspec only."""


_schemas: dict[tuple[Any, bool], Node | None] = {}


def compile_schema(cls: Any, strict: bool) -> Node | None:
    """The scanner's description of a wire type (``None`` when it has a part the scanner cannot read).

    The C router scans a routed frame straight into nested tuples with it, checking every
    constraint the msgspec decoder would (bounds on numbers, required fields, whole-frame
    JSON validity); whatever it is not sure of goes to the decoder instead. Compiled once
    per wire type: adding a route costs microseconds, so streams can be routed from their
    first frame.
    """
    key = (cls, strict)
    if key in _schemas:
        return _schemas[key]
    try:
        schema: Node | None = _node(mi.type_info(cls), strict)
    except _Unsupported:
        schema = None
    if len(_schemas) < 4096:
        _schemas[key] = schema
    return schema


def _node(t: Any, strict: bool) -> Node:
    if isinstance(t, mi.StructType):
        if t.array_like or t.tag_field is not None or t.forbid_unknown_fields or len(t.fields) > 64:
            raise _Unsupported
        names, pynames, nodes, required, defaults = [], [], [], [], []
        for f in t.fields:
            if f.default_factory is not NODEFAULT:
                raise _Unsupported
            names.append(f.encode_name.encode())
            pynames.append(f.name)
            nodes.append(_node(f.type, strict))
            required.append(f.required)
            defaults.append(None if f.default is NODEFAULT else f.default)
        return (_K_STRUCT, tuple(names), tuple(nodes), tuple(required), tuple(defaults), tuple(pynames))
    if isinstance(t, mi.IntType):
        if t.multiple_of is not None:
            raise _Unsupported
        low = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else None)
        high = t.le if t.le is not None else (t.lt - 1 if t.lt is not None else None)
        return (_K_INT, low, high, strict)
    if isinstance(t, mi.FloatType):
        if t.multiple_of is not None:
            raise _Unsupported
        flow, low_open = (t.gt, True) if t.gt is not None else (t.ge, False)
        fhigh, high_open = (t.lt, True) if t.lt is not None else (t.le, False)
        return (_K_FLOAT, flow, low_open, fhigh, high_open, strict)
    if isinstance(t, mi.StrType):
        if t.min_length is not None or t.max_length is not None or t.pattern is not None:
            raise _Unsupported
        return (_K_STR,)
    if isinstance(t, mi.BoolType):
        return (_K_BOOL,)
    if isinstance(t, mi.UnionType):
        others = [x for x in t.types if not isinstance(x, mi.NoneType)]
        if len(others) != 1 or len(t.types) != 2:
            raise _Unsupported
        return (_K_OPTIONAL, _node(others[0], strict))
    if isinstance(t, mi.ListType) and t.min_length is None and t.max_length is None:
        item = t.item_type
        if isinstance(item, mi.TupleType) and len(item.item_types) == 2:
            price, size = (_node(x, strict) for x in item.item_types)
            if price[0] != _K_FLOAT or size[0] != _K_FLOAT:
                raise _Unsupported
            return (_K_LEVELS, price, size)
        if isinstance(item, mi.StructType):
            return (_K_LIST, _node(item, strict))
    raise _Unsupported


def _indexed(schema: Node, path: tuple[Any, ...]) -> tuple[Any, ...]:
    """A field-name path as indices into the scanner's nested tuples; the node it ends at follows."""
    node = schema
    out: list[Any] = []
    for name in path:
        if node[0] == _K_OPTIONAL:
            raise _Unsupported  # the value may be None: getattr would fail on it the same way
        if node[0] != _K_STRUCT or name not in node[5]:
            raise _Unsupported
        i = node[5].index(name)
        out.append(i)
        node = node[2][i]
    return (tuple(out), node)


def _element(node: Node) -> Node:
    if node[0] != _K_LIST:
        raise _Unsupported
    return node[1]  # type: ignore[no-any-return]


def _field_index(struct: Node, name: object) -> int | None:
    """The scanner's index of a struct field (``None`` stays ``None``); array indices are not struct fields."""
    if name is None:
        return None
    if not isinstance(name, str) or struct[0] != _K_STRUCT or name not in struct[5]:
        raise _Unsupported
    return struct[5].index(name)  # type: ignore[no-any-return]


def _indexed_steps(schema: Node, steps: tuple[Step, ...]) -> tuple[Step, ...]:
    """``steps`` with every path turned into indices into the scanner's output."""
    out = []
    for kind, target, args, each, condition, at, check in steps:
        at_index, base = _indexed(schema, at)
        item = base
        each_index = None
        if each is not None:
            each_index, listed = _indexed(base, each)
            item = _element(listed)
        cond = None
        if condition is not None:
            cond = (_indexed(schema, condition[0])[0], condition[1])
        new_args = []
        for arg in args:
            op = arg[0]
            if op in (_CONST, _SYMBOL, _RECEIVED, _OUT):
                new_args.append(arg)
                continue
            index, node = _indexed(item, arg[1])
            if op == _LEVELS:
                entry = _element(node)
                price, size, side_field = (_field_index(entry, f) for f in (arg[2], arg[3], arg[4]))
                new_args.append((op, index, price, size, side_field, arg[5], arg[6]))
            elif op == _RATIO:
                new_args.append((op, index, _indexed(item, arg[2])[0], arg[3]))
            else:
                new_args.append((op, index, *arg[2:]))
        out.append((kind, target, tuple(new_args), each_index, cond, at_index, check))
    return tuple(out)


def compile_route(decoder: Any, steps: tuple[Step, ...]) -> tuple[Node | None, tuple[Step, ...] | None]:
    """The scanner schema of a route's decoder and its steps on the scanner's output (both ``None``
    when the C router should decode with msgspec only)."""
    check_steps(steps)
    schema = compile_schema(decoder.type, decoder.strict)
    if schema is None:
        return None, None
    try:
        return schema, _indexed_steps(schema, steps)
    except (_Unsupported, ValueError):
        return None, None


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
    repeat across a venue's connections). Binary frames always take the adapter's path.
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
        if not isinstance(frame, str):
            return None
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
        try:
            message = decode(frame)
        except Exception:
            return None
        out: list[Any] = []
        try:
            if any(c is not None and _get(message, c[0]) != c[1] for _, _, _, _, c, _, _ in steps):
                return None
            for kind, target, args, each, _, at, check in steps:
                if kind == _GUARD:
                    continue
                base = _get(message, at)
                items = _get(base, each) if each is not None else (base,)
                for item in items:
                    values = [_value(arg, item, symbol, received, out) for arg in args]
                    if kind == _EMIT:
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
    if op == _CONST:
        return arg[1]
    if op == _SYMBOL:
        return symbol
    if op == _RECEIVED:
        return received
    if op == _OUT:
        return out
    value = _get(item, arg[1])
    if op == _ATTR:
        return value
    if op == _MILLIS:
        return (value + arg[2]) / arg[3] if value is not None else None
    if op == _SIGN:
        number = _number(value)
        if not (number < 0.0 or number > 0.0):
            raise _Decline
        return arg[2] if number < 0.0 else arg[3]
    if op == _SCALED:
        number = _number(value)
        if not math.isfinite(number):
            raise _Decline
        return abs(number) * arg[2]
    if op == _TEXT:
        return str(value)
    if op in (_CHOICE, _SYMBOL_FROM):
        mapping = arg[2]
        try:
            return mapping[value]
        except (KeyError, TypeError):
            raise _Decline from None
    if op == _ISO:
        seconds = parse_iso(value)
        if seconds is None:
            raise _Decline
        return seconds
    if op == _RATIO:
        numerator, denominator = _number(value), _number(_get(item, arg[2]))
        if not (math.isfinite(numerator) and math.isfinite(denominator)) or denominator == 0.0:
            raise _Decline
        return numerator / denominator * arg[3]
    # _LEVELS
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


_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def iso_reader() -> Callable[[Any], float | None]:
    """:func:`parse_iso` in C when the C module is on, else itself: the same values (the tests
    compare them). Adapters that read ISO times on their own path take it once, at import."""
    return speedups.iso_parser() or parse_iso


def parse_iso(text: Any) -> float | None:
    """Seconds since the epoch of ``YYYY-MM-DDTHH:MM:SS[.fraction][Z|+00:00]`` (UTC; a fraction past
    microseconds is cut off), or ``None`` for anything else. The C router reads times the same way."""
    if not isinstance(text, str) or len(text) < 19 or not text.isascii():
        return None
    head, rest = text[:19], text[19:]
    if head[4] != "-" or head[7] != "-" or head[10] != "T" or head[13] != ":" or head[16] != ":":
        return None
    digits = head[0:4] + head[5:7] + head[8:10] + head[11:13] + head[14:16] + head[17:19]
    if not digits.isdigit():
        return None
    year, month, day = int(head[0:4]), int(head[5:7]), int(head[8:10])
    hour, minute, second = int(head[11:13]), int(head[14:16]), int(head[17:19])
    micros = 0
    if rest.startswith("."):
        end = 1
        while end < len(rest) and rest[end].isdigit():
            end += 1
        fraction = rest[1:end]
        if not fraction or len(fraction) > 9:
            return None
        micros = int((fraction + "000000")[:6])
        rest = rest[end:]
    if rest not in ("", "Z", "+00:00"):
        return None
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    month_days = 29 if month == 2 and leap else _DAYS_IN_MONTH[month - 1] if 1 <= month <= 12 else 0
    if not (year >= 1970 and 1 <= day <= month_days and hour < 24 and minute < 60 and second < 60):
        return None
    days = _days_from_civil(year, month, day)
    return ((days * 86400 + hour * 3600 + minute * 60 + second) * 1_000_000 + micros) / 1_000_000.0


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a proleptic Gregorian date (years from 1970 on)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _number(value: Any) -> float:
    """A float or int (not a bool) as a float; NaN for anything else (the step declines)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return math.nan
    try:
        return float(value)
    except OverflowError:
        return math.nan


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
