"""The simulated Gate frames, REST bodies and hostile frames, as Gate's docs show them.

Every push is ``{"time": s, "time_ms": ms, "channel": ..., "event": "update", "result": ...}``.
Spot numbers are decimal strings; futures sizes are integers (contracts) and prices
strings, as without the ``X-Gate-Size-Decimal`` header. See :mod:`.sim` for when each is sent.
"""

from __future__ import annotations

from typing import Any

import orjson

from ...simulator.market import CandleState, Fill, InstrumentSpec, Update
from ...simulator.wire import hostile_json
from .sim_market import FUNDING_S, GateMarket, multiplier_of

__all__ = [
    "candle_result",
    "contract_entry",
    "currency_pair_entry",
    "dumps",
    "futures_book",
    "futures_book_ticker",
    "futures_liquidations",
    "futures_snapshot",
    "futures_tickers",
    "futures_trades",
    "hostile_frames",
    "push",
    "spot_book",
    "spot_book_ticker",
    "spot_snapshot",
    "spot_ticker",
    "spot_trade",
]


def dumps(obj: Any) -> str:
    """Compact JSON text."""
    return orjson.dumps(obj).decode()


def push(channel: str, result: Any, now_ms: int) -> str:
    """A data frame of ``channel``."""
    return dumps({"time": now_ms // 1000, "time_ms": now_ms, "channel": channel, "event": "update", "result": result})


def _pairs(spec: InstrumentSpec, levels: list[tuple[int, int]]) -> list[list[str]]:
    return [[spec.price(p), spec.size(q)] for p, q in levels]


def _objects(spec: InstrumentSpec, levels: list[tuple[int, int]]) -> list[dict[str, Any]]:
    return [{"p": spec.price(p), "s": q} for p, q in levels]


# -- spot ------------------------------------------------------------------------------------------


def spot_book(market: GateMarket, update: Update, full: bool) -> dict[str, Any]:
    """``spot.order_book_update`` result: the step's changed levels, or the whole book when ``full``."""
    spec = market.spec
    assert update.first_id is not None
    bids, asks = market.levels(100) if full else (update.bids, update.asks)
    result: dict[str, Any] = {"t": update.time_ms}
    if full:
        result["full"] = True
    result |= {"l": "100", "e": "depthUpdate", "E": update.time_ms // 1000, "s": spec.native}
    result |= {"U": update.first_id, "u": update.last_id, "b": _pairs(spec, bids), "a": _pairs(spec, asks)}
    return result


def spot_book_ticker(market: GateMarket, update: Update) -> dict[str, Any]:
    """``spot.book_ticker`` result after a step that moved the touch."""
    spec = market.spec
    bid, bid_lots, ask, ask_lots = update.best
    return {
        "t": update.time_ms,
        "u": update.last_id,
        "s": spec.native,
        "b": spec.price(bid),
        "B": spec.size(bid_lots),
        "a": spec.price(ask),
        "A": spec.size(ask_lots),
    }


def spot_trade(market: GateMarket, f: Fill) -> dict[str, Any]:
    """``spot.trades`` result of one fill (taker side; the fraction of a ms appended to ``create_time_ms``)."""
    spec = market.spec
    return {
        "id": 300_000_000 + f.agg_id,
        "id_market": f.last_id,
        "create_time": f.time_ms // 1000,
        "create_time_ms": f"{f.time_ms}.{f.agg_id % 10_000:04d}",
        "side": "sell" if f.buyer_maker else "buy",
        "currency_pair": spec.native,
        "amount": spec.size(f.lots),
        "price": spec.price(f.ticks),
        "range": f"{f.first_id}-{f.last_id}",
    }


def spot_ticker(market: GateMarket) -> dict[str, Any]:
    """``spot.tickers`` result: last price, best bid/ask and the statistics since the start."""
    spec = market.spec
    bid, _, ask, _ = market.best()
    change = (market.last_price - market.open_ticks) / market.open_ticks * 100
    return {
        "currency_pair": spec.native,
        "last": spec.price(market.last_price),
        "lowest_ask": spec.price(ask),
        "highest_bid": spec.price(bid),
        "change_percentage": f"{change:.4f}",
        "base_volume": spec.size(market.volume_lots),
        "quote_volume": f"{market.quote_volume:.8f}",
        "high_24h": spec.price(market.high),
        "low_24h": spec.price(market.low),
    }


def candle_result(
    market: GateMarket, candle: CandleState, closed: bool, interval: str, futures: bool
) -> dict[str, Any]:
    """One bar: spot ``v`` is the quote volume and ``a`` the base amount; futures ``v`` counts contracts."""
    spec = market.spec
    name = f"{interval}_{spec.native}"
    ohlc = {"c": spec.price(candle.close), "h": spec.price(candle.high), "l": spec.price(candle.low)}
    ohlc["o"] = spec.price(candle.open)
    if not futures:
        volume = f"{candle.counter_volume:.8f}"
        return {
            "t": str(candle.start_ms // 1000),
            "v": volume,
            **ohlc,
            "n": name,
            "a": spec.size(candle.lots),
            "w": closed,
        }
    close = candle.close / 10**spec.price_decimals
    base = candle.lots / close if spec.settle == spec.base else candle.lots * multiplier_of(spec)
    return {"t": candle.start_ms // 1000, "v": candle.lots, **ohlc, "n": name, "a": f"{base:.8f}", "w": closed}


def currency_pair_entry(spec: InstrumentSpec) -> dict[str, Any]:
    """One ``/spot/currency_pairs`` entry."""
    return {
        "id": spec.native,
        "base": spec.base,
        "base_name": spec.base,
        "quote": spec.quote,
        "quote_name": spec.quote,
        "fee": "0.2",
        "min_base_amount": spec.step_size,
        "min_quote_amount": "1",
        "max_base_amount": None,
        "max_quote_amount": "10000000",
        "amount_precision": spec.size_decimals,
        "precision": spec.price_decimals,
        "trade_status": "tradable",
        "sell_start": 1516378650,
        "buy_start": 1516378650,
        "delisting_time": 0,
        "type": "normal",
        "trade_url": f"https://www.gate.io/trade/{spec.native}",
        "st_tag": False,
    }


def spot_snapshot(market: GateMarket, limit: int, with_id: bool, now_ms: int) -> dict[str, Any]:
    """``/spot/order_book`` body: ``id`` only ``with_id``."""
    bids, asks = market.levels(limit)
    body: dict[str, Any] = {"id": market.last_id} if with_id else {}
    spec = market.spec
    return body | {"current": now_ms, "update": now_ms, "asks": _pairs(spec, asks), "bids": _pairs(spec, bids)}


# -- futures ---------------------------------------------------------------------------------------


def futures_book(market: GateMarket, update: Update, full: bool) -> dict[str, Any]:
    """``futures.order_book_update`` result: level objects, sizes in contracts."""
    spec = market.spec
    assert update.first_id is not None
    bids, asks = market.levels(100) if full else (update.bids, update.asks)
    result: dict[str, Any] = {"t": update.time_ms}
    if full:
        result["full"] = True
    result |= {"s": spec.native, "U": update.first_id, "u": update.last_id}
    return result | {"b": _objects(spec, bids), "a": _objects(spec, asks), "l": "100"}


def futures_book_ticker(market: GateMarket, update: Update) -> dict[str, Any]:
    """``futures.book_ticker`` result: prices as strings, sizes as integer contracts."""
    spec = market.spec
    bid, bid_lots, ask, ask_lots = update.best
    return {
        "t": update.time_ms,
        "u": update.last_id,
        "s": spec.native,
        "b": spec.price(bid),
        "B": bid_lots,
        "a": spec.price(ask),
        "A": ask_lots,
    }


def futures_trades(market: GateMarket, fills: list[Fill]) -> list[dict[str, Any]]:
    """``futures.trades`` result: "positive size means taker is buyer, negative seller"."""
    spec = market.spec
    return [
        {
            "size": -f.lots if f.buyer_maker else f.lots,
            "id": 20_000_000 + f.agg_id,
            "create_time": f.time_ms // 1000,
            "create_time_ms": f.time_ms,
            "price": spec.price(f.ticks),
            "contract": spec.native,
        }
        for f in fills
    ]


def futures_tickers(market: GateMarket) -> list[dict[str, Any]]:
    """``futures.tickers`` result: mark/index at the mid, funding, open interest in contracts."""
    spec = market.spec
    bid, _, ask, _ = market.best()
    mid = spec.price((bid + ask) // 2)
    volume = spec.size(market.volume_lots)
    return [
        {
            "contract": spec.native,
            "last": spec.price(market.last_price),
            "change_percentage": f"{(market.last_price - market.open_ticks) / market.open_ticks * 100:.4f}",
            "funding_rate": "0.0001",
            "funding_rate_indicative": "0.000095",
            "mark_price": mid,
            "index_price": mid,
            "total_size": str(market.open_interest),
            "volume_24h": volume,
            "volume_24h_quote": f"{market.quote_volume:.4f}",
            "volume_24h_settle": f"{market.quote_volume:.4f}",
            "volume_24h_base": volume,
            "low_24h": spec.price(market.low),
            "high_24h": spec.price(market.high),
        }
    ]


def futures_liquidations(market: GateMarket, fills: list[Fill]) -> list[dict[str, Any]]:
    """``futures.public_liquidates`` result: the liquidation orders among ``fills`` (they take liquidity)."""
    spec = market.spec
    return [
        {
            "price": float(spec.price(f.ticks)),
            "size": -f.lots if f.buyer_maker else f.lots,
            "time_ms": f.time_ms,
            "contract": spec.native,
        }
        for f in fills
    ]


def contract_entry(spec: InstrumentSpec, market: GateMarket, now_ms: int) -> dict[str, Any]:
    """One ``/futures/{settle}/contracts`` entry (the documented example's fields)."""
    inverse = spec.settle == spec.base
    bid, _, ask, _ = market.best()
    mid = spec.price((bid + ask) // 2)
    now_s = now_ms // 1000
    return {
        "name": spec.native,
        "type": "inverse" if inverse else "direct",
        "quanto_multiplier": "0" if inverse else f"{multiplier_of(spec):g}",
        "ref_discount_rate": "0",
        "order_price_deviate": "0.5",
        "maintenance_rate": "0.005",
        "mark_type": "index",
        "last_price": spec.price(market.last_price),
        "mark_price": mid,
        "index_price": mid,
        "funding_rate_indicative": "0.000095",
        "mark_price_round": spec.tick_size,
        "funding_offset": 0,
        "in_delisting": False,
        "interest_rate": "0.0003",
        "order_price_round": spec.tick_size,
        "order_size_min": 1,
        "funding_interval": FUNDING_S,
        "leverage_min": "1",
        "leverage_max": "100",
        "maker_fee_rate": "-0.00025",
        "taker_fee_rate": "0.00075",
        "funding_rate": "0.0001",
        "order_size_max": 1000000,
        "funding_next_apply": now_s - now_s % FUNDING_S + FUNDING_S,
        "position_size": market.open_interest,
        "orderbook_id": market.last_id,
        "status": "trading",
        "launch_time": 1609899548,
    }


def futures_snapshot(market: GateMarket, limit: int, with_id: bool, now_ms: int) -> dict[str, Any]:
    """``/futures/{settle}/order_book`` body: times in seconds with a fraction, level objects."""
    bids, asks = market.levels(limit)
    body: dict[str, Any] = {"id": market.last_id} if with_id else {}
    spec = market.spec
    now = now_ms / 1000
    return body | {"current": now, "update": now, "asks": _objects(spec, asks), "bids": _objects(spec, bids)}


# -- hostile frames --------------------------------------------------------------------------------


def _frame(channel: str, result: Any, now_ms: int) -> str:
    return hostile_json(
        {"time": now_ms // 1000, "time_ms": now_ms, "channel": channel, "event": "update", "result": result}
    )


def hostile_frames(spec: InstrumentSpec, now_ms: int, futures: bool) -> list[tuple[str | bytes, str]]:
    """Gate-shaped frames of ``spec`` with impossible values, each of which a client must reject."""
    native = spec.native
    price, size = spec.price(spec.start_ticks), spec.size(1)
    if futures:
        return _hostile_futures(native, price, now_ms)
    book = {"t": now_ms, "s": native, "U": 1, "u": 2, "b": [], "a": []}
    trade = {"id": 7, "create_time_ms": str(now_ms), "side": "buy", "currency_pair": native, "amount": size}
    trade["price"] = price
    ticker = {"t": now_ms, "u": 1, "s": native, "b": price, "B": size, "a": price, "A": size}
    candle = {"t": str(now_ms // 1000), "v": "1", "c": price, "h": price, "l": price, "o": price, "n": f"1m_{native}"}
    candle["a"] = size
    return [
        (_frame("spot.trades", trade | {"price": "NaN"}, now_ms), "NaN price"),
        (_frame("spot.trades", trade | {"price": "Infinity"}, now_ms), "infinite price"),
        (_frame("spot.trades", trade | {"price": "0"}, now_ms), "zero price"),
        (_frame("spot.trades", trade | {"price": "-" + price}, now_ms), "negative price"),
        (_frame("spot.trades", trade | {"amount": "-" + size}, now_ms), "negative amount"),
        (_frame("spot.trades", trade | {"price": [price]}, now_ms), "price of the wrong type"),
        (_frame("spot.trades", trade | {"side": "sideways"}, now_ms), "unknown taker side"),
        (_frame("spot.trades", trade | {"id": 2**70}, now_ms), "trade id beyond 64 bits"),
        (_frame("spot.trades", trade | {"currency_pair": "NOSUCH_PAIR"}, now_ms), "unknown pair"),
        (_frame("spot.order_book_update", book | {"b": [["nan", size]]}, now_ms), "NaN book level"),
        (_frame("spot.order_book_update", book | {"a": [[price, "-" + size]]}, now_ms), "negative book size"),
        (_frame("spot.order_book_update", book | {"u": 2**70}, now_ms), "update id beyond 64 bits"),
        (_frame("spot.book_ticker", ticker | {"b": "nan"}, now_ms), "NaN best bid"),
        (_frame("spot.book_ticker", ticker | {"A": "-1"}, now_ms), "negative ask amount"),
        (_frame("spot.tickers", {"currency_pair": native, "last": "NaN"}, now_ms), "NaN last price"),
        (_frame("spot.candlesticks", candle | {"h": "-1"}, now_ms), "negative candle high"),
        (_frame("spot.trades", None, now_ms), "null result"),
        (_frame("spot.notachannel", {"s": native}, now_ms), "unknown channel"),
    ]


def _hostile_futures(native: str, price: str, now_ms: int) -> list[tuple[str | bytes, str]]:
    trade = {"size": 1, "id": 7, "create_time": now_ms // 1000, "create_time_ms": now_ms, "price": price}
    trade["contract"] = native
    book = {"t": now_ms, "s": native, "U": 1, "u": 2, "b": [], "a": []}
    ticker = {"t": now_ms, "u": 1, "s": native, "b": price, "B": 1, "a": price, "A": 1}
    tickers = {"contract": native, "mark_price": price, "index_price": price, "funding_rate": "0.0001"}
    liquidation = {"price": float(price), "size": -1, "time_ms": now_ms, "contract": native}
    return [
        (_frame("futures.trades", [trade | {"price": "NaN"}], now_ms), "NaN price"),
        (_frame("futures.trades", [trade | {"price": "-" + price}], now_ms), "negative price"),
        (_frame("futures.trades", [trade | {"size": "Infinity"}], now_ms), "infinite size"),
        (_frame("futures.trades", [trade | {"size": 0}], now_ms), "zero size"),
        (_frame("futures.trades", [trade | {"id": 2**70}], now_ms), "trade id beyond 64 bits"),
        (_frame("futures.trades", [trade | {"contract": "NOSUCH_USDT"}], now_ms), "unknown contract"),
        (_frame("futures.order_book_update", book | {"b": [{"p": "nan", "s": 1}]}, now_ms), "NaN book level"),
        (_frame("futures.order_book_update", book | {"a": [{"p": price, "s": -3}]}, now_ms), "negative book size"),
        (_frame("futures.order_book_update", book | {"U": 2**70}, now_ms), "update id beyond 64 bits"),
        (_frame("futures.book_ticker", ticker | {"a": "Infinity"}, now_ms), "infinite best ask"),
        (_frame("futures.book_ticker", ticker | {"B": -5}, now_ms), "negative bid size"),
        (_frame("futures.tickers", [tickers | {"mark_price": "NaN"}], now_ms), "NaN mark price"),
        (_frame("futures.tickers", [tickers | {"funding_rate": "Infinity"}], now_ms), "infinite funding rate"),
        (_frame("futures.tickers", [tickers | {"total_size": "-7"}], now_ms), "negative open interest"),
        (_frame("futures.public_liquidates", [liquidation | {"price": 0}], now_ms), "zero liquidation price"),
        (_frame("futures.candlesticks", {"t": 1}, now_ms), "candles that are no list"),
        (_frame("futures.notachannel", [], now_ms), "unknown channel"),
    ]
