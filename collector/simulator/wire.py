"""The contract between the simulator's server and one exchange's wire format.

The server (:mod:`collector.simulator.server`) owns sockets, clients, faults and the
clock; a wire format owns everything the exchange decides: websocket paths, the
subscribe protocol, stream names, message JSON, REST routes, keepalives and how update
ids are numbered. Each exchange's wire format lives in its own package
(``collector/exchanges/<id>/sim.py``) and is found through the adapter's
``simulator_wire()``: subclass :class:`WireFormat`, implement the abstract methods and
override the defaults that do not fit.

Per connection the server keeps a :class:`Session` (made by :meth:`WireFormat.open`) that
holds the connection's route and subscriptions; a wire with per-connection state (channel
ids, a connection-wide sequence number) subclasses it. Frames for one market update are
encoded once per stream (:meth:`WireFormat.encode`) and handed to every subscriber
through :meth:`WireFormat.deliver`, where a wire may wrap them per connection.

Capture playback (:mod:`collector.simulator.playback`) asks three more things: the stream
key of each recorded frame (:meth:`WireFormat.tag_recorded`), how to answer a client when
the data comes from a recording (:meth:`WireFormat.on_recorded_text`) and the market key
of a recorded instrument listing entry (:meth:`WireFormat.listed_key`). Wires that do not
play captures leave the defaults, which refuse.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..errors import UsageError
from .market import InstrumentSpec, SymbolMarket, Update

__all__ = ["Control", "Message", "RestAnswer", "RestCall", "Session", "Tag", "WireFormat", "dumps", "hostile_json"]


@dataclass(frozen=True, slots=True)
class Message:
    """One frame for the subscribers of ``stream``.

    ``book_key`` is set on order-book diff frames (the market key of the book) so a
    ``GAP`` fault can withhold, and a ``CHECKSUM`` fault corrupt, exactly one of them.
    ``text`` is sent as a text frame when it is a ``str`` and as a binary frame when it is
    ``bytes``.
    """

    stream: str
    text: str | bytes
    book_key: str | None = None


@dataclass(frozen=True, slots=True)
class Control:
    """The answer to one client frame: a reply to send and subscription changes to make.

    ``frames`` are sent right after the reply, before any data of the new subscriptions
    (the snapshots some exchanges push on subscribe). ``close`` closes the connection with
    that websocket close code after the reply (an exchange refusing a client).
    """

    reply: str | bytes | None
    subscribe: list[str] = field(default_factory=list)
    unsubscribe: list[str] = field(default_factory=list)
    frames: list[str | bytes] = field(default_factory=list)
    close: int | None = None


@dataclass(frozen=True, slots=True)
class RestCall:
    """One REST request: method, path below the exchange prefix, query and body."""

    method: str
    path: str
    query: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class RestAnswer:
    """A REST response: status, JSON body and the request's rate-limit weight."""

    status: int
    body: bytes
    weight: int = 1


@dataclass(frozen=True, slots=True)
class Tag:
    """What capture playback does with one recorded frame.

    ``stream`` is the key a client must hold in its subscriptions to receive the frame;
    ``None`` sends it to every playing client of the recorded route. ``book_key`` marks a
    book diff a ``GAP`` fault may withhold (snapshots have none). A non-empty ``skip``
    says why the frame is never played, e.g. ``"reply"`` for the answer to one of the
    recorder's own control messages (the server answers each client's own).
    """

    stream: str | None = None
    book_key: str | None = None
    skip: str = ""


class Session:
    """One client connection as the wire sees it: its route and subscribed streams, in order.

    Subclass it (and override :meth:`WireFormat.open`) to keep per-connection state.
    """

    def __init__(self, route: str) -> None:
        self.route = route
        self.streams: list[str] = []
        self.close_code: int | None = None
        """Set (by :meth:`WireFormat.heartbeat`) to have the server close the connection with this
        code: a client that left pings unanswered."""


def dumps(obj: Any) -> str:
    """Compact JSON text, as exchanges send it."""
    return orjson.dumps(obj).decode()


def hostile_json(obj: Any) -> str:
    """Compact JSON text that may hold what orjson refuses: integers past 64 bits, ``NaN``, ``Infinity``."""
    return json.dumps(obj, separators=(",", ":"))


