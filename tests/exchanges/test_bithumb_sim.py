"""Bithumb's copy of the quotation protocol in the simulator, over real loopback websockets.

Where the simulated Bithumb differs from the simulated Upbit (text frames, string trade ids,
microsecond book times, KST dates, level 1, no candles, REST books of 15 or 30 levels) and the
KRW premium the two Korean venues quote.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import orjson
import websockets

from collector.exchanges.bithumb.sim import KRW_PREMIUM, BithumbWire
from collector.exchanges.upbit.sim import UpbitWire
from collector.simulator import Simulator
from collector.simulator.wire import Session

MARKETS = {"bithumb": ["BTC/KRW", "USDT/KRW"]}


async def _recv(ws: Any, timeout: float = 2.0) -> Any:
    frame = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(frame, str)  # the simulated Bithumb sends text
    return orjson.loads(frame)


async def test_messages_as_bithumb_renders_them() -> None:
    """Trades: string ids, KST date/time, no best bid/offer; books: a microsecond string time, level 1."""
    async with (
        Simulator(MARKETS, seed=6, tick_interval=0.02) as sim,
        websockets.connect(sim.endpoints("bithumb").ws) as ws,
    ):
        await ws.send('[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC"]},{"type":"trade","codes":["KRW-BTC"]}]')
        trade: dict[str, Any] = {}
        book: dict[str, Any] = {}
        while not (trade and book):
            msg = await _recv(ws)
            if msg["type"] == "trade" and msg["stream_type"] == "REALTIME":
                trade = msg
            elif msg["type"] == "orderbook":
                book = msg
    assert isinstance(trade["sequential_id"], str) and trade["sequential_id"].isdigit()
    assert len(trade["sequential_id"]) in (18, 19)  # "18-19 digits"
    assert "best_ask_price" not in trade
    kst = datetime.fromtimestamp(trade["trade_timestamp"] / 1000, UTC) + timedelta(hours=9)
    assert (trade["trade_date"], trade["trade_time"]) == (f"{kst:%Y-%m-%d}", f"{kst:%H:%M:%S}")
    assert isinstance(book["timestamp"], str) and len(book["timestamp"]) == 16
    assert (book["level"], len(book["orderbook_units"])) == (1, 30)


async def test_rest_books_have_15_levels_for_several_markets_and_30_for_one() -> None:
    """``/v1/orderbook``: "15호가 ... 단일 마켓 코드만 입력 시 30호가"; times in milliseconds."""
    async with Simulator(MARKETS, seed=7) as sim:
        rest = sim.endpoints("bithumb").rest
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{rest}/v1/orderbook?markets=KRW-BTC,KRW-USDT") as answer:
                several = await answer.json()
            async with http.get(f"{rest}/v1/orderbook?markets=KRW-BTC") as answer:
                one = await answer.json()
            async with http.get(f"{rest}/v1/market/all") as answer:
                listed = await answer.json()
    assert [(b["market"], len(b["orderbook_units"])) for b in several] == [("KRW-BTC", 15), ("KRW-USDT", 15)]
    assert len(one[0]["orderbook_units"]) == 30
    assert len(str(one[0]["timestamp"])) == 13
    assert [m["market"] for m in listed] == ["KRW-BTC", "KRW-USDT"]


def test_wire_serves_any_count_and_no_candles_or_grouping() -> None:
    """``KRW-BTC.3`` gets 3 levels; candle types are refused; another level gets no data."""
    wire = BithumbWire("bithumb")
    market = wire.market(wire.instrument("BTC/KRW", 0), 0, 40)
    markets = {"KRW-BTC": market}

    def ask(text: str) -> Any:
        return wire.on_client_text(Session(""), text, markets, 1_700_000_000_000)

    three = ask('[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC.3"]}]')
    assert len(orjson.loads(three.frames[0])["orderbook_units"]) == 3
    refused = ask('[{"ticket":"t"},{"type":"candle.1m","codes":["KRW-BTC"]}]')
    assert refused.reply is not None and orjson.loads(refused.reply)["error"]["name"] == "INVALID_PARAM"
    silent = ask('[{"ticket":"t"},{"type":"orderbook","codes":["KRW-BTC"],"level":10000}]')
    assert (silent.subscribe, silent.frames) == ([], [])


def test_korean_venues_quote_different_premiums() -> None:
    """Both simulated venues price coins above the dollar price times the rate, Bithumb 2.2 %, Upbit 2.5 %;
    ``USDT/KRW`` is at par with the rate on both."""
    upbit, bithumb = UpbitWire("upbit"), BithumbWire("bithumb")
    for wire in (upbit, bithumb):
        for symbol in ("BTC/KRW", "ETH/KRW", "XRP/KRW", "USDT/KRW"):
            spec = wire.instrument(symbol, 1)
            wire.market(spec, 1, 40)
    ratio = {}
    for wire in (upbit, bithumb):
        prices = {}
        for symbol in ("BTC/KRW", "USDT/KRW"):
            spec = wire.instrument(symbol, 1)
            prices[symbol] = wire._price(spec, spec.start_ticks)
        ratio[wire.exchange] = prices["BTC/KRW"] / (60_000.0 * prices["USDT/KRW"])
    assert KRW_PREMIUM == 1.022
    assert abs(ratio["bithumb"] - 1.022) < 0.0005
    assert abs(ratio["upbit"] - 1.025) < 0.0005
