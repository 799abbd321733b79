"""Kraken Futures feed messages into events: books, trades, liquidations, tickers, funding.

The adapter (:mod:`.adapter`) routes each frame by its ``feed`` and owns the state these
handlers read and update: the products, the books, the merged derivative tickers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from ...models import Level, Liquidation, Side, Ticker, Trade
from ..base import Output
from .schemas import BookDelta, BookSnapshot, TickerLite, TradeMsg, TradeSnapshot
from .schemas import Ticker as TickerMsg

if TYPE_CHECKING:
    from .adapter import KrakenFuturesAdapter

__all__ = ["BOOK_SIDES", "SIDES", "Feeds", "Product"]

_snapshot = msgspec.json.Decoder(BookSnapshot, strict=False)
_delta = msgspec.json.Decoder(BookDelta, strict=False)
_trade = msgspec.json.Decoder(TradeMsg, strict=False)
_trades = msgspec.json.Decoder(TradeSnapshot, strict=False)
_ticker = msgspec.json.Decoder(TickerMsg, strict=False)
_lite = msgspec.json.Decoder(TickerLite, strict=False)
SIDES: dict[str, Side] = {"buy": "buy", "sell": "sell"}
# Trade types of a forced close. The docs name "liquidation" ("a result of a user being
# liquidated from their position"); a partial one is spelt "partialLiquidation" on the
# websocket and "partial liquidation" by REST.
_LIQUIDATIONS = frozenset({"liquidation", "partialLiquidation", "partial liquidation"})
"""A trade's ``side`` (the taker's)."""
BOOK_SIDES: dict[str, bool] = {"buy": True, "sell": False}
"""A ``book`` message's ``side``: ``True`` for a bid."""


class Product:
    """What the feeds need to know of one contract."""

    __slots__ = ("contract_size", "inverse", "perpetual", "symbol")

    def __init__(self, symbol: str, inverse: bool, contract_size: float, perpetual: bool) -> None:
        self.symbol = symbol
        self.inverse = inverse
        self.contract_size = contract_size
        self.perpetual = perpetual


