"""Bitfinex websocket v2 and REST messages, one struct each, fields in the exchange's order.

Channel data are positional JSON arrays keyed only by the channel id, ``[CHAN_ID, ...]``,
so the structs are ``array_like``: msgspec reads them by position in C, checks every
value against the constrained types of :mod:`collector.exchanges.fields`, and skips the
elements Bitfinex appends later ("Array lengths must not be hard-coded: fields can be
appended without a version change"). With the ``SEQ_ALL`` flag the connection-wide
sequence number is the last element of every public message; it is the ``seq`` field
below, ``None`` when the flag is off. Events (acks, info, errors) are JSON objects.

Numbers are JSON numbers; decoders use ``strict=False`` so the ``DEC_S`` flag (decimals
as strings) decodes the same.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias

import msgspec

from ..fields import Finite, Id, Millis, Price, Size

__all__ = [
    "BookEntry",
    "BookSnapshot",
    "BookUpdate",
    "BulkUpdate",
    "CandleEntry",
    "CandleUpdate",
    "CandlesSnapshot",
    "ChecksumMessage",
    "CurrencyMap",
    "DerivStatus",
    "Event",
    "Heartbeat",
    "Liquidation",
    "LiquidationFeed",
    "PairList",
    "Platform",
    "Signed32",
    "StatusUpdate",
    "TickerData",
    "TickerUpdate",
    "TradeEntry",
    "TradeUpdate",
    "TradesSnapshot",
]

Signed32: TypeAlias = Annotated[int, msgspec.Meta(ge=-(2**31), lt=2**31)]
"""A CRC32 as Bitfinex sends it: "Checksums will be sent as a signed integer"."""

Seq: TypeAlias = Id | None
"""The connection-wide sequence number (``SEQ_ALL``), ``None`` without the flag."""


# -- events ---------------------------------------------------------------------------------------


class Platform(msgspec.Struct, gc=False):
    """``platform`` of the info event sent on connect: ``status`` 1 operative, 0 maintenance."""

    status: int | None = None


class Event(msgspec.Struct, gc=False):
    """Every JSON-object message: ``info``, ``conf``, ``subscribed``, ``unsubscribed``, ``error``, ``pong``.

    Examples::

        {"event":"info","version":2,"serverId":"...","platform":{"status":1}}
        {"event":"info","code":20051,"msg":"Stopping. Please try to reconnect"}
        {"event":"conf","status":"OK","flags":196608}
        {"event":"subscribed","channel":"book","chanId":10092,"symbol":"tETHUSD",
         "prec":"P0","freq":"F0","len":"25","subId":123,"pair":"ETHUSD"}
        {"event":"subscribed","channel":"candles","chanId":343351,"key":"trade:1m:tBTCUSD"}
        {"event":"unsubscribed","status":"OK","chanId":10092}
        {"event":"error","msg":"subscribe: dup","code":10301,"channel":"book","symbol":"tBTCUSD"}
    """

    event: str = ""
    channel: str = ""  # subscribed/error: trades, ticker, book, candles, status
    chanId: int | None = None  # the channel id every data message starts with
    symbol: str = ""  # trades/ticker/book: "tBTCUSD" or a funding currency "fUSD"
    pair: str = ""  # trading pairs: "BTCUSD" (older servers name the symbol only here)
    currency: str = ""  # funding currencies: "USD"
    key: str = ""  # candles "trade:1m:tBTCUSD"; status "deriv:tBTCF0:USTF0" or "liq:global"
    prec: str = ""  # book precision: P0..P4, or R0 (raw book)
    freq: str = ""  # book frequency: F0 realtime, F1 every 2 s
    len: str | int | None = None  # book length "1", "25", "100", "250" (a string in replies)
    code: int | None = None  # info and error codes
    msg: str = ""
    status: str = ""  # conf/unsubscribed: "OK"
    flags: int | None = None  # conf: the flags now in force
    version: int | None = None  # info on connect: 2
    platform: Platform | None = None  # info on connect
    cid: int | None = None  # pong: the ping's cid
    ts: int | None = None  # pong: server time, ms


# -- channel data ---------------------------------------------------------------------------------


class Heartbeat(msgspec.Struct, array_like=True, gc=False):
    """``[CHAN_ID, "hb"]`` (plus the sequence number): the channel had no update for 15 s."""

    chan: int
    hb: str
    seq: Seq = None


class ChecksumMessage(msgspec.Struct, array_like=True, gc=False):
    """``[CHAN_ID, "cs", CHECKSUM]`` with ``OB_CHECKSUM``: the CRC32 of the book's best 25 levels a side."""

    chan: int
    cs: str
    checksum: Signed32
    seq: Seq = None


class BookEntry(msgspec.Struct, array_like=True, gc=False):
    """``[PRICE, COUNT, AMOUNT]``: ``AMOUNT`` > 0 bid, < 0 ask, the level's total; ``COUNT`` 0 deletes."""

    price: Price
    count: Id  # orders at the level; 0 removes it (AMOUNT is then 1 for bids, -1 for asks)
    amount: Finite


class BookSnapshot(msgspec.Struct, array_like=True, gc=False):
    """``[CHAN_ID, [[PRICE, COUNT, AMOUNT], ...]]``: the first message of a book channel."""

    chan: int
    entries: list[BookEntry]
    seq: Seq = None


BulkUpdate = BookSnapshot
"""With ``BULK_UPDATES`` (536870912) later messages may carry several entries in the snapshot's shape."""


class BookUpdate(msgspec.Struct, array_like=True, gc=False):
    """``[CHAN_ID, [PRICE, COUNT, AMOUNT]]``: one level changed."""

    chan: int
    entry: BookEntry
    seq: Seq = None


