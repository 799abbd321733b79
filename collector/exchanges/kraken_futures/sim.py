"""Kraken Futures' websocket (``/ws/v1``) and instrument listing over the neutral market.

- ``{"event":"subscribe","feed":...,"product_ids":[...]}`` is acknowledged per product with
  ``{"event":"subscribed","feed":...,"product_ids":[id]}`` (an unknown product or feed gets
  ``{"event":"error","message":...}``), then the feed's snapshot: ``book_snapshot`` (the
  whole book and its ``seq``), ``trade_snapshot`` (recent trades, newest first) or the
  current ``ticker``/``ticker_lite``. ``heartbeat`` is its own feed, sent every second.
- ``book``: one message per changed level, ``seq`` + 1 each (the market's update ids,
  one per level change), absolute ``qty`` in contracts, 0 removes.
- ``trade``: one message per fill, ``side`` the taker's, ``seq`` per product; every tenth
  fill is a ``liquidation``. ``ticker``/``ticker_lite``: at most one per product and second
  ("delta messages are throttled such that they are published every 1s").
- REST ``/derivatives/api/v3/instruments`` in the current format (``base``/``quote``,
  uppercase symbols), with the index entries Kraken lists beside the contracts.

Inverse contracts (``PI_``/``FI_``) are 1 USD each, so sizes are whole contracts; linear
ones (``PF_``/``FF_``) are one base unit each. Faults: ``GAP`` withholds one ``book``
message, so the next ``seq`` skips one.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from ...errors import UnknownExchange, UnknownSymbol
from ...simulator.market import Fill, InstrumentSpec, SymbolMarket, Update, split_symbol, start_price
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, WireFormat, hostile_json

__all__ = ["FuturesMarket", "KrakenFuturesSession", "KrakenFuturesWire"]

_FEEDS = ("book", "trade", "ticker", "ticker_lite")
_CODES = {"BTC": "XBT", "DOGE": "XDG"}
_HOUR_MS = 3_600_000
_RECENT = 50  # trades a trade_snapshot carries


def _delivery_ms(expiry: str) -> int:
    """``YYMMDD`` -> 16:00 UTC of that day, when Kraken's dated contracts stop trading."""
    return int(datetime.strptime(expiry, "%y%m%d").replace(hour=16, tzinfo=UTC).timestamp() * 1000)


