"""Bitfinex websocket v2 public market data, id ``bitfinex`` (``../shared/exchanges/bitfinex.md``).

Channels, on ``wss://api-pub.bitfinex.com/ws/2`` (``api.bitfinex.com`` serves the same):

- trades  <- ``trades``: the snapshot sent on subscribe, then ``te`` per trade (``tu``, the
  same trade updated later, is counted, not repeated); the sign of the amount is the taker side.
- ticker  <- ``ticker``: best bid/ask, last price, daily high/low/volume.
- book    <- ``book`` P0, F0, :attr:`BitfinexAdapter.book_length` price points: a snapshot on
  subscribe, then one level per message (absolute amount, negative for asks; count 0
  deletes). Book sizes are in base units. Books carry no ids (:data:`~collector.book.UNSEQUENCED`):
  the ``OB_CHECKSUM`` messages check them and ``SEQ_ALL`` numbers catch lost messages.
- candles <- ``candles`` ``trade:<timeframe>:<symbol>``.
- funding <- ``status`` ``deriv:<symbol>`` (perpetuals): mark, spot index, funding,
  open interest (in base units, like every derivative amount on Bitfinex).
- liquidations <- ``status`` ``liq:global``: one channel for every pair, filtered.

Every connection sends ``conf`` with ``SEQ_ALL | OB_CHECKSUM`` first. A gap in the
connection's sequence resyncs every book on it (reason ``gap``): each book unsubscribes
and subscribes again, which brings a fresh snapshot. Info 20051 (server restart)
reconnects; 20060 (maintenance) drops the connection's books until 20061, after which
every channel is subscribed again, as the docs advise.

**Speed.** Channel messages are arrays, which the generic fast path does not read: book,
trade and ticker messages go from :meth:`BitfinexAdapter.receive` straight to their handler,
routed by channel id (a dict lookup) and decoded once, typed.

Captures of other recorders replay as they were made: the flags come from the ``conf``
reply (a cryptofeed recorder asks for ``SEQ_ALL`` only: no checksums; ``TIMESTAMP`` and
``BULK_UPDATES`` are understood too), channel ids, precisions and lengths from the
``subscribed`` replies, and channels this adapter has no events for (raw books,
funding currencies, a second book of a symbol) are counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar
from urllib.parse import unquote, urlsplit

import msgspec
import orjson

from ...actions import RestRequest
from ...book import UNSEQUENCED, BookSync
from ...errors import UsageError
from ...symbols import Instrument, InstrumentMap
from ..base import Channel as ChannelName
from ..base import ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from .channels import (
    BOOK_LENGTHS,
    CANDLE_INTERVALS,
    DEFAULT_BOOK_LENGTH,
    OB_CHECKSUM,
    SEQ_ALL,
    Channel,
    ConnState,
    request,
)
from .checksum import BookChecksum
from .instruments import LISTINGS, Listing
from .schemas import Event
from .session import SessionEvents

__all__ = ["BitfinexAdapter"]

_event = msgspec.json.Decoder(Event, strict=False)
_HOSTS = frozenset({"api-pub.bitfinex.com", "api.bitfinex.com"})
_CONF = orjson.dumps({"event": "conf", "flags": SEQ_ALL | OB_CHECKSUM}).decode()
# Channels whose events need no second check (see BitfinexAdapter.receive).
_CHECKED = frozenset({"book", "trades", "ticker"})


class BitfinexAdapter(SessionEvents):
    """Bitfinex spot pairs (``BTC/USD``, ``BTC/USDT``) and USDT-margined perpetuals (``BTC/USDT:USDT``).

    Subscribe with unified symbols; :meth:`plan` puts at most :attr:`channels_per_connection`
    channels on a connection. Replays of other recorders' captures follow the
    ``subscribed`` replies they hold, whatever book precision, length or flags were used.
    """

    id: ClassVar[str] = "bitfinex"
    simulator: ClassVar[str | None] = "sim:BitfinexWire"
    # The public host and ``api.bitfinex.com``, which serves the same public channels.
    ws_hosts: ClassVar[frozenset[str]] = _HOSTS
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://api-pub.bitfinex.com/ws/2", rest="https://api-pub.bitfinex.com"
    )
    channels: ClassVar[tuple[ChannelName, ...]] = ("trades", "ticker", "book", "candles", "funding", "liquidations")
    # "You can subscribe to 25 channels at the same time on the same connection" (10305 past it).
    channels_per_connection: ClassVar[int] = 25
    book_length: ClassVar[str] = DEFAULT_BOOK_LENGTH
    """Price points per side of each book subscription: "1", "25", "100" or "250"."""
    # No documented rate for subscribe messages; pace them lightly.
    control_interval: ClassVar[float] = 0.05
    # '{"event":"ping","cid":1234}' is answered by a pong event.
    app_ping: ClassVar[str] = '{"event":"ping","cid":1}'
    app_ping_interval: ClassVar[float] = 20.0
    # Heartbeats do not count as data: a connection whose channels all stayed quiet for
    # two minutes is replaced.
    idle_timeout: ClassVar[float] = 120.0
    # "The current rate limit is between 10 and 90 requests per minute, depending on the
    # endpoint"; a limited IP is blocked for 60 s. Budget for the low end.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=10)
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USD", "ETH/USD")
    # api-pub: "20 connections per minute".
    connect_limit: ClassVar[tuple[int, float] | None] = (20, 60.0)
    # F0 books publish every change; a channel with nothing new gets [CHAN_ID, "hb"] every
    # 15 s. Three missed heartbeats mean the book's feed has stopped.
    book_stale_after: ClassVar[float] = 45.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._init_handlers()
        self._init_session()
        self.listing = Listing(self.id)

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, UNSEQUENCED, self._resubscribe, top_n=book_top, checksum=BookChecksum())

    @classmethod
    def match_key(cls, url: str) -> tuple[str, str, str]:
        """As :meth:`Adapter.match_key`, with the path unquoted: a recorder may have written
        ``pub:list:pair:exchange`` as ``pub%3Alist%3Apair%3Aexchange``."""
        host, endpoint, instrument = super().match_key(url)
        return host, unquote(endpoint), instrument

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        # The spot list first: capture playback reads its symbols from the first listing.
        return [RestRequest(f"{self.endpoints.rest}{path}", "instruments") for path in LISTINGS]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return self.listing.load(_listing_kind(request.url), body)

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        self.listing.load(_listing_kind(request.url), body)
        # Rebuilt whole: a label map arriving after a pair list renames its symbols.
        self.instruments = InstrumentMap(self.id, self.listing.instruments())

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose != "instruments":
            self.stats["ignored.http." + request.purpose] += 1
            return []
        return self.answer_instruments(request, status, body, received)

    # -- connections ----------------------------------------------------------------------------

    def requests_for(self, sub: Subscription) -> list[str]:
        """The subscribe requests one subscription needs (``liquidations`` share ``liq:global``)."""
        inst = self.instruments.by_symbol(sub.symbol)
        native = inst.native
        if sub.channel in ("trades", "ticker"):
            return [request(sub.channel, symbol=native)]
        if sub.channel == "book":
            if self.book_length not in BOOK_LENGTHS:
                raise UsageError(f"{self.id}: no book length {self.book_length!r}; use one of {BOOK_LENGTHS}")
            return [request("book", symbol=native, prec="P0", freq="F0", len=self.book_length)]
        if sub.channel == "candles":
            timeframe = CANDLE_INTERVALS.get(sub.interval)
            if timeframe is None:
                known = tuple(CANDLE_INTERVALS)
                raise UsageError(f"{self.id}: no candle interval {sub.interval!r}; use one of {known}")
            return [request("candles", key=f"trade:{timeframe}:{native}")]
        if sub.channel == "liquidations":
            # One feed for every pair (margin positions on spot pairs too); events are filtered.
            return [request("status", key="liq:global")]
        if inst.kind != "swap":
            raise UsageError(f"{self.id}: funding exists for perpetuals only, not {sub.symbol!r}")
        return [request("status", key=f"deriv:{native}")]

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        wanted: dict[str, str | None] = {}  # request -> the symbol whose book it carries
        liquidations: set[str] = set()
        for sub in subscriptions:
            for frame in self.requests_for(sub):
                wanted.setdefault(frame, sub.symbol if sub.channel == "book" else None)
            if sub.channel == "liquidations":
                liquidations.add(sub.symbol)
        self.liquidation_symbols = frozenset(liquidations) if liquidations else None
        frames = list(wanted)
        per = self.channels_per_connection
        plans = []
        for n, start in enumerate(range(0, len(frames), per)):
            shard = frames[start : start + per]
            plans.append(
                ConnectionPlan(
                    conn=f"{self.id}.{n}",
                    url=self.endpoints.ws,
                    # "Send conf once after connecting, before subscribing."
                    subscribe=[_CONF, *shard],
                    control_interval=self.control_interval,
                    ping_interval=None,
                    ping_timeout=None,
                    app_ping=self.app_ping,
                    app_ping_interval=self.app_ping_interval,
                    idle_timeout=self.idle_timeout,
                    symbols=[s for f in shard if (s := wanted[f]) is not None],
                )
            )
        return plans

    def on_connect(self, plan: ConnectionPlan, received: float) -> Output:
        """A new socket: channel ids and the sequence start over (a previous session's books are gone)."""
        out = super().on_connect(plan, received)
        self.books.reset(out, self._forget(plan.conn), "reconnect", received)
        self._conns[plan.conn] = ConnState()
        return out

    def on_disconnect(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """Reset the books the connection carried, planned or found in its ``subscribed`` replies."""
        out = super().on_disconnect(conn, reason, received, report=report)
        planned = set(self.conn_symbols(conn))
        self.books.reset(out, [s for s in self._forget(conn) if s not in planned], "reconnect", received, report=report)
        self._conns.pop(conn, None)
        return out

    # -- frames ---------------------------------------------------------------------------------

    def receive(self, conn: str, frame: str | bytes, received: float) -> Output:
        """The boundary (:meth:`Adapter.receive`), with book, trade and ticker messages taken
        straight to their handler.

        Channel messages are arrays, which the generic fast path does not read, and those
        three kinds are nearly every frame of a session: this is its Python equivalent. Their
        events are built from constrained wire fields only (levels the book validates, prices
        and amounts checked while decoding, a ticker's zeros mapped to ``None``), so they need
        no second check. A frame the handler finds broken takes the whole boundary, which
        reports it: handlers check the whole frame before they change anything.
        """
        if type(frame) is str and frame[:1] == "[":
            state = self._conns.get(conn)
            comma = frame.find(",")
            chan = state.channels.get(frame[1:comma]) if state is not None and comma > 1 else None
            if state is not None and chan is not None and chan.kind in _CHECKED:
                out: Output = []
                self._control_frame = False
                try:
                    if chan.handler is not None and frame[comma + 1] != '"':  # _channel_message, inlined
                        chan.handler(conn, state, chan, frame, comma + 1, received, out)
                    else:
                        self._tagged(conn, state, chan, frame, comma + 1, received, out)
                except (msgspec.DecodeError, ValueError, IndexError):
                    return super().receive(conn, frame, received)
                except Exception as exc:  # the boundary: no frame may end a connection
                    return [self.error(conn, "exception", f"{type(exc).__name__}: {exc}", received, frame=frame)]
                if not self._control_frame:
                    self.data_at[conn] = received
                return out
        return super().receive(conn, frame, received)

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        text = self.text_of(conn, frame, received, out)
        if text is None:
            return out
        state = self._conns.get(conn)
        if state is None:
            state = self._conns[conn] = ConnState()
        chan: Channel | None = None
        try:
            first = text[0]
            if first == "[":
                # Routed by the channel id as sent, then by the second element: data or a tag.
                comma = text.find(",")
                chan = state.channels.get(text[1:comma]) if comma > 1 else None
                if chan is None:
                    self._unknown_channel(conn, text, comma, received, out)
                else:
                    self._channel_message(conn, state, chan, text, comma, received, out)
            elif first == "{":
                ev = _event.decode(text)
                handler = self._events.get(ev.event)
                if handler is None:
                    out.append(self.error(conn, "unknown_event", ev.event[:50], received, frame=text))
                else:
                    handler(conn, state, ev, received, out)
            else:
                out.append(self.error(conn, "malformed", "not an event or a channel message", received, frame=text))
        except (msgspec.DecodeError, ValueError, IndexError) as exc:
            symbol = chan.symbol or None if chan is not None else None
            out.append(self.error(conn, "malformed", str(exc) or type(exc).__name__, received, symbol, frame=text))
        return out

    def _channel_message(
        self, conn: str, state: ConnState, chan: Channel, text: str, comma: int, received: float, out: Output
    ) -> None:
        """``[CHAN_ID, ...]`` of a known channel: data to its handler, a tag (``"hb"``, ``"te"``) to :meth:`_tagged`."""
        if chan.handler is not None and text[comma + 1] != '"':
            chan.handler(conn, state, chan, text, comma + 1, received, out)
        else:
            self._tagged(conn, state, chan, text, comma + 1, received, out)

    def _tagged(
        self, conn: str, state: ConnState, chan: Channel, text: str, at: int, received: float, out: Output
    ) -> None:
        """``[CHAN_ID, "tag", ...]`` frames, and every frame of channels without events."""
        tag = text[at + 1 : text.find('"', at + 1)] if text[at : at + 1] == '"' else ""
        if chan.handler is None:
            self._other_channel(conn, state, chan, text, tag, received, out)
        elif tag == "hb":
            self.on_heartbeat(conn, state, chan, text, received, out)
        elif tag == "cs":
            self.on_checksum(conn, state, chan, text, received, out)
        else:
            self.on_trade_event(conn, state, chan, text, tag, received, out)


def _listing_kind(url: str) -> str:
    """What a configuration URL lists; the base may carry a path prefix (a proxy, the simulator)."""
    path = unquote(urlsplit(url).path)
    for suffix, kind in LISTINGS.items():
        if path.endswith(suffix):
            return kind
    raise ValueError(f"not a Bitfinex configuration listing: {url}")
