"""The simulator's KuCoin wire format, and the token handshake over real loopback sockets.

The conformance suite drives the demo books through gaps, drops and stalls; these tests cover
what is KuCoin's own: a token per connection (fetched again on every reconnect and renewal,
refused when stale or unknown), the welcome/ack/pong protocol and its refusals, the REST
answers, and futures funding end to end.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
import websockets

from collector import Collector, read_capture
from collector.actions import RestRequest
from collector.capture import CaptureWriter
from collector.exchanges.kucoin import KucoinAdapter, KucoinFuturesAdapter
from collector.exchanges.kucoin.sim import KucoinWire
from collector.models import Connected, DerivativeTicker, Disconnected, Error, Resync, Trade
from collector.replay import Replay
from collector.simulator import Fault, Simulator
from collector.simulator.market import SymbolMarket
from collector.simulator.wire import RestCall, Session
from tests.e2e.helpers import Recorder, compare_books, quick_delays, wait_for

NOW = 1_700_000_000_000
SPOT = {"kucoin": ["BTC/USDT", "ETH/USDT"]}


def built(wire: KucoinWire, symbols: list[str]) -> dict[str, SymbolMarket]:
    markets = {}
    for symbol in symbols:
        spec = wire.instrument(symbol, 3)
        markets[wire.market_key(spec)] = wire.market(spec, 3, 40)
    return markets


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


async def collector(sim: Simulator, markets: dict[str, list[str]], channels: list[str], **kwargs: Any) -> Collector:
    c = Collector(
        endpoints={ex: sim.endpoints(ex) for ex in markets},
        queue_size=0,
        delays=quick_delays,
        stable_after=0.5,
        **kwargs,
    )
    for exchange, symbols in markets.items():
        c.subscribe(exchange, symbols, channels)  # type: ignore[arg-type]
    return c


async def truth(c: Collector, sim: Simulator, markets: dict[str, list[str]]) -> None:
    """With the market paused, every book equals the simulator's."""
    sim.pause()
    try:
        await compare_books(c, sim, markets)
    finally:
        sim.resume()


def synced(c: Collector, markets: dict[str, list[str]]) -> bool:
    return all((b := c.book(ex, s)) is not None and b.synced for ex, syms in markets.items() for s in syms)


# -- the wire, without sockets ------------------------------------------------------------------


def test_listing_and_snapshot_round_trip_through_the_adapters() -> None:
    """What the wire lists and snapshots, the adapters read back: symbols, contract sizes, books."""
    wire, futures_wire = KucoinWire("kucoin"), KucoinWire("kucoin_futures")
    markets = built(wire, ["BTC/USDT", "ETH/USDT"])
    spot = KucoinAdapter()
    listing = wire.rest(RestCall("GET", "/api/v2/symbols", {}), markets, NOW)
    assert spot.answer(RestRequest("https://api.kucoin.com/api/v2/symbols", "instruments"), 200, listing.body, 0) == []
    assert sorted(i.symbol for i in spot.instruments) == ["BTC/USDT", "ETH/USDT"]
    assert wire.rest(RestCall("GET", "/api/v1/symbols", {}), markets, NOW).body == listing.body
    contracts = built(futures_wire, ["BTC/USDT:USDT", "BTC/USD:BTC", "BTC/USD:BTC-250328", "SOL/USDT:USDT"])
    futures = KucoinFuturesAdapter()
    answer = futures_wire.rest(RestCall("GET", "/api/v1/contracts/active", {}), contracts, NOW)
    request = RestRequest("https://api-futures.kucoin.com/api/v1/contracts/active", "instruments")
    assert futures.answer(request, 200, answer.body, 0) == []
    assert {i.symbol: (i.native, i.contract_size) for i in futures.instruments} == {
        "BTC/USDT:USDT": ("XBTUSDTM", 0.001),
        "BTC/USD:BTC": ("XBTUSDM", 1.0),
        "BTC/USD:BTC-250328": ("XBTMH25", 1.0),
        "SOL/USDT:USDT": ("SOLUSDTM", 0.01),
    }
    book = futures_wire.rest(RestCall("GET", "/api/v1/level2/snapshot", {"symbol": "XBTUSDM"}), contracts, NOW)
    data = json.loads(book.body)["data"]
    assert data["sequence"] == contracts["XBTUSDM"].last_id and all(isinstance(q, int) for _, q in data["bids"])


