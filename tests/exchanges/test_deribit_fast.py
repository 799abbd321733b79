"""Deribit's fast path (:mod:`collector.exchanges.deribit.fast`): inverse trades and book changes it routes.

Each case feeds the same frames to three adapters, one with the C router, one with its Python
specification and one without either, and expects the same output from all three; the
frames a route must take are not handed to the adapter. Channels are routed from their
first frame here (:data:`~collector.exchanges.deribit.fast.ROUTE_AFTER` is 1).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest

from collector import speedups
from collector.exchanges import ConnectionPlan
from collector.exchanges.deribit import DeribitAdapter, fast
from collector.models import Book, Resync, Trade
from tests.conftest import fixture_text
from tests.exchanges.routes import three_ways

pytestmark = pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")

T = 1724900000.5
LISTINGS = {"BTC": "instruments_btc.json", "USDC": "instruments_usdc.json"}


def raw(name: str) -> str:
    return fixture_text(f"deribit/{name}")


def edited(name: str, **fields: object) -> str:
    """A notification fixture with some fields of its ``data`` (an object, or each of a list) replaced."""
    msg = orjson.loads(raw(name))
    data = msg["params"]["data"]
    for item in data if isinstance(data, list) else [data]:
        item |= fields
    return orjson.dumps(msg).decode()


def adapter() -> DeribitAdapter:
    a = DeribitAdapter()
    for request in a.instrument_requests():
        currency = dict(parse_qsl(urlsplit(request.url).query))["currency"]
        if currency in LISTINGS:
            a.answer(request, 200, raw(LISTINGS[currency]).encode(), T)
    a.connected(ConnectionPlan("c", "wss://www.deribit.com/ws/api/v2"), T)
    return a


@pytest.fixture(autouse=True)
def route_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Route a channel from its first frame, so short sessions exercise the routes."""
    monkeypatch.setattr(fast, "ROUTE_AFTER", 1)


def test_inverse_trades_are_routed_in_base_units() -> None:
    """A perpetual's USD amounts become base units (``amount / price``) on the fast path as on the adapter's."""
    frames = [raw("trades.json"), edited("trades.json", trade_id="48079256"), raw("trades_liquidation.json")]
    outs, parsed = three_ways(adapter, frames, start=T, spacing=1)
    assert parsed == [frames[0], frames[2]]  # a trade carrying a liquidation decodes only on the adapter's path
    assert outs[1] == [
        Trade("deribit", "BTC/USD:BTC", 1590484156.35, T + 1, 8950.0, 10.0 / 8950.0, "sell", "48079256"),
        Trade("deribit", "BTC/USD:BTC", 1590484156.35, T + 1, 8950.0, 3580.0 / 8950.0, "sell", "48079256"),
    ]


def test_book_changes_are_routed_on_the_owning_channel() -> None:
    """After the snapshot, changes linked by ``prev_change_id`` go through the router; a gap still resyncs."""
    second = edited("book_change.json", change_id=297225, prev_change_id=297221, bids=[["new", 5041.0, 7.0]])
    gap = edited("book_change.json", change_id=297300, prev_change_id=297290)
    frames = [raw("book_snapshot.json"), raw("book_change.json"), second, gap]
    outs, parsed = three_ways(adapter, frames, start=T, spacing=1)
    assert parsed == frames[:1]
    assert [(type(e), getattr(e, "sequence", None)) for out in outs[1:3] for e in out] == [
        (Book, 297221),
        (Book, 297225),
    ]
    assert [type(e) for e in outs[3]][:1] == [Resync]


@pytest.mark.parametrize(
    "change",
    [
        {"bids": [["delete", 5041.94, 3.0]]},  # a deletion saying an amount: the adapter's path makes it 0
        {"bids": [["remove", 5041.94, 0.0]]},
        {"bids": [["new", 5041.94]]},
        {"type": None},
        {"prev_change_id": None},
    ],
)
def test_changes_the_route_is_not_sure_of_agree(change: dict[str, Any]) -> None:
    """Changes a route declines give the adapter's own output."""
    frames = [raw("book_snapshot.json"), edited("book_change.json", **change)]
    _, parsed = three_ways(adapter, frames, start=T, spacing=1)
    assert len(parsed) == 2
