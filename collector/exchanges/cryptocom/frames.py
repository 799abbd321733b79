"""Crypto.com frames to their handlers: pushes by channel, replies and server heartbeats.

A push is routed by its channel (found among the result's first fields, a dict lookup) and
decoded once, typed, by that channel's handler (:mod:`.parse`); a frame without a channel is a
reply to a request, an error, or a ``public/heartbeat``, which is answered.
"""

from __future__ import annotations

import msgspec
import orjson

from ...actions import Reconnect, SendFrame
from ..base import Output
from .fast import FastRoutes
from .parse import UNUSED_CHANNELS, Handler, OtherChannel
from .schemas import Head, Reply

__all__ = ["Frames"]

_reply = msgspec.json.Decoder(Reply, strict=False)
_head = msgspec.json.Decoder(Head)
_CHANNEL_KEY = '"channel":"'
_HEADER = 512  # result's header fields come first ("id, method, code, instrument_name, subscription, channel")
_TOO_MANY_REQUESTS = "42901"
_ACKED = frozenset({"subscribe", "unsubscribe", "public/respond-heartbeat"})  # replies to this adapter's requests


class Frames(FastRoutes):
    """How :class:`~collector.exchanges.cryptocom.CryptocomAdapter` reads a frame (a mixin of it)."""

    _requests: dict[str, list[tuple[list[str], bool]]]
    """conn -> (channels, is book request): the subscriptions a connection sends."""
    _handlers: dict[str, Handler]
    """channel -> its handler."""

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        text = self.text_of(conn, frame, received, out)
        if text is None:
            return out
        # Route by the push's channel, found among the first fields of its result, then decode
        # the frame once with that channel's decoder. Replies and heartbeats have no channel.
        start = text.find(_CHANNEL_KEY, 0, _HEADER)
        if start < 0:
            # A reply, a heartbeat, or a push written with other spacing (a re-serialised capture).
            self._on_reply(conn, text, received, out)
            return out
        start += len(_CHANNEL_KEY)
        self._dispatch(conn, text[start : text.find('"', start)], text, received, out)
        return out

    def _dispatch(self, conn: str, channel: str, text: str, received: float, out: Output, again: bool = True) -> None:
        """Hand a push to its channel's handler (an exact dict lookup); a decode failure is one error.

        The channel found in the text is the first ``"channel":"``; when the push's own (its
        result's, as the fast path reads it) is another, the push goes there instead, once.
        """
        handler = self._handlers.get(channel)
        if handler is None:
            actual = _result_channel(text) if again else None
            if actual is not None and actual != channel:
                self._dispatch(conn, actual, text, received, out, False)
            else:
                self._unrouted(conn, channel, text, received, out)
            return
        try:
            handler(conn, text, received, out)
        except OtherChannel as other:
            if again:
                self._dispatch(conn, other.channel, text, received, out, False)
            else:
                detail = f"{channel} push with channel {other.channel[:40]!r}"
                out.append(self.error(conn, "malformed", detail, received, frame=text))
        except msgspec.DecodeError as exc:  # ValidationError included: a value the wire type forbids
            actual = _result_channel(text) if again else None
            if actual is not None and actual != channel:
                self._dispatch(conn, actual, text, received, out, False)
            else:
                out.append(self.error(conn, "malformed", f"{channel}: {exc}", received, frame=text))

    def _unrouted(self, conn: str, channel: str, text: str, received: float, out: Output) -> None:
        """A push of a channel this adapter does not handle: counted if Crypto.com has it, else an error."""
        try:
            _reply.decode(text)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=text))
            return
        if channel in UNUSED_CHANNELS:
            self.control(channel)
        else:
            out.append(self.error(conn, "unknown_channel", channel[:100], received, frame=text))

    def _on_reply(self, conn: str, text: str, received: float, out: Output) -> None:
        try:
            msg = _reply.decode(text)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=text))
            return
        if msg.result:
            try:
                channel = _head.decode(msg.result).channel
            except msgspec.DecodeError:
                channel = ""  # a method's result (not market data)
            if channel:
                self._dispatch(conn, channel, text, received, out)
                return
        method = msg.method
        if method == "public/heartbeat" and msg.id is not None:
            # "client must respond with public/respond-heartbeat within 5 seconds" with the same id.
            self.control("heartbeat")
            out.append(SendFrame(conn, orjson.dumps({"id": msg.id, "method": "public/respond-heartbeat"}).decode()))
            return
        code = str(msg.code)
        if code != "0" or method == "ERROR":
            self.control()
            detail = f"{method or 'request'} id {msg.id!r}: code {code} {msg.message}"
            out.append(self.error(conn, "rejected", detail, received, frame=msg.original or None))
            if code == _TOO_MANY_REQUESTS and conn in self._requests:
                # The request was dropped, not queued: start the connection over (its subscriptions
                # go out again after the 1 s wait that keeps them within the pro-rated limit).
                out.append(Reconnect(conn, "TOO_MANY_REQUESTS"))
            return
        if method in _ACKED:
            self.control("ack")
            return
        out.append(self.error(conn, "unknown_message", f"method {method[:60]!r}", received, frame=text))


def _result_channel(text: str) -> str | None:
    """The ``channel`` of a push's result, decoded (``None`` for a frame that is no push)."""
    try:
        return _head.decode(_reply.decode(text).result).channel
    except msgspec.DecodeError:
        return None
