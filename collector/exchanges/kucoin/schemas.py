"""KuCoin wire messages (spot and futures), one struct each, keys as KuCoin sends them.

Every websocket data frame is ``{"topic": "/market/match:BTC-USDT", "type": "message",
"subject": "trade.l3match", "data": {...}}`` (futures add ``"sn"``); :class:`Push` is that
envelope with ``data`` typed for one topic, so a frame is decoded once, straight into its
payload. Control frames (``welcome``, ``ack``, ``pong``, ``error``) carry no topic and
are read as an :class:`Envelope`. REST answers are wrapped as ``{"code": "200000",
"data": ...}``.

Decoders are built with ``strict=False``: KuCoin's decimal strings (``"67523"``) become
floats in C, and its string-typed integers (``"sequence": "14610502970"``, match ``time``
in nanoseconds as a string) become ints. Prices, sizes, ids and times use the constrained
types of :mod:`collector.exchanges.fields` (and :data:`Nanos` here), so impossible values
fail to decode. Unknown keys are ignored: fields KuCoin adds later do not break decoding.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeAlias, TypeVar

import msgspec

from ..fields import Finite, Id, Levels, Millis, Price, Size

__all__ = [
    "Bar",
    "Bullet",
    "BulletResponse",
    "Change",
    "Contract",
    "ContractResponse",
    "ContractsResponse",
    "Envelope",
    "Execution",
    "FundingRate",
    "FuturesLevel2",
    "FuturesSnapshot",
    "FuturesSnapshotResponse",
    "FuturesTicker",
    "InstanceServer",
    "KlineData",
    "Level1",
    "Level2Changes",
    "Level2Update",
    "MarkIndexPrice",
    "Match",
    "Nanos",
    "PriceOrZero",
    "Push",
    "RoutedExecution",
    "SpotSnapshot",
    "SpotSnapshotResponse",
    "SpotTicker",
    "SymbolInfo",
    "SymbolSnapshot",
    "SymbolSnapshotData",
    "SymbolsResponse",
]

T = TypeVar("T")

Nanos: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
"""Nanoseconds since the epoch (match ``time``, futures ``ts``): past :data:`~..fields.Millis`' 2**53."""
PriceOrZero: TypeAlias = Annotated[float, msgspec.Meta(ge=0.0, le=1.7976931348623157e308)]
"""A level2 change price: ``"0"`` marks an entry that only advances the sequence ("if the price is 0, ignore")."""
Change: TypeAlias = tuple[PriceOrZero, Size, Id]
"""One ``/market/level2`` change: ``[price, absolute size, sequence of the price's last modification]``."""
Bar: TypeAlias = tuple[Annotated[int, msgspec.Meta(ge=0, le=2**40)], Price, Price, Price, Price, Size, Size]
"""A kline: ``[start (s), open, close, high, low, volume (base), amount (quote)]``, all sent as text."""


class Envelope(msgspec.Struct, gc=False):
    """Any frame, read for its kind: a topic push, or a control message without a topic."""

    type: str = ""  # "welcome", "ack", "pong", "error", "message", "notice", "command"
    id: str | int | None = None  # the request's id (ack, pong) or the connectId (welcome, error)
    topic: str = ""  # data frames: "/market/match:BTC-USDT"
    subject: str = ""  # data frames: "trade.l3match"; /market/ticker:all: the symbol
    code: int | str | None = None  # error frames: 401, 404, 415, 509 ...
    data: msgspec.Raw = msgspec.Raw()  # error frames: the reason text; data frames: the payload


class Push(msgspec.Struct, Generic[T], gc=False):
    """A topic push whose payload type is known from the topic, decoded in one pass."""

    topic: str
    data: T
    subject: str = ""


# -- spot ------------------------------------------------------------------------------------------


class Match(msgspec.Struct, gc=False):
    """``/market/match:{symbol}`` (subject ``trade.l3match``): one fill; ``side`` is the taker's."""

    price: Price
    size: Size  # base units
    side: str  # "buy" or "sell": the taker order's side
    tradeId: str  # numeric text since 2023 ("11067996711960577"), a hex id before
    time: Nanos  # fill time, ns, sent as a string
    symbol: str = ""
    type: str = ""  # "match"
    # (also "sequence", "makerOrderId", "takerOrderId": not read)


class Level2Changes(msgspec.Struct, gc=False):
    """``changes`` of a level2 update: absolute sizes, ``"0"`` removes the price."""

    asks: list[Change] = []
    bids: list[Change] = []


