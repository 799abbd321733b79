"""Coinbase Advanced Trade's public wire format over the neutral market (spot products).

Everything follows ``shared/exchanges/coinbase.md`` and the real 2026 session in
``shared/recordings/coinbase.jsonl.zst``:

- one websocket at the root path; ``{"type":"subscribe"|"unsubscribe","product_ids":[...],
  "channel":...}`` with one channel per message. A subscription first pushes its
  snapshots (``l2_data`` with the whole book, the last 100 ``market_trades`` newest
  first, the ``ticker``, up to 100 five-minute ``candles``), then a ``subscriptions``
  message listing the connection's whole subscription state. Refusals are
  ``{"type":"error","message":...}``; an unsubscribe without ``product_ids`` drops the channel.
- every frame of a connection carries ``sequence_num``, one counter per connection
  across all channels, from 0 (:class:`CoinbaseSession`, numbered in :meth:`CoinbaseWire.deliver`).
- ``l2_data`` updates carry every changed level's new absolute size (``"0"`` removes),
  sides ``bid``/``offer``; ``market_trades`` carry the *maker* side; ``ticker`` is pushed
  on every step with trades, with the best bid/ask after it; ``candles`` push the
  forming five-minute bucket when it traded; ``heartbeats`` come every second.
- REST ``/api/v3/brokerage/market/products`` (``limit``/``offset`` pages, ``product_type``;
  futures are not simulated), ``/market/products/{id}`` and ``/market/product_book``.

Faults: ``GAP`` withholds one ``l2_data`` update of a market from a connection; the
update took its ``sequence_num`` with it, so the connection's next frame shows the jump
and a correct client resyncs and resubscribes. Capture playback is not offered: recorded
frames carry the recorder's ``sequence_num``, which a client with other subscriptions
would read as gaps.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import orjson

from ...errors import UnknownExchange, UnknownSymbol
from ...simulator.market import CandleState, Fill, InstrumentSpec, SymbolMarket, Update, split_symbol, start_price
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, WireFormat, hostile_json
from .sim_market import CoinbaseMarket, CoinbaseSession, dumps, frame, iso

__all__ = ["CHANNELS", "CoinbaseMarket", "CoinbaseSession", "CoinbaseWire"]

CHANNELS = frozenset(
    {
        "heartbeats",
        "candles",
        "status",
        "ticker",
        "ticker_batch",
        "level2",
        "market_trades",
        "user",
        "futures_balance_summary",
    }
)
"""Every channel of the market-data websocket ("Advanced Trade WebSocket Channels")."""

_PRIVATE = frozenset({"user", "futures_balance_summary"})
_PRODUCT_CHANNELS = frozenset({"candles", "status", "ticker", "ticker_batch", "level2", "market_trades"})
_INBOUND = {"level2": "l2_data"}  # subscribed as level2, received as l2_data
_BATCH_MS = 5_000  # "ticker_batch: real-time price updates every 5000 milli-seconds"
_PRODUCTS = "/api/v3/brokerage/market/products"
_BOOK = "/api/v3/brokerage/market/product_book"


class CoinbaseWire(WireFormat):
    """Coinbase Advanced Trade public market data for the ``coinbase`` exchange id (spot)."""

    default_ws = "wss://advanced-trade-ws.coinbase.com"
    default_rest = "https://api.coinbase.com"
    endpoint_path = "/"  # the feed is served at the host's root
    instruments_path = _PRODUCTS
    heartbeat_interval = 1.0  # "heartbeats messages every second"

    def __init__(self, exchange: str = "coinbase") -> None:
        if exchange != "coinbase":
            raise UnknownExchange(f"the Coinbase wire format serves 'coinbase', not {exchange!r}")
        super().__init__(exchange)
        self._markets: dict[str, CoinbaseMarket] = {}
        self._l2_count: dict[str, int] = {}  # product -> l2_data updates encoded so far
        self._started_ms: int | None = None

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """A spot product: ``BTC/USD`` is ``BTC-USD``, ticks of 0.01 USD and lots of 1e-8 BTC."""
        try:
            base, quote, settle, _ = split_symbol(symbol)
        except ValueError as exc:
            raise UnknownSymbol(f"coinbase: {exc}") from None
        if settle is not None:
            raise UnknownSymbol(f"the coinbase simulator serves spot products (BTC/USD), not {symbol!r}")
        rng = random.Random(f"{seed}:coinbase:{symbol}:spec")
        price = start_price(base, rng)
        magnitude = math.floor(math.log10(price))
        price_decimals = max(2, 4 - magnitude)
        size_decimals = min(8, max(0, magnitude + 5))
        return InstrumentSpec(
            symbol=symbol,
            native=f"{base}-{quote}",
            base=base,
            quote=quote,
            settle=None,
            expiry=None,
            price_decimals=price_decimals,
            size_decimals=size_decimals,
            start_ticks=round(price * 10**price_decimals),
            mean_lots=max(1, round(3000.0 / price * 10**size_decimals)),
        )

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A :class:`CoinbaseMarket`; the wire remembers it for snapshots and tickers."""
        rng = random.Random(f"{seed}:coinbase:{spec.native}")
        market = CoinbaseMarket(spec, rng, depth=depth, start_id=10**9 + rng.randrange(10**8))
        self._markets[spec.native] = market
        return market

    def instrument_queries(self, keys: Collection[str]) -> list[dict[str, str]]:
        """The adapter lists spot products, then futures (none are simulated)."""
        return [{}, {"product_type": "FUTURE"}]

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """The one public feed, at the root."""
        return "" if path == "" else None

    def ws_path(self, route: str) -> str:
        """The root path."""
        return ""

    def open(self, route: str) -> Session:
        """A :class:`CoinbaseSession`: its own ``sequence_num`` from 0."""
        return CoinbaseSession(route)

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """Heartbeats, then level2, market_trades, ticker and candles of every product.

        Coinbase candles are five-minute buckets whatever ``interval`` asks for.
        """
        products = [spec.native for spec in specs]
        frames = [dumps({"type": "subscribe", "channel": "heartbeats"})]
        for channel in ("level2", "market_trades", "ticker", "candles"):
            frames.append(dumps({"type": "subscribe", "product_ids": products, "channel": channel}))
        return {"": frames}

    def wanted_intervals(self, stream: str) -> str | None:
        """``candles:BTC-USD`` needs five-minute buckets."""
        return "5m" if stream.startswith("candles:") else None

    def stream_book_key(self, stream: str) -> str | None:
        """``level2:BTC-USD`` -> ``BTC-USD``."""
        channel, _, product = stream.partition(":")
        return product if channel == "level2" else None

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer subscribe/unsubscribe: snapshots first, then the ``subscriptions`` state; errors otherwise."""
        s = cast("CoinbaseSession", session)
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            return _refuse("Malformed JSON")
        if not isinstance(msg, dict):
            return _refuse("Malformed JSON")
        kind, channel, products = msg.get("type"), msg.get("channel"), msg.get("product_ids", [])
        if kind not in ("subscribe", "unsubscribe"):
            return _refuse(f"Failure to parse type: {str(kind)[:40]}")
        if channel not in CHANNELS:
            return _refuse(f"Failure to subscribe: unknown channel {str(channel)[:40]}")
        if channel in _PRIVATE:
            return _refuse("authentication failure")
        if not isinstance(products, list) or not all(isinstance(p, str) for p in products):
            return _refuse("product_ids must be a list of strings")
        unknown = [p for p in products if p not in markets]
        if unknown:
            return _refuse(f"Failure to subscribe: unknown product {unknown[0][:40]}")
        if channel == "heartbeats":
            s.heartbeats = kind == "subscribe"
            return Control(None, frames=[self._subscriptions(s, s.streams, now_ms)])
        streams = [f"{channel}:{p}" for p in products]
        if kind == "unsubscribe":
            # "Unsubscribe with no product_ids removes the whole channel."
            gone = [x for x in s.streams if x in streams or (not products and x.startswith(channel + ":"))]
            left = [x for x in s.streams if x not in gone]
            return Control(None, unsubscribe=gone, frames=[self._subscriptions(s, left, now_ms)])
        added = [x for x in dict.fromkeys(streams) if x not in s.streams]
        frames: list[str | bytes] = [f for x in added if (f := self._snapshot(s, x, now_ms)) is not None]
        frames.append(self._subscriptions(s, [*s.streams, *added], now_ms))
        return Control(None, subscribe=added, frames=frames)

    def _subscriptions(self, s: CoinbaseSession, streams: list[str], now_ms: int) -> str:
        state: dict[str, list[str]] = {}
        for stream in streams:
            channel, _, product = stream.partition(":")
            state.setdefault(channel, []).append(product)
        if s.heartbeats:
            state["heartbeats"] = ["heartbeats"]
        return s.numbered(frame("subscriptions", iso(now_ms, 7), [{"subscriptions": state}]))

    def _snapshot(self, s: CoinbaseSession, stream: str, now_ms: int) -> str | None:
        """The snapshot a new subscription of ``stream`` starts with, numbered for ``s``."""
        channel, _, product = stream.partition(":")
        market = self._markets.get(product)
        if market is None:
            return None
        ts = iso(now_ms, 1)
        if channel == "level2":
            s.l2_seen[product] = self._l2_count.get(product, 0)
            bids, asks = market.levels(len(market.bids) + len(market.asks))
            event = {"type": "snapshot", "product_id": product, "updates": self._levels(market, bids, asks, now_ms)}
            return s.numbered(frame("l2_data", ts, [event]))
        if channel == "market_trades":
            trades = [self._trade(market, f) for f in reversed(market.recent)]
            return s.numbered(frame("market_trades", ts, [{"type": "snapshot", "trades": trades}]))
        if channel in ("ticker", "ticker_batch"):
            tickers = [self._ticker(market, with_bbo=channel == "ticker")]
            return s.numbered(frame(channel, ts, [{"type": "snapshot", "tickers": tickers}]))
        if channel == "candles":
            buckets = [*market.history, *([market.forming] if market.forming is not None else [])]
            candles = [self._candle(market, c) for c in buckets]
            return s.numbered(frame("candles", ts, [{"type": "snapshot", "candles": candles}]))
        return None  # status: no data in the simulation

    def heartbeat(self, session: Session, now_ms: int) -> list[str | bytes]:
        """One ``heartbeats`` message a second to a connection subscribed to them."""
        s = cast("CoinbaseSession", session)
        if not s.heartbeats:
            return []
        s.heartbeat_counter += 1
        if self._started_ms is None:
            self._started_ms = now_ms
        uptime = (now_ms - self._started_ms) / 1000 + 40_000
        wall = datetime.fromtimestamp(now_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
        event = {
            "current_time": f"{wall}.{now_ms % 1000:03d}000000 +0000 UTC m=+{uptime:.9f}",
            "heartbeat_counter": s.heartbeat_counter,
        }
        return [s.numbered(frame("heartbeats", iso(now_ms, 2), [event]))]

    def deliver(self, session: Session, message: Message) -> str | bytes | None:
        """Number the frame for this connection; a withheld ``l2_data`` update keeps its number."""
        s = cast("CoinbaseSession", session)
        product = message.book_key
        if product is not None:
            count = self._l2_count.get(product, 0)
            seen = s.l2_seen.get(product)
            if seen is not None and count > seen + 1:
                # The updates in between were sent and lost (a GAP fault): they were numbered.
                s.sequence += count - seen - 1
            s.l2_seen[product] = count
        return s.numbered(cast("str", message.text))

    # -- stream payloads ------------------------------------------------------------------------

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames for one step: the l2 update, trades, ticker and the forming candle."""
        product = spec.native
        market = self._markets[product]
        out: list[Message] = []
        time_ms = update.time_ms
        ts = iso(time_ms, 3)
        stream = f"level2:{product}"
        if (update.bids or update.asks) and stream in subscribed:
            self._l2_count[product] = self._l2_count.get(product, 0) + 1
            event = {
                "type": "update",
                "product_id": product,
                "updates": self._levels(market, update.bids, update.asks, time_ms),
            }
            out.append(Message(stream, frame("l2_data", ts, [event]), product))
        if update.fills:
            stream = f"market_trades:{product}"
            if stream in subscribed:
                trades = [self._trade(market, f) for f in reversed(update.fills)]
                out.append(Message(stream, frame("market_trades", ts, [{"type": "update", "trades": trades}])))
            stream = f"ticker:{product}"
            if stream in subscribed:
                event = {"type": "update", "tickers": [self._ticker(market, with_bbo=True)]}
                out.append(Message(stream, frame("ticker", ts, [event])))
            stream = f"ticker_batch:{product}"
            if stream in subscribed and time_ms - market.batch_at >= _BATCH_MS:
                market.batch_at = time_ms
                event = {"type": "update", "tickers": [self._ticker(market, with_bbo=False)]}
                out.append(Message(stream, frame("ticker_batch", ts, [event])))
        stream = f"candles:{product}"
        if stream in subscribed:
            candles = [self._candle(market, c) for c, closed in update.candles if not closed and c.interval == "5m"]
            if candles:
                out.append(Message(stream, frame("candles", ts, [{"type": "update", "candles": candles}])))
        return out

    def _levels(
        self, market: SymbolMarket, bids: list[tuple[int, int]], asks: list[tuple[int, int]], time_ms: int
    ) -> list[dict[str, str]]:
        spec = market.spec
        at = iso(time_ms)
        return [
            {"side": side, "event_time": at, "price_level": spec.price(p), "new_quantity": spec.size(q)}
            for side, levels in (("bid", bids), ("offer", asks))
            for p, q in levels
        ]

    def _trade(self, market: SymbolMarket, f: Fill) -> dict[str, str]:
        spec = market.spec
        return {
            "product_id": spec.native,
            "trade_id": str(f.agg_id),
            "price": spec.price(f.ticks),
            "size": spec.size(f.lots),
            "time": iso(f.time_ms),
            # The side of the resting order: a taker that sold hit a resting buy.
            "side": "BUY" if f.buyer_maker else "SELL",
        }

    def _ticker(self, market: CoinbaseMarket, *, with_bbo: bool) -> dict[str, str]:
        spec = market.spec
        last = market.last_price
        change = (last - market.day.open_ticks) / market.day.open_ticks * 100
        ticker = {
            "type": "ticker",
            "product_id": spec.native,
            "price": spec.price(last),
            "volume_24_h": spec.size(market.day.lots),
            "low_24_h": spec.price(market.day.low),
            "high_24_h": spec.price(market.day.high),
            "low_52_w": spec.price(market.day.low),
            "high_52_w": spec.price(market.day.high),
            "price_percent_chg_24_h": f"{change:.14f}",
        }
        if with_bbo:
            bid, bid_lots, ask, ask_lots = market.best()
            ticker |= {
                "best_bid": spec.price(bid),
                "best_ask": spec.price(ask),
                "best_bid_quantity": spec.size(bid_lots),
                "best_ask_quantity": spec.size(ask_lots),
            }
        return ticker

    def _candle(self, market: SymbolMarket, c: CandleState) -> dict[str, str]:
        spec = market.spec
        return {
            "start": str(c.start_ms // 1000),
            "high": spec.price(c.high),
            "low": spec.price(c.low),
            "open": spec.price(c.open),
            "close": spec.price(c.close),
            "volume": spec.size(c.lots),
            "product_id": spec.native,
        }

    # -- books a client holds -------------------------------------------------------------------

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The whole book (``level2`` is full depth); no update id, as ``l2_data`` carries none."""
        spec = market.spec
        bids = {float(spec.price(p)): float(spec.size(q)) for p, q in market.bids.items()}
        asks = {float(spec.price(p)): float(spec.size(q)) for p, q in market.asks.items()}
        return bids, asks, None

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """Answer the public market endpoints; anything else is Coinbase's 404 body."""
        if call.method == "GET" and call.path == _PRODUCTS:
            return self._products(call.query, markets)
        if call.method == "GET" and call.path.startswith(_PRODUCTS + "/"):
            market = markets.get(call.path[len(_PRODUCTS) + 1 :])
            if market is not None:
                return RestAnswer(200, orjson.dumps(self._product(market.spec)))
        if call.method == "GET" and call.path == _BOOK:
            market = markets.get(call.query.get("product_id", ""))
            if market is not None:
                return RestAnswer(200, orjson.dumps(self._pricebook(market, call.query, now_ms)))
        body = {"error": "NOT_FOUND", "error_details": f"{call.path} not found", "message": f"{call.path} not found"}
        return RestAnswer(404, orjson.dumps(body))

    def _products(self, query: Mapping[str, str], markets: Mapping[str, SymbolMarket]) -> RestAnswer:
        # The listing is spot unless futures are asked for; no futures are simulated.
        listed = [m.spec for m in markets.values()] if query.get("product_type", "SPOT") == "SPOT" else []
        limit, offset = query.get("limit", ""), query.get("offset", "0")
        if not (limit.isdigit() or limit == "") or not offset.isdigit():
            refusal = {"error": "INVALID_ARGUMENT", "message": "limit and offset must be integers"}
            return RestAnswer(400, orjson.dumps(refusal))
        start = int(offset)
        end = start + int(limit) if limit else len(listed)
        page = listed[start:end]
        pagination = {"prev_cursor": "", "next_cursor": "", "has_next": end < len(listed), "has_prev": start > 0}
        body = {"products": [self._product(s) for s in page], "num_products": len(page), "pagination": pagination}
        return RestAnswer(200, orjson.dumps(body))

    def _product(self, spec: InstrumentSpec) -> dict[str, Any]:
        market = self._markets.get(spec.native)
        price = spec.price(market.last_price if market is not None else spec.start_ticks)
        return {
            "product_id": spec.native,
            "price": price,
            "base_increment": spec.step_size,
            "quote_increment": spec.tick_size,
            "base_name": spec.base,
            "quote_name": spec.quote,
            "status": "online",
            "cancel_only": False,
            "trading_disabled": False,
            "is_disabled": False,
            "product_type": "SPOT",
            "quote_currency_id": spec.quote,
            "base_currency_id": spec.base,
            "alias": "",
            "alias_to": [],
            "price_increment": spec.tick_size,
            "display_name": spec.native,
            "product_venue": "CBE",
        }

    def _pricebook(self, market: SymbolMarket, query: Mapping[str, str], now_ms: int) -> dict[str, Any]:
        spec = market.spec
        limit = query.get("limit", "")
        bids, asks = market.levels(int(limit) if limit.isdigit() else len(market.bids) + len(market.asks))
        return {
            "pricebook": {
                "product_id": spec.native,
                "bids": [{"price": spec.price(p), "size": spec.size(q)} for p, q in bids],
                "asks": [{"price": spec.price(p), "size": spec.size(q)} for p, q in asks],
                "time": iso(now_ms),
            }
        }

    # -- faults ---------------------------------------------------------------------------------

    def malformed(self) -> str:
        """An ``l2_data`` frame cut off mid-object."""
        return '{"channel":"l2_data","timestamp":"2026-08-09T21:05:48.505350477Z","sequence_num":14,"events":[{"ty'

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """Coinbase-shaped frames of ``spec`` with impossible values, each of which a client must reject.

        They carry no ``sequence_num`` (they are not numbered frames of the connection),
        except the one whose ``sequence_num`` is itself impossible.
        """
        product = spec.native
        price, size = spec.price(spec.start_ticks), spec.size(1)
        ts = iso(now_ms, 5)

        def message(channel: str, events: Any, **extra: Any) -> str:
            return hostile_json({"channel": channel, "timestamp": ts, **extra, "events": events})

        def trade(**changes: Any) -> str:
            t = {"product_id": product, "trade_id": "1", "price": price, "size": size, "time": ts, "side": "BUY"}
            return message("market_trades", [{"type": "update", "trades": [t | changes]}])

        def level(**changes: Any) -> str:
            u = {"side": "bid", "event_time": ts, "price_level": price, "new_quantity": size} | changes
            return message("l2_data", [{"type": "update", "product_id": product, "updates": [u]}])

        def ticker(**changes: Any) -> str:
            t = {"type": "ticker", "product_id": product, "price": price, "best_bid": price, "best_ask": price}
            return message("ticker", [{"type": "update", "tickers": [t | changes]}])

        def candle(**changes: Any) -> str:
            c = {"start": str(now_ms // 1000), "high": price, "low": price, "open": price, "close": price}
            c |= {"volume": size, "product_id": product}
            return message("candles", [{"type": "update", "candles": [c | changes]}])

        return [
            (trade(price="NaN"), "NaN price"),
            (trade(price="Infinity"), "infinite price"),
            (trade(price="0"), "zero price"),
            (trade(price="-" + price), "negative price"),
            (trade(size="-" + size), "negative size"),
            (trade(price=[price]), "price of the wrong type"),
            (trade(side="SIDEWAYS"), "unknown maker side"),
            (trade(time="yesterday"), "a time that is no RFC 3339 time"),
            (level(price_level="nan"), "NaN book level"),
            (level(new_quantity="-" + size), "negative book size"),
            (level(side="ask"), "book side 'ask' (Coinbase says 'offer')"),
            (ticker(price="n/a"), "ticker price that is not a number"),
            (ticker(best_bid="NaN"), "NaN ticker price"),
            (ticker(best_ask_quantity="-3"), "negative ticker size"),
            (candle(high="-1"), "negative candle price"),
            (candle(start=str(2**70)), "candle start beyond 64 bits"),
            (message("heartbeats", [], sequence_num=2**70), "sequence_num beyond 64 bits"),
            (message("market_trades", None), "null events"),
            (message("notachannel", []), "unknown channel"),
            (trade(product_id="NOSUCH-PRODUCT"), "unknown product"),
            (hostile_json({"type": "error", "message": "Failure to subscribe"}), "a refusal"),
        ]


def _refuse(message: str) -> Control:
    """Coinbase's error reply (no channel, no ``sequence_num``)."""
    return Control(dumps({"type": "error", "message": message}))
