"""The simulator: a local websocket + REST server speaking exchange wire formats.

One aiohttp server on one port serves every configured exchange under its own path
prefix: ``ws://127.0.0.1:P/<exchange>`` and ``http://127.0.0.1:P/<exchange>``, which is
exactly what :meth:`Simulator.endpoints` hands to an adapter. Data comes from synthetic
markets (one :class:`~collector.simulator.market.SymbolMarket` per symbol, stepped every
``tick_interval``) or from a capture (:meth:`Simulator.from_capture`).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from aiohttp import web

from ..capture import Frame
from ..errors import CollectorError, UnknownExchange, UsageError
from ..exchanges import EXCHANGES, Endpoints
from .faults import Fault
from .playback import Recording
from .venue import Client, Venue
from .wire import RestCall, WireFormat

__all__ = ["Simulator", "wire_format"]


class Simulator:
    """A local exchange server for tests, demos and benchmarks. Use it as ``async with``.

    ``markets`` maps exchange ids to unified symbols, e.g.
    ``{"binance": ["BTC/USDT"], "binance_usdm": ["BTC/USDT:USDT"]}``. Every
    ``tick_interval`` seconds each symbol's book changes and trades; ``seed`` makes the
    sequence reproducible. Inside the ``async with`` block, point an adapter at
    :meth:`endpoints`, break things with :meth:`inject`, and compare with :meth:`true_book`.

    ``ping_interval`` is how often the server sends protocol pings (``None``: never) and
    ``pong_timeout`` how long it waits for the echo before disconnecting (Binance: 20 s
    and 1 min). ``depth`` is the typical number of levels per side; ``queue_size`` the
    frames a client may fall behind before it is disconnected; ``rest_delay`` the seconds
    every REST answer takes.
    """

    def __init__(
        self,
        markets: Mapping[str, Sequence[str]] | None = None,
        *,
        seed: int = 0,
        tick_interval: float = 0.1,
        host: str = "127.0.0.1",
        port: int = 0,
        ping_interval: float | None = 20.0,
        pong_timeout: float = 60.0,
        depth: int = 40,
        queue_size: int = 10_000,
        rest_delay: float = 0.0,
    ) -> None:
        self.seed = seed
        self.tick_interval = tick_interval
        self.host = host
        self.port = port
        self.ping_interval = ping_interval
        self.pong_timeout = pong_timeout
        self.queue_size = queue_size
        self.rest_delay = rest_delay
        """Seconds every REST answer takes (a slow exchange; tests of REST backlogs use it)."""
        self.stats: Counter[str] = Counter()
        """Counters: ``connections``, ``subscriptions``, ``frames_sent``, ``faults_applied``
        (and ``faults.<name>``), ``rest_calls``, ``dropped.<why>``, ``pong_timeouts``."""
        self.speed = 0.0
        self._venues: dict[str, Venue] = {}
        for exchange, symbols in (markets or {}).items():
            wire = wire_format(exchange)
            specs = [wire.instrument(symbol, seed) for symbol in symbols]
            built = {wire.market_key(spec): wire.market(spec, seed, depth) for spec in specs}
            self._venues[exchange] = Venue(wire, self.stats, markets=built, queue_size=queue_size)
        self._clock = asyncio.Event()
        self._clock.set()
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None

    @classmethod
    def from_capture(
        cls,
        source: str | Path | Iterable[Frame],
        speed: float = 0.0,
        *,
        exchange: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ping_interval: float | None = 20.0,
        pong_timeout: float = 60.0,
        queue_size: int = 10_000,
    ) -> Simulator:
        """A simulator that plays a capture instead of a synthetic market.

        Binance, Bybit and Upbit captures play. Each connection gets the recorded frames of
        the streams it subscribes to, from the start of the recording: ``speed=0`` as fast
        as it reads, ``1.0`` at the recorded pace, ``2.0`` twice as fast. Point an adapter
        or a :class:`collector.Collector` at :meth:`endpoints` and subscribe what the
        recording holds: Binance streams by name, Bybit topics on the category path they
        were recorded on (``/v5/public/linear``), Upbit types and codes (frames play in the
        recorded format and depth whatever the request asks). Subscribe everything in one
        go: a stream subscribed later starts where the connection's playback has got to.
        The recorder's own acknowledgements are not played; the server answers each
        client's requests itself, and never synthesises book snapshots (Bybit's and
        Upbit's are played from the recording).

        REST calls get the recorded responses, matched on path, Bybit's ``category`` and
        the ``symbol``/``market`` parameter; an instrument listing that was not recorded
        is empty, anything else not recorded is a 404. The exchange id is detected from
        the capture's ``connect`` records unless ``exchange`` is given.
        """
        recording = Recording(source, exchange)
        sim = cls(host=host, port=port, ping_interval=ping_interval, pong_timeout=pong_timeout, queue_size=queue_size)
        sim.speed = speed
        wire = wire_format(recording.exchange)
        recording.index(wire)
        sim._venues[recording.exchange] = Venue(wire, sim.stats, recording=recording, queue_size=queue_size)
        return sim

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind ``host:port`` (port 0 picks a free one, then :attr:`port` tells which) and start serving."""
        app = web.Application()
        app.router.add_route("*", "/{exchange}/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        if any(v.markets for v in self._venues.values()):
            self._ticker = asyncio.create_task(self._run_market())

    async def stop(self) -> None:
        """Close every connection with code 1001 and stop the server."""
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        for venue in self._venues.values():
            venue.faults.close()
            closing = [c.ws.close(code=1001, message=b"simulator stopping") for c in list(venue.clients)]
            await asyncio.gather(*closing, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- public controls ------------------------------------------------------------------------

    def endpoints(self, exchange: str) -> Endpoints:
        """Where an adapter should connect: pass to ``collector.exchanges.create(exchange, endpoints=...)``."""
        venue = self._venue(exchange)
        if self._runner is None:
            raise UsageError("the simulator is not running; use it inside 'async with' first")
        # Some adapters' websocket base is a path, not a host (Bybit appends "/<category>" to it).
        base = f"{self.host}:{self.port}/{exchange}"
        return Endpoints(ws=f"ws://{base}{venue.wire.endpoint_path}", rest=f"http://{base}")

    @property
    def exchanges(self) -> list[str]:
        """The exchange ids this simulator serves."""
        return list(self._venues)

    def inject(
        self, exchange: str, fault: Fault, *, symbol: str | None = None, seconds: float = 1.0, count: int = 1
    ) -> None:
        """Apply ``fault`` to ``exchange`` now (see :mod:`collector.simulator.faults` for each effect).

        ``symbol`` is required for ``GAP`` and ``CHECKSUM``; ``seconds`` is the length of
        ``STALL`` and ``FREEZE``; ``count`` the number of 429 answers for ``RATE_LIMIT``.
        Call it from the event loop the simulator runs in.
        """
        venue = self._venue(exchange)
        loop = asyncio.get_running_loop()
        if fault is Fault.GAP or fault is Fault.CHECKSUM:
            if not venue.wire.book_diffs:
                raise UsageError(
                    f"{exchange} order books are full snapshots: a sequence gap cannot happen; "
                    "use STALL or ABRUPT_CLOSE instead"
                )
            if symbol is None:
                raise UsageError(f"Fault.{fault.name} needs symbol=...")
            if symbol not in venue.by_symbol and venue.recording is None:
                raise UsageError(f"{exchange} simulates no {symbol!r}; it has {', '.join(venue.by_symbol)}")
            key = venue.book_key(symbol)
            for client in venue.clients:
                (client.gap_pending if fault is Fault.GAP else client.corrupt_pending).add(key)
        elif fault is Fault.ABRUPT_CLOSE:
            for client in list(venue.clients):
                client.abort()
        elif fault is Fault.STALL:
            venue.faults.stall(loop.time(), seconds)
        elif fault is Fault.FREEZE:
            venue.faults.freeze(loop, seconds)
        elif fault is Fault.MALFORMED:
            text = venue.wire.malformed()
            for client in venue.clients:
                client.push(text)
        elif fault is Fault.RATE_LIMIT:
            venue.faults.rate_limited += count
        self.stats["faults_applied"] += 1
        self.stats["faults." + fault.value] += 1

    def send_raw(self, exchange: str, frames: Sequence[str | bytes]) -> None:
        """Send ``frames`` as they are on every open connection of ``exchange`` (hostile-input tests)."""
        venue = self._venue(exchange)
        for client in venue.clients:
            for frame in frames:
                client.push(frame)

    def hostile_frames(self, exchange: str, symbol: str) -> list[tuple[str | bytes, str]]:
        """The exchange's own hostile frames for ``symbol`` (see :meth:`WireFormat.hostile`)."""
        venue = self._venue(exchange)
        market = venue.by_symbol.get(symbol)
        if market is None:
            raise UsageError(f"{exchange} simulates no {symbol!r}; it has {', '.join(venue.by_symbol)}")
        return venue.wire.hostile(market.spec, int(time.time() * 1000))

    def pause(self) -> None:
        """Stop the market clock (and capture playback): no new updates until :meth:`resume`."""
        self._clock.clear()

    def resume(self) -> None:
        """Restart the market clock after :meth:`pause`."""
        self._clock.set()

    def true_book(
        self, exchange: str, symbol: str, depth: int | None = None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """``(bids, asks, update id)`` a correctly synced client holds, prices and sizes parsed as floats.

        Compare it with the client's book after :meth:`pause` once the client has caught
        up (its sequence equals the returned id; Upbit books carry no id, so the id is
        ``None`` there and the levels themselves are the condition). ``depth`` is the
        book depth the client subscribed: exchanges that push depth-limited books
        (Bybit ``orderbook.50``, Upbit ``KRW-BTC.15``) publish only the best ``depth``
        levels, and the id is that depth's. ``None`` means the adapter's default depth
        (Bybit 200, Upbit 30) and, for Binance, the whole book.
        """
        venue = self._venue(exchange)
        market = venue.by_symbol.get(symbol)
        if market is None:
            raise UsageError(f"{exchange} simulates no book for {symbol!r} (capture-fed simulators have none)")
        return venue.wire.true_book(market, depth)

    # -- internals ------------------------------------------------------------------------------

    def _venue(self, exchange: str) -> Venue:
        try:
            return self._venues[exchange]
        except KeyError:
            raise UnknownExchange(
                f"the simulator serves no {exchange!r}; it serves {', '.join(self._venues)}"
            ) from None

    async def _run_market(self) -> None:
        loop = asyncio.get_running_loop()
        venues = [v for v in self._venues.values() if v.markets]
        next_at = loop.time()
        while True:
            next_at += self.tick_interval
            delay = next_at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                # Running late (a slow machine): skip the missed ticks rather than burst them.
                next_at = loop.time()
                await asyncio.sleep(0)
            if not self._clock.is_set():
                await self._clock.wait()
                next_at = loop.time()
                continue
            now_ms = int(time.time() * 1000)
            for venue in venues:
                venue.tick(now_ms)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        venue = self._venues.get(request.match_info["exchange"])
        if venue is None:
            raise web.HTTPNotFound(text="no such exchange on this simulator")
        tail = request.match_info["tail"]
        if request.headers.get("Upgrade", "").lower() == "websocket":
            route = venue.wire.ws_route(tail)
            if route is None:
                raise web.HTTPNotFound(text=f"no websocket at /{tail}")
            return await self._serve_ws(request, venue, route)
        if request.method not in ("GET", "POST"):
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST"])
        self.stats["rest_calls"] += 1
        if self.rest_delay:
            await asyncio.sleep(self.rest_delay)
        headers = {}
        if venue.faults.rate_limited > 0:
            venue.faults.rate_limited -= 1
            answer = venue.wire.rate_limited()
            headers["Retry-After"] = "1"
        else:
            body = await request.read() if request.method == "POST" else b""
            answer = venue.rest(RestCall(request.method, "/" + tail, dict(request.query), body))
        weight = venue.use_weight(answer.weight)
        header = venue.wire.weight_header()
        if header is not None:
            headers[header] = str(weight)
        return web.Response(status=answer.status, body=answer.body, content_type="application/json", headers=headers)

    async def _serve_ws(self, request: web.Request, venue: Venue, route: str) -> web.StreamResponse:
        # Pings are ours (not aiohttp's heartbeat) so FREEZE can silence them and pongs can be checked.
        ws = web.WebSocketResponse(autoping=False, compress=False, timeout=1.0, max_msg_size=1 << 20)
        await ws.prepare(request)
        client = Client(
            venue,
            ws,
            request.transport,
            route,
            ping_interval=self.ping_interval,
            pong_timeout=self.pong_timeout,
            speed=self.speed,
            clock=self._clock,
        )
        venue.clients.add(client)
        self.stats["connections"] += 1
        try:
            streams = venue.wire.url_streams(request.query)
            if streams:
                venue.subscribe(client, streams)
            await client.run()
        finally:
            venue.detach(client)
        return ws


def wire_format(exchange: str) -> WireFormat:
    """The simulator wire format of ``exchange``, from its package (see ``Adapter.simulator_wire``)."""
    if exchange not in EXCHANGES:
        raise UnknownExchange(f"the simulator speaks no {exchange!r}; known: {', '.join(EXCHANGES)}")
    try:
        return EXCHANGES[exchange].simulator_wire()
    except CollectorError as exc:
        raise UnknownExchange(str(exc)) from None
