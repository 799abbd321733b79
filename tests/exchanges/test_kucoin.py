"""KuCoin spot adapter: parsers on KuCoin's documented shapes, the token handshake, plans and the book rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from collector.actions import Reconnect, RestRequest
from collector.errors import UnknownSymbol, UsageError
from collector.exchanges import EXCHANGES, ConnectionPlan, Endpoints, Subscription
from collector.exchanges.kucoin import KucoinAdapter, KucoinFuturesAdapter
from collector.models import Book, Candle, Error, Resync, Ticker, Trade
from collector.symbols import Instrument

pytestmark = pytest.mark.usefixtures("both_paths")  # with the C accelerators and in pure Python

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kucoin"
T = 1700000000.5  # receipt time handed to the adapter
REST = "https://api.kucoin.com"
SYMBOLS = RestRequest(f"{REST}/api/v2/symbols", "instruments", 4)


def raw(name: str) -> str:
    return (FIXTURES / name).read_text()


def edited(name: str, **data: Any) -> str:
    """A fixture with some ``data`` fields replaced."""
    msg = json.loads(raw(name))
    msg["data"].update(data)
    return json.dumps(msg, separators=(",", ":"))


def snapshot_request(native: str = "BTC-USDT", symbol: str = "BTC/USDT") -> RestRequest:
    return RestRequest(f"{REST}/api/v1/market/orderbook/level2_100?symbol={native}", "snapshot", 2, symbol)


def level2(start: int, end: int, asks: list[list[str]] | None = None, bids: list[list[str]] | None = None) -> str:
    data = {"changes": {"asks": asks or [], "bids": bids or []}, "sequenceEnd": end, "sequenceStart": start}
    return json.dumps(
        {"topic": "/market/level2:BTC-USDT", "type": "message", "subject": "trade.l2update", "data": data}
    )


def snapshot_body(sequence: int, bids: list[list[str]], asks: list[list[str]]) -> bytes:
    data = {"time": 1729176273859, "sequence": str(sequence), "bids": bids, "asks": asks}
    return json.dumps({"code": "200000", "data": data}).encode()


@pytest.fixture
def spot() -> KucoinAdapter:
    adapter = KucoinAdapter()
    assert adapter.on_http(SYMBOLS, 200, raw("symbols.json").encode(), T) == []
    return adapter


def plan(adapter: KucoinAdapter) -> ConnectionPlan:
    (only,) = adapter.plan([Subscription("BTC/USDT", "book")])
    return only


# -- instruments --------------------------------------------------------------------------------


def test_symbols_map_both_ways(spot: KucoinAdapter) -> None:
    """``BTC-USDT`` is ``BTC/USDT`` from baseCurrency/quoteCurrency; increments give tick and step;
    a renamed pair keeps its code (GALAX-USDT named GALA-USDT); trading disabled is inactive."""
    got = {i.symbol: (i.native, i.kind, i.tick_size, i.step_size, i.active) for i in spot.instruments}
    assert got == {
        "BTC/USDT": ("BTC-USDT", "spot", 0.1, 1e-08, True),
        "ETH/USDT": ("ETH-USDT", "spot", 0.01, 1e-07, True),
        "GALAX/USDT": ("GALAX-USDT", "spot", 1e-05, 0.0001, True),
        "XLM/USDT": ("XLM-USDT", "spot", 1e-06, 0.0001, False),
    }
    assert spot.instruments.symbol_of("BTC-USDT") == "BTC/USDT"
    assert spot.instruments.by_symbol("ETH/USDT").native == "ETH-USDT"
    with pytest.raises(UnknownSymbol):
        spot.instruments.by_symbol("BTC/USDT:USDT")


def test_refused_or_unreadable_listing_is_an_error_event() -> None:
    """A listing with another code, an HTTP failure or junk is reported, never raised."""
    adapter = KucoinAdapter()
    out = adapter.answer(SYMBOLS, 200, b'{"code":"400100","msg":"Parameter error"}', T)
    assert [(e.reason, e.conn) for e in out if isinstance(e, Error)] == [("malformed", "rest")]
    assert [e.reason for e in adapter.answer(SYMBOLS, 503, b"", T) if isinstance(e, Error)] == ["http_status"]
    assert [e.reason for e in adapter.answer(SYMBOLS, 200, b"<html>", T) if isinstance(e, Error)] == ["malformed"]
    assert len(adapter.instruments) == 0


# -- the token handshake ------------------------------------------------------------------------


def test_connect_request_is_the_public_bullet(spot: KucoinAdapter) -> None:
    """Before every connect: ``POST /api/v1/bullet-public`` on the spot base URL, weight 10."""
    assert spot.connect_request(plan(spot)) == RestRequest(
        f"{REST}/api/v1/bullet-public", "token", 10, None, "kucoin.0", "POST", b""
    )


def test_connect_plan_takes_the_token_endpoint_and_ping_interval(spot: KucoinAdapter) -> None:
    """URL ``<endpoint>?token=..&connectId=..`` (a new connectId each time); pings every pingInterval ms,
    a dead link after pingTimeout ms."""
    body = raw("bullet_public.json").encode()
    token = json.loads(body)["data"]["token"]
    first = spot.connect_plan(plan(spot), 200, body)
    second = spot.connect_plan(plan(spot), 200, body)
    quoted = token.replace("=", "%3D")
    assert first.url == f"wss://ws-api-spot.kucoin.com/?token={quoted}&connectId=kucoin.0-1"
    assert second.url.endswith("&connectId=kucoin.0-2")
    assert (first.app_ping, first.app_ping_interval) == ('{"id":"ping","type":"ping"}', 18.0)
    assert (first.ping_interval, first.ping_timeout) == (18.0, 10.0)
    assert first.symbols == ["BTC/USDT"] and first.conn == "kucoin.0"


def test_connect_plan_of_an_adapter_pointed_elsewhere_keeps_its_address() -> None:
    """A simulator or proxy (``endpoints`` not the default) is connected to, with the token it issued."""
    adapter = KucoinAdapter(endpoints=Endpoints(ws="ws://127.0.0.1:9/kucoin/", rest="http://127.0.0.1:9/kucoin"))
    adapter.on_http(SYMBOLS, 200, raw("symbols.json").encode(), T)
    body = raw("bullet_public.json").encode()
    url = adapter.connect_plan(plan(adapter), 200, body).url
    assert url.startswith("ws://127.0.0.1:9/kucoin/?token=2neAiuYv") and url.endswith("&connectId=kucoin.0-1")
    assert adapter.connect_request(plan(adapter)).url == "http://127.0.0.1:9/kucoin/api/v1/bullet-public"


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (500, b"busy", "HTTP 500"),
        (200, b'{"code":"400100","msg":"Parameter error"}', "code 400100: Parameter error"),
        (200, b'{"code":"200000","data":{"token":"","instanceServers":[{"endpoint":"wss://x/"}]}}', "no token"),
        (200, b'{"code":"200000","data":{"token":"t","instanceServers":[]}}', "no websocket server"),
        (200, b'{"code":"200000","data":{"token":"t","instanceServers":[{"endpoint":"https://x/"}]}}', "no websocket"),
        (
            200,
            b'{"code":"200000","data":{"token":"t","instanceServers":[{"endpoint":"wss://x/","pingInterval":0}]}}',
            "ping interval 0 ms",
        ),
        (200, b"not json", "JSON is malformed"),
    ],
)
def test_unusable_token_answers_raise_value_error(spot: KucoinAdapter, status: int, body: bytes, why: str) -> None:
    """A refused, empty or unreadable answer raises ``ValueError``: the connect is retried with a new token."""
    with pytest.raises(ValueError, match=why):
        spot.connect_plan(plan(spot), status, body)


# -- connection plans ---------------------------------------------------------------------------


def test_plan_batches_symbols_per_topic(spot: KucoinAdapter) -> None:
    """Up to 100 symbols share a topic (``/market/level2:BTC-USDT,ETH-USDT``); candles one per topic;
    app pings, a data-idle limit and renewal before KuCoin's 24 h disconnect."""
    subs = [Subscription(s, ch) for s in ("BTC/USDT", "ETH/USDT") for ch in ("trades", "ticker", "book", "candles")]
    (p,) = spot.plan(subs)
    topics = [(m["type"], m["topic"], m["privateChannel"], m["response"]) for m in map(json.loads, p.subscribe)]
    assert topics == [
        ("subscribe", "/market/match:BTC-USDT,ETH-USDT", False, True),
        ("subscribe", "/market/ticker:BTC-USDT,ETH-USDT", False, True),
        ("subscribe", "/market/level2:BTC-USDT,ETH-USDT", False, True),
        ("subscribe", "/market/candles:BTC-USDT_1min", False, True),
        ("subscribe", "/market/candles:ETH-USDT_1min", False, True),
    ]
    assert len({json.loads(m)["id"] for m in p.subscribe}) == 5  # "The id should be an unique value"
    assert p.symbols == ["BTC/USDT", "ETH/USDT"]
    assert (p.app_ping, p.app_ping_interval, p.idle_timeout, p.max_lifetime) == (
        '{"id":"ping","type":"ping"}',
        18.0,
        60.0,
        23.5 * 3600,
    )
    assert p.control_interval == 0.125  # "100 per 10 seconds" uplink, pings included


