"""Gate's fast path (:mod:`collector.exchanges.gateio.fast`): the frames it routes and those it leaves to the adapter.

Each case feeds the same frames to three adapters, one with the C router, one with its Python
specification and one without either, and expects the same output from all three; frames the
routes must take are not handed to the adapter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collector import speedups
from collector.actions import RestRequest
from collector.exchanges.gateio import GateioAdapter, GateioFuturesAdapter
from collector.models import Book, Error, Liquidation, Ticker, Trade
from tests.exchanges.routes import three_ways

pytestmark = pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gateio"
T = 1700000000.5
REST = "https://api.gateio.ws/api/v4"
SNAPSHOT = RestRequest(
    f"{REST}/spot/order_book?currency_pair=BTC_USDT&limit=100&with_id=true", "snapshot", 1, "BTC/USDT"
)


def text(name: str, **result: Any) -> str:
    """A fixture as the text frame a socket delivers, some ``result`` fields replaced (of the first element)."""
    msg = json.loads((FIXTURES / name).read_text())
    target = msg["result"][0] if isinstance(msg["result"], list) else msg["result"]
    target.update(result)
    return json.dumps(msg, separators=(",", ":"))


def spot() -> GateioAdapter:
    adapter = GateioAdapter()
    adapter.on_http(
        RestRequest(f"{REST}/spot/currency_pairs", "instruments"),
        200,
        (FIXTURES / "currency_pairs.json").read_bytes(),
        T,
    )
    # The book syncs on its snapshot (id 2679731733), which the fixture diff continues.
    adapter.receive("c", text("spot_order_book_update.json", U=2679731700, u=2679731720), T)
    adapter.on_http(SNAPSHOT, 200, (FIXTURES / "spot_order_book_snapshot.json").read_bytes(), T)
    return adapter


def futures() -> GateioFuturesAdapter:
    """The documented contracts, and ``ETH_USDT`` of 0.01 ETH a contract (another size than ``BTC_USDT``'s)."""
    adapter = GateioFuturesAdapter()
    for settle in ("usdt", "btc"):
        listing = json.loads((FIXTURES / f"contracts_{settle}.json").read_text())
        if settle == "usdt":
            listing.append({"name": "ETH_USDT", "type": "direct", "quanto_multiplier": "0.01", "status": "trading"})
        request = RestRequest(f"{REST}/futures/{settle}/contracts", "instruments")
        adapter.on_http(request, 200, json.dumps(listing).encode(), T)
    return adapter


def test_spot_trades_diffs_and_quotes_are_routed() -> None:
    """One trade per push, a diff with ``U`` and quoted best bid/ask and tickers go through the router."""
    frames = [
        text("spot_trade.json"),
        text("spot_order_book_update.json", U=2679731721, u=2679731745),
        text("spot_book_ticker.json"),
        text("spot_tickers.json"),
    ]
    outs, parsed = three_ways(spot, frames)
    assert parsed == []
    trade, diff, quote, ticker = outs
    assert trade == [Trade("gateio", "GT/USDT", 1606292218.2134578, T, 0.4705, 16.47, "sell", "309143071")]
    assert [(type(e), e.sequence) for e in diff] == [(Book, 2679731745)]
    assert quote == [Ticker("gateio", "BTC/USDT", 1606293275.123, T, 19177.79, 0.0003341504, 19179.38, 0.09)]
    (t,) = ticker
    assert isinstance(t, Ticker) and (t.timestamp, t.bid, t.ask, t.last, t.volume) == (
        1669107766.406,
        15743.5,
        15744.4,
        15743.4,
        9110.473081735,
    )


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("spot_trade.json", {"currency_pair": "NOPE_USDT"}),  # unknown pair: reported
        ("spot_trade.json", {"side": "both"}),  # no taker side: reported
        ("spot_order_book_full.json", {"s": "BTC_USDT"}),  # a full book replaces the book
        ("spot_order_book_update.json", {"U": None}),  # a diff without U cannot be linked
        ("spot_book_ticker.json", {"b": ""}),  # an empty side
        ("spot_tickers.json", {"highest_bid": "0"}),  # an empty side
    ],
)
def test_spot_frames_the_routes_are_not_sure_of_take_the_adapters_path(name: str, change: dict[str, Any]) -> None:
    """A route declines what it cannot map exactly; the adapter's path gives the same output as without routes."""
    _, parsed = three_ways(spot, [text(name, **change)])
    assert len(parsed) == 1


def test_frames_naming_their_channel_twice_or_nested_agree() -> None:
    """The channel the router reads (the first top-level ``channel``) and the one the adapter reads agree."""
    trade = text("spot_trade.json")
    nested = trade.replace('"time":1606292218,', '"time":1606292218,"x":{"channel":"spot.tickers"},', 1)
    twice = trade.replace('"event":"update"', '"event":"update","channel":"spot.tickers"', 1)
    blank = trade.replace('"channel":"spot.trades"', '"channel": "spot.trades"', 1)
    outs, _ = three_ways(spot, [nested, twice, blank])
    assert [type(e) for out in outs for e in out] == [Trade, Error, Trade]  # the second frame is reported
    assert outs[1][0].reason == "malformed"


def test_futures_book_quotes_and_linear_trades_are_routed() -> None:
    """Futures diffs of level objects, quoted best bid/ask, and trades and liquidations of a linear
    contract (``abs(size) * quanto_multiplier``) go through the router once one was read."""
    frames = [
        text("futures_order_book_update.json", s="BTC_USDT"),
        text("futures_book_ticker.json", s="BTC_USDT"),
        text("futures_trades.json", contract="BTC_USDT"),
        text("futures_trades.json", contract="BTC_USDT", size=25, id=27753480),
        text("futures_public_liquidates.json", contract="BTC_USDT"),
        text("futures_public_liquidates.json", contract="BTC_USDT", size=7),
    ]
    outs, parsed = three_ways(futures, frames)
    assert parsed == [frames[2], frames[4]]  # each contract size is learnt from a frame the adapter read
    assert outs[1] == [Ticker("gateio_futures", "BTC/USDT:USDT", 1615366379.123, T, 54696.6, 37000.0, 54696.7, 47061.0)]
    assert outs[3] == [
        Trade("gateio_futures", "BTC/USDT:USDT", 1545136464.123, T, 96.4, 25 * 0.0001, "buy", "27753480")
    ]
    assert outs[5] == [Liquidation("gateio_futures", "BTC/USDT:USDT", 1541486601.123, T, "buy", 215.1, 7 * 0.0001)]


def test_trades_of_other_contract_sizes_and_inverse_ones_keep_the_adapters_path() -> None:
    """A frame holding a contract of another size, or an inverse contract, is read by the adapter."""
    frames = [
        text("futures_trades.json", contract="BTC_USDT"),
        text("futures_trades.json", contract="ETH_USDT"),  # 0.01 per contract, not 0.0001
        text("futures_trades.json", contract="BTC_USD"),  # inverse
        text("futures_trades.json", contract="BTC_USDT", size=0),  # no side
    ]
    outs, parsed = three_ways(futures, frames)
    assert parsed == frames
    assert outs[1] == [
        Trade("gateio_futures", "ETH/USDT:USDT", 1545136464.123, T, 96.4, 108 * 0.01, "sell", "27753479")
    ]
