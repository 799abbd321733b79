"""Upbit adapter: DEFAULT and SIMPLE parsers from the fact sheet's shapes, snapshot books, plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from collector.actions import RestRequest
from collector.errors import UnknownChannel, UnknownSymbol
from collector.exchanges import EXCHANGES, Subscription
from collector.exchanges.upbit import UpbitAdapter
from collector.models import Book, Error, Ticker, Trade

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "upbit"
T = 1700000000.5
CONN = "upbit.0"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def edited(name: str, **fields: Any) -> bytes:
    msg = json.loads(raw(name))
    msg.update(fields)
    return orjson.dumps(msg)


@pytest.fixture
def upbit() -> UpbitAdapter:
    adapter = UpbitAdapter()
    request = adapter.instrument_requests()[0]
    assert request == RestRequest("https://api.upbit.com/v1/market/all?is_details=true", "instruments")
    assert adapter.on_http(request, 200, raw("market_all.json"), T) == []
    return adapter


def test_market_codes_are_quote_base(upbit: UpbitAdapter) -> None:
    """``KRW-BTC`` is ``BTC/KRW``: the code is "{Quote}-{Base}"."""
    assert {inst.native: inst.symbol for inst in upbit.instruments} == {
        "KRW-BTC": "BTC/KRW",
        "BTC-ETH": "ETH/BTC",
        "USDT-BTC": "BTC/USDT",
    }


def test_trade_default_format(upbit: UpbitAdapter) -> None:
    """``ask_bid: BID`` is a buyer taking the ask; ``sequential_id`` is the id."""
    assert upbit.parse(CONN, raw("trade_default.json"), T) == [
        Trade("upbit", "BTC/KRW", 1730336862.0, T, 100473000.0, 0.00014208, "buy", "17303368620000000")
    ]


def test_trade_simple_format(upbit: UpbitAdapter) -> None:
    """The SIMPLE keys (``tp``, ``tv``, ``ab``, ``sid``) read the same; exponent numbers too."""
    assert upbit.parse(CONN, raw("trade_simple.json"), T) == [
        Trade("upbit", "ETH/BTC", 1730336863.0, T, 0.03781, 11.6539, "sell", "17303368630000001")
    ]


def test_trade_seen_before_is_dropped(upbit: UpbitAdapter) -> None:
    """The SNAPSHOT trade re-sent after a resubscription is not reported twice."""
    upbit.parse(CONN, raw("trade_default.json"), T)
    assert upbit.parse(CONN, edited("trade_default.json", stream_type="SNAPSHOT"), T + 1) == []
    assert upbit.stats["ignored.duplicate_trade"] == 1


def test_ticker_default_format_without_book(upbit: UpbitAdapter) -> None:
    """The ticker has no best bid/offer of its own; 24 h volumes are the rolling ones."""
    assert upbit.parse(CONN, raw("ticker_default.json"), T) == [
        Ticker(
            "upbit",
            "BTC/KRW",
            1730336862.082,
            T,
            None,
            None,
            None,
            None,
            last=100473000.0,
            open=100571000.0,
            high=101000000.0,
            low=100100000.0,
            volume=2412.36041563,
            quote_volume=242541262001.32,
        )
    ]


def test_ticker_simple_format_takes_bbo_from_the_book(upbit: UpbitAdapter) -> None:
    """With the book subscribed, the ticker carries the maintained book's best levels."""
    upbit.parse(
        CONN,
        edited("orderbook_simple.json", cd="USDT-BTC", obu=[{"ap": 71951.0, "bp": 71950.0, "as": 0.5, "bs": 0.25}]),
        T,
    )
    assert upbit.parse(CONN, raw("ticker_simple.json"), T + 1) == [
        Ticker(
            "upbit",
            "BTC/USDT",
            1730336862.1,
            T + 1,
            71950.0,
            0.25,
            71951.0,
            0.5,
            last=71950.25,
            open=71000.5,
            high=72100.0,
            low=70880.1,
            volume=20.75,
            quote_volume=1487000.2,
        )
    ]


def test_orderbook_default_format_is_a_snapshot(upbit: UpbitAdapter) -> None:
    """Each orderbook message is a full snapshot; price-0 padding is not a level."""
    assert upbit.parse(CONN, raw("orderbook_default.json"), T) == [
        Book(
            "upbit",
            "BTC/KRW",
            1746601573.804,
            T,
            True,
            [(137001000.0, 0.036), (137000000.0, 0.5)],
            [(137002000.0, 0.106), (137010000.0, 0.29), (137020000.0, 0.5)],
            None,
        )
    ]
    book = upbit.book("BTC/KRW")
    assert book is not None
    assert book.bids() == {137001000.0: 0.036, 137000000.0: 0.5}
    assert book.asks() == {137002000.0: 0.106, 137010000.0: 0.29, 137020000.0: 0.5}


def test_orderbook_simple_format_replaces_the_book(upbit: UpbitAdapter) -> None:
    """A second snapshot replaces the first wholesale: levels it lacks are gone."""
    assert upbit.parse(CONN, raw("orderbook_simple.json"), T) == [
        Book(
            "upbit",
            "ETH/BTC",
            1746601574.0,
            T,
            True,
            [(0.03781, 2.25), (0.0378, 2.0)],
            [(0.03782, 1.5), (0.03783, 2.0)],
            None,
        )
    ]
    upbit.parse(
        CONN,
        edited("orderbook_simple.json", tms=1746601575000, obu=[{"ap": 0.0379, "bp": 0.0377, "as": 1.0, "bs": 3.0}]),
        T + 1,
    )
    book = upbit.book("ETH/BTC")
    assert book is not None
    assert (book.bids(), book.asks(), book.timestamp) == ({0.0377: 3.0}, {0.0379: 1.0}, 1746601575.0)