def test_plan_keeps_within_300_topics_per_connection_and_100_per_request() -> None:
    """Each symbol of a topic counts as a topic: 250 symbols x 2 channels need two connections."""
    adapter = KucoinAdapter()
    adapter.instruments.update(
        Instrument("kucoin", f"C{n}-USDT", f"C{n}/USDT", f"C{n}", "USDT", "spot") for n in range(250)
    )
    plans = adapter.plan([Subscription(f"C{n}/USDT", ch) for n in range(250) for ch in ("trades", "book")])
    assert [len(p.symbols) for p in plans] == [150, 100]
    for p in plans:
        counts = [len(json.loads(m)["topic"].partition(":")[2].split(",")) for m in p.subscribe]
        assert max(counts) <= 100 and sum(counts) <= 300
    assert [len(json.loads(m)["topic"].split(",")) for m in plans[0].subscribe] == [100, 50, 100, 50]


def test_plan_refuses_what_kucoin_does_not_offer(spot: KucoinAdapter) -> None:
    """No 5-minute klines on the websocket, no funding on spot, no unknown symbols."""
    with pytest.raises(UsageError):
        spot.plan([Subscription("BTC/USDT", "candles", "5m")])
    with pytest.raises(UsageError):
        spot.plan([Subscription("BTC/USDT", "funding")])
    with pytest.raises(UnknownSymbol):
        spot.plan([Subscription("NOPE/USDT", "trades")])


