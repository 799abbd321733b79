"""The simulator's Korbit wire format, and the KRW premium over real sockets.

The conformance suite drives books, trades and tickers of the demo symbols; these tests
cover the rest of the protocol: the listing, request arrays with their acknowledgements
and refusals, the snapshots sent on subscribe, realtime frames, and premium prices.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from collector import Collector
from collector.actions import RestRequest
from collector.errors import UnknownSymbol, UsageError
from collector.exchanges.korbit import KorbitAdapter
from collector.exchanges.korbit.sim import KorbitWire
from collector.exchanges.korbit.sim_market import KorbitMarket
from collector.models import Book, Error, Premium, Ticker, Trade
from collector.simulator import Simulator
from collector.simulator.wire import RestCall, Session
from tests.e2e.helpers import Recorder, quick_delays, wait_for

NOW = 1_700_000_000_000
T = 1_700_000_000.5


def built(wire: KorbitWire, symbols: list[str]) -> dict[str, KorbitMarket]:
    markets = {}
    for symbol in symbols:
        spec = wire.instrument(symbol, 3)
        market = wire.market(spec, 3, 40)
        assert isinstance(market, KorbitMarket)
        markets[wire.market_key(spec)] = market
    return markets


def loaded(wire: KorbitWire, markets: dict[str, KorbitMarket]) -> KorbitAdapter:
    adapter = KorbitAdapter()
    answer = wire.rest(RestCall("GET", "/v2/currencyPairs", {}), markets, NOW)
    request = RestRequest("https://api.korbit.co.kr/v2/currencyPairs", "instruments")
    assert adapter.answer(request, 200, answer.body, T) == []
    return adapter


def items(*requests: dict[str, Any]) -> str:
    return json.dumps(list(requests))


def test_pairs_are_lower_case_krw_at_the_premium() -> None:
    """``btc_krw`` at 1400 KRW/USD plus 2.5 % in 1,000 KRW ticks; ``usdt_krw`` at 1400; only KRW pairs."""
    wire = KorbitWire()
    btc, usdt, xrp = (wire.instrument(s, 3) for s in ("BTC/KRW", "USDT/KRW", "XRP/KRW"))
    assert (btc.native, btc.start_ticks, usdt.native, usdt.start_ticks) == ("btc_krw", 86_100, "usdt_krw", 1400)
    assert (xrp.native, xrp.price_decimals) == ("xrp_krw", 1)  # 861 KRW: 0.1 KRW ticks
    with pytest.raises(UnknownSymbol):
        wire.instrument("BTC/USDT", 3)


def test_listing_round_trips_through_the_adapter() -> None:
    """``/v2/currencyPairs`` is read back as the same symbols; REST books and 404s have Korbit's shape."""
    wire = KorbitWire()
    markets = built(wire, ["BTC/KRW", "USDT/KRW"])
    adapter = loaded(wire, markets)
    assert {i.native: i.symbol for i in adapter.instruments} == {"btc_krw": "BTC/KRW", "usdt_krw": "USDT/KRW"}
    book = json.loads(wire.rest(RestCall("GET", "/v2/orderbook", {"symbol": "btc_krw"}), markets, NOW).body)
    assert book["success"] and len(book["data"]["bids"]) == len(book["data"]["asks"]) == 30
    wrong = wire.rest(RestCall("GET", "/v2/orderbook", {"symbol": "BTC_KRW"}), markets, NOW)
    assert (wrong.status, json.loads(wrong.body)["error"]["message"]) == (400, "INVALID_CURRENCY_PAIR")
    assert wire.rest(RestCall("GET", "/v2/nope", {}), markets, NOW).status == 404


