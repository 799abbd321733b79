"""KuCoin-shaped frames with impossible values, for the simulator's hostile-input tests.

Each frame looks like a topic push of the instrument (a match, a ticker, a level2 update, a
candle; on futures an execution, a change, instrument data) but carries one thing a
client must reject: NaN, infinite, zero or negative prices, negative sizes, numbers past
64 bits, values of the wrong type, an unknown side, topic or symbol. A correct client
reports each as exactly one ``error`` and changes nothing else.
"""

from __future__ import annotations

from typing import Any

from ...simulator.market import InstrumentSpec
from ...simulator.wire import dumps, hostile_json

__all__ = ["futures_hostile", "spot_hostile"]

Hostile = list[tuple[str | bytes, str]]


def _frame(topic: str, subject: str, data: Any) -> str:
    return hostile_json({"topic": topic, "type": "message", "subject": subject, "data": data})


def _common(native: str) -> Hostile:
    return [
        (_frame("/market/nosuchtopic:" + native, "x", {}), "unknown topic"),
        (hostile_json({"type": "message", "subject": "x", "data": {}}), "a message without a topic"),
        (dumps({"id": "1", "type": "error", "code": 404, "data": "topic /market/nosuch:X is not found"}), "a refusal"),
    ]


def spot_hostile(spec: InstrumentSpec, now_ms: int) -> Hostile:
    """Spot frames of ``spec`` a client must reject."""
    native = spec.native
    price, size = spec.price(spec.start_ticks), spec.size(1)
    ns = now_ms * 1_000_000

    def match(**changes: Any) -> str:
        t = {"price": price, "size": size, "side": "buy", "symbol": native, "time": str(ns), "tradeId": "1"}
        return _frame(f"/market/match:{native}", "trade.l3match", t | changes)

    def ticker(**changes: Any) -> str:
        t = {"bestAsk": price, "bestAskSize": size, "bestBid": price, "bestBidSize": size, "price": price}
        return _frame(f"/market/ticker:{native}", "trade.ticker", t | {"time": now_ms} | changes)

    def level2(**changes: Any) -> str:
        d = {"changes": {"asks": [], "bids": []}, "sequenceStart": 5, "sequenceEnd": 6, "symbol": native}
        return _frame(f"/market/level2:{native}", "trade.l2update", d | changes)

    def candle(*bar: Any) -> str:
        data = {"symbol": native, "candles": list(bar), "time": ns}
        return _frame(f"/market/candles:{native}_1min", "trade.candles.update", data)

    good = [str(now_ms // 60_000 * 60), price, price, price, price, size, size]
    frames: Hostile = [
        (match(price="NaN"), "NaN price"),
        (match(price="Infinity"), "infinite price"),
        (match(price="0"), "zero price"),
        (match(price="-" + price), "negative price"),
        (match(size="-" + size), "negative size"),
        (match(price={"value": price}), "price of the wrong type"),
        (match(price=None), "null price"),
        (match(price="1e400"), "price beyond a double"),
        (match(time=str(2**70)), "time beyond 64 bits"),
        (match(side="sideways"), "unknown taker side"),
        (ticker(bestBid="nan"), "NaN best bid"),
        (ticker(bestAskSize="-1"), "negative ask size"),
        (level2(changes={"asks": [], "bids": [["NaN", size, "6"]]}), "NaN book level"),
        (level2(changes={"asks": [[price, "-1", "6"]], "bids": []}), "negative book size"),
        (level2(changes={"asks": [[price]], "bids": []}), "book level without a size"),
        (level2(sequenceEnd=2**70), "sequence beyond 64 bits"),
        (level2(sequenceStart=9, sequenceEnd=6), "sequence range backwards"),
        (candle(good[0], "NaN", *good[2:]), "NaN candle open"),
        (candle("-60", *good[1:]), "negative candle start"),
        (_frame(f"/market/match:{native}", "trade.l3match", None), "null data"),
        (_frame(f"/market/match:{native}", "trade.l3match", [1, 2, 3]), "array data"),
        (match().replace(native, "NOSUCH-COIN"), "unknown symbol"),
    ]
    return frames + _common(native)


def futures_hostile(spec: InstrumentSpec, now_ms: int) -> Hostile:
    """Futures frames of ``spec`` a client must reject."""
    native = spec.native
    price = spec.price(spec.start_ticks)
    ns = now_ms * 1_000_000

    def execution(**changes: Any) -> str:
        t = {"symbol": native, "sequence": 5, "side": "buy", "size": 1, "price": price, "tradeId": "1", "ts": ns}
        return _frame(f"/contractMarket/execution:{native}", "match", t | changes)

    def ticker(**changes: Any) -> str:
        t = {"symbol": native, "sequence": 5, "bestBidSize": 1, "bestBidPrice": price, "bestAskPrice": price}
        return _frame(f"/contractMarket/tickerV2:{native}", "tickerV2", t | {"bestAskSize": 1, "ts": ns} | changes)

    def level2(change: str, sequence: Any = 5) -> str:
        data = {"sequence": sequence, "change": change, "timestamp": now_ms}
        return _frame(f"/contractMarket/level2:{native}", "level2", data)

    def instrument(subject: str, **data: Any) -> str:
        return _frame(f"/contract/instrument:{native}", subject, data | {"timestamp": now_ms})

    frames: Hostile = [
        (execution(price="NaN"), "NaN price"),
        (execution(price="0"), "zero price"),
        (execution(size=-3), "negative size"),
        (execution(side="sideways"), "unknown taker side"),
        (execution(ts=2**70), "time beyond 64 bits"),
        (ticker(bestBidPrice="Infinity"), "infinite best bid"),
        (ticker(bestAskSize=-1), "negative ask size"),
        (level2("NaN,buy,3"), "NaN book level"),
        (level2(f"{price},buy,-3"), "negative book size"),
        (level2(f"{price},up,3"), "unknown book side"),
        (level2(f"{price},buy"), "book change without a size"),
        (level2(f"{price},buy,3", 2**70), "sequence beyond 64 bits"),
        (instrument("mark.index.price", markPrice="NaN", indexPrice=1.0, granularity=1000), "NaN mark price"),
        (instrument("funding.rate", fundingRate="Infinity", granularity=60000), "infinite funding rate"),
        (execution().replace(native, "NOSUCHM"), "unknown symbol"),
    ]
    return frames + _common(native)