# -- trades, tickers, candles -------------------------------------------------------------------


def test_match_is_a_taker_side_trade_with_ns_time(spot: KucoinAdapter) -> None:
    """``/market/match``: ``side`` is the taker's, ``time`` a string of nanoseconds, ``tradeId`` the id."""
    assert spot.parse("c", raw("match.json"), T) == [
        Trade("kucoin", "BTC/USDT", 1729843222.921, T, 67523.0, 0.003, "buy", "11067996711960577")
    ]


def test_match_of_2019_with_hex_trade_id(spot: KucoinAdapter) -> None:
    """Older matches: ``type`` first, padded decimals, a hex ``tradeId``."""
    assert spot.parse("c", raw("match_2019.json"), T) == [
        Trade("kucoin", "BTC/USDT", 1545913818099033203 / 1e9, T, 0.082, 0.01022222, "sell", "5c24c5da03aa673885cd67aa")
    ]


def test_routed_matches_give_the_same_trades(spot: KucoinAdapter) -> None:
    """After its first frame a topic goes through the fast path: the next frames give the same events."""
    first = spot.receive("c", raw("match.json"), T)
    again = spot.receive("c", raw("match.json"), T + 1)
    assert [msgspec.structs.replace(e, received=T) for e in again] == first
    assert spot.receive("c", edited("match.json", side="sideways"), T)[0].reason == "malformed"


def test_ticker_is_best_bid_offer_and_last(spot: KucoinAdapter) -> None:
    """``/market/ticker``: bestBid/bestAsk with sizes, ``price`` the last fill, ``time`` ms."""
    assert spot.parse("c", raw("ticker.json"), T) == [
        Ticker("kucoin", "BTC/USDT", 1729816058.766, T, 0.049, 0.036, 0.08, 0.18, 0.08)
    ]


def test_ticker_without_time_has_no_timestamp(spot: KucoinAdapter) -> None:
    """Tickers from before 2022 carry no ``time``."""
    msg = json.loads(raw("ticker.json"))
    del msg["data"]["time"]
    (ticker,) = spot.parse("c", json.dumps(msg), T)
    assert ticker.timestamp is None and ticker.bid == 0.049


def test_ticker_all_names_the_symbol_in_the_subject(spot: KucoinAdapter) -> None:
    """``/market/ticker:all`` carries every symbol; the subject says which."""
    assert spot.parse("c", raw("ticker_all.json"), T) == [
        Ticker("kucoin", "BTC/USDT", 1729757723.612, T, 67218.6, 0.01045638, 67218.7, 1.92318539, 67220.0)
    ]


