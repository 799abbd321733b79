"""Constrained field types for wire schemas: impossible values are rejected while decoding.

Declare wire struct fields with these instead of bare ``float``/``int`` and msgspec
checks them in C as it parses (a few nanoseconds per value); a frame carrying
``"NaN"``, ``"Infinity"``, ``"-5"``, ``1e400`` or a 70-bit id then fails to decode and
becomes an ``error`` event at the adapter boundary, instead of an event or a book level.

- :data:`Price`: finite and > 0 (spot, perpetual and future prices cannot be 0 or negative).
- :data:`Size`: finite and >= 0 (0 removes a book level).
- :data:`Id`: an update or trade id, 0 <= id < 2**63.
- :data:`Millis`: a time in milliseconds since the epoch, 0 <= t < 2**53.
- :data:`Levels`: a list of ``[price, size]`` pairs.

Decode with ``strict=False`` so decimal strings (``"65000.10"``) become floats.
"""

from __future__ import annotations

import sys
from typing import Annotated, TypeAlias

import msgspec

__all__ = ["Finite", "Id", "Levels", "Millis", "Price", "Size"]

_MAX = sys.float_info.max

Price: TypeAlias = Annotated[float, msgspec.Meta(gt=0.0, le=_MAX)]
Size: TypeAlias = Annotated[float, msgspec.Meta(ge=0.0, le=_MAX)]
Finite: TypeAlias = Annotated[float, msgspec.Meta(ge=-_MAX, le=_MAX)]
Id: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
Millis: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
Levels: TypeAlias = list[tuple[Price, Size]]
