"""KuCoin REST answers over the neutral market: listings and book snapshots, spot and futures.

Every answer is ``{"code": "200000", "data": ...}``, a refusal ``{"code": ..., "msg": ...}``
with KuCoin's HTTP status; weights are those of KuCoin's "Public" resource pool.

- Spot: ``/api/v2/symbols`` (and the deprecated ``/api/v1/symbols``, same shape); the public
  ``/api/v1/market/orderbook/level2_20`` and ``level2_100`` (``sequence`` as text); the full
  ``/api/v3/market/orderbook/level2`` "requires the General permission": 401 without a key.
- Futures: ``/api/v1/contracts/active`` and ``/api/v1/contracts/{symbol}`` (multiplier, -1 on
  inverse contracts; open interest in contracts as text; ``nextFundingRateTime`` the ms left),
  the full ``/api/v1/level2/snapshot`` and ``/api/v1/level2/depth20|100`` (numbers).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from ...simulator.market import InstrumentSpec, SymbolMarket
from ...simulator.wire import RestAnswer
from .sim_payloads import FUNDING_MS, funding_rate

__all__ = ["NATIVE_CURRENCY", "answer", "futures_rest", "multiplier_of", "refused", "spot_rest"]

NATIVE_CURRENCY = {"BTC": "XBT"}
"""Currencies KuCoin Futures names otherwise (bitcoin is XBT)."""
_OK = "200000"


def answer(data: Any, weight: int) -> RestAnswer:
    """A successful answer."""
    return RestAnswer(200, orjson.dumps({"code": _OK, "data": data}), weight)


def refused(status: int, code: str, msg: str) -> RestAnswer:
    """A refusal with KuCoin's code and message."""
    return RestAnswer(status, orjson.dumps({"code": code, "msg": msg}))


def multiplier_of(base: str, price: float) -> float:
    """Base units per linear contract: 0.001 BTC, 0.01 ETH, about 10 USD's worth of anything else."""
    fixed = {"BTC": 0.001, "ETH": 0.01}.get(base)
    return fixed if fixed is not None else 10.0 ** math.floor(math.log10(10.0 / price))


def spot_rest(path: str, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
    """A spot GET below ``https://api.kucoin.com``."""
    if path in ("/api/v2/symbols", "/api/v1/symbols"):
        return answer([_symbol(m.spec) for m in markets.values()], 4)
    if path in ("/api/v1/market/orderbook/level2_20", "/api/v1/market/orderbook/level2_100"):
        market = markets.get(query.get("symbol", ""))
        if market is None:
            return refused(400, "400100", "symbol not exists")
        spec = market.spec
        bids, asks = market.levels(20 if path.endswith("_20") else 100)
        data = {
            "time": now_ms,
            "sequence": str(market.last_id),
            "bids": [[spec.price(p), spec.size(q)] for p, q in bids],
            "asks": [[spec.price(p), spec.size(q)] for p, q in asks],
        }
        return answer(data, 2)
    if path == "/api/v3/market/orderbook/level2":
        return refused(401, "400001", "Please check the header of your request for KC-API-KEY, KC-API-SIGN")
    return refused(404, "404000", f"Url Not Found: {path[:100]}")


def _symbol(spec: InstrumentSpec) -> dict[str, Any]:
    return {
        "symbol": spec.native,
        "name": spec.native,
        "baseCurrency": spec.base,
        "quoteCurrency": spec.quote,
        "feeCurrency": spec.quote,
        "market": "USDS",
        "baseMinSize": spec.step_size,
        "quoteMinSize": "0.1",
        "baseMaxSize": "10000000000",
        "quoteMaxSize": "99999999",
        "baseIncrement": spec.step_size,
        "quoteIncrement": "0.000001",
        "priceIncrement": spec.tick_size,
        "priceLimitRate": "0.1",
        "minFunds": "0.1",
        "isMarginEnabled": True,
        "enableTrading": True,
    }


def futures_rest(
    path: str, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int, traded: Mapping[str, int]
) -> RestAnswer:
    """A futures GET below ``https://api-futures.kucoin.com``; ``traded`` counts contracts per native id."""
    if path == "/api/v1/contracts/active":
        return answer([_contract(m, now_ms, traded) for m in markets.values()], 3)
    if path.startswith("/api/v1/contracts/"):
        market = markets.get(path.rpartition("/")[2])
        if market is None:
            return refused(404, "404000", "contract does not exist")
        return answer(_contract(market, now_ms, traded), 3)
    depths = {"/api/v1/level2/snapshot": None, "/api/v1/level2/depth20": 20, "/api/v1/level2/depth100": 100}
    if path not in depths:
        return refused(404, "404000", f"Url Not Found: {path[:100]}")
    market = markets.get(query.get("symbol", ""))
    if market is None:
        return refused(400, "400100", "contract does not exist")
    depth = depths[path]
    bids, asks = market.levels(depth if depth is not None else 1 << 30)
    to_price = market.spec.price
    data = {
        "sequence": market.last_id,
        "symbol": market.spec.native,
        "bids": [[float(to_price(p)), q] for p, q in bids],
        "asks": [[float(to_price(p)), q] for p, q in asks],
        "ts": now_ms * 1_000_000,
    }
    return answer(data, 3 if depth is None else 5)


def _contract(market: SymbolMarket, now_ms: int, traded: Mapping[str, int]) -> dict[str, Any]:
    spec = market.spec
    inverse = spec.settle == spec.base
    price = spec.start_ticks / 10**spec.price_decimals
    bid, _, ask, _ = market.best()
    mid = (bid + ask) // 2
    expire = None
    if spec.expiry is not None:
        day = datetime.strptime(spec.expiry, "%y%m%d").replace(hour=8, tzinfo=UTC)
        expire = int(day.timestamp() * 1000)
    perpetual = expire is None
    rate = funding_rate(spec, mid) if perpetual else None
    return {
        "symbol": spec.native,
        "rootSymbol": NATIVE_CURRENCY.get(spec.base, spec.base) if inverse else spec.quote,
        "type": "FFWCSX" if perpetual else "FFICSX",
        "firstOpenDate": 1_585_555_200_000,
        "expireDate": expire,
        "settleDate": expire,
        "baseCurrency": NATIVE_CURRENCY.get(spec.base, spec.base),
        "quoteCurrency": spec.quote,
        "settleCurrency": NATIVE_CURRENCY.get(spec.settle or "", spec.settle),
        "maxOrderQty": 1_000_000,
        "maxPrice": 1_000_000.0,
        "lotSize": 1,
        "tickSize": float(spec.tick_size),
        "indexPriceTickSize": 0.01,
        # "All coin-swap contracts, such as each XBTUSDM contract, correspond to 1 USD."
        "multiplier": -1.0 if inverse else multiplier_of(spec.base, price),
        "isQuanto": False,
        "isInverse": inverse,
        "markMethod": "FairPrice",
        "fairMethod": "FundingRate" if perpetual else None,
        "status": "Open",
        "fundingFeeRate": rate,
        "predictedFundingFeeRate": rate,
        "fundingRateGranularity": FUNDING_MS,
        "openInterest": str(spec.mean_lots * 2000 + traded.get(spec.native, 0) // 4),
        "markPrice": float(spec.price(mid)),
        "indexPrice": float(spec.price(max(1, mid - 2))),
        "lastTradePrice": float(spec.price(market.last_price)),
        "nextFundingRateTime": FUNDING_MS - now_ms % FUNDING_MS if perpetual else None,
        "maxLeverage": 125,
    }