def test_level1_is_a_ticker(spot: KucoinAdapter) -> None:
    """``/spotMarket/level1``: ``[price, size]`` of the best bid and ask."""
    assert spot.parse("c", raw("level1.json"), T) == [
        Ticker("kucoin", "BTC/USDT", 1729816058.766, T, 68145.7, 1.29267802, 68145.8, 0.51987471)
    ]


def test_symbol_snapshot_is_a_ticker_with_24h_statistics(spot: KucoinAdapter) -> None:
    """``/market/snapshot:{symbol}`` (every 2 s): buy/sell with sizes, last, open/high/low, vol/volValue."""
    assert spot.parse("c", raw("snapshot_symbol.json"), T) == [
        Ticker(
            "kucoin",
            "BTC/USDT",
            1729758286.011,
            T,
            67158.1,
            0.81772627,
            67158.2,
            1.15955795,
            67158.1,
            66842.9,
            67611.8,
            65257.1,
            2227.69895852,
            147972941.07857507,
        )
    ]


def test_candle_update_and_its_close(spot: KucoinAdapter) -> None:
    """``[start, open, close, high, low, volume, amount]``, ``time`` ns; the bar is emitted closed when the
    next one starts (KuCoin never marks one closed), and an update of an older bar is dropped."""
    first = Candle(
        "kucoin",
        "BTC/USDT",
        1729842192.785164840,
        T,
        "1h",
        1729839600.0,
        1729843200.0,
        67644.9,
        67724.8,
        67243.8,
        67437.6,
        44.88321441,
        None,
        False,
    )
    assert spot.parse("c", raw("candles.json"), T) == [first]
    later = json.loads(raw("candles.json"))
    later["data"]["candles"] = ["1729843200", "67437.6", "67500", "67510", "67400", "1.5", "101250"]
    later["data"]["time"] = 1729843201000000000
    assert spot.parse("c", json.dumps(later), T + 1) == [
        msgspec.structs.replace(first, received=T + 1, closed=True),
        Candle(
            "kucoin",
            "BTC/USDT",
            1729843201.0,
            T + 1,
            "1h",
            1729843200.0,
            1729846800.0,
            67437.6,
            67510.0,
            67400.0,
            67500.0,
            1.5,
            None,
            False,
        ),
    ]
    assert spot.parse("c", raw("candles.json"), T + 2) == []


# -- the order book -----------------------------------------------------------------------------


def test_documented_calibration_example(spot: KucoinAdapter) -> None:
    """KuCoin's worked example: snapshot at 16, changes 15/16 (already in it), 18 and 19 applied; the
    book ends at 19 exactly as documented (3988.61 removed, 3988.50 at 44)."""
    delta = level2(
        15,
        19,
        asks=[["3988.59", "3", "16"], ["3988.61", "0", "19"], ["3988.62", "8", "15"]],
        bids=[["3988.50", "44", "18"]],
    )
    assert spot.parse("c", delta, T) == [snapshot_request()]
    asks = [["3988.62", "8"], ["3988.61", "32"], ["3988.60", "47"], ["3988.59", "3"]]
    bids = [["3988.51", "56"], ["3988.50", "15"], ["3988.49", "100"], ["3988.48", "10"]]
    out = spot.on_http(snapshot_request(), 200, snapshot_body(16, bids, asks), T + 1)
    assert [(e.snapshot, e.sequence) for e in out if isinstance(e, Book)] == [(True, 16), (False, 19)]
    book = spot.book("BTC/USDT")
    assert book is not None and book.synced and book.sequence == 19
    assert book.asks() == {3988.59: 3.0, 3988.60: 47.0, 3988.62: 8.0}
    assert book.bids() == {3988.48: 10.0, 3988.49: 100.0, 3988.50: 44.0, 3988.51: 56.0}


def test_snapshot_fixture_and_live_deltas(spot: KucoinAdapter) -> None:
    """The REST answer (``sequence`` as text) joins; a delta straddling it applies; absolute sizes, 0 removes."""
    spot.parse("c", level2(14610502965, 14610502970, bids=[["66976.4", "0.5", "14610502966"]]), T)
    snapshot = raw("orderbook_level2_100.json").encode()
    assert spot.on_http(snapshot_request(), 200, snapshot, T) == [
        Book(
            "kucoin",
            "BTC/USDT",
            1729176273.859,
            T,
            True,
            [(66976.4, 0.69109872), (66976.3, 0.14377)],
            [(66976.5, 0.05408199), (66976.8, 0.0005)],
            14610502970,
        )
    ]
    live = level2(14610502971, 14610502972, asks=[["66976.5", "0", "14610502971"]], bids=[["66976.2", "1", "1"]])
    (event,) = spot.parse("c", live, T + 1)
    assert (event.bids, event.asks, event.sequence, event.timestamp) == (
        [(66976.2, 1.0)],
        [(66976.5, 0.0)],
        14610502972,
        None,
    )
    book = spot.book("BTC/USDT")
    assert book is not None and book.best_ask() == (66976.8, 0.0005) and book.best_bid() == (66976.4, 0.69109872)


