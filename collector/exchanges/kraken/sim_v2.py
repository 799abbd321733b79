"""The simulator's Kraken websocket v2 (``wss://ws.kraken.com/v2``), beside v1 in :mod:`.sim_v1`.

- ``{"method":"subscribe","params":{"channel":...,"symbol":[...],...}}`` is answered with one
  ack per symbol (``success: false`` and an ``error`` for an unknown pair, parameter or a
  subscription that exists), then the snapshot of each book and ticker; ``unsubscribe``
  likewise; ``{"method":"ping"}`` gets a ``pong``.
- Data are ``{"channel", "type", "data": [...]}`` with JSON numbers printed with the pair's
  precision and RFC 3339 times. Every book message carries the CRC32 of the top 10 levels.
- Streams are ``book:<depth>:<symbol>``, ``trade:<symbol>``, ``ticker:<trigger>:<symbol>``
  and ``ohlc:<minutes>:<symbol>``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

import orjson

from ...simulator.market import Fill, InstrumentSpec, SymbolMarket, Update
from ...simulator.wire import Control, Message, Session
from .sim_market import DEPTHS, INTERVALS, KrakenMarket, View, digits, stamp

__all__ = ["V2Frames"]


class V2Frames:
    """v2 control replies and data frames; ``view(symbol, depth)`` is the wire's shared book view."""

    def __init__(self, view: Callable[[str, int], View]) -> None:
        self.view = view

    # -- control --------------------------------------------------------------------------------

    def control(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer ``ping``, ``subscribe`` (acks, then snapshots) and ``unsubscribe``."""
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            return Control(_fail("", None, "EGeneral:Invalid arguments", now_ms))
        if not isinstance(msg, dict):
            return Control(_fail("", None, "EGeneral:Invalid arguments", now_ms))
        method = msg.get("method")
        req_id = msg.get("req_id") if isinstance(msg.get("req_id"), int) else None
        if method == "ping":
            reply = {"method": "pong", "req_id": req_id, "time_in": stamp(now_ms), "time_out": stamp(now_ms)}
            return Control(orjson.dumps({k: v for k, v in reply.items() if v is not None}).decode())
        params = msg.get("params")
        if method not in ("subscribe", "unsubscribe") or not isinstance(params, dict):
            return Control(_fail(str(method), req_id, "EGeneral:Invalid arguments", now_ms))
        symbols = params.get("symbol")
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols) or not symbols:
            return Control(_fail(method, req_id, "EGeneral:Invalid arguments:symbol", now_ms))
        replies: list[str] = []
        frames: list[str | bytes] = []
        added: list[str] = []
        removed: list[str] = []
        current = set(session.streams)
        for symbol in symbols:
            market = markets.get(symbol)
            stream, result, error = _stream(params.get("channel"), symbol, params)
            if market is None and error is None:
                error = f"Currency pair not supported {symbol}"
            elif stream is not None and method == "subscribe" and stream in current:
                error = "Already subscribed"
            elif stream is not None and method == "unsubscribe" and stream not in current:
                error = "Subscription Not Found"
            if error is not None or stream is None or market is None:
                replies.append(_fail(method, req_id, error or "", now_ms, symbol))
                continue
            if method == "unsubscribe":
                removed.append(stream)
            else:
                added.append(stream)
                current.add(stream)
                snapshot = self._snapshot(stream, market, params, now_ms)
                if snapshot is not None:
                    frames.append(snapshot)
            ack: dict[str, Any] = {"method": method, "result": result, "success": True}
            ack |= {"time_in": stamp(now_ms), "time_out": stamp(now_ms)}
            if req_id is not None:
                ack["req_id"] = req_id
            replies.append(orjson.dumps(ack).decode())
        # The acks come first, then the snapshots of what was subscribed.
        return Control(replies[0], subscribe=added, unsubscribe=removed, frames=[*replies[1:], *frames])

    def _snapshot(self, stream: str, market: SymbolMarket, params: dict[str, Any], now_ms: int) -> str | None:
        """The frame Kraken pushes after a subscription: the book or the ticker as it is now."""
        kind, _, rest = stream.partition(":")
        if kind == "book" and params.get("snapshot", True):
            view = self.view(market.spec.native, int(rest.partition(":")[0]))
            view.advance(market)
            bids = sorted(view.bids.items(), reverse=True)
            asks = sorted(view.asks.items())
            return self.book(market.spec, "snapshot", bids, asks, view, None)
        if kind == "ticker" and params.get("snapshot", True) and isinstance(market, KrakenMarket):
            return self.ticker(market, "snapshot", now_ms)
        # "snapshot: Request a snapshot after subscribing" (opt-in for trades): the last 50.
        if kind == "trade" and params.get("snapshot") is True and isinstance(market, KrakenMarket):
            return self.trades(market.spec, market.recent, "snapshot")
        return None

    # -- data -----------------------------------------------------------------------------------

    def book(
        self,
        spec: InstrumentSpec,
        kind: str,
        bids: list[tuple[int, int]],
        asks: list[tuple[int, int]],
        view: View,
        time_ms: int | None,
    ) -> str:
        """A ``book`` snapshot or update with the CRC32 of the view's top 10 levels."""
        price, size = spec.price, spec.size
        bid_text = ",".join(f'{{"price":{price(p)},"qty":{size(q)}}}' for p, q in bids)
        ask_text = ",".join(f'{{"price":{price(p)},"qty":{size(q)}}}' for p, q in asks)
        top_asks, top_bids = view.top(10)
        crc = zlib.crc32("".join(digits(price(p)) + digits(size(q)) for p, q in top_asks + top_bids).encode())
        when = f',"timestamp":"{stamp(time_ms)}"' if time_ms is not None else ""
        data = f'{{"symbol":"{spec.native}","bids":[{bid_text}],"asks":[{ask_text}],"checksum":{crc}{when}}}'
        return f'{{"channel":"book","type":"{kind}","data":[{data}]}}'

    @staticmethod
    def ticker(market: KrakenMarket, kind: str, time_ms: int) -> str:
        """A ``ticker`` message: best bid/offer with sizes and the statistics since the start."""
        spec = market.spec
        price, size = spec.price, spec.size
        bid, bid_lots, ask, ask_lots = market.best()
        volume = market.volume_lots
        vwap = market.notional / volume / 10**spec.price_decimals if volume else 0.0
        change = (market.last_price - market.open_ticks) / 10**spec.price_decimals
        pct = 100.0 * (market.last_price - market.open_ticks) / market.open_ticks
        data = (
            f'{{"symbol":"{spec.native}","bid":{price(bid)},"bid_qty":{size(bid_lots)},'
            f'"ask":{price(ask)},"ask_qty":{size(ask_lots)},"last":{price(market.last_price)},'
            f'"volume":{size(volume)},"vwap":{vwap:.{spec.price_decimals}f},"low":{price(market.low)},'
            f'"high":{price(market.high)},"change":{change:.{spec.price_decimals}f},"change_pct":{pct:.2f},'
            f'"timestamp":"{stamp(time_ms)}"}}'
        )
        return f'{{"channel":"ticker","type":"{kind}","data":[{data}]}}'

    @staticmethod
    def trades(spec: InstrumentSpec, fills: Iterable[Fill], kind: str = "update") -> str:
        """A ``trade`` update (one step's fills) or snapshot: taker side, sequential ``trade_id``."""
        price, size = spec.price, spec.size
        data = ",".join(
            f'{{"symbol":"{spec.native}","side":"{"sell" if f.buyer_maker else "buy"}","price":{price(f.ticks)},'
            f'"qty":{size(f.lots)},"ord_type":"{"limit" if f.agg_id % 3 == 0 else "market"}",'
            f'"trade_id":{f.agg_id},"timestamp":"{stamp(f.time_ms)}"}}'
            for f in fills
        )
        return f'{{"channel":"trade","type":"{kind}","data":[{data}]}}'

    @staticmethod
    def candles(spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """``ohlc`` updates of the bars that traded this step ("generated on trade events")."""
        out = []
        price = spec.price
        for candle, closed in update.candles:
            if closed:
                continue  # bars are sent while they run; no message closes them
            minutes = next((m for m, name in INTERVALS.items() if name == candle.interval), None)
            stream = f"ohlc:{minutes}:{spec.native}"
            if minutes is None or stream not in subscribed:
                continue
            bar = (
                f'{{"symbol":"{spec.native}","open":{price(candle.open)},"high":{price(candle.high)},'
                f'"low":{price(candle.low)},"close":{price(candle.close)},"trades":{candle.trades},'
                f'"volume":{spec.size(candle.lots)},"vwap":{price(candle.close)},'
                f'"interval_begin":"{stamp(candle.start_ms)[:-1]}000Z","interval":{minutes},'
                f'"timestamp":"{stamp(candle.end_ms)}"}}'
            )
            text = f'{{"channel":"ohlc","type":"update","timestamp":"{stamp(update.time_ms)}","data":[{bar}]}}'
            out.append(Message(stream, text))
        return out


def _stream(channel: object, symbol: str, params: dict[str, Any]) -> tuple[str | None, dict[str, Any], str | None]:
    """(stream, ack result, error) of one symbol of a request."""
    if channel == "book":
        depth = params.get("depth", 10)
        if depth not in DEPTHS:
            return None, {}, "EGeneral:Invalid arguments:depth"
        return f"book:{depth}:{symbol}", {"channel": "book", "depth": depth, "symbol": symbol}, None
    if channel == "trade":
        return f"trade:{symbol}", {"channel": "trade", "symbol": symbol}, None
    if channel == "ticker":
        trigger = params.get("event_trigger", "trades")
        if trigger not in ("bbo", "trades"):
            return None, {}, "EGeneral:Invalid arguments:event_trigger"
        return f"ticker:{trigger}:{symbol}", {"channel": "ticker", "event_trigger": trigger, "symbol": symbol}, None
    if channel == "ohlc":
        minutes = params.get("interval", 1)
        if minutes not in INTERVALS:
            return None, {}, "EGeneral:Invalid arguments:interval"
        return f"ohlc:{minutes}:{symbol}", {"channel": "ohlc", "interval": minutes, "symbol": symbol}, None
    return None, {}, f"Channel not found {str(channel)[:40]}"


def _fail(method: str, req_id: int | None, error: str, now_ms: int, symbol: str | None = None) -> str:
    reply: dict[str, Any] = {"error": error, "method": method, "success": False}
    if symbol is not None:
        reply["symbol"] = symbol
    if req_id is not None:
        reply["req_id"] = req_id
    reply["time_in"] = reply["time_out"] = stamp(now_ms)
    return orjson.dumps(reply).decode()
