"""HTX public wire messages, one struct each, keys as HTX sends them.

Spot (``api.huobi.pro/ws`` and ``/feed``), USDT-margined and coin-margined swaps
(``api.hbdm.com/linear-swap-ws``, ``/swap-ws``), the index endpoint (``/ws_index``) and the
notification endpoints (``/linear-swap-notification``, ``/swap-notification``) all wrap
their payload the same way: a push is ``{"ch": topic, "ts": ms, "tick": {...}}``, a
notification ``{"op": "notify", "topic": topic, "ts": ms, "data": [...]}``, a reply to a
``req`` ``{"id": ..., "rep": topic, "status": "ok", "data": {...}}``.

Numbers are JSON numbers on the market endpoints and decimal strings on the index and
notification endpoints; decoders are built with ``strict=False`` so both become floats in
C. Prices, sizes, ids and times use the constrained types of :mod:`..fields`, so ``NaN``,
negative sizes or 70-bit ids fail to decode and become ``error`` events.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeAlias, TypeVar

import msgspec

from ..fields import Finite, Id, Levels, Millis, Price, Size

__all__ = [
    "Contract",
    "ContractList",
    "DepthTick",
    "Envelope",
    "FundingRate",
    "HighFreqTick",
    "Kline",
    "LiquidationOrder",
    "MbpSnapshot",
    "MbpTick",
    "Notify",
    "PriceKline",
    "Push",
    "RateKline",
    "Side",
    "SpotBbo",
    "SpotSymbol",
    "SpotSymbolList",
    "SpotTicker",
    "SpotTrade",
    "SwapBbo",
    "SwapTrade",
    "TradeTick",
]

T = TypeVar("T")

Seconds: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=2**40)]
"""A kline id: the bar's start in epoch seconds."""

Side: TypeAlias = Levels | dict[str, str] | None
"""One side of an MBP increment: levels, or the "blank object" a 150-level push carries for
the side that did not change (``{}``, ``[]`` or absent)."""


class Envelope(msgspec.Struct, gc=False):
    """Any frame, read when its first key does not name a push: a heartbeat, a reply, a notification."""

    ch: str = ""  # a push whose keys came in another order
    ping: int | None = None  # market endpoints: server heartbeat, echo it as {"pong": n}
    pong: int | None = None  # the answer to a client ping
    id: str | int | None = None  # the request id a reply echoes
    status: str = ""  # replies: "ok" or "error"
    subbed: str = ""  # sub acknowledgement: the topic
    unsubbed: str = ""  # unsub acknowledgement: the topic
    rep: str = ""  # reply to a "req": the topic
    err_code: str | int | None = msgspec.field(default=None, name="err-code")
    err_msg: str = msgspec.field(default="", name="err-msg")
    op: str = ""  # notification endpoints: "ping", "sub", "unsub", "notify", "close", "error"
    topic: str = ""  # notification endpoints: the topic of a reply or notification
    cid: str = ""  # notification endpoints: the request id a reply echoes
    ts: int | str | None = None  # server time, ms (a string in notification-endpoint pings)
    data: msgspec.Raw = msgspec.Raw()  # the payload of a reply or notification
    tick: msgspec.Raw = msgspec.Raw()  # the payload of a push


class Push(msgspec.Struct, Generic[T], gc=False):
    """A market push whose payload type is known from its topic, decoded in one pass."""

    ch: str  # "market.<symbol>.<channel>"
    tick: T
    ts: Millis | None = None  # time the message was generated, ms


class Notify(msgspec.Struct, Generic[T], gc=False):
    """A notification-endpoint push (``op`` ``notify``)."""

    topic: str  # "public.<contract_code>.<channel>"
    data: T
    ts: Millis | None = None
    op: str = ""


# -- spot -----------------------------------------------------------------------------------------


class SpotTrade(msgspec.Struct, gc=False):
    """One element of ``market.$symbol.trade.detail`` ``tick.data``.

    ``direction`` is the "aggressive order side" (the taker). ``tradeId`` is the unique
    trade id since 2019; the legacy ``id`` is a number too large for 64 bits (often printed
    with an exponent), kept as its text for trades recorded before ``tradeId`` existed.
    """

    ts: Millis
    amount: Size  # base units
    price: Price
    direction: str  # "buy" or "sell"
    tradeId: Id | None = None
    id: msgspec.Raw = msgspec.Raw()


class SwapTrade(msgspec.Struct, gc=False):
    """One element of a swap's ``market.$contract_code.trade.detail`` ``tick.data``."""

    id: Id  # unique trade id (per contract)
    ts: Millis
    amount: Size  # contracts ("quantity(Cont.)")
    price: Price
    direction: str  # the taker's side
    quantity: Size | None = None  # base coin ("trading quantity(coin)"), sent since 2021-02


class TradeTick(msgspec.Struct, Generic[T], gc=False):
    """``tick`` of ``trade.detail``: one taker order's fills."""

    data: list[T]
    ts: Millis | None = None


class SpotBbo(msgspec.Struct, gc=False):
    """``tick`` of spot ``market.$symbol.bbo`` (pushed on every change of the best bid or offer)."""

    bid: Price | None = None
    bidSize: Size | None = None
    ask: Price | None = None
    askSize: Size | None = None
    quoteTime: Millis | None = None  # time of the quote, ms
    seqId: Id | None = None
    symbol: str = ""


class SwapBbo(msgspec.Struct, gc=False):
    """``tick`` of a swap's ``market.$contract_code.bbo``: ``[price, contracts]`` pairs."""

    bid: tuple[Price, Size] | None = None
    ask: tuple[Price, Size] | None = None
    ts: Millis | None = None
    version: Id | None = None