def test_rest_refusals() -> None:
    """The full spot book wants an API key; the token is a POST; unknown paths and symbols are refused."""
    wire = KucoinWire("kucoin")
    markets = built(wire, ["BTC/USDT"])
    keyed = wire.rest(RestCall("GET", "/api/v3/market/orderbook/level2", {"symbol": "BTC-USDT"}), markets, NOW)
    assert (keyed.status, json.loads(keyed.body)["code"]) == (401, "400001")
    assert wire.rest(RestCall("GET", "/api/v1/bullet-public", {}), markets, NOW).status == 405
    assert wire.rest(RestCall("GET", "/api/v1/nope", {}), markets, NOW).status == 404
    book = wire.rest(RestCall("GET", "/api/v1/market/orderbook/level2_20", {"symbol": "NOPE-USDT"}), markets, NOW)
    assert (book.status, json.loads(book.body)["code"]) == (400, "400100")
    top = wire.rest(RestCall("GET", "/api/v1/market/orderbook/level2_20", {"symbol": "BTC-USDT"}), markets, NOW)
    assert len(json.loads(top.body)["data"]["bids"]) == 20
    assert wire.rate_limited().status == 429


def test_protocol_greets_acks_pongs_and_refuses() -> None:
    """welcome ahead of the first reply; ack when ``response`` is true; pong; 404/415/509 refusals; a space
    after the colon (as cryptofeed writes topics) is read past."""
    wire = KucoinWire("kucoin")
    markets = built(wire, ["BTC/USDT", "ETH/USDT"])
    token = json.loads(wire.rest(RestCall("POST", "/api/v1/bullet-public", {}), markets, NOW).body)["data"]["token"]
    session = wire.open("")
    session.streams.extend(wire.url_streams({"token": token, "connectId": "abc"}))

    def send(request: dict[str, Any]) -> Any:
        return wire.on_client_text(session, json.dumps(request), markets, NOW)

    first = send({"id": 7, "type": "subscribe", "topic": "/market/level2: BTC-USDT,ETH-USDT", "response": True})
    assert (json.loads(first.reply), [json.loads(f) for f in first.frames]) == (
        {"id": "abc", "type": "welcome"},
        [{"id": "7", "type": "ack"}],
    )
    assert first.subscribe == ["/market/level2:BTC-USDT", "/market/level2:ETH-USDT"]
    session.streams.extend(first.subscribe)
    assert json.loads(send({"id": "p", "type": "ping"}).reply) == {"id": "p", "type": "pong"}
    quiet = send({"id": 8, "type": "subscribe", "topic": "/market/match:BTC-USDT"})
    assert (quiet.reply, quiet.subscribe) == (None, ["/market/match:BTC-USDT"])
    refused = {
        "/market/nosuch:BTC-USDT": 404,
        "/market/match:NOPE-USDT": 404,
        "/market/candles:BTC-USDT_5min": 404,
        "/market/match:" + ",".join(["BTC-USDT"] * 101): 509,
    }
    for topic, code in refused.items():
        reply = json.loads(send({"id": 9, "type": "subscribe", "topic": topic}).reply)
        assert (reply["type"], reply["code"]) == ("error", code), topic
    assert json.loads(send({"id": 10, "type": "hello"}).reply)["code"] == 415
    gone = send({"id": 11, "type": "unsubscribe", "topic": "/market/level2:ETH-USDT", "response": True})
    assert (json.loads(gone.reply), gone.unsubscribe) == ({"id": "11", "type": "ack"}, ["/market/level2:ETH-USDT"])


def test_futures_topics_take_one_contract_and_100_per_connection() -> None:
    """Futures refuse a multi-symbol topic and a 101st topic on one connection."""
    wire = KucoinWire("kucoin_futures")
    markets = built(wire, ["BTC/USDT:USDT", "BTC/USD:BTC"])
    session = Session("")

    def send(topic: str) -> Any:
        return wire.on_client_text(session, json.dumps({"id": 1, "type": "subscribe", "topic": topic}), markets, NOW)

    assert json.loads(send("/contractMarket/level2:XBTUSDTM,XBTUSDM").reply)["code"] == 509
    session.streams.extend(f"/x:{n}" for n in range(100))
    assert json.loads(send("/contractMarket/level2:XBTUSDTM").reply)["code"] == 509


