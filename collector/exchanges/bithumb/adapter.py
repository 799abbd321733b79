"""Bithumb adapter (``bithumb``): KRW and BTC spot markets on the current public socket.

``wss://ws-api.bithumb.com/websocket/v1`` is a copy of Upbit's quotation socket
(``../shared/exchanges/bithumb.md``), so the protocol is :mod:`..upbit.quotation`'s:

- trades  <- ``trade`` (``ask_bid``: "ASK: 매도, BID: 매수", the taker side as on Upbit)
- ticker  <- ``ticker`` (last price and statistics; best bid/offer from the maintained book)
- book    <- ``orderbook``: every message is a full snapshot of the top levels, replacing the
  book (:data:`~collector.book.SNAPSHOT`); ``CODE.{n}`` asks for ``n`` levels.

No candle stream (the public types are ticker, trade and orderbook: "스트림: ticker, trade,
orderbook"), no price grouping offered. Book sizes and trade amounts are base units.
Where Bithumb's copy differs (:mod:`.schemas`): trade ids are strings, orderbook times are
microseconds as a string (milliseconds per the docs; both are read), an ungrouped book
reports ``level`` 1 (one reporting 0 is the plain book too), dates are KST (never read: the
millisecond timestamps are). Whether frames come as text or binary is not stated; both are read.

**Replay.** cryptofeed's Bithumb feed records the *legacy* protocol: it connects to
``wss://pubwss.bithumb.com/pub/ws`` (API 1.0, ``{"type":"transaction","symbols":["BTC_KRW"]}``)
and lists markets with ``/public/ticker/ALL_KRW`` and ``ALL_BTC``. That protocol is not read:
such a connection is reported once, with an ``error`` event of reason ``legacy_protocol``,
and its frames are counted (``ignored.legacy``), never one error per frame. The legacy host
is recognised so such captures are replayed as ``bithumb`` and say so.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

import msgspec

from ... import fastpath
from ..base import Channel, ConnectionPlan, Endpoints, Output, RestPolicy
from ..upbit.protocol import Decoders
from ..upbit.quotation import QuotationAdapter
from ..upbit.schemas import Candle, SimpleCandle, SimpleTicker, Ticker
from ..upbit.schemas import Envelope as UpbitEnvelope
from .schemas import (
    MICROS_FROM,
    Envelope,
    MicrosOrderbook,
    MillisOrderbook,
    Orderbook,
    SimpleMicrosOrderbook,
    SimpleMillisOrderbook,
    SimpleOrderbook,
    SimpleTrade,
    TradeMessage,
)

__all__ = ["LEGACY_HOST", "BithumbAdapter"]

LEGACY_HOST = "pubwss.bithumb.com"
"""The API 1.0 websocket host (``/pub/ws``), a different protocol (``BTC_KRW`` symbols)."""

# Message types of the legacy protocol: "ticker" / "transaction" / "orderbookdepth" / "orderbooksnapshot".
_LEGACY_TYPES = frozenset({"transaction", "orderbookdepth", "orderbooksnapshot"})
_LEGACY = (
    "Bithumb's legacy websocket protocol (API 1.0, wss://pubwss.bithumb.com/pub/ws) is not read; "
    "record wss://ws-api.bithumb.com/websocket/v1 instead. Its frames are counted as ignored.legacy"
)
# Bithumb sends numbers as strings in places (orderbook times): decode with strict=False.
_routed = {
    (True, True): msgspec.json.Decoder(SimpleMicrosOrderbook, strict=False),
    (True, False): msgspec.json.Decoder(SimpleMillisOrderbook, strict=False),
    (False, True): msgspec.json.Decoder(MicrosOrderbook, strict=False),
    (False, False): msgspec.json.Decoder(MillisOrderbook, strict=False),
}


class BithumbAdapter(QuotationAdapter):
    """Bithumb spot. Subscribe with unified symbols (``BTC/KRW``, ``ETH/BTC``)."""

    id: ClassVar[str] = "bithumb"
    simulator: ClassVar[str | None] = "sim:BithumbWire"
    # The legacy host: captures recorded against it are this exchange's (and reported as legacy).
    ws_hosts: ClassVar[frozenset[str]] = frozenset({LEGACY_HOST})
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book")
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://ws-api.bithumb.com/websocket/v1", rest="https://api.bithumb.com"
    )
    envelope: ClassVar[msgspec.json.Decoder[Envelope]] = msgspec.json.Decoder(Envelope)
    decoders: ClassVar[dict[bool, Decoders]] = {
        False: Decoders(
            msgspec.json.Decoder(TradeMessage, strict=False),
            msgspec.json.Decoder(Ticker, strict=False),
            msgspec.json.Decoder(Orderbook, strict=False),
            msgspec.json.Decoder(Candle),  # no candle stream: never used
        ),
        True: Decoders(
            msgspec.json.Decoder(SimpleTrade, strict=False),
            msgspec.json.Decoder(SimpleTicker, strict=False),
            msgspec.json.Decoder(SimpleOrderbook, strict=False),
            msgspec.json.Decoder(SimpleCandle),
        ),
    }
    # Every example and real frame is DEFAULT (SIMPLE is documented too and read as well).
    wire_format: ClassVar[str] = "DEFAULT"
    # "KRW-ETH.3": a count suffix is accepted; no list of allowed counts is given (REST: up to 30).
    depths: ClassVar[tuple[int, ...]] = tuple(range(1, 31))
    book_depth: ClassVar[int | None] = None
    # An orderbook message reports "level":1 when no grouping was asked for ("default: 1, 기본
    # 호가단위"); level 0 groups nothing either and is read as the plain book as well (book_key).
    default_level: ClassVar[float] = 1.0
    # Grouping is documented as optional, with no list of valid units: not offered.
    grouping: ClassVar[bool] = False
    # The snapshot flags' spelling is contradictory in the docs ("is_only_realtime", "isOnlyRealtime");
    # none is sent, and the SNAPSHOT trade that then comes first is dropped.
    realtime_flag: ClassVar[str | None] = None
    unused_types: ClassVar[frozenset[str]] = frozenset({"myOrder", "myAsset"})
    # No subscribe-message rate is documented; pace requests as Upbit's 5/s anyway.
    control_interval: ClassVar[float] = 0.2
    # "idle timeout ~120 s without traffic; server answers WebSocket PING frames".
    ping_interval: ClassVar[float] = 30.0
    # Public REST: no weight header; a modest budget.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=600)
    # "GET /v1/market/all" -> [{"market":"KRW-BTC","korean_name":...,"english_name":...}].
    market_list_query: ClassVar[str] = ""
    match_params: ClassVar[tuple[str, ...]] = ("market", "markets")
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/KRW", "ETH/KRW")
    # "WebSocket 연결 요청은 IP 기준 초당 10회로 제한됩니다."
    connect_limit: ClassVar[tuple[int, float] | None] = (10, 1.0)
    # Orderbook messages come whenever the top levels change, every few seconds at most on
    # KRW books. Two minutes of silence means the feed stopped (a resync costs no request).
    book_stale_after: ClassVar[float] = 120.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._legacy_hosts: set[str] = set()  # connections to the legacy host: every frame is legacy
        self._legacy: set[str] = set()  # connections whose legacy protocol was reported

    # -- the legacy protocol --------------------------------------------------------------------

    def on_connect(self, plan: ConnectionPlan, received: float) -> Output:
        """A connection to the legacy host is reported once; its frames are then only counted."""
        out = super().on_connect(plan, received)
        if urlsplit(plan.url).hostname == LEGACY_HOST:
            self._legacy_hosts.add(plan.conn)
            self._legacy_connection(plan.conn, received, out)
        return out

    def _legacy_connection(self, conn: str, received: float, out: Output) -> None:
        if conn in self._legacy:
            self.control("legacy")
            return
        self._legacy.add(conn)
        self.control()
        out.append(self.error(conn, "legacy_protocol", _LEGACY, received))

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        # Frames that only look legacy are reported one by one (once as an error, then counted);
        # a connection to the legacy host is legacy whatever its frames look like.
        if conn in self._legacy_hosts:
            self.control("legacy")
            return []
        return super().parse(conn, frame, received)

    def _on_reply(self, conn: str, env: UpbitEnvelope, frame: str, received: float, out: Output) -> None:
        # {"status":"0000","resmsg":"Connected Successfully"}: the legacy greeting.
        if isinstance(env, Envelope) and (env.resmsg or (env.status and env.status != "UP" and env.error is None)):
            self._legacy_connection(conn, received, out)
            return
        super()._on_reply(conn, env, frame, received, out)

    def _on_unknown(self, conn: str, kind: str, frame: str, received: float, out: Output) -> None:
        if kind in _LEGACY_TYPES:
            self._legacy_connection(conn, received, out)
            return
        super()._on_unknown(conn, kind, frame, received, out)

    def _on_malformed(
        self, conn: str, kind: str, frame: str, exc: msgspec.DecodeError, received: float, out: Output
    ) -> None:
        # The legacy ticker shares the type name: {"type":"ticker","content":{"symbol":"BTC_KRW",...}}.
        try:
            legacy = self.envelope.decode(frame).content is not None
        except msgspec.DecodeError:
            legacy = False
        if legacy:
            self._legacy_connection(conn, received, out)
            return
        super()._on_malformed(conn, kind, frame, exc, received, out)

    # -- books ----------------------------------------------------------------------------------

    def book_time(self, timestamp: int | None) -> float | None:
        """An orderbook time in seconds: 16 digits are microseconds (real frames), 13 milliseconds (docs)."""
        if timestamp is None:
            return None
        return timestamp / 1_000_000.0 if timestamp >= MICROS_FROM else timestamp / 1000.0

    def _route_books(self, timestamp: int | None) -> None:
        """Route orderbooks in the time unit the first one came in; a frame in the other unit
        does not decode with the route's struct and keeps the adapter's own path."""
        micros = timestamp is not None and timestamp >= MICROS_FROM
        time = fastpath.micros("timestamp") if micros else fastpath.millis("timestamp")
        self._router.add("orderbook", _routed[self._route_simple, micros], None, self._book_step(time))
