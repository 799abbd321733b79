"""The simulated OKX channels' frames, instrument-listing entries and hostile frames.

Every payload function builds the JSON text OKX would send from an
:class:`.sim_market.OkxMarket` (numbers as decimal strings, times as millisecond strings);
see :mod:`.sim` for when each is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from ...simulator.market import CandleState, Fill, InstrumentSpec
from ...simulator.wire import hostile_json
from .checksum import DEPTH, checksum
from .sim_market import FUNDING_MS, OkxMarket, contract, decimal, delivery_ms

__all__ = [
    "bbo_payload",
    "book_checksum",
    "book_payload",
    "books5_payload",
    "candle_payload",
    "dumps",
    "funding_payload",
    "hostile_frames",
    "index_payload",
    "interest_payload",
    "levels",
    "liquidations_payload",
    "listing",
    "mark_payload",
    "push",
    "ticker_payload",
    "trade_payload",
]


def dumps(obj: Any) -> str:
    """Compact JSON text."""
    return orjson.dumps(obj).decode()


def push(channel: str, key: str, data: list[Any], *, action: str | None = None, by: str = "instId") -> str:
    """``{"arg": {"channel": ..., "instId": ...}, ["action": ...,] "data": [...]}``."""
    msg: dict[str, Any] = {"arg": {"channel": channel, by: key}}
    if action is not None:
        msg["action"] = action
    msg["data"] = data
    return dumps(msg)


def book_payload(
    market: OkxMarket,
    action: str,
    bids: Sequence[tuple[int, int]],
    asks: Sequence[tuple[int, int]],
    prev: int,
    seq: int,
    time_ms: int,
    *,
    crc: bool,
) -> str:
    """A ``books`` push (``snapshot`` or ``update``) with its ids and, with ``crc``, the checksum
    of the book after it (else 0, as OKX has sent since 2026-06-23)."""
    market.book_ms = time_ms
    data = {
        "asks": levels(market, asks),
        "bids": levels(market, bids),
        "ts": str(time_ms),
        "checksum": book_checksum(market) if crc else 0,
        "prevSeqId": prev,
        "seqId": seq,
    }
    return push("books", market.spec.native, [data], action=action)


def levels(market: OkxMarket, side: Sequence[tuple[int, int]]) -> list[list[str]]:
    """``[price, size, "0" (deprecated), number of orders]`` per level; a removed level has 0 orders."""
    price, size = market.spec.price, market.spec.size
    return [[price(p), size(q), "0", str(1 + q % 7) if q else "0"] for p, q in side]


def book_checksum(market: OkxMarket) -> int:
    """The CRC32 of the best 25 levels as the client will hold them after this message."""
    price, size = market.spec.price, market.spec.size
    bids, asks = market.levels(DEPTH)
    return checksum([f"{price(p)}:{size(q)}" for p, q in bids], [f"{price(p)}:{size(q)}" for p, q in asks])


def books5_payload(market: OkxMarket, now_ms: int) -> str:
    """A ``books5`` push: the best 5 levels."""
    bids, asks = market.levels(5)
    market.top5 = (bids, asks)
    data: dict[str, Any] = {"asks": levels(market, asks), "bids": levels(market, bids)}
    data |= {"instId": market.spec.native, "ts": str(now_ms), "seqId": market.last_id}
    return push("books5", market.spec.native, [data])


def bbo_payload(market: OkxMarket, now_ms: int) -> str:
    """A ``bbo-tbt`` push: the best level."""
    bids, asks = market.levels(1)
    data: dict[str, Any] = {"asks": levels(market, asks), "bids": levels(market, bids)}
    return push("bbo-tbt", market.spec.native, [data | {"ts": str(now_ms), "seqId": market.last_id}])


def ticker_payload(market: OkxMarket, now_ms: int) -> str:
    """A ``tickers`` push with the 24 h statistics."""
    spec = market.spec
    price, size = spec.price, spec.size
    bid, bid_lots, ask, ask_lots = market.best()
    data = {
        "instType": market.terms.inst_type,
        "instId": spec.native,
        "last": price(market.last_price),
        "lastSz": size(market.last_lots),
        "askPx": price(ask),
        "askSz": size(ask_lots),
        "bidPx": price(bid),
        "bidSz": size(bid_lots),
        "open24h": price(market.open_ticks),
        "high24h": price(market.high),
        "low24h": price(market.low),
        "volCcy24h": decimal(market.counter),
        "vol24h": size(market.volume_lots),
        "sodUtc0": price(market.open_ticks),
        "sodUtc8": price(market.open_ticks),
        "ts": str(now_ms),
    }
    return push("tickers", spec.native, [data])


def trade_payload(channel: str, market: OkxMarket, f: Fill, seq: int) -> str:
    """A ``trades`` (aggregated: ``count`` fills) or ``trades-all`` push of one fill."""
    spec = market.spec
    data: dict[str, Any] = {
        "instId": spec.native,
        "tradeId": str(f.last_id),
        "px": spec.price(f.ticks),
        "sz": spec.size(f.lots),
        "side": "sell" if f.buyer_maker else "buy",  # the taker's side
        "ts": str(f.time_ms),
    }
    if channel == "trades":
        data |= {"count": str(f.last_id - f.first_id + 1), "source": "0", "seqId": seq}
    else:
        data["source"] = "0"
    return push(channel, spec.native, [data])


def candle_payload(market: OkxMarket, stream: str, candle: CandleState, closed: bool) -> str:
    """A ``candle<bar>`` push of one row."""
    spec = market.spec
    terms = market.terms
    contracts = candle.lots / 10**spec.size_decimals
    if terms.inst_type == "SPOT":
        ccy = quote = candle.counter_volume
    elif terms.ct_type == "linear":
        # The model sums price * size for a linear market: times the face value it is the quote volume.
        ccy, quote = contracts * terms.face, candle.counter_volume * terms.face
    else:
        ccy, quote = candle.counter_volume, contracts * terms.face
    row = [str(candle.start_ms), *(spec.price(t) for t in (candle.open, candle.high, candle.low, candle.close))]
    row += [spec.size(candle.lots), decimal(ccy), decimal(quote), "1" if closed else "0"]
    return push(stream.partition(":")[0], spec.native, [row])


def mark_payload(market: OkxMarket, now_ms: int) -> str:
    """A ``mark-price`` push: the middle of the touch."""
    spec = market.spec
    data = {"instType": market.terms.inst_type, "instId": spec.native, "markPx": spec.price(market.mid_ticks())}
    return push("mark-price", spec.native, [data | {"ts": str(now_ms)}])


def index_payload(market: OkxMarket, now_ms: int) -> str:
    """An ``index-tickers`` push for the market's index (its ``instFamily``)."""
    price = market.spec.price
    family = market.terms.family
    data = {"instId": family, "idxPx": price(market.mid_ticks()), "high24h": price(market.high)}
    data |= {"low24h": price(market.low), "open24h": price(market.open_ticks), "sodUtc0": price(market.open_ticks)}
    return push("index-tickers", family, [data | {"sodUtc8": price(market.open_ticks), "ts": str(now_ms)}])


