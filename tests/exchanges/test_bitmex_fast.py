"""BitMEX's fast path (:mod:`collector.exchanges.bitmex.fast`): quotes, and the simulator's welcome on connect.

Each fast-path case feeds the same frames to three adapters, one with the C router, one with
its Python specification and one without either, and expects the same output from all three;
the frames the route must take are not handed to the adapter.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets

from collector import speedups
from collector.actions import RestRequest
from collector.exchanges import ConnectionPlan
from collector.exchanges.bitmex import BitmexAdapter
from collector.models import Ticker
from collector.simulator import Simulator
from tests.exchanges.routes import three_ways

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bitmex"
T = 1700000000.5
LISTING = RestRequest("https://www.bitmex.com/api/v1/instrument/active", "instruments")
needs_c = pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")


def quote(**row: Any) -> str:
    """The documented ``quote`` push with fields of its row replaced."""
    msg = json.loads((FIXTURES / "quote.json").read_text())
    msg["data"][0].update(row)
    return json.dumps(msg, separators=(",", ":"))


def adapter() -> BitmexAdapter:
    a = BitmexAdapter()
    a.answer(LISTING, 200, (FIXTURES / "instruments.json").read_bytes(), T)
    a.connected(ConnectionPlan("c", "wss://ws.bitmex.com/realtime"), T)
    return a


@needs_c
def test_quotes_are_routed_until_instrument_rows_bring_statistics() -> None:
    """A quote is a ticker of its own while ``instrument`` merges nothing in; then the adapter reads it."""
    instrument = (FIXTURES / "instrument_partial.json").read_text()
    frames = [quote(), quote(bidSize=63), instrument, quote(bidSize=64)]
    outs, parsed = three_ways(adapter, frames)
    assert parsed == frames[2:]
    assert outs[0] == [Ticker("bitmex", "BTC/USD:BTC", 1495741407.493, T, 2443.2, 62.0, 2447.4, 40.0)]
    (merged,) = outs[3]
    assert isinstance(merged, Ticker) and merged.last is not None


@needs_c
@pytest.mark.parametrize(
    ("stamp", "routed"),
    [
        ("2017-05-25T19:43:27.493Z", True),
        ("2017-05-25T19:43:27.493123Z", True),
        ("2017-05-25T19:43:27Z", True),
        ("2017-05-25T19:43:27+00:00", True),
        ("2017-05-25T19:43:27.493+00:00", False),  # longer than BitMEX writes: declined
        ("2017-05-25T19:43:27.493", True),  # no zone: UTC, both ways
        ("2017-05-25T19:43:27.4931234Z", False),  # past microseconds: the adapter rounds
        ("2017-05-25T21:43:27.493+02:00", False),
        ("2017-05-25 19:43:27.493Z", False),
        ("2017-02-30T19:43:27.493Z", False),
        ("yesterday", False),
    ],
)
def test_quote_times_read_alike(stamp: str, routed: bool) -> None:
    """The route reads the UTC times the adapter reads, to the same microsecond, and declines the others."""
    _, parsed = three_ways(adapter, [quote(timestamp=stamp)])
    assert (parsed == []) is routed


@needs_c
def test_quotes_of_unknown_or_mixed_symbols_take_the_adapters_path() -> None:
    """A row of a symbol the listing lacks declines the frame; the adapter reports that row alone."""
    msg = json.loads(quote())
    msg["data"].append(dict(msg["data"][0], symbol="NOPE"))
    mixed = json.dumps(msg)
    outs, parsed = three_ways(adapter, [mixed])
    assert parsed == [mixed]
    assert [type(e).__name__ for e in outs[0]] == ["Ticker", "Error"]


async def test_the_simulator_welcomes_a_connection_before_any_request() -> None:
    """BitMEX speaks first: the welcome ``info`` arrives before the client sends anything."""
    async with (
        Simulator({"bitmex": ["BTC/USD:BTC"]}, seed=1) as sim,
        websockets.connect(sim.endpoints("bitmex").ws) as ws,
    ):
        welcome = orjson.loads(await asyncio.wait_for(ws.recv(), 2.0))
        assert welcome["info"] == "Welcome to the BitMEX Realtime API." and welcome["heartbeatEnabled"] is False
        await ws.send("ping")
        assert await asyncio.wait_for(ws.recv(), 2.0) == "pong"
