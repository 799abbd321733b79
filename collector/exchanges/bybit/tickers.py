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
from msgspec.structs import astuple

from ...models import DerivativeTicker, Liquidation, Side, Ticker
from ..base import Adapter, Output
from ..derivatives import DerivativeTickers
from .schemas import LiquidationData, OrderbookData, Push, TickerData, TickerNumbers

__all__ = ["DELTA_FIELDS", "TickerParsers", "Values", "ticker_deltas"]

_ticker = msgspec.json.Decoder(Push[TickerData], strict=False)
_liquidations = msgspec.json.Decoder(Push[list[LiquidationData]], strict=False)
ticker_deltas = msgspec.json.Decoder(Push[TickerNumbers], strict=False)
"""The fast path's decoder of derivative ticker deltas (see ``TickerParsers._on_ticker_delta``)."""
DELTA_FIELDS = TickerNumbers.__struct_fields__[1:]
"""The value fields of a ticker delta, in the order ``_on_ticker_delta`` takes them."""

# Best bid/offer from orderbook.1: (u, bid, bid size, ask, ask size).
Bbo = tuple[int, float | None, float | None, float | None, float | None]

# "When you receive a Buy update, this means that a long position has been liquidated":
# the liquidation order of a long sells.
_LIQUIDATION_SIDE: dict[str, Side] = {"Buy": "sell", "Sell": "buy"}
# A merged ticker: TickerData's fields by position, as floats (None: no value).
Values = list[float | None]
_FIELDS = TickerData.__struct_fields__
_LAST, _OPEN, _HIGH, _LOW, _VOLUME, _TURNOVER = (
    _FIELDS.index(n) for n in ("lastPrice", "prevPrice24h", "highPrice24h", "lowPrice24h", "volume24h", "turnover24h")
)
_BID, _BID_SIZE, _ASK, _ASK_SIZE = (_FIELDS.index(n) for n in ("bid1Price", "bid1Size", "ask1Price", "ask1Size"))
_MARK, _INDEX, _NEXT_FUNDING = (_FIELDS.index(n) for n in ("markPrice", "indexPrice", "nextFundingTime"))
_INTEREST, _INTEREST_VALUE = _FIELDS.index("openInterest"), _FIELDS.index("openInterestValue")
# TickerData declares the derivative ticker's fields last, from markPrice on.
_DERIVATIVE = _MARK
# The one ticker field that may be negative; every other value is a price, size or time.
_FUNDING = _FIELDS.index("fundingRate")


