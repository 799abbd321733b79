"""Gate channel messages into events: the spot handlers and what spot and futures share.

A handler gets a frame already decoded into its typed :class:`~.schemas.Push` and appends
events to ``out``. It raises :class:`UnknownNative` for a pair or contract the instrument
list does not have and ``ValueError`` for a value no schema type states (a taker side
that is neither ``buy`` nor ``sell``, a zero-size trade); the adapter turns those into
``unknown_symbol`` and ``malformed`` errors. Events of a frame are appended only once the
whole frame was understood, so a bad frame never leaves half of its events behind
(except entries for contracts that are known, when some are not). Spot amounts are base
units; the futures handlers (:mod:`.futures`) say how contracts are converted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

import msgspec

from ...book import BookState, BookSync
from ...models import Candle, Level, Side, Ticker, Trade
from .schemas import Candle as WireCandle
from .schemas import Push, SpotBookTicker, SpotBookUpdate, SpotTicker, SpotTrade

if TYPE_CHECKING:
    from ..base import Output

__all__ = [
    "CANDLE_INTERVALS",
    "INTERVAL_SECONDS",
    "Handler",
    "Route",
    "SpotFeeds",
    "UnknownNative",
    "bar_of",
    "candle_event",
    "full_book",
    "optional_price",
]

Handler: TypeAlias = Callable[[str, Any, float, "Output"], None]
Route: TypeAlias = tuple[msgspec.json.Decoder[Any], Handler]

CANDLE_INTERVALS: dict[str, str] = {
    "10s": "10s",
    "1m": "1m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1h": "1h",
    "4h": "4h",
    "8h": "8h",
    "1d": "1d",
    "1w": "7d",
}
"""Unified candle interval -> Gate's (``spot.candlesticks`` and ``futures.candlesticks`` offer the same)."""

INTERVAL_SECONDS: dict[str, tuple[str, int]] = {
    "10s": ("10s", 10),
    "1m": ("1m", 60),
    "5m": ("5m", 300),
    "15m": ("15m", 900),
    "30m": ("30m", 1800),
    "1h": ("1h", 3600),
    "4h": ("4h", 14_400),
    "8h": ("8h", 28_800),
    "1d": ("1d", 86_400),
    "7d": ("1w", 604_800),
}
"""Gate candle interval -> (unified interval, length in seconds)."""

_SIDES: dict[str, Side] = {"buy": "buy", "sell": "sell"}
_bars: dict[str, tuple[str, str, int]] = {}
_MAX_BARS = 4096
_INF = float("inf")

_spot_trades = msgspec.json.Decoder(Push[SpotTrade | list[SpotTrade]], strict=False)
_spot_book_ticker = msgspec.json.Decoder(Push[SpotBookTicker], strict=False)
_spot_tickers = msgspec.json.Decoder(Push[SpotTicker], strict=False)
_spot_book = msgspec.json.Decoder(Push[SpotBookUpdate], strict=False)
_spot_candle = msgspec.json.Decoder(Push[WireCandle], strict=False)


class UnknownNative(Exception):
    """A frame names a pair or contract the instrument list does not have."""

    def __init__(self, native: str) -> None:
        super().__init__(native)
        self.native = native


def optional_price(given: str | float) -> float | None:
    """A best bid/ask price, as text or a number: ``""`` (and ``"0"``, 0) mean an empty side; anything
    else must be a positive number."""
    if not given:
        return None
    value = float(given)
    if not 0.0 <= value < _INF:
        raise ValueError(f"price {str(given)[:30]!r}")
    return value or None


def full_book(
    books: BookSync,
    out: Output,
    symbol: str,
    bids: list[Level],
    asks: list[Level],
    first: int | None,
    last: int,
    timestamp: float | None,
    received: float,
) -> None:
    """A ``full: true`` message: "the user should replace the local depth with this data".

    It replaces the book whatever that book's state (:meth:`BookSync.snapshot` with
    ``replace=True``: the diffs after it continue from its ``u``, and a book waiting for its
    REST snapshot needs that snapshot no more). A live book it does not continue (its ``U``
    skips ids) saw a loss, which is reported as a ``gap`` even though this message repairs it
    (a full book without ``U`` is taken as it is); one older than the live book is skipped.
    """
    book = books.book(symbol)
    if books.state(symbol) is BookState.LIVE and book is not None and book.sequence is not None:
        held = book.sequence
        if last <= held:
            books.stats["stale_full_book"] += 1  # older than the live book: it has nothing new
            return
        if first is not None and first > held + 1:
            books.reset(out, [symbol], "gap", received, detail=f"full book [{first}, {last}] after id {held}")
    books.snapshot(out, symbol, bids, asks, last, timestamp, received, replace=True)


