"""OKX's fast path: ``trades`` and ``tickers`` pushes routed in C give exactly what the Python path gives."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from collector import fastpath, speedups
from collector.actions import RestRequest
from collector.exchanges import ConnectionPlan
from collector.exchanges.okx import OkxAdapter
from collector.models import Error, Ticker, Trade
from tests.conftest import fixture_text

pytestmark = pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")

T = 1700000000.5
CONN = "okx.public.0"
ROUTERS: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
    "c": contextlib.nullcontext,
    "specification": fastpath.specification,
}


def edited(name: str, **data: Any) -> str:
    """A fixture with fields of its first ``data`` element replaced (the keys keep their order)."""
    msg = json.loads(fixture_text(f"okx/{name}"))
    msg["data"][0].update(data)
    return json.dumps(msg, separators=(",", ":"))


def loaded() -> OkxAdapter:
    adapter = OkxAdapter()
    for inst_type, name in (("SPOT", "spot"), ("SWAP", "swap"), ("FUTURES", "futures")):
        url = f"https://www.okx.com/api/v5/public/instruments?instType={inst_type}"
        body = fixture_text(f"okx/instruments_{name}.json").encode()
        assert adapter.answer(RestRequest(url, "instruments"), 200, body, T) == []
    adapter.connected(ConnectionPlan(CONN, "wss://ws.okx.com:8443/ws/v5/public"), T)
    return adapter


@contextlib.contextmanager
def counted(adapter: OkxAdapter) -> Iterator[list[str]]:
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
        return [adapter.receive(CONN, frame, T + i) for i, frame in enumerate(frames)]


def test_spot_and_inverse_trades_are_routed_after_the_first() -> None:
    """Spot sizes are the amount, inverse contracts USD over the price; each instrument has its route."""
    frames = [
        fixture_text("okx/trades.json"),
        edited("trades.json", tradeId="130639475", sz="0.5", side="sell"),
        fixture_text("okx/trades_inverse.json"),
        edited("trades_inverse.json", tradeId="263421782", sz="42", px="42100.5"),
    ]
    adapter = loaded()
    with counted(adapter) as parsed:
        out = [adapter.receive(CONN, frame, T + i) for i, frame in enumerate(frames)]
    assert parsed == [frames[0], frames[2]]
    assert out[1] == [Trade("okx", "BTC/USDT", 1630048897.897, T + 1, 42219.9, 0.5, "sell", "130639475")]
    assert out[3] == [
        Trade("okx", "BTC/USD:BTC", 1630048897.898, T + 3, 42100.5, 42 / 42100.5 * 100, "buy", "263421782")
    ]
    assert outputs(frames, "c") == outputs(frames, "specification") == outputs(frames, None) == out


def test_linear_trades_and_what_a_route_is_not_sure_of_take_the_parser() -> None:
    """Linear amounts are rounded to the contract's decimals (not a recipe); a bad side is the parser's error."""
    frames = [
        fixture_text("okx/trades_swap.json"),
        edited("trades_swap.json", tradeId="1131424790"),
        fixture_text("okx/trades.json"),
        edited("trades.json", side="up"),
        edited("trades.json", px="-1"),
    ]
    adapter = loaded()
    with counted(adapter) as parsed:
        out = [adapter.receive(CONN, frame, T) for frame in frames]
    assert parsed == frames
    assert out[1] == [Trade("okx", "BTC/USDT:USDT", 1630048897.897, T, 42219.9, 0.0055, "sell", "1131424790")]
    assert [e.reason for e in out[3] + out[4] if isinstance(e, Error)] == ["malformed", "malformed"]
    assert outputs(frames, "c") == outputs(frames, "specification") == outputs(frames, None)


def test_full_tickers_are_routed_with_derivative_volumes() -> None:
    """Spot volumes are base and quote; an inverse swap's contract volume is its USD volume."""
    frames = [
        fixture_text("okx/tickers.json"),
        edited("tickers.json", bidPx="8888.89", ts="1597026383086"),
        fixture_text("okx/tickers_inverse.json"),
        edited("tickers_inverse.json", vol24h="2170544"),
    ]
    adapter = loaded()
    with counted(adapter) as parsed:
        out = [adapter.receive(CONN, frame, T + i) for i, frame in enumerate(frames)]
    assert parsed == [frames[0], frames[2]]
    assert out[1] == [
        Ticker("okx", "BTC/USDT", 1597026383.086, T + 1, 8888.89, 5.0, 9999.99, 11.0, 9999.99, 9000.0, 10000.0,
               8888.88, 2222.0, 2222.0)
    ]  # fmt: skip
    (inverse,) = out[3]
    assert isinstance(inverse, Ticker)
    assert (inverse.volume, inverse.quote_volume) == (5134.1893, 217054400.0)
    assert outputs(frames, "c") == outputs(frames, "specification") == outputs(frames, None) == out


def test_tickers_with_an_empty_value_take_the_parser() -> None:
    """``""`` and ``"0"`` are "no value": the parser makes them ``None``, the route does not take them."""
    frames = [
        fixture_text("okx/tickers_empty_side.json"),
        fixture_text("okx/tickers_empty_side.json"),
        edited("tickers_empty_side.json", askPx="0", askSz="3"),
    ]
    adapter = loaded()
    with counted(adapter) as parsed:
        out = [adapter.receive(CONN, frame, T) for frame in frames]
    assert parsed == frames
    (ticker,) = out[2]
    assert isinstance(ticker, Ticker)
    assert (ticker.bid, ticker.ask, ticker.ask_size) == (42219.8, None, 3.0)
    assert outputs(frames, "c") == outputs(frames, "specification") == outputs(frames, None)


def test_a_listing_loaded_again_declares_its_routes_again() -> None:
    """A contract value that changed in a new listing applies to routed trades at once."""
    adapter = loaded()
    adapter.receive(CONN, fixture_text("okx/trades_inverse.json"), T)
    listing = json.loads(fixture_text("okx/instruments_swap.json"))
    for info in listing["data"]:
        if info["instId"] == "BTC-USD-SWAP":
            info["ctVal"] = "10"
    url = "https://www.okx.com/api/v5/public/instruments?instType=SWAP"
    adapter.answer(RestRequest(url, "instruments"), 200, json.dumps(listing).encode(), T)
    with counted(adapter) as parsed:
        (trade,) = adapter.receive(CONN, fixture_text("okx/trades_inverse.json"), T)
    assert parsed == []
    assert isinstance(trade, Trade)
    assert trade.amount == 21 / 42000 * 10
