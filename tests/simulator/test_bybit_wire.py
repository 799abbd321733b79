"""Bybit v5 on the simulator, over loopback with plain clients: paths, acks, topics, books, REST, faults."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import websockets

import collector
from collector.actions import RestRequest
from collector.errors import UsageError
from collector.exchanges import create
from collector.models import Book, Error, Resync
from collector.simulator import Fault, Simulator, synthetic_frames
from tests.simulator.helpers import get

MARKETS = {"bybit": ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT", "BTC/USD:BTC"]}
DEC = re.compile(r"^\d+(\.\d+)?$")


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    # 80 levels a side, so orderbook.50 really is a window onto a deeper book.
    async with Simulator(MARKETS, seed=2, tick_interval=0.02, ping_interval=None, depth=80) as s:
        yield s


async def connect(sim: Simulator, category: str) -> websockets.ClientConnection:
    return await websockets.connect(f"{sim.endpoints('bybit').ws}/{category}")


async def recv(ws: websockets.ClientConnection, timeout: float = 2.0) -> dict[str, Any]:
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))  # type: ignore[no-any-return]


async def send(ws: websockets.ClientConnection, op: str, args: list[str], req_id: str | None = None) -> None:
    msg: dict[str, Any] = {"op": op, "args": args}
    if req_id is not None:
        msg["req_id"] = req_id
    await ws.send(orjson.dumps(msg).decode())


async def next_topic(ws: websockets.ClientConnection, topic: str) -> dict[str, Any]:
    """The next message of ``topic`` (others are skipped)."""
    while True:
        msg = await recv(ws)
        if msg.get("topic") == topic:
            return msg


def without_conn_id(msg: dict[str, Any]) -> dict[str, Any]:
    assert isinstance(msg.pop("conn_id"), str)
    return msg


class PlainBook:
    """A Bybit book kept by bybit.md section 7, independently of collector.book."""

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.u = 0

    def feed(self, msg: dict[str, Any]) -> None:
        data = msg["data"]
        if msg["type"] == "snapshot":
            self.bids, self.asks = {}, {}
        else:
            assert data["u"] == self.u + 1, f"u {data['u']} after {self.u}"
        for side, levels in ((self.bids, data["b"]), (self.asks, data["a"])):
            for p, q in levels:
                if float(q) == 0.0:
                    side.pop(float(p), None)
                else:
                    side[float(p)] = float(q)
        self.u = data["u"]


async def test_paths_per_category_and_unknown_path(sim: Simulator) -> None:
    """Each category has its own path under ``Endpoints.ws``; other paths answer 404."""
    assert sim.endpoints("bybit").ws.endswith("/bybit/v5/public")
    for category in ("spot", "linear", "inverse"):
        ws = await connect(sim, category)
        await ws.close()
    with pytest.raises(websockets.InvalidStatus):
        await connect(sim, "option")


async def test_acks_pongs_and_refusals_per_category(sim: Simulator) -> None:
    """Spot and linear ack and pong in their documented shapes; bad topics, repeats and >10 spot args are refused."""
    spot = await connect(sim, "spot")
    linear = await connect(sim, "linear")
    try:
        await send(spot, "subscribe", ["publicTrade.BTCUSDT"], "10001")
        assert without_conn_id(await recv(spot)) == {
            "success": True,
            "ret_msg": "subscribe",
            "req_id": "10001",
            "op": "subscribe",
        }
        await spot.send('{"op":"ping"}')
        assert without_conn_id(await recv(spot)) == {"success": True, "ret_msg": "pong", "op": "ping"}
        await send(linear, "subscribe", ["publicTrade.BTCUSDT"])
        assert without_conn_id(await recv(linear)) == {"success": True, "ret_msg": "", "req_id": "", "op": "subscribe"}
        await linear.send('{"req_id":"p1","op":"ping"}')
        assert without_conn_id(await next_op(linear)) == {
            "success": True,
            "ret_msg": "pong",
            "req_id": "p1",
            "op": "ping",
        }
        await send(linear, "subscribe", ["orderbook.7.BTCUSDT", "publicTrade.BTCUSDT", "tickers.BTCUSD"])
        refused = without_conn_id(await next_op(linear))
        assert refused == {
            "success": False,
            "ret_msg": "error:handler not found,topic:orderbook.7.BTCUSDT;"
            "error:already subscribed,topic:publicTrade.BTCUSDT;"
            "error:handler not found,topic:tickers.BTCUSD",
            "req_id": "",
            "op": "subscribe",
        }
        await send(spot, "subscribe", [f"kline.{i}.BTCUSDT" for i in (1, 3, 5, 15, 30, 60, 120, 240, 360, 720, "D")])
        assert without_conn_id(await next_op(spot)) == {
            "success": False,
            "ret_msg": "error:args size >10",
            "req_id": "",
            "op": "subscribe",
        }
    finally:
        await spot.close()
        await linear.close()


async def next_op(ws: websockets.ClientConnection) -> dict[str, Any]:
    """The next control reply (data messages are skipped)."""
    while True:
        msg = await recv(ws)
        if "op" in msg:
            return msg


async def test_depth_window_snapshot_then_contiguous_deltas_equal_truth(sim: Simulator) -> None:
    """orderbook.50: a 50-level snapshot, then deltas with u + 1; the book kept from them is true_book(depth=50)."""
    ws = await connect(sim, "linear")
    try:
        await send(ws, "subscribe", ["orderbook.50.BTCUSDT"])
        await next_op(ws)
        book = PlainBook()
        snapshot = await next_topic(ws, "orderbook.50.BTCUSDT")
        assert list(snapshot) == ["topic", "type", "ts", "data", "cts"]
        assert snapshot["type"] == "snapshot"
        assert list(snapshot["data"]) == ["s", "b", "a", "u", "seq"]
        assert len(snapshot["data"]["b"]) == len(snapshot["data"]["a"]) == 50
        assert all(DEC.match(p) and DEC.match(q) for p, q in snapshot["data"]["b"])
        book.feed(snapshot)
        seqs = [snapshot["data"]["seq"]]
        for _ in range(30):
            delta = await next_topic(ws, "orderbook.50.BTCUSDT")
            assert delta["type"] == "delta"
            book.feed(delta)
            seqs.append(delta["data"]["seq"])
            # Levels leaving the window are deleted, so the book never holds more than 50.
            assert len(book.bids) <= 50 and len(book.asks) <= 50
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        sim.pause()
        bids, asks, u = sim.true_book("bybit", "BTC/USDT:USDT", depth=50)
        while book.u != u:
            book.feed(await next_topic(ws, "orderbook.50.BTCUSDT"))
        assert (book.bids, book.asks) == (bids, asks)
        assert len(bids) == len(asks) == 50
        full_bids, _, _ = sim.true_book("bybit", "BTC/USDT:USDT", depth=200)
        assert len(full_bids) > 50  # the window is narrower than the simulated book
    finally:
        sim.resume()
        await ws.close()


async def test_resubscribe_sends_a_fresh_snapshot(sim: Simulator) -> None:
    """unsubscribe + subscribe (the adapter's resync) gives a new snapshot continuing the topic's u."""
    ws = await connect(sim, "spot")
    try:
        await send(ws, "subscribe", ["orderbook.200.BTCUSDT"])
        first = await next_topic(ws, "orderbook.200.BTCUSDT")
        last = (await next_topic(ws, "orderbook.200.BTCUSDT"))["data"]["u"]
        await send(ws, "unsubscribe", ["orderbook.200.BTCUSDT"], "u1")
        await send(ws, "subscribe", ["orderbook.200.BTCUSDT"], "s1")
        replies = []
        while True:
            msg = await recv(ws)
            if "op" in msg:
                replies.append(without_conn_id(msg))
            elif msg["type"] == "snapshot":
                break
        assert replies == [
            {"success": True, "ret_msg": "unsubscribe", "req_id": "u1", "op": "unsubscribe"},
            {"success": True, "ret_msg": "subscribe", "req_id": "s1", "op": "subscribe"},
        ]
        assert list(first) == ["topic", "ts", "type", "data", "cts"]  # spot: ts before type
        assert msg["data"]["u"] >= last
    finally:
        await ws.close()


async def test_tickers_linear_snapshot_then_deltas_spot_full(sim: Simulator) -> None:
    """Linear tickers: a snapshot, then only changed fields; spot tickers are full snapshots without bid/ask."""
    linear = await connect(sim, "linear")
    spot = await connect(sim, "spot")
    try:
        await send(linear, "subscribe", ["tickers.BTCUSDT"])
        await send(spot, "subscribe", ["tickers.BTCUSDT"])
        snap = await next_topic(linear, "tickers.BTCUSDT")
        assert snap["type"] == "snapshot" and list(snap) == ["topic", "type", "data", "cs", "ts"]
        fields = snap["data"]
        for key in ("lastPrice", "prevPrice24h", "highPrice24h", "lowPrice24h", "volume24h", "turnover24h"):
            assert DEC.match(fields[key]), key
        for key in ("bid1Price", "bid1Size", "ask1Price", "ask1Size", "markPrice", "indexPrice"):
            assert DEC.match(fields[key]), key
        merged = dict(fields)
        for _ in range(5):
            delta = await next_topic(linear, "tickers.BTCUSDT")
            assert delta["type"] == "delta"
            changed = {k: v for k, v in delta["data"].items() if k != "symbol"}
            assert changed and all(merged[k] != v for k, v in changed.items())
            merged.update(changed)
        sim.pause()
        bids, asks, _ = sim.true_book("bybit", "BTC/USDT:USDT")
        best = (*max(bids.items()), *min(asks.items()))

        def bbo() -> tuple[float, ...]:
            return tuple(float(merged[k]) for k in ("bid1Price", "bid1Size", "ask1Price", "ask1Size"))

        # Deltas already on their way bring the merged ticker to the paused book's touch.
        while bbo() != best:
            merged.update((await next_topic(linear, "tickers.BTCUSDT"))["data"])
        sim.resume()
        spot_ticker = await next_topic(spot, "tickers.BTCUSDT")
        assert list(spot_ticker) == ["topic", "ts", "type", "cs", "data"]
        assert spot_ticker["type"] == "snapshot"
        assert sorted(spot_ticker["data"]) == sorted(
            [
                "symbol",
                "lastPrice",
                "highPrice24h",
                "lowPrice24h",
                "prevPrice24h",
                "volume24h",
                "turnover24h",
                "price24hPcnt",
                "usdIndexPrice",
            ]
        )
    finally:
        sim.resume()
        await linear.close()
        await spot.close()


async def test_trades_and_klines_per_category(sim: Simulator) -> None:
    """publicTrade batches per category (spot numeric ids, derivatives UUID-shaped, L on derivatives); klines."""
    expected_keys = {
        "spot": ["i", "T", "p", "v", "S", "seq", "s", "BT", "RPI"],
        "linear": ["T", "s", "S", "v", "p", "L", "i", "BT", "RPI", "seq"],
        "inverse": ["T", "s", "S", "v", "p", "L", "i", "BT", "RPI", "seq"],
    }
    natives = {"spot": "BTCUSDT", "linear": "BTCUSDT", "inverse": "BTCUSD"}
    for category, keys in expected_keys.items():
        native = natives[category]
        ws = await connect(sim, category)
        try:
            await send(ws, "subscribe", [f"publicTrade.{native}", f"kline.1.{native}"])
            trades = await next_topic(ws, f"publicTrade.{native}")
            kline = await next_topic(ws, f"kline.1.{native}")
        finally:
            await ws.close()
        assert trades["type"] == "snapshot" and trades["data"]
        for t in trades["data"]:
            assert list(t) == keys
            assert t["s"] == native and t["S"] in ("Buy", "Sell") and DEC.match(t["p"]) and DEC.match(t["v"])
            assert t["i"].isdigit() if category == "spot" else re.match(r"^[0-9a-f]{8}-[0-9a-f]{4}-5000-8000-", t["i"])
        if category == "inverse":
            assert all(t["v"].isdigit() for t in trades["data"])  # whole 1 USD contracts
        # A message crossing a minute boundary carries the closing bar first, then the new one.
        *closing, bar = kline["data"]
        assert [b["confirm"] for b in closing] == [True] * len(closing) and len(closing) <= 1
        assert list(kline) == ["topic", "data", "ts", "type"]
        assert list(bar) == [
            "start",
            "end",
            "interval",
            "open",
            "close",
            "high",
            "low",
            "volume",
            "turnover",
            "confirm",
            "timestamp",
        ]
        assert bar["end"] == bar["start"] + 59_999 and bar["interval"] == "1" and bar["confirm"] is False
        assert float(bar["low"]) <= float(bar["close"]) <= float(bar["high"])
        if category == "inverse":
            # Turnover is in BTC: contracts (USD) divided by a price near 60 000.
            assert 0 < float(bar["turnover"]) < float(bar["volume"]) / 10_000


async def test_instruments_info_maps_unified_symbols_and_pages(sim: Simulator) -> None:
    """instruments-info per category maps back to the unified symbols; derivatives page with cursors."""
    rest = sim.endpoints("bybit").rest
    adapter = create("bybit", endpoints=sim.endpoints("bybit"))
    symbols = []
    for request in adapter.instrument_requests():
        status, _, body = await get(request.url)
        assert status == 200
        symbols += [i.symbol for i in adapter.parse_instruments(request, body)]
    assert sorted(symbols) == sorted(MARKETS["bybit"])
    url = f"{rest}/v5/market/instruments-info?category=linear&limit=1"
    status, _, body = await get(url)
    page = orjson.loads(body)["result"]
    assert [i["symbol"] for i in page["list"]] == ["BTCUSDT"] and page["nextPageCursor"] == "page%3D1"
    _, _, body = await get(f"{url}&cursor={page['nextPageCursor']}")
    page = orjson.loads(body)["result"]
    assert [i["symbol"] for i in page["list"]] == ["ETHUSDT"] and page["nextPageCursor"] == ""
    (linear,) = [i for i in orjson.loads(body)["result"]["list"]]
    assert (linear["contractType"], linear["status"], linear["settleCoin"]) == ("LinearPerpetual", "Trading", "USDT")
    assert linear["lotSizeFilter"]["qtyStep"] == "0.01" and DEC.match(linear["priceFilter"]["tickSize"])
    _, _, body = await get(f"{rest}/v5/market/instruments-info?category=option")
    assert orjson.loads(body)["retCode"] == 10001
    request = RestRequest(f"{rest}/v5/market/instruments-info?category=inverse", "instruments")
    _, _, body = await get(request.url)
    (inverse,) = adapter.parse_instruments(request, body)
    assert (inverse.native, inverse.symbol, inverse.kind) == ("BTCUSD", "BTC/USD:BTC", "swap")


async def test_rest_orderbook_carries_the_1000_level_u(sim: Simulator) -> None:
    """/v5/market/orderbook returns the best levels and the u of orderbook.1000."""
    sim.pause()
    try:
        _, _, body = await get(
            f"{sim.endpoints('bybit').rest}/v5/market/orderbook?category=spot&symbol=BTCUSDT&limit=5"
        )
        result = orjson.loads(body)["result"]
        bids, asks, u = sim.true_book("bybit", "BTC/USDT", depth=1000)
        assert result["u"] == u and len(result["b"]) == len(result["a"]) == 5
        assert [float(p) for p, _ in result["b"]] == sorted(bids, reverse=True)[:5]
        assert [float(p) for p, _ in result["a"]] == sorted(asks)[:5]
    finally:
        sim.resume()


async def test_gap_skips_one_u_of_that_market_only(sim: Simulator) -> None:
    """GAP on BTC/USDT:USDT skips one u on linear BTCUSDT; spot BTCUSDT (same native id) stays contiguous."""
    linear = await connect(sim, "linear")
    spot = await connect(sim, "spot")
    try:
        await send(linear, "subscribe", ["orderbook.200.BTCUSDT"])
        await send(spot, "subscribe", ["orderbook.200.BTCUSDT"])
        before = (await next_topic(linear, "orderbook.200.BTCUSDT"))["data"]["u"]
        spot_before = (await next_topic(spot, "orderbook.200.BTCUSDT"))["data"]["u"]
        sim.inject("bybit", Fault.GAP, symbol="BTC/USDT:USDT")
        us = [(await next_topic(linear, "orderbook.200.BTCUSDT"))["data"]["u"] for _ in range(4)]
        spot_us = [(await next_topic(spot, "orderbook.200.BTCUSDT"))["data"]["u"] for _ in range(4)]
    finally:
        await linear.close()
        await spot.close()
    # One u is skipped; a frame already on its way when the fault lands may come first.
    assert sorted(b - a for a, b in itertools.pairwise([before, *us])) == [1, 1, 1, 2]
    assert [b - a for a, b in itertools.pairwise([spot_before, *spot_us])] == [1, 1, 1, 1]
    assert sim.stats["dropped.gap"] == 1


async def test_malformed_and_rate_limit(sim: Simulator) -> None:
    """MALFORMED sends a truncated JSON text frame; RATE_LIMIT answers 429 with Retry-After and retCode 10006."""
    ws = await connect(sim, "inverse")
    try:
        sim.inject("bybit", Fault.MALFORMED)
        frame = await asyncio.wait_for(ws.recv(), 2)
        assert isinstance(frame, str)
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(frame)
    finally:
        await ws.close()
    sim.inject("bybit", Fault.RATE_LIMIT)
    status, headers, body = await get(f"{sim.endpoints('bybit').rest}/v5/market/time")
    assert (status, headers["Retry-After"], orjson.loads(body)["retCode"]) == (429, "1", 10006)
    status, _, body = await get(f"{sim.endpoints('bybit').rest}/v5/market/time")
    assert status == 200 and orjson.loads(body)["retCode"] == 0


async def test_true_book_refuses_a_depth_bybit_lacks(sim: Simulator) -> None:
    """Only orderbook.{1,50,200,1000} exist."""
    with pytest.raises(UsageError):
        sim.true_book("bybit", "BTC/USDT", depth=25)


def test_synthetic_session_replays_into_synced_books() -> None:
    """synthetic_frames("bybit") replays through the real adapter: trades, tickers, candles, books, no resync."""
    symbols = ["BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC"]
    frames = synthetic_frames("bybit", symbols, frames=3000, seed=4)
    assert frames == synthetic_frames("bybit", symbols, frames=3000, seed=4)
    connects = sorted(f.url for f in frames if f.kind == "connect")
    assert connects == [f"wss://stream.bybit.com/v5/public/{c}" for c in ("inverse", "linear", "spot")]
    replay = collector.Replay(frames, exchange="bybit")
    events = list(replay)
    assert not [e for e in events if isinstance(e, Error | Resync)]
    assert {type(e).__name__ for e in events} >= {"Trade", "Ticker", "Book", "Candle"}
    for symbol in symbols:
        book = replay.adapter.book(symbol)
        assert book is not None and book.synced and not book.crossed()
    assert sum(isinstance(e, Book) and e.snapshot for e in events) == 3
