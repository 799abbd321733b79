"""HTX spot public market data, id ``htx`` (``../shared/exchanges/htx.md``).

Channels (gzip JSON on ``wss://api.huobi.pro/ws``; the MBP feed on ``/feed``):

- trades  <- ``market.$symbol.trade.detail`` (``direction`` is the taker side, ``tradeId`` the id)
- ticker  <- ``market.$symbol.bbo`` (tick-by-tick best bid/offer); ``market.$symbol.ticker``
  (best bid/offer with 24 h statistics, what cryptofeed subscribes) is read too.
- book    <- ``market.$symbol.mbp.150`` increments on ``/feed``, joined to the ``req`` refresh
  asked for on the same connection: "the prevSeqNum of the current incremental message
  must be the same with seqNum of the previous message" (rule :data:`MBP`); ``mbp.5`` and
  ``mbp.20`` books (tick-by-tick, :attr:`HtxAdapter.book_levels`) are cut to 5 or 20 levels.
  The whole-book feeds ``depth.step0`` (cryptofeed's choice) and ``mbp.refresh.$levels`` are
  read from recordings: every message replaces the book.
- candles <- ``market.$symbol.kline.$period``

**Units.** Spot sizes are base units everywhere (trades, tickers and books).

**Replay** of cryptofeed recordings: cryptofeed's Huobi feed connects to
``wss://api.huobi.pro/ws``, lists symbols with ``GET /v1/common/symbols`` and subscribes
``{"sub": "market.<symbol>.<channel>", "id": n}`` for ``depth.step0``, ``trade.detail``,
``ticker`` and ``kline.<period>`` (versions of March 2021 used ``mbp.20`` on ``/feed`` with
``req`` refreshes and ``bbo``): all of them replay, on the ``api.huobi.pro`` and
``api-aws.huobi.pro`` hosts alike.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from ...actions import RestRequest, SendFrame
from ...book import BookSync, Join, Link, Rule, Snapshots
from ...errors import UsageError
from ...models import Level, Ticker, Trade
from ...symbols import Instrument
from ..base import Channel, Endpoints, Output, RestPolicy, Subscription
from .adapter import SIDES, HtxBase, seconds_of
from .instruments import KLINE_PERIODS, UNUSED_PERIODS, Market, spot_instruments
from .schemas import DepthTick, Envelope, MbpSnapshot, MbpTick, Push, Side, SpotBbo, SpotTicker, SpotTrade, TradeTick

__all__ = ["BOOK_LEVELS", "MBP", "HtxAdapter"]

MBP = Rule("mbp", Snapshots.REST, Link.PREV, Join.NEXT)
"""HTX's MBP books: the ``req`` refresh with ``seqNum`` S, then "the cached incremental message
which has the same prevSeqNum" as S, each one's prevSeqNum the previous one's seqNum. An
increment covers ids ``prevSeqNum + 1 .. seqNum``: one ending at or before S is in the refresh."""

BOOK_LEVELS = (5, 20, 150)
"""``mbp.$levels`` feeds that have a ``req`` refresh: "REQ channel supports refreshing message
for 5-level, 20-level, and 150-level" (400 levels has none, so it cannot be joined)."""

_trades = msgspec.json.Decoder(Push[TradeTick[SpotTrade]], strict=False)
_bbo = msgspec.json.Decoder(Push[SpotBbo], strict=False)
_ticker = msgspec.json.Decoder(Push[SpotTicker], strict=False)
_mbp = msgspec.json.Decoder(Push[MbpTick], strict=False)
_depth = msgspec.json.Decoder(Push[DepthTick], strict=False)
_refresh = msgspec.json.Decoder(MbpSnapshot, strict=False)
_SYMBOLS_PATH = "/v1/common/symbols"
_NOT_LEVELS = "a book side that is neither levels nor empty"


