"""Bitfinex channels: the public catalogue, subscribe requests and per-connection channel state.

Data messages carry only a channel id, "not persistent across connections", so every
``subscribed`` reply is turned into a :class:`Channel` (what it is, which instrument,
the request that recreates it) kept per connection in a :class:`ConnState`. The public
catalogue (docs.bitfinex.com, "Public Channels"): ``ticker``, ``trades``, ``book`` (price
aggregated P0..P4, raw R0), ``candles`` and ``status`` (``deriv:<symbol>``,
``liq:global``), each for trading pairs (``t...``) and, except status, funding currencies
(``f...``). What this adapter does not turn into events is an ``unused`` channel whose
frames are counted; a channel outside the catalogue is ``foreign`` and its frames are errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from .schemas import CandleEntry, Event

__all__ = [
    "BOOK_LENGTHS",
    "BOOK_PRECISIONS",
    "BULK_UPDATES",
    "CANDLE_INTERVALS",
    "DEFAULT_BOOK_LENGTH",
    "OB_CHECKSUM",
    "SEQ_ALL",
    "TIMESTAMP",
    "Channel",
    "ConnState",
    "channel_of",
    "request",
]

SEQ_ALL = 65536
"""``conf`` flag: "append a sequence number to every public message" (per connection)."""
OB_CHECKSUM = 131072
"""``conf`` flag: "send book checksums ``[CHAN_ID, "cs", CHECKSUM]``" (top 25 levels a side)."""
TIMESTAMP = 32768
"""``conf`` flag: a millisecond timestamp is appended to every message, after the sequence number."""
BULK_UPDATES = 536870912
"""``conf`` flag: book updates may arrive as an array of entries."""

BOOK_LENGTHS = ("1", "25", "100", "250")
"""Price points per side a ``book`` subscription may ask for (``len``)."""
DEFAULT_BOOK_LENGTH = "100"
"""The book length the adapter subscribes by default (cryptofeed's default too)."""
BOOK_PRECISIONS = frozenset({"P0", "P1", "P2", "P3", "P4"})
"""Price-aggregated book precisions (``R0``, the raw order book, is not an L2 book)."""

CANDLE_INTERVALS = {
    "1m": "1m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1h": "1h",
    "3h": "3h",
    "6h": "6h",
    "12h": "12h",
    "1d": "1D",
    "1w": "1W",
    "2w": "14D",
    "1M": "1M",
}
"""Unified candle interval -> Bitfinex time frame of ``trade:<TIMEFRAME>:<SYMBOL>``."""
_UNIFIED_INTERVAL = {native: unified for unified, native in CANDLE_INTERVALS.items()}
_UNIFIED_INTERVAL["7D"] = "1w"  # an accepted alias of 1W


def request(channel: str, **params: Any) -> str:
    """A subscribe request, e.g. ``request("book", symbol="tBTCUSD", prec="P0", freq="F0", len="25")``."""
    return orjson.dumps({"event": "subscribe", "channel": channel, **params}).decode()


@dataclass(slots=True)
class Channel:
    """One subscribed channel of one connection.

    ``kind`` routes its frames: ``trades``, ``ticker``, ``book``, ``candles``, ``funding``
    (a ``deriv:`` status), ``liquidations`` (``liq:global``); ``unused`` (counted as
    ``label``), ``unlisted`` (an instrument the listing does not have: its data frames are
    errors) or ``foreign`` (not a Bitfinex public channel: every frame is an error).
    """

    kind: str
    symbol: str = ""  # unified symbol ("" for liq:global and channels without one)
    native: str = ""  # the exchange's symbol or key, for messages
    request: str = ""  # the subscribe request that recreates the channel
    label: str = ""  # unused channels: the counter name
    interval: str = ""  # candles: unified interval
    synced: bool = False  # book: its snapshot arrived
    bar: CandleEntry | None = None  # candles: the bar being formed
    handler: Any = None  # the adapter's handler for the channel's data messages (set when subscribed)


@dataclass(slots=True)
class ConnState:
    """What one connection has agreed with the exchange: flags, channel ids, the sequence so far."""

    channels: dict[str, Channel] = field(default_factory=dict)  # channel id as sent -> channel
    sequenced: bool = False  # SEQ_ALL: the exchange appends sequence numbers
    bulk: bool = False  # BULK_UPDATES: book updates may come as arrays of entries
    timestamped: bool = False  # TIMESTAMP: "[CHAN_ID, ..., SEQ, MTS]"
    seq: int = 0  # last accepted sequence number (SEQ_ALL starts at 1)
    rejected: int = 0  # sequence numbers refused in a row
    paused: bool = False  # maintenance (info 20060) until 20061
    resubscribing: set[str] = field(default_factory=set)  # books being resubscribed

    def set_flags(self, flags: int) -> None:
        """Take the flags a ``conf`` reply says are in force."""
        self.sequenced = bool(flags & SEQ_ALL)
        self.bulk = bool(flags & BULK_UPDATES)
        self.timestamped = bool(flags & TIMESTAMP)


def channel_of(ev: Event, symbol_of: Callable[[str], str | None]) -> Channel:
    """The channel a ``subscribed`` reply announces; ``symbol_of`` maps native ids to unified symbols."""
    name = ev.channel
    if name in ("trades", "ticker", "book"):
        native = ev.symbol or (f"t{ev.pair}" if ev.pair else f"f{ev.currency}")
        params: dict[str, Any] = {"symbol": native}
        if name == "book":
            params |= {"prec": ev.prec or "P0", "freq": ev.freq or "F0", "len": str(ev.len or "25")}
        frame = request(name, **params)
        if native.startswith("f"):
            return Channel("unused", native=native, request=frame, label=f"funding_{name}")
        if name == "book" and (ev.prec or "P0") not in BOOK_PRECISIONS:
            return Channel("unused", native=native, request=frame, label="raw_book")
        return _listed(name, native, frame, symbol_of)
    if name == "candles":
        frame = request(name, key=ev.key)
        source, _, rest = ev.key.partition(":")
        timeframe, _, native = rest.partition(":")
        interval = _UNIFIED_INTERVAL.get(timeframe)
        if source != "trade" or interval is None:
            return Channel("foreign", native=ev.key, request=frame)
        if native.startswith("f"):
            # Funding candles: "trade:1m:fUSD:p30".
            return Channel("unused", native=ev.key, request=frame, label="funding_candles")
        channel = _listed(name, native, frame, symbol_of)
        channel.interval = interval
        return channel
    if name == "status":
        frame = request(name, key=ev.key)
        if ev.key == "liq:global":
            return Channel("liquidations", native=ev.key, request=frame)
        kind, _, native = ev.key.partition(":")
        if kind == "deriv":
            return _listed("funding", native, frame, symbol_of)
        return Channel("unused", native=ev.key, request=frame, label="status")
    return Channel("foreign", native=name, request="")


def _listed(kind: str, native: str, frame: str, symbol_of: Callable[[str], str | None]) -> Channel:
    symbol = symbol_of(native)
    if symbol is None:
        return Channel("unlisted", native=native, request=frame)
    return Channel(kind, symbol, native, frame)
