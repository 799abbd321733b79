"""Compiling a route for the C scanner: a wire type as nested tuples, and its steps' paths as indices.

The C router calls :func:`compile_route` when a route is added; routes whose wire type has a
part the scanner cannot read decode with msgspec only (the same events, a little slower).
"""

from __future__ import annotations

from typing import Any

import msgspec.inspect as mi
from msgspec import NODEFAULT

from .codes import (
    K_BOOL,
    K_FLOAT,
    K_INT,
    K_LEVELS,
    K_LIST,
    K_OPTIONAL,
    K_STR,
    K_STRUCT,
    OP_CONST,
    OP_LEVELS,
    OP_OUT,
    OP_RATIO,
    OP_RECEIVED,
    OP_SYMBOL,
    Node,
    Step,
)
from .recipes import check_steps

__all__ = ["compile_route", "compile_schema"]


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
        return (K_STRUCT, tuple(names), tuple(nodes), tuple(required), tuple(defaults), tuple(pynames))
    if isinstance(t, mi.IntType):
        if t.multiple_of is not None:
            raise _Unsupported
        low = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else None)
        high = t.le if t.le is not None else (t.lt - 1 if t.lt is not None else None)
        return (K_INT, low, high, strict)
    if isinstance(t, mi.FloatType):
        if t.multiple_of is not None:
            raise _Unsupported
        flow, low_open = (t.gt, True) if t.gt is not None else (t.ge, False)
        fhigh, high_open = (t.lt, True) if t.lt is not None else (t.le, False)
        return (K_FLOAT, flow, low_open, fhigh, high_open, strict)
    if isinstance(t, mi.StrType):
        if t.min_length is not None or t.max_length is not None or t.pattern is not None:
            raise _Unsupported
        return (K_STR,)
    if isinstance(t, mi.BoolType):
        return (K_BOOL,)
    if isinstance(t, mi.UnionType):
        others = [x for x in t.types if not isinstance(x, mi.NoneType)]
        if len(others) != 1 or len(t.types) != 2:
            raise _Unsupported
        return (K_OPTIONAL, _node(others[0], strict))
    if isinstance(t, mi.ListType) and t.min_length is None and t.max_length is None:
        item = t.item_type
        if isinstance(item, mi.TupleType) and len(item.item_types) == 2:
            price, size = (_node(x, strict) for x in item.item_types)
            if price[0] != K_FLOAT or size[0] != K_FLOAT:
                raise _Unsupported
            return (K_LEVELS, price, size)
        if isinstance(item, mi.StructType):
            return (K_LIST, _node(item, strict))
    raise _Unsupported


def _indexed(schema: Node, path: tuple[Any, ...]) -> tuple[Any, ...]:
    """A field-name path as indices into the scanner's nested tuples; the node it ends at follows."""
    node = schema
    out: list[Any] = []
    for name in path:
        if node[0] == K_OPTIONAL:
            raise _Unsupported  # the value may be None: getattr would fail on it the same way
        if node[0] != K_STRUCT or name not in node[5]:
            raise _Unsupported
        i = node[5].index(name)
        out.append(i)
        node = node[2][i]
    return (tuple(out), node)


def _element(node: Node) -> Node:
    if node[0] != K_LIST:
        raise _Unsupported
    return node[1]  # type: ignore[no-any-return]


def _field_index(struct: Node, name: object) -> int | None:
    """The scanner's index of a struct field (``None`` stays ``None``); array indices are not struct fields."""
    if name is None:
        return None
    if not isinstance(name, str) or struct[0] != K_STRUCT or name not in struct[5]:
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
            if op in (OP_CONST, OP_SYMBOL, OP_RECEIVED, OP_OUT):
                new_args.append(arg)
                continue
            index, node = _indexed(item, arg[1])
            if op == OP_LEVELS:
                entry = _element(node)
                price, size, side_field = (_field_index(entry, f) for f in (arg[2], arg[3], arg[4]))
                new_args.append((op, index, price, size, side_field, arg[5], arg[6]))
            elif op == OP_RATIO:
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
