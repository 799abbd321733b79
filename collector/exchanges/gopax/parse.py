"""GOPAX frames that need no adapter state: the Primus heartbeat, frame names, tickers, REST books.

Pure functions over one frame or one REST answer (the adapter keeps the state and decides).
"""

from __future__ import annotations

from typing import Any

import msgspec
import orjson

from ...models import Level, Ticker
from .schemas import Envelope, RestBook, TickerRow

__all__ = ["PUBLIC", "UNUSED", "frame_name", "ping_stamp", "request_frame", "rest_book", "ticker"]

_envelope = msgspec.json.Decoder(Envelope)
_rest_book = msgspec.json.Decoder(RestBook, strict=False)
_text = msgspec.json.Decoder(str)

_PING = "primus::ping::"

PUBLIC = frozenset(
    {
        "SubscribeToOrderBook",
        "SubscribeToTradingPair",
        "SubscribeToTickers",
        "OrderBookEvent",
        "PublicTradeEvent",
        "TickerEvent",
    }
)
"""Names of the public messages (requests echoed by their replies, and pushes)."""

UNUSED = frozenset(
    {"OrderEvent", "BalanceEvent", "TradeEvent", "SubscribeToOrders", "SubscribeToBalances", "SubscribeToTrades"}
)
"""GOPAX's private channels and their replies: a shared socket may carry them; no events come of them."""


def ping_stamp(frame: str | bytes) -> str | None:
    """The number of a Primus ping (``"primus::ping::1591318325140"``), ``None`` for another JSON string.

    Raises ``msgspec.DecodeError`` when the frame is no JSON string at all.
    """
    value = _text.decode(frame)
    stamp = value[len(_PING) :]
    if value.startswith(_PING) and stamp.isdigit() and stamp.isascii() and len(stamp) < 20:
        return stamp
    return None


def frame_name(frame: str | bytes) -> str:
    """The ``n`` of a frame that did not decode as a public message (``""`` when it has none)."""
    try:
        return _envelope.decode(frame).n
    except msgspec.DecodeError:
        return ""


def ticker(exchange: str, symbol: str, row: TickerRow, received: float) -> Ticker:
    """One pair's ticker. ``highestBid``/``lowestAsk`` are prices without sizes, "0 when the side is
    empty -- don't emit as a real BBO"; a pair that never traded has ``last`` 0."""
    return Ticker(
        exchange,
        symbol,
        row.lastTraded / 1000.0 if row.lastTraded else None,
        received,
        row.highestBid or None,
        None,
        row.lowestAsk or None,
        None,
        last=row.last or None,
        open=row.open or None,
        high=row.high or None,
        low=row.low or None,
        volume=row.baseVolume,
        quote_volume=row.quoteVolume,
    )


def rest_book(body: bytes) -> tuple[list[Level], list[Level], int]:
    """``(bids, asks, sequence)`` of a ``/trading-pairs/{pair}/book`` answer (raises ``msgspec.DecodeError``)."""
    book = _rest_book.decode(body)
    return [(row[1], row[2]) for row in book.bid], [(row[1], row[2]) for row in book.ask], book.sequence


def request_frame(name: str, options: dict[str, Any], request_id: str) -> str:
    """A request frame ``{"i": id, "n": name, "o": options}`` (the reply echoes ``i``)."""
    return orjson.dumps({"i": request_id, "n": name, "o": options}).decode()
