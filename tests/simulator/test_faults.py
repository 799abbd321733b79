"""Each fault's observable effect on a plain client over loopback."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import orjson
import pytest
import websockets

from collector.errors import UsageError
from collector.simulator import Fault, Simulator
from tests.simulator.helpers import get, recv, subscribe

TICK = 0.02


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    markets = {"binance": ["BTC/USDT", "ETH/USDT"], "binance_usdm": ["BTC/USDT:USDT"]}
    async with Simulator(markets, seed=5, tick_interval=TICK, ping_interval=None) as s:
        yield s


async def depth_ws(sim: Simulator, exchange: str = "binance", route: str = "") -> websockets.ClientConnection:
    ws = await websockets.connect(sim.endpoints(exchange).ws + route + "/stream")
    await subscribe(ws, ["btcusdt@depth@100ms"])
    return ws


async def drain(ws: websockets.ClientConnection) -> None:
    """Read until the connection ends."""
    while True:
        await recv(ws)


async def test_gap_skips_ids_once_spot(sim: Simulator) -> None:
    """GAP withholds one BTC diff: the next U jumps past previous u + 1, then ids are contiguous again."""
    ws = await depth_ws(sim)
    before = (await recv(ws))["data"]
    sim.inject("binance", Fault.GAP, symbol="BTC/USDT")
    diffs = [(await recv(ws))["data"] for _ in range(4)]
    await ws.close()
    chain = [before, *diffs]
    jumps = [b["U"] - a["u"] for a, b in itertools.pairwise(chain)]
    assert jumps[0] > 1 and jumps[1:] == [1, 1, 1]
    assert (sim.stats["dropped.gap"], sim.stats["faults.gap"], sim.stats["faults_applied"]) == (1, 1, 1)


async def test_gap_breaks_the_pu_link_futures(sim: Simulator) -> None:
    """On USDⓈ-M the diff after the withheld one has pu != the previous diff's u; later links hold."""
    ws = await depth_ws(sim, "binance_usdm", "/public")
    before = (await recv(ws))["data"]
    sim.inject("binance_usdm", Fault.GAP, symbol="BTC/USDT:USDT")
    diffs = [(await recv(ws))["data"] for _ in range(3)]
    await ws.close()
    assert diffs[0]["pu"] > before["u"]
    assert [d["pu"] for d in diffs[1:]] == [d["u"] for d in diffs[:-1]]


async def test_gap_needs_a_known_symbol(sim: Simulator) -> None:
    """GAP without a symbol, or with one the exchange does not simulate, is a usage error."""
    with pytest.raises(UsageError, match="needs symbol"):
        sim.inject("binance", Fault.GAP)
    with pytest.raises(UsageError, match="simulates no"):
        sim.inject("binance", Fault.GAP, symbol="DOGE/USDT")


async def test_abrupt_close_sends_no_close_frame(sim: Simulator) -> None:
    """ABRUPT_CLOSE drops every connection of the exchange without a close frame; others stay up."""
    spot_a, spot_b = await depth_ws(sim), await depth_ws(sim)
    futures = await depth_ws(sim, "binance_usdm", "/public")
    sim.inject("binance", Fault.ABRUPT_CLOSE)
    for ws in (spot_a, spot_b):
        with pytest.raises(websockets.ConnectionClosedError) as info:
            await drain(ws)
        assert (info.value.rcvd, info.value.sent) == (None, None)
    assert "stream" in await recv(futures)
    await futures.close()
    again = await depth_ws(sim)  # the exchange accepts new connections at once
    assert "stream" in await recv(again)
    await again.close()


async def test_stall_drops_data_but_answers_pings(sim: Simulator) -> None:
    """During STALL no diff is produced for clients and pings are answered; afterwards diffs resume with a gap."""
    ws = await depth_ws(sim)
    await recv(ws)
    start_ms = time.time() * 1000
    sim.inject("binance", Fault.STALL, seconds=0.3)
    pong = await ws.ping()
    assert await asyncio.wait_for(pong, 0.1) < 0.1
    last = None
    while True:
        data = (await recv(ws))["data"]
        if data["E"] >= start_ms:
            break  # the first diff made after the stall began
        last = data
    await ws.close()
    # Diffs produced inside the 0.3 s were dropped, so the first one after it carries E >= start + 0.3 s.
    assert data["E"] >= start_ms + 300 - 5
    assert last is None or data["U"] > last["u"] + 1
    assert sim.stats["dropped.stall"] >= 10


async def test_freeze_silences_everything_then_thaws(sim: Simulator) -> None:
    """During FREEZE nothing arrives and a client ping waits; afterwards the pong and queued frames come."""
    ws = await depth_ws(sim)
    await recv(ws)
    loop = asyncio.get_running_loop()
    start = loop.time()
    sim.inject("binance", Fault.FREEZE, seconds=0.3)
    pong = await ws.ping()
    arrivals = []
    while loop.time() - start < 0.45:
        try:
            await recv(ws, 0.05)
            arrivals.append(loop.time() - start)
        except TimeoutError:
            pass
    await asyncio.wait_for(pong, 0.5)
    pong_at = loop.time() - start
    await ws.close()
    assert [t for t in arrivals if 0.03 < t < 0.29] == []
    assert [t for t in arrivals if t >= 0.29]  # frames queued meanwhile arrive after the thaw
    assert pong_at >= 0.29


async def test_malformed_reaches_every_connection(sim: Simulator) -> None:
    """MALFORMED sends one non-JSON text frame on each connection; the stream goes on after it."""
    sockets = [await depth_ws(sim), await depth_ws(sim)]
    sim.inject("binance", Fault.MALFORMED)
    for ws in sockets:
        bad = []
        while not bad:
            frame = await asyncio.wait_for(ws.recv(), 2.0)
            try:
                orjson.loads(frame)
            except orjson.JSONDecodeError:
                bad.append(frame)
        assert bad == ['{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":']
        assert "stream" in await recv(ws)
        await ws.close()


async def test_rate_limit_answers_429_count_times(sim: Simulator) -> None:
    """RATE_LIMIT count=2: two 429s with Retry-After 1 and Binance's -1003 body, then 200 again."""
    sim.inject("binance", Fault.RATE_LIMIT, count=2)
    url = sim.endpoints("binance").rest + "/api/v3/depth?symbol=ETHUSDT&limit=10"
    answers = [await get(url) for _ in range(3)]
    assert [status for status, _, _ in answers] == [429, 429, 200]
    assert [headers.get("Retry-After") for _, headers, _ in answers] == ["1", "1", None]
    assert orjson.loads(answers[0][2])["code"] == -1003
    other = await get(sim.endpoints("binance_usdm").rest + "/fapi/v1/depth?symbol=BTCUSDT&limit=5")
    assert other[0] == 200  # only the named exchange is limited
    assert sim.stats["rest_calls"] == 4


async def test_pause_stops_updates(sim: Simulator) -> None:
    """While paused no diff is produced; the true book's id stays put until resume."""
    ws = await depth_ws(sim)
    u = (await recv(ws))["data"]["u"]  # subscribed: every later diff reaches this client
    sim.pause()
    last_id = sim.true_book("binance", "BTC/USDT")[2]
    while u != last_id:
        u = (await recv(ws))["data"]["u"]
    with pytest.raises(TimeoutError):
        await recv(ws, 5 * TICK)
    assert sim.true_book("binance", "BTC/USDT")[2] == last_id
    sim.resume()
    assert (await recv(ws))["data"]["U"] == last_id + 1
    await ws.close()
