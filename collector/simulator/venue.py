"""One exchange on the simulator's server: its clients, subscriptions, fan-out and faults.

A :class:`Venue` joins a wire format to a data source (synthetic markets or a
:class:`~collector.simulator.playback.Recording`). A :class:`Client` is one websocket
connection: a read loop (control messages, pings), a writer task draining a bounded
queue, a pinger and, for exchanges that send their own keepalives, a heartbeat task.
Every queue has a bound: a client that falls ``queue_size`` frames behind is
disconnected, as Binance drops slow consumers, and the drop is counted.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import orjson
from aiohttp import WSMsgType, web

from .faults import FaultState
from .market import SymbolMarket
from .playback import Recording
from .wire import Control, Message, RestAnswer, RestCall, WireFormat

if TYPE_CHECKING:
    from asyncio import Transport

__all__ = ["Client", "Venue"]

_CLOSING = frozenset({WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR})
_BATCH = 512  # frames per socket write at most
_HIGH_WATER = 1 << 20  # bytes buffered for a client before the writer waits


def _encoded(frame: str | bytes) -> bytes:
    """``frame`` as one unmasked, final websocket frame (RFC 6455 5.2): text for ``str``."""
    if isinstance(frame, str):
        payload, first = frame.encode(), 0x81
    else:
        payload, first = frame, 0x82
    n = len(payload)
    if n < 126:
        return bytes((first, n)) + payload
    if n < 1 << 16:
        return bytes((first, 126)) + n.to_bytes(2, "big") + payload
    return bytes((first, 127)) + n.to_bytes(8, "big") + payload


class Venue:
    """The server-side state of one exchange id. The :class:`~collector.simulator.Simulator` owns it."""

    def __init__(
        self,
        wire: WireFormat,
        stats: Counter[str],
        *,
        markets: Mapping[str, SymbolMarket] | None = None,
        recording: Recording | None = None,
        queue_size: int = 10_000,
    ) -> None:
        self.wire = wire
        self.stats = stats
        self.markets: dict[str, SymbolMarket] = dict(markets or {})  # by market key (the native id for most)
        self.by_symbol = {m.spec.symbol: m for m in self.markets.values()}
        self.recording = recording
        self.natives = recording.natives() if recording is not None else {}
        self.queue_size = queue_size
        self.faults = FaultState()
        self.clients: set[Client] = set()
        self.index: dict[str, list[Client]] = {}  # stream -> clients that receive it
        self._weight_minute = 0
        self._weight_used = 0

    # -- subscriptions --------------------------------------------------------------------------

    def control(self, client: Client, text: str) -> Control:
        """The wire's answer to one client frame."""
        if self.recording is not None:
            # The data is recorded: subscriptions name recorded stream keys, nothing is synthesised.
            return self.wire.on_recorded_text(client.session, text, self.recording.streams)
        return self.wire.on_client_text(client.session, text, self.markets, int(time.time() * 1000))

    def subscribe(self, client: Client, streams: Iterable[str]) -> None:
        """Add streams to a client; streams of another route are kept but never delivered."""
        for stream in streams:
            if stream in client.streams:
                continue
            client.streams.append(stream)
            self.stats["subscriptions"] += 1
            if self.wire.stream_route(stream) != client.route:
                self.stats["silent_subscriptions"] += 1
                continue
            self.index.setdefault(stream, []).append(client)
            interval = self.wire.wanted_intervals(stream)
            if interval is not None:
                for market in self.markets.values():
                    market.track(interval)
        if client.streams and self.recording is not None and client.player is None:
            client.player = asyncio.create_task(client.play(self.recording))

    def unsubscribe(self, client: Client, streams: Iterable[str]) -> None:
        """Remove streams from a client (unknown ones are ignored, as Binance does)."""
        for stream in streams:
            if stream not in client.streams:
                continue
            client.streams.remove(stream)
            listeners = self.index.get(stream)
            if listeners and client in listeners:
                listeners.remove(client)
                if not listeners:
                    del self.index[stream]

    def detach(self, client: Client) -> None:
        """Forget a closed client."""
        self.unsubscribe(client, list(client.streams))
        self.clients.discard(client)

    # -- data -----------------------------------------------------------------------------------

    def tick(self, now_ms: int) -> None:
        """Step every synthetic market once and send the frames to subscribers."""
        index = self.index
        encode = self.wire.encode
        for market in self.markets.values():
            update = market.step(now_ms)
            if index:
                self.publish(encode(market.spec, update, index))

    def publish(self, messages: list[Message]) -> None:
        """Queue frames to their subscribers without waiting (synthetic fan-out)."""
        if not messages:
            return
        if self.faults.stalled(asyncio.get_running_loop().time()):
            self.stats["dropped.stall"] += len(messages)
            return
        deliver = self.wire.deliver
        for message in messages:
            for client in self.index.get(message.stream, ()):
                book_key = message.book_key
                if book_key is not None and (client.gap_pending or client.corrupt_pending):
                    if book_key in client.gap_pending:
                        client.gap_pending.discard(book_key)
                        self.stats["dropped.gap"] += 1
                        continue
                    if book_key in client.corrupt_pending:
                        client.corrupt_pending.discard(book_key)
                        self.stats["corrupted.checksum"] += 1
                        message = self.wire.corrupt(message)
                frame = deliver(client.session, message)
                if frame is not None:
                    client.push(frame)

    def book_key(self, symbol: str) -> str:
        """The book key (market key) of a unified (or, in capture mode, native) symbol for book faults."""
        market = self.by_symbol.get(symbol)
        return self.wire.market_key(market.spec) if market is not None else self.natives.get(symbol, symbol)

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall) -> RestAnswer:
        """Answer a REST call from the markets or the recording (faults are applied by the caller)."""
        now_ms = int(time.time() * 1000)
        if self.recording is None:
            return self.wire.rest(call, self.markets, now_ms)
        answer = self.recording.answer(call.path, call.query)
        if answer is not None:
            return answer
        listings = {self.wire.instruments_path} | {path for path, _ in self.wire.instrument_calls(())}
        if call.path in listings:
            # A listing the recorder never asked for (Bybit's inverse category, say) lists
            # nothing in this session: answer it as the exchange answers an empty listing.
            return self.wire.rest(call, {}, now_ms)
        key = "&".join(f"{k}={v}" for k, v in call.query.items())
        return RestAnswer(404, orjson.dumps({"code": -1, "msg": f"{call.path}?{key} is not in the recording"}))

    def use_weight(self, weight: int) -> int:
        """Add a call's weight to the current minute and return the minute's total."""
        minute = int(time.time() // 60)
        if minute != self._weight_minute:
            self._weight_minute = minute
            self._weight_used = 0
        self._weight_used += weight
        return self._weight_used


class Client:
    """One websocket connection to a venue. :meth:`run` serves it until it closes."""

    def __init__(
        self,
        venue: Venue,
        ws: web.WebSocketResponse,
        transport: Transport | None,
        route: str,
        *,
        ping_interval: float | None,
        pong_timeout: float,
        speed: float = 0.0,
        clock: asyncio.Event | None = None,
    ) -> None:
        self.venue = venue
        self.ws = ws
        self.transport = transport
        self.route = route
        self.session = venue.wire.open(route)
        self.streams: list[str] = self.session.streams
        self.gap_pending: set[str] = set()
        self.corrupt_pending: set[str] = set()
        self.queue: asyncio.Queue[str | bytes] = asyncio.Queue(venue.queue_size)
        self.player: asyncio.Task[None] | None = None
        self._ping_interval = ping_interval
        self._pong_timeout = pong_timeout
        self._speed = speed
        self._clock = clock
        self._ping_payload: bytes | None = None
        self._ping_since: float | None = None
        self._closed = False

    def push(self, text: str | bytes) -> None:
        """Queue a frame; a client too slow to keep ``queue_size`` frames is disconnected."""
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            if not self._closed:
                self.venue.stats["dropped.slow_client"] += 1
                self.abort()

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (the peer sees 1006)."""
        self._closed = True
        if self.transport is not None:
            self.transport.abort()

    async def run(self) -> None:
        """Serve the connection: read control frames and pings while the writer and pinger run."""
        for frame in self.venue.wire.greeting(self.session, int(time.time() * 1000)):
            self.push(frame)
        tasks = [asyncio.create_task(self._write())]
        if self._ping_interval:
            tasks.append(asyncio.create_task(self._keepalive(self._ping_interval)))
        heartbeat = self.venue.wire.heartbeat_interval
        if heartbeat:
            tasks.append(asyncio.create_task(self._heartbeat(heartbeat)))
        try:
            await self._read()
        finally:
            self._closed = True
            if self.player is not None:
                tasks.append(self.player)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if not self.ws.closed:
                await self.ws.close()

    async def _read(self) -> None:
        ws = self.ws
        venue = self.venue
        running = venue.faults.running
        while True:
            msg = await ws.receive()
            if not running.is_set():
                # FREEZE: the frame (a ping, too) is only looked at once the freeze is over.
                await running.wait()
            kind = msg.type
            if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
                text = msg.data if isinstance(msg.data, str) else bytes(msg.data).decode("utf-8", "replace")
                control = venue.control(self, text)
                if control.close is not None:
                    # The exchange answers and hangs up: the answer goes out before the close.
                    for frame in [control.reply, *control.frames]:
                        if isinstance(frame, str):
                            await ws.send_str(frame)
                        elif frame is not None:
                            await ws.send_bytes(frame)
                    await ws.close(code=control.close, message=b"closed by the exchange")
                    return
                if control.reply is not None:
                    self.push(control.reply)
                for frame in control.frames:
                    self.push(frame)
                if control.subscribe:
                    venue.subscribe(self, control.subscribe)
                if control.unsubscribe:
                    venue.unsubscribe(self, control.unsubscribe)
            elif kind is WSMsgType.PING:
                await ws.pong(msg.data)
            elif kind is WSMsgType.PONG:
                # Binance: an unsolicited pong does not count; only the echo of our ping does.
                if msg.data == self._ping_payload:
                    self._ping_since = None
            elif kind in _CLOSING:
                return

    async def _write(self) -> None:
        """Send queued frames: everything queued at once goes out in one socket write.

        One ``send_str`` per frame capped the simulator at ~120k frames/s, below what the
        client under test can take; frames are encoded here instead (server frames are
        unmasked and, with ``compress=False``, never compressed) and written together, and
        the writer waits while the socket's buffer is over its high-water mark.
        """
        queue = self.queue
        running = self.venue.faults.running
        stats = self.venue.stats
        transport = self.transport
        try:
            while True:
                frames = [await queue.get()]
                while not queue.empty() and len(frames) < _BATCH:
                    frames.append(queue.get_nowait())
                if not running.is_set():
                    await running.wait()
                if transport is None:  # (a test server without a raw transport)
                    for frame in frames:
                        await (self.ws.send_str(frame) if isinstance(frame, str) else self.ws.send_bytes(frame))
                else:
                    if transport.is_closing():
                        raise ConnectionResetError("the client is gone")
                    transport.write(b"".join(map(_encoded, frames)))
                    # aiohttp has no public drain for raw writes: poll while this client lags.
                    while transport.get_write_buffer_size() > _HIGH_WATER and not transport.is_closing():  # noqa: ASYNC110
                        await asyncio.sleep(0.001)
                stats["frames_sent"] += len(frames)
        except (ConnectionError, RuntimeError):
            # The peer went away mid-write; the read loop sees the close and cleans up.
            self.abort()

    async def _heartbeat(self, interval: float) -> None:
        """The wire's own keepalive frames (HTX pings, Bitfinex heartbeats ...); withheld while stalled."""
        loop = asyncio.get_running_loop()
        venue = self.venue
        while True:
            await asyncio.sleep(interval)
            if not venue.faults.running.is_set():
                await venue.faults.running.wait()
                continue
            if venue.faults.stalled(loop.time()):
                continue
            for frame in venue.wire.heartbeat(self.session, int(time.time() * 1000)):
                self.push(frame)
            code = self.session.close_code
            if code is not None:
                # The exchange hangs up on a client that left its pings unanswered.
                venue.stats["pong_timeouts"] += 1
                await self.ws.close(code=code, message=b"ping timeout")
                return

    async def _keepalive(self, interval: float) -> None:
        loop = asyncio.get_running_loop()
        running = self.venue.faults.running
        while True:
            await asyncio.sleep(interval)
            if not running.is_set():
                await running.wait()
                continue
            if self._ping_since is not None and loop.time() - self._ping_since > self._pong_timeout:
                # Binance: "no pong within 1 min -> disconnect"; checked at each ping.
                self.venue.stats["pong_timeouts"] += 1
                await self.ws.close(code=1008, message=b"pong timeout")
                return
            self._ping_payload = str(int(time.time() * 1000)).encode()
            try:
                await self.ws.ping(self._ping_payload)
            except (ConnectionError, RuntimeError):
                return
            if self._ping_since is None:
                self._ping_since = loop.time()

    async def play(self, recording: Recording) -> None:
        """Send the recording from its start, paced by ``speed`` (0 = as fast as the client reads)."""
        loop = asyncio.get_running_loop()
        venue = self.venue
        faults = venue.faults
        started = loop.time()
        speed = self._speed
        for n, rec in enumerate(recording.frames):
            if speed > 0:
                delay = started + (rec.ts - recording.start) / speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif n % 256 == 0:
                await asyncio.sleep(0)  # frames nobody asked for must not starve the loop
            if self._clock is not None and not self._clock.is_set():
                await self._clock.wait()
            stream = rec.stream
            if stream is not None and (stream not in self.streams or venue.wire.stream_route(stream) != self.route):
                continue
            if faults.stalled(loop.time()):
                venue.stats["dropped.stall"] += 1
                continue
            if rec.book_key is not None and rec.book_key in self.gap_pending:
                self.gap_pending.discard(rec.book_key)
                venue.stats["dropped.gap"] += 1
                continue
            await self.queue.put(rec.data)