def funding_payload(market: OkxMarket, now_ms: int) -> str:
    """A ``funding-rate`` push; ``fundingTime`` is the next 8-hour settlement."""
    market.funding_ms = now_ms
    settle = now_ms - now_ms % FUNDING_MS + FUNDING_MS
    data = {
        "formulaType": "noRate",
        "fundingRate": decimal(market.funding_rate, 16),
        "fundingTime": str(settle),
        "impactValue": "",
        "instId": market.spec.native,
        "instType": "SWAP",
        "interestRate": "",
        "method": "current_period",
        "maxFundingRate": "0.00375",
        "minFundingRate": "-0.00375",
        "nextFundingRate": "",
        "nextFundingTime": str(settle + FUNDING_MS),
        "premium": decimal(market.funding_rate * 0.6, 16),
        "settFundingRate": "0.0001",
        "settState": "settled",
        "ts": str(now_ms),
    }
    return push("funding-rate", market.spec.native, [data])


def interest_payload(market: OkxMarket, now_ms: int) -> str:
    """An ``open-interest`` push: contracts, base units and USD."""
    market.interest_ms = now_ms
    spec, terms = market.spec, market.terms
    contracts = market.interest_lots / 10**spec.size_decimals
    mid = market.mid_ticks() / 10**spec.price_decimals
    base = contracts * terms.face if terms.ct_type == "linear" else contracts * terms.face / mid
    data = {"instId": spec.native, "instType": terms.inst_type, "oi": spec.size(market.interest_lots)}
    data |= {"oiCcy": decimal(base), "oiUsd": decimal(base * mid, 2), "ts": str(now_ms)}
    return push("open-interest", spec.native, [data])


