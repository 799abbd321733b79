"""The contract between the simulator's server and one exchange's wire format.

The server (:mod:`collector.simulator.server`) owns sockets, clients, faults and the
clock; a wire format owns everything the exchange decides: websocket paths, the
subscribe protocol, stream names, message JSON, REST routes and how update ids are
numbered. To add an exchange, write one module with a class satisfying
:class:`WireFormat` and register it in ``collector.simulator.server.WIRE_FORMATS``.

Capture playback (:mod:`collector.simulator.playback`) asks the wire format three more
things: the stream key of each recorded frame (:meth:`WireFormat.tag_recorded`), how to
answer a client when the data comes from a recording (:meth:`WireFormat.on_recorded_text`)
and the market key of a recorded instrument listing entry (:meth:`WireFormat.listed_key`).

Exchanges whose control protocol depends on the connection and on market state (a
category in the URL, a book snapshot sent on subscribe, native ids that repeat across
categories) implement :class:`SessionWire` as well; the server detects it and uses its
hooks instead of the plain ones.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from .market import InstrumentSpec, SymbolMarket, Update

__all__ = ["Control", "Message", "RestAnswer", "SessionWire", "Tag", "WireFormat", "market_key"]


@dataclass(frozen=True, slots=True)
class Message:
    """One frame for the subscribers of ``stream``.

    ``book_key`` is set on order-book diff frames (the symbol key :meth:`WireFormat.book_key`
    returns) so a ``GAP`` fault can withhold exactly one of them. ``text`` is sent as a
    text frame when it is a ``str`` and as a binary frame when it is ``bytes``.
    """

    stream: str
    text: str | bytes
    book_key: str | None = None


@dataclass(frozen=True, slots=True)
class Control:
    """The answer to one client text frame: a reply to send and subscription changes to make.

    ``frames`` are sent right after the reply, before any data of the new subscriptions
    (the snapshots some exchanges push on subscribe).
    """

    reply: str | bytes | None
    subscribe: list[str] = field(default_factory=list)
    unsubscribe: list[str] = field(default_factory=list)
    frames: list[str | bytes] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RestAnswer:
    """A REST response: status, JSON body and the request's rate-limit weight."""

    status: int
    body: bytes
    weight: int = 1


@dataclass(frozen=True, slots=True)
class Tag:
    """What capture playback does with one recorded frame.

    ``stream`` is the key a client must hold in its subscriptions (the names
    :meth:`WireFormat.on_recorded_text` subscribes) to receive the frame; ``None`` sends
    it to every playing client of the recorded route. ``book_key`` marks a book diff a
    ``GAP`` fault may withhold (as :attr:`Message.book_key`; snapshots have none). A
    non-empty ``skip`` says why the frame is never played, e.g. ``"reply"`` for the answer
    to one of the recorder's own control messages (the server answers each client's own).
    """

    stream: str | None = None
    book_key: str | None = None
    skip: str = ""


class WireFormat(Protocol):
    """One exchange's wire format over the neutral market model."""

    exchange: str
    default_ws: str
    """The real websocket base address (used in synthetic captures so replay recognises them)."""
    default_rest: str

    instruments_path: str
    """REST path (below the exchange prefix) of the instrument list."""

    def snapshot_path(self, native: str) -> str:
        """REST path and query of a full book snapshot, as the exchange's adapter requests it."""

    def ws_path(self, route: str) -> str:
        """The websocket path (below the exchange prefix) of a route."""

    def subscribe_frame(self, streams: list[str], request_id: int) -> str:
        """The client frame that subscribes ``streams``."""

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """The simulated instrument for unified ``symbol`` (native id, tick, step, price)."""

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A market for ``spec`` numbering its update ids the way this exchange does."""

    def ws_route(self, path: str) -> str | None:
        """The route name of a websocket path below the exchange prefix, ``None`` for 404."""

    def stream_route(self, stream: str) -> str:
        """The route a stream is served on; a stream subscribed on another route never delivers."""

    def url_streams(self, query: Mapping[str, str]) -> list[str]:
        """Streams requested in the connect URL's query (``?streams=a/b``)."""

    def on_text(self, text: str, current: list[str]) -> Control:
        """Handle one client text frame; ``current`` are the client's streams in order."""

    def wanted_intervals(self, stream: str) -> str | None:
        """The candle interval a stream needs the market to aggregate, if any."""

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames for one market update, only for streams in ``subscribed``."""

    def book_key(self, native: str) -> str:
        """The key :attr:`Message.book_key` uses for the book diffs of native id ``native``.

        Session wires get their :meth:`SessionWire.market_key` here instead of the native id.
        """

    def stream_book_key(self, stream: str) -> str | None:
        """The book key of a book-diff stream name (``None`` for other streams)."""

    def rest(self, path: str, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """Answer ``GET path?query`` from the markets, keyed by native id."""

    def tag_recorded(self, route: str | None, frame: str | bytes) -> Tag:
        """The stream key of a recorded ``recv`` frame, or why it is skipped.

        ``route`` is the route of the recorded connection (:meth:`ws_route` of its
        ``connect`` address; ``None`` if unknown). Called once per frame when a capture
        is loaded, never while playing.
        """

    def on_recorded_text(self, route: str, text: str, current: list[str], recorded: Collection[str]) -> Control:
        """Handle one client frame when a capture feeds the server.

        Subscriptions name the keys :meth:`tag_recorded` gives; nothing is synthesised
        (snapshots sent on subscribe are played from the recording). ``recorded`` holds
        every stream key of the recording, for wires that refuse unknown topics.
        """

    def listed_key(self, url: str, native: str) -> str:
        """The market key (see :func:`market_key`) of ``native`` in the instrument list recorded from ``url``."""

    def rate_limited(self) -> RestAnswer:
        """The body of a 429 answer (the server adds ``Retry-After``)."""

    def malformed(self) -> str | bytes:
        """A frame that is not valid JSON, for the ``MALFORMED`` fault."""

    def weight_header(self) -> str:
        """The response header that reports the used request weight."""


@runtime_checkable
class SessionWire(WireFormat, Protocol):
    """A wire format whose replies depend on the connection's route and on market state.

    The server keys markets by :meth:`market_key` (not the native id), answers client
    frames with :meth:`on_client_text` (not :meth:`WireFormat.on_text`), points
    :meth:`~collector.simulator.Simulator.endpoints` at :attr:`endpoint_path` and asks
    :meth:`true_book` what a correctly syncing client holds.
    """

    endpoint_path: str
    """Path below the exchange prefix that the adapter's ``Endpoints.ws`` names (``/v5/public``)."""

    def market_key(self, spec: InstrumentSpec) -> str:
        """The key of ``spec``'s market, unique within the exchange (native ids may repeat across categories)."""

    def on_client_text(
        self, route: str, text: str, current: list[str], markets: Mapping[str, SymbolMarket], now_ms: int
    ) -> Control:
        """Handle one client frame on ``route``; ``markets`` are keyed by :meth:`market_key`."""

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """``(bids, asks, update id)`` a client subscribed at ``depth`` holds (``None``: the adapter's default).

        Prices and sizes are floats as a client parses them from this wire format.
        """

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """Route -> client frames that subscribe every channel of ``specs`` (synthetic sessions send them).

        Channels are trades, ticker, the book at the adapter's default depth and ``interval`` candles.
        """


def market_key(wire: WireFormat, spec: InstrumentSpec) -> str:
    """The key of ``spec``'s market on ``wire``: :meth:`SessionWire.market_key`, else the native id."""
    return wire.market_key(spec) if isinstance(wire, SessionWire) else spec.native
