"""The live server over loopback: subscribe protocol, payload shapes per market, REST, routes, pings."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest
import websockets

from collector.actions import RestRequest
from collector.errors import UnknownExchange, UnknownSymbol
from collector.exchanges import create
from collector.simulator import Simulator
from tests.simulator.helpers import get, next_stream, recv, subscribe

MARKETS = {
    "binance": ["BTC/USDT", "ETH/USDT"],
    "binance_usdm": ["BTC/USDT:USDT", "ETH/USDT:USDT-250926"],
    "binance_coinm": ["BTC/USD:BTC"],
}


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(MARKETS, seed=1, tick_interval=0.02, ping_interval=None) as s:
        yield s


async def test_subscribe_ack_list_and_errors(sim: Simulator) -> None:
    """SUBSCRIBE answers result null with the id; LIST_SUBSCRIPTIONS lists; bad requests get codes 2 and 3."""
    async with websockets.connect(sim.endpoints("binance").ws + "/stream") as ws:
        assert await subscribe(ws, ["btcusdt@aggTrade", "btcusdt@depth"], 7) == {"result": None, "id": 7}
        await ws.send('{"method":"UNSUBSCRIBE","params":["btcusdt@aggTrade"],"id":"x1"}')
        await ws.send('{"method":"LIST_SUBSCRIPTIONS","id":3}')
        await ws.send("{not json")
        await ws.send('{"method":"SUBSCRIBE","params":"btcusdt@depth","id":4}')
        await ws.send('{"method":"NOPE","id":5}')
        replies = []
        while len(replies) < 5:
            msg = await recv(ws)
            if "stream" not in msg:
                replies.append(msg)
    assert replies[0] == {"result": None, "id": "x1"}
    assert replies[1] == {"result": ["btcusdt@depth"], "id": 3}
    assert replies[2]["code"] == 3 and replies[2]["msg"].startswith("Invalid JSON")
    assert replies[3] == {"code": 2, "msg": "Invalid request: params must be an array of stream names", "id": 4}
    assert replies[4] == {"code": 2, "msg": "Invalid request: unsupported method 'NOPE'", "id": 5}
    assert sim.stats["subscriptions"] == 2


async def test_url_streams_subscribe_at_connect(sim: Simulator) -> None:
    """``/stream?streams=a/b`` delivers without a SUBSCRIBE message."""
    async with websockets.connect(sim.endpoints("binance").ws + "/stream?streams=ethusdt@bookTicker") as ws:
        msg = await recv(ws)
    assert msg["stream"] == "ethusdt@bookTicker" and msg["data"]["s"] == "ETHUSDT"


DEC = r"^\d+\.\d+$"
SHAPES = {
    # exchange: (route, native, depth keys, bookTicker keys, aggTrade keys)
    "binance": (
        "",
        "BTCUSDT",
        ["e", "E", "s", "U", "u", "b", "a"],
        ["u", "s", "b", "B", "a", "A"],
        ["e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "M"],
    ),
    "binance_usdm": (
        "/public",
        "BTCUSDT",
        ["e", "E", "T", "s", "U", "u", "pu", "b", "a"],
        ["e", "u", "E", "T", "s", "b", "B", "a", "A"],
        ["e", "E", "s", "a", "p", "q", "nq", "f", "l", "T", "m"],
    ),
    "binance_coinm": (
        "",
        "BTCUSD_PERP",
        ["e", "E", "T", "s", "ps", "U", "u", "pu", "b", "a"],
        ["e", "u", "E", "T", "s", "ps", "b", "B", "a", "A"],
        ["e", "E", "s", "a", "p", "q", "f", "l", "T", "m"],
    ),
}


@pytest.mark.parametrize("exchange", list(SHAPES))
async def test_payload_shapes(sim: Simulator, exchange: str) -> None:
    """Each market's depth, bookTicker, aggTrade and kline payloads carry exactly binance.md's fields."""
    route, native, depth_keys, ticker_keys, trade_keys = SHAPES[exchange]
    low = native.lower()
    ep = sim.endpoints(exchange)
    async with websockets.connect(ep.ws + route + "/stream") as book_ws:
        await subscribe(book_ws, [f"{low}@depth@100ms", f"{low}@bookTicker"])
        depth = await next_stream(book_ws, "@depth@100ms")
        ticker = await next_stream(book_ws, "@bookTicker")
    trade_route = "/market" if exchange == "binance_usdm" else route
    async with websockets.connect(ep.ws + trade_route + "/stream") as trade_ws:
        await subscribe(trade_ws, [f"{low}@aggTrade", f"{low}@kline_1m"])
        trade = await next_stream(trade_ws, "@aggTrade")
        kline = await next_stream(trade_ws, "@kline_1m")
    assert list(depth) == depth_keys and (depth["e"], depth["s"]) == ("depthUpdate", native)
    assert list(ticker) == ticker_keys and ticker["s"] == native
    assert list(trade) == trade_keys and (trade["e"], trade["s"]) == ("aggTrade", native)
    assert all(re.match(DEC, p) and re.match(r"^\d+(\.\d+)?$", q) for p, q in depth["b"] + depth["a"])
    assert re.match(DEC, ticker["b"]) and float(ticker["b"]) < float(ticker["a"])
    assert re.match(DEC, trade["p"]) and isinstance(trade["m"], bool) and trade["f"] <= trade["l"]
    k = kline["k"]
    assert (kline["e"], kline["s"], k["i"], k["s"]) == ("kline", native, "1m", native)
    assert k["T"] == k["t"] + 59_999 and k["t"] % 60_000 == 0
    assert float(k["l"]) <= min(float(k["o"]), float(k["c"])) <= max(float(k["o"]), float(k["c"])) <= float(k["h"])
    if exchange == "binance_coinm":
        assert depth["ps"] == ticker["ps"] == "BTCUSD"
    if exchange != "binance":
        assert depth["T"] == depth["E"] and depth["pu"] < depth["U"] <= depth["u"]


async def test_usdm_wrong_path_is_silent(sim: Simulator) -> None:
    """On USDⓈ-M, /public delivers book streams only and /market the rest; both ack everything."""
    base = sim.endpoints("binance_usdm").ws
    streams = ["btcusdt@aggTrade", "btcusdt@depth@100ms", "btcusdt@kline_1m", "btcusdt@bookTicker"]
    seen: dict[str, set[str]] = {}
    for route in ("/public", "/market"):
        async with websockets.connect(base + route + "/stream") as ws:
            assert await subscribe(ws, streams) == {"result": None, "id": 1}
            kinds: set[str] = set()
            loop = asyncio.get_running_loop()
            end = loop.time() + 0.5  # 25 ticks: trades, klines and book changes all certain
            while loop.time() < end:
                try:
                    msg = await recv(ws, max(0.01, end - loop.time()))
                except TimeoutError:
                    break
                kinds.add(msg["stream"].partition("@")[2])
            seen[route] = kinds
    assert seen == {"/public": {"depth@100ms", "bookTicker"}, "/market": {"aggTrade", "kline_1m"}}
    assert sim.stats["silent_subscriptions"] == 4


async def test_bookticker_and_depth_ids_agree(sim: Simulator) -> None:
    """Spot ids are contiguous across ticks, and each bookTicker carries the u of the diff before it."""
    async with websockets.connect(sim.endpoints("binance").ws + "/stream") as ws:
        await subscribe(ws, ["btcusdt@depth@100ms", "btcusdt@bookTicker"])
        last_u = None
        diffs = 0
        while diffs < 20:
            msg = await recv(ws)
            data = msg["data"]
            if msg["stream"].endswith("depth@100ms"):
                if last_u is not None:
                    assert data["U"] == last_u + 1
                last_u = data["u"]
                diffs += 1
            elif last_u is not None:
                assert data["u"] == last_u


async def test_rest_depth_is_the_true_top(sim: Simulator) -> None:
    """A depth snapshot is the best ``limit`` levels of the true book with its last update id, plus weight header."""
    sim.pause()
    rest = sim.endpoints("binance").rest
    status, headers, body = await get(rest + "/api/v3/depth?symbol=BTCUSDT&limit=5")
    bids, asks, last_id = sim.true_book("binance", "BTC/USDT")
    snap = orjson.loads(body)
    assert status == 200 and headers["X-MBX-USED-WEIGHT-1M"] == "5"
    assert snap["lastUpdateId"] == last_id
    assert [(float(p), float(q)) for p, q in snap["bids"]] == sorted(bids.items(), reverse=True)[:5]
    assert [(float(p), float(q)) for p, q in snap["asks"]] == sorted(asks.items())[:5]
    _, headers, _ = await get(rest + "/api/v3/depth?symbol=BTCUSDT&limit=1000")
    assert headers["X-MBX-USED-WEIGHT-1M"] == "55"  # 5 + 50: the minute's total
    status, _, body = await get(rest + "/api/v3/depth?symbol=NOPE")
    assert (status, orjson.loads(body)) == (400, {"code": -1121, "msg": "Invalid symbol."})
    status, _, body = await get(sim.endpoints("binance_coinm").rest + "/dapi/v1/depth?symbol=BTCUSD_PERP&limit=7")
    snap = orjson.loads(body)
    assert status == 200 and list(snap) == ["lastUpdateId", "symbol", "pair", "E", "T", "bids", "asks"]
    assert len(snap["bids"]) == 10  # futures round the limit up to the next allowed value
    assert snap["lastUpdateId"] == sim.true_book("binance_coinm", "BTC/USD:BTC")[2]


@pytest.mark.parametrize(
    ("exchange", "expected"),
    [
        (
            "binance",
            [("BTC/USDT", "BTCUSDT", "spot", 0.01, 1e-05, 1.0), ("ETH/USDT", "ETHUSDT", "spot", 0.001, 0.0001, 1.0)],
        ),
        (
            "binance_usdm",
            [
                ("BTC/USDT:USDT", "BTCUSDT", "swap", 0.1, 0.001, 1.0),
                ("ETH/USDT:USDT-250926", "ETHUSDT_250926", "future", 0.01, 0.01, 1.0),
            ],
        ),
        ("binance_coinm", [("BTC/USD:BTC", "BTCUSD_PERP", "swap", 0.1, 1.0, 100.0)]),
    ],
)
async def test_exchange_info_maps_through_the_adapter(
    sim: Simulator, exchange: str, expected: list[tuple[str, str, str, float, float, float]]
) -> None:
    """The adapter's own parse_instruments maps the served exchangeInfo to the configured unified symbols."""
    adapter = create(exchange, endpoints=sim.endpoints(exchange))
    (request,) = adapter.instrument_requests()
    status, _, body = await get(request.url)
    assert status == 200
    got = adapter.parse_instruments(RestRequest(request.url, "instruments"), body)
    assert [(i.symbol, i.native, i.kind, i.tick_size, i.step_size, i.contract_size) for i in got] == expected
    assert all(i.active for i in got)


