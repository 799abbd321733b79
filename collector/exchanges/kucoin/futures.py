"""KuCoin Futures (``kucoin_futures``): USDT/USDC-margined and coin-margined (inverse) contracts.

Channels (KuCoin Futures "Public Channels" docs), one symbol per topic:

- trades  <- ``/contractMarket/execution:{symbol}`` (``side`` "of liquidity taker", ``ts`` in ns)
- ticker  <- ``/contractMarket/tickerV2:{symbol}`` (best bid/offer, at most every 100 ms); replays
  also read ``/contractMarket/ticker`` (the older one, with the last fill)
- book    <- ``/contractMarket/level2:{symbol}`` joined to ``GET /api/v1/level2/snapshot``
- funding <- ``/contract/instrument:{symbol}`` (``mark.index.price`` every second, ``funding.rate``)
  merged with ``GET /api/v1/contracts/{symbol}``, polled every minute: open interest,
  funding and predicted rates, next funding time, last price

Units: book and best bid/offer sizes are **contracts** (as KuCoin sends them); trade
amounts are base units (linear: ``contracts * multiplier``, e.g. 0.001 BTC per
``XBTUSDTM`` contract; inverse ``XBTUSDM``: ``contracts * 1 USD / price``). Open interest
is in contracts ("unit: lots"); its value is in the quote currency (USDT, USDC or USD).
KuCoin publishes no public liquidation stream. Its kline topic is not offered: KuCoin
documents its volume as wrong ("This value is incorrect, please do not use it").

Books: "Apply the new Level 2 data flow ... to ensure that the sequence of the new Level 2
update lines up with the sequence of the previous Level 2 data. Discard all the message
prior to that sequence": each message is one change with the next sequence, joined to the
full snapshot (public, "full depth") by :data:`~collector.book.RANGE` with both ends of
the range equal, so a message must carry exactly the book's sequence + 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar
from urllib.parse import urlencode, urlsplit

import msgspec

from ...actions import RestRequest
from ...book import RANGE, BookSync
from ...fastpath import OUT, RECEIVED, SYMBOL, attr, call, choice, const, emit, millis, nanos, scaled
from ...models import Side, Ticker, Trade
from ...symbols import Instrument
from ..base import Channel, Endpoints, Output, Poll, Subscription
from ..derivatives import DerivativeTickers
from ..fields import Price, Size
from .instruments import OK, futures_instruments, positive
from .schemas import (
    Contract,
    ContractResponse,
    Execution,
    FundingRate,
    FuturesLevel2,
    FuturesSnapshotResponse,
    FuturesTicker,
    MarkIndexPrice,
    Push,
    RoutedExecution,
)
from .session import KucoinSession, Route, UnknownNative

__all__ = ["KucoinFuturesAdapter"]

SNAPSHOT_PATH = "/api/v1/level2/snapshot"
CONTRACTS_PATH = "/api/v1/contracts/active"
_CONTRACT_PREFIX = "/api/v1/contracts/"
_SIDES: dict[str, Side] = {"buy": "buy", "sell": "sell"}
_BOOK_SIDES = frozenset({"buy", "sell"})
_NS = 1_000_000_000.0
_HOUR_MS = 3_600_000

_execution = msgspec.json.Decoder(Push[Execution], strict=False)
_routed_execution = msgspec.json.Decoder(Push[RoutedExecution], strict=False)  # the route's: ts required
_ticker = msgspec.json.Decoder(Push[FuturesTicker], strict=False)
_level2 = msgspec.json.Decoder(Push[FuturesLevel2], strict=False)
_instrument = msgspec.json.Decoder(Push[msgspec.Raw], strict=False)
_mark = msgspec.json.Decoder(MarkIndexPrice, strict=False)
_funding = msgspec.json.Decoder(FundingRate, strict=False)
_snapshot = msgspec.json.Decoder(FuturesSnapshotResponse, strict=False)
_contract = msgspec.json.Decoder(ContractResponse, strict=False)
# The price and size of a level2 change ("5000.0,sell,83") are read as JSON numbers, with the
# checks of every other wire field (a finite positive price, a finite non-negative size).
_change_price = msgspec.json.Decoder(Price)
_change_size = msgspec.json.Decoder(Size)
_UNUSED = frozenset(
    {"/contractMarket/level2Depth5", "/contractMarket/level2Depth50", "/contractMarket/snapshot"}
    | {"/contract/announcement", "/contractMarket/limitCandle", "/contractMarket/level3", "/contractMarket/level3V2"}
    | {"/contractMarket/tradeOrders", "/contractMarket/advancedOrders", "/contractAccount/wallet"}
    | {"/contract/position", "/contract/positionAll", "/contract/marginMode", "/contract/crossLeverage"}
)


class KucoinFuturesAdapter(KucoinSession):
    """KuCoin Futures: ``BTC/USDT:USDT`` is ``XBTUSDTM``, ``BTC/USD:BTC`` is ``XBTUSDM`` (see the module docstring).

    Book sizes are contracts, trade amounts base units, open interest contracts.
    :meth:`plan` puts up to 100 topics on one connection, one symbol per subscription.
    """

    id: ClassVar[str] = "kucoin_futures"
    simulator: ClassVar[str | None] = "sim:KucoinWire"
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://ws-api-futures.kucoin.com/", rest="https://api-futures.kucoin.com"
    )
    # The host the 2019-2022 futures docs' token answer named.
    ws_hosts: ClassVar[frozenset[str]] = frozenset({"push.kucoin.com"})
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "funding")
    topics: ClassVar[dict[str, str]] = {
        "trades": "/contractMarket/execution",
        "ticker": "/contractMarket/tickerV2",
        "book": "/contractMarket/level2",
        "funding": "/contract/instrument",
    }
    # Futures: "Subscription limit for each connection: 100 topics".
    topics_per_connection: ClassVar[int] = 100
    same_answer: ClassVar[dict[str, str]] = {
        "/api/v1/level2/depth20": SNAPSHOT_PATH,
        "/api/v1/level2/depth100": SNAPSHOT_PATH,
    }
    unused: ClassVar[frozenset[str]] = _UNUSED
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USDT:USDT",)
    poll_interval: ClassVar[float] = 60.0
    """Seconds between contract polls (open interest has no stream)."""
    # level2 pushes every change as it happens and KuCoin sends no book heartbeat; even quiet
    # contracts are requoted within a minute, so two silent minutes mean a stuck feed.
    book_stale_after: ClassVar[float] = 120.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self.contracts: dict[str, Contract] = {}
        """Listing entry per native id (multiplier, inverse flag, funding interval)."""
        self._sizes: dict[str, tuple[float, bool]] = {}  # native -> (contract size, inverse)
        self._derivatives = DerivativeTickers(self.id)

    def _make_routes(self) -> dict[str, Route]:
        return {
            "/contractMarket/execution": (_execution, self._on_execution),
            "/contractMarket/match": (_execution, self._on_execution),  # its name in the 2019 docs
            "/contractMarket/tickerV2": (_ticker, self._on_ticker),
            "/contractMarket/ticker": (_ticker, self._on_ticker),
            "/contractMarket/level2": (_level2, self._on_level2),
            "/contract/instrument": (_instrument, self._on_instrument),
        }

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, RANGE, self._snapshot_request, top_n=book_top)

    # -- instruments and polls -------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        return [RestRequest(self.endpoints.rest + CONTRACTS_PATH, "instruments", 3)]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return [inst for inst, _ in futures_instruments(self.id, body)]

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        """Fill :attr:`instruments` and :attr:`contracts` from a contract listing."""
        pairs = futures_instruments(self.id, body)
        self.instruments.update(inst for inst, _ in pairs)
        for inst, c in pairs:
            self.contracts[c.symbol] = c
            self._sizes[c.symbol] = (inst.contract_size, c.isInverse)

    def polls(self, subscriptions: Sequence[Subscription]) -> list[Poll]:
        """One contract poll per symbol subscribed to ``funding``: open interest has no stream."""
        symbols = dict.fromkeys(sub.symbol for sub in subscriptions if sub.channel == "funding")
        return [Poll(self._contract_request(symbol), self.poll_interval) for symbol in symbols]

    def _contract_request(self, symbol: str) -> RestRequest:
        native = self.instruments.by_symbol(symbol).native
        return RestRequest(f"{self.endpoints.rest}{_CONTRACT_PREFIX}{native}", "poll", 3, symbol)

    def poll_request(self, url: str) -> RestRequest | None:
        """A recorded ``/api/v1/contracts/{symbol}`` answer is one of this adapter's polls."""
        path = urlsplit(url).path
        if path.startswith(_CONTRACT_PREFIX) and path != CONTRACTS_PATH:
            return RestRequest(url, "poll", 3)
        return None

    # -- frames ---------------------------------------------------------------------------------

    def _on_execution(self, conn: str, msg: Push[Execution], native: str, received: float, out: Output) -> None:
        symbol = self.symbol_of(native)
        t = msg.data
        side = _SIDES.get(t.side)
        if side is None:
            raise ValueError(f"taker side {t.side[:20]!r}")
        size, inverse = self._sizes[native]
        # Until 2022 "size" was the unfilled rest of the taker order and "matchSize" the fill.
        contracts = t.matchSize if t.matchSize is not None else t.size
        amount = contracts * size / t.price if inverse else contracts * size
        ts = t.ts if t.ts is not None else t.time
        out.append(
            Trade(self.id, symbol, ts / _NS if ts is not None else None, received, t.price, amount, side, t.tradeId)
        )
        if self.routable(conn, msg.topic):
            if inverse:
                self.route_fast(conn, msg.topic, _execution, symbol)  # amounts divide by the price: Python
                return
            args = (const(self.id), SYMBOL, nanos("ts"), RECEIVED, attr("price"), scaled("size", size))
            step = emit(Trade, *args, choice("side", _SIDES), attr("tradeId"), at="data", when=("data.matchSize", None))
            self.route_fast(conn, msg.topic, _routed_execution, symbol, step)

    def _on_ticker(self, conn: str, msg: Push[FuturesTicker], native: str, received: float, out: Output) -> None:
        symbol = self.symbol_of(native)
        d = msg.data
        ts = d.ts / _NS if d.ts is not None else None
        bbo = (d.bestBidPrice, d.bestBidSize, d.bestAskPrice, d.bestAskSize)
        out.append(Ticker(self.id, symbol, ts, received, *bbo, d.price))
        if self.routable(conn, msg.topic):
            fields = (attr("bestBidPrice"), attr("bestBidSize"), attr("bestAskPrice"), attr("bestAskSize"))
            step = emit(Ticker, const(self.id), SYMBOL, nanos("ts"), RECEIVED, *fields, attr("price"), at="data")
            self.route_fast(conn, msg.topic, _ticker, symbol, step)

    def _on_level2(self, conn: str, msg: Push[FuturesLevel2], native: str, received: float, out: Output) -> None:
        symbol = self.symbol_of(native)
        d = msg.data
        ts = d.timestamp / 1000.0 if d.timestamp is not None else None
        self._change(out, conn, symbol, d.sequence, d.change, ts, received)
        if self.routable(conn, msg.topic):
            fields = (attr("sequence"), attr("change"), millis("timestamp"), RECEIVED)
            step = call(self._change, OUT, const(conn), SYMBOL, *fields, at="data")
            self.route_fast(conn, msg.topic, _level2, symbol, step)

    def _change(
        self, out: Output, conn: str, symbol: str, sequence: int, change: str, ts: float | None, received: float
    ) -> None:
        """One level2 change into the book (the parsed path and the fast path both come here).

        "The change property of Level 2 updates is a string value of "price,side,size" ... A size
        of "0" indicates that the price Level can be removed."
        """
        parts = change.split(",")
        try:
            if len(parts) != 3 or parts[1] not in _BOOK_SIDES:
                raise ValueError("not price,buy|sell,size")
            level = [(_change_price.decode(parts[0]), _change_size.decode(parts[2]))]
        except ValueError as exc:  # msgspec.DecodeError included
            detail = f"/contractMarket/level2 {symbol}: change {change[:60]!r}: {exc}"
            out.append(self.error(conn, "malformed", detail, received, symbol))
            return
        if parts[1] == "buy":
            self.books.delta(out, symbol, level, [], sequence, sequence, None, ts, received)
        else:
            self.books.delta(out, symbol, [], level, sequence, sequence, None, ts, received)

    def _on_instrument(self, conn: str, msg: Push[msgspec.Raw], native: str, received: float, out: Output) -> None:
        symbol = self.symbol_of(native)
        subject = msg.subject
        if subject == "mark.index.price":
            m = _mark.decode(msg.data)
            event = self._derivatives.update(
                symbol, m.timestamp / 1000.0, received, mark_price=m.markPrice, index_price=m.indexPrice
            )
        elif subject == "funding.rate":
            f = _funding.decode(msg.data)
            # "Granularity (predicted funding rate: 1-min granularity: 60000; Funding rate:
            # 8-hours granularity: 28800000.)"
            field = "funding_rate" if f.granularity >= _HOUR_MS else "predicted_funding_rate"
            event = self._derivatives.update(symbol, f.timestamp / 1000.0, received, **{field: f.fundingRate})
        else:
            self.control("instrument_subject")
            return
        if event is not None:
            out.append(event)

    # -- REST -----------------------------------------------------------------------------------

    def _snapshot_request(self, symbol: str) -> list[RestRequest]:
        native = self.instruments.by_symbol(symbol).native
        url = f"{self.endpoints.rest}{SNAPSHOT_PATH}?{urlencode({'symbol': native})}"
        return [RestRequest(url, "snapshot", 3, symbol)]

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose == "instruments":
            return self.answer_instruments(request, status, body, received)
        out: Output = []
        if request.purpose not in ("snapshot", "poll"):
            self.stats["ignored.http." + request.purpose] += 1
            return out
        symbol = request.symbol
        if status != 200:
            if request.purpose == "snapshot" and symbol is not None:
                self.books.snapshot_failed(symbol)
            out.append(self.error("rest", "http_status", f"{status} {request.url}", received, symbol, frame=body))
            return out
        if request.purpose == "poll":
            self._on_contract(request, body, received, out)
            return out
        try:
            answer = _snapshot.decode(body)
            if answer.code != OK or answer.data is None:
                raise ValueError(f"code {answer.code}: {answer.msg[:200]}")
        except ValueError as exc:  # msgspec.DecodeError included
            self.books.snapshot_failed(symbol or "")
            out.append(self.error("rest", "malformed", f"{request.url}: {exc}", received, symbol, frame=body))
            return out
        snap = answer.data
        ts = snap.ts / _NS if snap.ts is not None else None
        self.books.snapshot(out, symbol or "", snap.bids, snap.asks, snap.sequence, ts, received)
        return out

    def _on_contract(self, request: RestRequest, body: bytes, received: float, out: Output) -> None:
        """A polled ``/api/v1/contracts/{symbol}``: open interest, funding, mark and index, last price."""
        try:
            answer = _contract.decode(body)
            if answer.code != OK or answer.data is None:
                raise ValueError(f"code {answer.code}: {answer.msg[:200]}")
            c = answer.data
            symbol = self.symbol_of(c.symbol)
            interest = _lots(c.openInterest)
        except UnknownNative as exc:
            out.append(self.error("rest", "unknown_symbol", f"{request.url}: {exc.native[:100]}", received))
            return
        except ValueError as exc:  # msgspec.DecodeError included
            out.append(self.error("rest", "malformed", f"{request.url}: {exc}", received, request.symbol, frame=body))
            return
        mark = positive(c.markPrice)
        size, inverse = self._sizes.get(c.symbol, (abs(c.multiplier), c.isInverse))
        value = None
        if interest is not None:
            # Linear: contracts of `size` base units at the mark; inverse: contracts of `size` USD.
            value = interest * size if inverse else (interest * size * mark if mark is not None else None)
        next_funding = None
        if c.nextFundingRateTime is not None and 0 <= c.nextFundingRateTime < 2**53:
            # "nextFundingRateTime" counts the ms left until the funding, as of the answer: on the
            # minute it falls on.
            next_funding = round((received + c.nextFundingRateTime / 1000.0) / 60.0) * 60.0
        event = self._derivatives.update(
            symbol,
            None,
            received,
            mark_price=mark,
            index_price=positive(c.indexPrice),
            funding_rate=c.fundingFeeRate,
            next_funding_time=next_funding,
            predicted_funding_rate=c.predictedFundingFeeRate,
            open_interest=interest,
            open_interest_value=value,
            last_price=positive(c.lastTradePrice),
        )
        if event is not None:
            out.append(event)


def _lots(value: str | float | None) -> float | None:
    """Open interest in contracts from the listing's ``"6748176"`` (``None`` when not a count)."""
    if value is None or value == "":
        return None
    lots = float(value)
    if not 0.0 <= lots < math.inf:
        raise ValueError(f"open interest {value!r}")
    return lots