class WireFormat(abc.ABC):
    """One exchange's wire format over the neutral market model (see the module docstring).

    Class attributes to set: ``default_ws``/``default_rest`` (the real addresses, written
    into synthetic captures so replay recognises them), ``endpoint_path`` (the path below
    the exchange prefix that the adapter's ``Endpoints.ws`` names), ``instruments_path``
    and ``heartbeat_interval`` (seconds between :meth:`heartbeat` calls; ``None``: none).
    """

    default_ws: str
    default_rest: str
    endpoint_path: str = ""
    instruments_path: str
    heartbeat_interval: float | None = None
    book_diffs: bool = True
    """``False`` for exchanges whose every book message is a whole book: there is nothing a ``GAP`` could withhold."""
    sequenced: bool = True
    """``False`` for book diffs that carry no sequence (Kraken spot): a withheld diff shows only when a
    later checksum covers a level it changed, and a client cannot tell a ``gap`` from a ``checksum``."""

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange

    # -- instruments and markets ----------------------------------------------------------------

    @abc.abstractmethod
    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """The simulated instrument for unified ``symbol`` (native id, tick, step, price);
        raise :class:`~collector.errors.UnknownSymbol` for a symbol the exchange cannot list."""

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A market for ``spec`` numbering its update ids the way this exchange does."""
        import random

        rng = random.Random(f"{seed}:{self.exchange}:{spec.symbol}")
        return SymbolMarket(spec, rng, depth=depth, start_id=10**9 + rng.randrange(10**8))

    def market_key(self, spec: InstrumentSpec) -> str:
        """The key of ``spec``'s market, unique within the exchange (native ids may repeat across categories)."""
        return spec.native

    def instrument_queries(self, keys: Collection[str]) -> list[dict[str, str]]:
        """Queries of the instrument-list calls the adapter makes, for synthetic captures (one call by default)."""
        return [{}]

    def instrument_calls(self, keys: Collection[str]) -> list[tuple[str, dict[str, str]]]:
        """``(path, query)`` of every instrument-list call the adapter makes, for synthetic captures.

        By default :meth:`instrument_queries` on :attr:`instruments_path`; override it where the
        exchange lists product lines on different paths (spot and futures, linear and inverse).
        """
        return [(self.instruments_path, query) for query in self.instrument_queries(keys)]

    # -- websocket ------------------------------------------------------------------------------

    @abc.abstractmethod
    def ws_route(self, path: str) -> str | None:
        """The route name of a websocket path below the exchange prefix, ``None`` for 404."""

    def ws_path(self, route: str) -> str:
        """The websocket path (below the exchange prefix) of a route."""
        return self.endpoint_path

    def stream_route(self, stream: str) -> str:
        """The route a stream is served on; a stream subscribed on another route never delivers."""
        return ""

    def url_streams(self, query: Mapping[str, str]) -> list[str]:
        """Streams requested in the connect URL's query (``?streams=a/b``)."""
        return []

    def open(self, route: str) -> Session:
        """The state of a new connection on ``route``."""
        return Session(route)

    @abc.abstractmethod
    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Handle one client frame; ``markets`` are keyed by :meth:`market_key`."""

    @abc.abstractmethod
    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """Route -> client frames that subscribe trades, ticker, book (the adapter's default depth)
        and ``interval`` candles of ``specs`` (synthetic captures send them)."""

    def wanted_intervals(self, stream: str) -> str | None:
        """The candle interval a stream needs the market to aggregate, if any."""
        return None

    @abc.abstractmethod
    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames for one market update, only for streams in ``subscribed``."""

    def deliver(self, session: Session, message: Message) -> str | bytes | None:
        """The frame ``session`` receives for ``message`` (``None``: nothing); wrap it per connection here."""
        return message.text

    def heartbeat(self, session: Session, now_ms: int) -> list[str | bytes]:
        """Frames the server sends on its own every ``heartbeat_interval`` (app-level pings, heartbeats).

        To hang up on a client (it missed too many pings), set ``session.close_code``: the
        server closes the connection with that code after the call.
        """
        return []

    def greeting(self, session: Session, now_ms: int) -> list[str | bytes]:
        """Frames the server sends as soon as a connection opens (a welcome, a platform status)."""
        return []

    def stream_book_key(self, stream: str) -> str | None:
        """The book key (market key) of a book-diff stream name (``None`` for other streams)."""
        return None

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """``(bids, asks, update id)`` a client subscribed at ``depth`` holds (``None``: the adapter's default).

        Prices and sizes are floats as a client parses them from this wire format; the
        default is the whole book (or its best ``depth`` levels) with the market's last id.
        """
        spec = market.spec
        bid_levels, ask_levels = (
            market.levels(depth) if depth is not None else (list(market.bids.items()), list(market.asks.items()))
        )
        bids = {float(spec.price(p)): float(spec.size(q)) for p, q in bid_levels}
        asks = {float(spec.price(p)): float(spec.size(q)) for p, q in ask_levels}
        return bids, asks, market.last_id

    # -- REST -----------------------------------------------------------------------------------

    @abc.abstractmethod
    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """Answer a REST call from the markets, keyed by :meth:`market_key`."""

    def snapshot_path(self, key: str) -> str | None:
        """REST path and query of a book snapshot as the adapter asks (``None``: snapshots come on the stream)."""
        return None

    def rate_limited(self) -> RestAnswer:
        """The answer when the request budget is exhausted (HTTP 429; the server adds ``Retry-After``)."""
        return RestAnswer(429, b'{"error":"too many requests"}')

    def weight_header(self) -> str | None:
        """The response header that reports the used request weight, if the exchange has one."""
        return None

    # -- faults ---------------------------------------------------------------------------------

    def malformed(self) -> str | bytes:
        """A frame that is not valid JSON, for the ``MALFORMED`` fault."""
        return '{"broken":'

    checksums: bool = False
    """Whether this exchange's book messages carry a checksum (the ``CHECKSUM`` fault applies)."""

    def frame_codec(self) -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]] | None:
        """``(decode, encode)`` between a binary frame and its JSON, for compressed frames (fuzzing)."""
        return None

    def corrupt(self, message: Message) -> Message:
        """``message`` with its checksum (or a level) wrong, for the ``CHECKSUM`` fault."""
        raise UsageError(f"{self.exchange} books carry no checksum")

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """Frames that look like this exchange's market data but carry impossible values
        (NaN, infinite, zero or negative prices, negative sizes, ids past 64 bits, wrong
        types), each with what is wrong with it. A correct client reports each as an error."""
        return []

    # -- capture playback -----------------------------------------------------------------------

    def tag_recorded(self, route: str | None, frame: str | bytes) -> Tag:
        """The stream key of a recorded ``recv`` frame, or why it is skipped (called when a capture is loaded)."""
        raise UsageError(f"the simulator does not play {self.exchange} captures")

    def on_recorded_text(self, session: Session, text: str, recorded: Collection[str]) -> Control:
        """Handle one client frame when a capture feeds the server (nothing is synthesised)."""
        raise UsageError(f"the simulator does not play {self.exchange} captures")

    def listed_key(self, url: str, native: str) -> str:
        """The market key of ``native`` in the instrument list recorded from ``url``."""
        return native
