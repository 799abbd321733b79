"""Deribit's JSON-RPC session: request ids, replies, heartbeats and book resubscriptions.

Every request we send carries an id; the reply names it. Subscribe replies list "the
channels actually subscribed" (a channel missing from it was refused, e.g. a ``raw``
interval on an unauthenticated connection), errors carry ``code`` and ``message``. Once
``public/set_heartbeat`` is on, the server sends ``heartbeat`` and ``test_request``
notifications; a ``test_request`` must be answered with ``public/test``.
"""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar

import msgspec
import orjson

from ...actions import Action, Reconnect, SendFrame
from ..base import Output
from .parse import ChannelParsers
from .schemas import Envelope

__all__ = ["JsonRpc", "Request"]

Request = tuple[str, tuple[str, ...]]
"""A request awaiting its reply: (method, channels it names)."""

_channel_list = msgspec.json.Decoder(list[str])
_SUBSCRIBES = frozenset({"public/subscribe", "private/subscribe"})
_MAX_PENDING = 4096  # requests awaiting a reply; older ones are forgotten
_BUDGET_WINDOW = 10.0


class JsonRpc(ChannelParsers):
    """The JSON-RPC side of :class:`~collector.exchanges.deribit.DeribitAdapter` (a mixin of it)."""

    resubscribe_budget: ClassVar[int] = 20
    """Book resubscriptions (two requests each) per connection within 10 s before the connection
    is renewed instead: one reconnect resubscribes everything in a few batched requests."""

    _next_id: int
    _planned: dict[int, Request]
    """The plans' requests (sent again on every connect, with the same ids)."""
    _pending: dict[int, Request]
    """Other requests awaiting their reply."""
    _resubscribed: dict[str, deque[float]]
    """Connection -> times of its book resubscriptions."""
    _now: float

    def _start_rpc(self) -> None:
        self._next_id = 0
        self._planned = {}
        self._pending = {}
        self._resubscribed = {}
        self._now = 0.0

    def _request(self, method: str, params: dict[str, Any]) -> tuple[int, str]:
        self._next_id += 1
        rid = self._next_id
        return rid, orjson.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}).decode()

    def _planned_request(self, method: str, params: dict[str, Any], channels: tuple[str, ...]) -> str:
        rid, text = self._request(method, params)
        self._planned[rid] = (method, channels)
        return text

    def _pending_request(self, method: str, params: dict[str, Any], channels: tuple[str, ...] = ()) -> str:
        rid, text = self._request(method, params)
        if len(self._pending) >= _MAX_PENDING:
            del self._pending[next(iter(self._pending))]  # never answered: the connection it went to is gone
        self._pending[rid] = (method, channels)
        return text

    def _heartbeat(self, conn: str, env: Envelope, received: float, out: Output, frame: str | bytes) -> None:
        kind = env.params.type if env.params is not None else ""
        if kind == "test_request":
            # "Your software should respond to test_request messages by sending a
            # /api/v2/public/test request. If your software fails to do so, the API server
            # will immediately close the connection."
            self.control("test_request")
            out.append(SendFrame(conn, self._pending_request("public/test", {})))
        elif kind == "heartbeat":
            self.control("heartbeat")
        else:
            out.append(self.error(conn, "unknown_message", f"heartbeat type {kind[:50]!r}", received, frame=frame))
            return
        for symbol in self._conn_symbols.get(conn, ()):
            self.books.touch(symbol, received)

    def _reply(self, conn: str, env: Envelope, received: float, out: Output) -> None:
        rid = env.id
        request: Request | None = None
        resubscription = False
        if type(rid) is int:
            request = self._planned.get(rid)
            if request is None:
                request = self._pending.pop(rid, None)
                resubscription = request is not None and request[0] in _SUBSCRIBES
        error = env.error
        if error is not None:
            # 10028 too_many_requests ("the session is terminated"), 13009 unauthorized
            # (raw intervals), -32602 invalid params, ...
            self.control()
            what = request[0] if request is not None else f"request {rid!r}"
            detail = f"{what}: {error.code} {error.message[:200]}"
            out.append(self.error(conn, "rejected", detail, received))
            if resubscription:
                out.append(Reconnect(conn, f"a book resubscription was refused: {detail}"))
            return
        if request is None:
            self.control("ack")  # a reply to a request of another session or recorder
            return
        method, channels = request
        if method in _SUBSCRIBES and channels:
            # "The list of channels actually subscribed": invalid ones are simply missing.
            try:
                got = set(_channel_list.decode(env.result))
            except msgspec.DecodeError as exc:
                out.append(self.error(conn, "malformed", f"{method} result: {exc}", received))
                return
            missing = [c for c in channels if c not in got]
            if missing:
                self.control()
                detail = f"{len(missing)} channel(s) not subscribed: {', '.join(missing[:5])}"
                out.append(self.error(conn, "rejected", detail, received))
                if resubscription:
                    # The channel was subscribed before: its book can only come back with a
                    # new connection (which subscribes everything again).
                    out.append(Reconnect(conn, f"a book resubscription was refused: {detail}"))
            else:
                self.control("ack")
            return
        self.control("pong" if method == "public/test" else "ack")

    # -- book resubscription --------------------------------------------------------------------

    def _resubscribe(self, symbol: str) -> list[Action]:
        """A book's "snapshot request": unsubscribe and subscribe its channel again.

        "If not equal -> messages were missed: discard book, unsubscribe + resubscribe the
        channel (fresh snapshot)". Past :attr:`resubscribe_budget` resubscriptions on one
        connection within 10 s, the connection is renewed instead (each request costs
        credits, and running out terminates the session).
        """
        where = self._book_owner.get(symbol) or self._planned_books.get(symbol)
        if where is None:
            return []
        conn, channel = where
        sent = self._resubscribed.get(conn)
        if sent is None:
            sent = self._resubscribed[conn] = deque()
        # The book was updated (or found stale) just now: its time is the frame's, on the fast
        # path too, which does not go through parse.
        book = self.books.book(symbol)
        now = max(self._now, book.updated or 0.0) if book is not None else self._now
        while sent and now - sent[0] > _BUDGET_WINDOW:
            sent.popleft()
        if len(sent) >= self.resubscribe_budget:
            self.stats["resubscribe_budget_reconnect"] += 1
            return [Reconnect(conn, "too many Deribit book resubscriptions at once")]
        sent.append(now)
        params = {"channels": [channel]}
        return [
            SendFrame(conn, self._pending_request("public/unsubscribe", params, (channel,))),
            SendFrame(conn, self._pending_request("public/subscribe", params, (channel,))),
        ]
