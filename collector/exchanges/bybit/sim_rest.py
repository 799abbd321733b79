"""The Bybit simulator's REST answers: ``/v5/market/instruments-info``, ``/v5/market/orderbook``
and ``/v5/market/time``, in Bybit's envelope (``shared/exchanges/bybit.md``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from ...simulator.market import InstrumentSpec, SymbolMarket
from ...simulator.wire import RestAnswer
from .sim_market import CATEGORIES, View, delivery_ms

__all__ = ["envelope", "instrument_info", "instruments", "orderbook", "server_time"]


def envelope(result: Any, now_ms: int, code: int = 0, msg: str = "OK") -> RestAnswer:
    """Bybit's REST envelope; errors are a ``retCode`` in an HTTP 200 body."""
    body = {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": now_ms}
    return RestAnswer(200, orjson.dumps(body))


def instruments(query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
    """``/v5/market/instruments-info``: one category, pages of ``limit`` on derivatives."""
    category = query.get("category", "")
    if category not in CATEGORIES:
        return envelope({}, now_ms, 10001, "params error: category is invalid")
    found = [m.spec for key, m in markets.items() if key.partition(":")[0] == category]
    symbol = query.get("symbol")
    if symbol is not None:
        found = [s for s in found if s.native == symbol]
    if query.get("status", "Trading") != "Trading":
        found = []  # every simulated instrument is trading
    listed = [instrument_info(category, spec) for spec in found]
    if category == "spot":
        # "Spot ignores limit/cursor."
        return envelope({"category": category, "list": listed}, now_ms)
    raw_limit = query.get("limit", "500")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
        return envelope({}, now_ms, 10001, "params error: limit must be 1-1000")
    cursor = query.get("cursor", "")
    start = int(cursor.partition("=")[2]) if cursor.startswith("page=") and cursor[5:].isdigit() else 0
    end = start + int(raw_limit)
    # Cursors come URL-encoded, as Bybit sends them; clients pass them back as they are.
    next_cursor = f"page%3D{end}" if end < len(listed) else ""
    result = {"category": category, "list": listed[start:end], "nextPageCursor": next_cursor}
    return envelope(result, now_ms)


def instrument_info(category: str, spec: InstrumentSpec) -> dict[str, Any]:
    """One instrument as its category lists it."""
    tick = spec.tick_size
    if category == "spot":
        return {
            "symbol": spec.native,
            "baseCoin": spec.base,
            "quoteCoin": spec.quote,
            "innovation": "0",
            "status": "Trading",
            "marginTrading": "utaOnly",
            "lotSizeFilter": {
                "basePrecision": spec.step_size,
                "quotePrecision": "0.00000001",
                "minOrderQty": spec.step_size,
                "maxOrderQty": spec.size(100 * 10**spec.size_decimals),
            },
            "priceFilter": {"tickSize": tick},
        }
    if category == "linear":
        kind = "LinearFutures" if spec.expiry else "LinearPerpetual"
    else:
        kind = "InverseFutures" if spec.expiry else "InversePerpetual"
    return {
        "symbol": spec.native,
        "contractType": kind,
        "status": "Trading",
        "baseCoin": spec.base,
        "quoteCoin": spec.quote,
        "launchTime": "1585526400000",
        "deliveryTime": str(delivery_ms(spec.expiry)) if spec.expiry else "0",
        "deliveryFeeRate": "",
        "priceScale": str(spec.price_decimals),
        "priceFilter": {
            "minPrice": tick,
            "maxPrice": spec.price(1_999_999 * 10**spec.price_decimals),
            "tickSize": tick,
        },
        "lotSizeFilter": {
            "maxOrderQty": spec.size(1_000_000 * 10**spec.size_decimals),
            "minOrderQty": spec.step_size,
            "qtyStep": spec.step_size,
        },
        "settleCoin": spec.settle,
    }


def orderbook(
    query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int, view_of: Callable[[str, int], View]
) -> RestAnswer:
    """``/v5/market/orderbook``: the best ``limit`` levels and the ``u`` of the 1000-level topic (``view_of``)."""
    category = query.get("category", "")
    if category not in CATEGORIES:
        return envelope({}, now_ms, 10001, "params error: category is invalid")
    key = f"{category}:{query.get('symbol', '')}"
    market = markets.get(key)
    if market is None:
        return envelope({}, now_ms, 10001, "params error: symbol invalid")
    raw_limit = query.get("limit", "1" if category == "spot" else "25")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
        return envelope({}, now_ms, 10001, "params error: limit must be 1-1000")
    # "u corresponds to the u of the 1000-level WS stream."
    view = view_of(key, 1000)
    view.sync(market)
    bids, asks = market.levels(int(raw_limit))
    spec = market.spec
    result = {
        "s": spec.native,
        "b": [[spec.price(p), spec.size(q)] for p, q in bids],
        "a": [[spec.price(p), spec.size(q)] for p, q in asks],
        "ts": now_ms,
        "u": view.u,
        "seq": market.last_id,
        "cts": now_ms,
    }
    return envelope(result, now_ms)


def server_time(query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
    """``/v5/market/time``."""
    result = {"timeSecond": str(now_ms // 1000), "timeNano": str(now_ms * 1_000_000)}
    return envelope(result, now_ms)
