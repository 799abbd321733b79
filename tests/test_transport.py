"""The websocket transports behave alike at their edges: every test runs on each transport
against a real websocket server of its own on loopback (messages whole and in order, the size
bound, close codes, rejected handshakes, untrusted certificates, pings)."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from collector.transport import BadAddress, HandshakeRejected, SocketClosed, Transport, WebsocketsTransport
from collector.transport_picows import available

TRANSPORTS = ["websockets", "picows"] if available() else ["websockets"]


def make(name: str, max_size: int = 1 << 20) -> Transport:
    if name == "picows":
        from collector.transport_picows import PicowsTransport

        return PicowsTransport(max_size=max_size)
    return WebsocketsTransport(max_size=max_size)


@pytest.fixture(params=TRANSPORTS)
def transport_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


Handler = Callable[[ServerConnection], Awaitable[None]]


@asynccontextmanager
async def server(
    handler: Handler, *, ssl_context: ssl.SSLContext | None = None, reject: int | None = None
) -> AsyncIterator[str]:
    """A websocket server on a free loopback port running ``handler`` per connection; its URL."""

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        return connection.respond(reject, "no\n") if reject is not None else None

    async with serve(
        handler, "127.0.0.1", 0, ssl=ssl_context, process_request=process_request, max_size=None, compression=None
    ) as srv:
        port = next(iter(srv.sockets)).getsockname()[1]
        yield f"{'wss' if ssl_context else 'ws'}://127.0.0.1:{port}/stream"


async def connect(name: str, url: str, *, max_size: int = 1 << 20, ping_interval: float | None = None) -> Any:
    return await make(name, max_size).connect(
        url, headers={}, ping_interval=ping_interval, ping_timeout=ping_interval, open_timeout=5.0
    )


async def test_text_binary_and_fragmented_messages_arrive_whole_and_in_order(transport_name: str) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("first")
        await ws.send(b"\x00\x01\x02")
        await ws.send(["frag", "men", "ted"])  # one text message in three frames
        await ws.send([b"\x03", b"\x04"])
        await ws.send("last")
        await ws.wait_closed()

    async with server(handler) as url:
        socket = await connect(transport_name, url)
        received = [await asyncio.wait_for(socket.recv(), 5) for _ in range(5)]
        await socket.close()
    assert received == ["first", b"\x00\x01\x02", "fragmented", b"\x03\x04", "last"]


async def test_a_text_message_that_is_not_utf8_is_handed_on_as_bytes(transport_name: str) -> None:
    """Invalid UTF-8 in a text frame is the adapter's to report (an ``error`` event): the transport
    hands the bytes on and the connection goes on, on either transport."""

    async def handler(ws: ServerConnection) -> None:
        await ws.send("before")
        await ws.send(b'{"p":"\xff\xfe"}', text=True)
        await ws.send("after")
        await ws.wait_closed()

    async with server(handler) as url:
        socket = await connect(transport_name, url)
        received = [await asyncio.wait_for(socket.recv(), 5) for _ in range(3)]
        await socket.close()
    assert received == ["before", b'{"p":"\xff\xfe"}', "after"]


@pytest.mark.parametrize("fragments", [1, 4], ids=["one frame", "fragments"])
async def test_a_message_over_the_size_bound_closes_the_socket(transport_name: str, fragments: int) -> None:
    """Nothing over ``max_size`` is handed on, in one frame or in pieces: the socket closes with a reason."""

    async def handler(ws: ServerConnection) -> None:
        await ws.send("small")
        piece = "x" * (4096 // fragments)
        await ws.send(piece if fragments == 1 else [piece] * fragments)
        await ws.send("after")
        await ws.wait_closed()

    async with server(handler) as url:
        socket = await connect(transport_name, url, max_size=1024)
        assert await asyncio.wait_for(socket.recv(), 5) == "small"
        with pytest.raises(SocketClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)
        socket.abort()
    assert str(closed.value)


async def test_the_peers_close_code_and_reason_are_told(transport_name: str) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("hello")
        await ws.close(4001, "maintenance")

    async with server(handler) as url:
        socket = await connect(transport_name, url)
        assert await asyncio.wait_for(socket.recv(), 5) == "hello"
        with pytest.raises(SocketClosed, match="4001") as closed:
            await asyncio.wait_for(socket.recv(), 5)
    assert "maintenance" in str(closed.value)


async def test_a_rejected_handshake_carries_its_status(transport_name: str) -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.wait_closed()

    async with server(handler, reject=404) as url:
        with pytest.raises(HandshakeRejected) as rejected:
            await connect(transport_name, url)
    assert rejected.value.status == 404


async def test_an_untrusted_certificate_is_a_bad_address(transport_name: str, tmp_path: Path) -> None:
    """TLS is verified: a self-signed server certificate is refused, never silently accepted."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert, key = self_signed(tmp_path)
    context.load_cert_chain(cert, key)

    async def handler(ws: ServerConnection) -> None:
        await ws.send("should never arrive")

    async with server(handler, ssl_context=context) as url:
        with pytest.raises(BadAddress, match="TLS certificate rejected"):
            await connect(transport_name, url)


