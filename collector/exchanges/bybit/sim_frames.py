"""Bybit's stream payloads, written from the simulated market: book, ticker, trade,
liquidation and kline frames exactly as ``shared/exchanges/bybit.md`` shows them (field
order included: spot and derivatives order ``ts`` and ``type`` differently)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, NamedTuple

from ...simulator.market import SymbolMarket, Update
from ...simulator.wire import Message
from .sim_market import BybitMarket, category_of, dumps

__all__ = [
    "KLINES",
    "KLINE_OF",
    "SILENT_KLINES",
    "Names",
    "book_frame",
    "kline_messages",
    "liquidations_frame",
    "ticker_fields",
    "ticker_frame",
    "trades_frame",
]

# Bybit kline interval -> the market model's interval. "W" and "M" exist on Bybit but the
# model aggregates nothing longer than a day: such topics are acknowledged and stay silent.
KLINES = {
    "1": "1m",
    "3": "3m",
    "5": "5m",
    "15": "15m",
    "30": "30m",
    "60": "1h",
    "120": "2h",
    "240": "4h",
    "360": "6h",
    "720": "12h",
    "D": "1d",
}
SILENT_KLINES = frozenset({"W", "M"})
KLINE_OF = {unified: native for native, unified in KLINES.items()}
_FUNDING_MS = 8 * 3_600_000


class Names(NamedTuple):
    """Qualified stream names of one market, built once."""

    category: str
    trade: str
    ticker: str
    books: tuple[tuple[int, str], ...]  # (depth, stream)
    kline: str  # prefix; the Bybit interval and ".<native>" follow
    liquidation: str


def book_frame(
    names: Names,
    market: SymbolMarket,
    depth: int,
    kind: str,
    bids: list[tuple[int, int]],
    asks: list[tuple[int, int]],
    u: int,
    time_ms: int,
) -> str:
    spec = market.spec
    price, size = spec.price, spec.size
    data = {
        "s": spec.native,
        "b": [[price(p), size(q)] for p, q in bids],
        "a": [[price(p), size(q)] for p, q in asks],
        "u": u,
        "seq": market.last_id,
    }
    topic = f"orderbook.{depth}.{spec.native}"
    # "ts before type for spot all levels and futures L1, after it for other futures levels."
    if names.category == "spot" or depth == 1:
        msg: dict[str, Any] = {"topic": topic, "ts": time_ms, "type": kind}
    else:
        msg = {"topic": topic, "type": kind, "ts": time_ms}
    msg["data"] = data
    msg["cts"] = time_ms - 2
    return dumps(msg)


def ticker_fields(m: BybitMarket, time_ms: int) -> dict[str, str]:
    spec = m.spec
    price = spec.price
    last, day = m.last_price, m.day
    change = f"{(last - day.open_ticks) / day.open_ticks:.6f}"
    if m.inverse:
        volume, turnover = spec.size(day.lots), f"{day.counter_volume:.8f}"
    else:
        volume, turnover = spec.size(day.lots), f"{day.counter_volume:.4f}"
    bid, bid_lots, ask, ask_lots = m.best()
    mid = price((bid + ask) // 2)
    if category_of(spec) == "spot":
        return {
            "symbol": spec.native,
            "lastPrice": price(last),
            "highPrice24h": price(day.high),
            "lowPrice24h": price(day.low),
            "prevPrice24h": price(day.open_ticks),
            "volume24h": volume,
            "turnover24h": turnover,
            "price24hPcnt": change,
            "usdIndexPrice": mid if spec.quote in ("USDT", "USDC") else "",
        }
    # Open interest follows the traded volume; the funding rate drifts with the premium.
    interest_lots = spec.mean_lots * 2000 + day.lots // 4
    mark = (bid + ask) / 2 / 10**spec.price_decimals
    interest = interest_lots / 10**spec.size_decimals
    interest_value = interest / mark if m.inverse else interest * mark
    return {
        "symbol": spec.native,
        "tickDirection": m.tick_direction.last,
        "price24hPcnt": change,
        "lastPrice": price(last),
        "prevPrice24h": price(day.open_ticks),
        "highPrice24h": price(day.high),
        "lowPrice24h": price(day.low),
        "prevPrice1h": price(day.open_ticks),
        "markPrice": mid,
        "indexPrice": mid,
        "openInterest": spec.size(interest_lots),
        "openInterestValue": f"{interest_value:.2f}",
        "turnover24h": turnover,
        "volume24h": volume,
        "nextFundingTime": str(time_ms - time_ms % _FUNDING_MS + _FUNDING_MS),
        "fundingRate": f"{0.0001 + (last - day.open_ticks) / day.open_ticks / 10:.8f}",
        "bid1Price": price(bid),
        "bid1Size": spec.size(bid_lots),
        "ask1Price": price(ask),
        "ask1Size": spec.size(ask_lots),
        "preOpenPrice": "",
        "preQty": "",
        "curPreListingPhase": "",
    }


def ticker_frame(names: Names, market: SymbolMarket, kind: str, fields: dict[str, str], time_ms: int) -> str:
    topic = names.ticker.partition(":")[2]
    if names.category == "spot":
        msg: dict[str, Any] = {"topic": topic, "ts": time_ms, "type": kind, "cs": market.last_id, "data": fields}
    else:
        msg = {"topic": topic, "type": kind, "data": fields, "cs": market.last_id, "ts": time_ms}
    return dumps(msg)


def trades_frame(names: Names, market: BybitMarket, update: Update) -> str:
    spec = market.spec
    spot = names.category == "spot"
    data: list[dict[str, Any]] = []
    for f, direction in zip(update.fills, market.directions, strict=True):
        side = "Sell" if f.buyer_maker else "Buy"
        if spot:
            # Spot trade ids are long decimal strings; derivatives use UUID-shaped ones.
            data.append(
                {
                    "i": str(2_290_000_000_000_000_000 + f.agg_id),
                    "T": f.time_ms,
                    "p": spec.price(f.ticks),
                    "v": spec.size(f.lots),
                    "S": side,
                    "seq": update.last_id,
                    "s": spec.native,
                    "BT": False,
                    "RPI": False,
                }
            )
        else:
            data.append(
                {
                    "T": f.time_ms,
                    "s": spec.native,
                    "S": side,
                    "v": spec.size(f.lots),
                    "p": spec.price(f.ticks),
                    "L": direction,
                    "i": f"{f.agg_id:08x}-{f.first_id >> 16 & 0xFFFF:04x}-5000-8000-{f.last_id:012x}",
                    "BT": False,
                    "RPI": False,
                    "seq": update.last_id,
                }
            )
    topic = names.trade.partition(":")[2]
    if spot:
        return dumps({"topic": topic, "ts": update.time_ms, "type": "snapshot", "data": data})
    return dumps({"topic": topic, "type": "snapshot", "ts": update.time_ms, "data": data})


def liquidations_frame(names: Names, market: BybitMarket, update: Update) -> str | None:
    """``allLiquidation.<s>``: one in twelve fills of a derivative stands for a forced close.

    "S: position side. When you receive a Buy update, this means that a long position
    has been liquidated" (its liquidation order sold into the bid).
    """
    if names.category == "spot":
        return None
    spec = market.spec
    data = [
        {
            "T": f.time_ms,
            "s": spec.native,
            "S": "Buy" if f.buyer_maker else "Sell",
            "v": spec.size(f.lots),
            "p": spec.price(f.ticks),
        }
        for f in update.fills
        if f.agg_id % 12 == 0
    ]
    if not data:
        return None
    topic = names.liquidation.partition(":")[2]
    return dumps({"topic": topic, "type": "snapshot", "ts": update.time_ms, "data": data})


def kline_messages(names: Names, market: BybitMarket, update: Update, subscribed: Collection[str]) -> list[Message]:
    spec = market.spec
    bars: dict[str, list[dict[str, Any]]] = {}
    for candle, closed in update.candles:
        interval = KLINE_OF.get(candle.interval)
        if interval is None:
            continue
        stream = f"{names.kline}{interval}.{spec.native}"
        if stream not in subscribed:
            continue
        # A closing bar is sent together with the next one in one message.
        bars.setdefault(stream, []).append(
            {
                "start": candle.start_ms,
                "end": candle.end_ms - 1,
                "interval": interval,
                "open": spec.price(candle.open),
                "close": spec.price(candle.close),
                "high": spec.price(candle.high),
                "low": spec.price(candle.low),
                "volume": spec.size(candle.lots),
                "turnover": f"{market.bar_turnover(candle):.8f}",
                "confirm": closed,
                "timestamp": update.time_ms,
            }
        )
    return [
        Message(
            stream,
            dumps({"topic": stream.partition(":")[2], "data": data, "ts": update.time_ms, "type": "snapshot"}),
        )
        for stream, data in bars.items()
    ]
