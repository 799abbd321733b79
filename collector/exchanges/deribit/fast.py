"""The fast path (:mod:`collector.fastpath`) for Deribit notifications that are a pure function of the frame.

Every notification starts with the same text up to its channel name,
``{"jsonrpc":"2.0","method":"subscription","params":{"channel":"`` (:data:`PREFIX`): the router
reads the channel name after it. A channel names its instrument, so a route has its symbol;
routes are kept per connection, because a book follows the connection it arrives on.

Routed once the adapter's own path has handled :data:`ROUTE_AFTER` frames of the channel on
that connection: adding a route costs some 25 µs and saves one or two per frame, and a session
may hold hundreds of option channels that each send a few frames a minute.

- trades without liquidations (a trade carrying ``liquidation`` decodes only on the adapter's
  path, which emits its liquidation too); inverse amounts are USD, ``amount / price`` base
  units (checked: a tiny price could make them infinite, which the boundary must see);
- tickers whose book sides are both quoted and whose prices are not 0, and on inverse
  perpetuals and futures their derivative ticker, compared by the adapter's own code;
- book changes (``prev_change_id`` given) on the connection and channel that own the book,
  whose ``delete`` entries say amount 0 (the adapter's path takes ``delete`` as size 0
  whatever the amount says; such a change decodes only there).

Not routed: book snapshots (they reset the book in the adapter's path), candles (closed when
the next bar starts) and the derivative tickers of linear contracts (their open interest
value is a product that can overflow, which the boundary must see).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import msgspec

from ... import fastpath
from ...fastpath import OUT, RECEIVED, SYMBOL, attr, call, emit, guard, levels, millis
from ...models import Ticker, Trade
from ...validate import invalid
from ..base import Output
from .parse import ChannelParsers
from .schemas import Notification, RoutedChange, RoutedTicker, RoutedTrade

__all__ = ["PREFIX", "ROUTE_AFTER", "FastRoutes"]

PREFIX = '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"'
"""The text every notification starts with, up to its channel name."""

ROUTE_AFTER = 16
"""Frames of a channel on a connection the adapter's path handles before the channel is routed."""

_trades = msgspec.json.Decoder(Notification[list[RoutedTrade]], strict=False)
_ticker = msgspec.json.Decoder(Notification[RoutedTicker], strict=False)
_change = msgspec.json.Decoder(Notification[RoutedChange], strict=False)
_raw = msgspec.json.Decoder(Notification[msgspec.Raw])
_NEVER = "\x00"  # no channel is named this: a route with this condition declines every frame
_MAX_ROUTES = 65_536
_D = "params.data"


class FastRoutes(ChannelParsers):
    """Routes of :class:`~collector.exchanges.deribit.DeribitAdapter` (a mixin of it)."""

    _router: Any
    _fast: bool
    _routed: dict[tuple[str, str], str]
    """(connection, channel) decided once -> the route's kind (``""``: left to the adapter's path)."""
    _handled: dict[tuple[str, str], int]
    """(connection, channel) -> frames the adapter's path handled, until it is decided."""

    def _start_router(self) -> None:
        self._router = self.use_router("channel", per_conn=True, prefix=PREFIX)
        self._fast = not isinstance(self._router, fastpath.NoRouter)
        self._routed = {}
        self._handled = {}

    def _count_for_route(self, conn: str, channel: str, symbol: str, kind: str) -> None:
        """One more frame of a routable channel handled by the adapter's path; route it at :data:`ROUTE_AFTER`."""
        key = (conn, channel)
        handled = self._handled.get(key, 0) + 1
        if handled < ROUTE_AFTER:
            if len(self._handled) < _MAX_ROUTES:
                self._handled[key] = handled
        else:
            self._handled.pop(key, None)
            self._route_fast(conn, channel, symbol, kind)

    def _route_fast(self, conn: str, channel: str, symbol: str, kind: str) -> None:
        """Route ``channel`` on ``conn`` from now on, if its frames are a pure function of themselves."""
        if not self._fast or (conn, channel) in self._routed or len(self._routed) >= _MAX_ROUTES:
            return
        if kind == "book" and self._book_owner.get(symbol) != (conn, channel):
            return  # a second book channel of the symbol: decided when it owns the book, if ever
        self._routed[conn, channel] = ""
        market = self._markets[symbol]
        ex = fastpath.const(self.id)
        if kind == "trades":
            if not self._wanted(symbol, "trades"):
                return
            # "For perpetual and inverse futures the amount is in USD units": base = USD / price.
            amount = fastpath.ratio("amount", "price") if market.inverse else attr("amount")
            fill = (attr("price"), amount, attr("direction"), attr("trade_id"))
            check = invalid if market.inverse else None
            step = emit(Trade, ex, SYMBOL, millis("timestamp"), RECEIVED, *fill, each=_D, check=check)
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
        elif kind == "book":
            sides = [levels(side, "price", "amount", skip_zero=False) for side in ("bids", "asks")]
            ids = (attr("change_id"), attr("change_id"), attr("prev_change_id"), millis("timestamp"), RECEIVED)
            step = call(self.books.delta, OUT, SYMBOL, *sides, *ids, at=_D)
            self._router.add(channel, _change, symbol, step, conn=conn)
        else:
            return
        self._routed[conn, channel] = kind

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

    def _unroute(self, conn: str | None = None, kind: str | None = None) -> None:
        """Send routed channels (of ``conn``, of ``kind``; all by default) back to the adapter's path."""
        if conn is None and kind is None:
            self._handled.clear()
        for key, routed in list(self._routed.items()):
            if (conn is None or key[0] == conn) and (kind is None or routed == kind):
                del self._routed[key]
                if routed:
                    never = guard("params.channel", _NEVER)
                    self._router.add(key[1], _raw, None, never, conn=key[0])