class HtxAdapter(HtxBase):
    """HTX spot. Subscribe with unified symbols (``BTC/USDT``); books are base units.

    :meth:`plan` puts trades, tickers and candles on ``/ws`` and books on ``/feed`` (where
    the MBP increments and their refresh live), at most :attr:`topics_per_connection`
    topics per connection.
    """

    id: ClassVar[str] = "htx"
    simulator: ClassVar[str | None] = "sim:HtxWire"
    # Plans append "/ws" or "/feed" to the websocket base.
    default_endpoints: ClassVar[Endpoints] = Endpoints(ws="wss://api.huobi.pro", rest="https://api.huobi.pro")
    # "api-aws.huobi.pro is optimized for AWS client": the same service on another host.
    ws_hosts: ClassVar[frozenset[str]] = frozenset({"api-aws.huobi.pro"})
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "candles")
    book_levels: ClassVar[int] = 150
    ticker_channel: ClassVar[str] = "bbo"
    """``bbo`` (tick-by-tick best bid/offer) or ``ticker`` (every 100 ms, with 24 h statistics)."""
    # "Rate limit of pull style query (req): the limitation of single connection is 100 ms";
    # refresh requests share the pacing with subscriptions.
    control_interval: ClassVar[float] = 0.11
    # "If API Key is empty in request, then each IP is limited to 10 times per second."
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=600)
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USDT", "ETH/USDT")
    # The 150-level feed pushes every 100 ms, a message with two blank sides when nothing
    # changed: half a minute without one means the feed has stopped.
    book_stale_after: ClassVar[float] = 30.0
    unused_channels: ClassVar[frozenset[str]] = frozenset(
        {"detail", "etp", "mbp.400"} | {f"depth.step{n}" for n in range(1, 6)} | {f"kline.{p}" for p in UNUSED_PERIODS}
    )
    unused_topics: ClassVar[frozenset[str]] = frozenset({"market.tickers", "market.overview"})

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._markets: dict[str, Market] = {}
        self.channel_handlers.update(
            {
                "trade.detail": (self._on_trades, ""),
                "bbo": (self._on_bbo, ""),
                "ticker": (self._on_ticker, ""),
                "depth.step0": (self._on_whole_book, "depth"),
            }
        )
        for levels in BOOK_LEVELS:
            self.channel_handlers[f"mbp.{levels}"] = (self._on_mbp, str(levels))
        for levels in (5, 10, 20):
            self.channel_handlers[f"mbp.refresh.{levels}"] = (self._on_whole_book, "refresh")

    def _make_books(self, book_top: int | None) -> BookSync:
        # Depth is set per book from its refresh's topic (_on_rep): mbp.150 is not cut.
        return BookSync(self.id, MBP, self._refresh_request, top_n=book_top)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        return [RestRequest(self.endpoints.rest + _SYMBOLS_PATH, "instruments", 1)]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return spot_instruments(self.id, body)

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        instruments = self.parse_instruments(request, body)
        self.instruments.update(instruments)
        for inst in instruments:
            self._markets[inst.native] = Market(inst.symbol)

    def market_of(self, native: str) -> Market | None:
        # Spot ids are lower case on the wire ("btcusdt"); a topic in another case names the same one.
        return self._markets.get(native) or self._markets.get(native.lower())

    # -- connections ----------------------------------------------------------------------------

    def topics_for(self, sub: Subscription) -> list[tuple[str, str]]:
        """The ``(path, topic)`` of one subscription, e.g. ``[("feed", "market.btcusdt.mbp.150")]``."""
        native = self.instruments.by_symbol(sub.symbol).native
        if sub.channel == "trades":
            return [("ws", f"market.{native}.trade.detail")]
        if sub.channel == "ticker":
            if self.ticker_channel not in ("bbo", "ticker"):
                raise UsageError(f"{self.id}: ticker_channel must be 'bbo' or 'ticker'")
            return [("ws", f"market.{native}.{self.ticker_channel}")]
        if sub.channel == "book":
            if self.book_levels not in BOOK_LEVELS:
                raise UsageError(f"{self.id}: no joinable mbp.{self.book_levels}; use one of {BOOK_LEVELS}")
            # "MBP incremental channel & its REQ channel: wss://api.huobi.pro/feed".
            return [("feed", f"market.{native}.mbp.{self.book_levels}")]
        if sub.channel == "candles":
            period = KLINE_PERIODS.get(sub.interval)
            if period is None:
                raise UsageError(f"{self.id}: no kline interval {sub.interval!r}; use one of {tuple(KLINE_PERIODS)}")
            return [("ws", f"market.{native}.kline.{period}")]
        raise UsageError(f"{self.id} has no {sub.channel} channel; it offers {', '.join(self.channels)}")

    # -- frames ---------------------------------------------------------------------------------

    def _on_trades(self, conn: str, market: Market | None, _: str, data: bytes, received: float, out: Output) -> None:
        assert market is not None
        push = _trades.decode(data)
        symbol = market.symbol
        for t in push.tick.data:
            side = SIDES.get(t.direction)
            trade_id = str(t.tradeId) if t.tradeId is not None else bytes(t.id).decode("utf-8", "replace")
            if side is None or not trade_id:
                detail = f"{push.ch}: direction {t.direction[:20]!r}" if side is None else f"{push.ch}: no trade id"
                out.append(self.error(conn, "malformed", detail, received, symbol))
                continue
            out.append(Trade(self.id, symbol, t.ts / 1000.0, received, t.price, t.amount, side, trade_id))

    def _on_bbo(self, conn: str, market: Market | None, _: str, data: bytes, received: float, out: Output) -> None:
        assert market is not None
        push = _bbo.decode(data)
        t = push.tick
        ts = seconds_of(t.quoteTime, push.ts)
        out.append(Ticker(self.id, market.symbol, ts, received, t.bid, t.bidSize, t.ask, t.askSize))

    def _on_ticker(self, conn: str, market: Market | None, _: str, data: bytes, received: float, out: Output) -> None:
        assert market is not None
        push = _ticker.decode(data)
        t = push.tick
        ts = push.ts / 1000.0 if push.ts is not None else None
        # A price of 0 is a side or statistic that does not exist yet: "none", not zero.
        out.append(
            Ticker(
                self.id, market.symbol, ts, received, t.bid or None, t.bidSize, t.ask or None, t.askSize,
                last=t.lastPrice or t.close or None, open=t.open or None, high=t.high or None, low=t.low or None,
                volume=t.amount, quote_volume=t.vol,
            )
        )  # fmt: skip

    def _on_mbp(self, conn: str, market: Market | None, _: str, data: bytes, received: float, out: Output) -> None:
        """One increment: "Once received a new price level ... inserted; an updated size ...
        replaced; a size=0 ... removed"; the book rule checks ``prevSeqNum`` against the last ``seqNum``."""
        assert market is not None
        push = _mbp.decode(data)
        t = push.tick
        bids, asks = _levels(t.bids), _levels(t.asks)
        if bids is None or asks is None or t.prevSeqNum is None:
            detail = f"{push.ch}: {_NOT_LEVELS if t.prevSeqNum is not None else 'no prevSeqNum'}"
            out.append(self.error(conn, "malformed", detail, received, market.symbol, frame=data))
            return
        if not self.own_book(conn, push.ch, market):
            return
        symbol = market.symbol
        if not (bids or asks) and t.seqNum == t.prevSeqNum:
            # "While there is nothing change between two snapshots in past 100ms, the
            # 150-levels ... feed still sends out a message which contains two blank objects."
            self.books.touch(symbol, received)
            return
        ts = push.ts / 1000.0 if push.ts is not None else None
        # An increment covers (prevSeqNum, seqNum]: the refresh it joins has seqNum == its prevSeqNum.
        self.books.delta(out, symbol, bids, asks, t.prevSeqNum + 1, t.seqNum, t.prevSeqNum, ts, received)

    def _on_whole_book(
        self, conn: str, market: Market | None, _: str, data: bytes, received: float, out: Output
    ) -> None:
        """``depth.step0`` (every second) or ``mbp.refresh.$levels`` (every 100 ms): the whole book."""
        assert market is not None
        push = _depth.decode(data)
        t = push.tick
        symbol = market.symbol
        if t.bids is None and t.asks is None:
            # A delisted symbol's pushes carry no sides: nothing to replace the book with.
            self.books.touch(symbol, received)
            return
        if not self.own_book(conn, push.ch, market):
            return
        # depth.step0's tick has the book's own time; mbp.refresh's has none but the push's.
        ts = seconds_of(t.ts, push.ts)
        # Each message replaces the book; the rule (MBP) keeps a live book against a
        # late snapshot, so the old one is dropped first (no resync: nothing was lost).
        self.books.reset(out, (symbol,), "snapshot", received, report=False)
        sequence = t.seqNum if t.seqNum is not None else t.version
        self.books.snapshot(out, symbol, t.bids or [], t.asks or [], sequence, ts, received)

    def _on_rep(self, conn: str, env: Envelope, data: bytes, received: float, out: Output) -> None:
        """The refresh a ``req`` returns: "align it with the cached incremental message which has
        the same prevSeqNum". Replies to other requests are counted."""
        family, _, rest = env.rep.partition(".")
        native, _, channel = rest.partition(".")
        if family != "market" or self.channel_handlers.get(channel, (None, ""))[0] != self._on_mbp:
            self.control("rep")
            return
        market = self.market_of(native)
        if market is None:
            self.control()
            out.append(self.error(conn, "unknown_symbol", f"{native[:60]} ({env.rep[:100]})", received))
            return
        symbol = market.symbol
        self.snapshot_answered(env.id)
        if env.status != "ok":
            self.control()
            self.books.snapshot_failed(symbol)
            detail = f"req {env.rep[:100]}: {env.err_code}: {env.err_msg[:200]}"
            out.append(self.error(conn, "rejected", detail, received, symbol))
            return
        try:
            snap = _refresh.decode(env.data)
        except msgspec.DecodeError as exc:
            self.books.snapshot_failed(symbol)
            out.append(self.error(conn, "malformed", f"{env.rep[:100]}: {exc}", received, symbol, frame=data))
            return
        if not self.own_book(conn, env.rep, market):
            return
        ts = env.ts / 1000.0 if isinstance(env.ts, int) else None
        # The 150-level feed is "based on the gap between two snapshots": a level leaving the
        # top 150 comes as a removal. The tick-by-tick 5 and 20 need not remove a level they
        # push out, so those books are cut to their depth.
        levels = int(channel.rpartition(".")[2])
        self.books.set_depth(symbol, levels if levels < 150 else None)
        self.books.snapshot(out, symbol, snap.bids, snap.asks, snap.seqNum, ts, received)

    def _refresh_request(self, symbol: str) -> list[SendFrame]:
        """The book's snapshot request: ``{"req": <its mbp topic>}`` on the connection it streams on.

        "REQ and SUB for MBP must be on the same connection": seqNum alignment holds
        within one connection only.
        """
        held = self._book_topics.get(symbol)
        if held is None or ".mbp.refresh." in held[1] or ".mbp." not in held[1]:
            return []  # whole-book feeds need no refresh: the next message is one
        conn, topic = held
        return [SendFrame(conn, f'{{"req":"{topic}","id":"{self.snapshot_id(symbol)}"}}')]


def _levels(side: Side) -> list[Level] | None:
    """A side of an increment as levels: a blank side (``{}``, ``[]`` or absent) is none; ``None`` if not levels."""
    if type(side) is list:
        return side
    if not side:
        return []
    return None
