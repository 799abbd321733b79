"""Bitstamp's fast path (:mod:`collector.exchanges.bitstamp.fast`): what it routes, and on which connection.

Each case feeds the same frames to three adapters, one with the C router, one with its Python
specification and one without either, and expects the same output from all three; the
frames a route must take are not handed to the adapter.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from collector import speedups
from collector.actions import RestRequest
from collector.exchanges.bitstamp import BitstampAdapter
from collector.models import Book, Resync, Trade
from tests.conftest import fixture_text
from tests.exchanges.routes import three_ways

pytestmark = pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")

T = 1700000000.5
PAIRS = RestRequest("https://www.bitstamp.net/api/v2/trading-pairs-info/", "instruments", 1)


def fixture(name: str, **data: Any) -> str:
    """A fixture frame with some ``data`` fields replaced."""
    msg = json.loads(fixture_text(f"bitstamp/{name}.json"))
    msg["data"].update(data)
    return json.dumps(msg)


def adapter() -> BitstampAdapter:
    """An adapter whose BTC/USD book is live on connection ``c``."""
    a = BitstampAdapter()
    a.on_http(PAIRS, 200, fixture_text("bitstamp/trading_pairs_info.json").encode(), 0.0)
    (request,) = a.receive("c", fixture("diff_order_book", microtimestamp="1580336904000000"), 1.0)
    assert isinstance(request, RestRequest)
    a.on_http(request, 200, fixture_text("bitstamp/order_book_snapshot.json").encode(), 2.0)
    return a


def test_trades_and_diffs_are_routed_after_one_frame() -> None:
    """The adapter's path reads a channel's first frame on a connection; the router takes the rest."""
    trades = [fixture("trade", id=104007706 + i, microtimestamp=str(1580336751488517 + i)) for i in range(3)]
    diffs = [fixture("diff_order_book", microtimestamp=str(1580336904228758 + i)) for i in range(3)]
    frames = [("c", frame) for pair in zip(trades, diffs, strict=True) for frame in pair]
    outs, parsed = three_ways(adapter, frames, spacing=1)
    assert parsed == [("c", trades[0])]  # the book's diffs were read on "c" while it synced
    assert outs[2] == [Trade("bitstamp", "BTC/USD", 1580336751.488518, T + 2, 9334.73, 0.00598803, "sell", "104007707")]
    assert [(type(e), e.sequence) for out in outs[1::2] for e in out] == [  # type: ignore[attr-defined]
        (Book, 1580336904228758),
        (Book, 1580336904228759),
        (Book, 1580336904228760),
    ]


def test_a_book_moving_to_another_connection_leaves_the_old_ones_route() -> None:
    """Diffs on a new connection resync the book; the old connection's diffs then take the adapter's path."""
    diff = [fixture("diff_order_book", microtimestamp=str(1580336904228758 + i)) for i in range(4)]
    frames = [("c", diff[0]), ("d", diff[1]), ("c", diff[2]), ("c", diff[3])]
    outs, parsed = three_ways(adapter, frames, spacing=1)
    assert [type(e) for e in outs[1]][:1] == [Resync]
    assert ("c", diff[2]) in parsed  # routed no more on "c"


@pytest.mark.parametrize(
    "frame",
    [
        fixture("trade_float_amount"),  # no amount_str: the float amount (adapter's path)
        fixture("trade", type=7),  # neither buy nor sell
        fixture("trade").replace('"event": "trade"', '"event": "data"'),
        fixture("trade").replace('"channel": "live_trades_btcusd"', '"channel": "live_trades_btcusd", "x": 1'),
        fixture("trade").replace('"data": {', '"data": {"channel": "live_trades_ethusd", '),
        fixture("trade").replace('"event": "trade"', '"event": "trade", "channel": "live_trades_ethusd"'),
        fixture("diff_order_book").replace('"event": "data"', '"event": "trade"'),
    ],
)
def test_frames_the_routes_are_not_sure_of_agree(frame: str) -> None:
    """Variants a route must decline (or may take) give the adapter's own output."""
    warm = [("c", fixture("trade", id=1)), ("c", fixture("diff_order_book", microtimestamp="1580336904228758"))]
    three_ways(adapter, spacing=1, frames=[*warm, ("c", frame)])