def test_older_orderbook_is_dropped(upbit: UpbitAdapter) -> None:
    """A snapshot older than the one applied is stale and changes nothing."""
    upbit.parse(CONN, raw("orderbook_simple.json"), T)
    assert upbit.parse(CONN, edited("orderbook_simple.json", tms=1746601573999, obu=[]), T + 1) == []
    assert upbit.books.stats["stale_snapshot"] == 1
    book = upbit.book("ETH/BTC")
    assert book is not None
    assert book.best_bid() == (0.03781, 2.25)


def test_status_error_and_unsupported_types(upbit: UpbitAdapter) -> None:
    """``{"status":"UP"}`` and unused types are counted; an error message is an error event."""
    assert upbit.parse(CONN, raw("status_up.json"), T) == []
    assert upbit.parse(CONN, b'{"ty":"myOrder","cd":"KRW-BTC"}', T) == []
    (unknown,) = upbit.parse(CONN, b'{"ty":"noSuchType","cd":"KRW-BTC"}', T)
    assert isinstance(unknown, Error) and unknown.reason == "unknown_type"
    assert upbit.parse(CONN, raw("error.json"), T) == [
        Error("upbit", None, None, T, CONN, "rejected", "WRONG_FORMAT: 요청 형식이 올바르지 않습니다.")
    ]
    assert dict(upbit.stats) == {
        "ignored.status": 1,
        "ignored.myOrder": 1,
        "error.unknown_type": 1,
        "error.rejected": 1,
    }


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\x00\x01binary junk", "malformed"),
        (raw("trade_simple.json")[:40], "malformed"),
        (raw("trade_simple.json") + b"[]", "malformed"),
        (b'{"ty":"trade","cd":"KRW-BTC","tp":"x"}', "malformed"),
        (edited("trade_simple.json", ab="NONE"), "malformed"),
        (edited("trade_simple.json", cd="KRW-NOPE"), "unknown_symbol"),
        (b'{"hello":1}', "unknown_message"),
    ],
)
def test_bad_frames_become_error_events(upbit: UpbitAdapter, frame: bytes, reason: str) -> None:
    """Nothing raises: each bad frame is one ``error`` event and one counter."""
    out = upbit.parse(CONN, frame, T)
    assert [e.reason for e in out if isinstance(e, Error)] == [reason]
    assert upbit.stats["error." + reason] == 1


def test_depth_suffix_on_a_code_is_stripped(upbit: UpbitAdapter) -> None:
    """A code carrying the ``.N`` depth suffix still maps to its market."""
    out = upbit.parse(CONN, edited("orderbook_simple.json", cd="BTC-ETH.15"), T)
    assert [e.symbol for e in out] == ["ETH/BTC"]


def test_plan_is_one_request_with_every_code(upbit: UpbitAdapter) -> None:
    """All types and codes go in one request; protocol pings keep the socket alive; no Origin."""
    subs = [
        Subscription("BTC/KRW", "trades"),
        Subscription("ETH/BTC", "trades"),
        Subscription("BTC/KRW", "book"),
        Subscription("BTC/USDT", "book"),
        Subscription("BTC/USDT", "ticker"),
    ]
    (plan,) = upbit.plan(subs)
    assert plan.conn == "upbit.0"
    assert plan.url == "wss://api.upbit.com/websocket/v1"
    assert [json.loads(f) for f in plan.subscribe] == [
        [
            {"ticket": "collector-upbit"},
            {"type": "trade", "codes": ["KRW-BTC", "BTC-ETH"]},
            {"type": "orderbook", "codes": ["KRW-BTC", "USDT-BTC"]},
            {"type": "ticker", "codes": ["USDT-BTC"]},
            {"format": "SIMPLE"},
        ]
    ]
    assert (plan.ping_interval, plan.app_ping, plan.control_interval, plan.headers) == (30.0, None, 0.2, {})
    assert plan.symbols == ["BTC/KRW", "BTC/USDT"]
    assert upbit.plan([]) == []


def test_plan_default_format_and_depth_suffix() -> None:
    """Subclass attributes choose DEFAULT keys and a 15-level book (``CODE.15``)."""

    class Default15(UpbitAdapter):
        wire_format = "DEFAULT"
        book_levels = 15

    adapter = Default15()
    adapter.load_instruments(adapter.instrument_requests()[0], raw("market_all.json"))
    (plan,) = adapter.plan([Subscription("BTC/KRW", "book")])
    assert json.loads(plan.subscribe[0])[1:] == [{"type": "orderbook", "codes": ["KRW-BTC.15"]}, {"format": "DEFAULT"}]


def test_plan_rejects_what_upbit_does_not_offer(upbit: UpbitAdapter) -> None:
    """Candles are not subscribed here; unknown symbols fail at plan time."""
    with pytest.raises(UnknownChannel):
        upbit.plan([Subscription("BTC/KRW", "candles")])
    with pytest.raises(UnknownSymbol):
        upbit.plan([Subscription("BTC/EUR", "trades")])


def test_registry_and_recognized_hosts() -> None:
    """``upbit`` is registered and claims Upbit's Korean and global hosts."""
    assert EXCHANGES["upbit"] is UpbitAdapter
    assert UpbitAdapter.recognizes("wss://api.upbit.com/websocket/v1")
    assert UpbitAdapter.recognizes("wss://sg-api.upbit.com/websocket/v1")
    assert not UpbitAdapter.recognizes("wss://stream.bybit.com/v5/public/spot")
