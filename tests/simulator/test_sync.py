"""Book sync over loopback: diffs joined to a REST snapshot end with exactly the simulator's book,
both by the documented rule written out here and through the real adapter."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
import websockets

from collector.actions import RestRequest, SendFrame
from collector.exchanges import Subscription, create
from collector.models import Book, Candle, Ticker, Trade
from collector.simulator import Simulator
from tests.simulator.helpers import RuleBook, get, recv, subscribe

CASES = [
    ("binance", "BTC/USDT", "BTCUSDT", "", "/api/v3/depth", False),
    ("binance_usdm", "BTC/USDT:USDT", "BTCUSDT", "/public", "/fapi/v1/depth", True),
    ("binance_coinm", "ETH/USD:ETH", "ETHUSD_PERP", "", "/dapi/v1/depth", True),
]


async def drain_to(ws: websockets.ClientConnection, book: RuleBook, last_id: int) -> None:
    """Feed diffs until the book holds update id ``last_id``."""
    while book.last != last_id:
        msg = await recv(ws)
        book.feed(msg["data"])


@pytest.mark.parametrize(("exchange", "symbol", "native", "route", "path", "futures"), CASES)
async def test_snapshot_plus_diffs_is_the_true_book(
    exchange: str, symbol: str, native: str, route: str, path: str, futures: bool
) -> None:
    """Buffer diffs, fetch a snapshot, apply by binance.md section 7: the result equals true_book, twice."""
    async with Simulator({exchange: [symbol]}, seed=11, tick_interval=0.01, ping_interval=None) as sim:
        ep = sim.endpoints(exchange)
        async with websockets.connect(ep.ws + route + "/stream") as ws:
            await subscribe(ws, [native.lower() + "@depth@100ms"])
            book = RuleBook(futures)
            for _ in range(3):
                book.feed((await recv(ws))["data"])
            _, _, body = await get(f"{ep.rest}{path}?symbol={native}&limit=1000")
            while (await _next(ws, book))["u"] < orjson.loads(body)["lastUpdateId"]:
                pass  # the snapshot must be joinable: keep buffering until a diff reaches it
            book.snapshot(orjson.loads(body))
            for _ in range(20):
                await _next(ws, book)
            sim.pause()
            bids, asks, last_id = sim.true_book(exchange, symbol)
            await drain_to(ws, book, last_id)
            assert (book.bids, book.asks) == (bids, asks)
            sim.resume()
            for _ in range(10):
                await _next(ws, book)
            sim.pause()
            bids, asks, last_id = sim.true_book(exchange, symbol)
            await drain_to(ws, book, last_id)
            assert (book.bids, book.asks) == (bids, asks)


async def _next(ws: websockets.ClientConnection, book: RuleBook) -> dict[str, Any]:
    data: dict[str, Any] = (await recv(ws))["data"]
    book.feed(data)
    return data


async def run_adapter(sim: Simulator, exchange: str, symbols: list[str], seconds: float) -> tuple[Any, list[Any]]:
    """Drive a real adapter against the simulator: instruments, plans, frames, snapshot requests."""
    adapter = create(exchange, endpoints=sim.endpoints(exchange))
    for request in adapter.instrument_requests():
        status, _, body = await get(request.url)
        assert adapter.on_http(request, status, body, 0.0) == []
    subs = [Subscription(s, ch) for s in symbols for ch in ("trades", "ticker", "book", "candles")]
    events: list[Any] = []
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    async def pump(conn: str, ws: websockets.ClientConnection) -> None:
        async for frame in ws:
            queue.put_nowait((conn, str(frame)))

    async def handle(out: list[Any]) -> None:
        for item in out:
            if isinstance(item, RestRequest):
                status, _, body = await get(item.url)
                await handle(adapter.on_http(item, status, body, 0.0))
            elif isinstance(item, SendFrame):
                raise AssertionError(f"unexpected send {item}")
            else:
                events.append(item)

    sockets = []
    for plan in adapter.plan(subs):
        ws = await websockets.connect(plan.url)
        sockets.append((plan.conn, ws))
        for frame in plan.subscribe:
            await ws.send(frame)
    pumps = [asyncio.create_task(pump(conn, ws)) for conn, ws in sockets]
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    try:
        while loop.time() < end:
            conn, frame = await asyncio.wait_for(queue.get(), 1.0)
            await handle(adapter.parse(conn, frame, loop.time()))
        sim.pause()
        for symbol in symbols:
            last_id = sim.true_book(exchange, symbol)[2]
            book = adapter.book(symbol)
            while book is None or book.sequence != last_id:
                conn, frame = await asyncio.wait_for(queue.get(), 1.0)
                await handle(adapter.parse(conn, frame, loop.time()))
                book = adapter.book(symbol)
    finally:
        for task in pumps:
            task.cancel()
        for _, ws in sockets:
            await ws.close()
    return adapter, events


@pytest.mark.parametrize(
    ("exchange", "symbols"),
    [("binance", ["BTC/USDT", "SOL/USDT"]), ("binance_usdm", ["BTC/USDT:USDT"]), ("binance_coinm", ["BTC/USD:BTC"])],
)
async def test_real_adapter_syncs_to_the_true_book(exchange: str, symbols: list[str]) -> None:
    """The project's adapter, fed over real sockets, holds exactly the simulator's books and sees every channel."""
    async with Simulator({exchange: symbols}, seed=3, tick_interval=0.01, ping_interval=None) as sim:
        adapter, events = await run_adapter(sim, exchange, symbols, 0.4)
        for symbol in symbols:
            bids, asks, last_id = sim.true_book(exchange, symbol)
            book = adapter.book(symbol)
            assert book is not None and book.synced
            assert (book.bids(), book.asks(), book.sequence) == (bids, asks, last_id)
    kinds = {type(e) for e in events}
    assert {Trade, Ticker, Book, Candle} <= kinds
    assert not [e for e in events if type(e).__name__ in ("Error", "Resync")]
    assert adapter.books.stats["snapshots"] == len(symbols)
