"""HTX perpetual swaps, id ``htx_swap``: USDT-margined (``BTC/USDT:USDT``) and coin-margined (``BTC/USD:BTC``).

Both families share ``api.hbdm.com`` and one wire format, and cryptofeed's HuobiSwap feed
records them in one session, so one adapter serves both; a contract's family follows from
its listing (``/linear-swap-api/...`` or ``/swap-api/...``) and picks its endpoints:

- trades  <- ``market.$contract_code.trade.detail`` on ``/linear-swap-ws`` (``/swap-ws``);
  ``amount`` is contracts, reported in base units.
- ticker  <- ``market.$contract_code.bbo`` (``[price, contracts]`` best bid and offer).
- book    <- ``market.$contract_code.depth.size_150.high_freq`` with ``data_type``
  ``incremental``: a snapshot first, then updates whose ``version`` grows by one (rule
  ``NEXT_ID``); a gap unsubscribes and subscribes the topic again for a new snapshot.
  cryptofeed's ``depth.step0`` (a whole book every push) is read from recordings.
- candles <- ``market.$contract_code.kline.$period``
- funding <- ``market.$contract_code.mark_price.1min`` and ``index.1min`` on ``/ws_index``
  (their latest ``close``), ``public.$contract_code.funding_rate`` on the notification
  endpoint (rate of the current period and its settlement time), merged into one
  derivative ticker. HTX streams no open interest (it is a REST query only): none is given.
- liquidations <- ``public.$contract_code.liquidation_orders`` on the notification endpoint.

**Units.** Book and ticker sizes are **contracts**, as HTX sends them (``contract_size``
base coin each on USDT-margined contracts, USD each on coin-margined ones). Trade and
liquidation amounts are base units (linear ``contracts * size``, coin-margined
``contracts * size / price``); candle volume is HTX's ``amount``, the base coin.

**Replay** of cryptofeed recordings: its HuobiSwap feed connects to
``wss://api.hbdm.com/linear-swap-ws`` (USDT pairs) and ``/swap-ws`` (USD pairs), lists
contracts with both ``swap_contract_info`` calls and subscribes ``depth.step0`` and
``trade.detail``; ``api.hbdm.vn`` and ``api.btcgateway.pro`` are the same service.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

import msgspec

from ...actions import RestRequest, SendFrame
from ...book import NEXT_ID, BookSync
from ...errors import UsageError
from ...models import Liquidation, Ticker, Trade
from ...symbols import Instrument
from ..base import Channel, Endpoints, Output, RestPolicy, Subscription
from ..derivatives import DerivativeTickers
from .adapter import SIDES, HtxBase, seconds_of
from .instruments import KLINE_PERIODS, UNUSED_PERIODS, Market, contract_instruments
from .schemas import (
    DepthTick,
    FundingRate,
    HighFreqTick,
    LiquidationOrder,
    Notify,
    PriceKline,
    Push,
    RateKline,
    SwapBbo,
    SwapTrade,
    TradeTick,
)

__all__ = ["BOOK_SIZES", "HtxSwapAdapter"]

BOOK_SIZES = (20, 150)
"""``depth.size_$size.high_freq`` sizes: "20: stands for 20 unmerged data. 150: stands for 150"."""

_trades = msgspec.json.Decoder(Push[TradeTick[SwapTrade]], strict=False)
_bbo = msgspec.json.Decoder(Push[SwapBbo], strict=False)
_high_freq = msgspec.json.Decoder(Push[HighFreqTick], strict=False)
_depth = msgspec.json.Decoder(Push[DepthTick], strict=False)
_price_kline = msgspec.json.Decoder(Push[PriceKline], strict=False)
_rate_kline = msgspec.json.Decoder(Push[RateKline], strict=False)
_funding = msgspec.json.Decoder(Notify[list[FundingRate]], strict=False)
_liquidations = msgspec.json.Decoder(Notify[list[LiquidationOrder]], strict=False)

LINEAR_INFO = "/linear-swap-api/v1/swap_contract_info"
INVERSE_INFO = "/swap-api/v1/swap_contract_info"
_INF = float("inf")


class HtxSwapAdapter(HtxBase):
    """HTX USDT-margined and coin-margined perpetual swaps (sizes in contracts; see the module docstring).

    :meth:`plan` opens one market connection per family (``/linear-swap-ws``, ``/swap-ws``),
    one ``/ws_index`` connection for mark and index prices and one notification connection
    per family for funding rates and liquidations, as the subscriptions need.
    """

    id: ClassVar[str] = "htx_swap"
    simulator: ClassVar[str | None] = "sim_swap:HtxSwapWire"
    # Plans append the endpoint path ("/linear-swap-ws", "/ws_index", ...).
    default_endpoints: ClassVar[Endpoints] = Endpoints(ws="wss://api.hbdm.com", rest="https://api.hbdm.com")
    # "api.hbdm.vn uses AWS's CDN"; api.btcgateway.pro is the documented mainland-China host.
    ws_hosts: ClassVar[frozenset[str]] = frozenset({"api.hbdm.vn", "api.btcgateway.pro"})
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "candles", "funding", "liquidations")
    book_size: ClassVar[int] = 150
    # "40 subscriptions at most can be sent in one second in websocket connections."
    control_interval: ClassVar[float] = 0.03
    # Mark and index klines are pushed when they change, within a minute on a listed swap; funding
    # rates, liquidations and trades of a quiet contract can pause for minutes.
    busy_channels: ClassVar[frozenset[Channel]] = frozenset({"book", "ticker", "funding"})
    quiet_idle_timeout: ClassVar[float] = 600.0
    # Public non-market REST calls (contract info): "120 requests per IP in 3 seconds".
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=2400)
    match_params: ClassVar[tuple[str, ...]] = ("contract_code", "symbol")
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USDT:USDT",)
    # "orderbook event will be checked every 30ms. If there is no orderbook event, you will
    # not receive any orderbook data": a quiet contract's book can be silent for a while,
    # but two minutes without a change on a live swap means the feed has stopped.
    book_stale_after: ClassVar[float] = 120.0
    unused_channels: ClassVar[frozenset[str]] = frozenset(
        {"detail", "contract_info", "contract_elements", "heartbeat"}
        | {f"depth.step{n}" for n in range(1, 20) if n != 6}
        | {f"kline.{p}" for p in UNUSED_PERIODS}
    )
    unused_prefixes: ClassVar[tuple[str, ...]] = ("premium_index.", "basis.")

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._markets: dict[str, Market] = {}
        self.derivatives = DerivativeTickers(self.id)
        handlers = self.channel_handlers
        handlers["trade.detail"] = (self._on_trades, "")
        handlers["bbo"] = (self._on_bbo, "")
        for size in BOOK_SIZES:
            handlers[f"depth.size_{size}.high_freq"] = (self._on_high_freq, str(size))
        # step0: 150 unmerged levels, step6: 20 unmerged levels, each push the whole book.
        handlers["depth.step0"] = (self._on_whole_book, "150")
        handlers["depth.step6"] = (self._on_whole_book, "20")
        for period in ("1min", "5min", "15min", "30min", "60min", "4hour", "1day", "1week", "1mon"):
            handlers["mark_price." + period] = (self._on_price_kline, "mark_price")
            handlers["index." + period] = (self._on_price_kline, "index_price")
            handlers["estimated_rate." + period] = (self._on_estimated_rate, "")
        handlers["funding_rate"] = (self._on_funding_rate, "")
        handlers["liquidation_orders"] = (self._on_liquidations, "")

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, NEXT_ID, self._resubscribe, top_n=book_top)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        rest = self.endpoints.rest
        return [RestRequest(rest + LINEAR_INFO, "instruments", 1), RestRequest(rest + INVERSE_INFO, "instruments", 1)]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        inverse = urlsplit(request.url).path.endswith(INVERSE_INFO)
        return contract_instruments(self.id, body, inverse=inverse)

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        instruments = self.parse_instruments(request, body)
        self.instruments.update(instruments)
        for inst in instruments:
            self._markets[inst.native] = Market(inst.symbol, inst.contract_size, inst.settle == inst.base)

    def market_of(self, native: str) -> Market | None:
        # Contract codes are upper case in pushes ("BTC-USDT"); topics are case-insensitive.
        return self._markets.get(native) or self._markets.get(native.upper())

    # -- connections ----------------------------------------------------------------------------

    def topics_for(self, sub: Subscription) -> list[tuple[str, str]]:
        """``(endpoint path, topic)`` pairs one subscription needs: ``[("linear-swap-ws", "market.BTC-USDT.bbo")]``."""
        inst = self.instruments.by_symbol(sub.symbol)
        code = inst.native
        inverse = inst.settle == inst.base
        market_path = "swap-ws" if inverse else "linear-swap-ws"
        notify_path = "swap-notification" if inverse else "linear-swap-notification"
        channel = sub.channel
        if channel == "trades":
            return [(market_path, f"market.{code}.trade.detail")]
        if channel == "ticker":
            return [(market_path, f"market.{code}.bbo")]
        if channel == "book":
            if self.book_size not in BOOK_SIZES:
                raise UsageError(f"{self.id}: no depth.size_{self.book_size}; use one of {BOOK_SIZES}")
            return [(market_path, f"market.{code}.depth.size_{self.book_size}.high_freq")]
        if channel == "candles":
            period = KLINE_PERIODS.get(sub.interval)
            if period is None:
                raise UsageError(f"{self.id}: no kline interval {sub.interval!r}; use one of {tuple(KLINE_PERIODS)}")
            return [(market_path, f"market.{code}.kline.{period}")]
        if channel == "funding":
            return [
                ("ws_index", f"market.{code}.mark_price.1min"),
                ("ws_index", f"market.{code}.index.1min"),
                (notify_path, f"public.{code}.funding_rate"),
            ]
        if channel == "liquidations":
            return [(notify_path, f"public.{code}.liquidation_orders")]
        raise UsageError(f"{self.id} has no {channel} channel; it offers {', '.join(self.channels)}")

    def sub_frame(self, path: str, topic: str) -> str:
        """``{"op":"sub","cid","topic"}`` on notification endpoints, ``{"sub","id"}`` (incremental books
        with ``"data_type":"incremental"``) on market and index endpoints."""
        if path.endswith("notification"):
            return f'{{"op":"sub","cid":"{self.next_id()}","topic":"{topic}"}}'
        if topic.endswith(".high_freq"):
            # "data_type: incremental": a snapshot first, then changed levels only.
            return f'{{"sub":"{topic}","data_type":"incremental","id":"{self.next_id()}"}}'
        return f'{{"sub":"{topic}","id":"{self.next_id()}"}}'

    def _resubscribe(self, symbol: str) -> list[SendFrame]:
        """The book's snapshot request: unsubscribe and subscribe its topic again.

        "When data_type is incremental, snapshot data will be pushed for the first time":
        a fresh subscription is how a swap book is rebuilt.
        """
        held = self._book_topics.get(symbol)
        if held is None or not held[1].endswith(".high_freq"):
            return []  # whole-book feeds need no request: the next push is one
        conn, topic = held
        unsub = f'{{"unsub":"{topic}","data_type":"incremental","id":"{self.next_id()}"}}'
        return [SendFrame(conn, unsub), SendFrame(conn, self.sub_frame("", topic))]

    # -- market endpoints -----------------------------------------------------------------------

    def _on_trades(self, conn: str, market: Market | None, _: str, data: bytes, received: float, out: Output) -> None:
        assert market is not None
        push = _trades.decode(data)
        symbol = market.symbol
        for t in push.tick.data:
            side = SIDES.get(t.direction)
            if side is None:
                detail = f"{push.ch}: direction {t.direction[:20]!r}"
                out.append(self.error(conn, "malformed", detail, received, symbol))
                continue
            # "amount: quantity (Cont.)": contracts, reported in base units.
            amount = market.base_units(t.amount, t.price)
            out.append(Trade(self.id, symbol, t.ts / 1000.0, received, t.price, amount, side, str(t.id)))

    def _on_bbo(self, conn: str, market: Market | None, _: str, data: bytes, received: float, out: Output) -> None:
        assert market is not None
        push = _bbo.decode(data)
        t = push.tick
        bid, bid_size = t.bid if t.bid is not None else (None, None)
        ask, ask_size = t.ask if t.ask is not None else (None, None)
        ts = seconds_of(t.ts, push.ts)
        out.append(Ticker(self.id, market.symbol, ts, received, bid, bid_size, ask, ask_size))

    def _on_high_freq(
        self, conn: str, market: Market | None, _: str, data: bytes, received: float, out: Output
    ) -> None:
        assert market is not None
        push = _high_freq.decode(data)
        t = push.tick
        event = t.event
        if event != "snapshot" and event != "update":
            out.append(self.error(conn, "malformed", f"{push.ch}: event {event[:20]!r}", received, market.symbol))
            return
        if not self.own_book(conn, push.ch, market):
            return
        # The tick's ts is the book's time, the push's when the message was sent.
        ts = seconds_of(t.ts, push.ts)
        bids, asks = t.bids or [], t.asks or []
        if event == "snapshot":
            self.books.snapshot(out, market.symbol, bids, asks, t.version, ts, received)
        else:
            # "version: auto increment in single websocket connection": each update is the last + 1.
            self.books.delta(out, market.symbol, bids, asks, t.version, t.version, None, ts, received)

    def _on_whole_book(
        self, conn: str, market: Market | None, _: str, data: bytes, received: float, out: Output
    ) -> None:
        """``depth.step0``/``step6``: every push is the whole book (cryptofeed's book channel)."""
        assert market is not None
        push = _depth.decode(data)
        t = push.tick
        if t.bids is None and t.asks is None:
            # "When Huobi delists pairs, empty updates still sent": nothing to replace the book with.
            self.books.touch(market.symbol, received)
            return
        if not self.own_book(conn, push.ch, market):
            return
        ts = seconds_of(t.ts, push.ts)
        self.books.snapshot(out, market.symbol, t.bids or [], t.asks or [], t.version, ts, received)

    # -- index and notification endpoints -------------------------------------------------------

    def _on_price_kline(
        self, conn: str, market: Market | None, field: str, data: bytes, received: float, out: Output
    ) -> None:
        """``mark_price.$period`` / ``index.$period``: the bar's ``close`` is the latest price."""
        assert market is not None
        push = _price_kline.decode(data)
        ts = push.ts / 1000.0 if push.ts is not None else None
        event = self.derivatives.update(market.symbol, ts, received, **{field: push.tick.close})
        if event is not None:
            out.append(event)

    def _on_estimated_rate(
        self, conn: str, market: Market | None, _: str, data: bytes, received: float, out: Output
    ) -> None:
        """``estimated_rate.$period``: the predicted funding rate, as a fraction."""
        assert market is not None
        push = _rate_kline.decode(data)
        ts = push.ts / 1000.0 if push.ts is not None else None
        event = self.derivatives.update(market.symbol, ts, received, predicted_funding_rate=push.tick.close)
        if event is not None:
            out.append(event)

    def _on_funding_rate(
        self, conn: str, market: Market | None, _: str, data: bytes, received: float, out: Output
    ) -> None:
        """``public.$contract_code.funding_rate``: the current period's rate and when it settles."""
        push = _funding.decode(data)
        ts = push.ts / 1000.0 if push.ts is not None else None
        for f in push.data:
            target = self._named(conn, market, f.contract_code, push.topic, received, out)
            if target is None:
                continue
            predicted = _rate(f.estimated_rate)
            if predicted is _INF:
                out.append(self.error(conn, "malformed", f"{push.topic}: estimated_rate", received, target.symbol))
                continue
            nxt = f.settlement_time / 1000.0 if f.settlement_time is not None else None
            event = self.derivatives.update(
                target.symbol, ts, received, funding_rate=f.funding_rate, next_funding_time=nxt,
                predicted_funding_rate=predicted,
            )  # fmt: skip
            if event is not None:
                out.append(event)

    def _on_liquidations(
        self, conn: str, market: Market | None, _: str, data: bytes, received: float, out: Output
    ) -> None:
        """``public.$contract_code.liquidation_orders``: ``direction`` is the liquidation order's side."""
        push = _liquidations.decode(data)
        for d in push.data:
            target = self._named(conn, market, d.contract_code, push.topic, received, out)
            if target is None:
                continue
            side = SIDES.get(d.direction)
            if side is None:
                detail = f"{push.topic}: direction {d.direction[:20]!r}"
                out.append(self.error(conn, "malformed", detail, received, target.symbol))
                continue
            amount = target.base_units(d.volume, d.price)
            out.append(Liquidation(self.id, target.symbol, d.created_at / 1000.0, received, side, d.price, amount))

    def _named(
        self, conn: str, market: Market | None, code: str, topic: str, received: float, out: Output
    ) -> Market | None:
        """The market one element of a notification is about (a wildcard topic covers every contract)."""
        found = self.market_of(code)
        if market is not None and found is not market:
            out.append(self.error(conn, "malformed", f"{topic}: element for {code[:60]!r}", received, market.symbol))
            return None
        if found is None:
            # "public.*.<channel>" names every contract, dated futures included: only listed ones are reported.
            self.stats.count("ignored.unlisted_contract")
        return found


def _rate(value: str | float | None) -> float | None:
    """A notification's ``estimated_rate``: ``None`` for null or ``"null"``, ``inf`` when it is no finite number."""
    if value is None or value == "null" or value == "":
        return None
    try:
        rate = float(value)
    except ValueError:
        return _INF
    return rate if -_INF < rate < _INF else _INF