class Feeds:
    """The handlers of :class:`~collector.exchanges.kraken_futures.KrakenFuturesAdapter`'s market-data feeds."""

    def __init__(self, adapter: KrakenFuturesAdapter) -> None:
        self.adapter = adapter

    def _product(self, conn: str, product_id: str, received: float, out: Output) -> Product | None:
        a = self.adapter
        product = a.products.get(product_id)
        if product is None:
            out.append(a.error(conn, "unknown_symbol", product_id[:50], received))
        return product

    def snapshot(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        """``book_snapshot``: the whole book, with the ``seq`` updates continue from."""
        a = self.adapter
        msg = _snapshot.decode(frame)
        product = self._product(conn, msg.product_id, received, out)
        if product is None:
            return
        a.carry(conn, product.symbol)
        bids = [(lv.price, lv.qty) for lv in msg.bids]
        asks = [(lv.price, lv.qty) for lv in msg.asks]
        ts = msg.timestamp / 1000.0 if msg.timestamp is not None else None
        a.books.snapshot(out, product.symbol, bids, asks, msg.seq, ts, received)

    def delta(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        """``book``: one level, absolute size in contracts, 0 removes it."""
        a = self.adapter
        msg = _delta.decode(frame)
        product = self._product(conn, msg.product_id, received, out)
        if product is None:
            return
        bid = BOOK_SIDES.get(msg.side)
        if bid is None:
            out.append(a.error(conn, "malformed", f"book: side {msg.side[:20]!r}", received, product.symbol))
            return
        ts = msg.timestamp / 1000.0 if msg.timestamp is not None else None
        self.level(out, product.symbol, bid, msg.price, msg.qty, msg.seq, ts, received)

    def level(
        self, out: Output, symbol: str, bid: bool, price: float, qty: float, seq: int, ts: float | None, received: float
    ) -> None:
        """Apply one ``book`` message's level to ``symbol``'s book (also what the fast path calls)."""
        level: list[Level] = [(price, qty)]
        # "seq" numbers every book message of a product: each must be the previous + 1.
        if bid:
            self.adapter.books.delta(out, symbol, level, [], seq, seq, None, ts, received)
        else:
            self.adapter.books.delta(out, symbol, [], level, seq, seq, None, ts, received)

    def trade(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        """``trade``: one fill (and a liquidation when its ``type`` says so)."""
        msg = _trade.decode(frame)
        product = self._product(conn, msg.product_id, received, out)
        if product is not None:
            self.seen(product.symbol, msg.seq)
            self._emit_trade(conn, product, msg, received, out)
            if self.adapter.wants(product.symbol, "trades"):
                self.adapter.fast.trades(msg.product_id, product)

    def seen(self, symbol: str, seq: int) -> None:
        """Remember the newest trade ``seq`` of ``symbol`` (also what the fast path calls for routed trades)."""
        last_trade = self.adapter.last_trade
        last = last_trade.get(symbol)
        if last is None or seq > last:
            last_trade[symbol] = seq

    def trade_snapshot(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        """``trade_snapshot``: recent trades on (re)subscribe, newest first; emitted oldest first,
        those at or below the last one seen left out (a resubscription repeats them)."""
        a = self.adapter
        msg = _trades.decode(frame)
        product = self._product(conn, msg.product_id, received, out)
        if product is None:
            return
        last = a.last_trade.get(product.symbol)
        newest = max((t.seq for t in msg.trades), default=None)
        if newest is not None:
            a.last_trade[product.symbol] = newest if last is None else max(last, newest)
        fresh = sorted((t for t in msg.trades if last is None or t.seq > last), key=_seq)
        if not fresh:
            a.control("trade_snapshot")
        for t in fresh:
            self._emit_trade(conn, product, t, received, out)

    def _emit_trade(self, conn: str, product: Product, t: TradeMsg, received: float, out: Output) -> None:
        a = self.adapter
        side = SIDES.get(t.side)
        if side is None:
            out.append(a.error(conn, "malformed", f"trade: side {t.side[:20]!r}", received, product.symbol))
            return
        cs = product.contract_size
        # Inverse: contracts worth cs USD each, over the price (in this order, as the fast path computes it).
        amount = t.qty / t.price * cs if product.inverse else t.qty * cs
        ts = t.time / 1000.0
        symbol = product.symbol
        trade_id = t.uid or str(t.seq)
        if a.wants(symbol, "trades"):
            out.append(Trade(a.id, symbol, ts, received, t.price, amount, side, trade_id))
        if t.type in _LIQUIDATIONS and a.wants(symbol, "liquidations"):
            # The liquidation engine's order takes liquidity: its side is the trade's.
            out.append(Liquidation(a.id, symbol, ts, received, side, t.price, amount, trade_id))

    def ticker(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        """``ticker``: a ticker (unless ``ticker_lite`` quotes this product) and the merged derivative ticker."""
        a = self.adapter
        t = _ticker.decode(frame)
        product = self._product(conn, t.product_id, received, out)
        if product is None:
            return
        symbol = product.symbol
        ts = t.time / 1000.0 if t.time is not None else None
        cs = product.contract_size
        if (conn, symbol) not in a.lite and a.wants(symbol, "ticker"):
            quote = self._quote(product, ts, received, t.bid, t.ask, t.volume, t.volumeQuote, t)
            out.append(quote)
        if not a.wants(symbol, "funding"):
            return
        a.ticker_on(conn, symbol)
        mark = t.markPrice or None
        oi = t.openInterest
        if oi is None:
            oi_value = None
        elif product.inverse:
            oi_value = oi * cs  # contracts are worth cs USD each
        else:
            oi_value = oi * cs * mark if mark is not None else None
        perpetual = product.perpetual
        # "If zero, field is not populated": on a perpetual an absent rate is 0.
        rate = t.relative_funding_rate if t.relative_funding_rate is not None else (0.0 if perpetual else None)
        predicted = t.relative_funding_rate_prediction
        if predicted is None and perpetual:
            predicted = 0.0
        nxt = t.next_funding_rate_time / 1000.0 if t.next_funding_rate_time is not None else None
        event = a.derivatives.update(
            symbol,
            ts,
            received,
            mark_price=mark,
            index_price=t.index or None,
            funding_rate=rate,
            next_funding_time=nxt,
            predicted_funding_rate=predicted,
            open_interest=oi,
            open_interest_value=oi_value,
            last_price=t.last or None,
        )
        if event is not None:
            out.append(event)

    def ticker_lite(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        """``ticker_lite``: best bid/ask and 24 h volume, without sizes."""
        a = self.adapter
        t = _lite.decode(frame)
        product = self._product(conn, t.product_id, received, out)
        if product is not None and a.wants(product.symbol, "ticker"):
            out.append(self._quote(product, None, received, t.bid, t.ask, t.volume, t.volumeQuote, None))

    def _quote(
        self,
        product: Product,
        ts: float | None,
        received: float,
        bid: float,
        ask: float,
        volume: float | None,
        volume_quote: float | None,
        full: TickerMsg | None,
    ) -> Ticker:
        """A ticker from ``ticker`` (``full``: sizes and 24 h prices) or ``ticker_lite`` (quote only)."""
        a = self.adapter
        cs = product.contract_size
        if product.inverse:
            # Contracts are USD: the 24 h volume is a quote volume; the base volume is not given.
            base_volume = None
            quote_volume = volume_quote if volume_quote is not None else (volume * cs if volume is not None else None)
        else:
            base_volume = volume * cs if volume is not None else None
            quote_volume = volume_quote
        if full is None:
            return Ticker(
                a.id,
                product.symbol,
                ts,
                received,
                bid or None,
                None,
                ask or None,
                None,
                volume=base_volume,
                quote_volume=quote_volume,
            )
        return Ticker(
            a.id,
            product.symbol,
            ts,
            received,
            bid or None,
            full.bid_size if bid else None,
            ask or None,
            full.ask_size if ask else None,
            last=full.last or None,
            open=full.open or None,
            high=full.high or None,
            low=full.low or None,
            volume=base_volume,
            quote_volume=quote_volume,
        )


def _seq(trade: TradeMsg) -> int:
    return trade.seq
