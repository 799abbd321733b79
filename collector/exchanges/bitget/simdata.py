"""Payloads of the simulated Bitget: the market's ticker statistics, push frames, REST entries, hostile frames.

Everything :mod:`.sim` sends is built here, in Bitget's v2 shapes (``shared/exchanges/bitget.md``
and the channel pages it quotes); :class:`.sim.BitgetWire` decides when and to whom.
"""

from __future__ import annotations

import random
from collections import deque
from datetime import UTC, datetime
from typing import Any

import orjson

from ...simulator.market import Fill, InstrumentSpec, SymbolMarket, Update
from ...simulator.wire import RestAnswer, hostile_json
from .checksum import DEPTH, checksum

__all__ = [
    "BitgetMarket",
    "answer",
    "book_checksum",
    "book_push",
    "contract_entry",
    "delivery_ms",
    "dumps",
    "family_of",
    "hostile_frames",
    "level_texts",
    "push",
    "spot_entry",
    "ticker_push",
    "trades_push",
]

_RECENT_TRADES = 50
_FUNDING_MS = 8 * 3_600_000
_TRADE_IDS = 1_480_000_000_000_000_000  # Bitget trade ids are 19-digit numbers


def dumps(obj: Any) -> str:
    """Compact JSON text, as Bitget sends it."""
    return orjson.dumps(obj).decode()


def family_of(spec: InstrumentSpec) -> str:
    """The product line (websocket ``instType``) of a simulated instrument."""
    if spec.settle is None:
        return "SPOT"
    if spec.settle == spec.base:
        return "COIN-FUTURES"
    return "USDC-FUTURES" if spec.settle == "USDC" else "USDT-FUTURES"


def delivery_ms(expiry: str) -> int:
    """``YYMMDD`` -> 08:00 UTC of that day in ms, when the dated contracts deliver."""
    return int(datetime.strptime(expiry, "%y%m%d").replace(hour=8, tzinfo=UTC).timestamp() * 1000)


