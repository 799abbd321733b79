"""Upbit over real loopback websockets, and the simulator's side of the quotation protocol.

What the conformance scenario does not reach: a book grouped by price beside the plain one
(each its own book, the grouped one the plain one summed into bands), candle streams, the
protocol's own requests (``PING``, ``LIST_SUBSCRIPTIONS``, snapshot-only, unsupported levels
that stay silent, refusals) and the REST calls.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest
import websockets

from collector import Collector
from collector.exchanges.upbit import UpbitAdapter
from collector.exchanges.upbit.sim import UpbitWire
from collector.exchanges.upbit.simwire import QuotationWire
from collector.models import Book, Candle, Error, Trade
from collector.simulator import Simulator
from collector.simulator.wire import RestCall, Session
from tests.e2e.helpers import Recorder, quick_delays, wait_for

MARKETS = {"upbit": ["BTC/KRW", "ETH/KRW"]}
BAND = 10_000.0


async def _recv(ws: Any, timeout: float = 2.0) -> Any:
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))


async def _quiet(ws: Any, timeout: float = 0.3) -> bool:
    """True when nothing arrives for ``timeout`` seconds."""
    try:
        await asyncio.wait_for(ws.recv(), timeout)
    except TimeoutError:
        return True
    return False


async def test_grouped_book_and_candles_beside_the_plain_book() -> None:
    """``BTC/KRW@10000`` is its own book: the plain book's levels summed into 10,000 KRW bands (bids at the
    band's floor, asks at its ceiling); 1 min candles stream beside it."""
    async with Simulator(MARKETS, seed=3, tick_interval=0.02) as sim:
        c = Collector(
            endpoints={"upbit": sim.endpoints("upbit")},
            queue_size=0,
            delays=quick_delays,
            stable_after=0.5,
            plan_overrides={"idle_timeout": 30.0, "ping_interval": 0.5, "ping_timeout": 2.0},
        )
        c.subscribe("upbit", ["BTC/KRW", "BTC/KRW@10000"], ["book"])
        c.subscribe("upbit", ["BTC/KRW"], ["candles"], interval="1m")
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:

            def synced() -> bool:
                return all((b := c.book("upbit", s)) is not None and b.synced for s in ("BTC/KRW", "BTC/KRW@10000"))

            await wait_for(synced, timeout=10)
            await wait_for(lambda: len(rec.of(Candle)) >= 3, timeout=10)
            sim.pause()
            try:
                bids, asks, _ = sim.true_book("upbit", "BTC/KRW")
                await wait_for(lambda: (b := c.book("upbit", "BTC/KRW")) is not None and b.bids() == bids)
                await asyncio.sleep(0.2)
                plain = c.book("upbit", "BTC/KRW")
                grouped = c.book("upbit", "BTC/KRW@10000")
                assert plain is not None and grouped is not None
                assert (plain.bids(), plain.asks()) == (bids, asks)
                # Bands the 30 plain levels cover whole: all but the last on each side.
                lowest_band = min(bids) // BAND * BAND
                for band, size in grouped.bids().items():
                    if band > lowest_band:
                        expected = sum(q for p, q in bids.items() if p // BAND * BAND == band)
                        assert size == pytest.approx(expected), band
                highest_band = -(-max(asks) // BAND) * BAND
                for band, size in grouped.asks().items():
                    if band < highest_band:
                        expected = sum(q for p, q in asks.items() if -(-p // BAND) * BAND == band)
                        assert size == pytest.approx(expected), band
                assert max(grouped.bids()) < min(grouped.asks())
                assert all(p % BAND == 0 for p in [*grouped.bids(), *grouped.asks()])
            finally:
                sim.resume()
            candles = rec.of(Candle, "upbit")
            assert {(e.symbol, e.interval) for e in candles} == {("BTC/KRW", "1m")}
            assert all(e.end - e.start == 60.0 and e.start % 60 == 0 and e.low <= e.close <= e.high for e in candles)
            assert {e.symbol for e in rec.of(Book, "upbit")} == {"BTC/KRW", "BTC/KRW@10000"}
            assert rec.of(Error, "upbit") == []
        finally:
            await c.stop()


async def test_protocol_requests_on_the_socket() -> None:
    """``PING`` -> ``{"status":"UP"}``; snapshot-only sends one message and nothing after; a level the market
    does not support stays silent; ``LIST_SUBSCRIPTIONS`` lists the set; a request without a ticket is refused."""
    async with (
        Simulator(MARKETS, seed=4, tick_interval=0.02) as sim,
        websockets.connect(sim.endpoints("upbit").ws) as ws,
    ):
        await ws.send("PING")
        assert await _recv(ws) == {"status": "UP"}
        await ws.send('[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC.5"],"is_only_snapshot":true}]')
        frame = await asyncio.wait_for(ws.recv(), 2.0)
        assert isinstance(frame, bytes)  # Upbit sends binary frames
        book = orjson.loads(frame)
        assert (book["type"], book["code"], book["stream_type"], book["level"]) == (
            "orderbook",
            "KRW-BTC",
            "SNAPSHOT",
            0,
        )
        assert len(book["orderbook_units"]) == 5
        assert await _quiet(ws)
        await ws.send('[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC"],"level":3}]')
        assert await _quiet(ws)
        request = '[{"ticket":"t"},{"type":"orderbook","codes":["KRW-ETH"],"level":"10000"},{"format":"SIMPLE"}]'
        await ws.send(request)
        grouped = await _recv(ws)
        assert (grouped["ty"], grouped["cd"], grouped["lv"], grouped["st"]) == (
            "orderbook",
            "KRW-ETH",
            10000,
            "SNAPSHOT",
        )
        await ws.send('[{"ticket":"list"},{"method":"LIST_SUBSCRIPTIONS"}]')
        while (answer := await _recv(ws)).get("method") != "LIST_SUBSCRIPTIONS":
            pass
        assert answer == {
            "method": "LIST_SUBSCRIPTIONS",
            "result": [{"type": "orderbook", "codes": ["KRW-ETH"], "level": 10000}],
            "ticket": "list",
        }
        await ws.send('[{"type":"trade","codes":["KRW-BTC"]}]')
        while "error" not in (reply := await _recv(ws)):
            pass
        assert reply["error"]["name"] == "NO_TICKET"


async def test_rest_market_list_and_grouping_units() -> None:
    """``/v1/market/all?is_details=true`` lists the markets; ``/v1/orderbook/instruments`` their tick and levels."""
    async with Simulator(MARKETS, seed=5) as sim:
        rest = sim.endpoints("upbit").rest
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{rest}/v1/market/all?is_details=true") as answer:
                listed = await answer.json()
            async with http.get(f"{rest}/v1/orderbook/instruments?markets=KRW-BTC") as answer:
                units = await answer.json()
            async with http.get(f"{rest}/v1/orderbook?markets=KRW-BTC&count=5") as answer:
                books = await answer.json()
    assert [(m["market"], m["market_warning"]) for m in listed] == [("KRW-BTC", "NONE"), ("KRW-ETH", "NONE")]
    assert units == [
        {
            "market": "KRW-BTC",
            "quote_currency": "KRW",
            "tick_size": "1000",
            "supported_levels": [0, 10000, 100000, 1000000, 10000000],
        }
    ]
    assert (books[0]["market"], len(books[0]["orderbook_units"]), books[0]["level"]) == ("KRW-BTC", 5, 0)


def test_wire_refuses_what_upbit_refuses() -> None:
    """Malformed requests get Upbit's error names; unknown codes are silently ignored."""
    wire = UpbitWire("upbit")
    market = wire.market(wire.instrument("BTC/KRW", 0), 0, 40)
    markets = {"KRW-BTC": market}

    def ask(text: str) -> Any:
        control = wire.on_client_text(Session(""), text, markets, 1_700_000_000_000)
        return orjson.loads(control.reply) if control.reply is not None else control

    assert ask("not json")["error"]["name"] == "WRONG_FORMAT"
    assert ask('[{"ticket":"t"}]')["error"]["name"] == "NO_TYPE"
    assert ask('[{"ticket":"t"},{"type":"trade"}]')["error"]["name"] == "NO_CODES"
    assert ask('[{"ticket":"t"},{"type":"candle.1d","codes":["KRW-BTC"]}]')["error"]["name"] == "INVALID_PARAM"
    assert ask('[{"ticket":"t"},{"type":"trade","codes":["KRW-BTC"]},{"format":"JSON_LIST"}]')["error"]["name"] == (
        "INVALID_PARAM"
    )
    assert ask('[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC"],"level":[1]}]')["error"]["name"] == (
        "INVALID_PARAM"
    )
    silent = ask('[{"ticket":"t"},{"type":"trade","codes":["krw-btc","KRW-NOPE"]}]')
    assert (silent.subscribe, silent.frames) == ([], [])
    assert isinstance(wire, QuotationWire)


def test_bars_the_wire_sends_close_in_the_adapter() -> None:
    """``candle.1m`` messages after each step that traded: forming bars, each closed once by the next
    minute's first bar with its last values; volumes add up to the traded sizes."""
    wire = UpbitWire("upbit")
    spec = wire.instrument("BTC/KRW", 0)
    market = wire.market(spec, 0, 40)
    market.track("1m")
    markets = {"KRW-BTC": market}
    start = 1_700_000_040_000
    request = '[{"ticket":"t"},{"type":"candle.1m","codes":["KRW-BTC"]},{"type":"trade","codes":["KRW-BTC"]}]'
    subscribed = set(wire.on_client_text(Session(""), request, markets, start).subscribe)
    adapter = UpbitAdapter()
    listing = wire.rest(RestCall("GET", "/v1/market/all", {"is_details": "true"}), markets, start)
    adapter.load_instruments(adapter.instrument_requests()[0], listing.body)
    candles: list[Candle] = []
    traded: dict[float, float] = {}
    for step in range(1, 1801):  # three minutes in 100 ms steps
        now = start + step * 100
        for message in wire.encode(spec, market.step(now), subscribed):
            for event in adapter.receive("c", message.text, now / 1000):
                if isinstance(event, Candle):
                    candles.append(event)
                elif isinstance(event, Trade):
                    minute = event.timestamp // 60 * 60
                    traded[minute] = traded.get(minute, 0.0) + event.amount
    closed = [e for e in candles if e.closed]
    assert [e.start for e in closed] == sorted(traded)[:-1]  # every minute but the last one closed, once
    for bar in closed:
        last = [e for e in candles if e.start == bar.start and not e.closed][-1]
        assert (bar.open, bar.high, bar.low, bar.close, bar.volume) == (
            last.open,
            last.high,
            last.low,
            last.close,
            last.volume,
        )
        assert bar.volume == pytest.approx(traded[bar.start])