class TickerParsers(Adapter):
    """Ticker, BBO and derivative handlers of :class:`~collector.exchanges.bybit.adapter.BybitAdapter`.

    The adapter owns the state: ``_tickers`` (merged ticker per symbol), ``_bbo`` (spot
    best bid/offer), ``_conn_tickers`` (symbols with ticker state per connection, dropped
    on disconnect), ``_derivatives`` and ``_wants`` (the channels planned per symbol;
    empty in replay, where every event a frame carries is emitted).
    """

    _tickers: dict[str, Values]
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
        if env.type == "delta":
            cached = self._tickers.get(symbol)
            if cached is None:
                # "snapshot then delta messages carrying only changed fields": without the
                # snapshot there is nothing to merge into; the next snapshot restarts it.
                self.control("ticker_delta_before_snapshot")
                return
            values = cached.copy()
        else:
            cached = None
            values = [None] * len(_FIELDS)
            self._conn_tickers.setdefault(conn, set()).add(symbol)
        bad = _read(env.data, values)
        if bad is not None:
            # Checked before it is kept: a bad value merged into the cache would break every later delta.
            out.append(self.error(conn, "malformed", f"{env.topic}: {bad}", received, symbol, frame=frame))
            return
        self._emit_ticker(out, category, symbol, values, cached, env.ts, received)

    def _on_ticker_delta(
        self, out: Output, category: str, symbol: str, ts: int | None, received: float, *fields: float | None
    ) -> None:
        """A derivative ticker delta from the fast path: ``fields`` are :class:`TickerNumbers`'
        values after the symbol, decoded and checked as numbers. Merged and emitted as
        :meth:`_on_ticker` does."""
        cached = self._tickers.get(symbol)
        if cached is None:
            # A delta before this connection's snapshot (after a reconnect): nothing to merge into.
            self.stats.count("ignored.ticker_delta_before_snapshot")
            return
        values = cached.copy()
        for i, value in enumerate(fields, 1):  # position 0 is the symbol, not a value
            if value is not None:
                values[i] = value
        self._emit_ticker(out, category, symbol, values, cached, ts, received)

    def _emit_ticker(
        self,
        out: Output,
        category: str,
        symbol: str,
        values: Values,
        cached: Values | None,
        ts: int | None,
        received: float,
    ) -> None:
        """Keep the merged ``values`` and emit what they give: the ticker, and on derivatives the
        derivative ticker when one of its fields differs from ``cached`` (the values merged into)."""
        self._tickers[symbol] = values
        if self._wanted(symbol, "ticker"):
            out.append(self._ticker_event(category, symbol, values, ts, received))
        if category == "spot" or not self._wanted(symbol, "funding"):
            return
        # Most deltas move only the best bid/offer: no derivative field changed, nothing to merge.
        if cached is None or values[_DERIVATIVE:] != cached[_DERIVATIVE:] or values[_LAST] != cached[_LAST]:
            event = self._derivative_event(category, symbol, values, ts, received)
            if event is not None:
                out.append(event)

    def _ticker_event(self, category: str, symbol: str, v: Values | None, ts: int | None, received: float) -> Ticker:
        # Prices of 0 (an empty book side) mean "no value" (``or None``); sizes of 0 are sizes.
        if category == "spot":
            bbo = self._bbo.get(symbol)
            bid, bid_size, ask, ask_size = bbo[1:] if bbo is not None else (None, None, None, None)
        elif v is not None:
            bid, bid_size, ask, ask_size = v[_BID] or None, v[_BID_SIZE], v[_ASK] or None, v[_ASK_SIZE]
        else:
            bid = bid_size = ask = ask_size = None
        seconds = ts / 1000.0 if ts is not None else None
        if v is None:
            return Ticker(self.id, symbol, seconds, received, bid, bid_size, ask, ask_size)
        volume, quote_volume = v[_VOLUME], v[_TURNOVER]
        if category == "inverse":
            # Inverse volume24h counts USD contracts and turnover24h is in the base coin.
            volume, quote_volume = quote_volume, volume
        return Ticker(
            self.id,
            symbol,
            seconds,
            received,
            bid,
            bid_size,
            ask,
            ask_size,
            v[_LAST] or None,
            v[_OPEN] or None,
            v[_HIGH] or None,
            v[_LOW] or None,
            volume,
            quote_volume,
        )

    def _derivative_event(
        self, category: str, symbol: str, v: Values, ts: int | None, received: float
    ) -> DerivativeTicker | None:
        interest = v[_INTEREST]
        if category == "inverse":
            # Inverse open interest counts contracts of 1 USD face value: their value in USD.
            value = interest * self.instruments.by_symbol(symbol).contract_size if interest is not None else None
        else:
            value = v[_INTEREST_VALUE]
        # Dated futures send nextFundingTime "0": they have no funding.
        next_funding = v[_NEXT_FUNDING]
        return self._derivatives.merge(
            symbol,
            ts / 1000.0 if ts is not None else None,
            received,
            (
                v[_MARK] or None,
                v[_INDEX] or None,
                v[_FUNDING],
                next_funding / 1000.0 if next_funding else None,
                None,  # Bybit sends no predicted rate
                interest,
                value,
                v[_LAST] or None,
            ),
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


def _read(data: TickerData, values: Values) -> str | None:
    """Read the fields ``data`` carries into ``values`` (by position in :class:`TickerData`):
    ``""`` ("no value") as ``None``, others as floats. Returns the first field that is not a
    finite decimal, non-negative unless it is the funding rate, and leaves ``values`` half
    written then (the caller keeps it only when this returns ``None``)."""
    # A field absent from a delta is None here: "a missing field means unchanged".
    for i, text in enumerate(astuple(data)):
        if text is None or not i:  # 0: the symbol
            continue
        if type(text) is float:
            number = text
        elif not text:
            values[i] = None
            continue
        else:
            try:
                number = float(text)
            except ValueError:
                return f"{_FIELDS[i]} {str(text)[:30]!r}"
        if not math.isfinite(number) or (number < 0.0 and i != _FUNDING):
            return f"{_FIELDS[i]} {str(text)[:30]!r}"
        values[i] = number
    return None
