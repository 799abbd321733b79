"""Decoders and value conversions for Bitget pushes: built once, shared by the adapter.

Everything here is pure: typed decoders (``strict=False``: decimal strings become numbers
in C), the channel tables, and small functions that turn decoded wire values into the
values of unified events. The adapter (:mod:`.adapter`) keeps the state.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Sequence
from typing import Final

import msgspec
import orjson

from ...models import Side
from .schemas import BookData, CandleRow, Control, Num, Push, Rate, Sides, TickerData, TradeData, TradeRow

__all__ = [
    "BOOK_CHANNELS",
    "CANDLE_CHANNELS",
    "CANDLE_INTERVALS",
    "SIDES",
    "UNUSED_CHANNELS",
    "book_decoder",
    "book_time",
    "candle_decoder",
    "candle_end",
    "control_decoder",
    "derivative_fields",
    "finite",
    "levels",
    "price",
    "size",
    "subscribe_frames",
    "ticker_decoder",
    "ticker_time",
    "trade_decoder",
    "trade_key",
    "trade_time",
]

trade_decoder: Final = msgspec.json.Decoder(Push[list[TradeData | TradeRow]], strict=False)
book_decoder: Final = msgspec.json.Decoder(Push[list[BookData]], strict=False)
ticker_decoder: Final = msgspec.json.Decoder(Push[list[TickerData]], strict=False)
candle_decoder: Final = msgspec.json.Decoder(Push[list[CandleRow]], strict=False)
control_decoder: Final = msgspec.json.Decoder(Control)

BOOK_CHANNELS = ("books", "books1", "books5", "books15")
"""``books``: "All levels of depth. First update pushed is full data: snapshot, and then
push the update data: update"; ``books1/5/15``: "Push snapshot each time"."""

CANDLE_CHANNELS: dict[str, str] = {
    "1m": "candle1m",
    "5m": "candle5m",
    "15m": "candle15m",
    "30m": "candle30m",
    "1h": "candle1H",
    "4h": "candle4H",
    # Bitget's plain 6H/12H/1D/3D/1W/1M bars are cut at UTC+8; the "utc" channels at 00:00 UTC,
    # which is what every other exchange here (and the unified interval) means.
    "6h": "candle6Hutc",
    "12h": "candle12Hutc",
    "1d": "candle1Dutc",
    "3d": "candle3Dutc",
    "1w": "candle1Wutc",
    "1M": "candle1Mutc",
}
"""Unified candle interval -> the channel the adapter subscribes."""

CANDLE_INTERVALS: dict[str, str] = {channel: interval for interval, channel in CANDLE_CHANNELS.items()}
CANDLE_INTERVALS.update(
    {"candle6H": "6h", "candle12H": "12h", "candle1D": "1d", "candle3D": "3d", "candle1W": "1w", "candle1M": "1M"}
)
"""Every candle channel a recording may hold (v1 and v2, both day boundaries) -> unified interval."""

_INTERVAL_MS = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
}

UNUSED_CHANNELS = frozenset(
    {
        "auction",  # spot call-auction stages: no trades, book or ticker in it
        "tradeNew",  # v1 mix "new trades" channel, a second copy of the trades
        # Private channels a recorder that logged in on the same v1 stream received.
        "account",
        "orders",
        "positions",
        "fill",
        "orders-algo",
        "positions-history",
        "equity",
    }
)
"""Channels of Bitget's catalogue this adapter counts and ignores (a recording may hold them)."""

SIDES: dict[str, Side] = {"buy": "buy", "sell": "sell"}
"""Trade ``side`` -> taker side: the trade channel carries "public trade data (taker orders)"."""


def levels(data: BookData) -> Sides:
    """A book message's levels as ``(price, size)`` floats, checked like every wire price and size.

    Raises ``msgspec.ValidationError`` for NaN, infinite, non-positive prices and negative sizes.
    """
    # One conversion into a plain Struct: msgspec caches its type info on the class, where a
    # generic target (list[tuple[Price, Size]]) is re-hashed in Python on every call.
    return msgspec.convert({"bids": data.bids, "asks": data.asks}, Sides, strict=False)