def bar_of(name: str) -> tuple[str, str, int]:
    """``(native, unified interval, length in s)`` of a bar's ``n`` (``"1m_BTC_USDT"``); length 0 for
    an interval Gate does not have. Remembered per name: a session repeats a few names."""
    bar = _bars.get(name)
    if bar is None:
        interval, _, native = name.partition("_")
        unified, length = INTERVAL_SECONDS.get(interval, (interval, 0))
        bar = (native, unified, length)
        if len(_bars) < _MAX_BARS:
            _bars[name] = bar
    return bar


def candle_event(
    exchange: str, symbol: str, c: WireCandle, timestamp: float | None, received: float, volume: float
) -> Candle:
    _, unified, length = bar_of(c.n)
    if not length:
        raise ValueError(f"candle interval {unified[:20]!r}")
    return Candle(
        exchange, symbol, timestamp, received, unified, c.t, c.t + length, c.o, c.h, c.l, c.c, volume, None, c.w
    )


class SpotFeeds:
    """Handlers of the spot channels; ``routes`` maps each channel to its decoder and handler."""

    def __init__(self, exchange: str, symbols: dict[str, str], books: BookSync, control: Callable[[str], None]) -> None:
        self.exchange = exchange
        self.symbols = symbols  # native pair -> unified symbol (the instrument map's own dict)
        self.books = books
        self.control = control
        self.routes: dict[str, Route] = {
            "spot.trades": (_spot_trades, self.trades),
            "spot.book_ticker": (_spot_book_ticker, self.book_ticker),
            "spot.tickers": (_spot_tickers, self.tickers),
            "spot.order_book_update": (_spot_book, self.book),
            "spot.candlesticks": (_spot_candle, self.candle),
        }

    def _symbol(self, native: str) -> str:
        symbol = self.symbols.get(native)
        if symbol is None:
            raise UnknownNative(native)
        return symbol

    def trades(self, conn: str, msg: Push[SpotTrade | list[SpotTrade]], received: float, out: Output) -> None:
        """``spot.trades``: one trade per push (a list is accepted too); ``side`` is the taker's."""
        result = msg.result
        items = result if isinstance(result, list) else [result]
        events = []
        for t in items:
            side = _SIDES.get(t.side)
            if side is None:
                raise ValueError(f"taker side {t.side[:20]!r}")
            symbol = self._symbol(t.currency_pair)
            trade_id = t.id if t.id is not None else t.id_market
            if trade_id is None:
                raise ValueError("trade without id or id_market")
            events.append(
                Trade(
                    self.exchange, symbol, t.create_time_ms / 1000.0, received, t.price, t.amount, side, str(trade_id)
                )
            )
        out.extend(events)

    def book_ticker(self, conn: str, msg: Push[SpotBookTicker], received: float, out: Output) -> None:
        """``spot.book_ticker``: best bid/ask with amounts, in real time."""
        r = msg.result
        symbol = self._symbol(r.s)
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

    def tickers(self, conn: str, msg: Push[SpotTicker], received: float, out: Output) -> None:
        """``spot.tickers``: best bid/ask without amounts, last price and 24 h statistics."""
        r = msg.result
        symbol = self._symbol(r.currency_pair)
        out.append(
            Ticker(
                self.exchange,
                symbol,
                msg.timestamp(),
                received,
                r.highest_bid or None,  # "0": the side is empty
                None,
                r.lowest_ask or None,
                None,
                last=r.last,
                high=r.high_24h,
                low=r.low_24h,
                volume=r.base_volume,
                quote_volume=r.quote_volume,
            )
        )

    def book(self, conn: str, msg: Push[SpotBookUpdate], received: float, out: Output) -> None:
        """``spot.order_book_update``: a diff for the range rule, or a ``full`` book that replaces the local one."""
        d = msg.result
        symbol = self.symbols.get(d.s)
        if symbol is None:
            raise UnknownNative(d.s)
        if d.full:
            full_book(self.books, out, symbol, d.b, d.a, d.U, d.u, d.t / 1000.0, received)
        elif d.U is None:
            raise ValueError("diff without U")
        else:
            self.books.delta(out, symbol, d.b, d.a, d.U, d.u, None, d.t / 1000.0, received)

    def candle(self, conn: str, msg: Push[WireCandle], received: float, out: Output) -> None:
        """``spot.candlesticks``: ``a`` is the base volume (``v`` is the quote volume)."""
        c = msg.result
        symbol = self._symbol(bar_of(c.n)[0])
        if c.a is None:
            # Without the base amount there is no base volume to report; v is in the quote currency.
            self.control("candle_without_base_volume")
            return
        out.append(candle_event(self.exchange, symbol, c, msg.timestamp(), received, c.a))