class BitgetMarket(SymbolMarket):
    """A :class:`SymbolMarket` that also keeps what Bitget's ticker and trade snapshot report.

    The 24 h statistics run from the start of the simulation; ``recent`` holds the last
    fills, newest last, for the trade snapshot a subscription starts with.
    """

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, start_id: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.open_ticks = self.high = self.low = spec.start_ticks
        self.volume_lots = 0
        self.turnover = 0.0  # quote units
        self.recent: deque[Fill] = deque(maxlen=_RECENT_TRADES)
        self.forming: dict[str, list[str]] = {}  # candle channel -> last pushed row

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and update the ticker statistics."""
        update = super().step(time_ms)
        scale = 1.0 / 10.0 ** (self.spec.price_decimals + self.spec.size_decimals)
        for f in update.fills:
            self.high = max(self.high, f.ticks)
            self.low = min(self.low, f.ticks)
            self.volume_lots += f.lots
            self.turnover += f.ticks * f.lots * scale
            self.recent.append(f)
        return update


def book_push(inst_type: str, channel: str, market: BitgetMarket, now_ms: int) -> str:
    """A whole book: the ``books`` snapshot (every level) or a ``books1/5/15`` push."""
    spec = market.spec
    depth = {"books1": 1, "books5": 5, "books15": 15}.get(channel)
    bids, asks = market.levels(depth if depth is not None else len(market.bids) + len(market.asks))
    data = {
        "asks": level_texts(spec, asks),
        "bids": level_texts(spec, bids),
        "checksum": 0,
        "seq": market.last_id,
        "pseq": 0,
        "ts": str(now_ms),
    }
    return push("snapshot", inst_type, channel, spec.native, [data], now_ms)


def ticker_push(inst_type: str, m: BitgetMarket, time_ms: int) -> str:
    """The whole ticker (every push is one); futures add mark, index, funding and open interest."""
    spec = m.spec
    price, size = spec.price, spec.size
    bid, bid_lots, ask, ask_lots = m.best()
    change = f"{(m.last_price - m.open_ticks) / m.open_ticks:.5f}"
    data: dict[str, Any] = {
        "instId": spec.native,
        "lastPr": price(m.last_price),
        "open24h": price(m.open_ticks),
        "high24h": price(m.high),
        "low24h": price(m.low),
        "change24h": change,
        "bidPr": price(bid),
        "askPr": price(ask),
        "bidSz": size(bid_lots),
        "askSz": size(ask_lots),
        "baseVolume": size(m.volume_lots),
        "quoteVolume": f"{m.turnover:.4f}",
        "openUtc": price(m.open_ticks),
    }
    if inst_type == "SPOT":
        data["changeUtc24h"] = change
    else:
        mark = price((bid + ask) // 2)
        data |= {
            "fundingRate": "0.0001" if spec.expiry is None else "0",
            "nextFundingTime": str(time_ms - time_ms % _FUNDING_MS + _FUNDING_MS) if spec.expiry is None else "0",
            "markPrice": mark,
            "indexPrice": mark,
            "holdingAmount": size(spec.mean_lots * 2000),
            "symbolType": 1 if spec.expiry is None else 2,
            "symbol": spec.native,
            "deliveryPrice": "0",
        }
    data["ts"] = str(time_ms)
    return push("snapshot", inst_type, "ticker", spec.native, [data], time_ms)


def hostile_frames(spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
    """Bitget-shaped frames of ``spec`` with impossible values, each of which a client must reject."""
    inst_type, native = family_of(spec), spec.native
    price, size = spec.price(spec.start_ticks), spec.size(1)

    def frame(channel: str, data: Any, action: str = "update", inst_id: str = native) -> str:
        arg = {"instType": inst_type, "channel": channel, "instId": inst_id}
        return hostile_json({"action": action, "arg": arg, "data": data, "ts": now_ms})

    def trade(**changes: Any) -> str:
        t = {"ts": str(now_ms), "price": price, "size": size, "side": "buy", "tradeId": "1"} | changes
        return frame("trade", [t])

    def book(**changes: Any) -> str:
        d = {"asks": [], "bids": [], "checksum": 0, "seq": 5, "pseq": 4, "ts": str(now_ms)} | changes
        return frame("books", [d])

    def ticker(**fields: Any) -> str:
        return frame("ticker", [{"instId": native, "lastPr": price, "ts": str(now_ms)} | fields], "snapshot")

    candle = [str(now_ms), price, price, price, price, size, size, size]
    return [
        (trade(price="NaN"), "NaN price"),
        (trade(price="Infinity"), "infinite price"),
        (trade(price="0"), "zero price"),
        (trade(price="-" + price), "negative price"),
        (trade(size="-" + size), "negative size"),
        (trade(price=[price]), "price of the wrong type"),
        (trade(side="sideways"), "unknown taker side"),
        (trade(ts=str(2**70)), "time beyond 64 bits"),
        (book(bids=[["nan", size]]), "NaN book level"),
        (book(asks=[[price, "-" + size]]), "negative book size"),
        (book(seq=2**70), "update id beyond 64 bits"),
        (book(checksum=2**40), "checksum beyond 32 bits"),
        (ticker(lastPr="n/a"), "ticker price that is not a number"),
        (ticker(lastPr="NaN"), "NaN ticker price"),
        (ticker(bidSz="-3"), "negative ticker size"),
        (frame("candle1m", [[*candle[:2], "-1", *candle[3:]]]), "negative candle price"),
        (frame("trade", None), "null data"),
        (frame("notAChannel", []), "unknown channel"),
        (frame("trade", [], inst_id="NOSUCHSYMBOL"), "unknown symbol"),
        (hostile_json({"event": "error", "code": 30001, "msg": "channel doesn't exist"}), "an error reply"),
    ]


def push(action: str, inst_type: str, channel: str, native: str, data: list[Any], time_ms: int) -> str:
    """``{"action":...,"arg":{...},"data":[...],"ts":...}``: the envelope of every channel push."""
    arg = {"instType": inst_type, "channel": channel, "instId": native}
    return dumps({"action": action, "arg": arg, "data": data, "ts": time_ms})


def level_texts(spec: InstrumentSpec, levels: list[tuple[int, int]]) -> list[list[str]]:
    """Book levels in ticks and lots as ``[price, size]`` strings."""
    price, size = spec.price, spec.size
    return [[price(p), size(q)] for p, q in levels]


def book_checksum(market: SymbolMarket) -> int:
    """CRC32 of the top 25 levels as this wire writes them (the client must compute the same)."""
    spec = market.spec
    bids, asks = market.levels(DEPTH)
    price, size = spec.price, spec.size
    return checksum([f"{price(p)}:{size(q)}" for p, q in bids], [f"{price(p)}:{size(q)}" for p, q in asks])


def trades_push(action: str, inst_type: str, market: BitgetMarket, fills: list[Fill], time_ms: int) -> str:
    """A ``trade`` push, newest first as Bitget sends it."""
    spec = market.spec
    data = [
        {
            "ts": str(f.time_ms),
            "price": spec.price(f.ticks),
            "size": spec.size(f.lots),
            "side": "sell" if f.buyer_maker else "buy",
            "tradeId": str(_TRADE_IDS + f.agg_id),
        }
        for f in reversed(fills)
    ]
    return push(action, inst_type, "trade", spec.native, data, time_ms)


def answer(status: int, code: str, msg: str, data: Any, now_ms: int) -> RestAnswer:
    """A REST answer in Bitget's envelope (``code`` ``"00000"`` is success)."""
    return RestAnswer(status, orjson.dumps({"code": code, "msg": msg, "requestTime": now_ms, "data": data}))


