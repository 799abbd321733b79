"""Kraken's fast path: v2 ``ticker`` messages routed in C give exactly what the Python path gives."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from collector import fastpath, speedups
from collector.exchanges import ConnectionPlan
from collector.exchanges.kraken import KrakenAdapter
from collector.models import Error, Ticker
from tests.conftest import fixture_text

pytestmark = pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")

T = 1700000000.5
V2 = "wss://ws.kraken.com/v2"
V1 = "wss://ws.kraken.com"
ROUTERS: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
    "c": contextlib.nullcontext,
    "specification": fastpath.specification,
}


def ticker(**data: Any) -> str:
    """The documented v2 ticker with fields of its one payload replaced (the keys keep their order)."""
    msg = json.loads(fixture_text("kraken/v2_ticker.json"))
    msg["data"][0].update(data)
    return json.dumps(msg, separators=(",", ":"))


def loaded() -> KrakenAdapter:
    adapter = KrakenAdapter()
    (request,) = adapter.instrument_requests()
    assert adapter.on_http(request, 200, fixture_text("kraken/asset_pairs.json").encode(), T) == []
    adapter.on_connect(ConnectionPlan("v2", V2), T)
    return adapter


@contextlib.contextmanager
def counted(adapter: KrakenAdapter) -> Iterator[list[str]]:
    """The frames that reach the adapter's own parser (the ones no route took) while open."""
    parsed: list[str] = []
    parse = adapter.parse

    def counting(conn: str, frame: str | bytes, received: float) -> Any:
        parsed.append(frame if isinstance(frame, str) else frame.decode())
        return parse(conn, frame, received)

    adapter.parse = counting  # type: ignore[method-assign]
    yield parsed


def outputs(frames: list[str], router: str | None) -> list[Any]:
    """Every frame's output through the boundary, with a router (``c``, ``specification``) or in pure Python."""
    with ROUTERS[router]() if router is not None else speedups.disabled():
        adapter = loaded()
        return [adapter.receive("v2", frame, T + i) for i, frame in enumerate(frames)]


def test_v2_tickers_are_routed_after_the_first() -> None:
    """Full tickers of every pair of the connection come out of one route, times read as the parser reads them."""
    frames = [
        fixture_text("kraken/v2_ticker.json"),
        ticker(bid=0.10026, timestamp="2023-09-25T09:04:32.123456789Z"),
        ticker(symbol="BTC/USD", bid=26000.1, ask=26000.2, last=26000.1, low=25000.0, high=26500.0),
    ]
    adapter = loaded()
    with counted(adapter) as parsed:
        out = [adapter.receive("v2", frame, T + i) for i, frame in enumerate(frames)]
    assert parsed == frames[:1]
    assert out[1] == [
        Ticker("kraken", "ALGO/USD", 1695632672.123456, T + 1, 0.10026, 740.0, 0.10036, 1361.44813783,
               last=0.10035, high=0.10285, low=0.09979, volume=997038.98383185)
    ]  # fmt: skip
    assert [t.symbol for t in out[2] if isinstance(t, Ticker)] == ["BTC/USD"]
    assert outputs(frames, "c") == outputs(frames, "specification") == outputs(frames, None) == out


def test_what_a_ticker_route_is_not_sure_of_takes_the_parser() -> None:
    """A 0 (no value), a time with an offset, no time, an unknown pair, a bad time: the parser decides."""
    frames = [
        fixture_text("kraken/v2_ticker.json"),
        ticker(bid=0),
        ticker(timestamp="2023-09-25T11:04:31.742648+02:00"),
        ticker(timestamp=None),
        ticker(symbol="NOPE/USD"),
        ticker(timestamp="yesterday"),
    ]
    adapter = loaded()
    with counted(adapter) as parsed:
        out = [adapter.receive("v2", frame, T) for frame in frames]
    assert parsed == frames
    assert [(t.bid, t.bid_size, t.timestamp) for t in out[1] + out[2] + out[3] if isinstance(t, Ticker)] == [
        (None, None, 1695632671.742648),
        (0.10025, 740.0, 1695632671.742648),
        (0.10025, 740.0, None),
    ]
    assert [e.reason for e in out[4] + out[5] if isinstance(e, Error)] == ["unknown_symbol", "malformed"]
    assert outputs(frames, "c") == outputs(frames, "specification") == outputs(frames, None)


def test_a_connection_reopened_as_v1_routes_nothing() -> None:
    """A connection id that comes back speaking v1 reads objects as v1 messages: its v2 route takes none."""
    adapter = loaded()
    adapter.receive("v2", fixture_text("kraken/v2_ticker.json"), T)
    adapter.on_connect(ConnectionPlan("v2", V1), T)
    with counted(adapter) as parsed:
        out = adapter.receive("v2", fixture_text("kraken/v2_ticker.json"), T)
    assert parsed == [fixture_text("kraken/v2_ticker.json")]
    assert [e.reason for e in out if isinstance(e, Error)] == ["unknown_message"]
