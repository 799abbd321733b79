"""BitMEX's realtime wire format over the neutral market (``shared/exchanges/bitmex.md``).

- One websocket path, ``/realtime``. The welcome ``{"info":"Welcome to the BitMEX Realtime
  API.",...}`` goes out as soon as a connection opens.
- ``{"op":"subscribe"|"unsubscribe","args":[topic, ...]}`` (``args`` may be one string) is
  answered per topic: ``{"success":true,"subscribe":"trade:XBTUSD","request":{...}}`` followed
  by that table's ``partial``, or ``{"status":400,"error":"...","meta":{},"request":{...}}`` for
  an unknown table or symbol or a topic already subscribed. A topic without ``:symbol``
  subscribes every market. The literal ``ping`` is answered with ``pong``; the server
  never pings on its own.
- Tables: ``orderBookL2`` (every level) and ``orderBookL2_25`` send ``delete``, ``update`` and
  ``insert`` frames in that order each step (so no intermediate book is crossed), every row
  with its ``price`` and an opaque ``id``; ``quote`` on a best bid/offer change; ``trade``
  rows with the taker side; ``instrument`` ``update`` rows with the changed fields only;
  ``tradeBin1m``/``5m``/``1h``/``1d`` when a bar closes (timestamp = its end);
  ``liquidation`` ``insert`` then ``delete`` rows. Other public tables (``funding``,
  ``settlement`` ...) are acknowledged and stay silent. Null fields are left out, as BitMEX
  does since 2023.
- REST ``GET /api/v1/instrument/active``.

Sizes are contracts: ``XBTUSD`` 1 USD each in lots of 100, linear ``XBTUSDT`` 1e-6 XBT each,
quanto ``ETHUSD`` 100 satoshi per USD of price (converted at :data:`.sim_market.XBT_USD`).
Books carry no sequence and no checksum (:attr:`BitmexWire.sequenced` is ``False``): a
withheld diff is invisible, as on BitMEX.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from ...errors import UnknownExchange, UnknownSymbol, UsageError
from ...simulator.market import InstrumentSpec, SymbolMarket, Update, split_symbol, start_price
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, WireFormat, dumps
from .sim_market import XBT_USD, BitmexMarket, Changes, View, iso
from .sim_rows import (
    DEFAULT_BOOK,
    NAMES,
    bin_row,
    book_row,
    hostile_frames,
    instrument_fields,
    listing,
    quote_row,
    terms_of,
)

__all__ = ["DEFAULT_BOOK", "BitmexWire"]

_BOOKS = {"orderBookL2": None, "orderBookL2_25": 25}
_BINS = {"tradeBin1m": "1m", "tradeBin5m": "5m", "tradeBin1h": "1h", "tradeBin1d": "1d"}
_BIN_TABLES = {interval: table for table, interval in _BINS.items()}
_DATA_TABLES = frozenset({"trade", "quote", "instrument", "liquidation", *_BOOKS, *_BINS})
# Public tables the synthetic market has nothing for: acknowledged, never delivered.
_SILENT_TABLES = frozenset({"funding", "settlement", "insurance", "orderBook10", "quoteBin1m", "quoteBin1h"})
_MONTHS = "FGHJKMNQUVXZ"
_ROUTE = "realtime"


class BitmexWire(WireFormat):
    """BitMEX realtime market data for the ``bitmex`` exchange id."""

    default_ws = "wss://ws.bitmex.com"
    default_rest = "https://www.bitmex.com"
    endpoint_path = "/realtime"
    instruments_path = "/api/v1/instrument/active"
    # "There is no sequence number and no checksum."
    sequenced = False

    def __init__(self, exchange: str = "bitmex") -> None:
        if exchange != "bitmex":
            raise UnknownExchange(f"the BitMEX wire format serves 'bitmex', not {exchange!r}")
        super().__init__(exchange)
        self._markets: dict[str, BitmexMarket] = {}
        self._views: dict[tuple[str, str], View] = {}

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """``BTC/USD:BTC`` (``XBTUSD``), ``BTC/USDT:USDT`` (``XBTUSDT``), ``BTC/USD:BTC-YYMMDD``
        (``XBTZ25``), quanto ``ETH/USD:BTC`` (``ETHUSD``), spot ``BTC/USDT`` (``XBT_USDT``)."""
        try:
            base, quote, settle, expiry = split_symbol(symbol)
            month = datetime.strptime(expiry, "%y%m%d") if expiry else None
        except ValueError as exc:
            raise UnknownSymbol(f"bitmex: {exc}") from None
        if settle is not None and settle not in (base, quote, "BTC"):
            raise UnknownSymbol(f"bitmex lists no {symbol!r}: contracts settle in the base, the quote or BTC")
        b, q = NAMES.get(base, base), NAMES.get(quote, quote)
        code = f"{_MONTHS[month.month - 1]}{month:%y}" if month is not None else ""
        if settle is None:
            native = f"{b}_{q}"
        elif settle == base and code:
            native = f"{b}{code}"  # XBTZ25
        else:
            native = f"{b}{q}{code}"
        rng = random.Random(f"{seed}:bitmex:{symbol}:spec")
        price = start_price(base, rng)
        decimals = min(8, max(0, 5 - math.floor(math.log10(price))))
        spec = InstrumentSpec(
            symbol=symbol,
            native=native,
            base=base,
            quote=quote,
            settle=settle,
            expiry=expiry,
            price_decimals=decimals,
            size_decimals=0,
            start_ticks=round(price * 10**decimals),
            mean_lots=1,
        )
        terms = terms_of(spec)
        per_lot = {"inverse": terms.lot, "quanto": terms.multiplier * 1e-8 * XBT_USD * price}.get(
            terms.kind, terms.lot / (terms.position_multiplier or 1) * price
        )
        # The model aggregates inverse volume when contract_size is not 1: a lot is `lot` USD.
        contract_size = float(terms.lot) if terms.kind == "inverse" else 1.0
        return InstrumentSpec(
            symbol=symbol,
            native=native,
            base=base,
            quote=quote,
            settle=settle,
            expiry=expiry,
            price_decimals=decimals,
            size_decimals=0,
            start_ticks=spec.start_ticks,
            mean_lots=max(1, round(3000.0 / per_lot)),
            contract_size=contract_size,
        )

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A :class:`BitmexMarket`; the wire keeps it to answer subscriptions and REST."""
        rng = random.Random(f"{seed}:bitmex:{spec.native}")
        market = BitmexMarket(spec, rng, terms_of(spec), depth=depth, start_id=10**9 + rng.randrange(10**8))
        self._markets[spec.native] = market
        return market

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        return _ROUTE if path.strip("/") == _ROUTE else None

    def ws_path(self, route: str) -> str:
        return "/" + _ROUTE

    def stream_route(self, stream: str) -> str:
        return _ROUTE

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """Trades, quotes, full books and ``interval`` bars of every market, 20 topics a request."""
        table = _BIN_TABLES.get(interval)
        if table is None:
            raise UsageError(f"bitmex has no tradeBin for {interval!r}; use one of {', '.join(_BINS.values())}")
        topics = [f"{t}:{spec.native}" for spec in specs for t in ("trade", "quote", DEFAULT_BOOK, table)]
        return {_ROUTE: [dumps({"op": "subscribe", "args": topics[i : i + 20]}) for i in range(0, len(topics), 20)]}

    def wanted_intervals(self, stream: str) -> str | None:
        return _BINS.get(stream.partition(":")[0])

    def stream_book_key(self, stream: str) -> str | None:
        table, _, native = stream.partition(":")
        return native if table in _BOOKS else None

    def greeting(self, session: Session, now_ms: int) -> list[str | bytes]:
        """The welcome BitMEX sends on connect (``heartbeatEnabled`` false: the server never pings)."""
        welcome = {
            "info": "Welcome to the BitMEX Realtime API.",
            "version": "2.0.0",
            "timestamp": iso(now_ms),
            "docs": "https://www.bitmex.com/app/wsAPI",
            "heartbeatEnabled": False,
            "limit": {"remaining": 59},
        }
        return [dumps(welcome)]

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        if text == "ping":
            return Control("pong")
        try:
            request = orjson.loads(text)
            op, args = request.get("op"), request.get("args", [])
        except (orjson.JSONDecodeError, AttributeError):
            request, op, args = text, None, []
        if isinstance(args, str):
            args = [args]
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list):
            return Control(_error("Unrecognized request. See the docs or send 'help' for more details.", request))
        frames: list[str | bytes] = []
        subscribe: list[str] = []
        unsubscribe: list[str] = []
        for topic in args:
            streams, problem = self._streams(topic, markets)
            if problem:
                frames.append(_error(problem, request))
            elif op == "unsubscribe":
                unsubscribe += streams
                frames.append(dumps({"success": True, "unsubscribe": topic, "request": request}))
            elif any(s in session.streams or s in subscribe for s in streams):
                frames.append(_error(f"You are already subscribed to this topic: {topic}", request))
            else:
                subscribe += streams
                frames.append(dumps({"success": True, "subscribe": topic, "request": request}))
                frames.extend(self._partial(s, markets, now_ms) for s in streams)
        if not frames:
            return Control(None)  # "args": []
        return Control(frames[0], subscribe=subscribe, unsubscribe=unsubscribe, frames=frames[1:])

    def _streams(self, topic: Any, markets: Mapping[str, SymbolMarket]) -> tuple[list[str], str]:
        """The streams of a topic (``trade`` alone is every market's), or what is wrong with it."""
        if not isinstance(topic, str):
            return [], "Invalid subscription topic."
        table, _, native = topic.partition(":")
        if table not in _DATA_TABLES and table not in _SILENT_TABLES:
            return [], f"Unknown table: {table}"
        if not native:
            return [f"{table}:{n}" for n in markets], ""
        if native not in markets:
            return [], f"Unknown or expired symbol: {native}"
        return [topic], ""

    def _partial(self, stream: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> str:
        """The table image a new subscription gets first."""
        table, _, native = stream.partition(":")
        m = markets[native]
        assert isinstance(m, BitmexMarket)
        keys = ["symbol"]
        data: list[dict[str, Any]] = []
        if table in _BOOKS:
            keys = ["symbol", "id", "side"]
            bids, asks = self._view(native, table).image(m)
            stamp = iso(now_ms)
            data = [book_row(m, "Sell", t, lots, stamp) for t, lots in reversed(asks)]
            data += [book_row(m, "Buy", t, lots, stamp) for t, lots in bids]
        elif table == "trade":
            keys = []
            data = m.recent_trades
        elif table == "quote":
            keys = []
            data = [quote_row(m, m.best(), now_ms)]
        elif table == "instrument":
            fields = m.instrument = instrument_fields(m, now_ms)
            data = [{"symbol": native, **fields, "timestamp": iso(now_ms)}]
        elif table in _BINS:
            keys = []
            closed = m.closed_bins.get(_BINS[table])
            data = [closed] if closed is not None else []
        elif table == "liquidation":
            keys = ["orderID"]
            data = list(m.liquidations.values())
        return dumps({"table": table, "action": "partial", "keys": keys, "filter": {"symbol": native}, "data": data})

    # -- data -----------------------------------------------------------------------------------

    def _view(self, native: str, table: str) -> View:
        view = self._views.get((native, table))
        if view is None:
            view = self._views[native, table] = View(_BOOKS[table])
        return view

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Book rows per subscribed table, then quote, trades, instrument, closed bars and liquidations."""
        native = spec.native
        m = self._markets[native]
        out: list[Message] = []
        stamp = iso(update.time_ms)
        for table in _BOOKS:
            stream = f"{table}:{native}"
            if stream in subscribed:
                out.extend(self._book(m, table, stream, self._view(native, table).advance(m, update), stamp))
        stream = f"quote:{native}"
        if update.bbo_changed and stream in subscribed:
            out.append(Message(stream, _push("quote", "insert", [quote_row(m, update.best, update.time_ms)])))
        stream = f"trade:{native}"
        if update.fills and stream in subscribed:
            out.append(Message(stream, _push("trade", "insert", m.recent_trades)))
        stream = f"instrument:{native}"
        if stream in subscribed:
            fields = instrument_fields(m, update.time_ms)
            changed = {k: v for k, v in fields.items() if m.instrument.get(k) != v}
            m.instrument = fields
            if changed:
                row = {"symbol": native, **changed, "timestamp": stamp}
                out.append(Message(stream, _push("instrument", "update", [row])))
        for candle, closed in update.candles:
            if closed:
                row = bin_row(m, candle)
                m.closed_bins[candle.interval] = row
                bins = _BIN_TABLES.get(candle.interval)
                if bins is not None and f"{bins}:{native}" in subscribed:
                    out.append(Message(f"{bins}:{native}", _push(bins, "insert", [row])))
        stream = f"liquidation:{native}"
        if stream in subscribed:
            if m.done_liquidations:
                gone = [{"orderID": r["orderID"], "symbol": native} for r in m.done_liquidations]
                out.append(Message(stream, _push("liquidation", "delete", gone)))
            if m.liquidations:
                out.append(Message(stream, _push("liquidation", "insert", list(m.liquidations.values()))))
        return out

    def _book(self, m: BitmexMarket, table: str, stream: str, changes: Changes, stamp: str) -> list[Message]:
        out = []
        for action, rows in zip(("delete", "update", "insert"), changes, strict=True):
            if rows:
                data = [book_row(m, side, tick, lots, stamp) for side, tick, lots in rows]
                out.append(Message(stream, _push(table, action, data), m.spec.native))
        return out

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The book of ``orderBookL2`` (``depth`` 25: ``orderBookL2_25``) in contracts; no update id."""
        assert isinstance(market, BitmexMarket)
        spec = market.spec
        if depth is None:
            bids, asks = list(market.bids.items()), list(market.asks.items())
        else:
            bids, asks = market.levels(depth)
        return (
            {float(spec.price(p)): float(market.contracts(q)) for p, q in bids},
            {float(spec.price(p)): float(market.contracts(q)) for p, q in asks},
            None,
        )

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        if call.path == self.instruments_path:
            entries = [listing(m) for m in markets.values() if isinstance(m, BitmexMarket)]
            return RestAnswer(200, orjson.dumps(entries))
        return RestAnswer(404, b'{"error":{"message":"Not Found","name":"HTTPError"}}')

    def rate_limited(self) -> RestAnswer:
        return RestAnswer(429, b'{"error":{"message":"Rate limit exceeded, retry in 1 seconds.","name":"HTTPError"}}')

    # -- faults ---------------------------------------------------------------------------------

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        return hostile_frames(spec, now_ms)


def _push(table: str, action: str, data: list[dict[str, Any]]) -> str:
    return dumps({"table": table, "action": action, "data": data})


def _error(message: str, request: Any) -> str:
    return dumps({"status": 400, "error": message, "meta": {}, "request": request})
