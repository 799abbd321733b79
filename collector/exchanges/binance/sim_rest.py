"""The REST answers of the Binance simulator: ``depth``, ``exchangeInfo``, ``ping`` and ``time``
below each market family's prefix, with the documented weights and error codes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from ...simulator.market import InstrumentSpec, SymbolMarket
from ...simulator.wire import RestAnswer

__all__ = ["BinanceRest", "dumps"]

# Perpetuals report this far-future deliveryDate (2100-12-25 08:00 UTC) on the real exchange.
_PERPETUAL_DELIVERY = 4_133_404_800_000
_FUTURES_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
_RATE_LIMITS = {
    "binance": [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
        {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
    ],
    "futures": [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
        {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
    ],
}

Handler = Callable[[Mapping[str, str], Mapping[str, SymbolMarket], int], RestAnswer]


def dumps(obj: Any) -> str:
    """``obj`` as compact JSON text."""
    return orjson.dumps(obj).decode()


class BinanceRest:
    """The REST endpoints of one market family (spot, or USDⓈ-M / COIN-M ``futures``)."""

    def __init__(self, futures: bool, inverse: bool) -> None:
        self.futures = futures
        self.inverse = inverse

    def routes(self, api: str) -> dict[str, Handler]:
        """The handlers by path below ``api`` (``/api/v3``, ``/fapi/v1``, ``/dapi/v1``)."""
        return {
            api + "/depth": self.depth,
            api + "/exchangeInfo": self.exchange_info,
            api + "/ping": self.ping,
            api + "/time": self.time,
        }

    def depth(self, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """``depth``: the best ``limit`` levels and ``lastUpdateId``, weighed by the limit as documented."""
        native = query.get("symbol")
        if not native:
            msg = "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
            return RestAnswer(400, dumps({"code": -1102, "msg": msg}).encode())
        market = markets.get(native)
        if market is None:
            return RestAnswer(400, dumps({"code": -1121, "msg": "Invalid symbol."}).encode())
        raw_limit = query.get("limit", "500" if self.futures else "100")
        if not raw_limit.isdigit():
            msg = "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'."
            return RestAnswer(400, dumps({"code": -1100, "msg": msg}).encode())
        limit, weight = self._limit_and_weight(int(raw_limit))
        spec = market.spec
        bids, asks = market.levels(limit)
        body: dict[str, Any] = {"lastUpdateId": market.last_id}
        if self.inverse:
            body["symbol"] = native
            body["pair"] = spec.base + spec.quote
        if self.futures:
            body["E"] = now_ms
            body["T"] = now_ms
        body["bids"] = [[spec.price(p), spec.size(q)] for p, q in bids]
        body["asks"] = [[spec.price(p), spec.size(q)] for p, q in asks]
        return RestAnswer(200, orjson.dumps(body), weight)

    def _limit_and_weight(self, requested: int) -> tuple[int, int]:
        if not self.futures:
            # Spot: default 100, larger than 5000 is clamped; weight 5/25/50/250 by size.
            limit = min(max(requested, 1), 5000)
            weight = 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
            return limit, weight
        # Futures accept only the listed limits; round up to the next one (at most 1000).
        limit = next((v for v in _FUTURES_LIMITS if v >= requested), 1000)
        weight = 2 if limit <= 50 else 5 if limit == 100 else 10 if limit == 500 else 20
        return limit, weight

    def exchange_info(self, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """``exchangeInfo``: every simulated market with its filters and the documented rate limits."""
        symbols = [self._symbol_info(m.spec) for m in markets.values()]
        body: dict[str, Any] = {"timezone": "UTC", "serverTime": now_ms}
        if self.futures:
            body["futuresType"] = "COIN_MARGINED" if self.inverse else "U_MARGINED"
        body["rateLimits"] = _RATE_LIMITS["futures" if self.futures else "binance"]
        body["exchangeFilters"] = []
        body["symbols"] = symbols
        return RestAnswer(200, orjson.dumps(body), 1 if self.futures else 20)

    def _symbol_info(self, spec: InstrumentSpec) -> dict[str, Any]:
        filters = [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": spec.tick_size,
                "maxPrice": spec.price(1_000_000 * 10**spec.price_decimals),
                "tickSize": spec.tick_size,
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": spec.step_size,
                "maxQty": spec.size(9_000 * 10**spec.size_decimals),
                "stepSize": spec.step_size,
            },
        ]
        if not self.futures:
            return {
                "symbol": spec.native,
                "status": "TRADING",
                "baseAsset": spec.base,
                "baseAssetPrecision": 8,
                "quoteAsset": spec.quote,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
                "icebergAllowed": True,
                "ocoAllowed": True,
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "filters": filters,
                "permissions": [],
                "permissionSets": [["SPOT"]],
            }
        info: dict[str, Any] = {
            "symbol": spec.native,
            "pair": spec.base + spec.quote,
            "contractType": "CURRENT_QUARTER" if spec.expiry else "PERPETUAL",
            "deliveryDate": _delivery_ms(spec.expiry) if spec.expiry else _PERPETUAL_DELIVERY,
            "onboardDate": 1_569_398_400_000,
        }
        # COIN-M names its status field contractStatus and quotes sizes in contracts.
        if self.inverse:
            info["contractStatus"] = "TRADING"
            info["contractSize"] = int(spec.contract_size)
        else:
            info["status"] = "TRADING"
        info.update(
            {
                "baseAsset": spec.base,
                "quoteAsset": spec.quote,
                "marginAsset": spec.settle,
                "pricePrecision": spec.price_decimals,
                "quantityPrecision": spec.size_decimals,
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "underlyingType": "COIN",
                "filters": filters,
                "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
            }
        )
        return info

    def ping(self, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """``ping``: ``{}``."""
        return RestAnswer(200, b"{}")

    def time(self, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """``time``: the server time in ms."""
        return RestAnswer(200, orjson.dumps({"serverTime": now_ms}))


def _delivery_ms(expiry: str) -> int:
    """``YYMMDD`` -> the 08:00 UTC delivery time in ms, as Binance quarterlies settle."""
    when = datetime.strptime(expiry, "%y%m%d").replace(hour=8, tzinfo=UTC)
    return int(when.timestamp() * 1000)
