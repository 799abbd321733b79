"""The simulator's Gate wire format, and the perpetual channels over real loopback sockets.

The conformance suite drives the book channels of the demo symbols; these tests cover
the rest of the protocol: listings of both settlement currencies, the subscribe replies
and refusals, ``full`` books, and funding, liquidations and inverse contracts end to end.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from collector import Collector
from collector.actions import RestRequest
from collector.errors import UnknownSymbol
from collector.exchanges.gateio import GateioAdapter, GateioFuturesAdapter
from collector.exchanges.gateio.sim import GateioWire
from collector.exchanges.gateio.sim_market import FULL_EVERY, GateMarket
from collector.models import Book, DerivativeTicker, Error, Liquidation, Trade
from collector.simulator import Simulator
from collector.simulator.wire import RestCall, Session
from tests.e2e.helpers import Recorder, compare_books, quick_delays, wait_for

NOW = 1_700_000_000_000


def built(wire: GateioWire, symbols: list[str]) -> dict[str, GateMarket]:
    markets = {}
    for symbol in symbols:
        spec = wire.instrument(symbol, 3)
        market = wire.market(spec, 3, 40)
        assert isinstance(market, GateMarket)
        markets[wire.market_key(spec)] = market
    return markets


def control(wire: GateioWire, session: Session, markets: dict[str, GateMarket], request: dict[str, Any]) -> Any:
    return wire.on_client_text(session, json.dumps(request), markets, NOW)


def test_listings_round_trip_through_the_adapters() -> None:
    """What the wire lists, the adapters read back as the same unified symbols and contract sizes."""
    spot_wire, futures_wire = GateioWire("gateio"), GateioWire("gateio_futures")
    spot_markets = built(spot_wire, ["BTC/USDT", "ETH/USDT"])
    spot = GateioAdapter()
    answer = spot_wire.rest(RestCall("GET", "/api/v4/spot/currency_pairs", {}), spot_markets, NOW)
    assert (
        spot.answer(RestRequest("https://api.gateio.ws/api/v4/spot/currency_pairs", "instruments"), 200, answer.body, 0)
        == []
    )
    assert sorted(i.symbol for i in spot.instruments) == ["BTC/USDT", "ETH/USDT"]
    markets = built(futures_wire, ["BTC/USDT:USDT", "ETH/USDT:USDT", "BTC/USD:BTC"])
    futures = GateioFuturesAdapter()
    for settle in ("usdt", "btc"):
        path = f"/api/v4/futures/{settle}/contracts"
        answer = futures_wire.rest(RestCall("GET", path, {}), markets, NOW)
        assert futures.answer(RestRequest(f"https://api.gateio.ws{path}", "instruments"), 200, answer.body, 0) == []
    sizes = {i.symbol: (i.native, i.contract_size) for i in futures.instruments}
    assert sizes == {
        "BTC/USDT:USDT": ("BTC_USDT", 0.0001),
        "ETH/USDT:USDT": ("ETH_USDT", 0.001),
        "BTC/USD:BTC": ("BTC_USD", 1.0),
    }
    for wire, symbol in [(spot_wire, "BTC/USDT:USDT"), (futures_wire, "BTC/USDT"), (futures_wire, "ETH/USD:ETH")]:
        with pytest.raises(UnknownSymbol):
            wire.instrument(symbol, 3)


def test_routes() -> None:
    """Spot ``/ws/v4/``; perpetuals per settlement, the old path being BTC-settled."""
    spot, futures = GateioWire("gateio"), GateioWire("gateio_futures")
    assert (spot.ws_route("ws/v4/"), spot.ws_route("ws/v4"), spot.ws_route("v4/ws/usdt")) == ("", "", None)
    routes = [futures.ws_route(p) for p in ("v4/ws/usdt", "v4/ws/btc", "v4/ws", "ws/v4/")]
    assert routes == ["usdt", "btc", "btc", None]
    assert (futures.ws_path("usdt"), spot.ws_path("")) == ("/v4/ws/usdt", "/ws/v4/")


def test_subscribe_replies_refusals_and_pong() -> None:
    """Acks carry ``{"status": "success"}``; unknown pairs and bad frequencies are code 2; pings get pongs."""
    wire = GateioWire("gateio")
    markets = built(wire, ["BTC/USDT"])
    session = Session("")
    adapter = GateioAdapter()
    request = {"time": 1, "id": 5, "channel": "spot.order_book_update", "event": "subscribe"}
    done = control(wire, session, markets, request | {"payload": ["BTC_USDT", "100ms"]})
    assert done.subscribe == ["spot.order_book_update:BTC_USDT:100ms"]
    reply = json.loads(done.reply)
    assert (reply["id"], reply["event"], reply["error"], reply["result"]) == (
        5,
        "subscribe",
        None,
        {"status": "success"},
    )
    assert adapter.parse("c", done.reply, 0) == []
    refused = control(wire, session, markets, request | {"payload": ["NOPE_USDT", "100ms"]})
    assert json.loads(refused.reply)["error"] == {"code": 2, "message": "unknown currency pair: NOPE_USDT"}
    assert [e.reason for e in adapter.parse("c", refused.reply, 0) if isinstance(e, Error)] == ["rejected"]
    slow = control(wire, session, markets, request | {"payload": ["BTC_USDT", "1000ms"]})
    assert json.loads(slow.reply)["error"]["code"] == 2  # "Remove 1000ms update interval" (2024-11-28)
    pong = control(wire, session, markets, {"time": 1, "channel": "spot.ping"})
    assert json.loads(pong.reply)["channel"] == "spot.pong"
    assert adapter.parse("c", pong.reply, 0) == []
    assert dict(adapter.stats) == {"ignored.ack": 1, "error.rejected": 1, "ignored.pong": 1}
    session.streams.extend(done.subscribe)
    gone = control(wire, session, markets, request | {"event": "unsubscribe", "payload": ["BTC_USDT", "100ms"]})
    assert gone.unsubscribe == ["spot.order_book_update:BTC_USDT:100ms"]


def test_contracts_are_served_on_their_settlement_path_only() -> None:
    """``BTC_USD`` is refused on the USDT path; ``20ms`` books come with level 20 only."""
    wire = GateioWire("gateio_futures")
    markets = built(wire, ["BTC/USDT:USDT", "BTC/USD:BTC"])
    request = {"time": 1, "channel": "futures.trades", "event": "subscribe"}
    assert control(wire, Session("usdt"), markets, request | {"payload": ["BTC_USDT"]}).subscribe == [
        "usdt/futures.trades:BTC_USDT"
    ]
    refused = control(wire, Session("usdt"), markets, request | {"payload": ["BTC_USD"]})
    assert json.loads(refused.reply)["error"]["message"] == "unknown contract: BTC_USD"
    book = {"time": 1, "channel": "futures.order_book_update", "event": "subscribe"}
    assert control(wire, Session("btc"), markets, book | {"payload": ["BTC_USD", "20ms", "20"]}).subscribe
    bad = control(wire, Session("btc"), markets, book | {"payload": ["BTC_USD", "20ms", "100"]})
    assert json.loads(bad.reply)["error"]["code"] == 2


def test_rest_snapshot_id_joins_the_next_diff() -> None:
    """``with_id=true`` gives the last diff's ``u``; the next diff starts at ``id + 1``; no ``id`` without it."""
    wire = GateioWire("gateio")
    markets = built(wire, ["BTC/USDT"])
    market = markets["BTC_USDT"]
    query = {"currency_pair": "BTC_USDT", "limit": "100", "with_id": "true"}
    body = json.loads(wire.rest(RestCall("GET", "/api/v4/spot/order_book", query), markets, NOW).body)
    assert body["id"] == market.last_id
    assert len(body["bids"]) == len(market.bids)
    update = market.step(NOW + 100)
    while update.first_id is None:
        update = market.step(NOW + 100)
    assert update.first_id == body["id"] + 1
    no_id = json.loads(
        wire.rest(RestCall("GET", "/api/v4/spot/order_book", query | {"with_id": "false"}), markets, NOW).body
    )
    assert "id" not in no_id
    missing = wire.rest(RestCall("GET", "/api/v4/spot/order_book", {"currency_pair": "NOPE_USDT"}), markets, NOW)
    assert (missing.status, json.loads(missing.body)["label"]) == (400, "INVALID_CURRENCY_PAIR")
    assert wire.snapshot_path("BTC_USDT") == "/api/v4/spot/order_book?currency_pair=BTC_USDT&limit=100&with_id=true"