def test_price_zero_entries_only_advance_the_sequence(spot: KucoinAdapter) -> None:
    """ "If the price is 0, ignore the messages and update the sequence"."""
    spot.parse("c", level2(11, 11), T)
    spot.on_http(snapshot_request(), 200, snapshot_body(10, [["100", "1"]], [["101", "1"]]), T)
    assert spot.parse("c", level2(11, 12, bids=[["0", "0", "12"]]), T) == []  # nothing changed: no event
    book = spot.book("BTC/USDT")
    assert book is not None and book.sequence == 12 and book.bids() == {100.0: 1.0}


def test_gap_resyncs_that_symbol_only(spot: KucoinAdapter) -> None:
    """``sequenceStart(new) <= sequenceEnd(old) + 1`` failing: that book resyncs with reason ``gap`` and a
    new snapshot request; duplicates are dropped; the other book is untouched."""
    for native, symbol in (("BTC-USDT", "BTC/USDT"), ("ETH-USDT", "ETH/USDT")):
        spot.parse("c", level2(11, 11).replace("BTC-USDT", native), T)
        body = snapshot_body(10, [["100", "1"]], [["101", "1"]])
        spot.on_http(snapshot_request(native, symbol), 200, body, T)
    assert spot.parse("c", level2(9, 11), T) == []  # already applied
    out = spot.parse("c", level2(13, 14), T)
    assert [(type(e), getattr(e, "reason", None), getattr(e, "symbol", None)) for e in out] == [
        (Resync, "gap", "BTC/USDT"),
        (RestRequest, None, "BTC/USDT"),
    ]
    assert out[0].detail == "expected U<=12, got U=13"
    eth = spot.book("ETH/USDT")
    assert eth is not None and eth.synced and eth.sequence == 11


def test_backwards_range_and_bad_levels_are_errors(spot: KucoinAdapter) -> None:
    """A range that ends before it starts, or a level that is not a price, is an error, not a book change."""
    assert [e.reason for e in spot.parse("c", level2(9, 6), T)] == ["malformed"]
    assert [e.reason for e in spot.parse("c", level2(1, 2, bids=[["NaN", "1", "2"]]), T)] == ["malformed"]
    assert spot.books.book("BTC/USDT") is None


def test_snapshot_answers_that_fail(spot: KucoinAdapter) -> None:
    """A failed or refused snapshot is an error; the next delta asks again."""
    spot.parse("c", level2(11, 11), T)
    out = spot.on_http(snapshot_request(), 200, b'{"code":"400100","msg":"symbol not exists"}', T)
    assert [e.reason for e in out if isinstance(e, Error)] == ["malformed"]
    assert spot.parse("c", level2(12, 12), T) == [snapshot_request()]
    out = spot.on_http(snapshot_request(), 429, b'{"code":"429000"}', T)
    assert [e.reason for e in out if isinstance(e, Error)] == ["http_status"]


# -- control frames, unused topics and bad frames -----------------------------------------------


@pytest.mark.parametrize("name", ["welcome.json", "ack.json", "pong.json"])
def test_control_frames_are_counted_not_data(spot: KucoinAdapter, name: str) -> None:
    """welcome, ack and pong give nothing and do not count as data for idle detection."""
    assert spot.receive("c", raw(name), T) == []
    kind = json.loads(raw(name))["type"]
    assert spot.stats[f"ignored.{kind}"] == 1
    assert "c" not in spot.data_at


def test_rejection_is_reported_and_a_refused_token_reconnects(spot: KucoinAdapter) -> None:
    """An ``error`` frame is a ``rejected`` error; code 401 (token no longer valid) also reconnects."""
    (error,) = spot.receive("c", raw("error.json"), T)
    assert (error.reason, error.detail) == ("rejected", "code 415: type is not supported (id '1')")
    out = spot.receive("c", '{"id":"kucoin.0-1","type":"error","code":401,"data":"token is not valid"}', T)
    assert [type(e) for e in out] == [Error, Reconnect]
    assert out[1] == Reconnect("c", "token refused: token is not valid")
    assert "c" not in spot.data_at


