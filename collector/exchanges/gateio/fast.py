"""The fast path (:mod:`collector.fastpath`) for Gate data frames that are a pure function of the frame.

Gate writes ``channel`` after ``time`` and ``time_ms`` (``{"time":..,"time_ms":..,"channel":"spot.trades",..``),
so the router finds it among the frame's first :data:`WITHIN` bytes. A channel carries every
pair or contract subscribed on the connection: each channel has one route, which reads the
pair from the payload (``symbol_from``; a pair the instrument list lacks declines the frame
and the adapter reports it). Every route also requires the decoded ``channel`` to be its own
(a frame naming two channels goes to the adapter, which reports it).

Routed from the start:

- ``spot.trades`` pushing one trade (a list is read by the adapter);
- ``spot.order_book_update`` / ``futures.order_book_update`` diffs that carry ``U`` (a ``full``
  book replaces the book in the adapter's path);
- ``spot.book_ticker`` / ``futures.book_ticker`` with both sides quoted (an empty side is ``""``);
- ``spot.tickers`` with ``time_ms`` and no empty side (``"0"``).

Routed once the adapter's path has read a frame of a linear contract (:meth:`GateRoutes.contracts`):
``futures.trades`` and ``futures.public_liquidates`` of every linear contract of that
contract's size (``abs(size) * multiplier`` takes the multiplier of the route; contracts of
other sizes keep the adapter's path).

Not routed: candlesticks (a bar's end is its start in seconds plus the interval, a sum no
recipe makes), ``futures.tickers`` (merged derivative tickers) and inverse contracts' trades
and liquidations (``abs(size) / price`` is no recipe either).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from ...book import BookSync
from ...fastpath import (
    OUT,
    RECEIVED,
    Arg,
    attr,
    call,
    choice,
    const,
    emit,
    guard,
    levels,
    millis,
    scaled,
    sign,
    symbol_from,
    text,
)
from ...models import Liquidation, Side, Ticker, Trade
from ...validate import invalid
from .instruments import ContractInfo
from .schemas import (
    FuturesBookDiff,
    FuturesTrade,
    PublicLiquidation,
    Push,
    QuotedBookTicker,
    QuotedSpotTicker,
    RoutedSpotTrade,
    SpotBookDiff,
    TimedPush,
)

__all__ = ["WITHIN", "GateRoutes"]

WITHIN = 128
"""Bytes of a frame the router looks for ``channel`` in (the adapter's own path looks twice as far)."""

_SIDES: dict[str, Side] = {"buy": "buy", "sell": "sell"}
_spot_trade = msgspec.json.Decoder(Push[RoutedSpotTrade], strict=False)
_spot_book = msgspec.json.Decoder(Push[SpotBookDiff], strict=False)
_book_ticker = msgspec.json.Decoder(Push[QuotedBookTicker], strict=False)
_spot_tickers = msgspec.json.Decoder(TimedPush[QuotedSpotTicker], strict=False)
_futures_book = msgspec.json.Decoder(Push[FuturesBookDiff], strict=False)
_futures_trades = msgspec.json.Decoder(Push[list[FuturesTrade]], strict=False)
_liquidations = msgspec.json.Decoder(Push[list[PublicLiquidation]], strict=False)


class GateRoutes:
    """Adds the routes of one Gate market to the adapter's router (see the module docstring)."""

    def __init__(self, router: Any, exchange: str, symbols: Mapping[str, str], books: BookSync) -> None:
        self.router = router
        self.exchange = const(exchange)
        self.symbols = symbols  # native -> unified symbol, the instrument map's own (live) dict
        self.books = books
        self.sized: set[str] = set()  # channels routed for one contract size

    def _add(self, channel: str, decoder: Any, *steps: tuple[Any, ...]) -> None:
        self.router.add(channel, decoder, None, *steps)

    def _book(self, channel: str, decoder: Any, bids: Arg, asks: Arg) -> None:
        native = symbol_from("s", self.symbols)
        ids = (attr("U"), attr("u"), const(None), millis("t"), RECEIVED)
        step = call(self.books.delta, OUT, native, bids, asks, *ids, at="result", when=("result.full", False))
        # A step holds one condition: the channel's goes on a step that does nothing (tuple()). Every
        # condition is checked before any step runs, and nothing after the delta can decline.
        self._add(channel, decoder, step, guard("channel", channel))

    def _book_ticker(self, channel: str) -> None:
        quotes = (attr("b"), attr("B"), attr("a"), attr("A"))
        args = (self.exchange, symbol_from("s", self.symbols), millis("t"), RECEIVED, *quotes)
        self._add(channel, _book_ticker, emit(Ticker, *args, at="result", when=("channel", channel)))

    def spot(self) -> None:
        """Route the spot channels (pairs come from the payload, so this needs no instrument yet)."""
        pair = symbol_from("currency_pair", self.symbols)
        trade = (pair, millis("create_time_ms"), RECEIVED, attr("price"), attr("amount"), choice("side", _SIDES))
        step = emit(Trade, self.exchange, *trade, text("id"), at="result", when=("channel", "spot.trades"))
        self._add("spot.trades", _spot_trade, step)
        self._book("spot.order_book_update", _spot_book, attr("b"), attr("a"))
        self._book_ticker("spot.book_ticker")
        quotes = (attr("result.highest_bid"), const(None), attr("result.lowest_ask"), const(None))
        day = (attr("result.last"), const(None), attr("result.high_24h"), attr("result.low_24h"))
        volumes = (attr("result.base_volume"), attr("result.quote_volume"))
        args = (self.exchange, symbol_from("result.currency_pair", self.symbols), millis("time_ms"), RECEIVED)
        self._add(
            "spot.tickers",
            _spot_tickers,
            emit(Ticker, *args, *quotes, *day, *volumes, when=("channel", "spot.tickers")),
        )

    def futures(self) -> None:
        """Route the futures book channels (sizes in contracts, as the adapter keeps them)."""
        self._book(
            "futures.order_book_update",
            _futures_book,
            levels("b", "p", "s", skip_zero=False),
            levels("a", "p", "s", skip_zero=False),
        )
        self._book_ticker("futures.book_ticker")

    def contracts(self, channel: str, native: str, contracts: Mapping[str, ContractInfo]) -> None:
        """Route ``futures.trades`` or ``futures.public_liquidates`` for the linear contracts sized as ``native`` is."""
        info = contracts.get(native)
        if channel in self.sized or info is None or info.inverse:
            return
        self.sized.add(channel)
        size = info.contract_size
        same = {n: c.symbol for n, c in contracts.items() if not c.inverse and c.contract_size == size}
        amount = scaled("size", size)
        # |size| * multiplier stays finite for multipliers up to 1; past that the event is checked.
        check = invalid if size > 1.0 else None
        if channel == "futures.trades":
            fill = (millis("create_time_ms"), RECEIVED, attr("price"), amount, sign("size", "sell", "buy"), text("id"))
            args = (self.exchange, symbol_from("contract", same), *fill)
            step = emit(Trade, *args, each="result", when=("channel", channel), check=check)
            self._add(channel, _futures_trades, step)
        else:
            order = (millis("time_ms"), RECEIVED, sign("size", "sell", "buy"), attr("price"), amount)
            step = emit(
                Liquidation,
                self.exchange,
                symbol_from("contract", same),
                *order,
                each="result",
                when=("channel", channel),
                check=check,
            )
            self._add(channel, _liquidations, step)
