"""Bybit tickers, best bid/offer, derivative tickers and liquidations.

- ``tickers.<s>``: spot sends whole tickers without bid/ask; linear/inverse send a snapshot
  and then deltas holding only the changed fields ("a missing field means unchanged"),
  merged here into a cached full ticker. One merged ticker gives both the ``ticker``
  event and, on derivatives, the ``derivative_ticker`` (mark, index, funding, open
  interest), emitted only when one of its fields changed.
- ``orderbook.1.<s>``: the spot best bid/offer, which spot tickers lack.
- ``allLiquidation.<s>``: forced closes; ``S`` is the liquidated *position's* side.

Units: ``open_interest`` is in the base coin on linear contracts and in USD contracts on
inverse ones; ``open_interest_value`` is in the quote currency (USDT/USDC on linear,
USD on inverse, where it is the contracts times their 1 USD face value).
"""

from __future__ import annotations

import math

import msgspec

from ...models import DerivativeTicker, Liquidation, Side, Ticker
from ..base import Adapter, Output
from ..derivatives import DerivativeTickers
from .schemas import LiquidationData, OrderbookData, Push, TickerData

__all__ = ["TickerParsers"]

_ticker = msgspec.json.Decoder(Push[TickerData], strict=False)
_liquidations = msgspec.json.Decoder(Push[list[LiquidationData]], strict=False)

# Best bid/offer from orderbook.1: (u, bid, bid size, ask, ask size).
Bbo = tuple[int, float | None, float | None, float | None, float | None]

# "When you receive a Buy update, this means that a long position has been liquidated":
# the liquidation order of a long sells.
_LIQUIDATION_SIDE: dict[str, Side] = {"Buy": "sell", "Sell": "buy"}
# Ticker fields that may be negative; every other value is a price, size or time.
_SIGNED = frozenset({"fundingRate"})