@pytest.mark.parametrize(
    "name",
    ["level2_depth5.json", "snapshot_market.json"],
)
def test_public_topics_not_used_are_counted(spot: KucoinAdapter, name: str) -> None:
    """Depth snapshots and whole-market snapshots a recorder subscribed are ignored, and counted."""
    assert spot.receive("c", raw(name), T) == []
    assert sum(v for k, v in spot.stats.items() if k.startswith("ignored.")) == 1
    assert "c" not in spot.data_at


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ('{"topic":"/market/nosuch:BTC-USDT","type":"message","data":{}}', "unknown_topic"),
        ('{"topic":"/contractMarket/level2:XBTUSDTM","type":"message","data":{}}', "unknown_topic"),
        (raw("match.json").replace("BTC-USDT", "NOPE-USDT"), "unknown_symbol"),
        ('{"type":"message","subject":"x","data":{}}', "unknown_message"),
        ('{"topic":"/market/match:BTC-USDT","type":"message","data":null}', "malformed"),
        ('{"topic":"/market/level2:BTC-USDT","type":"message","data":{"changes":', "malformed"),
        ("[1,2]", "malformed"),
        (b"\xff\xfe", "malformed"),
    ],
)
def test_frames_that_are_no_kucoin_channel_are_errors(spot: KucoinAdapter, frame: str | bytes, reason: str) -> None:
    """Unknown topics, symbols and shapes give exactly one error event each."""
    out = spot.receive("c", frame, T)
    assert [e.reason for e in out if isinstance(e, Error)] == [reason]
    assert len(out) == 1


def test_topic_read_from_the_text_is_checked_against_the_frame(spot: KucoinAdapter) -> None:
    """A frame whose first ``"topic"`` key is a nested one is routed by its own topic."""
    frame = json.dumps(
        {"data": {"topic": "/market/match:ETH-USDT", "x": 1}, "topic": "/market/ticker:BTC-USDT", "type": "message"}
    )
    assert [type(e) for e in spot.receive("c", frame, T)] == [Ticker]


# -- replay pairing and hosts ------------------------------------------------------------------


def test_match_key_pairs_recorded_variants() -> None:
    """A recorder's deprecated listing and keyed full snapshot answer this adapter's requests."""
    key = KucoinAdapter.match_key
    wanted = key(f"{REST}/api/v1/market/orderbook/level2_100?symbol=BTC-USDT")
    assert wanted == ("api.kucoin.com", "/api/v1/market/orderbook/level2_100", "BTC-USDT")
    assert key(f"{REST}/api/v3/market/orderbook/level2?symbol=BTC-USDT") == wanted
    assert key(f"{REST}/api/v1/market/orderbook/level2_20?symbol=BTC-USDT") == wanted
    assert key(f"{REST}/api/v1/symbols") == key(f"{REST}/api/v2/symbols") == ("api.kucoin.com", "/api/v2/symbols", "")
    assert key(f"{REST}/api/v1/bullet-public") == ("api.kucoin.com", "/api/v1/bullet-public", "")


def test_hosts_of_each_market() -> None:
    """Spot recognises its token answer's hosts past and present; futures hosts are the futures adapter's."""
    assert KucoinAdapter.recognizes("wss://ws-api-spot.kucoin.com/?token=x")
    assert KucoinAdapter.recognizes("wss://ws-api.kucoin.com/endpoint?token=x")
    assert KucoinAdapter.recognizes("wss://push1-v2.kucoin.com/endpoint?token=x")
    assert not KucoinAdapter.recognizes("wss://ws-api-futures.kucoin.com/?token=x")
    assert KucoinFuturesAdapter.recognizes("wss://ws-api-futures.kucoin.com/?token=x")
    assert not KucoinFuturesAdapter.recognizes("wss://ws-api-spot.kucoin.com/?token=x")


def test_registry_and_declared_facts() -> None:
    """Both ids are registered; demo symbols and limits as documented."""
    assert EXCHANGES["kucoin"] is KucoinAdapter and EXCHANGES["kucoin_futures"] is KucoinFuturesAdapter
    assert KucoinAdapter.demo_symbols == ("BTC/USDT", "ETH/USDT")
    assert KucoinFuturesAdapter.demo_symbols == ("BTC/USDT:USDT",)
    assert KucoinAdapter.connect_limit == (30, 60.0)  # "Connection Limit: 30 per minute"
    assert KucoinAdapter.book_stale_after == 120.0