class Level2Update(msgspec.Struct, gc=False):
    """``/market/level2:{symbol}`` (subject ``trade.l2update``): changes over ``[sequenceStart, sequenceEnd]``."""

    changes: Level2Changes
    sequenceStart: Id
    sequenceEnd: Id
    symbol: str = ""
    time: Millis | None = None  # ms; missing in messages from before 2022


class SpotTicker(msgspec.Struct, gc=False):
    """``/market/ticker:{symbol}`` (subject ``trade.ticker``, every 100 ms): best bid/offer and the last fill."""

    bestBid: Price | None = None
    bestBidSize: Size | None = None
    bestAsk: Price | None = None
    bestAskSize: Size | None = None
    price: Price | None = None  # last traded price
    size: Size | None = None  # last traded amount
    time: Millis | None = None  # ms; missing in messages from before 2022
    # (also "sequence", as text: not read)


class Level1(msgspec.Struct, gc=False):
    """``/spotMarket/level1:{symbol}`` (subject ``level1``): ``[price, size]`` of each best level."""

    asks: tuple[Price, Size] | None = None
    bids: tuple[Price, Size] | None = None
    timestamp: Millis | None = None


class SymbolSnapshotData(msgspec.Struct, gc=False):
    """The 24 h statistics of one symbol in ``/market/snapshot:{symbol}`` (numbers, not strings)."""

    symbol: str
    buy: Price | None = None  # best bid
    sell: Price | None = None  # best ask
    bidSize: Size | None = None
    askSize: Size | None = None
    lastTradedPrice: Price | None = None
    open: Price | None = None
    high: Price | None = None
    low: Price | None = None
    vol: Size | None = None  # 24 h volume, base units
    volValue: Size | None = None  # 24 h turnover, quote units
    datetime: Millis | None = None


class SymbolSnapshot(msgspec.Struct, gc=False):
    """``data`` of ``/market/snapshot:{symbol}`` and ``/market/snapshot:{market}`` (subject ``trade.snapshot``,
    every 2 s): one :class:`SymbolSnapshotData` for a symbol, a list of them for a whole market."""

    data: msgspec.Raw
    sequence: str | int | None = None


class KlineData(msgspec.Struct, gc=False):
    """``/market/candles:{symbol}_{type}`` (subject ``trade.candles.update``)."""

    candles: Bar
    time: Nanos  # ns
    symbol: str = ""


# -- futures -----------------------------------------------------------------------------------------


class Execution(msgspec.Struct, gc=False):
    """``/contractMarket/execution:{symbol}`` (subject ``match``): one fill; ``side`` is the taker's."""

    price: Price
    size: Size  # contracts (2019 docs: the *unfilled* size, with matchSize the filled one)
    side: str
    tradeId: str
    symbol: str = ""
    sequence: Id | None = None
    ts: Nanos | None = None  # fill time, ns
    time: Nanos | None = None  # fill time, ns (2019-2022 messages)
    matchSize: Size | None = None  # filled contracts (2019-2022 messages)


class RoutedExecution(Execution, kw_only=True, gc=False):
    """An :class:`Execution` with its ``ts``: the fast path's. One timed only by the older
    ``time`` does not decode as this and takes the adapter's path, which reads ``time``."""

    ts: Nanos


class FuturesTicker(msgspec.Struct, gc=False):
    """``/contractMarket/tickerV2:{symbol}`` (BBO) and ``/contractMarket/ticker:{symbol}`` (also the last fill)."""

    bestBidPrice: Price | None = None
    bestBidSize: Size | None = None  # contracts
    bestAskPrice: Price | None = None
    bestAskSize: Size | None = None  # contracts
    ts: Nanos | None = None  # ns
    price: Price | None = None  # ticker v1: last fill price
    size: Size | None = None  # ticker v1: last fill size, contracts
    symbol: str = ""
    sequence: Id | None = None


class FuturesLevel2(msgspec.Struct, gc=False):
    """``/contractMarket/level2:{symbol}`` (subject ``level2``): one change, ``"price,side,size"``."""

    sequence: Id
    change: str  # "90631.2,sell,2": price, side, absolute size in contracts
    timestamp: Millis | None = None


class MarkIndexPrice(msgspec.Struct, gc=False):
    """``/contract/instrument:{symbol}`` subject ``mark.index.price`` (every second)."""

    markPrice: Price
    indexPrice: Price
    timestamp: Millis
    granularity: int = 1000


