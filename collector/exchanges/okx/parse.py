"""Handlers of OKX's market-data pushes: trades, tickers, candles, derivatives and liquidations.

Each handler decodes the frame once with the decoder of its channel (built at import) and
appends events to ``out``. Order books are in :mod:`.books`; routing, instruments and
connections in :mod:`.adapter`.

Units: trade and liquidation amounts are base units (``sz`` is contracts on SWAP/FUTURES:
linear ``contracts * ctVal``, inverse ``contracts * ctVal / price``); ticker sizes are
what OKX sends, contracts on derivatives like the book; open interest is base units
(``oiCcy``) and its value is in the quote currency.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from ...models import Candle, Liquidation, Side, Ticker, Trade
from ...validate import invalid
from ..base import Adapter, Output
from ..derivatives import DerivativeTickers
from .instruments import CANDLE_BARS, Market
from .schemas import (
    CandleRow,
    FundingRateData,
    IndexTickerData,
    LiquidationData,
    MarkPriceData,
    Num,
    OpenInterestData,
    Push,
    TickerData,
    TradeData,
)

if TYPE_CHECKING:
    from .fast import FastRoutes

__all__ = ["SIDES", "Handler", "StreamParsers"]

Handler = Callable[[str, str, str | bytes, float, Output], None]
"""A channel's handler: ``(conn, channel, frame, received, out)``."""

_trades = msgspec.json.Decoder(Push[list[TradeData]], strict=False)
_tickers = msgspec.json.Decoder(Push[list[TickerData]], strict=False)
_candles = msgspec.json.Decoder(Push[list[CandleRow]], strict=False)
_marks = msgspec.json.Decoder(Push[list[MarkPriceData]], strict=False)
_indexes = msgspec.json.Decoder(Push[list[IndexTickerData]], strict=False)
_interest = msgspec.json.Decoder(Push[list[OpenInterestData]], strict=False)
_funding = msgspec.json.Decoder(Push[list[FundingRateData]], strict=False)
_liquidations = msgspec.json.Decoder(Push[list[LiquidationData]], strict=False)

SIDES: dict[str, Side] = {"buy": "buy", "sell": "sell"}
"""A trade's (the taker's) or a liquidation order's ``side``."""


