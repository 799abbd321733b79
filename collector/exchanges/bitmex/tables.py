"""BitMEX market tables into events: ``trade``, ``quote``, ``instrument``, ``tradeBin*``, ``liquidation``.

- ``trade``: one :class:`~collector.models.Trade` per row; ``side`` is the taker's, ``size``
  contracts converted to base units (:class:`~.instruments.Contract`). The ``partial`` holds
  the latest trades: those newer than the last one emitted for the symbol are emitted
  (after a reconnect, only what was missed).
- ``quote``: one :class:`~collector.models.Ticker` per row (best bid/ask, sizes in
  contracts); ``last`` and the 24 h figures come from the ``instrument`` table when it
  flows too.
- ``instrument``: the ``partial`` image and sparse ``update`` rows (changed fields only) are
  merged into one derivative ticker per symbol (:class:`~collector.exchanges.derivatives.DerivativeTickers`
  emits when a field changed): ``markPrice``, the index (``indicativeSettlePrice``),
  ``fundingRate``, ``fundingTimestamp``, ``indicativeFundingRate`` (predicted), open interest
  in contracts and its quote value.
- ``tradeBin1m``/``5m``/``1h``/``1d``: closed bars; "timestamps ... are the **end** of the period".
- ``liquidation``: an ``insert`` is a new liquidation order (side, price, ``leavesQty``
  in base units); its ``update``/``delete`` rows track it and give no new event.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC
from typing import TYPE_CHECKING

import msgspec

from ...models import Candle, Liquidation, Side, Ticker, Trade
from ..base import Output
from .instruments import INVERSE, LINEAR, NOTIONAL, Contract
from .schemas import InstrumentRow, LiquidationRow, QuoteRow, Table, TradeBinRow, TradeRow

if TYPE_CHECKING:
    from .adapter import BitmexAdapter

__all__ = ["BINS", "Tables"]

BINS = {
    "tradeBin1m": ("1m", 60.0),
    "tradeBin5m": ("5m", 300.0),
    "tradeBin1h": ("1h", 3600.0),
    "tradeBin1d": ("1d", 86400.0),
}
"""Candle tables: unified interval and bar length in seconds."""

_SIDES: dict[str, Side] = {"Buy": "buy", "Sell": "sell"}
_trades = msgspec.json.Decoder(Table[TradeRow], strict=False)
_quotes = msgspec.json.Decoder(Table[QuoteRow], strict=False)
_instruments = msgspec.json.Decoder(Table[InstrumentRow], strict=False)
_bins = msgspec.json.Decoder(Table[TradeBinRow], strict=False)
_liquidations = msgspec.json.Decoder(Table[LiquidationRow], strict=False)
_PRICES = ("lastPrice", "prevPrice24h", "highPrice", "lowPrice", "markPrice", "indicativeSettlePrice", "indexPrice")
_SEEN_LIQUIDATIONS = 4096  # liquidation order ids remembered, so a partial does not repeat them

# Ticker statistics from the instrument table: last, open (24 h ago), high, low, volume, quote volume.
_Stats = list[float | None]


def _positive(value: float | None) -> float | None:
    """A price from the instrument image: ``0`` means "none yet"."""
    return value if value else None


class Tables:
    """The non-book tables of one adapter (see the module docstring)."""

    def __init__(self, adapter: BitmexAdapter) -> None:
        self.adapter = adapter
        self.ticker_stats: dict[str, _Stats] = {}  # symbol -> ticker statistics from `instrument`
        # symbol -> (time of the last trade emitted, ids of the trades emitted at that time): one
        # taker order fills several makers at one time, and a partial repeats all of them.
        self.last_trade: dict[str, tuple[float, set[str]]] = {}
        self.last_bin: dict[tuple[str, str], float] = {}  # (symbol, interval) -> end of the last bar emitted
        self.quanto: dict[str, float] = {}  # symbol -> base units per contract at its last trade
        self._liquidations: deque[str] = deque(maxlen=_SEEN_LIQUIDATIONS)
        self._liquidation_ids: set[str] = set()

    def _contract(self, conn: str, table: str, native: str, received: float, out: Output) -> Contract | None:
        contract = self.adapter.contracts.get(native)
        if contract is None:
            out.append(self.adapter.error(conn, "unknown_symbol", f"{table} {native[:100]}", received))
        return contract

    # -- trade ----------------------------------------------------------------------------------

    def trades(self, conn: str, table: str, frame: str | bytes, received: float, out: Output) -> None:
        msg = _trades.decode(frame)
        exchange = self.adapter.id
        partial = msg.action == "partial"
        last_trade = self.last_trade
        native = ""
        contract: Contract | None = None
        stamp = None
        ts = 0.0
        for r in msg.data:
            if r.symbol != native:
                native = r.symbol
                contract = self._contract(conn, table, native, received, out)
            if contract is None:
                continue
            symbol = contract.symbol
            side = _SIDES.get(r.side)
            if side is None:
                out.append(self.adapter.error(conn, "malformed", f"trade side {r.side[:20]!r}", received, symbol))
                continue
            if r.timestamp != stamp:
                # The rows of one match share their time: convert it once.
                stamp = r.timestamp
                ts = stamp.timestamp()
            seen = last_trade.get(symbol)
            if partial and seen is not None and (ts < seen[0] or (ts == seen[0] and r.trdMatchID in seen[1])):
                # The image repeats trades already emitted before a reconnect: keep what is newer.
                continue
            price, size = r.price, r.size
            mode = contract.mode
            home = r.homeNotional
            if mode != NOTIONAL and home:
                # "homeNotional = base amount": BitMEX's own figure (an inverse trade's is its
                # grossValue in satoshis, so it differs from size / price in the last digits).
                amount = home
            elif mode == INVERSE:
                amount = size * contract.factor / price
            elif mode == LINEAR:
                amount = size * contract.factor
            else:
                # Quanto: a contract's base amount depends on another price; BitMEX computes it.
                if home is None:
                    out.append(self.adapter.error(conn, "malformed", "quanto trade without homeNotional", received))
                    continue
                amount = home
                if size:
                    self.quanto[symbol] = home / size
            if seen is not None and seen[0] == ts:
                if len(seen[1]) < 10_000:
                    seen[1].add(r.trdMatchID)
            else:
                last_trade[symbol] = (ts, {r.trdMatchID})
            out.append(Trade(exchange, symbol, ts, received, price, amount, side, r.trdMatchID))

    # -- quote ----------------------------------------------------------------------------------

    def quotes(self, conn: str, table: str, frame: str | bytes, received: float, out: Output) -> None:
        msg = _quotes.decode(frame)
        exchange = self.adapter.id
        native = ""
        contract: Contract | None = None
        for r in msg.data:
            if r.symbol != native:
                native = r.symbol
                contract = self._contract(conn, table, native, received, out)
            if contract is None:
                continue
            symbol = contract.symbol
            stats = self.ticker_stats.get(symbol)
            stamp = r.timestamp
            ts = (stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)).timestamp()
            if stats is None:
                out.append(Ticker(exchange, symbol, ts, received, r.bidPrice, r.bidSize, r.askPrice, r.askSize))
            else:
                last, open_, high, low, volume, quote_volume = stats
                out.append(
                    Ticker(
                        exchange,
                        symbol,
                        ts,
                        received,
                        r.bidPrice,
                        r.bidSize,
                        r.askPrice,
                        r.askSize,
                        last,
                        open_,
                        high,
                        low,
                        volume,
                        quote_volume,
                    )
                )

    # -- instrument -----------------------------------------------------------------------------

    def instruments(self, conn: str, table: str, frame: str | bytes, received: float, out: Output) -> None:
        msg = _instruments.decode(frame)
        a = self.adapter
        partial = msg.action == "partial"
        for r in msg.data:
            contract = self._contract(conn, table, r.symbol, received, out)
            if contract is None:
                continue
            symbol = contract.symbol
            bad = next((name for name in _PRICES if (getattr(r, name) or 0.0) < 0.0), None)
            if bad is not None:
                # Check before merging: a bad value merged into the state would spoil every later update.
                out.append(a.error(conn, "malformed", f"instrument {bad} {getattr(r, bad)!r}", received, symbol))
                continue
            if partial:
                # "partial: a table image, replace your data entirely."
                self.ticker_stats.pop(symbol, None)
                a.derivatives.forget(symbol)
            self._merge_stats(symbol, r)
            a.fast.listed(r.symbol, symbol, symbol in self.ticker_stats)
            if a.wants(symbol, "funding"):
                self._derivative(conn, contract, r, received, out)

    def _merge_stats(self, symbol: str, r: InstrumentRow) -> None:
        fresh = (
            _positive(r.lastPrice),
            _positive(r.prevPrice24h),
            _positive(r.highPrice),
            _positive(r.lowPrice),
            r.homeNotional24h,
            r.foreignNotional24h,
        )
        stats = self.ticker_stats.get(symbol)
        if stats is None:
            if any(v is not None for v in fresh):
                self.ticker_stats[symbol] = list(fresh)
            return
        for i, value in enumerate(fresh):
            if value is not None:
                stats[i] = value

    def _derivative(self, conn: str, contract: Contract, r: InstrumentRow, received: float, out: Output) -> None:
        a = self.adapter
        oi = r.openInterest
        if contract.mode == INVERSE:
            value = oi * contract.factor if oi is not None else None  # contracts are worth `factor` USD
        elif contract.value_divisor is not None and r.openValue is not None:
            value = r.openValue / contract.value_divisor  # settled in the quote currency's minor unit
        else:
            value = None  # quanto: worth a price in another currency
        funding_at = r.fundingTimestamp
        index = r.indexPrice if r.indexPrice is not None else r.indicativeSettlePrice
        event = a.derivatives.update(
            contract.symbol,
            r.timestamp.timestamp() if r.timestamp is not None else None,
            received,
            mark_price=_positive(r.markPrice),
            index_price=_positive(index),
            funding_rate=r.fundingRate,
            next_funding_time=funding_at.timestamp() if funding_at is not None else None,
            predicted_funding_rate=r.indicativeFundingRate,
            open_interest=oi,
            open_interest_value=value,
            last_price=_positive(r.lastPrice),
        )
        if event is not None:
            a.ticker_on(conn, contract.symbol)
            out.append(event)

    # -- tradeBin -------------------------------------------------------------------------------

    def bins(self, conn: str, table: str, frame: str | bytes, received: float, out: Output) -> None:
        msg = _bins.decode(frame)
        interval, length = BINS[table]
        exchange = self.adapter.id
        for r in msg.data:
            contract = self._contract(conn, table, r.symbol, received, out)
            if contract is None:
                continue
            symbol = contract.symbol
            o, h, low, c = r.open, r.high, r.low, r.close
            if o is None or h is None or low is None or c is None:
                self.adapter.control("empty_bin")
                continue
            end = r.timestamp.timestamp()
            key = (symbol, interval)
            held = self.last_bin.get(key)
            if held is not None and end <= held:
                continue  # the partial's bar, already emitted before a reconnect
            volume = r.homeNotional
            if volume is None and r.volume is not None:
                volume = contract.base(r.volume, c) if r.volume else 0.0
            if volume is None:
                out.append(self.adapter.error(conn, "malformed", f"{table}: no base volume", received, symbol))
                continue
            self.last_bin[key] = end
            bar = (interval, end - length, end, o, h, low, c, volume, r.trades, True)
            out.append(Candle(exchange, symbol, end, received, *bar))

    # -- liquidation ----------------------------------------------------------------------------

    def liquidations(self, conn: str, table: str, frame: str | bytes, received: float, out: Output) -> None:
        msg = _liquidations.decode(frame)
        a = self.adapter
        if msg.action != "insert" and msg.action != "partial":
            a.control("liquidation_" + ("update" if msg.action == "update" else "delete"))
            return
        for r in msg.data:
            contract = self._contract(conn, table, r.symbol, received, out)
            if contract is None:
                continue
            symbol = contract.symbol
            if r.orderID in self._liquidation_ids:
                continue  # a partial repeating an order already reported
            side = _SIDES.get(r.side or "")
            price, qty = r.price, r.leavesQty
            if side is None or price is None or qty is None:
                detail = f"liquidation {r.orderID[:40]}: no side, price or leavesQty"
                out.append(a.error(conn, "malformed", detail, received, symbol))
                continue
            amount = contract.base(qty, price)
            if amount is None:
                rate = self.quanto.get(symbol)
                if rate is None:
                    detail = f"quanto liquidation of {symbol} before any trade"
                    out.append(a.error(conn, "unconvertible", detail, received, symbol))
                    continue
                amount = qty * rate  # base units per contract at the last trade (BitMEX's homeNotional)
            self._remember(r.orderID)
            out.append(Liquidation(a.id, symbol, None, received, side, price, amount, r.orderID))

    def _remember(self, order_id: str) -> None:
        seen = self._liquidations
        if len(seen) == seen.maxlen:
            self._liquidation_ids.discard(seen[0])
        seen.append(order_id)
        self._liquidation_ids.add(order_id)
