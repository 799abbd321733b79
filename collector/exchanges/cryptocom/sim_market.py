"""The simulated Crypto.com instrument and the payloads of its pushes, over the neutral market.

:class:`CryptocomMarket` is a :class:`~collector.simulator.market.SymbolMarket` that also keeps
what Crypto.com's ticker, trade snapshot and derivative channels report. :class:`BookView` is
what one ``book.{instrument}.{depth}`` subscription has published: its best ``depth`` levels
and the ``u`` of its last push. The payload builders write the documented JSON, fields in
Crypto.com's order ("id, method, code, instrument_name, subscription, channel"), the
``public/get-instruments`` entries (:func:`listed`) and the hostile frames of the fault tests
(:func:`hostile_frames`).
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from ...errors import UnknownSymbol
from ...simulator.market import CandleState, Fill, InstrumentSpec, SymbolMarket, Update, split_symbol, start_price
from ...simulator.wire import hostile_json

__all__ = [
    "DEFAULT_DEPTH",
    "TRADE_SNAPSHOT",
    "BookView",
    "CryptocomMarket",
    "candle_item",
    "cryptocom_spec",
    "delivery_ms",
    "hostile_frames",
    "listed",
    "push",
    "ticker_item",
    "trade_items",
]

DEFAULT_DEPTH = 50
"""The book depth the adapter subscribes (``true_book`` and the hostile book frames use it)."""

TRADE_SNAPSHOT = 50
"""Trades sent on subscribe: "Returns last 50 trades on subscribe"."""


def delivery_ms(expiry: str) -> int:
    """``YYMMDD`` -> 08:00 UTC of that day in ms, when Crypto.com's dated futures expire."""
    return int(datetime.strptime(expiry, "%y%m%d").replace(hour=8, tzinfo=UTC).timestamp() * 1000)


def cryptocom_spec(symbol: str, seed: int) -> InstrumentSpec:
    """The simulated instrument: ``BTC/USDT`` is ``BTC_USDT``, ``BTC/USD:USD`` is ``BTCUSD-PERP``,
    ``BTC/USD:USD-250926`` is ``BTCUSD-250926``. Derivatives settle in their quote currency."""
    try:
        base, quote, settle, expiry = split_symbol(symbol)
        if expiry is not None:
            delivery_ms(expiry)
    except ValueError as exc:
        raise UnknownSymbol(f"cryptocom: {exc}") from None
    if settle is None:
        native = f"{base}_{quote}"
    elif settle == quote:
        native = f"{base}{quote}-{expiry or 'PERP'}"
    else:
        raise UnknownSymbol(f"cryptocom lists no {symbol!r}: contracts settle in their quote currency (BTC/USD:USD)")
    rng = random.Random(f"{seed}:cryptocom:{symbol}:spec")
    price = start_price(base, rng)
    magnitude = math.floor(math.log10(price))
    spot = settle is None
    # BTC_USDT: tick 0.01, quantity step 0.00001; BTCUSD-PERP: tick 0.1, step 0.0001.
    price_decimals = min(8, max(0, (6 if spot else 5) - magnitude))
    size_decimals = min(8, max(0, magnitude + (1 if spot else 0)))
    return InstrumentSpec(
        symbol=symbol,
        native=native,
        base=base,
        quote=quote,
        settle=settle,
        expiry=expiry,
        price_decimals=price_decimals,
        size_decimals=size_decimals,
        start_ticks=round(price * 10**price_decimals),
        mean_lots=max(1, round(3000.0 / price * 10**size_decimals)),
        # Derivative prices and quantities are printed with six decimals ("51327.500000").
        text_decimals=None if spot else max(6, price_decimals, size_decimals),
    )


