"""Bybit's fast routes for derivative ticker deltas: the same events as the adapter's own path.

Each case feeds the same frames to three adapters (the C router, its Python specification,
neither) through :func:`tests.exchanges.routes.three_ways`, which asserts equal output, and
says which frames the routes handed back to the adapter.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collector import speedups
from collector.actions import RestRequest
from collector.exchanges import ConnectionPlan
from collector.exchanges.bybit import BybitAdapter
from collector.exchanges.bybit.schemas import TickerData, TickerNumbers
from collector.models import DerivativeTicker, Disconnected, Error, Ticker
from tests.exchanges.routes import three_ways

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bybit"
T = 1700000000.5
needs_c = pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")


def text(name: str) -> str:
    return (FIXTURES / name).read_text().strip()


def delta(name: str = "ticker_linear_delta.json", **data: Any) -> str:
    """A documented ticker delta with ``data`` fields replaced (``None`` removes one)."""
    msg = json.loads(text(name))
    for key, value in data.items():
        if value is None:
            msg["data"].pop(key, None)
        else:
            msg["data"][key] = value
    return json.dumps(msg, separators=(",", ":"))


def adapter() -> BybitAdapter:
    a = BybitAdapter()
    for category in ("spot", "linear", "inverse"):
        request = RestRequest(
            f"https://api.bybit.com/v5/market/instruments-info?category={category}&limit=1000", "instruments"
        )
        a.answer(request, 200, (FIXTURES / f"instruments_{category}.json").read_bytes(), T)
        a.connected(ConnectionPlan(category, f"wss://stream.bybit.com/v5/public/{category}"), T)
    return a


def linear(frames: list[str]) -> list[tuple[str, str]]:
    return [("linear", f) for f in frames]


@needs_c
def test_linear_deltas_after_the_snapshot_are_routed() -> None:
    """The snapshot starts the cached ticker in Python; every delta after it is merged on the
    fast path, into both the ticker and (when a field of it moved) the derivative ticker."""
    frames = linear([text("ticker_linear_snapshot.json"), delta(), delta(bid1Price="17214.50"), delta()])
    outs, declined = three_ways(adapter, frames)
    assert declined == frames[:1]
    assert [type(e) for e in outs[1]] == [Ticker, DerivativeTicker]
    assert [(e.bid, e.bid_size, e.ask, e.last) for e in outs[2]] == [(17214.5, 12.1, 17216.0, 17216.0)]
    assert [(e.bid, e.bid_size) for e in outs[3]] == [(17215.0, 12.1)]  # nothing derivative moved: one event


@needs_c
def test_inverse_deltas_are_routed_with_inverse_units() -> None:
    """Inverse ``volume24h`` (USD contracts) is the quote volume on the fast path too."""
    frames = [("inverse", text("ticker_inverse_snapshot.json")), ("inverse", text("ticker_inverse_delta.json"))]
    outs, declined = three_ways(adapter, frames)
    assert declined == frames[:1]
    (ticker,) = [e for e in outs[1] if isinstance(e, Ticker)]
    assert (ticker.volume, ticker.quote_volume, ticker.ask_size) == (9846.31, 168934612.0, 1200.0)


@needs_c
@pytest.mark.parametrize(
    ("changes", "expect"),
    [
        ({"bid1Price": ""}, None),  # "no value": the adapter's path reads it
        ({"bid1Price": 17214}, 17214.0),  # a bare number is the number (on both paths)
        ({"bid1Price": "17214.5"}, 17214.5),
    ],
)
def test_deltas_the_route_cannot_read_as_numbers_go_to_the_adapter(
    changes: dict[str, Any], expect: float | None
) -> None:
    """A value that is not a finite decimal declines the route; the adapter decides, with the same result."""
    frames = linear([text("ticker_linear_snapshot.json"), delta(**changes)])
    outs, declined = three_ways(adapter, frames)
    assert declined == frames[:1] + (frames[1:] if changes["bid1Price"] == "" else [])
    (ticker,) = [e for e in outs[1] if isinstance(e, Ticker)]
    assert ticker.bid == expect


@needs_c
@pytest.mark.parametrize("value", ["NaN", "-1", "Infinity", "1e400", "true"])
def test_impossible_values_are_reported_whichever_path(value: str) -> None:
    """Declined by the route, reported by the adapter, and kept out of the cached ticker."""
    bad = delta(bid1Price=value if value != "true" else True)
    frames = linear([text("ticker_linear_snapshot.json"), bad, delta()])
    outs, declined = three_ways(adapter, frames)
    assert declined == frames[:2]
    assert [type(e) for e in outs[1]] == [Error]
    assert [e.bid for e in outs[2] if isinstance(e, Ticker)] == [17215.0]


@needs_c
def test_a_routed_delta_before_the_next_snapshot_is_counted() -> None:
    """After a reconnect the cached ticker is gone: a delta ahead of the new snapshot merges nothing."""
    made: list[BybitAdapter] = []

    def make() -> BybitAdapter:
        made.append(adapter())
        return made[-1]

    frames = linear([text("ticker_linear_snapshot.json"), delta()])
    three_ways(make, frames)
    for a in made:
        assert a.disconnected("linear", "closed 1006", T + 1)[0] == Disconnected(
            "bybit", None, None, T + 1, "linear", "closed 1006"
        )
        assert a.receive("linear", delta(), T + 2) == []
        assert a.stats["ignored.ticker_delta_before_snapshot"] == 1


@needs_c
def test_binary_frames_give_what_their_text_gives() -> None:
    """Bybit sends text; the same JSON in a binary frame is read alike on every path, down to a
    field no route reads (``cs``), which the adapter's own path does not check either."""
    texts = [text("ticker_linear_snapshot.json"), delta(), delta().replace('"cs":24987956078', '"cs":true')]
    as_text, _ = three_ways(adapter, linear(texts))
    as_bytes, _ = three_ways(adapter, [("linear", t.encode()) for t in texts])
    assert as_bytes == as_text
    assert [type(e) for e in as_text[2]] == [Ticker]


def test_the_fast_path_decodes_the_fields_of_the_adapters_ticker_in_its_order() -> None:
    """``_on_ticker_delta`` writes a delta's values by position into the merged ticker."""
    assert TickerNumbers.__struct_fields__ == TickerData.__struct_fields__
