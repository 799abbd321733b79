"""KuCoin websocket payloads over the neutral market: what each subscribed topic sends per market step.

Spot (``KuCoin "Public Channels"``):

- ``/market/level2:{s}``: the changed levels of a step as ``[price, size, sequence]`` with one
  sequence per change, ``sequenceStart``/``sequenceEnd`` covering them (contiguous from
  message to message, as the calibration rule expects);
- ``/market/ticker:{s}``: best bid/offer and the last fill when either changed;
- ``/market/match:{s}``: one message per fill, ``side`` the taker's, ``time`` in ns as text;
- ``/market/candles:{s}_{type}``: the bar a step's fills traded in ("real-time").

Futures: ``/contractMarket/level2:{s}`` one message per change (``"price,side,size"``, each
the previous sequence + 1, a step's removals first), ``/contractMarket/tickerV2:{s}``, ``/contractMarket/execution:{s}``
(sizes in contracts) and ``/contract/instrument:{s}``: ``mark.index.price`` every second,
``funding.rate`` every minute (granularity 60000, the predicted rate) and at every 8-hourly
funding (granularity 28800000).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, NamedTuple

import orjson

from ...simulator.market import CandleState, Fill, InstrumentSpec, Update
from ...simulator.wire import Message

__all__ = ["CANDLE_TYPES", "FUNDING_MS", "FuturesPayloads", "SpotPayloads", "funding_rate", "push"]

CANDLE_TYPES = {
    "1m": "1min",
    "3m": "3min",
    "15m": "15min",
    "30m": "30min",
    "1h": "1hour",
    "2h": "2hour",
    "4h": "4hour",
    "6h": "6hour",
    "8h": "8hour",
    "12h": "12hour",
    "1d": "1day",
}
"""Intervals the market aggregates that KuCoin has a kline ``type`` for."""
FUNDING_MS = 8 * 3600 * 1000
"""Funding every 8 hours (00:00, 08:00, 16:00 UTC in the simulator)."""
_MINUTE_MS = 60_000


def push(topic: str, subject: str, data: Any, sn: int | None = None) -> str:
    """A data frame as KuCoin writes it: topic first, then type, subject (and ``sn`` on futures), then data."""
    head = f'{{"topic":"{topic}","type":"message","subject":"{subject}",'
    if sn is not None:
        head += f'"sn":{sn},'
    return f'{head}"data":{orjson.dumps(data).decode()}}}'


def funding_rate(spec: InstrumentSpec, mid_ticks: int) -> float:
    """The simulated funding rate: 0.01 % plus a tenth of the premium over the start price."""
    return round(0.0001 + (mid_ticks - spec.start_ticks) / spec.start_ticks / 10, 8)


def _order_id(n: int) -> str:
    return f"{n:024x}"


class _SpotNames(NamedTuple):
    level2: str
    ticker: str
    match: str
    candles: str  # prefix: the type follows


class SpotPayloads:
    """Spot frames per market step, for subscribed topics only."""

    def __init__(self) -> None:
        self._names: dict[str, _SpotNames] = {}
        self._last: dict[str, tuple[int, int]] = {}  # native -> (ticks, lots) of the last fill

    def names(self, native: str) -> _SpotNames:
        """The topics of one symbol."""
        names = self._names.get(native)
        if names is None:
            names = self._names[native] = _SpotNames(
                f"/market/level2:{native}",
                f"/market/ticker:{native}",
                f"/market/match:{native}",
                f"/market/candles:{native}_",
            )
        return names

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames of one step: level2 changes, ticker, matches, candles."""
        native = spec.native
        n = self.names(native)
        price, size = spec.price, spec.size
        out: list[Message] = []
        if update.first_id is not None and n.level2 in subscribed:
            seq = update.first_id
            bids = []
            for p, q in update.bids:
                bids.append([price(p), size(q), str(seq)])
                seq += 1
            asks = []
            for p, q in update.asks:
                asks.append([price(p), size(q), str(seq)])
                seq += 1
            data = {
                "changes": {"asks": asks, "bids": bids},
                "sequenceEnd": update.last_id,
                "sequenceStart": update.first_id,
                "symbol": native,
                "time": update.time_ms,
            }
            out.append(Message(n.level2, push(n.level2, "trade.l2update", data), native))
        if update.fills:
            last = update.fills[-1]
            self._last[native] = (last.ticks, last.lots)
            if n.match in subscribed:
                for f in update.fills:
                    out.append(Message(n.match, push(n.match, "trade.l3match", self._match(spec, f))))
        if (update.bbo_changed or update.fills) and n.ticker in subscribed:
            bid, bid_lots, ask, ask_lots = update.best
            ticks, lots = self._last.get(native, (spec.start_ticks, 1))
            data = {
                "bestAsk": price(ask),
                "bestAskSize": size(ask_lots),
                "bestBid": price(bid),
                "bestBidSize": size(bid_lots),
                "price": price(ticks),
                "sequence": str(update.last_id),
                "size": size(lots),
                "time": update.time_ms,
            }
            out.append(Message(n.ticker, push(n.ticker, "trade.ticker", data)))
        for candle, closed in update.candles:
            kind = CANDLE_TYPES.get(candle.interval)
            stream = n.candles + kind if kind is not None else ""
            # KuCoin pushes a bar while it trades; there is no message when it ends.
            if not closed and stream in subscribed:
                out.append(Message(stream, push(stream, "trade.candles.update", self._candle(spec, candle, update))))
        return out

    def _match(self, spec: InstrumentSpec, f: Fill) -> dict[str, Any]:
        return {
            "makerOrderId": _order_id(f.first_id * 2),
            "price": spec.price(f.ticks),
            "sequence": str(f.last_id),
            "side": "sell" if f.buyer_maker else "buy",
            "size": spec.size(f.lots),
            "symbol": spec.native,
            "takerOrderId": _order_id(f.first_id * 2 + 1),
            "time": str(f.time_ms * 1_000_000 + f.agg_id % 1_000_000),
            "tradeId": str(f.agg_id),
            "type": "match",
        }

    def _candle(self, spec: InstrumentSpec, c: CandleState, update: Update) -> dict[str, Any]:
        price = spec.price
        bar = [str(c.start_ms // 1000), price(c.open), price(c.close), price(c.high), price(c.low)]
        bar += [spec.size(c.lots), f"{c.counter_volume:.8f}"]
        return {"symbol": spec.native, "candles": bar, "time": update.time_ms * 1_000_000}


class _FuturesNames(NamedTuple):
    level2: str
    ticker: str
    execution: str
    instrument: str


class FuturesPayloads:
    """Futures frames per market step, for subscribed topics only; sizes are contracts."""

    def __init__(self) -> None:
        self._names: dict[str, _FuturesNames] = {}
        self._second: dict[str, int] = {}  # native -> second of the last mark price push
        self._minute: dict[str, int] = {}  # native -> minute of the last funding rate push

    def names(self, native: str) -> _FuturesNames:
        """The topics of one contract."""
        names = self._names.get(native)
        if names is None:
            names = self._names[native] = _FuturesNames(
                f"/contractMarket/level2:{native}",
                f"/contractMarket/tickerV2:{native}",
                f"/contractMarket/execution:{native}",
                f"/contract/instrument:{native}",
            )
        return names

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames of one step: one level2 message per change, tickerV2, executions, instrument data."""
        native = spec.native
        n = self.names(native)
        price = spec.price
        out: list[Message] = []
        t = update.time_ms
        if update.first_id is not None and n.level2 in subscribed:
            # One message per change, removals first: a book that applies them one by one is
            # never crossed in between (a matching engine fills a crossing order before it rests).
            changes = [("buy", p, q) for p, q in update.bids] + [("sell", p, q) for p, q in update.asks]
            changes.sort(key=lambda change: change[2] != 0)
            seq = update.first_id
            for side, p, q in changes:
                change = f'{{"sequence":{seq},"change":"{price(p)},{side},{q}","timestamp":{t}}}'
                text = f'{{"topic":"{n.level2}","type":"message","subject":"level2","sn":{seq},"data":{change}}}'
                out.append(Message(n.level2, text, native))
                seq += 1
        if update.fills and n.execution in subscribed:
            for f in update.fills:
                fill = {
                    "symbol": native,
                    "sequence": f.last_id,
                    "side": "sell" if f.buyer_maker else "buy",
                    "size": f.lots,
                    "price": price(f.ticks),
                    "takerOrderId": str(f.first_id * 2 + 1),
                    "makerOrderId": str(f.first_id * 2),
                    "tradeId": str(f.agg_id),
                    "ts": t * 1_000_000 + f.agg_id % 1_000_000,
                }
                out.append(Message(n.execution, push(n.execution, "match", fill, f.last_id)))
        if update.bbo_changed and n.ticker in subscribed:
            bid, bid_lots, ask, ask_lots = update.best
            bbo = {
                "symbol": native,
                "sequence": update.last_id,
                "bestBidSize": bid_lots,
                "bestBidPrice": price(bid),
                "bestAskPrice": price(ask),
                "bestAskSize": ask_lots,
                "ts": t * 1_000_000,
            }
            out.append(Message(n.ticker, push(n.ticker, "tickerV2", bbo, update.last_id)))
        if n.instrument in subscribed:
            out.extend(self._instrument(spec, n.instrument, update))
        return out

    def _instrument(self, spec: InstrumentSpec, topic: str, update: Update) -> list[Message]:
        native = spec.native
        t = update.time_ms
        out = []
        bid, _, ask, _ = update.best
        mid = (bid + ask) // 2
        second = t // 1000
        if self._second.get(native) != second:
            self._second[native] = second
            data = {
                "markPrice": float(spec.price(mid)),
                "indexPrice": float(spec.price(max(1, mid - 2))),
                "granularity": 1000,
                "timestamp": second * 1000,
            }
            out.append(Message(topic, push(topic, "mark.index.price", data)))
        minute = t // _MINUTE_MS
        last = self._minute.get(native)
        if last != minute:
            self._minute[native] = minute
            rate = funding_rate(spec, mid)
            if last is not None and t // FUNDING_MS != last * _MINUTE_MS // FUNDING_MS:
                at = t - t % FUNDING_MS
                data = {"granularity": FUNDING_MS, "fundingRate": rate, "timestamp": at}
                out.append(Message(topic, push(topic, "funding.rate", data)))
            data = {"granularity": _MINUTE_MS, "fundingRate": rate, "timestamp": minute * _MINUTE_MS}
            out.append(Message(topic, push(topic, "funding.rate", data)))
        return out