def spot_entry(spec: InstrumentSpec) -> dict[str, Any]:
    """One ``/api/v2/spot/public/symbols`` entry."""
    return {
        "symbol": spec.native,
        "baseCoin": spec.base,
        "quoteCoin": spec.quote,
        "minTradeAmount": "0",
        "maxTradeAmount": "900000000000000000000",
        "takerFeeRate": "0.001",
        "makerFeeRate": "0.001",
        "pricePrecision": str(spec.price_decimals),
        "quantityPrecision": str(spec.size_decimals),
        "quotePrecision": "8",
        "status": "online",
        "minTradeUSDT": "1",
        "buyLimitPriceRatio": "0.05",
        "sellLimitPriceRatio": "0.05",
        "areaSymbol": "no",
        "orderQuantity": "200",
        "openTime": "1532454360000",
        "offTime": "",
    }


def contract_entry(spec: InstrumentSpec, family: str) -> dict[str, Any]:
    """One ``/api/v2/mix/market/contracts`` entry (sizes in the base coin: ``sizeMultiplier`` is the lot)."""
    dated = spec.expiry is not None
    return {
        "symbol": spec.native,
        "baseCoin": spec.base,
        "quoteCoin": spec.quote,
        "buyLimitPriceRatio": "0.05",
        "sellLimitPriceRatio": "0.05",
        "feeRateUpRatio": "0.005",
        "makerFeeRate": "0.0002",
        "takerFeeRate": "0.0006",
        "openCostUpRatio": "0.01",
        "supportMarginCoins": [spec.settle],
        "minTradeNum": spec.step_size,
        "priceEndStep": "1",
        "volumePlace": str(spec.size_decimals),
        "pricePlace": str(spec.price_decimals),
        "sizeMultiplier": spec.step_size,
        "symbolType": "delivery" if dated else "perpetual",
        "minTradeUSDT": "5",
        "maxSymbolOrderNum": "200",
        "maxProductOrderNum": "1000",
        "maxPositionNum": "200",
        "symbolStatus": "normal",
        "offTime": "-1",
        "limitOpenTime": "-1",
        "deliveryTime": str(delivery_ms(spec.expiry)) if spec.expiry else "",
        "deliveryStartTime": "",
        "deliveryPeriod": "this_quarter" if dated else "",
        "launchTime": "",
        "fundInterval": "8",
        "minLever": "1",
        "maxLever": "125" if family != "COIN-FUTURES" else "100",
        "posLimit": "0.05",
        "maintainTime": "",
        "maxMarketOrderQty": "220",
        "maxOrderQty": "1200",
        "isRwa": "NO",
    }