class StreamParsers(Adapter):
    """Trades, tickers, candles and the derivative channels of the OKX adapter (a mixin of it)."""

    _markets: dict[str, Market]
    _indexes: set[str]
    _derivatives: DerivativeTickers
    _index_members: dict[str, set[str]]
    _index_prices: dict[str, float]
    _interest_base: dict[str, float]
    _liquidation_symbols: set[str] | None
    _fast: FastRoutes

    def _market(self, conn: str, native: str, received: float, out: Output) -> Market | None:
        market = self._markets.get(native)
        if market is None:
            out.append(self.error(conn, "unknown_symbol", native[:100], received))
        return market

    # -- trades, tickers, candles ----------------------------------------------------------------

    def _on_trades(self, conn: str, channel: str, frame: str | bytes, received: float, out: Output) -> None:
        push = _trades.decode(frame)
        market = self._market(conn, push.arg.instId, received, out)
        if market is None:
            return
        symbol = market.symbol
        spot = market.kind == "spot"
        for t in push.data:
            side = SIDES.get(t.side)
            if side is None:
                out.append(self.error(conn, "malformed", f"{channel}: side {t.side[:20]!r}", received, symbol))
                continue
            # "sz: for FUTURES/SWAP/OPTION, the unit is contract": report base units.
            amount = t.sz if spot else market.base_units(t.sz, t.px)
            out.append(Trade(self.id, symbol, t.ts / 1000.0, received, t.px, amount, side, t.tradeId))
        if channel == "trades":
            self._fast.trades(market)

    def _on_ticker(self, conn: str, channel: str, frame: str | bytes, received: float, out: Output) -> None:
        push = _tickers.decode(frame)
        market = self._market(conn, push.arg.instId, received, out)
        if market is None:
            return
        for d in push.data:
            out.append(self._ticker(market, d, received))
        self._fast.tickers(market)

    def _ticker(self, market: Market, d: TickerData, received: float) -> Ticker:
        # "vol24h: contracts on derivatives, base on spot; volCcy24h: base on derivatives, quote on spot."
        if market.kind == "spot":
            volume, quote_volume = _size(d.vol24h), _size(d.volCcy24h)
        else:
            volume = _size(d.volCcy24h)
            contracts = _size(d.vol24h)
            # Inverse contracts are worth ctVal USD each: their count is the quote volume.
            quote_volume = contracts * market.ct if market.inverse and contracts is not None else None
        return Ticker(
            self.id,
            market.symbol,
            d.ts / 1000.0,
            received,
            _price(d.bidPx),
            _size(d.bidSz),
            _price(d.askPx),
            _size(d.askSz),
            last=_price(d.last),
            open=_price(d.open24h),
            high=_price(d.high24h),
            low=_price(d.low24h),
            volume=volume,
            quote_volume=quote_volume,
        )

    def _on_candles(self, conn: str, channel: str, frame: str | bytes, received: float, out: Output) -> None:
        push = _candles.decode(frame)
        market = self._market(conn, push.arg.instId, received, out)
        if market is None:
            return
        interval, length = CANDLE_BARS[channel[6:]]
        spot = market.kind == "spot"
        for k in push.data:
            # "vol: contracts on derivatives, base on spot; volCcy: base on derivatives."
            if spot:
                volume = k.vol
            elif k.volCcy is not None:
                volume = k.volCcy
            else:
                volume = market.base_units(k.vol, k.c)
            start = k.ts / 1000.0
            out.append(
                Candle(
                    self.id,
                    market.symbol,
                    None,  # OKX sends only the bar's start
                    received,
                    interval,
                    start,
                    start + length / 1000.0,
                    k.o,
                    k.h,
                    k.l,
                    k.c,
                    volume,
                    None,
                    k.confirm == "1",
                )
            )

    # -- derivatives: mark, index, funding, open interest ----------------------------------------

    def _derivative(self, conn: str, native: str, received: float, out: Output) -> Market | None:
        """The contract a derivative push names (spot ids are errors here), joined to its index."""
        market = self._market(conn, native, received, out)
        if market is None:
            return None
        if market.kind == "spot":
            out.append(self.error(conn, "unknown_symbol", f"{native[:100]} is no contract", received))
            return None
        self._index_members.setdefault(market.underlying, set()).add(market.symbol)
        return market

    def _emit(self, market: Market, ts: float | None, received: float, out: Output, **fields: float | None) -> None:
        fields.setdefault("index_price", self._index_prices.get(market.underlying))
        event = self._derivatives.update(market.symbol, ts, received, **fields)
        if event is not None:
            out.append(event)

    def _on_mark_price(self, conn: str, channel: str, frame: str | bytes, received: float, out: Output) -> None:
        for d in _marks.decode(frame).data:
            market = self._derivative(conn, d.instId, received, out)
            if market is None:
                continue
            value = None
            base = self._interest_base.get(market.symbol)
            if base is not None and not market.inverse:
                value = base * d.markPx  # a linear contract's open interest is worth oiCcy * mark in quote
            self._emit(market, d.ts / 1000.0, received, out, mark_price=d.markPx, open_interest_value=value)

    def _on_funding_rate(self, conn: str, channel: str, frame: str | bytes, received: float, out: Output) -> None:
        for d in _funding.decode(frame).data:
            market = self._derivative(conn, d.instId, received, out)
            if market is None:
                continue
            try:
                predicted = _rate(d.nextFundingRate)
            except ValueError as exc:
                out.append(self.error(conn, "malformed", f"funding-rate: {exc}", received, market.symbol, frame=frame))
                continue
            # "fundingTime: settlement time" of the current fundingRate; nextFundingTime is the period after.
            self._emit(
                market,
                d.ts / 1000.0 if d.ts is not None else None,
                received,
                out,
                funding_rate=d.fundingRate,
                next_funding_time=d.fundingTime / 1000.0,
                predicted_funding_rate=predicted,
            )

    def _on_open_interest(self, conn: str, channel: str, frame: str | bytes, received: float, out: Output) -> None:
        for d in _interest.decode(frame).data:
            market = self._derivative(conn, d.instId, received, out)
            if market is None:
                continue
            try:
                base = _text_size(d.oiCcy)
            except ValueError as exc:
                out.append(self.error(conn, "malformed", f"open-interest: {exc}", received, market.symbol, frame=frame))
                continue
            latest = self._derivatives.latest(market.symbol)
            mark = latest.mark_price if latest is not None else None
            value: float | None
            if market.inverse:
                usd = value = d.oi * market.ct  # contracts worth ctVal USD each
                if base is None and mark is not None:
                    base = usd / mark
            else:
                if base is None:
                    base = market.base_units(d.oi, 1.0)
                value = base * mark if mark is not None else None
            if base is not None and 0.0 <= base < math.inf:
                self._interest_base[market.symbol] = base
            self._emit(market, d.ts / 1000.0, received, out, open_interest=base, open_interest_value=value)

    def _on_index(self, conn: str, channel: str, frame: str | bytes, received: float, out: Output) -> None:
        for d in _indexes.decode(frame).data:
            # index-tickers names an index ("BTC-USDT", the uly of its contracts), not an instrument.
            if d.instId not in self._indexes:
                out.append(self.error(conn, "unknown_symbol", f"index {d.instId[:100]}", received))
                continue
            self._index_prices[d.instId] = d.idxPx
            for symbol in sorted(self._index_members.get(d.instId, ())):
                event = self._derivatives.update(symbol, d.ts / 1000.0, received, index_price=d.idxPx)
                if event is not None:
                    out.append(event)

    # -- liquidations ----------------------------------------------------------------------------

    def _on_liquidations(self, conn: str, channel: str, frame: str | bytes, received: float, out: Output) -> None:
        push = _liquidations.decode(frame)
        wanted = self._liquidation_symbols
        for d in push.data:
            market = self._market(conn, d.instId, received, out)
            if market is None:
                continue
            if market.kind == "spot":
                # MARGIN liquidations (sizes in base units, no order side): not a contract's.
                self.control("liquidation-orders.margin")
                continue
            for detail in d.details:
                side = SIDES.get(detail.side)
                price, contracts = _decimal(detail.bkPx), _decimal(detail.sz)
                if side is None or price is None or contracts is None:
                    what = f"side {detail.side[:20]!r} bkPx {detail.bkPx[:30]!r} sz {detail.sz[:30]!r}"
                    out.append(self.error(conn, "malformed", f"liquidation-orders: {what}", received, market.symbol))
                    continue
                amount = market.base_units(contracts, price)
                event = Liquidation(self.id, market.symbol, detail.ts / 1000.0, received, side, price, amount)
                if wanted is not None and market.symbol not in wanted and invalid(event) is None:
                    # The channel covers every contract of the type; only subscribed symbols are reported.
                    self.stats["ignored.liquidation_other"] += 1
                    continue
                out.append(event)


def _price(value: Num) -> float | None:
    """A ticker price; OKX's ``""`` (no value) and ``"0"`` (an empty book side) are ``None``."""
    return value or None


def _size(value: Num) -> float | None:
    """A ticker size or volume; ``""`` is ``None``."""
    return None if value == "" else value


def _text_size(text: str) -> float | None:
    """A size sent as a string that may be ``""`` (``oiCcy``); ``ValueError`` if it is no number."""
    return float(text) if text else None


def _decimal(text: str) -> float | None:
    """A decimal string, ``None`` when it is not one (impossible values are left to the boundary)."""
    try:
        return float(text)
    except ValueError:
        return None


def _rate(text: str) -> float | None:
    """A funding rate that may be ``""``; must be finite."""
    if not text:
        return None
    value = float(text)
    if not -math.inf < value < math.inf:
        raise ValueError(f"rate {text[:30]!r}")
    return value
