"""Drives a cryptofeed feed over a capture, as ``bench_cryptofeed.py`` describes; not a script of its own.

cryptofeed is imported lazily, so the table and the session shaping load without it.
"""

from __future__ import annotations

import asyncio
import importlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import orjson
from _cryptofeed_rows import CANDLES, L2_BOOK, LIQUIDATIONS, TICKER, TRADES, Requests, Row
from _cryptofeed_rows import cryptofeed_symbol as to_cryptofeed
from _shared import Session

from collector.capture import Frame
from collector.exchanges import EXCHANGES


class CannotReplay(Exception):
    """cryptofeed cannot replay this session; the message says why."""


@contextmanager
def shaped(row: Row, *, checksums: bool = False) -> Iterator[None]:
    """While open, the exchange's simulator writes synthetic sessions as cryptofeed subscribes them.

    It sets the wire format's ``synthetic_protocol`` (the API version cryptofeed speaks) and passes
    its subscribe requests through ``row.requests``; with ``checksums`` a ``row.crc`` simulator
    writes its books' checksums. All are restored on exit.
    """
    wire = type(EXCHANGES[row.exchange].simulator_wire())
    original, protocol = wire.subscribe_all, getattr(wire, "synthetic_protocol", None)
    crc = wire.checksums
    if checksums and row.crc:
        wire.checksums = True
    if row.requests is not None:
        edit = row.requests

        def subscribe_all(self: Any, specs: Any, interval: str) -> Requests:
            return edit(original(self, specs, interval))

        wire.subscribe_all = subscribe_all  # type: ignore[method-assign]
    if row.protocol is not None:
        wire.synthetic_protocol = row.protocol  # type: ignore[attr-defined]
    try:
        yield
    finally:
        wire.checksums = crc
        wire.subscribe_all = original  # type: ignore[method-assign]
        if row.protocol is not None:
            wire.synthetic_protocol = protocol  # type: ignore[attr-defined]


def prepare(row: Row, frames: list[Frame]) -> tuple[list[Frame], int]:
    """The session both contenders get, in time order: ``frames`` without those ``row.unseen`` names."""
    ordered = sorted(frames, key=lambda f: f.ts)
    if row.unseen is None:
        return ordered, 0
    unseen = row.unseen
    kept = [f for f in ordered if f.kind != "recv" or not unseen(orjson.loads(f.data))]
    return kept, len(ordered) - len(kept)


class _Response:
    """Just enough of a ``requests.Response`` for ``HTTPSync.process_response``."""

    def __init__(self, text: str) -> None:
        self.text = text

    def raise_for_status(self) -> None:
        pass


class CapturedRest:
    """Answers cryptofeed's REST reads from a capture's ``http`` records, in recorded order per URL."""

    def __init__(self, row: Row, frames: list[Frame], sync_conn: Any) -> None:
        self._http: dict[str, list[str]] = {}
        for frame in frames:
            if frame.kind == "http":
                body = frame.data.decode() if isinstance(frame.data, bytes) else frame.data
                self._http.setdefault(frame.url, []).append(body)
        self._url = row.rest_url or (lambda url: url)
        self._no_listing = row.no_listing
        self._sync_conn = sync_conn
        self._next: Counter[str] = Counter()
        self.served = 0

    def rewind(self) -> None:
        """Serve the recorded responses again from the first, for a new session."""
        self._next.clear()
        self.served = 0

    def _recorded(self, url: str) -> str:
        """The recorded URL answering ``url``: itself, the row's ``rest_url`` of it, else the one recorded
        URL of the same host and path whose query agrees on every parameter both name
        (``?category=linear&limit=1000`` answers ``?&category=linear&status=Trading&limit=1000``)."""
        for candidate in (url, self._url(url)):
            if candidate in self._http:
                return candidate
        url = self._url(url)
        parts = urlsplit(url)
        asked = dict(parse_qsl(parts.query))
        candidates = []
        for recorded in self._http:
            other = urlsplit(recorded)
            params = dict(parse_qsl(other.query))
            same_place = (other.netloc, other.path) == (parts.netloc, parts.path)
            if same_place and all(asked[key] == params[key] for key in asked.keys() & params.keys()):
                candidates.append(recorded)
        return candidates[0] if len(candidates) == 1 else url

    def body(self, url: str, *, listing: bool = False) -> str:
        recorded = self._recorded(url)
        bodies = self._http.get(recorded, [])
        i = self._next[recorded]
        if i >= len(bodies):
            if listing and self._no_listing is not None and not bodies:
                return self._no_listing
            # Better to stop than to invent a snapshot: a second request means the book lost sync.
            raise CannotReplay(f"the capture has no (more) responses for {url}")
        self._next[recorded] = i + 1
        self.served += 1
        return bodies[i]

    async def read_async(self, address: str, *args: object, **kwargs: object) -> str:
        """Stands in for ``HTTPAsyncConn.read``: book snapshot requests."""
        return self.body(address)

    def read_sync(self, address: str, params: object = None, headers: object = None, **kwargs: Any) -> Any:
        """Stands in for ``HTTPSync.read``: instrument listings, still parsed by cryptofeed's own code."""
        return self._sync_conn.process_response(_Response(self.body(address, listing=True)), address, **kwargs)


