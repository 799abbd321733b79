"""Crypto.com's fast path (:mod:`collector.exchanges.cryptocom.fast`): book deltas and tickers it routes.

Each case feeds the same frames to three adapters, one with the C router, one with its Python
specification and one without either, and expects the same output from all three; the
frames a route must take are not handed to the adapter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collector import speedups
from collector.actions import RestRequest
from collector.exchanges import ConnectionPlan, Subscription
from collector.exchanges.cryptocom import CryptocomAdapter
from collector.models import Book, DerivativeTicker, Ticker
from tests.exchanges.routes import three_ways

pytestmark = pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cryptocom"
T = 1700000000.5
LISTING = RestRequest("https://api.crypto.com/exchange/v1/public/get-instruments", "instruments")
SNAPSHOT_U = 542048017824


def frame(name: str, **changes: Any) -> str:
    """A fixture as one line of text, with fields of ``result.data[0]`` (or of ``result``, ``result.x``) changed."""
    msg = json.loads((FIXTURES / name).read_text())
    for key, value in changes.items():
        target = msg["result"] if key.startswith("result.") else msg["result"]["data"][0]
        target[key.removeprefix("result.")] = value
    return json.dumps(msg, separators=(",", ":"))


def delta(u: int, **changes: Any) -> str:
    """A delta linked to ``u - 1``, changing levels around the snapshot's (30082.5 best ask)."""
    update = {"bids": [["30080.0", "0.5", "2"]], "asks": [["30082.5", "0", "0"], ["30090.0", "1.25", "3"]]}
    return frame("book_update.json", u=u, pu=u - 1, update=update, **changes)


def adapter() -> CryptocomAdapter:
    a = CryptocomAdapter()
    a.answer(LISTING, 200, (FIXTURES / "instruments.json").read_bytes(), T)
    a.connected(ConnectionPlan("c", "wss://stream.crypto.com/exchange/v1/market"), T)
    return a


def test_book_deltas_are_routed_once_the_subscription_owns_the_book() -> None:
    """The snapshot and the first delta take the adapter's path; the next linked deltas the router."""
    snapshot = frame("book_snapshot.json", **{"result.subscription": "book.BTCUSD-PERP.10"})
    frames = [snapshot, *(delta(SNAPSHOT_U + n) for n in range(1, 4))]
    outs, parsed = three_ways(adapter, frames, spacing=1)
    assert parsed == frames[:2]
    assert [(type(e), e.sequence) for out in outs[1:] for e in out] == [  # type: ignore[attr-defined]
        (Book, SNAPSHOT_U + 1),
        (Book, SNAPSHOT_U + 2),
        (Book, SNAPSHOT_U + 3),
    ]


@pytest.mark.parametrize(
    "last",
    [
        delta(SNAPSHOT_U + 9),  # a gap: resubscribed
        delta(SNAPSHOT_U + 3, **{"result.channel": "book"}),  # a snapshot named like the delta
        delta(SNAPSHOT_U + 3, **{"result.instrument_name": "BTC_USDT"}),
        delta(SNAPSHOT_U + 3).replace('"code":0', '"code":"0"'),
        delta(SNAPSHOT_U + 3).replace('"subscription":"book.BTCUSD-PERP.10"', '"subscription":"book.BTCUSD-PERP.50"'),
        delta(SNAPSHOT_U + 3).replace('"depth":10', '"depth":10,"subscription":"book.BTCUSD-PERP.50"'),
        delta(SNAPSHOT_U + 3).replace('"data":[{', '"data":[{"u":1,"pu":0,"update":{}},{'),  # two deltas
        delta(SNAPSHOT_U + 3).replace('"result":{', '"x":{"channel":"ticker"},"result":{'),
    ],
)
def test_deltas_the_route_is_not_sure_of_agree(last: str) -> None:
    """Deltas a route declines (or takes) give the adapter's own output."""
    snapshot = frame("book_snapshot.json", **{"result.subscription": "book.BTCUSD-PERP.10"})
    three_ways(adapter, [snapshot, delta(SNAPSHOT_U + 1), delta(SNAPSHOT_U + 2), last], spacing=1)


def test_tickers_are_routed_unless_they_feed_a_derivative_ticker() -> None:
    """A perpetual's ticker is routed while no funding channel merges its open interest."""
    tickers = [frame("ticker.json", t=1613580710768 + n) for n in range(3)]
    outs, parsed = three_ways(adapter, tickers, spacing=1)
    assert parsed == tickers[:1]
    assert [type(e) for out in outs for e in out] == [Ticker, Ticker, Ticker]

    def funding(a: CryptocomAdapter) -> CryptocomAdapter:
        a.plan([Subscription("BTC/USD:USD", "funding")])
        return a

    outs, parsed = three_ways(lambda: funding(adapter()), tickers, spacing=1)
    assert parsed == tickers
    assert [type(e) for e in outs[0]] == [DerivativeTicker]


def test_a_mark_push_takes_the_tickers_back_to_the_adapters_path() -> None:
    """Once mark prices flow, open interest from the ticker is merged: the ticker route is dropped."""
    tickers = [frame("ticker.json", t=1613580710768 + n) for n in range(4)]
    frames = [*tickers[:2], (FIXTURES / "mark.json").read_text(), *tickers[2:]]
    outs, parsed = three_ways(adapter, frames, spacing=1)
    assert parsed == [frames[0], *frames[2:]]
    assert any(isinstance(e, DerivativeTicker) for e in outs[3])


@pytest.mark.parametrize(
    "ticker",
    [
        frame("ticker.json", b="0"),  # no bid: the adapter maps 0 to None
        frame("ticker.json", t=None),
        frame("ticker_spot_empty.json"),
        frame("ticker.json", **{"result.instrument_name": "ETHUSD-PERP"}),  # contracts of 0.1
    ],
)
def test_tickers_the_route_is_not_sure_of_agree(ticker: str) -> None:
    """Tickers a route declines give the adapter's own output."""
    three_ways(adapter, [frame("ticker.json"), ticker], spacing=1)