class SpotTicker(msgspec.Struct, gc=False):
    """``tick`` of spot ``market.$symbol.ticker``: best bid/offer and rolling 24 h statistics.

    Prices may be ``0`` for a side or a statistic that does not exist (a new or empty
    market), so they are decoded as sizes (finite, non-negative) and ``0`` becomes "none".
    """

    bid: Size | None = None
    bidSize: Size | None = None
    ask: Size | None = None
    askSize: Size | None = None
    lastPrice: Size | None = None
    lastSize: Size | None = None
    open: Size | None = None
    high: Size | None = None
    low: Size | None = None
    close: Size | None = None
    amount: Size | None = None  # 24 h volume, base units
    vol: Size | None = None  # 24 h volume, quote units
    count: int | None = None


class Kline(msgspec.Struct, gc=False):
    """``tick`` of ``market.$symbol.kline.$period`` (spot and swaps): the bar so far."""

    id: Seconds  # bar start, epoch seconds
    open: Price
    close: Price
    high: Price
    low: Price
    amount: Size  # volume in the base coin (spot and swaps)
    vol: Size | None = None  # spot: quote volume; swaps: contracts
    count: Size | None = None  # number of trades (a decimal on swaps)


class MbpTick(msgspec.Struct, gc=False):
    """``tick`` of ``market.$symbol.mbp.$levels``: absolute sizes, ``0`` removes the level."""

    seqNum: Id
    prevSeqNum: Id | None = None
    bids: Side = None
    asks: Side = None


class MbpSnapshot(msgspec.Struct, gc=False):
    """``data`` of the reply to ``{"req": "market.$symbol.mbp.$levels"}``: the whole book at ``seqNum``."""

    seqNum: Id
    bids: Levels = []
    asks: Levels = []


class DepthTick(msgspec.Struct, gc=False):
    """``tick`` of a whole-book feed: ``depth.step0`` (spot and swaps, sizes in contracts on
    swaps) or spot ``mbp.refresh.$levels``. A delisted contract's pushes carry no sides."""

    bids: Levels | None = None
    asks: Levels | None = None
    version: Id | None = None  # depth.step*
    seqNum: Id | None = None  # mbp.refresh.*
    ts: Millis | None = None


class HighFreqTick(msgspec.Struct, gc=False):
    """``tick`` of a swap's ``market.$contract_code.depth.size_$size.high_freq`` (``data_type`` incremental).

    The first push after a subscription is ``event`` ``snapshot``; every ``update`` after it
    has ``version`` one more than the previous push's.
    """

    event: str  # "snapshot" or "update"
    version: Id
    bids: Levels | None = None
    asks: Levels | None = None
    ts: Millis | None = None


class PriceKline(msgspec.Struct, gc=False):
    """``tick`` of ``/ws_index`` ``mark_price.$period`` and ``index.$period`` (decimal strings)."""

    id: Seconds
    close: Price  # the latest mark or index price


class RateKline(msgspec.Struct, gc=False):
    """``tick`` of ``/ws_index`` ``estimated_rate.$period``: the predicted funding rate (may be negative)."""

    id: Seconds
    close: Finite


class FundingRate(msgspec.Struct, gc=False):
    """One element of ``public.$contract_code.funding_rate`` ``data`` (decimal strings)."""

    contract_code: str
    funding_rate: Finite  # the rate of the current period, as a fraction
    settlement_time: Millis | None = None  # when it is charged, ms
    funding_time: Millis | None = None
    estimated_rate: str | float | None = None  # deprecated: the string "null" (or null) nowadays
    symbol: str = ""


class LiquidationOrder(msgspec.Struct, gc=False):
    """One element of ``public.$contract_code.liquidation_orders`` ``data``."""

    contract_code: str
    direction: str  # side of the liquidation order: "buy" or "sell"
    volume: Size  # contracts
    price: Price  # bankruptcy price
    created_at: Millis
    amount: Size | None = None  # base coin
    symbol: str = ""


# -- instrument listings --------------------------------------------------------------------------


class SpotSymbol(msgspec.Struct, gc=False):
    """One entry of ``GET /v1/common/symbols``."""

    symbol: str  # "btcusdt"
    base: str = msgspec.field(name="base-currency")  # "btc"
    quote: str = msgspec.field(name="quote-currency")  # "usdt"
    price_precision: Annotated[int, msgspec.Meta(ge=0, le=20)] | None = msgspec.field(
        default=None, name="price-precision"
    )
    amount_precision: Annotated[int, msgspec.Meta(ge=0, le=20)] | None = msgspec.field(
        default=None, name="amount-precision"
    )
    state: str = ""  # "online", "offline", "suspend", "pre-online"


class SpotSymbolList(msgspec.Struct, gc=False):
    """``GET /v1/common/symbols``; ``status`` ``ok`` means success."""

    status: str = ""
    data: list[SpotSymbol] = []
    err_msg: str = msgspec.field(default="", name="err-msg")


class Contract(msgspec.Struct, gc=False):
    """One entry of ``GET /linear-swap-api/v1/swap_contract_info`` or ``/swap-api/v1/swap_contract_info``."""

    symbol: str  # the base coin, "BTC"
    contract_code: str  # "BTC-USDT", "BTC-USD", "BTC-USDT-210625"
    contract_size: Price  # linear: base coin per contract; coin-margined: USD per contract
    price_tick: Price | None = None
    contract_status: int = 0  # 1: listed and trading
    trade_partition: str = ""  # linear: the margin (and quote) coin, "USDT"
    business_type: str = ""  # linear: "swap" or "futures"
    delivery_date: str = ""  # dated futures: "20210625"


class ContractList(msgspec.Struct, gc=False):
    """A swap contract listing; ``status`` ``ok`` means success."""

    status: str = ""
    data: list[Contract] = []
    err_msg: str = msgspec.field(default="", name="err-msg")