def size(value: Num) -> float | None:
    """A ticker size or volume (already checked by its type): ``""`` means none."""
    return None if value == "" else value


def price(value: Num) -> float | None:
    """A ticker price: ``""`` and ``0`` (an empty book side, no mark yet) mean none."""
    return value or None


def finite(value: Rate) -> float | None:
    """A signed ticker value (a funding rate): ``""`` means none."""
    return None if value == "" else value


def trade_key(ts: int, trade_id: str) -> tuple[int, int]:
    """The order of a trade for de-duplication: fill time, then the numeric id (``-1`` without one)."""
    return ts, int(trade_id) if trade_id.isdigit() else -1


def trade_time(row: TradeData | TradeRow) -> int:
    """The fill time of either trade shape, ms."""
    return row[0] if isinstance(row, tuple) else row.ts


def candle_end(start_ms: int, interval: str) -> int:
    """The end (exclusive) of the bar starting at ``start_ms``, ms; months have their own length."""
    length = _INTERVAL_MS.get(interval)
    if length is not None:
        return start_ms + length
    # 1M: the first day of the next calendar month. Bars cut at UTC+8 start at 16:00 UTC:
    # shift to that zone's midnight, step a month there, shift back.
    seconds = start_ms // 1000
    shift = -seconds % 86_400
    day = time.gmtime(seconds + shift)
    year, month = (day.tm_year + 1, 1) if day.tm_mon == 12 else (day.tm_year, day.tm_mon + 1)
    return (calendar.timegm((year, month, 1, 0, 0, 0, 0, 0, 0)) - shift) * 1000


def book_time(data: BookData, push_ts: int | None) -> float | None:
    """A book message's matching-engine time in seconds (the push time when it has none)."""
    ms = data.ts if data.ts is not None else push_ts
    return ms / 1000.0 if ms is not None else None


def ticker_time(data: TickerData, push_ts: int | None) -> float | None:
    """A ticker's time in seconds: v2 and v1 spot ``ts``, v1 mix ``systemTime``, else the push time."""
    ms = data.ts if data.ts is not None else data.systemTime if data.systemTime is not None else push_ts
    return ms / 1000.0 if ms is not None else None


def derivative_fields(t: TickerData, last: float | None) -> dict[str, float | None]:
    """Mark, index, funding and open interest of a futures ticker (v2 names, else v1's)."""
    mark = price(t.markPrice)
    interest = size(t.holdingAmount if t.holdingAmount is not None else t.holding)
    next_funding = size(t.nextFundingTime if t.nextFundingTime is not None else t.nextSettleTime)
    return {
        "mark_price": mark,
        "index_price": price(t.indexPrice),
        "funding_rate": finite(t.fundingRate if t.fundingRate is not None else t.capitalRate),
        "next_funding_time": next_funding / 1000.0 if next_funding else None,
        "open_interest": interest,
        # Base-coin open interest times the mark: its value in the quote currency (USD for coin-M).
        "open_interest_value": interest * mark if interest is not None and mark is not None else None,
        "last_price": last,
    }


def subscribe_frames(op: str, args: Sequence[tuple[str, str, str]], max_bytes: int) -> list[str]:
    """``{"op":...,"args":[...]}`` frames whose ``args`` stay within ``max_bytes`` each."""
    frames: list[str] = []
    batch: list[bytes] = []
    used = 2  # the brackets of the args array
    for inst_type, channel, inst_id in args:
        arg = orjson.dumps({"instType": inst_type, "channel": channel, "instId": inst_id})
        if batch and used + len(arg) + 1 > max_bytes:
            frames.append(_frame(op, batch))
            batch, used = [], 2
        batch.append(arg)
        used += len(arg) + 1
    if batch:
        frames.append(_frame(op, batch))
    return frames


def _frame(op: str, args: list[bytes]) -> str:
    return f'{{"op":"{op}","args":[{b",".join(args).decode()}]}}'