class FuturesMarket(SymbolMarket):
    """A market that also keeps the ticker's statistics and the most recent trades."""

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, start_id: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.open_ticks = self.high = self.low = spec.start_ticks
        self.volume_lots = 0
        self.notional = 0.0  # quote units
        self.recent: deque[Fill] = deque(maxlen=_RECENT)
        self.ticker_sent = -1_000_000  # ms of the last ticker published

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and update the statistics."""
        update = super().step(time_ms)
        for f in update.fills:
            self.high = max(self.high, f.ticks)
            self.low = min(self.low, f.ticks)
            self.volume_lots += f.lots
            self.notional += f.ticks * f.lots / 10**self.spec.price_decimals / 10**self.spec.size_decimals
            self.recent.append(f)
        return update


class KrakenFuturesSession(Session):
    """A connection: its streams and whether it subscribed the heartbeat feed."""

    def __init__(self, route: str) -> None:
        super().__init__(route)
        self.heartbeat = False


class KrakenFuturesWire(WireFormat):
    """Kraken Futures for the ``kraken_futures`` exchange id."""

    default_ws = "wss://futures.kraken.com"
    default_rest = "https://futures.kraken.com"
    endpoint_path = "/ws/v1"
    instruments_path = "/derivatives/api/v3/instruments"
    heartbeat_interval = 1.0

    def __init__(self, exchange: str = "kraken_futures") -> None:
        if exchange != "kraken_futures":
            raise UnknownExchange(f"the Kraken Futures wire format serves 'kraken_futures', not {exchange!r}")
        super().__init__(exchange)
        self._markets: dict[str, FuturesMarket] = {}

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """``BTC/USD:BTC`` -> ``PI_XBTUSD``, ``BTC/USD:USD`` -> ``PF_XBTUSD``, ``-YYMMDD`` -> ``FI_``/``FF_``."""
        try:
            base, quote, settle, expiry = split_symbol(symbol)
            if expiry is not None:
                _delivery_ms(expiry)
        except ValueError as exc:
            raise UnknownSymbol(f"kraken_futures: {exc}") from None
        if settle == base:
            prefix = "FI" if expiry else "PI"
        elif settle == quote:
            prefix = "FF" if expiry else "PF"
        else:
            raise UnknownSymbol(
                f"kraken_futures lists no {symbol!r}; symbols look like BTC/USD:BTC, BTC/USD:USD, BTC/USD:BTC-YYMMDD"
            )
        native = f"{prefix}_{_CODES.get(base, base)}{quote}" + (f"_{expiry}" if expiry else "")
        rng = random.Random(f"{seed}:kraken_futures:{symbol}:spec")
        price = start_price(base, rng)
        magnitude = math.floor(math.log10(price))
        inverse = prefix[1] == "I"
        price_decimals = min(8, max(0, 5 - magnitude))
        size_decimals = 0 if inverse else min(8, max(0, magnitude))
        return InstrumentSpec(
            symbol=symbol,
            native=native,
            base=base,
            quote=quote,
            settle=settle,
            expiry=expiry,
            price_decimals=price_decimals,
            size_decimals=size_decimals,
            start_ticks=round(price * 10**price_decimals),
            # Inverse: 1 USD contracts; linear: base units.
            mean_lots=3000 if inverse else max(1, round(3000.0 / price * 10**size_decimals)),
        )

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A :class:`FuturesMarket`; the wire keeps it to answer subscriptions and REST."""
        rng = random.Random(f"{seed}:kraken_futures:{spec.native}")
        market = FuturesMarket(spec, rng, depth=depth, start_id=10**7 + rng.randrange(10**7))
        self._markets[spec.native] = market
        return market

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """``ws/v1`` is the only websocket served."""
        return "v1" if path.strip("/") == "ws/v1" else None

    def stream_route(self, stream: str) -> str:
        """Every feed is served on ``/ws/v1``."""
        return "v1"

    def open(self, route: str) -> Session:
        return KrakenFuturesSession(route)

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """The heartbeat feed, then book, trade and ticker of every contract (Kraken Futures has no candles)."""
        products = [spec.native for spec in specs]
        frames = [orjson.dumps({"event": "subscribe", "feed": "heartbeat"}).decode()]
        for feed in ("book", "trade", "ticker"):
            frames.append(orjson.dumps({"event": "subscribe", "feed": feed, "product_ids": products}).decode())
        return {"v1": frames}

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer subscribe/unsubscribe: one ack per product, then the feed's snapshot."""
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            return Control(_error("Json Error"))
        if not isinstance(msg, dict) or msg.get("event") not in ("subscribe", "unsubscribe"):
            return Control(_error("Invalid event"))
        event, feed = msg["event"], msg.get("feed")
        past = "subscribed" if event == "subscribe" else "unsubscribed"
        if feed == "heartbeat":
            if isinstance(session, KrakenFuturesSession):
                session.heartbeat = event == "subscribe"
            return Control(orjson.dumps({"event": past, "feed": "heartbeat"}).decode())
        if feed not in _FEEDS:
            return Control(_error("Invalid feed"))
        products = msg.get("product_ids")
        if not isinstance(products, list) or not products or not all(isinstance(p, str) for p in products):
            return Control(_error("Invalid product id"))
        replies: list[str] = []
        frames: list[str | bytes] = []
        added: list[str] = []
        removed: list[str] = []
        for raw in products:
            native = raw.upper()
            market = markets.get(native)
            if not isinstance(market, FuturesMarket):
                replies.append(_error("Invalid product id"))
                continue
            stream = f"{feed}:{native}"
            replies.append(orjson.dumps({"event": past, "feed": feed, "product_ids": [native]}).decode())
            if event == "unsubscribe":
                removed.append(stream)
            elif stream not in session.streams and stream not in added:
                added.append(stream)
                frames.append(self._snapshot(feed, market, now_ms))
        return Control(replies[0], subscribe=added, unsubscribe=removed, frames=[*replies[1:], *frames])

    def _snapshot(self, feed: str, market: FuturesMarket, now_ms: int) -> str:
        spec = market.spec
        if feed == "book":
            bids, asks = market.levels(len(market.bids) + len(market.asks))
            price, size = spec.price, spec.size
            bid_text = ",".join(f'{{"price":{price(p)},"qty":{size(q)}}}' for p, q in bids)
            ask_text = ",".join(f'{{"price":{price(p)},"qty":{size(q)}}}' for p, q in asks)
            return (
                f'{{"feed":"book_snapshot","product_id":"{spec.native}","timestamp":{now_ms},'
                f'"seq":{market.last_id},"tickSize":null,"bids":[{bid_text}],"asks":[{ask_text}]}}'
            )
        if feed == "trade":
            trades = ",".join(self._trade(spec, f) for f in reversed(market.recent))
            return f'{{"feed":"trade_snapshot","product_id":"{spec.native}","trades":[{trades}]}}'
        return self._ticker(market, feed, now_ms)

    def heartbeat(self, session: Session, now_ms: int) -> list[str | bytes]:
        """``{"feed":"heartbeat","time":...}`` to connections that subscribed the heartbeat feed."""
        if isinstance(session, KrakenFuturesSession) and session.heartbeat:
            return [f'{{"feed":"heartbeat","time":{now_ms}}}']
        return []

    def stream_book_key(self, stream: str) -> str | None:
        """``book:PI_XBTUSD`` -> ``PI_XBTUSD``."""
        feed, _, native = stream.partition(":")
        return native if feed == "book" else None

    # -- stream payloads ------------------------------------------------------------------------

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Book messages (one per level), trades and, once a second, tickers of one market step."""
        market = self._markets[spec.native]
        native = spec.native
        out: list[Message] = []
        stream = f"book:{native}"
        if update.first_id is not None and stream in subscribed:
            price, size = spec.price, spec.size
            seq = update.first_id
            changes = [("buy", p, q) for p, q in update.bids] + [("sell", p, q) for p, q in update.asks]
            # Removals first, as the matching engine publishes them: every level in between is
            # then one the book keeps, so no intermediate book is crossed.
            changes.sort(key=_removals_first)
            for side, p, q in changes:
                text = (
                    f'{{"feed":"book","product_id":"{native}","side":"{side}","seq":{seq},'
                    f'"price":{price(p)},"qty":{size(q)},"timestamp":{update.time_ms}}}'
                )
                out.append(Message(stream, text, native))
                seq += 1
        if update.fills and f"trade:{native}" in subscribed:
            out.extend(Message(f"trade:{native}", self._trade(spec, f)) for f in update.fills)
        if update.time_ms - market.ticker_sent >= 1000:
            sent = False
            for feed in ("ticker", "ticker_lite"):
                if f"{feed}:{native}" in subscribed:
                    out.append(Message(f"{feed}:{native}", self._ticker(market, feed, update.time_ms)))
                    sent = True
            if sent:
                market.ticker_sent = update.time_ms
        return out

    @staticmethod
    def _trade(spec: InstrumentSpec, f: Fill) -> str:
        kind = "liquidation" if f.agg_id % 10 == 0 else "fill"
        uid = f"{f.agg_id:08x}-{f.first_id & 0xFFFF:04x}-4000-8000-{f.last_id:012x}"
        return (
            f'{{"feed":"trade","product_id":"{spec.native}","uid":"{uid}",'
            f'"side":"{"sell" if f.buyer_maker else "buy"}","type":"{kind}","seq":{f.agg_id},'
            f'"time":{f.time_ms},"qty":{spec.size(f.lots)},"price":{spec.price(f.ticks)}}}'
        )

    def _ticker(self, market: FuturesMarket, feed: str, now_ms: int) -> str:
        spec = market.spec
        price, size = spec.price, spec.size
        scale = 10**spec.price_decimals
        bid, bid_lots, ask, ask_lots = market.best()
        mid = (bid + ask) / 2 / scale
        inverse = spec.settle == spec.base
        volume = size(market.volume_lots)
        volume_quote = volume if inverse else f"{market.notional:.2f}"
        change = 100.0 * (market.last_price - market.open_ticks) / market.open_ticks
        pair = f"{_CODES.get(spec.base, spec.base)}:{spec.quote}"
        tag = "perpetual" if spec.expiry is None else "month"
        maturity = _delivery_ms(spec.expiry) if spec.expiry else 0
        dtm = max(0, (maturity - now_ms) // 86_400_000) if maturity else 0
        head = f'{{"feed":"{feed}","product_id":"{spec.native}","bid":{price(bid)},"ask":{price(ask)},'
        if feed == "ticker_lite":
            return (
                f'{head}"change":{change:.6f},"premium":0.0,"volume":{volume},"tag":"{tag}","pair":"{pair}",'
                f'"dtm":{dtm},"maturityTime":{maturity},"volumeQuote":{volume_quote}}}'
            )
        interest = spec.mean_lots * 2000 / 10**spec.size_decimals
        text = (
            f'{{"time":{now_ms},"feed":"ticker","product_id":"{spec.native}","bid":{price(bid)},'
            f'"ask":{price(ask)},"bid_size":{size(bid_lots)},"ask_size":{size(ask_lots)},"volume":{volume},'
            f'"dtm":{dtm},"leverage":"50x","index":{mid:.{spec.price_decimals}f},"premium":0.0,'
            f'"last":{price(market.last_price)},"change":{change:.6f},"suspended":false,"tag":"{tag}",'
            f'"pair":"{pair}","openInterest":{interest},"markPrice":{mid},"maturityTime":{maturity},'
            f'"post_only":false,"volumeQuote":{volume_quote}'
        )
        if spec.expiry is None:
            # Funding accrues hourly: the relative rate is a fraction of notional, the absolute
            # one an amount per contract (quote per base unit, or base coin per USD contract).
            relative = 0.0000125
            absolute = relative / mid if inverse else relative * mid
            next_ms = now_ms - now_ms % _HOUR_MS + _HOUR_MS
            text += (
                f',"funding_rate":{absolute:.12g},"funding_rate_prediction":{absolute * 0.9:.12g},'
                f'"relative_funding_rate":{relative},"relative_funding_rate_prediction":{relative * 0.9:.8g},'
                f'"next_funding_rate_time":{next_ms}'
            )
        return text + "}"

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """``/derivatives/api/v3/instruments``: the contracts, then the indices behind them."""
        if call.path != self.instruments_path or call.method != "GET":
            return RestAnswer(404, b'{"result":"error","error":"Not Found"}')
        listed: list[dict[str, Any]] = []
        indices: dict[str, None] = {}
        for market in markets.values():
            spec = market.spec
            inverse = spec.settle == spec.base
            code = _CODES.get(spec.base, spec.base)
            underlying = f"rr_{code.lower()}{spec.quote.lower()}"
            indices[underlying] = None
            entry: dict[str, Any] = {
                "symbol": spec.native,
                "type": "futures_inverse" if inverse else "flexible_futures",
                "underlying": underlying,
                "tickSize": float(spec.tick_size),
                "contractSize": 1,
                "tradeable": True,
                "impactMidSize": 1,
                "maxPositionSize": 1000000,
                "openingDate": "2022-01-01T00:00:00.000Z",
                "marginLevels": [{"contracts": 0, "initialMargin": 0.02, "maintenanceMargin": 0.01}],
                "contractValueTradePrecision": spec.size_decimals,
                "postOnly": False,
                "base": spec.base,
                "quote": spec.quote,
                "pair": f"{spec.base}:{spec.quote}",
                "tradfi": False,
                "isExpired": False,
            }
            if spec.expiry:
                entry["lastTradingTime"] = datetime.fromtimestamp(_delivery_ms(spec.expiry) / 1000, UTC).strftime(
                    "%Y-%m-%dT%H:%M:%S.000Z"
                )
            else:
                entry["fundingRateCoefficient"] = 8
                entry["maxRelativeFundingRate"] = 0.001
            listed.append(entry)
        listed += [{"symbol": name, "type": "spot index", "tradeable": False} for name in indices]
        body = {"result": "success", "instruments": listed, "serverTime": datetime.now(UTC).isoformat()}
        return RestAnswer(200, orjson.dumps(body))

    # -- faults ---------------------------------------------------------------------------------

    def malformed(self) -> str:
        """A book message cut off mid-number."""
        return '{"feed":"book","product_id":"PI_XBTUSD","side":"buy","seq":1234,"price":600'

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """Kraken Futures-shaped frames of ``spec`` with impossible values, each of which a client must reject."""
        native = spec.native
        price, size = float(spec.price(spec.start_ticks)), float(spec.size(1))

        def book(**changes: Any) -> str:
            d = {"feed": "book", "product_id": native, "side": "buy", "seq": 5, "price": price, "qty": size}
            return hostile_json(d | {"timestamp": now_ms} | changes)

        def trade(**changes: Any) -> str:
            t = {"feed": "trade", "product_id": native, "uid": "x", "side": "buy", "type": "fill", "seq": 1}
            return hostile_json(t | {"time": now_ms, "qty": size, "price": price} | changes)

        def ticker(**changes: Any) -> str:
            t = {"time": now_ms, "feed": "ticker", "product_id": native, "bid": price, "ask": price}
            return hostile_json(t | {"bid_size": size, "ask_size": size, "markPrice": price} | changes)

        return [
            (book(price=float("nan")), "NaN price"),
            (book(price="Infinity"), "infinite price"),
            (book(price=0), "zero price"),
            (book(qty=-size), "negative size"),
            (book(seq=2**70), "sequence beyond 64 bits"),
            (book(side="middle"), "unknown book side"),
            (book(price=[price]), "price of the wrong type"),
            (trade(price=-price), "negative trade price"),
            (trade(qty="NaN"), "NaN trade size"),
            (trade(side="sideways"), "unknown taker side"),
            (trade(time=2**60), "time beyond 2**53 ms"),
            (ticker(markPrice=-1), "negative mark price"),
            (ticker(bid="NaN"), "NaN bid"),
            (ticker(openInterest=1e400), "infinite open interest"),
            (
                hostile_json({"feed": "book_snapshot", "product_id": native, "seq": 1, "bids": [{"price": "nan"}]}),
                "snapshot level without a size",
            ),
            (hostile_json({"feed": "trade_snapshot", "product_id": native, "trades": None}), "null trades"),
            (hostile_json({"feed": "nosuchfeed", "product_id": native}), "unknown feed"),
            (trade(product_id="PI_NOSUCH"), "unknown product"),
        ]


def _removals_first(change: tuple[str, int, int]) -> bool:
    return change[2] != 0


def _error(message: str) -> str:
    return orjson.dumps({"event": "error", "message": message}).decode()
