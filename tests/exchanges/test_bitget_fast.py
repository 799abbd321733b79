"""Bitget's fast path: spot ``ticker`` pushes routed in C give exactly what the Python path gives."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from collector import fastpath, speedups
from collector.actions import RestRequest
from collector.exchanges import Subscription
from collector.exchanges.bitget import BitgetAdapter
from collector.models import Error, Ticker
from tests.conftest import fixture_text

pytestmark = pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")

T = 1700000000.5
REST = "https://api.bitget.com"
LISTINGS = {
    f"{REST}/api/v2/spot/public/symbols": "instruments_spot.json",
    f"{REST}/api/v2/mix/market/contracts?productType=USDT-FUTURES": "instruments_usdt_futures.json",
}
ROUTERS: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
    "c": contextlib.nullcontext,
    "specification": fastpath.specification,
}
FULL = {"open24h": "2100.5", "high24h": "2250", "low24h": "2050.2", "baseVolume": "12.5", "quoteVolume": "27000"}


def ticker(**data: Any) -> str:
    """The documented spot ticker with fields of its one payload replaced (the keys keep their order)."""
    msg = json.loads(fixture_text("bitget/ticker_spot.json"))
    msg["data"][0].update(data)
    return json.dumps(msg, separators=(",", ":"))


def loaded(plan: list[Subscription] | None = None) -> BitgetAdapter:
    adapter = BitgetAdapter()
    for url, name in LISTINGS.items():
        assert adapter.on_http(RestRequest(url, "instruments"), 200, fixture_text(f"bitget/{name}").encode(), T) == []
    if plan is not None:
        adapter.plan(plan)
    return adapter


@contextlib.contextmanager
def counted(adapter: BitgetAdapter) -> Iterator[list[str]]:
    """The frames that reach the adapter's own parser (the ones no route took) while open."""
    parsed: list[str] = []
    parse = adapter.parse

    def counting(conn: str, frame: str | bytes, received: float) -> Any:
        parsed.append(frame if isinstance(frame, str) else frame.decode())
        return parse(conn, frame, received)

    adapter.parse = counting  # type: ignore[method-assign]
    yield parsed


def outputs(frames: list[str], router: str | None, plan: list[Subscription] | None = None) -> list[Any]:
    """Every frame's output through the boundary, with a router (``c``, ``specification``) or in pure Python."""
    with ROUTERS[router]() if router is not None else speedups.disabled():
        adapter = loaded(plan)
        return [adapter.receive("c", frame, T + i) for i, frame in enumerate(frames)]


def test_full_spot_tickers_are_routed_after_the_first() -> None:
    """Once a pair's ticker was parsed, its full tickers skip the parser."""
    frames = [ticker(**FULL), ticker(**FULL, bidPr="1793", ts="1695702439018")]
    adapter = loaded()
    with counted(adapter) as parsed:
        out = [adapter.receive("c", frame, T + i) for i, frame in enumerate(frames)]
    assert parsed == frames[:1]
    assert out[1] == [
        Ticker("bitget", "ETH/USDT", 1695702439.018, T + 1, 1793.0, 0.0084, 2200.1, 19740.8811, 2200.1, 2100.5,
               2250.0, 2050.2, 12.5, 27000.0)
    ]  # fmt: skip
    assert outputs(frames, "c") == outputs(frames, "specification") == outputs(frames, None) == out


def test_what_a_ticker_route_is_not_sure_of_takes_the_parser() -> None:
    """``0`` and ``""`` (no value), a payload of another pair, a bad value: the parser decides."""
    frames = [
        ticker(**FULL),
        fixture_text("bitget/ticker_spot.json"),
        ticker(**FULL | {"bidSz": ""}),
        ticker(**FULL, instId="BTCUSDT"),
        ticker(**FULL, askPr="-1"),
    ]
    adapter = loaded()
    with counted(adapter) as parsed:
        out = [adapter.receive("c", frame, T) for frame in frames]
    assert parsed == frames
    assert [(t.open, t.bid_size) for t in out[1] + out[2] if isinstance(t, Ticker)] == [(None, 0.0084), (2100.5, None)]
    assert [t.symbol for t in out[3] if isinstance(t, Ticker)] == ["ETH/USDT"]
    assert [e.reason for e in out[4] if isinstance(e, Error)] == ["malformed"]
    assert outputs(frames, "c") == outputs(frames, "specification") == outputs(frames, None)


def test_a_plan_without_the_ticker_stops_its_route() -> None:
    """Planned for the book only, the pair's tickers give nothing, routed or not."""
    frames = [ticker(**FULL), ticker(**FULL)]
    adapter = loaded()
    adapter.receive("c", frames[0], T)
    adapter.plan([Subscription("ETH/USDT", "book")])
    assert adapter.receive("c", frames[1], T) == []
    book = [Subscription("ETH/USDT", "book")]
    assert outputs(frames, "c", book) == outputs(frames, None, book) == [[], []]
