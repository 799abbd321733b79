"""Bitstamp's websocket channel catalogue and the cheap reading of a frame's channel name.

A channel name is ``<kind>_<pair>`` (``diff_order_book_btcusd``, ``live_trades_btcusd-perp``);
pairs hold no underscore, so the kind is everything before the last one.
"""

from __future__ import annotations

import orjson

from ..base import Channel

__all__ = ["CHANNEL_KEY", "CONTROL", "HEARTBEAT", "KINDS", "UNUSED_CHANNELS", "UNUSED_KINDS", "channel_of", "request"]

KINDS: dict[Channel, str] = {
    "trades": "live_trades",
    "book": "diff_order_book",
    "ticker": "order_book",
    "funding": "funding_rate",
}
"""Unified channel -> Bitstamp channel kind."""

UNUSED_KINDS = frozenset({"detail_order_book", "live_orders"})
"""Public Bitstamp channel kinds the adapter does not turn into events (a recorder may hold them)."""

UNUSED_CHANNELS = frozenset({"announcements"})
"""Public Bitstamp channels without a pair that the adapter does not turn into events."""

CONTROL = {
    "bts:subscription_succeeded": "ack",
    "bts:unsubscription_succeeded": "ack",
    "bts:heartbeat": "heartbeat",
    "bts:connection_established": "connection_established",
}
"""Replies and notices of the ``bts:`` control namespace that carry nothing to act on, by counter name."""

HEARTBEAT = '{"event":"bts:heartbeat"}'
"""The documented keepalive; the server answers it with a ``bts:heartbeat`` event."""

CHANNEL_KEY = '"channel"'


def channel_of(frame: str) -> str | None:
    """The ``channel`` value of a frame, found from the end (data frames put it after ``data``).

    One C-level search instead of a parse; handlers compare it with the decoded value, so
    a frame that only seems to name a channel is never routed wrongly.
    """
    at = frame.rfind(CHANNEL_KEY)
    if at < 0:
        return None
    start = frame.find('"', at + 9)
    end = frame.find('"', start + 1) if start >= 0 else -1
    return frame[start + 1 : end] if end >= 0 else None


def request(event: str, channel: str) -> str:
    """``{"event":"bts:subscribe","data":{"channel":"live_trades_btcusd"}}`` (one channel per frame)."""
    return orjson.dumps({"event": event, "data": {"channel": channel}}).decode()
