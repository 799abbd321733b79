"""Checks that keep impossible values out of events.

Values are validated where they enter: wire schemas declare prices and sizes with the
constrained types of :mod:`collector.exchanges.fields` (msgspec rejects ``"NaN"``,
``"-1"`` or ``1e400`` while decoding), and books validate every level before applying it
(:mod:`collector.book`). :func:`invalid` is the last line, run by the adapter boundary on
every market event an adapter returns: a value computed from valid inputs can still come
out infinite (a contract conversion dividing by a tiny price), and an adapter may build an
event from fields its schema does not constrain.

An event that fails is not emitted; the boundary reports an ``error`` event instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .models import Candle, DerivativeTicker, Liquidation, Premium, Ticker, Trade

__all__ = ["invalid"]

_INF = float("inf")


def _price(value: float | None) -> bool:
    return value is None or 0.0 < value < _INF


def _size(value: float | None) -> bool:
    return value is None or 0.0 <= value < _INF


def _finite(value: float | None) -> bool:
    return value is None or -_INF < value < _INF


def _trade(e: Trade) -> str | None:
    if not (0.0 < e.price < _INF and 0.0 <= e.amount < _INF):
        return f"trade price {e.price!r} amount {e.amount!r}"
    return None


def _ticker(e: Ticker) -> str | None:
    if not (
        _price(e.bid)
        and _price(e.ask)
        and _price(e.last)
        and _size(e.bid_size)
        and _size(e.ask_size)
        and _price(e.open)
        and _price(e.high)
        and _price(e.low)
        and _size(e.volume)
        and _size(e.quote_volume)
    ):
        return f"ticker bid {e.bid!r}/{e.bid_size!r} ask {e.ask!r}/{e.ask_size!r} last {e.last!r} ..."
    return None


def _candle(e: Candle) -> str | None:
    if not (
        0.0 < e.open < _INF
        and 0.0 < e.high < _INF
        and 0.0 < e.low < _INF
        and 0.0 < e.close < _INF
        and 0.0 <= e.volume < _INF
        and -_INF < e.start < e.end < _INF
    ):
        return f"candle o/h/l/c {e.open!r}/{e.high!r}/{e.low!r}/{e.close!r} volume {e.volume!r}"
    return None


def _derivative(e: DerivativeTicker) -> str | None:
    if not (
        _price(e.mark_price)
        and _price(e.index_price)
        and _price(e.last_price)
        and _finite(e.funding_rate)
        and _finite(e.predicted_funding_rate)
        and _finite(e.next_funding_time)
        and _size(e.open_interest)
        and _size(e.open_interest_value)
    ):
        return f"derivative ticker mark {e.mark_price!r} index {e.index_price!r} funding {e.funding_rate!r} ..."
    return None


def _liquidation(e: Liquidation) -> str | None:
    if not (0.0 < e.price < _INF and 0.0 <= e.amount < _INF):
        return f"liquidation price {e.price!r} amount {e.amount!r}"
    return None


def _premium(e: Premium) -> str | None:
    if not (0.0 < e.krw_price < _INF and 0.0 < e.usd_price < _INF and 0.0 < e.fx < _INF and _finite(e.premium)):
        return f"premium krw {e.krw_price!r} usd {e.usd_price!r} fx {e.fx!r} premium {e.premium!r}"
    return None


_CHECKS: dict[type, Callable[[Any], str | None]] = {
    Trade: _trade,
    Ticker: _ticker,
    Candle: _candle,
    DerivativeTicker: _derivative,
    Liquidation: _liquidation,
    Premium: _premium,
}


def invalid(event: Any) -> str | None:
    """What is impossible about ``event`` (``None`` when nothing is, or it is not a market event).

    Prices must be finite and positive, sizes and volumes finite and non-negative,
    rates and times finite; ``None`` means "not given" and always passes.
    """
    check = _CHECKS.get(type(event))
    if check is None:
        return None
    if not (event.timestamp is None or -_INF < event.timestamp < _INF):
        return f"timestamp {event.timestamp!r}"
    return check(event)
