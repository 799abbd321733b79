"""Client requests of the Upbit quotation protocol, as the simulator reads them, and its stream names.

A request is one JSON array ``[{"ticket":...}, {"type":..., "codes":[...]}..., {"format":...}]``
(``shared/exchanges/upbit.md``, "Subscribe"); ``[{"ticket":...}, {"method":"LIST_SUBSCRIPTIONS"}]``
lists the current set. Malformed ones get ``{"error":{"name":..., "message":...}}`` with the
names the docs list: ``WRONG_FORMAT``, ``NO_TICKET``, ``NO_TYPE``, ``NO_CODES``, ``INVALID_PARAM``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import orjson

from ...simulator.wire import Control

__all__ = ["FORMATS", "Request", "Stream", "Wanted", "error", "list_reply", "read_request"]

FORMATS = ("DEFAULT", "SIMPLE")
"""Response formats served (the list formats ``JSON_LIST``/``SIMPLE_LIST`` are refused)."""


def error(name: str, message: str) -> bytes:
    """An error reply: ``{"error":{"name":"WRONG_FORMAT","message":"..."}}``."""
    return orjson.dumps({"error": {"name": name, "message": message}})


@dataclass(frozen=True, slots=True)
class Wanted:
    """One code of one type in a request: ``code`` without its ``.N`` suffix, which is ``suffix``."""

    kind: str
    code: str
    suffix: str
    snapshot: bool  # send the SNAPSHOT message
    realtime: bool  # then the REALTIME ones
    level: float | None = None  # orderbook price grouping unit, when the request names one


@dataclass(frozen=True, slots=True)
class Request:
    """A validated subscribe request, or a ``LIST_SUBSCRIPTIONS`` call when ``listing``."""

    ticket: Any
    fmt: str = "DEFAULT"
    listing: bool = False
    wanted: tuple[Wanted, ...] = ()


def read_request(text: str, kinds: Collection[str]) -> Request | Control:
    """Parse a client request array (``kinds``: the types served); the error reply when it is malformed."""
    try:
        request = orjson.loads(text)
    except orjson.JSONDecodeError:
        return Control(error("WRONG_FORMAT", "the request is not valid JSON"))
    if not isinstance(request, list) or not all(isinstance(item, dict) for item in request):
        return Control(error("WRONG_FORMAT", "the request must be a JSON array of objects"))
    ticket = next((item for item in request if "ticket" in item), None)
    if ticket is None:
        return Control(error("NO_TICKET", "the request has no ticket"))
    fmt = "DEFAULT"
    types: list[dict[str, Any]] = []
    for item in request:
        if "format" in item:
            fmt = item["format"]
        elif item.get("method") == "LIST_SUBSCRIPTIONS":
            return Request(ticket.get("ticket"), listing=True)
        elif "type" in item:
            types.append(item)
    if fmt not in FORMATS:
        return Control(error("INVALID_PARAM", f"format {fmt!r} is not simulated; use DEFAULT or SIMPLE"))
    if not types:
        return Control(error("NO_TYPE", "the request has no type"))
    wanted: list[Wanted] = []
    for item in types:
        kind, codes = item.get("type"), item.get("codes")
        if kind not in kinds:
            return Control(error("INVALID_PARAM", f"type {kind!r} is not simulated"))
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
            return Control(error("NO_CODES", f"type {kind!r} has no codes"))
        level = _level(item.get("level"))
        if isinstance(level, Control):
            return level
        # Both spellings are in use: current docs snake_case, older clients camelCase.
        only_snapshot = bool(item.get("is_only_snapshot", item.get("isOnlySnapshot", False)))
        only_realtime = bool(item.get("is_only_realtime", item.get("isOnlyRealtime", False)))
        for raw in codes:
            code, _, suffix = raw.partition(".")
            wanted.append(Wanted(str(kind), code, suffix, not only_realtime, not only_snapshot, level))
    return Request(ticket.get("ticket"), fmt, wanted=tuple(wanted))


def _level(value: Any) -> float | Control | None:
    """``level``: "level Double 모아보기 단위" (older text: "숫자 형식의 String"); both are read."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return Control(error("INVALID_PARAM", f"level {value!r} is not a number"))
    try:
        level = float(value)
    except ValueError:
        return Control(error("INVALID_PARAM", f"level {value!r} is not a number"))
    if not 0.0 <= level < float("inf"):
        return Control(error("INVALID_PARAM", f"level {value!r} is out of range"))
    return level


def list_reply(entries: list[tuple[str, str, float | None]], ticket: Any) -> bytes:
    """The ``LIST_SUBSCRIPTIONS`` answer for ``(type, code, level)`` entries in subscription order."""
    grouped: dict[tuple[str, float | None], list[str]] = {}
    for kind, code, level in entries:
        grouped.setdefault((kind, level), []).append(code)
    result: list[dict[str, Any]] = []
    for (kind, level), codes in grouped.items():
        entry: dict[str, Any] = {"type": kind, "codes": codes}
        if level is not None:
            entry["level"] = int(level) if level.is_integer() else level
        result.append(entry)
    return orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "result": result, "ticket": ticket})


@dataclass(frozen=True, slots=True)
class Stream:
    """One served stream, named ``SIMPLE|orderbook|KRW-BTC|15|10000``: format, type, code and,
    for books, depth and grouping level (the format is chosen per connection while the server
    encodes a frame once per stream)."""

    fmt: str
    kind: str
    code: str
    depth: int = 0
    level: float = 0.0

    @property
    def name(self) -> str:
        base = f"{self.fmt}|{self.kind}|{self.code}"
        return f"{base}|{self.depth}|{self.level:g}" if self.kind == "orderbook" else base

    @classmethod
    def parse(cls, name: str) -> Stream:
        """The stream a name stands for."""
        fmt, kind, code, *rest = name.split("|")
        if kind == "orderbook":
            return cls(fmt, kind, code, int(rest[0]), float(rest[1]))
        return cls(fmt, kind, code)
