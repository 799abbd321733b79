"""Upbit adapter (``upbit``): KRW, BTC and USDT spot markets.

Channels (``../shared/exchanges/upbit.md``; the protocol is :mod:`.quotation`'s):

- trades  <- ``trade`` (``ask_bid``: ``BID`` means the buyer took the ask, i.e. a buy)
- ticker  <- ``ticker`` (last price and statistics; best bid/offer from the maintained book)
- book    <- ``orderbook``: every message is a full snapshot of the top 30 levels
  (:attr:`UpbitAdapter.book_depth` asks for 1, 5, 15 or 30 with ``CODE.{n}``), replacing the
  book. ``BTC/KRW@10000`` subscribes the book grouped by 10,000 KRW ("호가 모아보기",
  KRW markets only), a different book kept under that key; the units are those of
  ``/v1/orderbook/instruments`` ``supported_levels`` (any other gets no data at all).
- candles <- ``candle.1s`` ... ``candle.240m`` (1s, 1m, 3m, 5m, 10m, 15m, 30m, 1h, 4h).

Book sizes, trade amounts and candle volumes are base units (spot only: no contracts, no
open interest). Frames arrive as binary UTF-8 JSON in the ``DEFAULT`` or ``SIMPLE`` key set;
both are read, SIMPLE is requested.

**Replay** of captures by other recorders: cryptofeed's Upbit feed connects to
``wss://api.upbit.com/websocket/v1`` and sends one request with ``{"format":"SIMPLE"}`` and
``trade``/``orderbook`` types flagged ``isOnlyRealtime`` (no SNAPSHOT messages); it lists
markets with ``GET /v1/market/all`` (no query), paired here with this adapter's
``?is_details=true`` call by path. Upbit's global hosts (Singapore, Indonesia, Thailand)
speak the same protocol and are recognised too.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from ..base import Channel, Endpoints, RestPolicy
from .protocol import FORMATS, Decoders
from .quotation import QuotationAdapter
from .schemas import (
    Candle,
    Orderbook,
    SimpleCandle,
    SimpleOrderbook,
    SimpleTicker,
    SimpleTrade,
    Ticker,
    Trade,
)

__all__ = ["CANDLE_UNITS", "FORMATS", "UpbitAdapter"]

CANDLE_UNITS = {
    "1s": "1s",
    "1m": "1m",
    "3m": "3m",
    "5m": "5m",
    "10m": "10m",
    "15m": "15m",
    "30m": "30m",
    "1h": "60m",
    "4h": "240m",
}
"""Unified candle interval -> Upbit's ``candle.<unit>`` ("candle.1s: 초봉 ... candle.240m: 240분봉")."""

_GLOBAL_HOSTS = frozenset({"sg-api.upbit.com", "id-api.upbit.com", "th-api.upbit.com"})


class UpbitAdapter(QuotationAdapter):
    """Upbit spot. Subscribe with unified symbols (``BTC/KRW``, ``ETH/BTC``, ``BTC/USDT``,
    ``BTC/KRW@10000`` for a book grouped by price)."""

    id: ClassVar[str] = "upbit"
    simulator: ClassVar[str | None] = "sim:UpbitWire"
    # Upbit's Korean host and its global (Singapore, Indonesia, Thailand) hosts.
    ws_hosts: ClassVar[frozenset[str]] = _GLOBAL_HOSTS
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "candles")
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://api.upbit.com/websocket/v1", rest="https://api.upbit.com"
    )
    decoders: ClassVar[dict[bool, Decoders]] = {
        False: Decoders(
            msgspec.json.Decoder(Trade),
            msgspec.json.Decoder(Ticker),
            msgspec.json.Decoder(Orderbook),
            msgspec.json.Decoder(Candle),
        ),
        True: Decoders(
            msgspec.json.Decoder(SimpleTrade),
            msgspec.json.Decoder(SimpleTicker),
            msgspec.json.Decoder(SimpleOrderbook),
            msgspec.json.Decoder(SimpleCandle),
        ),
    }
    # SIMPLE keys make every frame about half the size; DEFAULT is read just as well.
    wire_format: ClassVar[str] = "SIMPLE"
    # "지원하는 호가 조회 단위는 1, 5, 15, 30입니다. 별도의 요청이 없는 경우 기본적으로 30개";
    # since 2025-07-02 any other count gets 30.
    book_depth: ClassVar[int | None] = None
    # "별도로 지정하지 않는 경우 기본 단위인 0으로 지정됩니다."
    default_level: ClassVar[float] = 0.0
    grouping: ClassVar[bool] = True
    candle_units: ClassVar[dict[str, str]] = CANDLE_UNITS
    # Types of the private and info sockets, should a capture share them with public data.
    unused_types: ClassVar[frozenset[str]] = frozenset(
        {"myOrder", "myAsset", "myTrade", "announcement", "indicator", "indicator_signal"}
    )
    # "WS data requests 5/s and 100/min" per connection.
    control_interval: ClassVar[float] = 0.2
    # "The server closes a connection after ~120 s with no data in either direction";
    # protocol pings (answered with pongs) keep it open and detect a dead peer.
    ping_interval: ClassVar[float] = 30.0
    # Quotation REST: "10 requests per second per IP" per group; no weight header.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=600)
    match_params: ClassVar[tuple[str, ...]] = ("market", "markets")
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/KRW", "ETH/KRW")
    # "WS connect 5/s" per IP.
    connect_limit: ClassVar[tuple[int, float] | None] = (5, 1.0)
    # Orderbook messages come whenever the top levels change, every few seconds at most on
    # KRW books. Two minutes of silence means the feed stopped (a resync costs no request).
    book_stale_after: ClassVar[float] = 120.0

    # "GET /v1/market/all?is_details=true" also tells market warnings (not used).
    market_list_query: ClassVar[str] = "?is_details=true"
