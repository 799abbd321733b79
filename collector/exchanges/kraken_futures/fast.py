"""The fast path of Kraken Futures (:mod:`collector.fastpath`): book and trade messages without Python parsing.

- ``book`` messages (most of the traffic: one per changed level) are routed for every
  product at once by their leading ``feed``; the product comes from the frame, and the
  level goes to :meth:`Feeds.level <collector.exchanges.kraken_futures.feeds.Feeds.level>`,
  the one function both paths apply book messages with.
- ``trade`` messages are routed per product (frames start ``{"feed":"trade","product_id":"``),
  since the contract size and kind turn contracts into the amount: inverse
  ``qty / price * contractSize``, linear ``qty * contractSize``. Plain fills with a trade
  id only; liquidations and other types take the Python path. The newest ``seq`` is kept
  by :meth:`Feeds.seen <collector.exchanges.kraken_futures.feeds.Feeds.seen>` on both paths.

Whatever a route is not sure of (an unknown product or side, a frame that does not decode)
goes to the adapter's own parser, which reports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from ... import fastpath
from ...fastpath import OUT, RECEIVED, attr, call, choice, emit, millis, symbol_from
from ...models import Trade
from .feeds import BOOK_SIDES, SIDES, Feeds, Product
from .schemas import BookDelta, RoutedTrade

if TYPE_CHECKING:
    from .adapter import KrakenFuturesAdapter

__all__ = ["FastRoutes"]

_delta = msgspec.json.Decoder(BookDelta, strict=False)
_trade = msgspec.json.Decoder(RoutedTrade, strict=False)
_TRADE_PREFIX = '{"feed":"trade","product_id":"'
_MAX_ROUTES = 20_000  # products (Kraken Futures lists a few hundred)


class FastRoutes:
    """The adapter's routers and the routes declared on them (nothing without the C module)."""

    def __init__(self, adapter: KrakenFuturesAdapter, feeds: Feeds) -> None:
        self.adapter = adapter
        self.feeds = feeds
        # Frames reach the router installed last first: book messages, the bulk, are tried first.
        self._trades = adapter.use_router("product_id", prefix=_TRADE_PREFIX)
        self._books = adapter.use_router("feed")
        self.enabled = not isinstance(self._books, fastpath.NoRouter)
        self.trade_symbols: dict[str, str] = {}
        """Product id -> symbol whose plain trades the fast path emits (the plan may want none)."""
        self._routed: set[str] = set()
        if self.enabled:
            product = symbol_from("product_id", adapter.instruments.symbols_by_native)
            side = choice("side", BOOK_SIDES)
            level = (attr("price"), attr("qty"), attr("seq"), millis("timestamp"), RECEIVED)
            self._books.add("book", _delta, None, call(feeds.level, OUT, product, side, *level))

    def listed(self, native: str, product: Product) -> None:
        """A listing (re)loaded ``native``: its trade route, if any, is declared again from it."""
        if native in self.trade_symbols:
            self.trade_symbols[native] = product.symbol
        if native in self._routed:
            self._declare(native, product)

    def trades(self, native: str, product: Product) -> None:
        """Route ``native``'s plain trades from now on (its trades were parsed and are wanted)."""
        self.trade_symbols[native] = product.symbol
        if self.enabled and native not in self._routed and len(self._routed) < _MAX_ROUTES:
            self._routed.add(native)
            self._declare(native, product)

    def _declare(self, native: str, product: Product) -> None:
        cs = product.contract_size
        amount = fastpath.ratio("qty", "price", cs) if product.inverse else fastpath.scaled("qty", cs)
        symbol = symbol_from("product_id", self.trade_symbols)
        fields = (millis("time"), RECEIVED, attr("price"), amount, choice("side", SIDES), attr("uid"))
        trade = emit(Trade, fastpath.const(self.adapter.id), symbol, *fields, when=("type", "fill"))
        self._trades.add(native, _trade, None, trade, call(self.feeds.seen, symbol, attr("seq")))
