"""Kraken Futures' fast path: ``book`` and ``trade`` messages routed in C give exactly what the Python path gives."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest

from collector import fastpath, speedups
from collector.exchanges import ConnectionPlan, Subscription
from collector.exchanges.kraken_futures import KrakenFuturesAdapter
from collector.models import Book, Error, Liquidation, Trade
from tests.conftest import fixture_text

pytestmark = pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")

T = 1700000000.5
URL = "wss://futures.kraken.com/ws/v1"
ROUTERS: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
    "c": contextlib.nullcontext,
    "specification": fastpath.specification,
}


def edited(name: str, **fields: object) -> str:
    """A fixture with some top-level fields replaced (the keys keep their order)."""
    return orjson.dumps(orjson.loads(fixture_text(f"kraken_futures/{name}")) | fields).decode()


def loaded() -> KrakenFuturesAdapter:
    adapter = KrakenFuturesAdapter()
    (request,) = adapter.instrument_requests()
    adapter.on_http(request, 200, fixture_text("kraken_futures/instruments.json").encode(), T)
    adapter.on_connect(ConnectionPlan("c", URL), T)
    return adapter


@contextlib.contextmanager
def counted(adapter: KrakenFuturesAdapter) -> Iterator[list[str]]:
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
        adapter = loaded()
        if plan is not None:
            adapter.plan(plan)
        return [adapter.receive("c", frame, T + i) for i, frame in enumerate(frames)]


def test_book_messages_are_routed_from_the_first_one() -> None:
    """After the snapshot every ``book`` message goes to the book without the parser, and the books agree."""
    frames = [
        fixture_text("kraken_futures/book_snapshot.json"),
        edited("book.json", seq=326072250, price=34911.5),
        edited("book.json", seq=326072251, side="buy", price=34893.0, qty=500),
    ]
    adapter = loaded()
    with counted(adapter) as parsed:
        out = [adapter.receive("c", frame, T + i) for i, frame in enumerate(frames)]
    assert parsed == frames[:1]
    assert out[1:] == [
        [Book("kraken_futures", "BTC/USD:BTC", 1612269953.629, T + 1, False, [], [(34911.5, 0.0)], 326072250)],
        [Book("kraken_futures", "BTC/USD:BTC", 1612269953.629, T + 2, False, [(34893.0, 500.0)], [], 326072251)],
    ]
    book = adapter.book("BTC/USD:BTC")
    assert book is not None
    assert (book.best_bid(), book.best_ask()) == ((34893.0, 500.0), (34912.0, 2300.0))
    assert outputs(frames, "c") == outputs(frames, "specification") == outputs(frames, None) == out


def test_what_a_book_route_is_not_sure_of_goes_to_the_parser() -> None:
    """An unknown side or product, a bad value, a skipped ``seq``: the same errors and resync on every path."""
    frames = [
        fixture_text("kraken_futures/book_snapshot.json"),
        edited("book.json", seq=326072250, side="up"),
        edited("book.json", seq=326072250, product_id="PI_NOPE"),
        edited("book.json", seq=326072250, price="NaN"),
        edited("book.json", seq=326072252),
    ]
    adapter = loaded()
    with counted(adapter) as parsed:
        out = [adapter.receive("c", frame, T) for frame in frames]
    assert parsed == frames[:4]
    assert [e.reason for e in out[1] + out[2] + out[3] if isinstance(e, Error)] == [
        "malformed",
        "unknown_symbol",
        "malformed",
    ]
    assert [type(e).__name__ for e in out[4]] == ["Resync", "SendFrame", "SendFrame"]
    assert outputs(frames, "c") == outputs(frames, "specification") == outputs(frames, None)


def test_trades_are_routed_after_the_first_with_contract_amounts() -> None:
    """Inverse contracts are USD over the price, linear ones base units; the newest ``seq`` is kept either way."""
    frames = [
        fixture_text("kraken_futures/trade.json"),
        edited("trade.json", seq=653356, uid="b", qty=20000, price=35000.0),
        edited("trade.json", product_id="PF_XBTUSD", qty=0.0125),
        edited("trade.json", product_id="PF_XBTUSD", seq=653357, uid="c", qty=0.5, side="buy"),
    ]
    adapter = loaded()
    with counted(adapter) as parsed:
        out = [adapter.receive("c", frame, T + i) for i, frame in enumerate(frames)]
    assert parsed == [frames[0], frames[2]]
    assert out[1] == [
        Trade("kraken_futures", "BTC/USD:BTC", 1612266317.519, T + 1, 35000.0, 20000 / 35000.0, "sell", "b")
    ]
    assert out[3] == [Trade("kraken_futures", "BTC/USD:USD", 1612266317.519, T + 3, 34969.5, 0.5, "buy", "c")]
    assert adapter.last_trade == {"BTC/USD:BTC": 653356, "BTC/USD:USD": 653357}
    assert outputs(frames, "c") == outputs(frames, "specification") == outputs(frames, None) == out


def test_liquidations_trades_without_an_id_and_unwanted_trades_take_the_parser() -> None:
    """Only plain fills with a ``uid`` of a symbol whose trades are wanted are routed."""
    frames = [
        fixture_text("kraken_futures/trade.json"),
        edited("trade.json", seq=653356, type="liquidation"),
        edited("trade.json", seq=653357, uid=""),
        edited("trade.json", seq=653358, side="up"),
    ]
    out = outputs(frames, "c")
    assert [type(e) for e in out[1]] == [Trade, Liquidation]
    assert out[2] == [
        Trade("kraken_futures", "BTC/USD:BTC", 1612266317.519, T + 2, 34969.5, 15000 / 34969.5, "sell", "653357")
    ]
    assert [e.reason for e in out[3] if isinstance(e, Error)] == ["malformed"]
    assert out == outputs(frames, "specification") == outputs(frames, None)
    funding = [Subscription("BTC/USD:BTC", "funding"), Subscription("BTC/USD:BTC", "liquidations")]
    fills = [frames[0], edited("trade.json", seq=653356, uid="b")]
    assert outputs(fills, "c", funding) == outputs(fills, None, funding) == [[], []]
