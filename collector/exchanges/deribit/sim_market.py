"""Deribit instruments and payloads for the simulator: names, listing entries, market statistics, data.

:func:`spec_for` turns a unified symbol into a simulated instrument with Deribit's
naming (``BTC-PERPETUAL``, ``BTC_USDC-PERPETUAL``, ``BTC-27DEC24``, ``BTC-27DEC24-100000-C``,
``BTC_USDC``); :class:`DeribitMarket` keeps what tickers, trades and charts report beside
the neutral book; the ``*_data`` functions write the ``data`` of each notification.

Amounts follow Deribit: inverse perpetuals and futures count USD (lots are contracts of
``contract_size`` USD, so an amount is ``lots * contract_size``), options, linear contracts
and spot count the base coin. Option premiums are in the coin with ticks of 0.00001 (the
model walks one tick at a time; real ticks are coarser, which changes nothing a client sees).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from ...errors import UnknownSymbol
from ...simulator.market import CandleState, Fill, InstrumentSpec, SymbolMarket, Update, start_price
from .instruments import strike_text

__all__ = ["DeribitMarket", "Names", "amount_text", "chart_data", "delivery_ms", "listing_entry", "spec_for"]

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_PERPETUAL_MS = 32503708800000  # Deribit lists perpetuals as expiring in the year 3000
_CONTRACT_USD = {"BTC": 10.0}  # other inverse contracts are 1 USD


def delivery_ms(expiry: str) -> int:
    """``YYMMDD`` -> 08:00 UTC of that day in ms, when Deribit's dated instruments expire."""
    return int(datetime.strptime(expiry, "%y%m%d").replace(hour=8, tzinfo=UTC).timestamp() * 1000)


def _dated(expiry: str) -> str:
    """``241227`` -> ``27DEC24`` (days are not zero-padded: ``6AUG21``)."""
    day = datetime.strptime(expiry, "%y%m%d")
    return f"{day.day}{_MONTHS[day.month - 1]}{day:%y}"


class Names:
    """A simulated instrument's Deribit facts beside its :class:`InstrumentSpec`."""

    __slots__ = ("index", "inverse", "kind", "option", "strike")

    def __init__(self, kind: str, inverse: bool, strike: float | None, option: str | None, index: float) -> None:
        self.kind = kind  # future, option, spot
        self.inverse = inverse
        self.strike = strike
        self.option = option  # "call" / "put"
        self.index = index  # an option's underlying index price (USD)


def spec_for(symbol: str, seed: int) -> tuple[InstrumentSpec, Names]:
    """The simulated instrument of a unified symbol; raises :class:`UnknownSymbol` for what Deribit does not list."""
    pair, _, rest = symbol.partition(":")
    base, slash, quote = pair.partition("/")
    parts = rest.split("-") if rest else []
    if not (base and slash and quote) or len(parts) not in (0, 1, 2, 4):
        raise UnknownSymbol(f"deribit: not a unified symbol: {symbol!r}")
    settle = parts[0] if parts else None
    expiry = parts[1] if len(parts) > 1 else None
    strike: float | None = None
    option: str | None = None
    try:
        dated = _dated(expiry) if expiry else ""
        if len(parts) == 4:
            strike = float(parts[2])
            option = {"C": "call", "P": "put"}[parts[3]]
    except (ValueError, KeyError):
        raise UnknownSymbol(f"deribit: not a unified symbol: {symbol!r}") from None
    rng = random.Random(f"{seed}:deribit:{symbol}:spec")
    if settle is None:
        native, kind, inverse = f"{base}_{quote}", "spot", False
    elif settle == base and quote == "USD":
        native, kind, inverse = base, "future", True
    elif settle == quote and quote in ("USDC", "USDT"):
        native, kind, inverse = f"{base}_{quote}", "future", False
    else:
        raise UnknownSymbol(
            f"deribit lists no {symbol!r}; symbols look like BTC/USD:BTC, BTC/USDC:USDC, BTC/USD:BTC-YYMMDD, "
            "BTC/USD:BTC-YYMMDD-STRIKE-C, BTC/USDC"
        )
    if option is not None and strike is not None:
        kind, inverse = "option", False
        native = f"{native}-{dated}-{strike_text(strike).replace('.', 'd')}-{parts[3]}"
        price_decimals, size_decimals = 5, 1
        start_ticks = round(rng.uniform(0.05, 0.2) * 10**price_decimals)
        mean_lots = 50
    else:
        if kind == "future":
            native += f"-{dated}" if dated else "-PERPETUAL"
        price = start_price(base, rng)
        price_decimals = 1 if price >= 100 else 4
        size_decimals = 0 if inverse else (3 if price >= 1000 else 1)
        start_ticks = round(price * 10**price_decimals)
        mean_lots = 300 if inverse else max(1, round(3000.0 / price * 10**size_decimals))
    spec = InstrumentSpec(
        symbol=symbol,
        native=native,
        base=base,
        quote=quote,
        settle=settle,
        expiry=expiry,
        price_decimals=price_decimals,
        size_decimals=size_decimals,
        start_ticks=start_ticks,
        mean_lots=mean_lots,
        # The model's inverse volumes use it: lots * contract_size / price is the base volume.
        contract_size=_CONTRACT_USD.get(base, 1.0) if inverse else 1.0,
    )
    return spec, Names(kind, inverse, strike, option, start_price(base, rng))