def liquidations_payload(market: OkxMarket) -> str:
    """A ``liquidation-orders`` push of the market's liquidations in this step."""
    spec = market.spec
    details = [
        {
            "bkLoss": "0",
            "bkPx": spec.price(liq.ticks),
            "ccy": "",
            "posSide": "long" if liq.side == "sell" else "short",
            "side": liq.side,
            "sz": spec.size(liq.lots),
            "ts": str(liq.time_ms),
        }
        for liq in market.liquidations
    ]
    family, inst_type = market.terms.family, market.terms.inst_type
    entry = {"details": details, "instFamily": family, "instId": spec.native, "instType": inst_type, "uly": family}
    return push("liquidation-orders", inst_type, [entry], by="instType")


def listing(spec: InstrumentSpec) -> dict[str, Any]:
    """``spec`` as an entry of ``/api/v5/public/instruments``."""
    terms = contract(spec)
    entry: dict[str, Any] = {
        "alias": "",
        "baseCcy": spec.base if spec.settle is None else "",
        "category": "1",
        "ctMult": "" if spec.settle is None else "1",
        "ctType": terms.ct_type,
        "ctVal": "" if spec.settle is None else terms.face_text,
        "ctValCcy": "" if spec.settle is None else (spec.base if terms.ct_type == "linear" else spec.quote),
        "expTime": str(delivery_ms(spec.expiry)) if spec.expiry else "",
        "instFamily": terms.family,
        "instId": spec.native,
        "instType": terms.inst_type,
        "lever": "" if spec.settle is None else "100",
        "listTime": "1606468572000",
        "lotSz": spec.step_size,
        "minSz": spec.step_size,
        "quoteCcy": spec.quote if spec.settle is None else "",
        "ruleType": "normal",
        "settleCcy": spec.settle or "",
        "state": "live",
        "tickSz": spec.tick_size,
        "uly": terms.family,
        "upcChg": [],
    }
    return entry


def hostile_frames(spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
    """OKX-shaped frames of ``spec`` with impossible values, each with what is wrong with it."""
    native = spec.native
    price, size, ts = spec.price(spec.start_ticks), spec.size(1), str(now_ms)

    def push(channel: str, data: Any, **extra: Any) -> str:
        return hostile_json({"arg": {"channel": channel, "instId": native}, **extra, "data": data})

    def trade(**changes: Any) -> str:
        t = {"instId": native, "tradeId": "1", "px": price, "sz": size, "side": "buy", "ts": ts} | changes
        return push("trades", [t])

    def book(**changes: Any) -> str:
        d = {"asks": [], "bids": [], "ts": ts, "checksum": 0, "prevSeqId": 1, "seqId": 2} | changes
        return push("books", [d], action="update")

    def ticker(**changes: Any) -> str:
        t = {"instType": "SPOT", "instId": native, "last": price, "lastSz": size, "askPx": price, "askSz": size}
        t |= {"bidPx": price, "bidSz": size, "open24h": price, "high24h": price, "low24h": price, "ts": ts}
        return push("tickers", [t | changes])

    candle = [ts, price, price, price, price, size, size, size, "0"]
    return [
        (trade(px="NaN"), "NaN price"),
        (trade(px="Infinity"), "infinite price"),
        (trade(px="0"), "zero price"),
        (trade(px="-" + price), "negative price"),
        (trade(sz="-" + size), "negative size"),
        (trade(px=[price]), "price of the wrong type"),
        (trade(side="sideways"), "unknown taker side"),
        (trade(ts=2**70), "time beyond 64 bits"),
        (book(asks=[["nan", size, "0", "1"]]), "NaN book level"),
        (book(bids=[[price, "-" + size, "0", "1"]]), "negative book size"),
        (book(seqId=2**70), "sequence id beyond 64 bits"),
        (book(checksum=2**40), "checksum beyond 32 bits"),
        (push("books", [], action="partial"), "unknown book action"),
        (ticker(bidPx="n/a"), "ticker price that is not a number"),
        (ticker(last="NaN"), "NaN last price"),
        (ticker(askSz="-3"), "negative ticker size"),
        (push("candle1m", [[*candle[:2], "-1", *candle[3:]]]), "negative candle high"),
        (push("mark-price", [{"instId": native, "markPx": "NaN", "ts": ts}]), "NaN mark price"),
        (push("funding-rate", [{"instId": native, "fundingRate": "Infinity", "fundingTime": ts}]), "infinite rate"),
        (push("open-interest", [{"instId": native, "oi": "-5", "oiCcy": "1", "ts": ts}]), "negative open interest"),
        (push("trades", None), "null data"),
        (push("notAChannel", []), "unknown channel"),
        (hostile_json({"arg": {"channel": "trades", "instId": "NOSUCH-COIN"}, "data": []}), "unknown instrument"),
    ]