def test_unknown_and_stale_tokens_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token the server never issued, or one past its life, gets ``error 401`` and a close."""
    wire = KucoinWire("kucoin")
    markets = built(wire, ["BTC/USDT"])
    ping = json.dumps({"id": "1", "type": "ping"})
    for token in ("forged", ""):
        session = wire.open("")
        session.streams.extend(wire.url_streams({"token": token, "connectId": "x"}))
        refused = wire.on_client_text(session, ping, markets, NOW)
        assert (json.loads(refused.reply)["code"], refused.close) == (401, 4001)
    monkeypatch.setattr(KucoinWire, "token_ttl", 10.0)
    token = json.loads(wire.rest(RestCall("POST", "/api/v1/bullet-public", {}), markets, NOW).body)["data"]["token"]
    fresh, stale = wire.open(""), wire.open("")
    for session in (fresh, stale):
        session.streams.extend(wire.url_streams({"token": token, "connectId": "x"}))
    assert wire.on_client_text(fresh, ping, markets, NOW + 9_000).close is None
    assert wire.on_client_text(stale, ping, markets, NOW + 11_000).close == 4001


# -- over loopback sockets ----------------------------------------------------------------------


async def test_every_connect_fetches_a_token_and_books_equal_the_truth() -> None:
    """Each connect asks for a token (sent in the URL with a connectId); after a dropped connection the
    reconnect asks again and carries a new one; books come back equal to the simulator's."""
    async with Simulator(SPOT, seed=4, tick_interval=0.02) as sim:
        c = await collector(sim, SPOT, ["trades", "ticker", "book"])
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            await wait_for(lambda: synced(c, SPOT), timeout=15)
            (first,) = rec.of(Connected, "kucoin")
            assert first.url.startswith(sim.endpoints("kucoin").ws + "?token=")
            assert parse_qs(urlsplit(first.url).query)["connectId"] == ["kucoin.0-1"]
            assert c.adapter("kucoin").stats["ignored.welcome"] == 1
            await truth(c, sim, SPOT)
            sim.inject("kucoin", Fault.ABRUPT_CLOSE)
            await wait_for(lambda: len(rec.of(Connected, "kucoin")) == 2, timeout=10)
            second = rec.of(Connected, "kucoin")[1]
            assert token_of(second.url) != token_of(first.url)
            await wait_for(lambda: synced(c, SPOT), timeout=15)
            await truth(c, sim, SPOT)
            assert rec.of(Trade, "kucoin") and [e for e in rec.of(Error) if e.conn != "rest"] == []
        finally:
            await c.stop()


