"""Derivative tickers of Gemini perpetuals: mark and index, funding, open interest.

- ``mark_price_updates``: mark price and ``spot_index`` (the index price).
- ``funding_amount_updates``: ``funding_amount`` is "the dollar amount for a Long 1
  position held in the symbol for funding period (1 hour)" (REST docs of the same
  figure): quote currency per unit of the base, so over the mark price it is the funding
  rate of the interval as a fraction. An estimate (``is_realized`` false) is for the
  interval ending at ``funding_date_time``, the next funding time; a realized one is
  history and is only counted.
- ``/v1/riskstats/{symbol}`` (polled, no stream has it): ``open_interest`` in units of the
  base (one contract is one unit) and ``open_interest_notional`` in the quote currency.

All times of the perpetual feeds are nanoseconds.
"""

from __future__ import annotations

import msgspec

from ...stats import Stats
from ..base import Output
from ..derivatives import DerivativeTickers
from .schemas import FundingAmount, MarkPrice, RiskStats

__all__ = ["Perpetuals"]

_risk = msgspec.json.Decoder(RiskStats, strict=False)
_NANOS = 1e9


class Perpetuals:
    """The merged derivative ticker of every perpetual (one event per change)."""

    def __init__(self, exchange: str, stats: Stats) -> None:
        self.tickers = DerivativeTickers(exchange)
        self.stats = stats

    def mark(self, out: Output, symbol: str, msg: MarkPrice, received: float) -> None:
        """Mark and index prices."""
        for c in msg.changes:
            event = self.tickers.update(
                symbol, c.timestamp / _NANOS, received, mark_price=c.mark_price, index_price=c.spot_index
            )
            if event is not None:
                out.append(event)

    def funding(self, out: Output, symbol: str, msg: FundingAmount, received: float) -> None:
        """The funding rate of the current interval and when it is paid."""
        for c in msg.changes:
            if c.is_realized:
                # A settled interval; the estimate of the next one follows.
                self.stats["ignored.realized_funding"] += 1
                continue
            latest = self.tickers.latest(symbol)
            mark = c.mark_price or (latest.mark_price if latest is not None else None)
            rate = c.funding_amount / mark if mark else None
            event = self.tickers.update(
                symbol,
                c.timestamp / _NANOS,
                received,
                funding_rate=rate,
                next_funding_time=c.funding_date_time / _NANOS,
            )
            if event is not None:
                out.append(event)

    def risk(self, out: Output, symbol: str, body: bytes, received: float) -> None:
        """A ``/v1/riskstats`` answer: open interest and its value; raises ``msgspec.DecodeError`` if it is none."""
        stats = _risk.decode(body)
        event = self.tickers.update(
            symbol, None, received, open_interest=stats.open_interest, open_interest_value=stats.open_interest_notional
        )
        if event is not None:
            out.append(event)
