"""The rows the BitMEX simulator writes: instrument listing, table rows, hostile frames.

Kept apart from :mod:`.sim` (the protocol) so each stays small. Values follow the shapes
of ``shared/exchanges/bitmex.md``; null fields are left out, as BitMEX does since 2023.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from ...simulator.market import CandleState, InstrumentSpec
from ...simulator.wire import hostile_json
from .sim_market import BitmexMarket, Terms, iso

__all__ = [
    "DEFAULT_BOOK",
    "NAMES",
    "bin_row",
    "book_row",
    "expiry_ms",
    "hostile_frames",
    "instrument_fields",
    "listing",
    "quote_row",
    "terms_of",
]

DEFAULT_BOOK = "orderBookL2"
"""The book table the collector's BitMEX adapter subscribes by default (``true_book`` uses it)."""

NAMES = {"BTC": "XBT"}
"""Unified asset names BitMEX spells otherwise."""

_SETTLE = {"BTC": "XBt", "USDT": "USDt"}
_FUNDING_MS = 8 * 3_600_000


def terms_of(spec: InstrumentSpec) -> Terms:
    """How ``spec`` is listed: inverse when settled in the base, linear in the quote, quanto otherwise."""
    price = spec.start_ticks / 10**spec.price_decimals
    if spec.settle is None or spec.settle == spec.quote:
        position = 10 ** min(6, max(0, math.floor(math.log10(price)) + 2))
        kind, typ = ("spot", "IFXXXP") if spec.settle is None else ("linear", "FFWCSX")
        settle = "" if spec.settle is None else _SETTLE.get(spec.settle, spec.settle)
        return Terms(kind, typ, max(1, position // 1000), 1_000_000 // position or 1, position, settle)
    typ = "FFWCSX" if spec.expiry is None else "FFCCSX"
    if spec.settle == spec.base:
        return Terms("inverse", typ, 100, -100_000_000, None, _SETTLE.get(spec.settle, spec.settle))
    return Terms("quanto", typ, 1, 100, None, _SETTLE.get(spec.settle, spec.settle))


def expiry_ms(expiry: str) -> int:
    """``YYMMDD`` -> 12:00 UTC of that day, when BitMEX futures expire."""
    return int(datetime.strptime(expiry, "%y%m%d").replace(hour=12, tzinfo=UTC).timestamp() * 1000)


def listing(m: BitmexMarket) -> dict[str, Any]:
    """The market's entry in ``GET /api/v1/instrument/active`` (null fields left out)."""
    spec, terms = m.spec, m.terms
    b, q = NAMES.get(spec.base, spec.base), NAMES.get(spec.quote, spec.quote)
    info: dict[str, Any] = {
        "symbol": spec.native,
        "rootSymbol": b,
        "state": "Open",
        "typ": terms.typ,
        "listing": "2016-05-13T12:00:00.000Z",
        "expiry": iso(expiry_ms(spec.expiry)) if spec.expiry else None,
        "positionCurrency": q if terms.kind == "inverse" else b,
        "underlying": b,
        "quoteCurrency": q,
        "underlyingSymbol": f"{b}=",
        "maxOrderQty": 10_000_000,
        "lotSize": terms.lot,
        "tickSize": float(spec.tick_size),
        "multiplier": terms.multiplier,
        "settlCurrency": terms.settle or None,
        "underlyingToPositionMultiplier": terms.position_multiplier,
        "underlyingToSettleMultiplier": -100_000_000 if terms.kind == "inverse" else None,
        "quoteToSettleMultiplier": 1_000_000 if terms.kind == "linear" else None,
        "isQuanto": terms.kind == "quanto",
        "isInverse": terms.kind == "inverse",
        **instrument_fields(m, 0),
    }
    return {k: v for k, v in info.items() if v is not None}


def instrument_fields(m: BitmexMarket, now_ms: int) -> dict[str, Any]:
    """The instrument's changing fields (the ``instrument`` table's ``update`` rows diff these)."""
    spec, terms = m.spec, m.terms
    price = spec.price
    bid, _, ask, _ = m.best()
    mark = float(price((bid + ask) // 2))
    interest = m.contracts(spec.mean_lots * 2000)
    if terms.kind == "inverse":
        value = round(interest / mark * 1e8)  # XBt
    elif terms.kind == "quanto":
        value = round(interest * mark * terms.multiplier)
    else:
        value = round(terms.home(interest, mark) * mark * 1e6)  # USDt
    fields: dict[str, Any] = {
        "lastPrice": float(price(m.last_price)),
        "prevPrice24h": float(price(m.day.open_ticks)),
        "highPrice": float(price(m.day.high)),
        "lowPrice": float(price(m.day.low)),
        "homeNotional24h": round(m.home_volume, 8),
        "foreignNotional24h": round(m.day.counter_volume, 6),
        "volume24h": m.contracts(m.day.lots),
        "markPrice": mark,
        "fairPrice": mark,
        "indicativeSettlePrice": mark,
    }
    if terms.kind != "spot":
        fields["openInterest"] = interest
        fields["openValue"] = value
    if terms.typ == "FFWCSX":
        fields["fundingTimestamp"] = iso(now_ms - now_ms % _FUNDING_MS + _FUNDING_MS + 4 * 3_600_000)
        fields["fundingInterval"] = "2000-01-01T08:00:00.000Z"
        fields["fundingRate"] = 0.0001
        fields["indicativeFundingRate"] = 0.000125
    return fields


def book_row(m: BitmexMarket, side: str, tick: int, lots: int, stamp: str) -> dict[str, Any]:
    """An ``orderBookL2`` row; ``lots`` 0 (a ``delete``) leaves ``size`` out."""
    row: dict[str, Any] = {"symbol": m.spec.native, "id": m.row_id(side, tick), "side": side}
    if lots:
        row["size"] = m.contracts(lots)
    row["price"] = float(m.spec.price(tick))
    row["timestamp"] = stamp
    row["transactTime"] = stamp
    return row


def quote_row(m: BitmexMarket, best: tuple[int, int, int, int], time_ms: int) -> dict[str, Any]:
    """A ``quote`` row of the best bid/offer ``(bid ticks, bid lots, ask ticks, ask lots)``."""
    bid, bid_lots, ask, ask_lots = best
    price = m.spec.price
    return {
        "timestamp": iso(time_ms),
        "symbol": m.spec.native,
        "bidSize": m.contracts(bid_lots),
        "bidPrice": float(price(bid)),
        "askPrice": float(price(ask)),
        "askSize": m.contracts(ask_lots),
    }


def bin_row(m: BitmexMarket, candle: CandleState) -> dict[str, Any]:
    """A closed bar's ``tradeBin`` row; its ``timestamp`` is the bar's end."""
    price = m.spec.price
    close = float(price(candle.close))
    contracts = m.contracts(candle.lots)
    # The model sums base units for inverse contracts (contract_size is the lot's USD).
    home = candle.counter_volume if m.terms.kind == "inverse" else m.terms.home(contracts, close)
    return {
        "timestamp": iso(candle.end_ms),
        "symbol": m.spec.native,
        "open": float(price(candle.open)),
        "high": float(price(candle.high)),
        "low": float(price(candle.low)),
        "close": close,
        "trades": candle.trades,
        "volume": contracts,
        "homeNotional": round(home, 8),
        "foreignNotional": round(home * close, 6) if m.terms.kind != "inverse" else contracts,
    }


def hostile_frames(spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
    """Frames shaped like BitMEX's with impossible values, each with what is wrong with it."""
    native = spec.native
    stamp = iso(now_ms)
    price = float(spec.price(spec.start_ticks))

    def trade(**changes: Any) -> str:
        row = {"timestamp": stamp, "symbol": native, "side": "Buy", "size": 100, "price": price, "trdMatchID": "x"}
        return hostile_json({"table": "trade", "action": "insert", "data": [{**row, **changes}]})

    def book(action: str, **changes: Any) -> str:
        row = {"symbol": native, "id": 8798309800, "side": "Buy", "size": 100, "price": price, "timestamp": stamp}
        return hostile_json({"table": DEFAULT_BOOK, "action": action, "data": [{**row, **changes}]})

    def table(name: str, row: dict[str, Any]) -> str:
        return hostile_json({"table": name, "action": "insert", "data": [{"symbol": native, **row}]})

    return [
        (trade(price=float("nan")), "NaN trade price"),
        (trade(price=0), "zero trade price"),
        (trade(price=-price), "negative trade price"),
        (trade(size=-5), "negative trade size"),
        (trade(size=float("inf")), "infinite trade size"),
        (trade(side="Hold"), "a side that is neither Buy nor Sell"),
        (trade(timestamp="yesterday"), "a time that is no time"),
        (book("update", price="abc"), "book price of the wrong type"),
        (book("insert", size=-1), "negative book size"),
        (book("delete", id=2**64), "row id past 64 bits"),
        (book("update", price=float("-inf")), "-Infinity book price"),
        (table("quote", {"timestamp": stamp, "bidPrice": float("nan"), "bidSize": 1}), "NaN bid"),
        (table("instrument", {"markPrice": float("inf")}), "infinite mark price"),
        (table("instrument", {"lastPrice": -1.0}), "negative last price"),
        (table("tradeBin1m", {"timestamp": stamp, "open": price, "high": "x"}), "bar of the wrong type"),
        (table("liquidation", {"orderID": "o", "side": "Sell", "leavesQty": -3}), "negative quantity"),
    ]
