"""The simulated Gemini market and the JSON of its messages (the protocol is in :mod:`.sim`).

:class:`GeminiMarket` keeps what Gemini's initial messages repeat (the last trades, the
recent bars) on top of the neutral market model; the functions below write one market's
state as Gemini's v2 messages and REST answers do: prices and sizes as decimal strings,
candle rows as JSON numbers, perpetual times in nanoseconds.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

import orjson

from ...simulator.market import CandleState, Fill, InstrumentSpec, SymbolMarket, Update

__all__ = ["GeminiMarket", "bar", "changes", "details", "funding_message", "mark_message", "risk", "trade"]

RECENT = 50  # "the existing state of the order books and last 50 trades"
HISTORY = 60  # bars in a candle subscription's first message
_HOUR_MS = 3_600_000
_TID = 2_840_140_000_000_000  # Gemini trade ids are about this large
_EVENT = 1_764_550_000_000_000


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


class GeminiMarket(SymbolMarket):
    """A :class:`SymbolMarket` that keeps what Gemini's initial messages repeat: the last
    trades and the recent bars of every interval, and when mark and funding were last sent."""

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, start_id: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.perpetual = spec.settle is not None
        self.recent: deque[Fill] = deque(maxlen=RECENT)
        self.closed: dict[str, deque[CandleState]] = {}
        self.forming: dict[str, CandleState] = {}
        self.mark_at = 0
        self.funding_at = 0

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`), keeping trades and bars."""
        update = super().step(time_ms)
        self.recent.extend(update.fills)
        for candle, closed in update.candles:
            if closed:
                self.closed.setdefault(candle.interval, deque(maxlen=HISTORY)).append(candle)
                if self.forming.get(candle.interval) is candle:
                    del self.forming[candle.interval]
            else:
                self.forming[candle.interval] = candle
        return update

    def mark_ticks(self) -> int:
        """The mark price in ticks: the mid of the touch."""
        bid, _, ask, _ = self.best()
        return (bid + ask) // 2


def changes(spec: InstrumentSpec, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> list[list[str]]:
    """``changes`` of an ``l2_updates``: ``[side, price, quantity]``, bids best first, then asks."""
    price, size = spec.price, spec.size
    return [["buy", price(p), size(q)] for p, q in bids] + [["sell", price(p), size(q)] for p, q in asks]


def trade(spec: InstrumentSpec, f: Fill, *, message: bool = False) -> dict[str, Any]:
    """A trade as the ``trades`` of an initial ``l2_updates`` list it (``message``: a ``trade`` message)."""
    body = {
        "type": "trade",
        "symbol": spec.native,
        "event_id": _EVENT + f.last_id,
        "timestamp": f.time_ms,
        "price": spec.price(f.ticks),
        "quantity": spec.size(f.lots),
        # A taker that sold hit a resting buy.
        "side": "sell" if f.buyer_maker else "buy",
        "tid": _TID + f.agg_id,
    }
    if not message:
        # The initial response's trades have their keys in alphabetical order.
        body = dict(sorted(body.items()))
    return body


def bar(spec: InstrumentSpec, c: CandleState) -> list[float]:
    """``[time, open, high, low, close, volume]``, JSON numbers."""
    price = spec.price
    ohlc = [float(price(c.open)), float(price(c.high)), float(price(c.low)), float(price(c.close))]
    return [c.start_ms, *ohlc, float(spec.size(c.lots))]


def mark_message(market: GeminiMarket, now_ms: int) -> str:
    """``mark_price_updates``: the mid as the mark, an index two ticks below it."""
    market.mark_at = now_ms
    spec = market.spec
    mark = market.mark_ticks()
    change = {
        "timestamp": now_ms * 1_000_000 + 687_541,
        "mark_price": spec.price(mark),
        "spot_index": spec.price(mark - 2),
    }
    return _dumps({"type": "mark_price_updates", "symbol": spec.native, "changes": [change]})


def funding_message(market: GeminiMarket, now_ms: int) -> str:
    """``funding_amount_updates``: 0.012 % of the mark for the hour, paid at the next full hour."""
    market.funding_at = now_ms
    spec = market.spec
    mark = spec.price(market.mark_ticks())
    change = {
        "timestamp": now_ms * 1_000_000 + 687_573,
        "funding_amount": f"{float(mark) * 0.00012:.5f}",
        "funding_date_time": (now_ms // _HOUR_MS + 1) * _HOUR_MS * 1_000_000,
        "funding_interval_in_minutes": 60,
        "funding_rate": "0.012",
        "is_realized": False,
        "mark_price": mark,
    }
    return _dumps({"type": "funding_amount_updates", "symbol": spec.native, "changes": [change]})


def details(spec: InstrumentSpec) -> dict[str, Any]:
    """``/v1/symbols/details/{symbol}``: ``tick_size`` is the size step, ``quote_increment`` the price tick."""
    perpetual = spec.settle is not None
    return {
        "symbol": spec.native,
        "base_currency": spec.base,
        "quote_currency": spec.quote,
        "tick_size": float(spec.step_size),
        "quote_increment": float(spec.tick_size),
        "min_order_size": spec.step_size,
        "status": "open",
        "wrap_enabled": False,
        "product_type": "swap" if perpetual else "spot",
        "contract_type": "linear" if perpetual else "vanilla",
        "contract_price_currency": spec.quote,
    }


def risk(market: GeminiMarket) -> dict[str, str]:
    """``/v1/riskstats/{symbol}`` of a perpetual: open interest in units of the base, its notional."""
    spec = market.spec
    mark = market.mark_ticks()
    lots = 10_000 * spec.mean_lots + len(market.recent)
    return {
        "product_type": "PerpetualSwapContract",
        "mark_price": spec.price(mark),
        "index_price": spec.price(mark - 2),
        "open_interest": spec.size(lots),
        "open_interest_notional": f"{float(spec.price(mark)) * float(spec.size(lots)):.2f}",
    }