class TickerParsers(Adapter):
    """Ticker, BBO and derivative handlers of :class:`~collector.exchanges.bybit.adapter.BybitAdapter`.

    The adapter owns the state: ``_tickers`` (merged ticker per symbol), ``_bbo`` (spot
    best bid/offer), ``_conn_tickers`` (symbols with ticker state per connection, dropped
    on disconnect), ``_derivatives`` and ``_wants`` (the channels planned per symbol;
    empty in replay, where every event a frame carries is emitted).
    """

    _tickers: dict[str, TickerData]
    _bbo: dict[str, Bbo]
    _conn_tickers: dict[str, set[str]]
    _derivatives: DerivativeTickers
    _wants: dict[str, set[str]]

    def _wanted(self, symbol: str, channel: str) -> bool:
        wants = self._wants
        return not wants or channel in wants.get(symbol, ())

    def _on_ticker(
        self, conn: str, category: str, symbol: str, param: str, frame: str | bytes, received: float, out: Output
    ) -> None:
        env = _ticker.decode(frame)
        data = env.data
        bad = _unreadable(data)
        if bad is not None:
            # Check before merging: a bad value merged into the cache would break every later delta.
            out.append(self.error(conn, "malformed", f"{env.topic}: {bad}", received, symbol, frame=frame))
            return
        if env.type == "delta":
            cached = self._tickers.get(symbol)
            if cached is None:
                # "snapshot then delta messages carrying only changed fields": without the
                # snapshot there is nothing to merge into; the next snapshot restarts it.
                self.control("ticker_delta_before_snapshot")
                return
            _merge(cached, data)
        else:
            cached = self._tickers[symbol] = data
            self._conn_tickers.setdefault(conn, set()).add(symbol)
        if self._wanted(symbol, "ticker"):
            out.append(self._ticker_event(category, symbol, cached, env.ts, received))
        if category != "spot" and self._wanted(symbol, "funding"):
            event = self._derivative_event(category, symbol, cached, env.ts, received)
            if event is not None:
                out.append(event)

    def _ticker_event(
        self, category: str, symbol: str, t: TickerData | None, ts: int | None, received: float
    ) -> Ticker:
        if category == "spot":
            bbo = self._bbo.get(symbol)
            bid, bid_size, ask, ask_size = bbo[1:] if bbo is not None else (None, None, None, None)
        elif t is not None:
            bid, bid_size = _price(t.bid1Price), _num(t.bid1Size)
            ask, ask_size = _price(t.ask1Price), _num(t.ask1Size)
        else:
            bid = bid_size = ask = ask_size = None
        if t is None:
            return Ticker(self.id, symbol, _seconds(ts), received, bid, bid_size, ask, ask_size)
        volume, quote_volume = _num(t.volume24h), _num(t.turnover24h)
        if category == "inverse":
            # Inverse volume24h counts USD contracts and turnover24h is in the base coin.
            volume, quote_volume = quote_volume, volume
        return Ticker(
            self.id,
            symbol,
            _seconds(ts),
            received,
            bid,
            bid_size,
            ask,
            ask_size,
            last=_price(t.lastPrice),
            open=_price(t.prevPrice24h),
            high=_price(t.highPrice24h),
            low=_price(t.lowPrice24h),
            volume=volume,
            quote_volume=quote_volume,
        )

    def _derivative_event(
        self, category: str, symbol: str, t: TickerData, ts: int | None, received: float
    ) -> DerivativeTicker | None:
        interest = _num(t.openInterest)
        if category == "inverse":
            # Inverse open interest counts contracts of 1 USD face value: their value in USD.
            value = interest * self.instruments.by_symbol(symbol).contract_size if interest is not None else None
        else:
            value = _num(t.openInterestValue)
        # Dated futures send nextFundingTime "0": they have no funding.
        next_funding = int(t.nextFundingTime) / 1000.0 if t.nextFundingTime and t.nextFundingTime != "0" else None
        return self._derivatives.update(
            symbol,
            _seconds(ts),
            received,
            mark_price=_price(t.markPrice),
            index_price=_price(t.indexPrice),
            funding_rate=float(t.fundingRate) if t.fundingRate else None,
            next_funding_time=next_funding,
            open_interest=interest,
            open_interest_value=value,
            last_price=_price(t.lastPrice),
        )

    def _on_bbo(self, conn: str, symbol: str, d: OrderbookData, ts: int | None, received: float, out: Output) -> None:
        prev = self._bbo.get(symbol)
        if prev is not None and prev[0] == d.u:
            # "If unchanged for 3 s the same snapshot is re-sent with the same u."
            self.control("bbo_repeat")
            return
        bid, bid_size = d.b[0] if d.b else (None, None)
        ask, ask_size = d.a[0] if d.a else (None, None)
        self._bbo[symbol] = (d.u, bid, bid_size, ask, ask_size)
        self._conn_tickers.setdefault(conn, set()).add(symbol)
        if self._wanted(symbol, "ticker"):
            out.append(self._ticker_event("spot", symbol, self._tickers.get(symbol), ts, received))

    def _on_liquidation(
        self, conn: str, category: str, symbol: str, param: str, frame: str | bytes, received: float, out: Output
    ) -> None:
        env = _liquidations.decode(frame)
        inverse = category == "inverse"
        for item in env.data:
            side = _LIQUIDATION_SIDE.get(item.S)
            if side is None:
                out.append(self.error(conn, "malformed", f"{env.topic}: side {item.S[:20]!r}", received, symbol))
                continue
            # Inverse sizes are USD contracts of 1 USD each; report base units.
            amount = item.v / item.p if inverse else item.v
            out.append(Liquidation(self.id, symbol, item.T / 1000.0, received, side, item.p, amount))


def _merge(cached: TickerData, delta: TickerData) -> None:
    """Apply a ticker delta: "a missing field means unchanged"."""
    for name in TickerData.__struct_fields__:
        value = getattr(delta, name)
        if value is not None:
            setattr(cached, name, value)


def _num(text: str | None) -> float | None:
    """A ticker size or volume as a float; Bybit's ``""`` means "no value"."""
    return float(text) if text else None


def _price(text: str | None) -> float | None:
    """A ticker price as a float; ``""`` and ``"0"`` (an empty book side) mean "no value"."""
    return (float(text) or None) if text else None


def _unreadable(data: TickerData) -> str | None:
    """The first ticker field that is not a finite decimal, non-negative unless it is a rate
    (or ``""``), or ``None``."""
    for name in TickerData.__struct_fields__:
        value = getattr(data, name)
        if value and name != "symbol":
            try:
                number = float(value)
            except ValueError:
                return f"{name} {value[:30]!r}"
            if not math.isfinite(number) or (number < 0.0 and name not in _SIGNED):
                return f"{name} {value[:30]!r}"
    return None


def _seconds(ms: int | None) -> float | None:
    return ms / 1000.0 if ms is not None else None
