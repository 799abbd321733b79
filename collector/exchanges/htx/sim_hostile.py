"""HTX-shaped frames with impossible values, for the simulator's ``hostile`` hook.

Every frame is gzip, as HTX's are, and each holds one thing a correct client must reject
with exactly one ``error`` event: a ``NaN``, infinite, zero or negative price, a negative
size, a number past 64 bits, a value of the wrong type, an unknown side, channel or
instrument, a gzip bomb or a cut-off gzip stream.
"""

from __future__ import annotations

from typing import Any

from ...simulator.market import InstrumentSpec
from ...simulator.wire import hostile_json
from .codec import MAX_INFLATED, deflate

__all__ = ["spot_hostile", "swap_hostile"]


def spot_hostile(spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
    """Spot frames of ``spec`` with impossible values, each with what is wrong with it."""
    native = spec.native
    price, size = float(spec.price(spec.start_ticks)), float(spec.size(1))
    nan, inf = float("nan"), float("inf")

    def z(obj: Any) -> bytes:
        return deflate(hostile_json(obj).encode())

    def trade(**changes: Any) -> bytes:
        t = {"id": 1.3e26, "ts": now_ms, "tradeId": 1, "amount": size, "price": price, "direction": "buy"} | changes
        return z({"ch": f"market.{native}.trade.detail", "ts": now_ms, "tick": {"id": 1, "ts": now_ms, "data": [t]}})

    def mbp(**changes: Any) -> bytes:
        tick = {"seqNum": 5, "prevSeqNum": 4, "bids": [], "asks": []} | changes
        return z({"ch": f"market.{native}.mbp.150", "ts": now_ms, "tick": tick})

    def bbo(**changes: Any) -> bytes:
        tick = {"seqId": 1, "ask": price, "askSize": size, "bid": price, "bidSize": size, "quoteTime": now_ms} | changes
        return z({"ch": f"market.{native}.bbo", "ts": now_ms, "tick": tick})

    def kline(**changes: Any) -> bytes:
        tick = {"id": now_ms // 1000, "open": price, "close": price, "low": price, "high": price, "amount": 1} | changes
        return z({"ch": f"market.{native}.kline.1min", "ts": now_ms, "tick": tick})

    bomb = deflate(b'{"ch":"market.' + native.encode() + b'.trade.detail","pad":"' + b"0" * (MAX_INFLATED + 1024))
    return [
        (trade(price=nan), "NaN price"),
        (trade(price=inf), "infinite price"),
        (trade(price=0), "zero price"),
        (trade(price=-price), "negative price"),
        (trade(amount=-size), "negative amount"),
        (trade(price=[price]), "price of the wrong type"),
        (trade(direction="sideways"), "unknown taker side"),
        (trade(ts=2**70), "time beyond 64 bits"),
        (trade(tradeId=2**70), "trade id beyond 64 bits"),
        (mbp(bids=[[nan, size]]), "NaN book level"),
        (mbp(asks=[[price, -size]]), "negative book size"),
        (mbp(seqNum=2**70), "sequence number beyond 64 bits"),
        (mbp(bids={"x": "1"}), "a book side that is an object with levels"),
        (bbo(bid="NaN"), "NaN best bid"),
        (bbo(askSize=-1), "negative best ask size"),
        (kline(high=-price), "negative kline price"),
        (kline(id=2**70), "kline start beyond 64 bits"),
        (z({"ch": f"market.{native}.trade.detail", "ts": now_ms, "tick": None}), "null tick"),
        (z({"ch": f"market.{native}.notachannel", "ts": now_ms, "tick": {}}), "unknown channel"),
        (z({"ch": "market.nosuchsymbol.trade.detail", "ts": now_ms, "tick": {"data": []}}), "unknown symbol"),
        (z({"ping": "soon"}), "a ping that is not an integer"),
        (
            z(
                {
                    "id": "9",
                    "rep": f"market.{native}.mbp.150",
                    "status": "ok",
                    "data": {"seqNum": 1, "bids": [[nan, 1]]},
                }
            ),
            "NaN level in a refresh",
        ),
        (bomb, "a gzip bomb"),
        (deflate(b'{"ch":"market.' + native.encode() + b'.bbo"}')[:-9], "a truncated gzip stream"),
        (b"\x1f\x8b\x08\x00garbage that is not deflate data", "gzip magic before garbage"),
    ]


def swap_hostile(spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
    """Swap frames (market, index and notification endpoints) of ``spec`` with impossible values."""
    code = spec.native
    price = float(spec.price(spec.start_ticks))
    nan, inf = float("nan"), float("inf")

    def z(obj: Any) -> bytes:
        return deflate(hostile_json(obj).encode())

    def trade(**changes: Any) -> bytes:
        t = {"amount": 2, "ts": now_ms, "id": 1, "price": price, "direction": "buy", "quantity": 0.002} | changes
        return z({"ch": f"market.{code}.trade.detail", "ts": now_ms, "tick": {"id": 1, "ts": now_ms, "data": [t]}})

    def book(**changes: Any) -> bytes:
        tick = {"asks": [], "bids": [], "event": "update", "version": 5, "ts": now_ms} | changes
        return z({"ch": f"market.{code}.depth.size_150.high_freq", "tick": tick, "ts": now_ms})

    def notify(channel: str, **changes: Any) -> bytes:
        if channel == "funding_rate":
            d = {"contract_code": code, "funding_rate": "0.0001", "settlement_time": str(now_ms)} | changes
        else:
            d = {"contract_code": code, "direction": "sell", "volume": 1, "price": price, "created_at": now_ms}
            d |= changes
        return z({"op": "notify", "topic": f"public.{code}.{channel}", "ts": now_ms, "data": [d]})

    def mark(**changes: Any) -> bytes:
        tick = {"id": now_ms // 1000, "open": "1", "close": "1", "high": "1", "low": "1"} | changes
        return z({"ch": f"market.{code}.mark_price.1min", "ts": now_ms, "tick": tick})

    bomb = deflate(b'{"ch":"market.' + code.encode() + b'.bbo","pad":"' + b"0" * (MAX_INFLATED + 1024))
    return [
        (trade(price=nan), "NaN price"),
        (trade(price=inf), "infinite price"),
        (trade(price=-price), "negative price"),
        (trade(amount=-2), "negative contracts"),
        (trade(direction="sideways"), "unknown taker side"),
        (trade(id=2**70), "trade id beyond 64 bits"),
        (book(bids=[[nan, 1]]), "NaN book level"),
        (book(asks=[[price, -1]]), "negative book size"),
        (book(version=2**70), "version beyond 64 bits"),
        (book(event="sideways"), "unknown book event"),
        (z({"ch": f"market.{code}.bbo", "ts": now_ms, "tick": {"bid": [nan, 1], "ts": now_ms}}), "NaN best bid"),
        (mark(close="NaN"), "NaN mark price"),
        (mark(close="-1"), "negative mark price"),
        (notify("funding_rate", funding_rate="NaN"), "NaN funding rate"),
        (notify("funding_rate", estimated_rate="soon"), "estimated rate that is not a number"),
        (notify("liquidation_orders", volume=-1), "negative liquidation volume"),
        (notify("liquidation_orders", direction="sideways"), "unknown liquidation side"),
        (z({"ch": f"market.{code}.notachannel", "ts": now_ms, "tick": {}}), "unknown channel"),
        (z({"ch": "market.NOSUCH-USDT.trade.detail", "ts": now_ms, "tick": {"data": []}}), "unknown contract"),
        (z({"op": "notify", "topic": "public.NOSUCH-USDT.funding_rate", "data": []}), "unknown contract"),
        (bomb, "a gzip bomb"),
        (deflate(b'{"ch":"market.' + code.encode() + b'.bbo"}')[:-9], "a truncated gzip stream"),
    ]
