"""Crypto.com over real loopback websockets: the simulator's protocol and the adapter's round trips.

What the conformance scenario does not reach: the server heartbeat and its answer (a client
that does not answer is closed), the 1 s wait before subscribing, a gap
that re-subscribes one book while the other stays live, cryptofeed-style subscriptions
(books in SNAPSHOT mode), the derivative channels, and the simulator's refusals.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson
import pytest
import websockets

from collector import Collector, Connected, Resync
from collector.exchanges import ConnectionPlan
from collector.exchanges.cryptocom import CryptocomAdapter
from collector.exchanges.cryptocom.sim import CryptocomSession, CryptocomWire
from collector.models import Book, DerivativeTicker, Error
from collector.simulator import Fault, Simulator
from tests.e2e.helpers import Recorder, books_equal_truth, quick_delays, synced, wait_for

SYMBOLS = ["BTC/USDT", "BTC/USD:USD"]
MARKETS = {"cryptocom": SYMBOLS}


async def _recv(ws: Any, timeout: float = 2.0) -> Any:
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))


async def _heartbeats_until_closed(ws: Any, heartbeats: list[Any]) -> None:
    """Read data and heartbeats (kept in ``heartbeats``) until the server closes the connection."""
    while True:
        msg = await _recv(ws)
        if msg.get("method") == "public/heartbeat":
            heartbeats.append(msg)


async def _started(sim: Simulator, channels: list[str], **overrides: Any) -> tuple[Collector, Recorder]:
    c = Collector(
        endpoints={"cryptocom": sim.endpoints("cryptocom")},
        queue_size=0,
        delays=quick_delays,
        stable_after=0.5,
        check_interval=0.2,
        plan_overrides={"idle_timeout": 30.0, "ping_interval": 0.5, "ping_timeout": 2.0} | overrides,
    )
    c.subscribe("cryptocom", SYMBOLS[1:] if channels == ["funding"] else SYMBOLS, channels)
    rec = Recorder()
    c.on(rec)
    await c.start()
    return c, rec


async def test_heartbeats_are_answered_and_the_connection_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    """The collector answers every public/heartbeat with its id: data keeps flowing past many heartbeats.

    (The first heartbeat must come after the 1 s subscribe delay, as Crypto.com's 30 s one does:
    nothing, answers included, is sent before it.)"""
    monkeypatch.setattr(CryptocomWire, "heartbeat_interval", 1.1)
    monkeypatch.setattr(CryptocomWire, "heartbeat_timeout", 0.5)
    async with Simulator(MARKETS, seed=3, tick_interval=0.02) as sim:
        c, rec = await _started(sim, ["trades", "book"])
        try:
            await wait_for(lambda: synced(c, MARKETS), timeout=10)
            answered = c.adapter("cryptocom").stats["ignored.heartbeat"]
            await asyncio.sleep(3.5)
            assert c.adapter("cryptocom").stats["ignored.heartbeat"] >= answered + 3
            assert len(rec.of(Connected, "cryptocom")) == 1
            books = len(rec.of(Book, "cryptocom"))
            await asyncio.sleep(0.3)
            assert len(rec.of(Book, "cryptocom")) > books
        finally:
            await c.stop()


async def test_a_client_that_ignores_heartbeats_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """No public/respond-heartbeat within the limit: the server closes the connection with 1000
    ("Normal disconnection by server, usually when the heartbeat isn't handled properly")."""
    monkeypatch.setattr(CryptocomWire, "heartbeat_interval", 0.2)
    monkeypatch.setattr(CryptocomWire, "heartbeat_timeout", 0.1)
    async with (
        Simulator(MARKETS, seed=3, tick_interval=0.02) as sim,
        websockets.connect(sim.endpoints("cryptocom").ws) as ws,
    ):
        request = {"id": 1, "method": "subscribe", "params": {"channels": ["trade.BTC_USDT", "ticker.BTC_USDT"]}}
        await ws.send(orjson.dumps(request).decode())
        assert await _recv(ws) == {"id": 1, "method": "subscribe", "code": 0}
        heartbeats: list[Any] = []
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(_heartbeats_until_closed(ws, heartbeats), 5.0)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
        assert [set(h) for h in heartbeats] == [{"id", "method", "code"}]
        assert sim.stats["pong_timeouts"] == 1


async def test_subscriptions_wait_one_second_after_the_connect() -> None:
    """The pro-rated request limit: the first book data comes no sooner than 1 s after the connect."""
    async with Simulator(MARKETS, seed=4, tick_interval=0.02) as sim:
        c, rec = await _started(sim, ["book"])
        try:
            await wait_for(lambda: synced(c, MARKETS), timeout=10)
            (connected,) = rec.of(Connected, "cryptocom")
            first = min(e.received for e in rec.of(Book, "cryptocom"))
            assert first - connected.received >= 1.0
        finally:
            await c.stop()


async def test_gap_resubscribes_one_book_and_it_converges() -> None:
    """A withheld delta resyncs that book alone (reason gap); its new subscription brings a snapshot
    and the book equals the simulator's truth again."""
    async with Simulator(MARKETS, seed=5, tick_interval=0.02) as sim:
        c, rec = await _started(sim, ["book"])
        try:
            await wait_for(lambda: synced(c, MARKETS), timeout=10)
            sim.inject("cryptocom", Fault.GAP, symbol="BTC/USD:USD")
            await wait_for(lambda: any(e.reason == "gap" for e in rec.of(Resync, "cryptocom")), timeout=5)
            await wait_for(lambda: synced(c, MARKETS), timeout=5)
            await books_equal_truth(c, sim, MARKETS)
            assert [(e.symbol, e.reason) for e in rec.of(Resync, "cryptocom")] == [("BTC/USD:USD", "gap")]
            assert c.adapter("cryptocom").books.stats["snapshots"] == 3
            assert rec.of(Error, "cryptocom") == []
        finally:
            await c.stop()


