"""Deribit's JSON-RPC websocket (``/ws/api/v2``) and instrument listing over the neutral market.

Everything follows ``shared/exchanges/deribit.md``:

- JSON-RPC requests get their ``result`` or ``error`` (:mod:`.sim_rpc`).
- ``public/subscribe`` answers with "the list of channels actually subscribed": ``raw``
  intervals (authorized users only) and channels of unknown instruments are missing from
  it; a new ``book`` channel pushes its ``snapshot`` right after the reply.
  ``public/unsubscribe`` answers with the channels it removed; ``private/subscribe`` is refused.
- ``public/set_heartbeat`` (``interval`` >= 10) starts ``heartbeat`` notifications, every
  fifth a ``test_request``; ``public/test`` answers ``{"version":...}``. The simulator sends
  them every second whatever the interval asked, so tests need not wait.
- ``book.<i>.<100ms|agg2>``: ``change`` notifications whose ``prev_change_id`` is the previous
  ``change_id`` (the market's update ids), ``[action, price, amount]`` with ``new``/``change``/
  ``delete``. ``trades.<i>.<interval>``: one trade per fill (every tenth taker and every
  fifteenth maker a liquidation). ``ticker.<i>.<interval>``: when the touch moves or a trade
  happens, and at least every second. ``chart.trades.<i>.<resolution>`` for resolutions the
  model aggregates (1, 3, 5, 15, 30, 60, 120, 360, 720, 1D): the bar after each trade, the
  final bar and a filling sample for the next one at each period's end.
- REST ``/api/v2/public/get_instruments?currency=...`` (spot under its base coin, the rest
  under its settlement currency).

Faults: ``GAP`` withholds one ``change`` notification of that instrument, so the next one's
``prev_change_id`` does not link and a correct client resubscribes. Grouped books and
capture playback are not simulated.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from ...errors import UnknownExchange
from ...simulator.market import INTERVAL_MS, InstrumentSpec, SymbolMarket, Update
from ...simulator.wire import Message, RestAnswer, RestCall, Session, WireFormat, hostile_json
from .adapter import CURRENCIES
from .sim_market import (
    DeribitMarket,
    Names,
    amount_text,
    book_levels,
    chart_data,
    listing_entry,
    spec_for,
    ticker_data,
    trades_data,
)
from .sim_rpc import INTERVALS, RESOLUTIONS, DeribitSession, RpcMethods, call_text, notification, rpc_error, rpc_result

__all__ = ["DeribitSession", "DeribitWire"]


_LISTED = frozenset({*CURRENCIES, "any"})  # currencies get_instruments accepts


class _Channels:
    """The notification channels of one instrument, by kind."""

    __slots__ = ("books", "charts", "tickers", "trades")

    def __init__(self, native: str) -> None:
        self.books = [f"book.{native}.{i}" for i in INTERVALS]
        self.trades = [f"trades.{native}.{i}" for i in INTERVALS]
        self.tickers = [f"ticker.{native}.{i}" for i in INTERVALS]
        self.charts = [(interval, f"chart.trades.{native}.{r}") for r, interval in RESOLUTIONS.items()]


class DeribitWire(RpcMethods, WireFormat):
    """Deribit for the ``deribit`` exchange id: futures, perpetuals, options and spot."""

    default_ws = "wss://www.deribit.com"
    default_rest = "https://www.deribit.com"
    endpoint_path = "/ws/api/v2"
    instruments_path = "/api/v2/public/get_instruments"
    heartbeat_interval = 1.0

    def __init__(self, exchange: str = "deribit") -> None:
        if exchange != "deribit":
            raise UnknownExchange(f"the Deribit wire format serves 'deribit', not {exchange!r}")
        super().__init__(exchange)
        self._names: dict[str, Names] = {}  # by native id
        self._markets: dict[str, DeribitMarket] = {}
        self._channels: dict[str, _Channels] = {}
        self.tests_answered = 0
        self._rpc = self._methods()

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """``BTC/USD:BTC`` -> ``BTC-PERPETUAL``, ``BTC/USDC:USDC`` -> ``BTC_USDC-PERPETUAL``,
        ``BTC/USD:BTC-241227`` -> ``BTC-27DEC24``, ``BTC/USD:BTC-241227-100000-C`` -> ``BTC-27DEC24-100000-C``,
        ``BTC/USDC`` -> ``BTC_USDC``."""
        spec, names = spec_for(symbol, seed)
        self._names[spec.native] = names
        return spec

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A :class:`DeribitMarket`; the wire keeps it to answer subscriptions."""
        names = self._names.get(spec.native) or spec_for(spec.symbol, seed)[1]
        rng = random.Random(f"{seed}:deribit:{spec.native}")
        market = DeribitMarket(spec, names, rng, depth=depth, start_id=3 * 10**10 + rng.randrange(10**9))
        self._markets[spec.native] = market
        self._channels[spec.native] = _Channels(spec.native)
        return market

    def instrument_queries(self, keys: Collection[str]) -> list[dict[str, str]]:
        """Every listing the adapter asks for (``currency=...&expired=false``); currencies without markets list none."""
        return [{"currency": currency, "expired": "false"} for currency in CURRENCIES]

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """``ws/api/v2`` is the only websocket served."""
        return "v2" if path.strip("/") == "ws/api/v2" else None

    def stream_route(self, stream: str) -> str:
        return "v2"

    def open(self, route: str) -> Session:
        return DeribitSession(route)

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """Heartbeats, then book, trades, ticker (``100ms``) and ``interval`` charts of every instrument."""
        resolution = next((r for r, i in RESOLUTIONS.items() if i == interval), None)
        channels = []
        for spec in specs:
            n = spec.native
            channels += [f"book.{n}.100ms", f"trades.{n}.100ms", f"ticker.{n}.100ms"]
            if resolution is not None:
                channels.append(f"chart.trades.{n}.{resolution}")
        return {
            "v2": [
                call_text(1, "public/set_heartbeat", {"interval": 30}),
                call_text(2, "public/subscribe", {"channels": channels}),
            ]
        }

    def wanted_intervals(self, stream: str) -> str | None:
        """``chart.trades.<i>.<resolution>`` needs the market to aggregate that interval."""
        parts = stream.split(".")
        return RESOLUTIONS.get(parts[3]) if len(parts) == 4 and parts[0] == "chart" else None

    def stream_book_key(self, stream: str) -> str | None:
        """``book.BTC-PERPETUAL.100ms`` -> ``BTC-PERPETUAL``."""
        parts = stream.split(".")
        return parts[1] if len(parts) == 3 and parts[0] == "book" else None

    # -- stream payloads ------------------------------------------------------------------------

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Book changes, trades, tickers and chart bars of one market step, for the subscribed channels."""
        native = spec.native
        market = self._markets[native]
        channels = self._channels[native]
        out: list[Message] = []
        if update.first_id is not None:
            data = None
            for channel in channels.books:
                if channel in subscribed:
                    if data is None:
                        data = (
                            f'{{"type":"change","timestamp":{update.time_ms},"prev_change_id":{update.prev_id},'
                            f'"instrument_name":"{native}","change_id":{update.last_id},'
                            f'"bids":{book_levels(market, update.bids, market.was_bids)},'
                            f'"asks":{book_levels(market, update.asks, market.was_asks)}}}'
                        )
                    out.append(Message(channel, notification(channel, data), native))
        if update.fills:
            data = None
            for channel in channels.trades:
                if channel in subscribed:
                    data = data or trades_data(market, update.fills)
                    out.append(Message(channel, notification(channel, data)))
        if update.bbo_changed or update.fills or update.time_ms - market.ticker_sent >= 1000:
            data = None
            for channel in channels.tickers:
                if channel in subscribed:
                    data = data or ticker_data(market, update.time_ms)
                    out.append(Message(channel, notification(channel, data)))
            if data is not None:
                market.ticker_sent = update.time_ms
        if update.candles:
            out.extend(self._charts(market, channels, update, subscribed))
        return out

    def _charts(
        self, market: DeribitMarket, channels: _Channels, update: Update, subscribed: Collection[str]
    ) -> list[Message]:
        out: list[Message] = []
        for interval, channel in channels.charts:
            if channel not in subscribed:
                continue
            bars = [c for c, _ in update.candles if c.interval == interval]
            for candle, closed in update.candles:
                if candle.interval != interval or not closed:
                    continue
                if not any(c.start_ms == candle.end_ms for c in bars):
                    # "When there is no trade during the requested resolution period, a filling
                    # sample is generated which uses data from the last available trade candle."
                    length = INTERVAL_MS[interval]
                    filling = type(candle)(interval, candle.end_ms, candle.end_ms + length, *[candle.close] * 4)
                    bars.append(filling)
            out.extend(Message(channel, notification(channel, chart_data(market, c))) for c in bars)
        return out

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The whole book with amounts as a client reads them: USD on inverse contracts, the coin otherwise."""
        assert isinstance(market, DeribitMarket)
        spec, names = market.spec, market.names
        bids = {float(spec.price(p)): float(amount_text(spec, names, q)) for p, q in market.bids.items()}
        asks = {float(spec.price(p)): float(amount_text(spec, names, q)) for p, q in market.asks.items()}
        return bids, asks, market.last_id

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """``/api/v2/public/get_instruments``: the simulated instruments of one currency (and kind)."""
        if call.path != self.instruments_path:
            return RestAnswer(404, rpc_error(None, -32601, "Method not found", now_ms).encode())
        currency = call.query.get("currency", "")
        if currency not in _LISTED:
            return RestAnswer(400, rpc_error(None, -32602, "Invalid params", now_ms, {"param": "currency"}).encode())
        kind = call.query.get("kind")
        listed = []
        for n, market in enumerate(markets.values()):
            if not isinstance(market, DeribitMarket):
                continue
            if currency not in ("any", _currency(market)) or kind not in (None, market.names.kind):
                continue
            listed.append(listing_entry(market.spec, market.names, 100_000 + n))
        return RestAnswer(200, rpc_result(None, listed, now_ms).encode(), weight=1)

    # -- faults ---------------------------------------------------------------------------------

    def malformed(self) -> str:
        """A book notification cut off mid-number."""
        return '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-PERPETUAL.100ms","data":{"ty'

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """Deribit-shaped notifications of ``spec`` with impossible values, each of which a client must reject."""
        native = spec.native
        price, size = float(spec.price(spec.start_ticks)), float(spec.size(1) if spec.size_decimals else 10)

        def note(channel: str, data: Any) -> str:
            return hostile_json(
                {"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}}
            )

        def book(**changes: Any) -> str:
            d = {"type": "change", "timestamp": now_ms, "prev_change_id": 1, "instrument_name": native, "change_id": 2}
            return note(f"book.{native}.100ms", d | {"bids": [["new", price, size]], "asks": []} | changes)

        def trade(**changes: Any) -> str:
            t = {"trade_seq": 1, "trade_id": "1", "timestamp": now_ms, "price": price, "instrument_name": native}
            return note(f"trades.{native}.100ms", [t | {"direction": "buy", "amount": size} | changes])

        def ticker(**changes: Any) -> str:
            t = {"timestamp": now_ms, "instrument_name": native, "best_bid_price": price, "best_bid_amount": size}
            return note(f"ticker.{native}.100ms", t | {"mark_price": price, "open_interest": size} | changes)

        return [
            (book(bids=[["new", float("nan"), size]]), "NaN book price"),
            (book(bids=[["new", "Infinity", size]]), "infinite book price"),
            (book(asks=[["new", 0, size]]), "zero book price"),
            (book(bids=[["change", price, -size]]), "negative book amount"),
            (book(bids=[["modify", price, size]]), "unknown book action"),
            (book(change_id=2**70), "change id beyond 64 bits"),
            (book(bids=[["new", [price], size]]), "book price of the wrong type"),
            (book(type="change", prev_change_id=None), "a change without its previous id"),
            (trade(price=-price), "negative trade price"),
            (trade(amount="NaN"), "NaN trade amount"),
            (trade(direction="sideways"), "unknown taker direction"),
            (trade(timestamp=2**60), "time beyond 2**53 ms"),
            (ticker(mark_price=-1), "negative mark price"),
            (ticker(best_bid_price="NaN"), "NaN bid"),
            (ticker(open_interest=float("inf")), "infinite open interest"),
            (
                note(
                    f"chart.trades.{native}.1",
                    {"tick": now_ms, "open": -1, "high": 1, "low": 1, "close": 1, "volume": 1},
                ),
                "negative bar price",
            ),
            (note(f"trades.{native}.100ms", None), "null trades"),
            (note(f"nosuchchannel.{native}.100ms", {}), "unknown channel"),
            (note("trades.NOSUCH-PERPETUAL.100ms", []), "unknown instrument"),
            (hostile_json({"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "nap"}}), "unknown heartbeat"),
        ]


def _currency(market: DeribitMarket) -> str:
    spec = market.spec
    return spec.base if market.names.kind == "spot" else spec.settle or spec.base
