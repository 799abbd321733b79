"""The simulator's Coinone wire format, and candles, the SHORT format and the KRW premium over real sockets.

The conformance suite drives books, trades and tickers of the demo symbols; these tests
cover the rest of the protocol: the listing, the subscribe replies and refusals, the book
sent on subscribe, the SHORT format, ``CHART`` bars, and prices at the simulated premium.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from collector import Collector
from collector.actions import RestRequest
from collector.errors import UnknownSymbol, UsageError
from collector.exchanges.coinone import CoinoneAdapter
from collector.exchanges.coinone.sim import CoinoneWire
from collector.exchanges.coinone.sim_market import CoinoneMarket
from collector.models import Book, Candle, Error, Premium, Ticker, Trade
from collector.simulator import Simulator
from collector.simulator.wire import RestCall, Session
from tests.e2e.helpers import Recorder, compare_books, quick_delays, wait_for

NOW = 1_700_000_000_000
T = 1_700_000_000.5


def built(wire: CoinoneWire, symbols: list[str]) -> dict[str, CoinoneMarket]:
    markets = {}
    for symbol in symbols:
        spec = wire.instrument(symbol, 3)
        market = wire.market(spec, 3, 40)
        assert isinstance(market, CoinoneMarket)
        markets[wire.market_key(spec)] = market
    return markets


def request(kind: str, channel: str, target: str, **extra: Any) -> str:
    topic = {"quote_currency": "KRW", "target_currency": target} | extra.pop("topic", {})
    return json.dumps({"request_type": kind, "channel": channel, "topic": topic, **extra})


def loaded(wire: CoinoneWire, markets: dict[str, CoinoneMarket]) -> CoinoneAdapter:
    adapter = CoinoneAdapter()
    answer = wire.rest(RestCall("GET", "/public/v2/markets/KRW", {}), markets, NOW)
    url = "https://api.coinone.co.kr/public/v2/markets/KRW"
    assert adapter.answer(RestRequest(url, "instruments"), 200, answer.body, T) == []
    return adapter


def test_krw_prices_carry_the_premium() -> None:
    """Coins list at 1400 KRW/USD plus 2.5 %; USDT/KRW at 1400; only KRW markets exist."""
    wire = CoinoneWire()
    btc, usdt = wire.instrument("BTC/KRW", 3), wire.instrument("USDT/KRW", 3)
    # BTC starts at 60,000 USD: 60,000 * 1400 * 1.025 = 86,100,000 KRW, in 1,000 KRW ticks.
    assert (btc.native, btc.start_ticks, btc.price_decimals) == ("KRW-BTC", 86_100, 0)
    assert (usdt.native, usdt.start_ticks) == ("KRW-USDT", 1400)
    for symbol in ("BTC/USDT", "BTC/KRW:KRW", "KRW/KRW"):
        with pytest.raises(UnknownSymbol):
            wire.instrument(symbol, 3)


def test_listing_round_trips_through_the_adapter() -> None:
    """What the wire lists, the adapter reads back; other quotes list nothing; unknown paths are 404."""
    wire = CoinoneWire()
    markets = built(wire, ["BTC/KRW", "XRP/KRW"])
    adapter = loaded(wire, markets)
    assert {i.native: (i.symbol, i.tick_size) for i in adapter.instruments} == {
        "KRW-BTC": ("BTC/KRW", 1000.0),
        "KRW-XRP": ("XRP/KRW", 0.01),
    }
    empty = wire.rest(RestCall("GET", "/public/v2/markets/USDT", {}), markets, NOW)
    assert json.loads(empty.body)["markets"] == []
    assert wire.rest(RestCall("GET", "/public/v2/nope/KRW", {}), markets, NOW).status == 404
    book = json.loads(wire.rest(RestCall("GET", "/public/v2/orderbook/KRW/BTC", {"size": "5"}), markets, NOW).body)
    assert (len(book["bids"]), len(book["asks"]), book["result"]) == (5, 5, "success")
    refused = json.loads(wire.rest(RestCall("GET", "/public/v2/orderbook/KRW/BTC", {"size": "20"}), markets, NOW).body)
    assert refused["error_code"] == "107"


def test_subscribe_acknowledges_and_sends_the_book() -> None:
    """``SUBSCRIBED`` echoes the topic; ``ORDERBOOK`` brings 16 levels a side, asks worst first."""
    wire = CoinoneWire()
    markets = built(wire, ["BTC/KRW"])
    session = Session("")
    control = wire.on_client_text(session, request("SUBSCRIBE", "ORDERBOOK", "BTC"), markets, NOW)
    assert json.loads(str(control.reply)) == {
        "response_type": "SUBSCRIBED",
        "channel": "ORDERBOOK",
        "data": {"quote_currency": "KRW", "target_currency": "BTC"},
    }
    assert control.subscribe == ["DEFAULT|ORDERBOOK|KRW-BTC"]
    [frame] = control.frames
    data = json.loads(frame)["data"]
    asks = [float(a["price"]) for a in data["asks"]]
    bids = [float(b["price"]) for b in data["bids"]]
    assert len(asks) == len(bids) == 16
    assert asks == sorted(asks, reverse=True) and bids == sorted(bids, reverse=True) and bids[0] < asks[-1]
    # Subscribing again repeats the current book with the same id.
    again = wire.on_client_text(session, request("SUBSCRIBE", "ORDERBOOK", "BTC"), markets, NOW + 5000)
    assert json.loads(again.frames[0])["data"]["id"] == data["id"]


@pytest.mark.parametrize(
    ("text", "reply", "frames"),
    [
        ('{"request_type":"PING"}', {"response_type": "PONG"}, []),
        ("not json", {"response_type": "ERROR", "error_code": 160010, "message": "Invalid Request"}, []),
        (
            request("subscribe", "ORDERBOOK", "BTC"),
            {"response_type": "ERROR", "error_code": 160011, "message": "Invalid Type", "field": "request_type"},
            [],
        ),
        (
            request("SUBSCRIBE", "DEPTH", "BTC"),
            {"response_type": "ERROR", "error_code": 160011, "message": "Invalid Type", "field": "channel"},
            [],
        ),
        (
            request("SUBSCRIBE", "TRADE", "BTC", format="short"),
            {"response_type": "ERROR", "error_code": 160011, "message": "Invalid Type", "field": "format"},
            [],
        ),
        (
            request("SUBSCRIBE", "TRADE", "NOPE"),
            {
                "response_type": "SUBSCRIBED",
                "channel": "TRADE",
                "data": {"quote_currency": "KRW", "target_currency": "NOPE"},
            },
            [{"response_type": "ERROR", "error_code": 160012, "message": "Invalid Topic"}],
        ),
    ],
)
def test_replies_and_refusals(text: str, reply: dict[str, Any], frames: list[Any]) -> None:
    """PING, and what Coinone answers to malformed, lower-case, unknown and unknown-market requests."""
    wire = CoinoneWire()
    control = wire.on_client_text(Session(""), text, built(wire, ["BTC/KRW"]), NOW)
    assert json.loads(str(control.reply)) == reply
    assert [json.loads(f) for f in control.frames] == frames
    assert control.subscribe == []


def test_lower_case_topics_and_unsubscribe() -> None:
    """A lower-case topic subscribes the market; ``UNSUBSCRIBE`` is acknowledged and stops it."""
    wire = CoinoneWire()
    markets = built(wire, ["BTC/KRW"])
    lower = json.dumps(
        {"request_type": "SUBSCRIBE", "channel": "TRADE", "topic": {"quote_currency": "krw", "target_currency": "btc"}}
    )
    assert wire.on_client_text(Session(""), lower, markets, NOW).subscribe == ["DEFAULT|TRADE|KRW-BTC"]
    control = wire.on_client_text(Session(""), request("UNSUBSCRIBE", "TRADE", "BTC"), markets, NOW)
    assert json.loads(str(control.reply))["response_type"] == "UNSUBSCRIBED"
    assert control.unsubscribe == ["DEFAULT|TRADE|KRW-BTC"]


def test_encoded_frames_parse_in_both_formats_to_the_truth() -> None:
    """DEFAULT and SHORT streams of one market parse to the same events, and the book is the truth."""
    wire = CoinoneWire()
    markets = built(wire, ["BTC/KRW"])
    market = markets["KRW-BTC"]
    adapters = {fmt: loaded(wire, markets) for fmt in ("DEFAULT", "SHORT")}
    streams = {
        fmt: [f"{fmt}|{ch}|KRW-BTC" for ch in ("TRADE", "TICKER", "ORDERBOOK")] + [f"{fmt}|CHART|KRW-BTC|1m"]
        for fmt in adapters
    }
    subscribed = set(streams["DEFAULT"]) | set(streams["SHORT"])
    events: dict[str, list[Any]] = {fmt: [] for fmt in adapters}
    for n in range(300):
        update = market.step(NOW + 100 * n)
        for message in wire.encode(market.spec, update, subscribed):
            fmt = message.stream.partition("|")[0]
            events[fmt] += adapters[fmt].receive("c", message.text, T + n)
    assert events["DEFAULT"] == events["SHORT"]
    kinds = {type(e) for e in events["DEFAULT"]}
    assert kinds == {Book, Trade, Ticker, Candle}
    bids, asks, last_id = wire.true_book(market, None)
    book = adapters["SHORT"].book("BTC/KRW")
    assert book is not None and (book.bids(), book.asks(), book.sequence) == (bids, asks, last_id)
    with pytest.raises(UsageError):
        wire.true_book(market, 30)


def test_hostile_frames_are_one_error_each() -> None:
    """Every hostile frame of the wire is exactly one error event for the adapter, and nothing else."""
    wire = CoinoneWire()
    markets = built(wire, ["BTC/KRW"])
    adapter = loaded(wire, markets)
    for frame, why in wire.hostile(markets["KRW-BTC"].spec, NOW):
        out = adapter.receive("c", frame, T)
        assert [type(e) for e in out] == [Error], why


async def test_candles_and_the_short_format_over_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over loopback sockets in the SHORT format: bars form and close, books equal the truth."""
    markets = {"coinone": ["BTC/KRW", "USDT/KRW"]}
    async with Simulator(markets, seed=4, tick_interval=0.01) as sim:
        c = Collector(
            endpoints={"coinone": sim.endpoints("coinone")},
            queue_size=0,
            delays=quick_delays,
            plan_overrides={"idle_timeout": 30.0},
        )
        c.subscribe("coinone", markets["coinone"], ["trades", "ticker", "book", "candles"])
        rec = Recorder()
        c.on(rec)
        monkeypatch.setattr(CoinoneAdapter, "wire_format", "SHORT")  # the subscription format, a class setting
        await c.start()
        adapter = c.adapter("coinone")
        try:
            await wait_for(
                lambda: len(rec.of(Candle, "coinone")) > 20 and len(rec.of(Trade, "coinone")) > 20, timeout=20
            )
            sim.pause()
            try:
                await compare_books(c, sim, markets)
            finally:
                sim.resume()
            assert rec.of(Error, "coinone") == []
            assert adapter.stats["ignored.ack"] == 8
        finally:
            await c.stop()


async def test_the_krw_premium_reads_coinone_books() -> None:
    """``premium`` over Coinone's BTC/KRW and USDT/KRW against Binance's BTC/USDT: about the simulated 2.5 %."""
    markets = {"coinone": ["BTC/KRW", "USDT/KRW"], "binance": ["BTC/USDT"]}
    async with Simulator(markets, seed=4, tick_interval=0.02) as sim:
        c = Collector(
            endpoints={ex: sim.endpoints(ex) for ex in markets},
            queue_size=0,
            delays=quick_delays,
            plan_overrides={"idle_timeout": 30.0},
        )
        monitor = c.premium(["BTC"], ["coinone"], ["binance"], min_interval=0.0)
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            await wait_for(lambda: rec.of(Premium, "coinone"), timeout=20)
            premium = monitor.latest("BTC", "coinone", "binance")
            assert premium is not None and premium.fx_source == "coinone:USDT/KRW"
            assert 0.015 < premium.premium < 0.035, premium
        finally:
            await c.stop()