async def test_funding_channels_give_derivative_tickers() -> None:
    """mark, index, funding and estimated funding plus open interest from the ticker, merged per contract."""
    async with Simulator({"cryptocom": SYMBOLS[1:]}, seed=6, tick_interval=0.05) as sim:
        c, rec = await _started(sim, ["funding"])
        try:

            def complete() -> bool:
                tickers = rec.of(DerivativeTicker, "cryptocom")
                if not tickers:
                    return False
                t = tickers[-1]
                values = (t.mark_price, t.index_price, t.funding_rate, t.predicted_funding_rate, t.open_interest)
                return all(v is not None for v in values) and t.next_funding_time is not None

            await wait_for(complete, timeout=10)
            last = rec.of(DerivativeTicker, "cryptocom")[-1]
            assert last.symbol == "BTC/USD:USD" and last.next_funding_time % 3600 == 0
            assert last.open_interest_value == pytest.approx(last.open_interest * last.mark_price)
            assert rec.of(Error, "cryptocom") == []
        finally:
            await c.stop()


async def test_cryptofeed_style_snapshot_subscription() -> None:
    """A subscribe without book parameters (what a cryptofeed recorder sends) gets whole books in
    SNAPSHOT mode, each replacing the last; the adapter's book follows them to the truth."""
    async with Simulator(MARKETS, seed=7, tick_interval=0.02) as sim:
        adapter = CryptocomAdapter()
        endpoints = sim.endpoints("cryptocom")
        request = CryptocomAdapter(endpoints=endpoints).instrument_requests()[0]
        async with aiohttp.ClientSession() as http, http.get(request.url) as answer:
            adapter.answer(request, answer.status, await answer.read(), time.time())
        async with websockets.connect(endpoints.ws) as ws:
            adapter.connected(ConnectionPlan("c", endpoints.ws), time.time())
            await ws.send('{"method":"subscribe","params":{"channels":["book.BTC_USDT.50"]}}')
            assert await _recv(ws) == {"id": -1, "method": "subscribe", "code": 0}
            channels = []
            for _ in range(10):
                frame = await asyncio.wait_for(ws.recv(), 2.0)
                channels.append(orjson.loads(frame)["result"]["channel"])
                adapter.receive("c", frame, time.time())
            assert set(channels) == {"book"}
            sim.pause()
            try:
                # Frames in flight when the market stopped are the last ones.
                while True:
                    try:
                        adapter.receive("c", await asyncio.wait_for(ws.recv(), 0.3), time.time())
                    except TimeoutError:
                        break
                bids, asks, u = sim.true_book("cryptocom", "BTC/USDT")
                book = adapter.book("BTC/USDT")
                assert book is not None and (book.bids(), book.asks(), book.sequence) == (bids, asks, u)
            finally:
                sim.resume()


