"""Actions: the I/O an adapter asks for instead of doing it.

Adapters are pure (design.md: sans-I/O). When they need the network they return one
of these from ``parse``/``on_http``/``on_connect``; the live connection layer or the
replay driver performs it and feeds any answer back through ``Adapter.on_http``.
"""

from __future__ import annotations

from typing import TypeAlias
from urllib.parse import parse_qsl, urlsplit

import msgspec

__all__ = ["Action", "Reconnect", "RestRequest", "SendFrame"]


class RestRequest(msgspec.Struct, frozen=True):
    """GET ``url`` and hand the response to ``Adapter.on_http(request, status, body, received)``.

    ``weight`` is the exchange's rate-limit weight for the call; ``purpose`` is
    ``"snapshot"`` or ``"instruments"``; ``symbol`` the unified symbol it concerns.
    """

    url: str
    purpose: str
    weight: int = 1
    symbol: str | None = None

    def match_key(self) -> tuple[str, str, str]:
        """(host, path, instrument parameter): how replay pairs a request with a captured response."""
        parts = urlsplit(self.url)
        query = dict(parse_qsl(parts.query))
        instrument = query.get("symbol") or query.get("instId") or query.get("market") or ""
        category = query.get("category")
        # Bybit lists instruments per category on one path: the category is part of the endpoint.
        path = f"{parts.path}?category={category}" if category else parts.path
        return parts.netloc, path, instrument


class SendFrame(msgspec.Struct, frozen=True):
    """Send ``data`` on connection ``conn`` (paced with the plan's control-message interval)."""

    conn: str
    data: str


class Reconnect(msgspec.Struct, frozen=True):
    """Close connection ``conn`` and open it again (e.g. the exchange announced a shutdown)."""

    conn: str
    reason: str


Action: TypeAlias = RestRequest | SendFrame | Reconnect
