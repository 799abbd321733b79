"""Handlers of Crypto.com's market-data pushes: trades, tickers, books, candles and derivatives.

Each handler decodes the frame once with the decoder of its channel (built at import) and
appends events to ``out``; routing, instruments and connections are in :mod:`.adapter`.

Units: trade amounts, candle and ticker volumes, ticker sizes and open interest are base
units (quantity times the listed ``contract_size``, which is 1 for every instrument Crypto.com
lists today); book sizes are the quantities Crypto.com sends (contracts, were a
``contract_size`` other than 1 ever listed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from ...models import Ticker
from ..base import Adapter, Output
from ..derivatives import DerivativeTickers
from .feeds import TIME_FRAMES, CandleBars, TradeTape
from .instruments import Market
from .schemas import BookDelta, BookSnapshot, CandleData, Level, Push, RateValue, TickerData, TradeData, Value

__all__ = ["UNUSED_CHANNELS", "Channels", "Handler", "OtherChannel"]

Handler = Callable[[str, str, float, Output], None]
"""A channel's handler: ``(conn, frame text, received, out)``."""

UNUSED_CHANNELS = frozenset({"settlement"})
"""Public market-data channels this adapter turns into no events (a recording may hold them)."""

_trades = msgspec.json.Decoder(Push[TradeData], strict=False)
_tickers = msgspec.json.Decoder(Push[TickerData], strict=False)
_snapshots = msgspec.json.Decoder(Push[BookSnapshot], strict=False)
_deltas = msgspec.json.Decoder(Push[BookDelta], strict=False)
_candles = msgspec.json.Decoder(Push[CandleData], strict=False)
_values = msgspec.json.Decoder(Push[Value], strict=False)
_rates = msgspec.json.Decoder(Push[RateValue], strict=False)

_HOUR_MS = 3_600_000


class OtherChannel(Exception):
    """A push decoded as one channel's names another in its result (the adapter routes it there)."""

    def __init__(self, channel: str) -> None:
        super().__init__(channel)
        self.channel = channel


def _pairs(levels: list[Level]) -> list[tuple[float, float]]:
    return [(level.price, level.size) for level in levels]


def _scaled(value: float | None, contract: float) -> float | None:
    return value * contract if value is not None else None


