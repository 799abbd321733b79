"""The numbers the fast path's recipes, scanner schemas and both routers share.

The C router (``collector/_speedups.c``) reads the same codes: change one here only together
with it. Everything here is internal to :mod:`collector.fastpath`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "K_BOOL",
    "K_FLOAT",
    "K_INT",
    "K_LEVELS",
    "K_LIST",
    "K_OPTIONAL",
    "K_STR",
    "K_STRUCT",
    "OP_ATTR",
    "OP_CHOICE",
    "OP_CONST",
    "OP_ISO",
    "OP_LEVELS",
    "OP_MILLIS",
    "OP_OUT",
    "OP_RATIO",
    "OP_RECEIVED",
    "OP_SCALED",
    "OP_SIGN",
    "OP_SYMBOL",
    "OP_SYMBOL_FROM",
    "OP_TEXT",
    "STEP_CALL",
    "STEP_EMIT",
    "STEP_GUARD",
    "Arg",
    "Node",
    "Step",
]

# Schema node kinds (the C scanner reads the same codes).
K_STRUCT, K_INT, K_FLOAT, K_STR, K_BOOL, K_OPTIONAL, K_LEVELS, K_LIST = range(8)
# Argument operations (the C router reads the same codes).
(
    OP_CONST,
    OP_SYMBOL,
    OP_RECEIVED,
    OP_ATTR,
    OP_MILLIS,
    OP_TEXT,
    OP_CHOICE,
    OP_OUT,
    OP_SYMBOL_FROM,
    OP_LEVELS,
    OP_SIGN,
    OP_SCALED,
    OP_ISO,
    OP_RATIO,
) = range(14)
# Step kinds.
STEP_EMIT, STEP_CALL, STEP_GUARD = 0, 1, 2

Arg = tuple[Any, ...]
Step = tuple[Any, ...]

Node = tuple[Any, ...]
"""A scanner schema node: ``(kind, ...)``, see :func:`collector.fastpath.scanner.compile_schema`."""