class CryptocomMarket(SymbolMarket):
    """A :class:`SymbolMarket` that also keeps the last 50 trades, 24 h statistics and derivative values.

    The 24 h statistics run from the start of the simulation; the index follows the mid with
    a small premium, the hourly funding rate with it.
    """

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, start_id: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.derivative = spec.settle is not None
        self.index = f"{spec.base}{spec.quote}-INDEX" if self.derivative else ""
        self.history: deque[Fill] = deque(maxlen=TRADE_SNAPSHOT)
        self.open_ticks = self.high = self.low = spec.start_ticks
        self.volume_lots = 0
        self.value = 0.0  # traded value in the quote currency
        self.second = -1  # the second of the last derivative push
        self.views: dict[int, BookView] = {}

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and update what the channels report."""
        update = super().step(time_ms)
        scale = 1.0 / 10.0 ** (self.spec.price_decimals + self.spec.size_decimals)
        for f in update.fills:
            self.history.append(f)
            self.high = max(self.high, f.ticks)
            self.low = min(self.low, f.ticks)
            self.volume_lots += f.lots
            self.value += f.ticks * f.lots * scale
        return update

    def view(self, depth: int) -> BookView:
        """The published state of ``book.{native}.{depth}``."""
        view = self.views.get(depth)
        if view is None:
            view = self.views[depth] = BookView(depth, self.last_id)
            view.advance(self)
        return view

    def mid_text(self, premium: float = 0.0) -> str:
        """The mid price (times ``1 + premium``) as a wire string."""
        bid, _, ask, _ = self.best()
        return self.spec.price(round((bid + ask) / 2 * (1.0 + premium)))

    def funding_rate(self) -> float:
        """The hourly rate: a small premium of the mark over the index, clamped like a real one."""
        return max(-0.0005, min(0.0005, (self.last_price - self.open_ticks) / self.open_ticks / 100.0))


@dataclass(slots=True)
class BookView:
    """One depth's published book: its levels, the ``u`` of its last push and when it was sent.

    ``u`` is the instrument's update id when the view last changed; each push's ``pu`` is
    the previous push's ``u``. A level leaving the depth window is published with size 0.
    """

    depth: int
    u: int
    sent_ms: int = 0
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)

    def advance(self, market: SymbolMarket) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Bring the view up to the market's best ``depth`` levels; the changes, best first."""
        new_bids, new_asks = market.levels(self.depth)
        bids = _changes(self.bids, new_bids, descending=True)
        asks = _changes(self.asks, new_asks, descending=False)
        if bids or asks:
            self.bids = dict(new_bids)
            self.asks = dict(new_asks)
            self.u = market.last_id
        return bids, asks


def _changes(old: dict[int, int], new: list[tuple[int, int]], *, descending: bool) -> list[tuple[int, int]]:
    changed = [(p, q) for p, q in new if old.get(p) != q]
    if len(old) != len(new) or changed:
        kept = {p for p, _ in new}
        changed += [(p, 0) for p in old if p not in kept]
        changed.sort(reverse=descending)
    return changed


def push(instrument: str, subscription: str, channel: str, data: list[Any], *, req_id: int = -1, **extra: Any) -> str:
    """A market-data push; ``extra`` (``depth``, ``interval``) follows ``channel`` in the result."""
    result: dict[str, Any] = {"instrument_name": instrument, "subscription": subscription, "channel": channel}
    result.update(extra)
    result["data"] = data
    return orjson.dumps({"id": req_id, "method": "subscribe", "code": 0, "result": result}).decode()


def trade_items(spec: InstrumentSpec, fills: list[Fill] | deque[Fill]) -> list[dict[str, Any]]:
    """``trade`` data, newest first; ``s`` is the taker's side."""
    return [
        {
            "d": str(4_611_686_018_427_387_904 + f.agg_id),
            "t": f.time_ms,
            "p": spec.price(f.ticks),
            "q": spec.size(f.lots),
            "s": "SELL" if f.buyer_maker else "BUY",
            "i": spec.native,
            "m": str(f.last_id),
        }
        for f in reversed(fills)
    ]


def ticker_item(m: CryptocomMarket, time_ms: int) -> dict[str, Any]:
    """``ticker`` data: best bid/offer with sizes, last, 24 h statistics (and open interest on contracts)."""
    spec = m.spec
    bid, bid_lots, ask, ask_lots = m.best()
    item: dict[str, Any] = {
        "h": spec.price(m.high),
        "l": spec.price(m.low),
        "a": spec.price(m.last_price),
        "c": f"{(m.last_price - m.open_ticks) / m.open_ticks:.8f}",
        "b": spec.price(bid),
        "bs": spec.size(bid_lots),
        "k": spec.price(ask),
        "ks": spec.size(ask_lots),
        "i": spec.native,
        "v": spec.size(m.volume_lots),
        "vv": f"{m.value:.2f}",
    }
    if m.derivative:
        item["oi"] = spec.size(spec.mean_lots * 2000)
    item["t"] = time_ms
    return item