class FundingRate(msgspec.Struct, gc=False):
    """``/contract/instrument:{symbol}`` subject ``funding.rate``.

    "Granularity (predicted funding rate: 1-min granularity: 60000; Funding rate:
    8-hours granularity: 28800000.)"
    """

    fundingRate: Finite
    timestamp: Millis
    granularity: int = 0


# -- REST ------------------------------------------------------------------------------------------


class InstanceServer(msgspec.Struct, gc=False):
    """One websocket server of a ``bullet-public`` answer."""

    endpoint: str  # "wss://ws-api-spot.kucoin.com/": "a dynamic URL, which may change"
    pingInterval: int = 18_000  # ms: "recommended to send ping interval"
    pingTimeout: int = 10_000  # ms: no pong for this long means the link is dead
    protocol: str = "websocket"
    encrypt: bool = True


class Bullet(msgspec.Struct, gc=False):
    """``data`` of ``POST /api/v1/bullet-public``."""

    token: str
    instanceServers: list[InstanceServer]


class BulletResponse(msgspec.Struct, gc=False):
    """``POST /api/v1/bullet-public``: the public websocket token and servers."""

    code: str
    data: Bullet | None = None
    msg: str = ""


class SymbolInfo(msgspec.Struct, gc=False):
    """One entry of ``GET /api/v2/symbols`` (and of the deprecated ``/api/v1/symbols``)."""

    symbol: str  # "BTC-USDT": "unique code of a symbol, it would not change after renaming"
    baseCurrency: str
    quoteCurrency: str
    priceIncrement: Finite | None = None
    baseIncrement: Finite | None = None
    enableTrading: bool = True
    name: str = ""  # "it would change after renaming"


class SymbolsResponse(msgspec.Struct, gc=False):
    """``GET /api/v2/symbols``."""

    code: str
    data: list[SymbolInfo] | None = None
    msg: str = ""


class SpotSnapshot(msgspec.Struct, gc=False):
    """``data`` of ``GET /api/v1/market/orderbook/level2_100`` (and of the keyed full ``/api/v3`` one)."""

    sequence: Id  # sent as a string
    bids: Levels
    asks: Levels
    time: Millis | None = None


class SpotSnapshotResponse(msgspec.Struct, gc=False):
    """A spot order book snapshot answer."""

    code: str
    data: SpotSnapshot | None = None
    msg: str = ""


class FuturesSnapshot(msgspec.Struct, gc=False):
    """``data`` of ``GET /api/v1/level2/snapshot``: full depth, sizes in contracts (numbers)."""

    sequence: Id
    bids: Levels
    asks: Levels
    symbol: str = ""
    ts: Nanos | None = None  # ns


class FuturesSnapshotResponse(msgspec.Struct, gc=False):
    """A futures order book snapshot answer."""

    code: str
    data: FuturesSnapshot | None = None
    msg: str = ""


class Contract(msgspec.Struct, gc=False):
    """One contract of ``GET /api/v1/contracts/active`` (or ``/api/v1/contracts/{symbol}``).

    Market fields are plain finite numbers (a contract just listed reports 0 for what it
    does not have yet): one odd entry must not make the whole listing unreadable. The
    adapter maps values that cannot be prices to "not given".
    """

    symbol: str  # "XBTUSDTM"
    baseCurrency: str  # "XBT" is bitcoin
    quoteCurrency: str
    settleCurrency: str
    multiplier: Finite  # base units per contract (linear); -1 on inverse contracts worth 1 USD
    isInverse: bool = False
    type: str = "FFWCSX"  # "FFWCSX" perpetual swap, "FFICSX" dated future
    expireDate: int | None = None  # ms; null for perpetuals
    tickSize: Finite | None = None
    lotSize: Finite | None = None  # contracts
    status: str = "Open"
    markPrice: Finite | None = None
    indexPrice: Finite | None = None
    lastTradePrice: Finite | None = None
    fundingFeeRate: Finite | None = None
    predictedFundingFeeRate: Finite | None = None
    fundingRateGranularity: int | None = None  # ms between fundings
    nextFundingRateTime: int | None = None  # ms *until* the next funding, not a time
    openInterest: str | Finite | None = None  # "open interest (unit: lots)", sent as a string


class ContractsResponse(msgspec.Struct, gc=False):
    """``GET /api/v1/contracts/active``."""

    code: str
    data: list[Contract] | None = None
    msg: str = ""


class ContractResponse(msgspec.Struct, gc=False):
    """``GET /api/v1/contracts/{symbol}``."""

    code: str
    data: Contract | None = None
    msg: str = ""
