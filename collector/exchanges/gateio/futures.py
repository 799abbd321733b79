"""Gate perpetual futures channel messages into events (the handlers :mod:`.parse` describes).

Futures sizes are contracts. Trade and liquidation amounts become base units (linear
``contracts * quanto_multiplier``, inverse ``contracts * 1 USD / price``); book and best
bid/ask sizes stay in contracts, as Gate sends them; open interest (``total_size``) is in
contracts and its value in the quote currency (USDT, or USD for the inverse contract).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from ...book import BookSync
from ...models import Level, Liquidation, Side, Ticker, Trade
from .instruments import ContractInfo
from .parse import Route, UnknownNative, bar_of, candle_event, full_book, optional_price
from .schemas import Candle as WireCandle
from .schemas import (
    FuturesBookTicker,
    FuturesBookUpdate,
    FuturesLevel,
    FuturesTicker,
    FuturesTrade,
    PublicLiquidation,
    Push,
)

if TYPE_CHECKING:
    from ..base import Output
    from ..derivatives import DerivativeTickers

__all__ = ["FuturesFeeds", "futures_levels", "next_funding"]

_futures_trades = msgspec.json.Decoder(Push[list[FuturesTrade]], strict=False)
_futures_book_ticker = msgspec.json.Decoder(Push[FuturesBookTicker], strict=False)
_futures_book = msgspec.json.Decoder(Push[FuturesBookUpdate], strict=False)
_futures_candles = msgspec.json.Decoder(Push[list[WireCandle]], strict=False)
_futures_tickers = msgspec.json.Decoder(Push[list[FuturesTicker]], strict=False)
_liquidations = msgspec.json.Decoder(Push[list[PublicLiquidation]], strict=False)


def futures_levels(levels: list[FuturesLevel]) -> list[Level]:
    """Futures level objects ``{"p", "s"}`` as ``(price, contracts)`` pairs."""
    return [(level.p, level.s) for level in levels]


class FuturesFeeds:
    """Handlers of the perpetual futures channels (see the module docstring for units)."""

    def __init__(
        self,
        exchange: str,
        contracts: dict[str, ContractInfo],
        books: BookSync,
        derivatives: DerivativeTickers,
        control: Callable[[str], None],
    ) -> None:
        self.exchange = exchange
        self.contracts = contracts  # native contract -> what its frames need
        self.books = books
        self.derivatives = derivatives
        self.control = control
        self.seen: Callable[[str, str], None] = _nothing
        """Told ``(channel, native)`` after a trade or liquidation frame was read (the adapter routes it)."""
        self.routes: dict[str, Route] = {
            "futures.trades": (_futures_trades, self.trades),
            "futures.book_ticker": (_futures_book_ticker, self.book_ticker),
            "futures.order_book_update": (_futures_book, self.book),
            "futures.candlesticks": (_futures_candles, self.candles),
            "futures.tickers": (_futures_tickers, self.tickers),
            "futures.public_liquidates": (_liquidations, self.liquidations),
        }

    def _contract(self, native: str) -> ContractInfo:
        info = self.contracts.get(native)
        if info is None:
            raise UnknownNative(native)
        return info

    def _base(self, info: ContractInfo, contracts: float, price: float) -> float:
        """Contracts as base units: linear ``n * multiplier``, inverse ``n * 1 USD / price``."""
        if info.inverse:
            return contracts * info.contract_size / price
        return contracts * info.contract_size

    def trades(self, conn: str, msg: Push[list[FuturesTrade]], received: float, out: Output) -> None:
        """``futures.trades``: "positive size means taker is buyer, negative seller"."""
        events = []
        unknown = None
        for t in msg.result:
            size = t.size
            if not size:
                raise ValueError("trade of size 0")
            info = self.contracts.get(t.contract)
            if info is None:
                unknown = t.contract
                continue
            side: Side = "buy" if size > 0 else "sell"
            amount = self._base(info, abs(size), t.price)
            events.append(
                Trade(self.exchange, info.symbol, t.create_time_ms / 1000.0, received, t.price, amount, side, str(t.id))
            )
        out.extend(events)
        if unknown is not None:
            raise UnknownNative(unknown)
        if events:
            self.seen("futures.trades", msg.result[0].contract)

    def book_ticker(self, conn: str, msg: Push[FuturesBookTicker], received: float, out: Output) -> None:
        """``futures.book_ticker``: best bid/ask, sizes in contracts ("" price: that side is empty)."""
        r = msg.result
        symbol = self._contract(r.s).symbol
        bid, ask = optional_price(r.b), optional_price(r.a)
        out.append(
            Ticker(
                self.exchange,
                symbol,
                r.t / 1000.0,
                received,
                bid,
                r.B if bid is not None else None,
                ask,
                r.A if ask is not None else None,
            )
        )

    def book(self, conn: str, msg: Push[FuturesBookUpdate], received: float, out: Output) -> None:
        """``futures.order_book_update``: level objects ``{"p", "s"}`` in contracts; ``full`` as on spot."""
        d = msg.result
        info = self.contracts.get(d.s)
        if info is None:
            raise UnknownNative(d.s)
        bids = [(level.p, level.s) for level in d.b]
        asks = [(level.p, level.s) for level in d.a]
        if d.full:
            full_book(self.books, out, info.symbol, bids, asks, d.U, d.u, d.t / 1000.0, received)
        elif d.U is None:
            raise ValueError("diff without U")
        else:
            self.books.delta(out, info.symbol, bids, asks, d.U, d.u, None, d.t / 1000.0, received)

    def candles(self, conn: str, msg: Push[list[WireCandle]], received: float, out: Output) -> None:
        """``futures.candlesticks``: ``a`` is the base amount; ``v`` counts contracts."""
        timestamp = msg.timestamp()
        events = []
        for c in msg.result:
            native = bar_of(c.n)[0]
            info = self.contracts.get(native)
            if info is None:
                if native.startswith(("mark_", "index_")):
                    # Mark and index price bars ("1m_mark_BTC_USDT") carry no trading volume.
                    self.control("price_candles")
                    continue
                raise UnknownNative(native)
            volume = c.a if c.a is not None else self._base(info, c.v, c.c)
            events.append(candle_event(self.exchange, info.symbol, c, timestamp, received, volume))
        out.extend(events)

    def tickers(self, conn: str, msg: Push[list[FuturesTicker]], received: float, out: Output) -> None:
        """``futures.tickers``: mark/index price, funding, open interest; changes become derivative tickers.

        Gate's ticker has no next funding time: it comes from the contract listing's
        ``funding_next_apply``, moved on by ``funding_interval`` as fundings pass.
        """
        timestamp = msg.timestamp()
        now = timestamp if timestamp is not None else received
        events = []
        unknown = None
        for t in msg.result:
            info = self.contracts.get(t.contract)
            if info is None:
                unknown = t.contract
                continue
            interest = t.total_size
            value = None
            if interest is not None:
                if info.inverse:
                    value = interest * info.contract_size  # USD per contract
                else:
                    latest = self.derivatives.latest(info.symbol)
                    mark = t.mark_price or (latest.mark_price if latest is not None else None)
                    value = interest * info.contract_size * mark if mark else None
            event = self.derivatives.update(
                info.symbol,
                timestamp,
                received,
                mark_price=t.mark_price,
                index_price=t.index_price,
                funding_rate=t.funding_rate,
                next_funding_time=next_funding(info, now),
                predicted_funding_rate=t.funding_rate_indicative,
                open_interest=interest,
                open_interest_value=value,
                last_price=t.last,
            )
            if event is not None:
                events.append(event)
        out.extend(events)
        if unknown is not None:
            raise UnknownNative(unknown)

    def liquidations(self, conn: str, msg: Push[list[PublicLiquidation]], received: float, out: Output) -> None:
        """``futures.public_liquidates``: the liquidation order; a negative size is a sell (a long liquidated)."""
        events = []
        unknown = None
        for item in msg.result:
            size = item.size
            if not size:
                raise ValueError("liquidation of size 0")
            info = self.contracts.get(item.contract)
            if info is None:
                unknown = item.contract
                continue
            side: Side = "sell" if size < 0 else "buy"
            amount = self._base(info, abs(size), item.price)
            events.append(
                Liquidation(self.exchange, info.symbol, item.time_ms / 1000.0, received, side, item.price, amount)
            )
        out.extend(events)
        if unknown is not None:
            raise UnknownNative(unknown)
        if events:
            self.seen("futures.public_liquidates", msg.result[0].contract)


def _nothing(channel: str, native: str) -> None:
    """No one to tell."""


def next_funding(info: ContractInfo, now: float) -> float | None:
    """The first funding time after ``now`` on the listing's schedule."""
    nxt, interval = info.funding_next, info.funding_interval
    if nxt is None:
        return None
    if nxt <= now and interval > 0:
        nxt += ((now - nxt) // interval + 1) * interval
    return nxt