def candle_item(spec: InstrumentSpec, candle: CandleState) -> dict[str, Any]:
    """``candlestick`` data for one bar (``t`` is its start)."""
    return {
        "o": spec.price(candle.open),
        "h": spec.price(candle.high),
        "l": spec.price(candle.low),
        "c": spec.price(candle.close),
        "v": spec.size(candle.lots),
        "t": candle.start_ms,
    }


def listed(spec: InstrumentSpec) -> dict[str, Any]:
    """One ``public/get-instruments`` entry, numbers as strings."""
    entry: dict[str, Any] = {"symbol": spec.native}
    if spec.settle is None:
        entry |= {"inst_type": "CCY_PAIR", "display_name": f"{spec.base}/{spec.quote}"}
    elif spec.expiry is None:
        entry |= {"inst_type": "PERPETUAL_SWAP", "display_name": f"{spec.base}{spec.quote} Perpetual"}
    else:
        entry |= {"inst_type": "FUTURE", "display_name": f"{spec.base}{spec.quote} Futures {spec.expiry}"}
    entry |= {
        "base_ccy": spec.base,
        "quote_ccy": spec.quote,
        "quote_decimals": str(spec.price_decimals),
        "quantity_decimals": str(spec.size_decimals),
        "price_tick_size": spec.tick_size,
        "qty_tick_size": spec.step_size,
        "max_leverage": "50" if spec.settle else "10",
        "tradable": True,
    }
    if spec.settle is not None:
        expiry = delivery_ms(spec.expiry) if spec.expiry else 0
        entry |= {
            "expiry_timestamp_ms": str(expiry),
            "underlying_symbol": f"{spec.base}{spec.quote}-INDEX",
            "contract_size": "1",
            "product_type": "DIGITAL_CURRENCIES",
        }
    return entry


def hostile_frames(spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
    """Crypto.com-shaped frames of ``spec`` with impossible values, each with what is wrong with it."""
    native = spec.native
    price, size = spec.price(spec.start_ticks), spec.size(1)

    def frame(channel: str, item: Any, subscription: str = "", **extra: Any) -> str:
        result: dict[str, Any] = {"instrument_name": native, "subscription": subscription or f"{channel}.{native}"}
        result |= {"channel": channel, **extra, "data": [item] if item is not None else None}
        return hostile_json({"id": -1, "method": "subscribe", "code": 0, "result": result})

    def trade(**changes: Any) -> str:
        return frame("trade", {"d": "1", "t": now_ms, "p": price, "q": size, "s": "BUY", "i": native} | changes)

    def delta(**changes: Any) -> str:
        item = {"update": {"bids": [], "asks": []}, "t": now_ms, "u": 5, "pu": 4} | changes
        return frame("book.update", item, f"book.{native}.{DEFAULT_DEPTH}", depth=DEFAULT_DEPTH)

    def ticker(**changes: Any) -> str:
        return frame("ticker", {"b": price, "k": price, "a": price, "i": native, "t": now_ms} | changes)

    bar = {"o": price, "h": price, "l": price, "c": price, "v": size, "t": now_ms}
    return [
        (trade(p="NaN"), "NaN price"),
        (trade(p="Infinity"), "infinite price"),
        (trade(p="0"), "zero price"),
        (trade(p="-" + price), "negative price"),
        (trade(q="-" + size), "negative quantity"),
        (trade(p=[price]), "price of the wrong type"),
        (trade(s="SIDEWAYS"), "unknown taker side"),
        (trade(t=2**70), "time beyond 64 bits"),
        (trade(d=2**70), "trade id beyond 64 bits"),
        (delta(update={"bids": [["nan", size, "1"]], "asks": []}), "NaN book level"),
        (delta(update={"bids": [], "asks": [[price, "-" + size, "1"]]}), "negative book size"),
        (delta(u=2**70), "update id beyond 64 bits"),
        (delta(pu=-1), "negative previous id"),
        (ticker(b="NaN"), "NaN ticker price"),
        (ticker(bs="-3"), "negative ticker size"),
        (ticker(a="Infinity"), "infinite last price"),
        (frame("candlestick", bar | {"h": "-1"}, f"candlestick.1m.{native}", interval="1m"), "negative high"),
        (frame("trade", None), "null data"),
        (frame("notachannel", {}), "unknown channel"),
        (trade().replace(f'"instrument_name":"{native}"', '"instrument_name":"NOSUCH_COIN"'), "unknown symbol"),
        (hostile_json({"id": [1], "method": "public/heartbeat", "code": 0}), "heartbeat id of the wrong type"),
    ]
