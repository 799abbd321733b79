"""The fast path (:mod:`collector.fastpath`) for Crypto.com pushes that are a pure function of the frame.

A push names its subscription near its start (``{"id":-1,"method":"subscribe","code":0,"result":
{"instrument_name":"BTC_USDT","subscription":"book.BTC_USDT.50",...``): the router reads
``result.subscription`` among the frame's first :data:`WITHIN` bytes. A subscription names one
instrument, so a route has its symbol; every route also requires the result's
``instrument_name`` to be that instrument's and a numeric ``code`` 0 (what the adapter
checks). Routes are kept per connection: a book follows the connection it arrives on.

Routed once the adapter's path has read a push of the subscription on that connection:

- ``book.update`` deltas of one delta each with ``u`` and ``pu`` (v1 deltas), on the connection
  and subscription that own the book (a snapshot, ``book``, takes the adapter's path);
- tickers of instruments whose ticker is wanted, whose prices are not ``0`` (no value) and
  which carry their time, when the instrument's quantities need no contract size and it is
  not a derivative whose ticker also feeds a derivative ticker (merged state).

Not routed: trades (the tape drops the repeats of a subscription's first push: state),
candles (a bar is final when the next one starts: state), mark, index and funding (merged).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ... import fastpath
from ...fastpath import OUT, RECEIVED, attr, call, const, emit, guard, levels, millis, symbol_from
from ...models import Ticker
from .instruments import Market
from .parse import Channels
from .schemas import DeltaPush, QuotedTicker, RoutedPush

__all__ = ["WITHIN", "FastRoutes"]

WITHIN = 256
"""Bytes of a push the router looks for ``result.subscription`` in (the header fields come first)."""

_ticker = msgspec.json.Decoder(RoutedPush[QuotedTicker], strict=False)
_delta = msgspec.json.Decoder(DeltaPush, strict=False)
_NEVER = "\x00"  # no channel is named this: a route with this condition declines every frame
_MAX_ROUTES = 65_536
_D = "data.delta."


class FastRoutes(Channels):
    """Routes of :class:`~collector.exchanges.cryptocom.CryptocomAdapter` (a mixin of it)."""

    _router: Any
    _fast: bool
    _routed: dict[tuple[str, str], str]
    """(connection, subscription) routed -> its kind, ``book`` or ``ticker``."""

    def _start_router(self) -> None:
        self._router = self.use_router("result.subscription", per_conn=True, within=WITHIN)
        self._fast = not isinstance(self._router, fastpath.NoRouter)
        self._routed = {}

    def _routable(self, conn: str, subscription: str) -> bool:
        return self._fast and (conn, subscription) not in self._routed and len(self._routed) < _MAX_ROUTES

    def _route_book(self, conn: str, subscription: str, market: Market) -> None:
        """Route ``book.update`` deltas of ``subscription`` on ``conn``, which owns the book."""
        if not self._routable(conn, subscription):
            return
        self._routed[conn, subscription] = "book"
        native = symbol_from("instrument_name", {market.native: market.symbol})
        sides = tuple(levels(_D + f"update.{side}", "price", "size", skip_zero=False) for side in ("bids", "asks"))
        ids = (attr(_D + "u"), attr(_D + "u"), attr(_D + "pu"), millis(_D + "t"), RECEIVED)
        step = call(self.books.delta, OUT, native, *sides, *ids, at="result", when=("result.channel", "book.update"))
        # A step holds one condition: the subscription's goes on a step that does nothing (tuple()),
        # last: every condition is checked before any step runs, and nothing after the delta declines.
        only = guard("result.subscription", subscription)
        self._router.add(subscription, _delta, market.symbol, step, only, conn=conn)

    def _route_ticker(self, conn: str, subscription: str, market: Market) -> None:
        """Route the tickers of ``subscription`` on ``conn`` (see the module docstring for which)."""
        symbol = market.symbol
        wanted = self._ticker_symbols is None or symbol in self._ticker_symbols
        merged = market.derivative and symbol in self._derivative_symbols
        if not wanted or merged or market.contract != 1.0 or not self._routable(conn, subscription):
            return
        self._routed[conn, subscription] = "ticker"
        name = (const(self.id), const(symbol), millis("t"), RECEIVED)
        quotes = (attr("b"), attr("bs"), attr("k"), attr("ks"), attr("a"), const(None), attr("h"), attr("l"))
        volumes = (attr("v"), attr("vv") if market.usd_quote else const(None))
        step = emit(Ticker, *name, *quotes, *volumes, each="result.data", when=("result.channel", "ticker"))
        only = guard("result.instrument_name", market.native)
        self._router.add(subscription, _ticker, symbol, step, only, conn=conn)

    def _unroute(self, kind: str, conn: str | None = None) -> None:
        """Send routed subscriptions of ``kind`` (on ``conn``, or every connection) back to the adapter's path."""
        for key, routed in list(self._routed.items()):
            if routed == kind and (conn is None or key[0] == conn):
                del self._routed[key]
                self._router.add(key[1], _ticker, None, guard("result.channel", _NEVER), conn=key[0])