class Channels(Adapter):
    """The channel handlers of :class:`~collector.exchanges.cryptocom.CryptocomAdapter` (a mixin of it)."""

    _markets: dict[str, Market]
    _index_members: dict[str, list[str]]
    _derivative_symbols: set[str]
    _ticker_symbols: set[str] | None
    _book_owner: dict[str, tuple[str, str]]
    _trade_seen: set[tuple[str, str]]
    _tape: TradeTape
    _bars: CandleBars
    _derivatives: DerivativeTickers
    _marks: dict[str, float]
    _interest: dict[str, float]
    _index_prices: dict[str, float]

    def _market(self, conn: str, push: Push[Any], channel: str, received: float, out: Output) -> Market | None:
        """The instrument a decoded push names (an error when the listing has none)."""
        result = push.result
        code = push.code
        if result.channel != channel:
            raise OtherChannel(result.channel)
        if code and code != "0":
            detail = f"{channel} push with channel {result.channel[:40]!r} code {str(push.code)[:20]}"
            out.append(self.error(conn, "malformed", detail, received))
            return None
        market = self._markets.get(result.instrument_name)
        if market is None:
            out.append(self.error(conn, "unknown_symbol", f"{channel} {result.instrument_name[:100]}", received))
        return market

    def _contract(self, conn: str, push: Push[Any], channel: str, received: float, out: Output) -> Market | None:
        """As :meth:`_market`, for channels only derivatives have (a spot pair there is an error)."""
        market = self._market(conn, push, channel, received, out)
        if market is not None and not market.derivative:
            out.append(self.error(conn, "unknown_symbol", f"{channel} {market.native[:100]} is no contract", received))
            return None
        return market

    # -- what the fast path is told (:mod:`.fast`) ------------------------------------------------

    def _route_book(self, conn: str, subscription: str, market: Market) -> None:
        """The adapter's path applied a delta of ``subscription``, which owns the book, on ``conn``."""

    def _route_ticker(self, conn: str, subscription: str, market: Market) -> None:
        """The adapter's path read a ticker of ``subscription`` on ``conn``."""

    def _unroute(self, kind: str, conn: str | None = None) -> None:
        """Routes of ``kind`` (on ``conn``) no longer hold: their pushes take the adapter's path."""

    def _derives(self, symbol: str) -> None:
        """``symbol``'s tickers feed its derivative ticker from now on."""
        if symbol not in self._derivative_symbols:
            self._derivative_symbols.add(symbol)
            self._unroute("ticker")

    # -- trades and tickers ----------------------------------------------------------------------

    def _on_trade(self, conn: str, text: str, received: float, out: Output) -> None:
        push = _trades.decode(text)
        market = self._market(conn, push, "trade", received, out)
        if market is None:
            return
        symbol = market.symbol
        # "Returns last 50 trades on subscribe": the first push on a connection may repeat trades.
        first = (conn, symbol) not in self._trade_seen
        if first:
            self._trade_seen.add((conn, symbol))
        bad: list[str] = []
        repeats = self._tape.take(out, symbol, market.contract, push.result.data, first, received, bad)
        if repeats:
            self.stats["ignored.trade_repeat"] += repeats
        for side in bad:
            out.append(self.error(conn, "malformed", f"trade side {side[:20]!r}", received, symbol))

    def _on_ticker(self, conn: str, text: str, received: float, out: Output) -> None:
        push = _tickers.decode(text)
        market = self._market(conn, push, "ticker", received, out)
        if market is None:
            return
        symbol, contract = market.symbol, market.contract
        wanted = self._ticker_symbols is None or symbol in self._ticker_symbols
        derivative = market.derivative and symbol in self._derivative_symbols
        for d in push.result.data:
            ts = d.t / 1000.0 if d.t is not None else None
            last = d.a or None  # 0 (no trade yet, an empty book side) means "no value"
            if wanted:
                # vv is "the total 24h traded volume value (in USD)": the quote volume of USD pairs only.
                out.append(
                    Ticker(
                        self.id,
                        symbol,
                        ts,
                        received,
                        d.b or None,
                        _scaled(d.bs, contract),
                        d.k or None,
                        _scaled(d.ks, contract),
                        last,
                        None,
                        d.h or None,
                        d.l or None,
                        _scaled(d.v, contract),
                        d.vv if market.usd_quote else None,
                    )
                )
            if derivative:
                interest = _scaled(d.oi, contract)
                if interest is not None:
                    self._interest[symbol] = interest
                mark = self._marks.get(symbol)
                value = interest * mark if interest is not None and mark is not None else None
                self._merge(
                    out, symbol, ts, received, open_interest=interest, open_interest_value=value, last_price=last
                )
        if push.result.subscription:
            self._route_ticker(conn, push.result.subscription, market)

    # -- books -----------------------------------------------------------------------------------

    def _owns(self, conn: str, symbol: str, subscription: str) -> bool:
        """Whether pushes of ``subscription`` feed ``symbol``'s book: the first subscription seen keeps it
        (two depths of one instrument would fight over one book)."""
        owner = self._book_owner.get(symbol)
        if owner is None or owner[1] == subscription:
            if owner is None or owner[0] != conn:
                self._book_owner[symbol] = (conn, subscription)
                if owner is not None:
                    self._unroute("book", owner[0])
            return True
        self.control("second_depth")
        return False

    def _on_book(self, conn: str, text: str, received: float, out: Output) -> None:
        push = _snapshots.decode(text)
        market = self._market(conn, push, "book", received, out)
        if market is None or not self._owns(conn, market.symbol, push.result.subscription):
            return
        depth = push.result.depth or _depth_of(push.result.subscription)
        if depth is not None and depth > 0:
            # Whether a level pushed out of the subscribed depth gets a size-0 delete is not
            # documented: the book is cut back to that depth after every delta.
            self.books.set_depth(market.symbol, depth)
        for d in push.result.data:
            # "The first message is a book snapshot": it replaces the book (in SNAPSHOT mode every
            # message does). Old samples and the legacy v2 stream name the sequence s.
            sequence = d.u if d.u is not None else d.s
            ts = d.t / 1000.0 if d.t is not None else None
            self.books.snapshot(out, market.symbol, _pairs(d.bids), _pairs(d.asks), sequence, ts, received)

    def _on_book_update(self, conn: str, text: str, received: float, out: Output) -> None:
        push = _deltas.decode(text)
        market = self._market(conn, push, "book.update", received, out)
        if market is None or not self._owns(conn, market.symbol, push.result.subscription):
            return
        symbol = market.symbol
        for d in push.result.data:
            if d.u is None or d.pu is None:
                # The legacy v2 stream's deltas carry a sequence s and no link to the previous one:
                # a lost delta could not be told, so none is applied.
                detail = "book.update without u/pu (legacy v2 delta) cannot be sequenced"
                out.append(self.error(conn, "unsequenced", detail, received, symbol))
                continue
            # "apply only if pu == the u applied last; otherwise re-subscribe" (STREAM_PREV). Empty
            # updates are heartbeats whose u/pu still count.
            ts = d.t / 1000.0 if d.t is not None else None
            update = d.update
            self.books.delta(out, symbol, _pairs(update.bids), _pairs(update.asks), d.u, d.u, d.pu, ts, received)
        self._route_book(conn, push.result.subscription, market)

    # -- candles ---------------------------------------------------------------------------------

    def _on_candlestick(self, conn: str, text: str, received: float, out: Output) -> None:
        push = _candles.decode(text)
        market = self._market(conn, push, "candlestick", received, out)
        if market is None:
            return
        result = push.result
        # "candlestick.{time_frame}.{instrument_name}": the time frame is in interval, or in the name.
        name = result.interval or result.subscription.partition(".")[2].partition(".")[0]
        frame = TIME_FRAMES.get(name)
        if frame is None:
            out.append(self.error(conn, "malformed", f"candlestick time frame {name[:20]!r}", received, market.symbol))
            return
        interval, length = frame
        repeats = self._bars.take(out, market.symbol, interval, length, market.contract, result.data, received)
        if repeats:
            self.stats["ignored.old_candle"] += repeats

    # -- derivatives: mark, index, funding ---------------------------------------------------------

    def _merge(self, out: Output, symbol: str, ts: float | None, received: float, **fields: float | None) -> None:
        event = self._derivatives.update(symbol, ts, received, **fields)
        if event is not None:
            out.append(event)

    def _on_mark(self, conn: str, text: str, received: float, out: Output) -> None:
        push = _values.decode(text)
        market = self._contract(conn, push, "mark", received, out)
        if market is None:
            return
        symbol = market.symbol
        self._derives(symbol)
        for d in push.result.data:
            self._marks[symbol] = d.v
            interest = self._interest.get(symbol)
            value = interest * d.v if interest is not None else None
            index = self._index_prices.get(market.index)
            self._merge(
                out, symbol, d.t / 1000.0, received, mark_price=d.v, index_price=index, open_interest_value=value
            )

    def _on_index(self, conn: str, text: str, received: float, out: Output) -> None:
        push = _values.decode(text)
        result = push.result
        if result.channel != "index":
            raise OtherChannel(result.channel)
        if str(push.code) != "0":
            out.append(self.error(conn, "malformed", f"index push with channel {result.channel[:40]!r}", received))
            return
        # index.{name} names an index ("BTCUSD-INDEX", the underlying_symbol of its contracts).
        members = self._index_members.get(result.instrument_name)
        if members is None:
            out.append(self.error(conn, "unknown_symbol", f"index {result.instrument_name[:100]}", received))
            return
        for d in result.data:
            self._index_prices[result.instrument_name] = d.v
            for symbol in members:
                if symbol in self._derivative_symbols:
                    self._merge(out, symbol, d.t / 1000.0, received, index_price=d.v)

    def _on_funding(self, conn: str, text: str, received: float, out: Output) -> None:
        push = _rates.decode(text)
        market = self._contract(conn, push, "funding", received, out)
        if market is None:
            return
        self._derives(market.symbol)
        for d in push.result.data:
            # "the fixed hourly rate that will settle at the end of the hour".
            settles = (d.t // _HOUR_MS + 1) * _HOUR_MS / 1000.0
            self._merge(out, market.symbol, d.t / 1000.0, received, funding_rate=d.v, next_funding_time=settles)

    def _on_estimated_funding(self, conn: str, text: str, received: float, out: Output) -> None:
        push = _rates.decode(text)
        market = self._contract(conn, push, "estimatedfunding", received, out)
        if market is None:
            return
        self._derives(market.symbol)
        for d in push.result.data:
            # "the estimated hourly rate that will begin in the next interval".
            self._merge(out, market.symbol, d.t / 1000.0, received, predicted_funding_rate=d.v)


def _depth_of(subscription: str) -> int | None:
    """The depth a ``book.{instrument}.{depth}`` subscription names, if any."""
    tail = subscription.rpartition(".")[2]
    return int(tail) if subscription.startswith("book.") and tail.isdigit() and len(tail) < 6 else None