async def test_the_peers_pings_are_answered_and_our_pings_keep_a_live_peer(transport_name: str) -> None:
    pongs: list[float] = []

    async def handler(ws: ServerConnection) -> None:
        for _ in range(3):
            waiter = await ws.ping()
            pongs.append(await asyncio.wait_for(waiter, 2))
        await ws.send("done")
        await ws.wait_closed()

    async with server(handler) as url:
        socket = await connect(transport_name, url, ping_interval=0.2)
        assert await asyncio.wait_for(socket.recv(), 10) == "done"
        await asyncio.sleep(0.6)  # our pings, answered by the server, keep the socket open
        await socket.send("still here")
        await socket.close()
    assert len(pongs) == 3


async def test_a_peer_that_stops_answering_pings_is_found(transport_name: str) -> None:
    """A socket whose peer went silent (it reads nothing, so our pings go unanswered) closes
    within a few ping intervals, with a reason; it never waits forever."""

    done = asyncio.Event()

    async def handler(ws: ServerConnection) -> None:
        await ws.send("hello")
        ws.transport.pause_reading()
        await done.wait()
        ws.transport.abort()  # it reads nothing, so it could not see a close handshake either

    async with server(handler) as url:
        socket = await connect(transport_name, url, ping_interval=0.3)
        assert await asyncio.wait_for(socket.recv(), 5) == "hello"
        started = time.monotonic()
        with pytest.raises(SocketClosed) as closed:
            await asyncio.wait_for(socket.recv(), 10)
        elapsed = time.monotonic() - started
        socket.abort()
        done.set()
    assert elapsed < 6  # ping interval + reply timeout (+ a bounded close handshake)
    assert str(closed.value)


FLOOD = 20_000


async def flood(ws: ServerConnection) -> None:
    """Every message at once, in one write: the client finds them all waiting in its socket."""
    ws.transport.write(b"".join(_text_frame(f"{i:06d}" + "x" * 90) for i in range(FLOOD)))
    await ws.wait_closed()


async def binary_flood(ws: ServerConnection) -> None:
    """The flood as binary messages (as some exchanges send all their data)."""
    ws.transport.write(b"".join(b"\x82" + bytes([96]) + f"{i:06d}".encode() + b"x" * 90 for i in range(FLOOD)))
    await ws.wait_closed()


def _text_frame(text: str) -> bytes:
    payload = text.encode()
    assert len(payload) < 126
    return bytes([0x81, len(payload)]) + payload