@contextmanager
def network_from(rest: CapturedRest) -> Iterator[None]:
    """Route cryptofeed's two REST entry points to the capture for the duration."""
    from cryptofeed.connection import HTTPAsyncConn, HTTPSync

    saved = HTTPAsyncConn.read, HTTPSync.read
    HTTPAsyncConn.read = rest.read_async
    HTTPSync.read = rest.read_sync
    try:
        yield
    finally:
        HTTPAsyncConn.read, HTTPSync.read = saved


class ReplayConn:
    """A cryptofeed websocket connection without the socket: what handlers read of it, and a ``write``
    that keeps what ``subscribe`` sends (cryptofeed's own playback hands its handler such a stand-in)."""

    def __init__(self, conn: Any) -> None:
        self.address: str = conn.address
        self.subscription: dict[str, list[str]] = conn.subscription
        self.id = self.uuid = conn.id
        self.sent: list[str] = []
        self.last_message: float | None = None

    async def write(self, data: str) -> None:
        self.sent.append(data)


class Counts(Counter[str]):
    """cryptofeed callbacks that only count what they are handed, by the kinds ``bench_cryptofeed`` prints."""

    KIND: ClassVar[dict[str, str]] = {
        TRADES: "trades",
        TICKER: "tickers",
        CANDLES: "candles",
        LIQUIDATIONS: "liquidations",
    }

    def callbacks(self, channels: list[str]) -> dict[str, Any]:
        return {channel: self._counter(channel) for channel in channels}

    def _counter(self, channel: str) -> Any:
        kind = self.KIND.get(channel, "funding/OI/index")

        async def book(book: Any, receipt: float) -> None:
            # A snapshot reaches the callback without a delta; a diff carries the levels it changed.
            self["book snapshots" if book.delta is None else "book deltas"] += 1

        async def other(obj: Any, receipt: float) -> None:
            self[kind] += 1

        return book if channel == L2_BOOK else other


def _strip(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path.rstrip('/')}"