def amount_text(spec: InstrumentSpec, names: Names, lots: int) -> str:
    """An amount as Deribit writes it: USD on inverse contracts, the base coin otherwise."""
    if names.inverse:
        return f"{lots * _CONTRACT_USD.get(spec.base, 1.0):.1f}"
    return spec.size(lots)


class DeribitMarket(SymbolMarket):
    """A :class:`SymbolMarket` that also keeps what Deribit's tickers and charts report.

    The 24 h statistics run from the start of the simulation; ``bar_volumes`` are the base
    and quote volumes of each open bar (the model's inverse bookkeeping assumes contracts
    worth ``contract_size`` USD, which holds here too, but a 1 USD contract looks linear to
    it). ``was_bids``/``was_asks`` are the prices held before the last step, which tell a
    ``new`` level from a ``change``.
    """

    def __init__(self, spec: InstrumentSpec, names: Names, rng: random.Random, *, depth: int, start_id: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.names = names
        self.open_ticks = self.high = self.low = spec.start_ticks
        self.volume = 0.0  # base units
        self.volume_quote = 0.0
        self.interest_lots = 40 * spec.mean_lots
        self.was_bids: set[int] = set()
        self.was_asks: set[int] = set()
        self.bar_volumes: dict[tuple[str, int], list[float]] = {}
        self._closed: list[tuple[str, int]] = []  # bars closed by the last step: encoded, then forgotten
        self.ticker_sent = -1_000_000
        self.price_scale = float(10**spec.price_decimals)
        self.size_scale = float(10**spec.size_decimals)
        self._usd = _CONTRACT_USD.get(spec.base, 1.0)

    def base_of(self, f: Fill) -> float:
        """A fill's size in the base coin."""
        if self.names.inverse:
            return f.lots * self._usd * self.price_scale / f.ticks
        return f.lots / self.size_scale

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and update the statistics."""
        for key in self._closed:
            self.bar_volumes.pop(key, None)
        self._closed.clear()
        self.was_bids = set(self.bids)
        self.was_asks = set(self.asks)
        update = super().step(time_ms)
        base = quote = 0.0
        for f in update.fills:
            self.high = max(self.high, f.ticks)
            self.low = min(self.low, f.ticks)
            size = self.base_of(f)
            base += size
            quote += size * f.ticks / self.price_scale
            self.interest_lots += f.lots if f.agg_id % 3 else -min(f.lots, self.interest_lots // 2)
        self.volume += base
        self.volume_quote += quote
        for candle, closed in update.candles:
            key = (candle.interval, candle.start_ms)
            if closed:
                self._closed.append(key)
            else:
                volumes = self.bar_volumes.setdefault(key, [0.0, 0.0])
                volumes[0] += base
                volumes[1] += quote
        return update

    def mark(self) -> float:
        bid, _, ask, _ = self.best()
        return (bid + ask) / 2 / self.price_scale

    def interest(self) -> str:
        """Open interest: USD on inverse contracts, the base coin otherwise."""
        return amount_text(self.spec, self.names, self.interest_lots)


def listing_entry(spec: InstrumentSpec, names: Names, instrument_id: int) -> dict[str, Any]:
    """One ``public/get_instruments`` entry, in today's format."""
    entry: dict[str, Any] = {
        "tick_size": float(spec.tick_size),
        "tick_size_steps": [],
        "taker_commission": 0.0005,
        "maker_commission": 0.0,
        "rfq": False,
        "quote_currency": spec.quote,
        "price_index": f"{spec.base.lower()}_{'usd' if names.inverse or spec.quote == 'USD' else spec.quote.lower()}",
        "min_trade_amount": float(amount_text(spec, names, 1)),
        "kind": names.kind,
        "is_active": True,
        "instrument_name": spec.native,
        "instrument_id": instrument_id,
        "expiration_timestamp": delivery_ms(spec.expiry) if spec.expiry else _PERPETUAL_MS,
        "creation_timestamp": 1534242287000,
        "counter_currency": spec.quote,
        "contract_size": _CONTRACT_USD.get(spec.base, 1.0) if names.inverse else 1.0,
        "block_trade_commission": 0.00025,
        "base_currency": spec.base,
    }
    if names.kind == "spot":
        return entry
    style = "reversed" if names.inverse else "linear"
    entry |= {"settlement_currency": spec.settle, "instrument_type": style}
    if names.kind == "option":
        # An inverse option's premium is quoted in its coin; its strike is in USD.
        entry |= {"settlement_period": "month", "option_type": names.option, "strike": names.strike}
        entry["quote_currency"] = spec.base if spec.settle == spec.base else spec.quote
    else:
        entry |= {"settlement_period": "month" if spec.expiry else "perpetual", "future_type": style}
        entry |= {"max_leverage": 50, "max_liquidation_commission": 0.0075}
    return entry


def trades_data(market: DeribitMarket, fills: list[Fill]) -> str:
    """``data`` of a ``trades`` notification: one trade per fill; every tenth a liquidation."""
    spec, names = market.spec, market.names
    mark = f"{market.mark():.{spec.price_decimals + 2}f}"
    index = f"{names.index:.2f}" if names.kind == "option" else mark  # an option's index is its underlying's
    items = []
    for f in fills:
        direction = "sell" if f.buyer_maker else "buy"
        extra = ',"iv":61.5' if names.kind == "option" else ""
        if f.agg_id % 10 == 0:
            extra += ',"liquidation":"T"'
        elif f.agg_id % 15 == 0:
            extra += ',"liquidation":"M"'
        items.append(
            f'{{"trade_seq":{f.agg_id},"trade_id":"{f.last_id}","timestamp":{f.time_ms},"tick_direction":0,'
            f'"price":{spec.price(f.ticks)},"mark_price":{mark},"instrument_name":"{spec.native}",'
            f'"index_price":{index},"direction":"{direction}","amount":{amount_text(spec, names, f.lots)},'
            f'"contracts":{spec.size(f.lots) if names.inverse else amount_text(spec, names, f.lots)}{extra}}}'
        )
    return "[" + ",".join(items) + "]"


def ticker_data(market: DeribitMarket, time_ms: int) -> str:
    """``data`` of a ``ticker`` notification (perpetuals add funding, options greeks and volatility)."""
    spec, names = market.spec, market.names
    price, scale = spec.price, market.price_scale
    bid, bid_lots, ask, ask_lots = market.best()
    digits = spec.price_decimals + 2
    mark = market.mark()
    index = names.index if names.kind == "option" else mark * 0.9998
    change = 100.0 * (market.last_price - market.open_ticks) / market.open_ticks
    usd = "volume_usd" if names.inverse or spec.quote == "USD" else "volume_notional"
    text = (
        f'{{"timestamp":{time_ms},"stats":{{"volume":{market.volume:.8f},"{usd}":{market.volume_quote:.2f},'
        f'"price_change":{change:.4f},"low":{price(market.low)},"high":{price(market.high)}}},"state":"open",'
        f'"settlement_price":{price(market.open_ticks)},"open_interest":{market.interest()},'
        f'"min_price":{mark * 0.97:.{digits}f},"max_price":{mark * 1.03:.{digits}f},"mark_price":{mark:.{digits}f},'
        f'"last_price":{price(market.last_price)},"instrument_name":"{spec.native}","index_price":{index:.2f},'
        f'"estimated_delivery_price":{index:.2f},"best_bid_price":{price(bid)},'
        f'"best_bid_amount":{amount_text(spec, names, bid_lots)},"best_ask_price":{price(ask)},'
        f'"best_ask_amount":{amount_text(spec, names, ask_lots)}'
    )
    if names.kind == "future" and spec.expiry is None:
        funding = (mark - bid / scale) / mark * 0.001
        text += f',"interest_value":0.0,"funding_8h":{funding * 8:.8f},"current_funding":{funding:.8f}'
    elif names.kind == "option":
        underlying = f"{spec.base}-{spec.native.split('-')[1]}"
        text += (
            f',"underlying_price":{names.index:.2f},"underlying_index":"{underlying}",'
            f'"mark_iv":60.1,"bid_iv":58.2,"ask_iv":62.3,"interest_rate":0.0,'
            f'"greeks":{{"vega":12.5,"theta":-30.1,"rho":5.2,"gamma":0.00002,"delta":0.45}}'
        )
    return text + "}"


def book_levels(market: DeribitMarket, levels: list[tuple[int, int]], held: set[int]) -> str:
    """Changed levels as ``[action, price, amount]``: ``new`` if the price was not held, ``delete`` at 0."""
    spec, names = market.spec, market.names
    out = []
    for ticks, lots in levels:
        if lots == 0:
            out.append(f'["delete",{spec.price(ticks)},0.0]')
        else:
            action = "change" if ticks in held else "new"
            out.append(f'["{action}",{spec.price(ticks)},{amount_text(spec, names, lots)}]')
    return "[" + ",".join(out) + "]"


def chart_data(market: DeribitMarket, candle: CandleState) -> str:
    """``data`` of a ``chart.trades`` notification for the bar ``candle``."""
    spec = market.spec
    # "volume" is in the base coin, "cost" in the quote currency (USD on inverse contracts).
    base, cost = market.bar_volumes.get((candle.interval, candle.start_ms), (0.0, 0.0))
    return (
        f'{{"volume":{base:.8f},"tick":{candle.start_ms},"open":{spec.price(candle.open)},'
        f'"low":{spec.price(candle.low)},"high":{spec.price(candle.high)},"cost":{cost:.4f},'
        f'"close":{spec.price(candle.close)}}}'
    )
