"""Simulated USDⓈ-M and COIN-M derivative streams: mark price, liquidations, open interest.

- ``<s>@markPrice@1s`` / ``<s>@markPrice``: "mark price and funding rate for a single
  symbol pushed every second" (or every 3 s): mark and index at the mid, the funding
  rate drifting with the premium, the next 8-hourly funding time.
- ``<s>@forceOrder``: "only the latest one liquidation order within 1000 ms will be
  pushed"; one in twelve fills stands for a forced close.
- ``GET /fapi/v1/openInterest`` (``/dapi/v1/openInterest``): open interest following the
  traded volume; base units on USDⓈ-M, contracts on COIN-M (weight 1).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import orjson

from ...simulator.market import InstrumentSpec, SymbolMarket, Update
from ...simulator.wire import Message, RestAnswer

__all__ = ["DerivativeStreams"]

_FUNDING_MS = 8 * 3600 * 1000


class DerivativeStreams:
    """Mark-price, liquidation and open-interest data of one futures wire (``inverse``: COIN-M)."""

    def __init__(self, inverse: bool) -> None:
        self.inverse = inverse
        self._second: dict[str, tuple[int, int]] = {}  # native -> (last 1 s push, last 3 s push)
        self._traded: dict[str, int] = {}  # native -> lots traded since the start
        self._liquidated: dict[str, int] = {}  # native -> second of the last forceOrder push

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """The derivative frames ``update`` causes, for subscribed streams only."""
        native = spec.native
        low = native.lower()
        self._traded[native] = self._traded.get(native, 0) + sum(f.lots for f in update.fills)
        out: list[Message] = []
        second = update.time_ms // 1000
        last_1s, last_3s = self._second.get(native, (-1, -1))
        for stream, due in ((f"{low}@markPrice@1s", second != last_1s), (f"{low}@markPrice", second // 3 != last_3s)):
            if due and stream in subscribed:
                out.append(Message(stream, _combined(stream, self._mark_price(spec, update))))
        self._second[native] = (second, second // 3)
        force = f"{low}@forceOrder"
        if force in subscribed and self._liquidated.get(native) != second:
            order = next((f for f in update.fills if f.agg_id % 12 == 0), None)
            if order is not None:
                self._liquidated[native] = second
                out.append(Message(force, _combined(force, self._force_order(spec, order, update.time_ms))))
        return out

    def _mark_price(self, spec: InstrumentSpec, update: Update) -> dict[str, Any]:
        bid, _, ask, _ = update.best
        mid = (bid + ask) // 2
        perpetual = spec.expiry is None
        premium = (mid - spec.start_ticks) / spec.start_ticks
        t = update.time_ms
        return {
            "e": "markPriceUpdate",
            "E": t,
            "s": spec.native,
            "p": spec.price(mid),
            "P": spec.price(mid),
            "i": spec.price(max(1, mid - 3)),
            # "funding rate for perpetual symbol, "" will be shown for delivery symbol"
            "r": f"{0.0001 + premium / 10:.8f}" if perpetual else "",
            "T": t - t % _FUNDING_MS + _FUNDING_MS if perpetual else 0,
        }

    def _force_order(self, spec: InstrumentSpec, fill: Any, time_ms: int) -> dict[str, Any]:
        price, size = spec.price(fill.ticks), spec.size(fill.lots)
        order: dict[str, Any] = {"s": spec.native}
        if self.inverse:
            order["ps"] = spec.base + spec.quote
        # A liquidated long sells into the bid: the taker side of the fill.
        order["S"] = "SELL" if fill.buyer_maker else "BUY"
        order |= {"o": "LIMIT", "f": "IOC", "q": size, "p": price, "ap": price, "X": "FILLED"}
        order |= {"l": size, "z": size, "T": time_ms}
        return {"e": "forceOrder", "E": time_ms + 1, "o": order}

    def open_interest(self, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """``GET .../openInterest?symbol=``: weight 1."""
        native = query.get("symbol", "")
        market = markets.get(native)
        if market is None:
            return RestAnswer(400, orjson.dumps({"code": -1121, "msg": "Invalid symbol."}))
        spec = market.spec
        lots = spec.mean_lots * 2000 + self._traded.get(native, 0) // 4
        body: dict[str, Any] = {"symbol": native}
        if self.inverse:
            body |= {"pair": spec.base + spec.quote, "openInterest": str(lots), "contractType": "PERPETUAL"}
        else:
            body["openInterest"] = spec.size(lots)
        body["time"] = now_ms
        return RestAnswer(200, orjson.dumps(body), 1)


def _combined(stream: str, data: dict[str, Any]) -> str:
    return f'{{"stream":"{stream}","data":{orjson.dumps(data).decode()}}}'