async def test_stale_token_is_refused_and_a_fresh_one_reconnects(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tokens live 0.5 s here: a socket opened with an old one is refused (401 and a close), while the
    collector, dropped later, reconnects with a token it fetched then."""
    monkeypatch.setattr(KucoinWire, "token_ttl", 0.5)
    async with Simulator(SPOT, seed=5, tick_interval=0.02) as sim:
        c = await collector(sim, SPOT, ["trades", "book"])
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            await wait_for(lambda: synced(c, SPOT), timeout=15)
            old = rec.of(Connected, "kucoin")[0].url
            await asyncio.sleep(0.8)
            async with websockets.connect(old) as ws:
                await ws.send(json.dumps({"id": "1", "type": "ping"}))
                refusal = json.loads(await ws.recv())
                with pytest.raises(websockets.ConnectionClosed):
                    await ws.recv()
            assert (refusal["type"], refusal["code"], refusal["data"]) == ("error", 401, "token is not valid")
            assert ws.close_code == 4001
            sim.inject("kucoin", Fault.ABRUPT_CLOSE)
            await wait_for(lambda: len(rec.of(Connected, "kucoin")) >= 2, timeout=10)
            await wait_for(lambda: synced(c, SPOT), timeout=15)
            assert token_of(rec.of(Connected, "kucoin")[-1].url) != token_of(old)
        finally:
            await c.stop()


async def test_token_refused_by_the_server_reconnects_with_a_new_one() -> None:
    """An ``error`` 401 on a live connection (the token expired): the adapter drops it, the reconnect
    fetches a new token and the books come back."""
    async with Simulator(SPOT, seed=6, tick_interval=0.02) as sim:
        c = await collector(sim, SPOT, ["trades", "book"])
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            await wait_for(lambda: synced(c, SPOT), timeout=15)
            sim.send_raw("kucoin", ['{"id":"kucoin.0-1","type":"error","code":401,"data":"token is expired"}'])
            await wait_for(lambda: len(rec.of(Connected, "kucoin")) == 2, timeout=10)
            (gone,) = rec.of(Disconnected, "kucoin")
            assert gone.reason == "token refused: token is expired"
            assert {e.symbol for e in rec.of(Resync, "kucoin")} == set(SPOT["kucoin"])
            await wait_for(lambda: synced(c, SPOT), timeout=15)
            urls = [e.url for e in rec.of(Connected, "kucoin")]
            assert token_of(urls[0]) != token_of(urls[1])
        finally:
            await c.stop()


async def test_renewal_before_the_24h_cut_takes_a_new_token_without_a_resync() -> None:
    """ "A single connection is expected to be disconnected after 24 hours": the collector renews it first,
    make-before-break, with a fresh token, and no book is reset."""
    async with Simulator(SPOT, seed=7, tick_interval=0.02) as sim:
        overrides = {"max_lifetime": 1.0, "idle_timeout": 5.0}
        c = await collector(sim, SPOT, ["trades", "book"], plan_overrides=overrides, renewal_overlap=0.5)
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            await wait_for(lambda: synced(c, SPOT), timeout=15)
            first = c.connections[0].plan.url
            await wait_for(lambda: c.connections[0].renewals >= 1, timeout=15)
            assert token_of(c.connections[0].plan.url) != token_of(first)
            assert rec.of(Disconnected) == [] and rec.of(Resync) == []
            assert synced(c, SPOT)
        finally:
            await c.stop()


async def test_futures_books_trades_and_funding_end_to_end() -> None:
    """Linear and inverse contracts: books (in contracts) equal the truth, trades in base units, funding
    from the instrument topic and the contract poll (open interest in contracts)."""
    markets = {"kucoin_futures": ["BTC/USDT:USDT", "BTC/USD:BTC"]}
    async with Simulator(markets, seed=8, tick_interval=0.02) as sim:
        c = await collector(sim, markets, ["trades", "ticker", "book", "funding"])
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            await wait_for(lambda: synced(c, markets), timeout=15)
            await truth(c, sim, markets)
            await wait_for(lambda: len({t.symbol for t in rec.of(Trade, "kucoin_futures")}) == 2, timeout=10)

            def funded() -> bool:
                tickers = rec.of(DerivativeTicker, "kucoin_futures")
                return {t.symbol for t in tickers if t.open_interest is not None and t.mark_price} == set(
                    markets["kucoin_futures"]
                )

            await wait_for(funded, timeout=10)
            linear = [t for t in rec.of(Trade, "kucoin_futures") if t.symbol == "BTC/USDT:USDT"]
            assert all(round(t.amount / 0.001, 6).is_integer() for t in linear)  # whole contracts of 0.001 BTC
            inverse = [t for t in rec.of(Trade, "kucoin_futures") if t.symbol == "BTC/USD:BTC"]
            assert all(round(t.amount * t.price, 6).is_integer() for t in inverse)  # whole 1 USD contracts
            assert [e for e in rec.of(Error) if e.conn != "rest"] == []
        finally:
            await c.stop()


async def test_bullet_is_a_post_on_each_market_base() -> None:
    """The simulator hands out tokens only for POST, each market its own."""
    markets = {"kucoin": ["BTC/USDT"], "kucoin_futures": ["BTC/USDT:USDT"]}
    async with Simulator(markets) as sim, aiohttp.ClientSession() as http:
        for exchange in ("kucoin", "kucoin_futures"):
            url = sim.endpoints(exchange).rest + "/api/v1/bullet-public"
            async with http.post(url) as resp:
                body = await resp.json()
            assert body["code"] == "200000" and body["data"]["instanceServers"][0]["pingInterval"] == 18000
            async with http.get(url) as resp:
                assert resp.status == 405


async def test_a_recorded_session_holds_the_token_and_replays_to_the_same_events(tmp_path: Path) -> None:
    """The recorder writes the bullet-public answer as an ``http`` record and the tokened URL as the
    ``connect``; replaying the capture gives the trades and the final books the live session had."""
    path = tmp_path / "kucoin.jsonl"
    writer = CaptureWriter(path, "kucoin")
    async with Simulator(SPOT, seed=9, tick_interval=0.02) as sim:
        c = await collector(sim, SPOT, ["trades", "book"], record=writer)
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            await wait_for(lambda: synced(c, SPOT) and len(rec.of(Trade, "kucoin")) >= 20, timeout=15)
            sim.pause()
            await asyncio.sleep(0.3)
            live = {
                s: (book.bids(), book.asks(), book.sequence) for s in SPOT["kucoin"] if (book := c.book("kucoin", s))
            }
        finally:
            await c.stop()
            sim.resume()
    writer.close()
    frames = list(read_capture(path))
    bullets = [f for f in frames if f.kind == "http" and f.url.endswith("/api/v1/bullet-public")]
    (connect,) = [f for f in frames if f.kind == "connect"]
    assert len(bullets) == 1 and token_of(connect.url) == json.loads(bullets[0].data)["data"]["token"]
    replay = Replay(frames, exchange="kucoin")
    replayed = [e for e in replay if isinstance(e, Trade)]
    assert [(t.id, t.price, t.amount, t.side) for t in replayed] == [
        (t.id, t.price, t.amount, t.side) for t in rec.of(Trade, "kucoin")
    ]
    for symbol, (bids, asks, sequence) in live.items():
        book = replay.adapter.book(symbol)
        assert book is not None and (book.bids(), book.asks(), book.sequence) == (bids, asks, sequence)
