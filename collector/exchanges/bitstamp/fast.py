"""The fast path (:mod:`collector.fastpath`) for Bitstamp frames that are a pure function of the frame.

Bitstamp writes ``channel`` after the payload (``{"data": {...}, "channel": "live_trades_btcusd",
"event": "trade"}``): the router finds it as a top-level key among the frame's first
:data:`WITHIN` bytes (a longer frame takes the adapter's path). A channel names its pair, so
a route has its symbol; routes are kept per connection, because a book follows the
connection its diffs come on.

Routed once the adapter's path has read a frame of the channel on that connection:

- ``live_trades_<pair>`` trades that carry ``amount_str`` and ``price_str`` (the exact decimals
  the adapter prefers to the binary floats);
- ``diff_order_book_<pair>`` diffs on the connection the book follows; when the book moves to
  another connection (a recorder's reconnect), the old connection's route is dropped, and
  the adapter resyncs the book.

Not routed: ``order_book_<pair>`` (a ticker only when the top of book changed: state) and
``funding_rate_<pair>`` (merged derivative tickers).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ... import fastpath
from ...fastpath import OUT, RECEIVED, SYMBOL, attr, call, choice, const, emit, guard, micros, text
from ...models import Trade
from .feeds import SIDES, BitstampFeeds
from .schemas import BookMessage, ExactTradeMessage

__all__ = ["WITHIN", "FastRoutes"]

WITHIN = 1024
"""Bytes of a frame the router looks for ``channel`` in: every trade, and the diffs of most books."""

_trade = msgspec.json.Decoder(ExactTradeMessage, strict=False)
_book = msgspec.json.Decoder(BookMessage, strict=False)
_NEVER = "\x00"  # no channel is named this: a route with this condition declines every frame
_MAX_ROUTES = 65_536


class FastRoutes(BitstampFeeds):
    """Routes of :class:`~collector.exchanges.bitstamp.BitstampAdapter` (a mixin of it)."""

    _router: Any
    _routed: set[tuple[str, str]]
    """(connection, channel) routed."""

    def _start_router(self) -> None:
        self._router = self.use_router("channel", per_conn=True, within=WITHIN)
        self._routed = set()
        self._fast = not isinstance(self._router, fastpath.NoRouter)

    def _add(self, conn: str, channel: str, decoder: Any, symbol: str | None, event: str, step: Any) -> None:
        # A step holds one condition: the event's goes on a step that does nothing (tuple()), last:
        # every condition is checked before any step runs.
        self._router.add(channel, decoder, symbol, step, guard("event", event), conn=conn)

    def _route_trades(self, conn: str, channel: str, symbol: str) -> None:
        """Route ``live_trades_<pair>`` on ``conn`` (called after the adapter's path read one)."""
        if not self._fast or (conn, channel) in self._routed or len(self._routed) >= _MAX_ROUTES:
            return
        self._routed.add((conn, channel))
        fill = (micros("microtimestamp"), RECEIVED, attr("price_str"), attr("amount_str"), choice("type", SIDES))
        step = emit(Trade, const(self.id), SYMBOL, *fill, text("id"), at="data", when=("channel", channel))
        self._add(conn, channel, _trade, symbol, "trade", step)

    def _route_diffs(self, conn: str, channel: str, symbol: str) -> None:
        """Route ``diff_order_book_<pair>`` on ``conn``, the connection the book follows."""
        if not self._fast or (conn, channel) in self._routed or len(self._routed) >= _MAX_ROUTES:
            return
        self._routed.add((conn, channel))
        stamp = attr("microtimestamp")
        fields = (attr("bids"), attr("asks"), stamp, stamp, const(None), micros("microtimestamp"), RECEIVED)
        step = call(self.books.delta, OUT, SYMBOL, *fields, at="data", when=("channel", channel))
        self._add(conn, channel, _book, symbol, "data", step)

    def _left(self, conn: str, channel: str) -> None:
        """The book moved away from ``conn``: its diffs there take the adapter's path (which resyncs)."""
        if (conn, channel) in self._routed:
            self._routed.discard((conn, channel))
            self._router.add(channel, _book, None, guard("channel", _NEVER), conn=conn)