def test_every_so_many_book_messages_is_a_full_book() -> None:
    """The server's periodic ``full: true`` book holds the whole book and continues the ids."""
    wire = GateioWire("gateio_futures")
    markets = built(wire, ["BTC/USDT:USDT"])
    market = markets["BTC_USDT"]
    stream = "usdt/futures.order_book_update:BTC_USDT:100ms"
    kinds: list[bool] = []
    time_ms = NOW
    while len(kinds) < FULL_EVERY:
        time_ms += 100
        for message in wire.encode(market.spec, market.step(time_ms), {stream}):
            result = json.loads(message.text)["result"]
            kinds.append(bool(result.get("full")))
            assert message.book_key == "BTC_USDT"
    assert kinds.count(True) == 1 and kinds[-1] is True
    assert {float(level["p"]): float(level["s"]) for level in result["b"]} == {
        float(market.spec.price(p)): float(q) for p, q in market.bids.items()
    }
    assert result["u"] == market.last_id


@pytest.mark.timeout(60)
async def test_perpetuals_of_both_settlements_with_funding_and_liquidations() -> None:
    """Over loopback sockets: USDT and BTC paths, books equal the truth, funding and liquidations flow."""
    symbols = ["BTC/USDT:USDT", "BTC/USD:BTC"]
    markets = {"gateio_futures": symbols}
    async with Simulator(markets, seed=5, tick_interval=0.01) as sim:
        c = Collector(
            endpoints={"gateio_futures": sim.endpoints("gateio_futures")},
            queue_size=0,
            delays=quick_delays,
            plan_overrides={"idle_timeout": 30.0},
        )
        c.subscribe("gateio_futures", symbols, ["trades", "ticker", "book", "funding", "liquidations"])
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:

            def flowing() -> bool:
                return all(
                    any(e.symbol == s for e in rec.of(kind, "gateio_futures"))
                    for s in symbols
                    for kind in (Trade, DerivativeTicker, Liquidation, Book)
                )

            await wait_for(flowing, timeout=30)
            sim.pause()
            try:
                await compare_books(c, sim, markets)
            finally:
                sim.resume()
            assert rec.of(Error, "gateio_futures") == []
            funding = [e for e in rec.of(DerivativeTicker) if e.symbol == "BTC/USD:BTC"][-1]
            assert funding.open_interest is not None and funding.open_interest_value == funding.open_interest
            assert funding.next_funding_time is not None and funding.next_funding_time % 28800 == 0
            inverse_trade = next(e for e in rec.of(Trade) if e.symbol == "BTC/USD:BTC")
            assert inverse_trade.amount < 1.0  # dollars converted to bitcoin
        finally:
            await c.stop()
