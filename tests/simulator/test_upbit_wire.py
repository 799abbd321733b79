"""Upbit on the simulator, over loopback with plain clients: request arrays, formats, snapshots, REST, faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import websockets

import collector
from collector.errors import UsageError
from collector.exchanges import create
from collector.models import Error, Resync
from collector.simulator import Fault, Simulator, synthetic_frames
from tests.simulator.helpers import get

MARKETS = {"upbit": ["BTC/KRW", "ETH/KRW", "ETH/BTC"]}

TRADE_KEYS = [
    "type",
    "code",
    "timestamp",
    "trade_date",
    "trade_time",
    "trade_timestamp",
    "trade_price",
    "trade_volume",
    "ask_bid",
    "prev_closing_price",
    "change",
    "change_price",
    "sequential_id",
    "best_ask_price",
    "best_ask_size",
    "best_bid_price",
    "best_bid_size",
    "stream_type",
]
SIMPLE_TRADE_KEYS = [
    "ty",
    "cd",
    "tms",
    "td",
    "ttm",
    "ttms",
    "tp",
    "tv",
    "ab",
    "pcp",
    "c",
    "cp",
    "sid",
    "bap",
    "bas",
    "bbp",
    "bbs",
    "st",
]


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(MARKETS, seed=8, tick_interval=0.02, ping_interval=None) as s:
        yield s


async def connect(sim: Simulator) -> websockets.ClientConnection:
    return await websockets.connect(sim.endpoints("upbit").ws)


async def request(ws: websockets.ClientConnection, *items: dict[str, Any], fmt: str = "DEFAULT") -> None:
    await ws.send(orjson.dumps([{"ticket": "test"}, *items, {"format": fmt}]).decode())


async def recv(ws: websockets.ClientConnection, timeout: float = 2.0) -> dict[str, Any]:
    """The next frame, which must be binary JSON."""
    frame = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(frame, bytes), "Upbit frames are binary"
    return orjson.loads(frame)  # type: ignore[no-any-return]


async def next_of(ws: websockets.ClientConnection, kind: str, key: str = "type") -> dict[str, Any]:
    while True:
        msg = await recv(ws)
        if msg.get(key) == kind:
            return msg


async def test_default_format_snapshots_first_then_realtime(sim: Simulator) -> None:
    """DEFAULT keys: each stream starts with a SNAPSHOT message (30-level book), then REALTIME ones."""
    ws = await connect(sim)
    try:
        await asyncio.sleep(0.3)  # let something trade so the trade stream has a snapshot
        await request(ws, {"type": "trade", "codes": ["KRW-BTC"]}, {"type": "orderbook", "codes": ["KRW-BTC"]})
        first = [await recv(ws), await recv(ws)]
        assert [(m["type"], m["stream_type"]) for m in first] == [("trade", "SNAPSHOT"), ("orderbook", "SNAPSHOT")]
        trade = await next_of(ws, "trade")
        book = await next_of(ws, "orderbook")
    finally:
        await ws.close()
    assert list(trade) == TRADE_KEYS and trade["stream_type"] == "REALTIME"
    assert trade["ask_bid"] in ("ASK", "BID") and trade["code"] == "KRW-BTC"
    assert trade["trade_price"] % 1000 == 0  # KRW tick at this price is 1000
    assert list(book) == [
        "type",
        "code",
        "timestamp",
        "total_ask_size",
        "total_bid_size",
        "orderbook_units",
        "stream_type",
        "level",
    ]
    units = book["orderbook_units"]
    assert len(units) == 30 and list(units[0]) == ["ask_price", "bid_price", "ask_size", "bid_size"]
    asks = [u["ask_price"] for u in units]
    bids = [u["bid_price"] for u in units]
    assert asks == sorted(asks) and bids == sorted(bids, reverse=True) and bids[0] < asks[0]
    assert book["total_ask_size"] == round(sum(u["ask_size"] for u in units), 8)


async def test_simple_format_keys_and_depth_suffix(sim: Simulator) -> None:
    """SIMPLE abbreviates every key; ``KRW-ETH.5`` books have 5 units; tickers follow trades."""
    ws = await connect(sim)
    try:
        await request(
            ws,
            {"type": "orderbook", "codes": ["KRW-ETH.5"]},
            {"type": "ticker", "codes": ["KRW-ETH"]},
            {"type": "trade", "codes": ["KRW-ETH"], "is_only_realtime": True},
            fmt="SIMPLE",
        )
        book = await next_of(ws, "orderbook", "ty")
        ticker = await next_of(ws, "ticker", "ty")
        trade = await next_of(ws, "trade", "ty")
    finally:
        await ws.close()
    assert list(book) == ["ty", "cd", "tms", "tas", "tbs", "obu", "st", "lv"]
    assert len(book["obu"]) == 5 and list(book["obu"][0]) == ["ap", "bp", "as", "bs"]
    assert list(trade) == SIMPLE_TRADE_KEYS and trade["st"] == "REALTIME"
    for key in ("op", "hp", "lp", "tp", "pcp", "atv24h", "atp24h", "tdt", "ttm", "ttms", "tms", "st"):
        assert key in ticker, key
    assert ticker["cd"] == "KRW-ETH" and ticker["lp"] <= ticker["tp"] <= ticker["hp"]


async def test_new_request_replaces_the_subscription(sim: Simulator) -> None:
    """A second request replaces the first: after it only the new streams arrive."""
    ws = await connect(sim)
    try:
        await request(ws, {"type": "trade", "codes": ["KRW-BTC", "KRW-ETH"]})
        await next_of(ws, "trade")
        await request(ws, {"type": "orderbook", "codes": ["BTC-ETH.1"]})
        await ws.send('[{"ticket":"t"},{"method":"LIST_SUBSCRIPTIONS"}]')
        while True:
            msg = await recv(ws)
            if msg.get("method") == "LIST_SUBSCRIPTIONS":
                break
        later = [await recv(ws) for _ in range(5)]
    finally:
        await ws.close()
    assert msg == {
        "method": "LIST_SUBSCRIPTIONS",
        "result": [{"type": "orderbook", "codes": ["BTC-ETH.1"], "level": 0}],
        "ticket": "t",
    }
    assert {(m["type"], m["code"]) for m in later} == {("orderbook", "BTC-ETH")}
    assert all(len(m["orderbook_units"]) == 1 for m in later)


async def test_ping_errors_and_ignored_codes(sim: Simulator) -> None:
    """PING answers status UP; malformed requests get the documented error names; lower-case codes are ignored."""
    ws = await connect(sim)
    try:
        await ws.send("PING")
        assert await recv(ws) == {"status": "UP"}
        for text, name in (
            ("{not json", "WRONG_FORMAT"),
            ('[{"type":"trade","codes":["KRW-BTC"]}]', "NO_TICKET"),
            ('[{"ticket":"x"},{"format":"SIMPLE"}]', "NO_TYPE"),
            ('[{"ticket":"x"},{"type":"trade","codes":[]}]', "NO_CODES"),
            ('[{"ticket":"x"},{"type":"candle.1s","codes":["KRW-BTC"]}]', "INVALID_PARAM"),
        ):
            await ws.send(text)
            assert (await recv(ws))["error"]["name"] == name, text
        await request(ws, {"type": "trade", "codes": ["krw-btc", "KRW-DOGE"]})
        with pytest.raises(TimeoutError):
            await recv(ws, timeout=0.3)
    finally:
        await ws.close()


async def test_true_book_is_the_last_orderbook_message(sim: Simulator) -> None:
    """After pause, the last orderbook message equals true_book at the requested depth."""
    ws = await connect(sim)
    try:
        await request(ws, {"type": "orderbook", "codes": ["KRW-BTC.15"]})
        last = await next_of(ws, "orderbook")
        sim.pause()
        bids, asks, seq = sim.true_book("upbit", "BTC/KRW", depth=15)

        def levels(msg: dict[str, Any]) -> tuple[dict[float, float], dict[float, float]]:
            units = msg["orderbook_units"]
            return {u["bid_price"]: u["bid_size"] for u in units}, {u["ask_price"]: u["ask_size"] for u in units}

        # Messages already on their way end with the paused book (recv fails the test if it never comes).
        while levels(last) != (bids, asks):
            last = await next_of(ws, "orderbook")
        assert len(last["orderbook_units"]) == 15
    finally:
        sim.resume()
        await ws.close()
    assert seq is None
    with pytest.raises(UsageError):
        sim.true_book("upbit", "BTC/KRW", depth=20)


async def test_rest_markets_map_to_unified_symbols_and_orderbook(sim: Simulator) -> None:
    """/v1/market/all lists QUOTE-BASE codes the adapter maps back; /v1/orderbook answers per market."""
    adapter = create("upbit", endpoints=sim.endpoints("upbit"))
    (req,) = adapter.instrument_requests()
    status, _, body = await get(req.url)
    assert status == 200
    assert sorted(i.symbol for i in adapter.parse_instruments(req, body)) == sorted(MARKETS["upbit"])
    assert orjson.loads(body)[0]["market_warning"] == "NONE"
    status, _, body = await get(f"{sim.endpoints('upbit').rest}/v1/orderbook?markets=KRW-BTC,BTC-ETH&count=3")
    books = orjson.loads(body)
    assert status == 200 and [b["market"] for b in books] == ["KRW-BTC", "BTC-ETH"]
    assert all(len(b["orderbook_units"]) == 3 for b in books)


async def test_faults_gap_refused_malformed_binary_rate_limit(sim: Simulator) -> None:
    """GAP has no meaning for full snapshots (UsageError); MALFORMED is a cut binary frame; RATE_LIMIT is 429."""
    with pytest.raises(UsageError, match="full snapshots"):
        sim.inject("upbit", Fault.GAP, symbol="BTC/KRW")
    ws = await connect(sim)
    try:
        sim.inject("upbit", Fault.MALFORMED)
        frame = await asyncio.wait_for(ws.recv(), 2)
        assert isinstance(frame, bytes)
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(frame)
    finally:
        await ws.close()
    sim.inject("upbit", Fault.RATE_LIMIT)
    status, headers, body = await get(f"{sim.endpoints('upbit').rest}/v1/market/all")
    assert (status, headers["Retry-After"]) == (429, "1")
    assert orjson.loads(body) == {"error": {"name": "too_many_requests", "message": "Too many API requests."}}


def test_synthetic_session_replays_into_synced_books() -> None:
    """synthetic_frames("upbit") is binary SIMPLE frames that replay into trades, tickers and books."""
    symbols = ["BTC/KRW", "ETH/KRW"]
    frames = synthetic_frames("upbit", symbols, frames=1000, seed=4)
    assert all(isinstance(f.data, bytes) for f in frames if f.kind == "recv")
    replay = collector.Replay(frames, exchange="upbit")
    events = list(replay)
    assert not [e for e in events if isinstance(e, Error | Resync)]
    assert {type(e).__name__ for e in events} >= {"Trade", "Ticker", "Book"}
    for symbol in symbols:
        book = replay.adapter.book(symbol)
        assert book is not None and book.synced and len(book.top(30).bids) == 30


async def test_synthetic_upbit_capture_plays_back_exactly() -> None:
    """An Upbit session in capture format is played frame for frame to a client that subscribes to all of it."""
    frames = synthetic_frames("upbit", ["BTC/KRW"], frames=40, seed=1)
    recorded = [f.data for f in frames if f.kind == "recv"]
    async with Simulator.from_capture(frames) as sim, websockets.connect(sim.endpoints("upbit").ws) as ws:
        request = [{"ticket": "t"}] + [{"type": t, "codes": ["KRW-BTC"]} for t in ("trade", "orderbook", "ticker")]
        await ws.send(orjson.dumps([*request, {"format": "SIMPLE"}]).decode())
        got = [await asyncio.wait_for(ws.recv(), 5) for _ in recorded]
    assert got == recorded