class TradeEntry(msgspec.Struct, array_like=True, gc=False):
    """``[ID, MTS, AMOUNT, PRICE]``: "How much was bought (positive) or sold (negative)"."""

    id: Id
    mts: Millis
    amount: Finite  # the sign is the taker's side: the order that caused the trade
    price: Price


class TradesSnapshot(msgspec.Struct, array_like=True, gc=False):
    """``[CHAN_ID, [[ID, MTS, AMOUNT, PRICE], ...]]``: recent trades, sent on subscribe."""

    chan: int
    trades: list[TradeEntry]
    seq: Seq = None


class TradeUpdate(msgspec.Struct, array_like=True, gc=False):
    """``[CHAN_ID, "te"|"tu", [ID, MTS, AMOUNT, PRICE]]``: a trade executed (``te``), then updated (``tu``)."""

    chan: int
    kind: str
    trade: TradeEntry
    seq: Seq = None


class TickerData(msgspec.Struct, array_like=True, gc=False):
    """``[BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE, DAILY_CHANGE_RELATIVE, LAST_PRICE, VOLUME, HIGH, LOW]``.

    ``BID_SIZE``/``ASK_SIZE`` are documented as "Sum of the 25 highest bid sizes" (lowest
    asks), not the size at the best price. ``VOLUME`` is the daily volume in the base
    currency.
    """

    bid: Size | None
    bid_size: Finite | None
    ask: Size | None
    ask_size: Finite | None
    daily_change: Finite | None
    daily_change_relative: Finite | None
    last_price: Size | None
    volume: Size | None
    high: Size | None
    low: Size | None


class TickerUpdate(msgspec.Struct, array_like=True, gc=False):
    """``[CHAN_ID, [BID, ...]]``: the whole ticker, every time."""

    chan: int
    ticker: TickerData
    seq: Seq = None


class CandleEntry(msgspec.Struct, array_like=True, gc=False):
    """``[MTS, OPEN, CLOSE, HIGH, LOW, VOLUME]`` (note: close before high and low)."""

    mts: Millis  # bar start
    open: Price
    close: Price
    high: Price
    low: Price
    volume: Size  # base currency


class CandlesSnapshot(msgspec.Struct, array_like=True, gc=False):
    """``[CHAN_ID, [[MTS, OPEN, CLOSE, HIGH, LOW, VOLUME], ...]]``: recent bars, newest first."""

    chan: int
    candles: list[CandleEntry]
    seq: Seq = None


class CandleUpdate(msgspec.Struct, array_like=True, gc=False):
    """``[CHAN_ID, [MTS, OPEN, CLOSE, HIGH, LOW, VOLUME]]``: the forming bar (or a new one)."""

    chan: int
    candle: CandleEntry
    seq: Seq = None


class DerivStatus(msgspec.Struct, array_like=True, gc=False):
    """``status`` channel, key ``deriv:<SYMBOL>``: one perpetual's state (nulls are placeholders)."""

    mts: Millis
    _p1: Any
    deriv_price: Price | None  # derivative book mid price
    spot_price: Price | None  # book mid price of the underlying spot pair
    _p4: Any
    insurance_fund_balance: Finite | None
    _p6: Any
    next_funding_mts: Millis | None  # next funding event, ms
    next_funding_accrued: Finite | None  # accrued funding for the next 8 h period (a fraction)
    next_funding_step: int | None
    _p10: Any
    current_funding: Finite | None  # funding applied in the current 8 h period (a fraction)
    _p12: Any
    _p13: Any
    mark_price: Price | None  # "Price based on the BFX Composite Index"
    _p15: Any
    _p16: Any
    open_interest: Size | None  # "Total number of outstanding derivative contracts" (base units)
    _p18: Any = None
    _p19: Any = None
    _p20: Any = None
    clamp_min: Finite | None = None
    clamp_max: Finite | None = None


class StatusUpdate(msgspec.Struct, array_like=True, gc=False):
    """``[CHAN_ID, [TIME_MS, PLACEHOLDER, DERIV_PRICE, ...]]``."""

    chan: int
    status: DerivStatus
    seq: Seq = None


class Liquidation(msgspec.Struct, array_like=True, gc=False):
    """``["pos", POS_ID, TIME_MS, _, SYMBOL, AMOUNT, BASE_PRICE, _, IS_MATCH, IS_MARKET_SOLD, _, PRICE]``."""

    kind: str  # "pos"
    pos_id: Id
    mts: Annotated[float, msgspec.Meta(ge=0.0, le=2.0**53)]  # ms, with a fraction: 1574697680828.2002
    _p3: Any
    symbol: str  # "tBTCF0:USTF0" (margin positions on spot pairs too)
    amount: Finite  # the position: positive long, negative short
    base_price: Price | None  # where the position was entered
    _p7: Any
    is_match: int  # 0 initial liquidation trigger, 1 market execution
    is_market_sold: int  # 0 position acquired by the system, 1 sold into the market
    _p10: Any = None
    price: Price | None = None  # the price at which the position was acquired


class LiquidationFeed(msgspec.Struct, array_like=True, gc=False):
    """``[CHAN_ID, [["pos", ...], ...]]`` of the ``liq:global`` status channel."""

    chan: int
    entries: list[Liquidation]
    seq: Seq = None


# -- REST -----------------------------------------------------------------------------------------

PairList: TypeAlias = list[list[str]]
"""``GET /v2/conf/pub:list:pair:exchange`` (or ``:futures``): ``[["BTCUSD", "ETHUSD", "BTC:CNHT", ...]]``."""

CurrencyMap: TypeAlias = list[list[tuple[str, str]]]
"""``GET /v2/conf/pub:map:currency:sym``: ``[[["UST", "USDT"], ["UDC", "USDC"], ...]]``."""
