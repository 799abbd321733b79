"""Actions: the I/O an adapter asks for instead of doing it.

Adapters are pure (design.md: sans-I/O). When they need the network they return one
of these from ``parse``/``on_http``/``on_connect``; the live connection layer or the
replay driver performs it and feeds any answer back through ``Adapter.answer``.
"""

from __future__ import annotations

from typing import TypeAlias

import msgspec

__all__ = ["Action", "Reconnect", "RestRequest", "SendFrame"]


class RestRequest(msgspec.Struct, frozen=True):
    """Request ``url`` and hand the answer to ``Adapter.answer(request, status, body, received)``.

    ``weight`` is the exchange's rate-limit weight for the call; ``purpose`` says what it
    is for (``"snapshot"``, ``"instruments"``, ``"token"``, ``"poll"``); ``symbol`` is the
    unified symbol it concerns; ``conn`` the connection it serves, if any (its pending
    requests are abandoned when that connection drops). ``method`` and ``body`` for the
    rare exchange that wants a POST (a websocket token); ``headers`` for one that shapes its
    answer by a header (Gate futures' decimal sizes).
    """

    url: str
    purpose: str
    weight: int = 1
    symbol: str | None = None
    conn: str | None = None
    method: str = "GET"
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


class SendFrame(msgspec.Struct, frozen=True):
    """Send ``data`` on connection ``conn`` (paced with the plan's control-message interval)."""

    conn: str
    data: str


class Reconnect(msgspec.Struct, frozen=True):
    """Close connection ``conn`` and open it again (e.g. the exchange announced a shutdown)."""

    conn: str
    reason: str


Action: TypeAlias = RestRequest | SendFrame | Reconnect
