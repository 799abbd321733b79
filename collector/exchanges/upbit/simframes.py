"""Messages of the Upbit quotation protocol, rendered by the simulator from the neutral market.

:class:`Renderer` builds the ``trade``, ``ticker``, ``orderbook`` and ``candle.<unit>``
objects in DEFAULT keys and turns them into frames in either key set; a :class:`Style`
says how an exchange's copy of the protocol differs (Bithumb: string trade ids,
microsecond book times, KST dates, no best bid/offer in trades, grouping level 1).
:class:`QuotationMarket` keeps the statistics a ticker reports.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from ...simulator.market import CandleState, Fill, InstrumentSpec, SymbolMarket, Update

__all__ = [
    "CANDLE_KEYS",
    "SIMPLE_KEYS",
    "TICKER_KEYS",
    "QuotationMarket",
    "Renderer",
    "Style",
    "group",
    "simple",
]

Side = list[tuple[int, int]]

# SIMPLE format abbreviations (upbit.md "Channels"; each type's 축약형 column).
SIMPLE_KEYS = {
    "type": "ty",
    "code": "cd",
    "timestamp": "tms",
    "stream_type": "st",
    "trade_date": "td",
    "trade_time": "ttm",
    "trade_timestamp": "ttms",
    "trade_price": "tp",
    "trade_volume": "tv",
    "ask_bid": "ab",
    "prev_closing_price": "pcp",
    "change": "c",
    "change_price": "cp",
    "sequential_id": "sid",
    "best_ask_price": "bap",
    "best_ask_size": "bas",
    "best_bid_price": "bbp",
    "best_bid_size": "bbs",
    "opening_price": "op",
    "high_price": "hp",
    "low_price": "lp",
    "signed_change_price": "scp",
    "change_rate": "cr",
    "signed_change_rate": "scr",
    "acc_trade_volume": "atv",
    "acc_trade_volume_24h": "atv24h",
    "acc_trade_price": "atp",
    "acc_trade_price_24h": "atp24h",
    "acc_ask_volume": "aav",
    "acc_bid_volume": "abv",
    "highest_52_week_price": "h52wp",
    "highest_52_week_date": "h52wdt",
    "lowest_52_week_price": "l52wp",
    "lowest_52_week_date": "l52wdt",
    "market_state": "ms",
    "is_trading_suspended": "its",
    "delisting_date": "dd",
    "market_warning": "mw",
    "total_ask_size": "tas",
    "total_bid_size": "tbs",
    "orderbook_units": "obu",
    "level": "lv",
    "ask_price": "ap",
    "bid_price": "bp",
    "ask_size": "as",
    "bid_size": "bs",
}
# The ticker's trade date has its own SIMPLE key (the trade's is td).
TICKER_KEYS = {**SIMPLE_KEYS, "trade_date": "tdt"}
CANDLE_KEYS = {
    **SIMPLE_KEYS,
    "candle_date_time_utc": "cdttmu",
    "candle_date_time_kst": "cdttmk",
    "candle_acc_trade_volume": "catv",
    "candle_acc_trade_price": "catp",
}


def simple(obj: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    """``obj`` with its DEFAULT keys (and those of its orderbook units) abbreviated."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "orderbook_units":
            value = [{keys[k]: v for k, v in unit.items()} for unit in value]
        out[keys[key]] = value
    return out


def _round(value: float) -> float:
    # Volumes have 8 decimals; rounding keeps sums printable without float noise.
    return round(value, 8)


