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


def _trade(e: Trade) -> str | None:
    if not (0.0 < e.price < _INF and 0.0 <= e.amount < _INF):
        return f"trade price {e.price!r} amount {e.amount!r}"
    return None


def _ticker(e: Ticker) -> str | None:
    # Runs on every ticker of the slow paths: the checks are written out, not called per field.
    bid, ask, last, o, h, lo = e.bid, e.ask, e.last, e.open, e.high, e.low
    bsz, asz, vol, qvol = e.bid_size, e.ask_size, e.volume, e.quote_volume
    if not (
        (bid is None or 0.0 < bid < _INF)
        and (ask is None or 0.0 < ask < _INF)
        and (last is None or 0.0 < last < _INF)
        and (bsz is None or 0.0 <= bsz < _INF)
        and (asz is None or 0.0 <= asz < _INF)
        and (o is None or 0.0 < o < _INF)
        and (h is None or 0.0 < h < _INF)
        and (lo is None or 0.0 < lo < _INF)
        and (vol is None or 0.0 <= vol < _INF)
        and (qvol is None or 0.0 <= qvol < _INF)
    ):
        return f"ticker bid {bid!r}/{bsz!r} ask {ask!r}/{asz!r} last {last!r} ..."
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
    mark, index, last = e.mark_price, e.index_price, e.last_price
    rate, predicted, next_time = e.funding_rate, e.predicted_funding_rate, e.next_funding_time
    oi, oi_value = e.open_interest, e.open_interest_value
    if not (
        (mark is None or 0.0 < mark < _INF)
        and (index is None or 0.0 < index < _INF)
        and (last is None or 0.0 < last < _INF)
        and (rate is None or -_INF < rate < _INF)
        and (predicted is None or -_INF < predicted < _INF)
        and (next_time is None or -_INF < next_time < _INF)
        and (oi is None or 0.0 <= oi < _INF)
        and (oi_value is None or 0.0 <= oi_value < _INF)
    ):
        return f"derivative ticker mark {mark!r} index {index!r} funding {rate!r} ..."
    return None


def _liquidation(e: Liquidation) -> str | None:
    if not (0.0 < e.price < _INF and 0.0 <= e.amount < _INF):
        return f"liquidation price {e.price!r} amount {e.amount!r}"
    return None


def _premium(e: Premium) -> str | None:
    premium = e.premium
    if not (
        0.0 < e.krw_price < _INF
        and 0.0 < e.usd_price < _INF
        and 0.0 < e.fx < _INF
        and (premium is None or -_INF < premium < _INF)
    ):
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
