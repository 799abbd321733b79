"""The fast path of OKX (:mod:`collector.fastpath`): trades and tickers without Python parsing.

Pushes start with their subscription (``{"arg":{"channel":"trades","instId":"BTC-USDT"}``),
so a router per channel reads the instrument id right after that literal prefix and routes
each instrument on its own: its kind and contract value make the amounts.

- ``trades`` of spot pairs (the size is the amount) and inverse contracts (``sz / px *
  ctVal`` base units, as :meth:`Market.base_units <collector.exchanges.okx.instruments.Market.base_units>`
  computes it). Linear contracts are not routed: their ``sz * ctVal`` is rounded to the
  contract's decimals (0.55 contracts of 0.01 BTC are 0.0055 BTC, not the float product),
  which no recipe does.
- ``tickers``: when every value is there and every price is above 0 (``""`` and ``"0"`` are
  "no value", which the Python path turns into ``None``); derivative volumes as the Python
  path reports them.

- ``books`` updates, per connection: the levels decoded in C, then one Python step
  (:meth:`BookParsers._routed_update <collector.exchanges.okx.books.BookParsers._routed_update>`)
  that judges the book's owner, heartbeats, resets and the id chain as the Python path does.
  Declared for a book that keeps no level texts (no checksum to verify: OKX has sent 0 since
  2026-06-23); snapshots and the other book channels keep the Python path.

Routes are declared for an instrument once the Python path has parsed one of its pushes of
that channel. Not routed: the derivative channels (merged into one ticker).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from ... import fastpath
from ...fastpath import OUT, RECEIVED, SYMBOL, attr, call, choice, const, emit, levels, millis
from ...models import Ticker, Trade
from .instruments import Market
from .parse import SIDES
from .schemas import BookData, Push, RoutedTicker, TradeData

if TYPE_CHECKING:
    from ..base import Adapter

__all__ = ["FastRoutes"]

_trades = msgspec.json.Decoder(Push[list[TradeData]], strict=False)
_tickers = msgspec.json.Decoder(Push[list[RoutedTicker]], strict=False)
_books = msgspec.json.Decoder(Push[list[BookData]], strict=False)
_BOOK_LEVELS = (levels("bids", "px", "sz", skip_zero=False), levels("asks", "px", "sz", skip_zero=False))
_MAX_ROUTES = 20_000  # instruments per channel (OKX lists a few thousand)


class FastRoutes:
    """The adapter's trade, ticker and book routers and the routes declared on them (nothing without the C module)."""

    def __init__(self, adapter: Adapter) -> None:
        self._exchange = const(adapter.id)
        self._trades = adapter.use_router("instId", prefix='{"arg":{"channel":"trades","instId":"')
        self._tickers = adapter.use_router("instId", prefix='{"arg":{"channel":"tickers","instId":"')
        self._books = adapter.use_router("instId", per_conn=True, prefix='{"arg":{"channel":"books","instId":"')
        self.enabled = not isinstance(self._tickers, fastpath.NoRouter)
        self._traded: set[str] = set()
        self._quoted: set[str] = set()
        self._booked: set[tuple[str, str]] = set()

    def listed(self, market: Market) -> None:
        """A listing (re)loaded ``market``: its routes, if any, are declared again from it."""
        for routed, declare in ((self._traded, self.trades), (self._quoted, self.tickers)):
            if market.native in routed:
                routed.discard(market.native)
                declare(market)

    def trades(self, market: Market) -> None:
        """Route ``market``'s ``trades`` pushes from now on."""
        if not self.enabled or market.native in self._traded or len(self._traded) >= _MAX_ROUTES:
            return
        if market.kind == "spot":
            amount = attr("sz")
        elif market.inverse:
            amount = fastpath.ratio("sz", "px", market.ct)
        else:
            return  # rounded to the contract's decimals: the Python path
        self._traded.add(market.native)
        fields = (millis("ts"), RECEIVED, attr("px"), amount, choice("side", SIDES), attr("tradeId"))
        self._trades.add(
            market.native, _trades, market.symbol, emit(Trade, self._exchange, SYMBOL, *fields, each="data")
        )

    def tickers(self, market: Market) -> None:
        """Route ``market``'s ``tickers`` pushes from now on."""
        if not self.enabled or market.native in self._quoted or len(self._quoted) >= _MAX_ROUTES:
            return
        self._quoted.add(market.native)
        quote = (attr("bidPx"), attr("bidSz"), attr("askPx"), attr("askSz"))
        day = (attr("last"), attr("open24h"), attr("high24h"), attr("low24h"))
        # "vol24h: contracts on derivatives, base on spot; volCcy24h: base on derivatives, quote on spot."
        if market.kind == "spot":
            volumes = (attr("vol24h"), attr("volCcy24h"))
        elif market.inverse:
            volumes = (attr("volCcy24h"), fastpath.scaled("vol24h", market.ct))  # ctVal USD per contract
        else:
            volumes = (attr("volCcy24h"), const(None))
        step = emit(Ticker, self._exchange, SYMBOL, millis("ts"), RECEIVED, *quote, *day, *volumes, each="data")
        self._tickers.add(market.native, _tickers, market.symbol, step)

    def books(self, conn: str, market: Market, update: Callable[..., Any]) -> None:
        """Route ``market``'s ``books`` updates on ``conn`` to ``update`` from now on:
        ``update(out, conn, symbol, bids, asks, seqId, prevSeqId, ts, received, checksum)``."""
        key = (conn, market.native)
        if not self.enabled or key in self._booked or len(self._booked) >= _MAX_ROUTES:
            return
        self._booked.add(key)
        ids = (attr("seqId"), attr("prevSeqId"), millis("ts"), RECEIVED, attr("checksum"))
        step = call(update, OUT, const(conn), SYMBOL, *_BOOK_LEVELS, *ids, each="data", when=("action", "update"))
        self._books.add(market.native, _books, market.symbol, step, conn=conn)