def flood_server(scheme: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The flood server, on ``wss`` with a certificate the client is told to trust."""
    if scheme == "ws":
        return server(flood)
    cert, key = self_signed(folder)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the default context trusts it
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return server(flood, ssl_context=context)


@pytest.mark.skipif(not available(), reason="picows is not installed")
async def test_picows_hands_whole_binary_messages_to_push_as_it_does_text() -> None:
    """Binary messages take the synchronous path too: nothing is queued for recv() while the
    consumer takes them."""
    pushed: list[bytes] = []
    done = asyncio.Event()

    def push(message: str | bytes) -> bool:
        assert isinstance(message, bytes)
        pushed.append(message[:6])
        if len(pushed) == FLOOD:
            done.set()
        return True

    async with server(binary_flood) as url:
        socket = await connect("picows", url)
        socket.set_push(push)
        await asyncio.wait_for(done.wait(), 20)
        assert socket.recv_now() is None  # nothing went the queued way
        await socket.close()
    assert pushed == [f"{i:06d}".encode() for i in range(FLOOD)]


LOOPS = ["asyncio", "uvloop"]
"""picows runs on asyncio's loop in the library and on uvloop in the CLI: its tests run on both."""


def run_on(loop: str, main: Awaitable[None]) -> None:
    import uvloop

    (uvloop.run if loop == "uvloop" else asyncio.run)(main)  # type: ignore[arg-type]


@pytest.mark.skipif(not available(), reason="picows is not installed")
@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_picows_reads_a_flood_a_bounded_slice_per_loop_turn(
    loop: str, scheme: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """picows doubles its read buffer while reads fill it, so a flood would be parsed in one
    read callback of megabytes; reads are capped (one per loop turn) so the consumer of the
    messages, pings and other connections run in between."""
    run_on(loop, bounded_slices(scheme, tmp_path, monkeypatch))


async def bounded_slices(scheme: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from collector.transport_picows import _MAX_READ

    turn = 0
    per_turn: dict[int, int] = {}
    received: list[str] = []
    ticking = True
    done = asyncio.Event()

    def tick() -> None:
        nonlocal turn
        turn += 1
        if ticking:
            asyncio.get_running_loop().call_soon(tick)

    def push(message: str | bytes) -> bool:
        assert isinstance(message, str)
        received.append(message[:6])
        per_turn[turn] = per_turn.get(turn, 0) + 1
        if len(received) == FLOOD:
            done.set()
        return True

    async with flood_server(scheme, tmp_path, monkeypatch) as url:
        socket = await connect("picows", url)
        socket.set_push(push)
        tick()
        await asyncio.wait_for(done.wait(), 20)
        ticking = False
        await socket.close()
    assert received == [f"{i:06d}" for i in range(FLOOD)]
    frame_size = 2 + 96
    # (The first turn also hands over what was read before push was set, after the handshake.)
    later = [n for t, n in sorted(per_turn.items())[1:]]
    if scheme == "ws":
        assert max(later) <= _MAX_READ // frame_size + 1
    else:
        # Over TLS the transport itself stops after a budget per turn (256 KiB in aiofastnet
        # 0.x), read in capped slices; without the cap, picows's buffer would grow to the flood.
        assert max(later) * frame_size <= 20 * _MAX_READ
    assert len(later) >= sum(later) * frame_size // (20 * _MAX_READ)


async def test_a_flood_over_tls_arrives_whole_and_in_order(
    transport_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exchanges are wss://: a flood through TLS (a certificate the client is told to trust)
    arrives whole and in order, on picows through its capped reads too."""
    async with flood_server("wss", tmp_path, monkeypatch) as url:
        socket = await connect(transport_name, url)
        received = [await asyncio.wait_for(socket.recv(), 10) for _ in range(FLOOD)]
        await socket.close()
    assert [m[:6] for m in received] == [f"{i:06d}" for i in range(FLOOD)]


@pytest.mark.skipif(not available(), reason="picows is not installed")
@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_picows_keeps_the_order_when_the_consumer_refuses_messages_for_a_while(
    loop: str, scheme: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages refused by a busy consumer wait in the socket (which stops reading meanwhile)
    and are taken with recv_now()/recv(); nothing after them is pushed past them, and once they
    are taken pushing and reading resume: over TLS too, where the transport already holds
    records when reading resumes."""
    run_on(loop, order_under_refusal(scheme, tmp_path, monkeypatch))


async def order_under_refusal(scheme: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    processed: list[str] = []
    calls = 0
    done = asyncio.Event()

    def take(message: str | bytes) -> None:
        assert isinstance(message, str)
        processed.append(message[:6])
        if len(processed) == FLOOD:
            done.set()

    def push(message: str | bytes) -> bool:
        nonlocal calls
        calls += 1
        if 1_000 <= calls < 1_400 or calls % 97 == 0:
            return False  # busy: the message stays queued in the socket
        take(message)
        return True

    async with flood_server(scheme, tmp_path, monkeypatch) as url:
        socket = await connect("picows", url)
        socket.set_push(push)

        async def pull() -> None:
            while True:
                message = socket.recv_now()
                if message is None:
                    message = await socket.recv()
                take(message)
                await asyncio.sleep(0)  # the consumer awaits room for this message's events

        puller = asyncio.ensure_future(pull())
        await asyncio.wait_for(done.wait(), 20)
        puller.cancel()
        await socket.close()
    assert processed == [f"{i:06d}" for i in range(FLOOD)]


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key (no authority vouches for it)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command here to make a certificate with")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key