def group(levels: Side, unit: int, bids: bool) -> Side:
    """Levels (ticks, lots), best first, summed into price bands of ``unit`` ticks.

    "level=100000으로 요청시 10만원 단위로 ask/bid price가 반환되며, 각 금액대 내에 포진된
    매수/매도 주문량의 합산이 size로 반환됩니다": a bid counts at its band's floor, an ask at
    its band's ceiling, so a grouped book never crosses.
    """
    bands: dict[int, int] = {}
    for price, lots in levels:
        band = (price // unit) * unit if bids else -((-price) // unit) * unit
        bands[band] = bands.get(band, 0) + lots
    return list(bands.items())


@dataclass(frozen=True, slots=True)
class Style:
    """How one exchange's copy of the protocol renders its messages."""

    trade_bbo: bool = True
    """Trades carry ``best_ask_price``/``best_bid_price``/... (Upbit since 2024-11-27)."""
    string_ids: bool = False
    """``sequential_id`` is a string (Bithumb's ids exceed 2**53)."""
    micros_books: bool = False
    """An orderbook ``timestamp`` is a string of microseconds (what Bithumb sends)."""
    local_hours: int = 0
    """Hours ``trade_date``/``trade_time`` are ahead of UTC (Upbit: UTC; Bithumb: KST, +9)."""
    default_level: float = 0.0
    """The ``level`` of an orderbook message without grouping."""


class QuotationMarket(SymbolMarket):
    """A :class:`SymbolMarket` that also keeps the ticker statistics, the last fill and bars.

    The day and the 24 h window both start with the simulation; the start price is the
    previous close. ``bars`` holds the last bar that traded per tracked interval.
    """

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, start_id: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.open_ticks = self.high = self.low = spec.start_ticks
        self.acc_lots = 0
        self.acc_price = 0.0  # quote units
        self.ask_lots = 0  # volume of seller-initiated fills
        self.bid_lots = 0  # volume of buyer-initiated fills
        self.last_fill: Fill | None = None
        self.last_best = self.best()
        self.bars: dict[str, CandleState] = {}

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and update the ticker statistics."""
        update = super().step(time_ms)
        scale = 1.0 / 10.0 ** (self.spec.price_decimals + self.spec.size_decimals)
        for f in update.fills:
            self.high = max(self.high, f.ticks)
            self.low = min(self.low, f.ticks)
            self.acc_lots += f.lots
            self.acc_price += f.ticks * f.lots * scale
            if f.buyer_maker:
                self.ask_lots += f.lots
            else:
                self.bid_lots += f.lots
            self.last_fill = f
        if update.fills:
            self.last_best = update.best
        for bar, closed in update.candles:
            if not closed:
                self.bars[bar.interval] = bar
        return update


Money = Callable[[InstrumentSpec, int], float]


class Renderer:
    """Builds the protocol's messages for one exchange: ``price``/``size`` turn ticks and lots
    into the numbers it sends, ``style`` says where its copy differs."""

    def __init__(self, style: Style, price: Money, size: Money) -> None:
        self.style = style
        self.price = price
        self.size = size

    def frame(self, fmt: str, obj: dict[str, Any], keys: dict[str, str] = SIMPLE_KEYS) -> bytes:
        """The JSON of ``obj`` in ``fmt`` (``SIMPLE``: abbreviated with ``keys``)."""
        return orjson.dumps(simple(obj, keys) if fmt == "SIMPLE" else obj)

    def _local(self, time_ms: int) -> datetime:
        return datetime.fromtimestamp(time_ms / 1000, UTC) + timedelta(hours=self.style.local_hours)

    def _quote(self, spec: InstrumentSpec, amount: float) -> float:
        """A quote amount the market accumulated as ticks times size back in the quote currency
        (ticks of some markets are whole price units of more than 1: KRW 1000 for BTC)."""
        return _round(amount * self.price(spec, 1) * 10**spec.price_decimals)

    def _change(self, market: QuotationMarket, ticks: int) -> tuple[str, float]:
        diff = self.price(market.spec, ticks) - self.price(market.spec, market.open_ticks)
        return ("RISE" if diff > 0 else "FALL" if diff < 0 else "EVEN"), diff

    def trade(
        self, market: QuotationMarket, f: Fill, best: tuple[int, int, int, int], time_ms: int, stream_type: str
    ) -> dict[str, Any]:
        """A ``trade`` message; ``ask_bid`` is the taker side (``BID``: a buyer took the ask)."""
        spec = market.spec
        when = self._local(f.time_ms)
        change, diff = self._change(market, f.ticks)
        trade_id = f.time_ms * 10_000 + f.agg_id % 10_000
        msg: dict[str, Any] = {
            "type": "trade",
            "code": spec.native,
            "timestamp": time_ms,
            "trade_date": f"{when:%Y-%m-%d}",
            "trade_time": f"{when:%H:%M:%S}",
            "trade_timestamp": f.time_ms,
            "trade_price": self.price(spec, f.ticks),
            "trade_volume": self.size(spec, f.lots),
            "ask_bid": "ASK" if f.buyer_maker else "BID",
            "prev_closing_price": self.price(spec, market.open_ticks),
            "change": change,
            "change_price": abs(diff),
            "sequential_id": str(trade_id * 100) if self.style.string_ids else trade_id,
        }
        if self.style.trade_bbo:
            bid, bid_lots, ask, ask_lots = best
            msg["best_ask_price"] = self.price(spec, ask)
            msg["best_ask_size"] = self.size(spec, ask_lots)
            msg["best_bid_price"] = self.price(spec, bid)
            msg["best_bid_size"] = self.size(spec, bid_lots)
        msg["stream_type"] = stream_type
        return msg

    def ticker(self, market: QuotationMarket, time_ms: int, stream_type: str) -> dict[str, Any]:
        """A ``ticker`` message: the last price and the day's statistics."""
        spec = market.spec
        last = market.last_price
        fill = market.last_fill
        traded_ms = fill.time_ms if fill is not None else time_ms
        when = self._local(traded_ms)
        change, diff = self._change(market, last)
        prev_close = self.price(spec, market.open_ticks)
        rate = diff / prev_close
        volume = _round(market.acc_lots / 10**spec.size_decimals)
        quote_volume = self._quote(spec, market.acc_price)
        return {
            "type": "ticker",
            "code": spec.native,
            "opening_price": prev_close,
            "high_price": self.price(spec, market.high),
            "low_price": self.price(spec, market.low),
            "trade_price": self.price(spec, last),
            "prev_closing_price": prev_close,
            "change": change,
            "change_price": abs(diff),
            "signed_change_price": diff,
            "change_rate": _round(abs(rate)),
            "signed_change_rate": _round(rate),
            "trade_volume": self.size(spec, fill.lots) if fill is not None else 0.0,
            "acc_trade_volume": volume,
            "acc_trade_volume_24h": volume,
            "acc_trade_price": quote_volume,
            "acc_trade_price_24h": quote_volume,
            "trade_date": f"{when:%Y%m%d}",
            "trade_time": f"{when:%H%M%S}",
            "trade_timestamp": traded_ms,
            "ask_bid": "ASK" if fill is not None and fill.buyer_maker else "BID",
            "acc_ask_volume": _round(market.ask_lots / 10**spec.size_decimals),
            "acc_bid_volume": _round(market.bid_lots / 10**spec.size_decimals),
            "highest_52_week_price": self.price(spec, market.high),
            "highest_52_week_date": f"{when:%Y-%m-%d}",
            "lowest_52_week_price": self.price(spec, market.low),
            "lowest_52_week_date": f"{when:%Y-%m-%d}",
            "market_state": "ACTIVE",
            "is_trading_suspended": False,
            "delisting_date": None,
            "market_warning": "NONE",
            "timestamp": time_ms,
            "stream_type": stream_type,
        }

    def orderbook(
        self, market: SymbolMarket, levels: tuple[Side, Side], time_ms: int, stream_type: str, level: float
    ) -> dict[str, Any]:
        """An ``orderbook`` message: one unit per row holds the i-th ask and the i-th bid."""
        spec = market.spec
        bids, asks = levels
        units = []
        # A short side is padded with 0 (third-party report: "thin books are padded").
        for i in range(max(len(bids), len(asks))):
            ask, ask_lots = asks[i] if i < len(asks) else (0, 0)
            bid, bid_lots = bids[i] if i < len(bids) else (0, 0)
            units.append(
                {
                    "ask_price": self.price(spec, ask),
                    "bid_price": self.price(spec, bid),
                    "ask_size": self.size(spec, ask_lots),
                    "bid_size": self.size(spec, bid_lots),
                }
            )
        scale = 10**spec.size_decimals
        level_value: float = int(level) if level.is_integer() else level
        return {
            "type": "orderbook",
            "code": spec.native,
            "timestamp": str(time_ms * 1000) if self.style.micros_books else time_ms,
            "total_ask_size": _round(sum(q for _, q in asks) / scale),
            "total_bid_size": _round(sum(q for _, q in bids) / scale),
            "orderbook_units": units,
            "stream_type": stream_type,
            "level": level_value,
        }

    def candle(
        self, market: SymbolMarket, bar: CandleState, unit: str, time_ms: int, stream_type: str
    ) -> dict[str, Any]:
        """A ``candle.<unit>`` message: the bar as it stands (prices in the market's units)."""
        spec = market.spec
        start = datetime.fromtimestamp(bar.start_ms / 1000, UTC)
        return {
            "type": f"candle.{unit}",
            "code": spec.native,
            "candle_date_time_utc": f"{start:%Y-%m-%dT%H:%M:%S}",
            "candle_date_time_kst": f"{start + timedelta(hours=9):%Y-%m-%dT%H:%M:%S}",
            "opening_price": self.price(spec, bar.open),
            "high_price": self.price(spec, bar.high),
            "low_price": self.price(spec, bar.low),
            "trade_price": self.price(spec, bar.close),
            "candle_acc_trade_volume": self.size(spec, bar.lots),
            "candle_acc_trade_price": self._quote(spec, bar.counter_volume),
            "timestamp": time_ms,
            "stream_type": stream_type,
        }
