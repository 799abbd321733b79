"""The fast path (:mod:`collector.fastpath`) for Deribit notifications that are a pure function of the frame.

Every notification starts with the same text up to its channel name,
``{"jsonrpc":"2.0","method":"subscription","params":{"channel":"``: that run of text is the
router's key, so the channel name is the routing value (the router builds its prefix as
``{"<key>":"``; a ``prefix=`` argument of the router would say this directly).

Routed, once the adapter's own path has handled :data:`ROUTE_AFTER` frames of a channel on a
connection (building a route costs about a millisecond: a channel is routed once it has
shown it is busy, and the hundreds of quiet option channels a session may hold are not):

- trades of options, linear contracts and spot (amounts are base units already), without
  liquidations (those decode only on the adapter's path, which emits them too);
- tickers whose book sides are both quoted and whose prices are not 0, and on inverse
  perpetuals and futures their derivative ticker, compared by the adapter's own code.

Not routed: inverse trades (``amount / price`` is no wire field), book changes (``[action,
price, amount]`` triples with ``delete`` meaning 0 are no ``(price, size)`` pairs), candles
(closed when the next bar starts) and the derivative tickers of linear contracts (their
open interest value is a product that can overflow, which the boundary must see).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import msgspec

from ... import fastpath
from ...fastpath import OUT, RECEIVED, SYMBOL, attr, call, emit, millis
from ...models import Ticker, Trade
from ..base import Output
from .parse import ChannelParsers
from .schemas import Notification, RoutedTicker, RoutedTrade

__all__ = ["KEY", "ROUTE_AFTER", "FastRoutes"]

KEY = 'jsonrpc":"2.0","method":"subscription","params":{"channel'
"""The text every notification starts with, up to its channel name (see the module docstring)."""

ROUTE_AFTER = 100
"""Frames of a channel on a connection the adapter's path handles before the channel is routed."""

_trades = msgspec.json.Decoder(Notification[list[RoutedTrade]], strict=False)
_ticker = msgspec.json.Decoder(Notification[RoutedTicker], strict=False)
_raw = msgspec.json.Decoder(Notification[msgspec.Raw])
_NEVER = "\x00"  # no channel is named this: a route with this condition declines every frame
_MAX_ROUTES = 65_536
_D = "params.data"


class FastRoutes(ChannelParsers):
    """Routes of :class:`~collector.exchanges.deribit.DeribitAdapter` (a mixin of it)."""

    _router: Any
    _fast: bool
    _routed: set[tuple[str, str]]
    """(connection, channel) decided once: routed or left to the adapter's path."""
    _handled: dict[tuple[str, str], int]
    """(connection, channel) -> frames the adapter's path handled, until it is decided."""

    def _start_router(self) -> None:
        self._router = self.use_router(KEY, per_conn=True)
        self._fast = not isinstance(self._router, fastpath.NoRouter)
        self._routed = set()
        self._handled = {}

    def _count_for_route(self, conn: str, channel: str, symbol: str, kind: str) -> None:
        """One more frame of a routable channel handled by the adapter's path; route it at :data:`ROUTE_AFTER`."""
        key = (conn, channel)
        handled = self._handled.get(key, 0) + 1
        if handled < ROUTE_AFTER:
            if len(self._handled) < _MAX_ROUTES:
                self._handled[key] = handled
        elif key not in self._routed:
            self._handled.pop(key, None)
            self._route_fast(conn, channel, symbol, kind)

    def _route_fast(self, conn: str, channel: str, symbol: str, kind: str) -> None:
        """Route ``channel`` on ``conn`` from now on, if its frames are a pure function of themselves."""
        if not self._fast or len(self._routed) >= _MAX_ROUTES:
            return
        self._routed.add((conn, channel))
        market = self._markets[symbol]
        ex = fastpath.const(self.id)
        if kind == "trades":
            if market.inverse or not self._wanted(symbol, "trades"):
                return
            fields = ("price", "amount", "direction", "trade_id")
            step = emit(Trade, ex, SYMBOL, millis("timestamp"), RECEIVED, *map(attr, fields), each=_D)
            self._router.add(channel, _trades, symbol, step, conn=conn)
        elif kind == "ticker":
            steps = []
            if self._wanted(symbol, "ticker"):
                quote_volume = "volume_usd" if market.quote == "USD" else "volume_notional"
                book = (
                    attr("best_bid_price"),
                    attr("best_bid_amount"),
                    attr("best_ask_price"),
                    attr("best_ask_amount"),
                )
                day = (fastpath.const(None), attr("stats.high"), attr("stats.low"), attr("stats.volume"))
                args = (ex, SYMBOL, millis("timestamp"), RECEIVED, *book, attr("last_price"), *day)
                steps.append(emit(Ticker, *args, attr(f"stats.{quote_volume}"), at=_D))
            if market.kind in ("swap", "future") and self._wanted(symbol, "funding"):
                if not market.inverse:
                    return
                funding = ("mark_price", "index_price", "current_funding", "open_interest", "last_price")
                merge = partial(self._routed_funding, conn)
                steps.append(call(merge, OUT, SYMBOL, millis("timestamp"), RECEIVED, *map(attr, funding), at=_D))
            if steps:
                self._router.add(channel, _ticker, symbol, *steps, conn=conn)

    def _routed_funding(
        self,
        conn: str,
        out: Output,
        symbol: str,
        ts: float,
        received: float,
        mark: float | None,
        index: float | None,
        rate: float | None,
        interest: float | None,
        last: float | None,
    ) -> None:
        # Inverse contracts: open interest is USD already, its own value.
        self._merge_funding(conn, symbol, ts, received, mark, index, rate, interest, interest, last, out)

    def _unroute_all(self) -> None:
        """Send every routed channel back to the adapter's path (what is wanted changed)."""
        for conn, channel in self._routed:
            self._router.add(channel, _raw, None, emit(Trade, when=("params.channel", _NEVER)), conn=conn)
        self._routed.clear()
        self._handled.clear()
