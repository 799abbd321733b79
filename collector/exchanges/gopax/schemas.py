"""GOPAX websocket and REST messages, one struct each, keys as GOPAX sends them.

Every websocket frame but the Primus heartbeat is ``{"i": <request id>, "n": <name>,
"o": <options>}``: a reply echoes the request's ``n`` and ``i``, a push carries ``"i":
-1`` and its event name. :data:`Message` is the tagged union of the public names, so a
frame is decoded once, straight into the struct its ``n`` names. Numbers are JSON
numbers; decoders use ``strict=False`` anyway (a recorder may have logged strings).

Times are mixed (gopax.md, "Quirks"): websocket book entries carry ``updatedAt`` in
float seconds, trades ``occurredAt`` in integer seconds, tickers ``lastTraded`` in ms,
and the REST book ms as strings.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias

import msgspec

from ..fields import Id, Millis, Price, Size

__all__ = [
    "BookBody",
    "BookEntry",
    "Envelope",
    "Message",
    "OrderBookEvent",
    "PublicTrade",
    "PublicTradeEvent",
    "RestBook",
    "Seconds",
    "SubscribeToOrderBook",
    "SubscribeToTickers",
    "SubscribeToTradingPair",
    "TickerEvent",
    "TickerRow",
    "TickersBody",
    "TradePush",
    "TradingPair",
]

Seconds: TypeAlias = Annotated[float, msgspec.Meta(ge=0.0, le=2.0**40)]
"""A time in seconds since the epoch (``updatedAt``, ``occurredAt``)."""

RequestId: TypeAlias = int | str | None
"""``i``: the request id a reply echoes (a number or a string), ``-1`` on pushes."""


class Envelope(msgspec.Struct, gc=False):
    """Just the name of a frame, to tell an unknown event from a malformed known one."""

    n: str = ""


class BookEntry(msgspec.Struct, gc=False):
    """One price level: ``volume`` is the level's new absolute size in base units (0 removes it)."""

    entryId: Id  # "entry update sequence (+1 incremental)": one counter for the whole exchange
    price: Price
    volume: Size
    updatedAt: Seconds  # "entry last update time", float seconds with ms precision


class BookBody(msgspec.Struct, gc=False):
    """``o`` of book replies and ``OrderBookEvent``; a refused subscription has ``result: false``.

    A reply carries the whole book with ``maxEntryId`` (the exchange's latest entry id
    when it was taken); a push carries only the changed levels.
    """

    tradingPairName: str = ""  # "BTC-KRW": BASE-QUOTE
    ask: list[BookEntry] = []
    bid: list[BookEntry] = []
    maxEntryId: Id | None = None  # replies only
    result: bool | None = None  # refusals: false
    errCode: int | None = None  # refusals: 10058 unknown asset, 10321 over 50 books, 10325 already subscribed
    errData: Any = None  # refusals: what was wrong ("NOPE", "Already subscribed")


class PublicTrade(msgspec.Struct, gc=False):
    """``o`` of ``PublicTradeEvent``: one fill; ``isBuy`` is the taker side."""

    tradeId: Id
    price: Price
    baseAmount: Size  # quantity in the base asset
    isBuy: bool  # true: a buyer took the ask
    occurredAt: Seconds  # integer seconds
    tradingPairName: str
    quoteAmount: Size | None = None  # notional in the quote asset


class TickerRow(msgspec.Struct, gc=False):
    """One pair's ticker: 24 h statistics, the last trade and the touch as of it (0: none)."""

    tradingPairName: str = ""
    last: Size | None = None  # 0 when the pair never traded
    open: Size | None = None  # "first trade after 00:00 KST"
    high: Size | None = None  # 24 h
    low: Size | None = None  # 24 h
    baseVolume: Size | None = None  # 24 h, base units
    quoteVolume: Size | None = None  # 24 h, quote units
    highestBid: Size | None = None  # a price only; 0 when the side is empty
    lowestAsk: Size | None = None
    lastTraded: Millis | None = None  # ms


class TickersBody(msgspec.Struct, gc=False):
    """``o`` of the ``SubscribeToTickers`` reply: every pair's ticker, delisted ones included."""

    data: list[TickerRow] = []
    result: bool | None = None
    errCode: int | None = None
    errData: Any = None


class SubscribeToOrderBook(msgspec.Struct, tag_field="n", tag="SubscribeToOrderBook", gc=False):
    """The reply to ``SubscribeToOrderBook``: the whole book, or a refusal."""

    o: BookBody
    i: RequestId = None


class SubscribeToTradingPair(msgspec.Struct, tag_field="n", tag="SubscribeToTradingPair", gc=False):
    """The reply to ``SubscribeToTradingPair``: "same response as SubscribeToOrderBook"."""

    o: BookBody
    i: RequestId = None


class SubscribeToTickers(msgspec.Struct, tag_field="n", tag="SubscribeToTickers", gc=False):
    """The reply to ``SubscribeToTickers`` (all pairs; there is no per-pair ticker)."""

    o: TickersBody
    i: RequestId = None


class OrderBookEvent(msgspec.Struct, tag_field="n", tag="OrderBookEvent", gc=False):
    """A book delta: the levels that changed (``i`` is always -1 on pushes and is not read)."""

    o: BookBody


class PublicTradeEvent(msgspec.Struct, tag_field="n", tag="PublicTradeEvent", gc=False):
    """A public trade (only ``SubscribeToTradingPair`` sends them)."""

    o: PublicTrade


class TickerEvent(msgspec.Struct, tag_field="n", tag="TickerEvent", gc=False):
    """Tickers "in 1 second aggregates": the pairs that changed, keyed by pair name."""

    o: dict[str, TickerRow]


Message: TypeAlias = (
    SubscribeToOrderBook | SubscribeToTradingPair | SubscribeToTickers | OrderBookEvent | PublicTradeEvent | TickerEvent
)
"""Every public frame but the Primus heartbeat, by its ``n``."""


class TradePush(msgspec.Struct, gc=False):
    """``PublicTradeEvent`` without the tag, for the fast path (whose scanner reads plain structs).

    It checks exactly what :class:`PublicTradeEvent` checks, so a routed frame and the
    adapter's own path accept and refuse the same frames.
    """

    n: str
    o: PublicTrade


class RestBook(msgspec.Struct, gc=False):
    """``GET /trading-pairs/{pair}/book``: rows ``[entryId, price, volume, updatedAt]``.

    Unlike the websocket, the id and the time (ms) are strings here; ``sequence`` is the
    exchange's latest entry id when the book was read (never below an id in the reply).
    """

    sequence: Id
    bid: list[tuple[str, Price, Size, str]] = []
    ask: list[tuple[str, Price, Size, str]] = []


class TradingPair(msgspec.Struct, gc=False):
    """One row of ``GET /trading-pairs`` (every listed pair; delisted ones are absent)."""

    name: str  # "ETH-KRW"
    baseAsset: str
    quoteAsset: str
    id: int | None = None
    baseAssetScale: int | None = None  # decimals of an order quantity
    quoteAssetScale: int | None = None
    priceMin: float | None = None
