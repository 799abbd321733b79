"""The simulator's Deribit wire format: names, listings the adapter reads back, the JSON-RPC protocol, faults."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from collector.actions import RestRequest
from collector.errors import UnknownSymbol
from collector.exchanges.deribit import DeribitAdapter
from collector.exchanges.deribit.sim import DeribitWire
from collector.exchanges.deribit.sim_market import DeribitMarket
from collector.exchanges.deribit.sim_rpc import DeribitSession
from collector.models import Error
from collector.simulator.market import SymbolMarket
from collector.simulator.wire import Control, RestCall

NOW = 1_700_000_000_000
SYMBOLS = {
    "BTC/USD:BTC": "BTC-PERPETUAL",
    "ETH/USD:ETH-261225": "ETH-25DEC26",
    "BTC/USD:BTC-261225-100000-C": "BTC-25DEC26-100000-C",
    "XRP/USDC:USDC-260306-2.2-P": "XRP_USDC-6MAR26-2d2-P",
    "BTC/USDC:USDC": "BTC_USDC-PERPETUAL",
    "BTC/USDC": "BTC_USDC",
}


def markets(wire: DeribitWire) -> dict[str, SymbolMarket]:
    specs = [wire.instrument(symbol, 1) for symbol in SYMBOLS]
    return {spec.native: wire.market(spec, 1, 40) for spec in specs}


def call(
    wire: DeribitWire, session: DeribitSession, markets: dict[str, SymbolMarket], method: str, **params: object
) -> Control:
    text = orjson.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}).decode()
    return wire.on_client_text(session, text, markets, NOW)


def reply(control: Control) -> dict[str, Any]:
    assert isinstance(control.reply, str)
    msg: dict[str, Any] = orjson.loads(control.reply)
    return msg


def listed(wire: DeribitWire, built: dict[str, SymbolMarket]) -> DeribitAdapter:
    """An adapter that read the wire's listings."""
    adapter = DeribitAdapter()
    for query in wire.instrument_queries(built):
        answer = wire.rest(RestCall("GET", wire.instruments_path, query), built, NOW)
        assert answer.status == 200
        adapter.load_instruments(RestRequest(wire.instruments_path, "instruments"), answer.body)
    return adapter


def test_names_and_listings_read_back_by_the_adapter() -> None:
    """Every simulated instrument is listed under its currency and maps back to the symbol it was made from."""
    wire = DeribitWire()
    built = markets(wire)
    assert {s: wire.instrument(s, 1).native for s in SYMBOLS} == SYMBOLS
    adapter = listed(wire, built)
    assert {i.symbol: i.native for i in adapter.instruments} == SYMBOLS
    refused = wire.rest(RestCall("GET", wire.instruments_path, {"currency": "DOGE"}), built, NOW)
    assert refused.status == 400 and orjson.loads(refused.body)["error"]["code"] == -32602
    with pytest.raises(UnknownSymbol):
        wire.instrument("BTC/EUR:EUR", 1)


def test_subscribe_replies_with_what_it_serves_and_a_book_snapshot() -> None:
    """``raw`` and unknown instruments are missing from the reply; a new book channel gets its snapshot."""
    wire = DeribitWire()
    built = markets(wire)
    session = DeribitSession("v2")
    wanted = [
        "book.BTC-PERPETUAL.100ms",
        "trades.BTC-PERPETUAL.raw",
        "ticker.NOPE.100ms",
        "chart.trades.BTC-PERPETUAL.1",
    ]
    control = call(wire, session, built, "public/subscribe", channels=wanted)
    answer = reply(control)
    assert answer["id"] == 7 and answer["result"] == ["book.BTC-PERPETUAL.100ms", "chart.trades.BTC-PERPETUAL.1"]
    (snapshot,) = (orjson.loads(f) for f in control.frames)
    data = snapshot["params"]["data"]
    assert (data["type"], data["change_id"]) == ("snapshot", built["BTC-PERPETUAL"].last_id)
    assert {level[0] for level in data["bids"] + data["asks"]} == {"new"}
    session.streams.extend(control.subscribe)
    gone = call(wire, session, built, "public/unsubscribe", channels=["book.BTC-PERPETUAL.100ms", "x"])
    assert reply(gone)["result"] == ["book.BTC-PERPETUAL.100ms"]


def test_heartbeats_test_requests_and_refusals() -> None:
    """set_heartbeat (>= 10 s) starts heartbeats, every fifth a test_request; public/test answers it."""
    wire = DeribitWire()
    session = DeribitSession("v2")
    assert wire.heartbeat(session, NOW) == []
    assert reply(call(wire, session, {}, "public/set_heartbeat", interval=5))["error"] == {
        "code": -32602,
        "message": "Invalid params",
        "data": {"reason": "must be >= 10", "param": "interval"},
    }
    assert reply(call(wire, session, {}, "public/set_heartbeat", interval=30))["result"] == "ok"
    kinds = [orjson.loads(wire.heartbeat(session, NOW)[0])["params"]["type"] for _ in range(5)]
    assert kinds == ["heartbeat"] * 4 + ["test_request"]
    assert reply(call(wire, session, {}, "public/test"))["result"] == {"version": "1.2.26"}
    assert wire.tests_answered == 1
    refusals = [
        reply(call(wire, session, {}, "private/subscribe", channels=[])),
        reply(call(wire, session, {}, "public/buy")),
        reply(wire.on_client_text(session, "{nope", {}, NOW)),
    ]
    assert [r["error"]["code"] for r in refusals] == [13009, -32601, -32700]


def test_true_book_is_in_the_units_clients_read() -> None:
    """Inverse amounts are USD (contracts of 10 USD); option amounts are the coin."""
    wire = DeribitWire()
    built = markets(wire)
    perpetual = built["BTC-PERPETUAL"]
    assert isinstance(perpetual, DeribitMarket)
    bids, asks, last = wire.true_book(perpetual, None)
    assert last == perpetual.last_id
    assert all(size % 10 == 0 for size in [*bids.values(), *asks.values()])
    option_bids, _, _ = wire.true_book(built["BTC-25DEC26-100000-C"], None)
    assert all(0 < price < 1 for price in option_bids)


def test_each_hostile_frame_is_one_error() -> None:
    """The wire's hostile frames, offline: each gives exactly one error and nothing else."""
    wire = DeribitWire()
    built = markets(wire)
    adapter = listed(wire, built)
    for frame, why in wire.hostile(wire.instrument("BTC/USD:BTC", 1), NOW):
        out = adapter.receive("c", frame, 1.0)
        assert len(out) == 1 and isinstance(out[0], Error), (why, out)
