"""OKX's fast path: ``trades``, ``tickers`` and ``books`` updates routed in C give exactly what
the Python path gives."""

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
from collector.models import Book, Error, Resync, Ticker, Trade
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


def test_book_updates_are_routed_after_the_first_with_the_same_chain() -> None:
    """After one update parsed in Python, a book's updates on its connection come decoded by the
    route and judged as the parser judges them: the next delta, a heartbeat, a heartbeat naming a
    later id (a gap), a sequence reset; levels of size 0 remove."""
    frames = [
        fixture_text("okx/books_snapshot.json"),
        fixture_text("okx/books_update.json"),  # prevSeqId 123456 -> seqId 123461
        edited("books_update.json", prevSeqId=123461, seqId=123462, bids=[["8476.97", "0", "0", "0"]], asks=[]),
        edited("books_update.json", prevSeqId=123462, seqId=123462, bids=[], asks=[]),  # heartbeat
        edited("books_update.json", prevSeqId=123462, seqId=5, asks=[["8477", "9", "0", "1"]], bids=[]),  # reset
        edited("books_update.json", prevSeqId=5, seqId=6, asks=[], bids=[["8476", "1", "0", "1"]]),
        edited("books_update.json", prevSeqId=9, seqId=9, bids=[], asks=[]),  # heartbeat: 7..9 were lost
    ]
    adapter = loaded()
    with counted(adapter) as parsed:
        out = [adapter.receive(CONN, frame, T + i) for i, frame in enumerate(frames)]
    assert parsed == frames[:2]
    assert out[2] == [Book("okx", "BTC/USDT", 1597026383.185, T + 2, False, [(8476.97, 0.0)], [], 123462)]
    assert out[3] == [] and adapter.stats["ignored.book_heartbeat"] == 1
    assert out[4] == [Book("okx", "BTC/USDT", 1597026383.185, T + 4, False, [], [(8477.0, 9.0)], 5)]
    assert [(type(e), e.sequence) for e in out[5]] == [(Book, 6)]
    resync = out[6][0]
    assert isinstance(resync, Resync) and resync.reason == "gap"
    assert outputs(frames, "c") == outputs(frames, "specification") == outputs(frames, None) == out


def test_book_updates_of_another_connection_or_with_texts_take_the_parser() -> None:
    """A route is per connection: the same book's updates on a second connection are the parser's
    (not its book's owner). A book whose snapshot carried a checksum keeps level texts: no route."""
    second = "okx.public.1"
    frames: list[tuple[str, str]] = [
        (CONN, fixture_text("okx/books_snapshot.json")),
        (CONN, fixture_text("okx/books_update.json")),
        (second, edited("books_update.json", prevSeqId=123461, seqId=123462)),
        (CONN, edited("books_update.json", prevSeqId=123461, seqId=123462)),
    ]
    adapter = loaded()
    adapter.connected(ConnectionPlan(second, "wss://ws.okx.com:8443/ws/v5/public"), T)
    with counted(adapter) as parsed:
        out = [adapter.receive(conn, frame, T + i) for i, (conn, frame) in enumerate(frames)]
    assert parsed == [frames[0][1], frames[1][1], frames[2][1]]
    assert out[2] == [] and adapter.stats["ignored.second_book"] == 1
    assert [(type(e), e.sequence) for e in out[3]] == [(Book, 123462)]
    checked = loaded()
    snapshot = json.loads(fixture_text("okx/books_snapshot.json"))
    snapshot["data"][0]["checksum"] = 1  # any non-zero value: its texts are kept (and it mismatches)
    with counted(checked) as parsed:
        checked.receive(CONN, json.dumps(snapshot), T)
        checked.receive(CONN, fixture_text("okx/books_update.json"), T + 1)
        checked.receive(CONN, edited("books_update.json", prevSeqId=123461, seqId=123462), T + 2)
    assert len(parsed) == 3