# -- the wire's refusals --------------------------------------------------------------------------


@pytest.fixture
def wire() -> CryptocomWire:
    w = CryptocomWire()
    for symbol in SYMBOLS:
        w.market(w.instrument(symbol, 0), 0, 20)
    return w


def _ask(wire: CryptocomWire, request: Any, now_ms: int = 1_700_000_000_000) -> Any:
    control = wire.on_client_text(CryptocomSession("market"), orjson.dumps(request).decode(), wire._markets, now_ms)
    return orjson.loads(control.reply) if control.reply else None


def test_wire_refuses_what_crypto_com_refuses(wire: CryptocomWire) -> None:
    """Unknown channels and depths, stale nonces, other methods and requests without a method."""
    sub = {"id": 7, "method": "subscribe", "nonce": 1_700_000_000_000}
    assert _ask(wire, sub | {"params": {"channels": ["book.BTC_USDT.25"]}})["code"] == 40003
    assert _ask(wire, sub | {"params": {"channels": ["trade.DOGE_USDT"]}})["code"] == 40003
    assert _ask(wire, sub | {"params": {"channels": ["mark.BTC_USDT"]}})["code"] == 40003  # spot has no mark
    stale = _ask(wire, sub | {"params": {"channels": ["trade.BTC_USDT"]}}, now_ms=1_700_000_061_000)
    assert stale == {"id": 7, "method": "subscribe", "code": 40102, "message": "INVALID_NONCE"}
    assert _ask(wire, {"id": 8, "method": "public/get-book"})["code"] == 40002
    missing = _ask(wire, {"id": 9, "params": {}})
    assert (missing["id"], missing["method"], missing["code"]) == (-1, "ERROR", 40001)
    assert missing["original"] == '{"id":9,"params":{}}'
    delta = {"book_subscription_type": "SNAPSHOT_AND_UPDATE", "book_update_frequency": 500}
    assert _ask(wire, sub | {"params": {"channels": ["book.BTC_USDT.50"]} | delta})["code"] == 40003


def test_wire_limits_a_connection_to_400_subscriptions(wire: CryptocomWire) -> None:
    """EXCEED_MAX_SUBSCRIPTIONS (40107) past 400 channels on one connection."""
    session = CryptocomSession("market")
    session.streams.extend(f"trade.X{n}" for n in range(399))
    request = {"id": 1, "method": "subscribe", "params": {"channels": ["trade.BTC_USDT", "ticker.BTC_USDT"]}}
    control = wire.on_client_text(session, orjson.dumps(request).decode(), wire._markets, 0)
    assert control.reply is not None and orjson.loads(control.reply)["code"] == 40107


def test_wire_sends_the_last_trades_and_a_book_snapshot_on_subscribe(wire: CryptocomWire) -> None:
    """The first data of a subscription carries the request's id: the book snapshot, the last trades."""
    market = wire._markets["BTC_USDT"]
    for n in range(1, 80):
        market.step(1_700_000_000_000 + n * 100)
    request = {"id": 5, "method": "subscribe", "params": {"channels": ["trade.BTC_USDT", "book.BTC_USDT.10"]}}
    control = wire.on_client_text(CryptocomSession("market"), orjson.dumps(request).decode(), wire._markets, 0)
    trades, book = (orjson.loads(f) for f in control.frames)
    assert trades["id"] == 5 and len(trades["result"]["data"]) == min(50, len(market.history))
    newest = trades["result"]["data"]
    assert [t["t"] for t in newest] == sorted((t["t"] for t in newest), reverse=True)
    assert book["result"]["channel"] == "book" and len(book["result"]["data"][0]["bids"]) == 10
    assert control.subscribe == ["trade.BTC_USDT", "book.BTC_USDT.10#snapshot"]