async def test_server_pings_and_pong_timeout() -> None:
    """The server pings every ping_interval; a client that never echoes is closed with 1008 after pong_timeout."""
    sim = Simulator({"binance": ["BTC/USDT"]}, ping_interval=0.05, pong_timeout=0.12)
    async with sim, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(sim.endpoints("binance").ws + "/stream", autoping=False)
        first = await ws.receive(timeout=1.0)
        assert first.type is aiohttp.WSMsgType.PING
        await ws.pong(first.data)  # answered: the connection lives on
        kinds = []
        while True:
            msg = await ws.receive(timeout=1.0)
            kinds.append(msg.type)
            if msg.type is not aiohttp.WSMsgType.PING:
                break
        await ws.close()
    assert kinds[:2] == [aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PING]
    assert kinds[-1] is aiohttp.WSMsgType.CLOSE and msg.data == 1008
    assert sim.stats["pong_timeouts"] == 1


async def test_client_ping_is_answered(sim: Simulator) -> None:
    """A client's protocol ping gets its pong."""
    async with websockets.connect(sim.endpoints("binance_usdm").ws + "/market/stream") as ws:
        latency = await ws.ping()
        assert await asyncio.wait_for(latency, 1.0) >= 0.0


async def test_unknown_names_are_refused() -> None:
    """Unknown exchanges, symbols of the wrong market and unknown websocket paths are refused."""
    with pytest.raises(UnknownExchange):
        Simulator({"nasdaq": ["AAPL/USD"]})
    with pytest.raises(UnknownSymbol, match="symbols look like BTC/USDT:USDT"):
        Simulator({"binance_usdm": ["BTC/USDT"]})
    async with Simulator({"binance": ["BTC/USDT"]}) as sim:
        with pytest.raises(websockets.InvalidStatus) as info:
            await websockets.connect(sim.endpoints("binance").ws + "/public/stream")
        assert info.value.response.status_code == 404
        with pytest.raises(UnknownExchange):
            sim.endpoints("binance_usdm")


async def test_frames_of_every_length_encoding_arrive_whole_and_in_order() -> None:
    """The writer encodes frames itself and sends what is queued in one write: text and binary,
    lengths on each side of the 7-bit, 16-bit and 64-bit length forms, in the order queued."""
    sizes = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000]
    frames: list[str | bytes] = [("t" * n if i % 2 == 0 else b"b" * n) for i, n in enumerate(sizes)]
    received: list[str | bytes] = []
    async with Simulator(MARKETS, seed=1, tick_interval=60.0, ping_interval=None) as sim:
        ws = await websockets.connect(sim.endpoints("binance").ws + "/stream", max_size=None)
        await subscribe(ws, ["btcusdt@aggTrade"], 1)
        sim.send_raw("binance", [*frames, "end"])
        while not received or received[-1] != "end":
            message = await asyncio.wait_for(ws.recv(), 5)
            if not (isinstance(message, str) and message.startswith('{"stream"')):
                received.append(message)
        await ws.close()
    assert received == [*frames, "end"]