class Cryptofeed:
    """cryptofeed's own feed class over one prepared session."""

    def __init__(self, row: Row, session: Session, frames: list[Frame], loop: asyncio.AbstractEventLoop) -> None:
        try:
            module = importlib.import_module("cryptofeed.exchanges")
            self.feed_class: Any = getattr(module, row.feed)
        except AttributeError:
            raise CannotReplay(f"cryptofeed has no feed class {row.feed}") from None
        from cryptofeed.symbols import Symbols

        self.row, self.loop, self.symbols = row, loop, Symbols
        self.rest = CapturedRest(row, frames, self.feed_class.http_sync)
        self.counts = Counts()
        self.left_out: list[str] = []
        self.subscription = self._subscription(session)
        self.last_feed: Any = None
        with network_from(self.rest):
            probe = self.new_feed()
        urls = {f.conn: f.url for f in frames if f.kind == "connect"}
        conns = [_strip(conn.address) for conn, *_ in self._websockets(probe)]
        route = {conn: self._route(_strip(url), conns) for conn, url in urls.items()}
        self.routing = [
            f"{_strip(url)} -> {conns[route[conn]]}" + ("" if _strip(url) == conns[route[conn]] else " (its only one)")
            for conn, url in urls.items()
        ]
        # (connection index, payload, receipt time) per received frame, in time order.
        self.frames = [(route[f.conn], f.data, f.ts) for f in frames if f.kind == "recv"]

    def _subscription(self, session: Session) -> dict[str, list[str]]:
        """A recording's own (its header records it) within the row's channels, else the row's channels."""
        header: dict[str, Any] = next((orjson.loads(f.data) for f in session.frames if f.kind == "header"), {})
        config = header.get("config", {})
        wanted = (*self.row.channels, *self.row.contract_channels)
        if "symbols" not in config:
            self.left_out = sorted(set(config) - set(wanted))
            return {channel: list(config[channel]) for channel in wanted if channel in config}
        try:
            symbols = [to_cryptofeed(s) for s in config["symbols"]]
        except ValueError as exc:
            raise CannotReplay(str(exc)) from None
        contracts = [s for s in symbols if s.endswith("-PERP")]
        out = {channel: symbols for channel in self.row.channels}
        return out | {channel: contracts for channel in self.row.contract_channels if contracts}

    @staticmethod
    def _route(url: str, conns: list[str]) -> int:
        """The cryptofeed connection a recorded connection's frames go to: same address, else the only one."""
        same = [i for i, address in enumerate(conns) if address == url]
        if len(same) == 1 or len(conns) == 1:
            return same[0] if same else 0
        raise CannotReplay(f"no cryptofeed connection matches {url} (it opens {', '.join(conns)})")

    def describe(self) -> str:
        """The subscription, channels grouped by their symbols (``trades, l2_book: BTC-USDT, ETH-USDT``)."""
        groups: dict[tuple[str, ...], list[str]] = {}
        for channel, symbols in self.subscription.items():
            groups.setdefault(tuple(symbols), []).append(channel)
        parts = []
        for names, channels in groups.items():
            shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            parts.append(f"{', '.join(channels)}: {shown}")
        return "; ".join(parts)

    def new_feed(self) -> Any:
        """A feed as a fresh process builds it: the symbol map is fetched (from the capture) and parsed."""
        self.symbols.clear()
        self.counts.clear()
        try:
            return self.feed_class(
                subscription=self.subscription,
                callbacks=self.counts.callbacks(list(self.subscription)),
                candle_closed_only=False,  # every kline update, as collector emits them
                **self.row.options,
            )
        except CannotReplay:
            raise
        except Exception as exc:
            raise CannotReplay(f"the feed cannot be built: {type(exc).__name__}: {exc}") from None

    @staticmethod
    def _websockets(feed: Any) -> list[tuple[Any, Any, Any, Any]]:
        from cryptofeed.connection import WSAsyncConn

        return [entry for entry in feed.connect() if isinstance(entry[0], WSAsyncConn)]

    async def _sessions(self, passes: int, frames: bool) -> None:
        for _ in range(passes):
            self.rest.rewind()
            feed = self.new_feed()
            handlers = []
            for conn, subscribe, handler, _ in self._websockets(feed):
                stub = ReplayConn(conn)
                await subscribe(stub)
                handlers.append((handler, stub))
            if frames:
                for index, data, ts in self.frames:
                    handler, conn = handlers[index]
                    await handler(data, conn, ts)
            self.last_feed = feed

    def run(self, passes: int, *, frames: bool = True) -> None:
        """``passes`` fresh sessions (``frames=False``: session setup only)."""
        with network_from(self.rest):
            self.loop.run_until_complete(self._sessions(passes, frames))

    def check(self) -> Counter[str]:
        """One untimed session, frame by frame: its counts, or :class:`CannotReplay` at the first thing that fails."""
        at = "subscribe"

        async def checked() -> None:
            nonlocal at
            feed = self.last_feed = self.new_feed()
            handlers = []
            for conn, subscribe, handler, _ in self._websockets(feed):
                stub = ReplayConn(conn)
                await subscribe(stub)
                handlers.append((handler, stub))
            for n, (index, data, ts) in enumerate(self.frames, 1):
                handler, conn = handlers[index]
                text = data.decode(errors="replace") if isinstance(data, bytes) else data
                at = f"frame {n} ({text[:60]}...)"
                await handler(data, conn, ts)

        self.rest.rewind()
        with network_from(self.rest):
            try:
                self.loop.run_until_complete(checked())
            except CannotReplay:
                raise
            except Exception as exc:
                raise CannotReplay(f"{type(exc).__name__} {exc} at {at}") from None
        return Counter(self.counts)

    def uncrossed(self) -> str:
        """``good/books``: books whose best bid is below the best ask after the last session."""
        from cryptofeed.defines import ASK, BID

        books = getattr(self.last_feed, "_l2_book", {}) or {}
        good = 0
        for book in books.values():
            bids, asks = book.book[BID], book.book[ASK]
            if len(bids) and len(asks) and bids.index(0)[0] < asks.index(0)[0]:
                good += 1
        return f"{good}/{len(books)}"