def test_subscribe_acknowledges_and_sends_snapshots() -> None:
    """A request with ``requestId`` is acknowledged; each stream's snapshot follows (``"snapshot":true``)."""
    wire = KorbitWire()
    markets = built(wire, ["BTC/KRW"])
    market = markets["btc_krw"]
    market.step(NOW - 1000)
    while market.last_fill is None:
        market.step(NOW)
    text = items(
        {"requestId": 1, "method": "subscribe", "type": "orderbook", "symbols": ["btc_krw"]},
        {"method": "subscribe", "type": "trade", "symbols": ["btc_krw"]},
    )
    control = wire.on_client_text(Session(""), text, markets, NOW)
    assert json.loads(str(control.reply)) == {"status": "success", "requestId": 1}
    assert control.subscribe == ["orderbook|btc_krw", "trade|btc_krw"]
    book, trade = (json.loads(f) for f in control.frames)
    assert list(book) == ["symbol", "timestamp", "type", "snapshot", "data"]
    assert (book["type"], book["snapshot"], len(book["data"]["bids"]), len(book["data"]["asks"])) == (
        "orderbook",
        True,
        30,
        30,
    )
    assert trade["type"] == "trade" and trade["data"][0]["tradeId"] == market.last_fill.last_id


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("not json", {"status": "fail", "message": "invalid_format"}),
        (
            '{"method":"subscribe","type":"ticker","symbols":["btc_krw"]}',
            {"status": "fail", "message": "invalid_format"},
        ),
        (
            items({"requestId": 2, "method": "subscribe", "type": "orderbook", "symbols": ["nope_krw"]}),
            {
                "status": "fail",
                "code": "INVALID_SYMBOL",
                "message": "The symbol does not exist (nope_krw)",
                "requestId": 2,
            },
        ),
        (
            items({"method": "subscribe", "type": "orderbook", "symbols": ["BTC_KRW"]}),
            {"status": "fail", "code": "INVALID_SYMBOL", "message": "The symbol does not exist (BTC_KRW)"},
        ),
        (
            items({"requestId": 4, "method": "subscribe", "type": "nope", "symbols": ["btc_krw"]}),
            {"status": "fail", "code": "INVALID_REQUEST", "message": "unknown_type", "requestId": 4},
        ),
    ],
)
def test_refusals(text: str, reply: dict[str, Any]) -> None:
    """Not an array, unknown (or upper-case) symbols and unknown types are refused, as Korbit does."""
    wire = KorbitWire()
    control = wire.on_client_text(Session(""), text, built(wire, ["BTC/KRW"]), NOW)
    assert json.loads(str(control.reply)) == reply
    assert control.subscribe == [] and control.frames == []


def test_unsubscribe_is_acknowledged() -> None:
    """``unsubscribe`` stops the stream; without a ``requestId`` success is silent."""
    wire = KorbitWire()
    markets = built(wire, ["BTC/KRW"])
    text = items({"method": "unsubscribe", "type": "orderbook", "symbols": ["btc_krw"]})
    control = wire.on_client_text(Session(""), text, markets, NOW)
    assert (control.reply, control.unsubscribe, control.frames) == (None, ["orderbook|btc_krw"], [])


def test_encoded_frames_parse_to_the_truth() -> None:
    """Realtime frames omit ``snapshot``; parsed, they hold the true book; trade ids never repeat."""
    wire = KorbitWire()
    markets = built(wire, ["BTC/KRW"])
    market = markets["btc_krw"]
    adapter = loaded(wire, markets)
    subscribed = {"orderbook|btc_krw", "trade|btc_krw", "ticker|btc_krw"}
    events: list[Any] = []
    for n in range(300):
        for message in wire.encode(market.spec, market.step(NOW + 100 * n), subscribed):
            assert '"snapshot"' not in str(message.text)
            events += adapter.receive("c", message.text, T + n)
    assert {type(e) for e in events} == {Book, Trade, Ticker}
    ids = [e.id for e in events if isinstance(e, Trade)]
    assert len(ids) == len(set(ids)) and [int(i) for i in ids] == sorted(int(i) for i in ids)
    bids, asks, last_id = wire.true_book(market, None)
    book = adapter.book("BTC/KRW")
    assert book is not None and (book.bids(), book.asks(), last_id) == (bids, asks, None)
    with pytest.raises(UsageError):
        wire.true_book(market, 16)


def test_hostile_frames_are_one_error_each() -> None:
    """Every hostile frame of the wire is exactly one error event for the adapter, and nothing else."""
    wire = KorbitWire()
    markets = built(wire, ["BTC/KRW"])
    adapter = loaded(wire, markets)
    for frame, why in wire.hostile(markets["btc_krw"].spec, NOW):
        assert [type(e) for e in adapter.receive("c", frame, T)] == [Error], why


async def test_the_krw_premium_reads_korbit_books() -> None:
    """``premium`` over Korbit's BTC/KRW and USDT/KRW against Binance's BTC/USDT: about the simulated 2.5 %."""
    markets = {"korbit": ["BTC/KRW", "USDT/KRW"], "binance": ["BTC/USDT"]}
    async with Simulator(markets, seed=4, tick_interval=0.02) as sim:
        c = Collector(
            endpoints={ex: sim.endpoints(ex) for ex in markets},
            queue_size=0,
            delays=quick_delays,
            plan_overrides={"idle_timeout": 30.0},
        )
        monitor = c.premium(["BTC"], ["korbit"], ["binance"], min_interval=0.0)
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            await wait_for(lambda: rec.of(Premium, "korbit"), timeout=20)
            premium = monitor.latest("BTC", "korbit", "binance")
            assert premium is not None and premium.fx_source == "korbit:USDT/KRW"
            assert 0.015 < premium.premium < 0.035, premium
            assert rec.of(Error, "korbit") == []
        finally:
            await c.stop()
