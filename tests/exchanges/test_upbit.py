"""Upbit adapter: DEFAULT and SIMPLE parsers from the documented shapes, snapshot books, grouped books,
candles, the fast path, plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from collector import fastpath, speedups
from collector.actions import RestRequest
from collector.errors import UnknownChannel, UnknownSymbol, UsageError
from collector.exchanges import EXCHANGES, ConnectionPlan, Subscription
from collector.exchanges.upbit import UpbitAdapter
from collector.models import Book, Candle, Error, Resync, Ticker, Trade

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "upbit"
T = 1700000000.5
CONN = "upbit.0"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def edited(name: str, **fields: Any) -> bytes:
    msg = json.loads(raw(name))
    msg.update(fields)
    return orjson.dumps(msg)


def loaded(cls: type[UpbitAdapter] = UpbitAdapter) -> UpbitAdapter:
    adapter = cls()
    request = adapter.instrument_requests()[0]
    assert request == RestRequest("https://api.upbit.com/v1/market/all?is_details=true", "instruments")
    assert adapter.on_http(request, 200, raw("market_all.json"), T) == []
    return adapter


@pytest.fixture
def upbit() -> UpbitAdapter:
    return loaded()


# -- instruments --------------------------------------------------------------------------------


def test_market_codes_are_quote_base(upbit: UpbitAdapter) -> None:
    """``KRW-BTC`` is ``BTC/KRW``: the code is "{Quote}-{Base}"; both ways."""
    assert {inst.native: inst.symbol for inst in upbit.instruments} == {
        "KRW-BTC": "BTC/KRW",
        "BTC-ETH": "ETH/BTC",
        "USDT-BTC": "BTC/USDT",
    }
    inst = upbit.instruments.by_symbol("BTC/USDT")
    assert (inst.native, inst.base, inst.quote, inst.kind, inst.contract_size) == (
        "USDT-BTC",
        "BTC",
        "USDT",
        "spot",
        1.0,
    )
    assert upbit.instruments.symbol_of("BTC-ETH") == "ETH/BTC"


def test_a_failed_listing_is_an_error_event(upbit: UpbitAdapter) -> None:
    """A listing that is not a list of markets is reported, not raised."""
    request = upbit.instrument_requests()[0]
    (err,) = upbit.on_http(request, 200, b'{"error":{"name":"x"}}', T)
    assert isinstance(err, Error) and err.reason == "malformed"
    (err,) = upbit.on_http(request, 429, b"", T)
    assert isinstance(err, Error) and err.reason == "http_status"


# -- trades and tickers -------------------------------------------------------------------------


def test_trade_default_format(upbit: UpbitAdapter) -> None:
    """``ask_bid: BID`` is a buyer taking the ask; ``sequential_id`` is the id; times are ``trade_timestamp``."""
    assert upbit.parse(CONN, raw("trade_default.json"), T) == [
        Trade("upbit", "BTC/KRW", 1730336862.0, T, 100473000.0, 0.00014208, "buy", "17303368620000000")
    ]


def test_trade_simple_format(upbit: UpbitAdapter) -> None:
    """The SIMPLE keys (``tp``, ``tv``, ``ab``, ``sid``) read the same; exponent numbers too."""
    assert upbit.parse(CONN, raw("trade_simple.json"), T) == [
        Trade("upbit", "ETH/BTC", 1730336863.0, T, 0.03781, 11.6539, "sell", "17303368630000001")
    ]


def test_a_market_first_snapshot_trade_is_reported_once(upbit: UpbitAdapter) -> None:
    """The SNAPSHOT trade is the last one before a subscription: the first of a market is reported;
    a resubscription's "can be one you already processed", so it is counted, not reported."""
    (first,) = upbit.parse(CONN, edited("trade_default.json", stream_type="SNAPSHOT"), T)
    assert first == Trade("upbit", "BTC/KRW", 1730336862.0, T, 100473000.0, 0.00014208, "buy", "17303368620000000")
    (other_market,) = upbit.parse(CONN, edited("trade_simple.json", st="SNAPSHOT"), T)
    assert isinstance(other_market, Trade) and other_market.symbol == "ETH/BTC"
    assert upbit.parse(CONN, edited("trade_default.json", stream_type="SNAPSHOT"), T + 1) == []
    assert upbit.parse(CONN, edited("trade_simple.json", st="SNAPSHOT"), T + 1) == []
    assert upbit.stats["ignored.snapshot_trade"] == 2


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


# -- books --------------------------------------------------------------------------------------


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


def test_grouped_orderbook_is_another_book(upbit: UpbitAdapter) -> None:
    """``level`` 10000 is the book grouped by 10,000 KRW: kept as ``BTC/KRW@10000``, the plain book untouched."""
    upbit.parse(CONN, raw("orderbook_default.json"), T)
    assert upbit.parse(CONN, raw("orderbook_grouped.json"), T + 1) == [
        Book(
            "upbit",
            "BTC/KRW@10000",
            1746601573.804,
            T + 1,
            True,
            [(137000000.0, 2.0), (136990000.0, 1.25)],
            [(137010000.0, 1.25), (137020000.0, 1.25)],
            None,
        )
    ]
    plain = upbit.book("BTC/KRW")
    assert plain is not None and plain.best_bid() == (137001000.0, 0.036)
    grouped = upbit.book("BTC/KRW@10000")
    assert grouped is not None and grouped.best_ask() == (137010000.0, 1.25)


def test_level_zero_and_a_missing_level_are_the_plain_book(upbit: UpbitAdapter) -> None:
    """Captures made before grouping existed carry no ``lv``; ``0`` is "기본 단위"; both feed the plain book."""
    msg = json.loads(raw("orderbook_simple.json"))
    del msg["lv"]
    assert [e.symbol for e in upbit.parse(CONN, orjson.dumps(msg), T)] == ["ETH/BTC"]
    assert [e.symbol for e in upbit.parse(CONN, edited("orderbook_grouped.json", level=0), T)] == ["BTC/KRW"]


def test_a_level_that_is_no_grouping_unit_is_an_error(upbit: UpbitAdapter) -> None:
    """Only the documented units (0, 0.0000001 ... 100000000) are books; anything else is reported."""
    (err,) = upbit.parse(CONN, edited("orderbook_grouped.json", level=3), T)
    assert isinstance(err, Error) and (err.reason, err.symbol) == ("malformed", "BTC/KRW")
    assert upbit.books.symbols() == []


def test_crossed_snapshot_resyncs_that_book_only(upbit: UpbitAdapter) -> None:
    """A snapshot whose best bid reaches the best ask is not a book: that one symbol resyncs, with the reason."""
    upbit.parse(CONN, raw("orderbook_simple.json"), T)
    crossed = edited(
        "orderbook_default.json", orderbook_units=[{"ask_price": 1e8, "bid_price": 2e8, "ask_size": 1, "bid_size": 1}]
    )
    (resync,) = upbit.parse(CONN, crossed, T + 1)
    assert isinstance(resync, Resync) and (resync.symbol, resync.reason) == ("BTC/KRW", "crossed")
    eth = upbit.book("ETH/BTC")
    assert eth is not None and eth.synced
    # The next whole book restores it; no request is needed.
    assert [type(e) for e in upbit.parse(CONN, edited("orderbook_default.json", timestamp=1746601573805), T + 2)] == [
        Book
    ]


def test_silent_book_goes_stale(upbit: UpbitAdapter) -> None:
    """Two minutes without an orderbook message resyncs the book as ``stale``; the next message restores it."""
    upbit.parse(CONN, raw("orderbook_simple.json"), T)
    assert upbit.check(T + 100.0) == []
    (resync,) = upbit.check(T + upbit.book_stale_after + 1.0)
    assert isinstance(resync, Resync) and (resync.symbol, resync.reason) == ("ETH/BTC", "stale")


def test_disconnect_resets_the_books_it_carried(upbit: UpbitAdapter) -> None:
    """The books a connection carried resync as ``reconnect``, grouped ones included."""
    plan = ConnectionPlan(CONN, "wss://api.upbit.com/websocket/v1", symbols=["BTC/KRW", "BTC/KRW@10000"])
    upbit.connected(plan, T)
    upbit.parse(CONN, raw("orderbook_default.json"), T)
    upbit.parse(CONN, raw("orderbook_grouped.json"), T)
    out = upbit.disconnected(CONN, "closed", T + 1)
    assert [(e.symbol, e.reason) for e in out if isinstance(e, Resync)] == [
        ("BTC/KRW", "reconnect"),
        ("BTC/KRW@10000", "reconnect"),
    ]


def test_depth_suffix_on_a_code_is_stripped(upbit: UpbitAdapter) -> None:
    """A code carrying the ``.N`` depth suffix still maps to its market."""
    out = upbit.parse(CONN, edited("orderbook_simple.json", cd="BTC-ETH.15"), T)
    assert [e.symbol for e in out] == ["ETH/BTC"]


# -- candles ------------------------------------------------------------------------------------


def test_candle_default_format(upbit: UpbitAdapter) -> None:
    """``candle.1s``: the bar from ``candle_date_time_utc`` (UTC), still forming; volume in base units."""
    assert upbit.parse(CONN, raw("candle_default.json"), T) == [
        Candle(
            "upbit",
            "BTC/KRW",
            1735792085.824,
            T,
            "1s",
            1735792085.0,
            1735792086.0,
            142009000.0,
            142009000.0,
            142009000.0,
            142009000.0,
            0.00606119,
            None,
            False,
        )
    ]


def test_candle_simple_format_and_60m_is_1h(upbit: UpbitAdapter) -> None:
    """``candle.60m`` in SIMPLE keys (``cdttmu``, ``op``, ``catv``) is the ``1h`` bar."""
    assert upbit.parse(CONN, raw("candle_simple.json"), T) == [
        Candle(
            "upbit",
            "BTC/KRW",
            1735792085.824,
            T,
            "1h",
            1735790400.0,
            1735794000.0,
            141500000.0,
            142100000.0,
            141400000.0,
            142009000.0,
            31.27450615,
            None,
            False,
        )
    ]


def test_next_bar_closes_the_previous_one(upbit: UpbitAdapter) -> None:
    """The same bar again is an update; a later bar reports the last state of the previous one as closed;
    a bar older than the one held is ignored ("the last one received is the latest")."""
    upbit.parse(CONN, raw("candle_default.json"), T)
    (update,) = upbit.parse(
        CONN, edited("candle_default.json", trade_price=142010000.0, high_price=142010000.0), T + 0.5
    )
    assert isinstance(update, Candle) and (update.close, update.closed) == (142010000.0, False)
    nxt = edited("candle_default.json", candle_date_time_utc="2025-01-02T04:28:06", timestamp=1735792086900)
    closed, forming = upbit.parse(CONN, nxt, T + 1)
    assert isinstance(closed, Candle) and isinstance(forming, Candle)
    assert (closed.start, closed.close, closed.high, closed.closed, closed.received) == (
        1735792085.0,
        142010000.0,
        142010000.0,
        True,
        T + 1,
    )
    assert (forming.start, forming.closed) == (1735792086.0, False)
    assert upbit.parse(CONN, raw("candle_default.json"), T + 2) == []
    assert upbit.stats["ignored.old_candle"] == 1


def test_disconnect_forgets_forming_bars(upbit: UpbitAdapter) -> None:
    """Bars held when the connection drops are not closed later with updates missing."""
    upbit.connected(ConnectionPlan(CONN, "wss://api.upbit.com/websocket/v1"), T)
    upbit.parse(CONN, raw("candle_default.json"), T)
    upbit.disconnected(CONN, "closed", T + 1)
    nxt = edited("candle_default.json", candle_date_time_utc="2025-01-02T04:28:09")
    assert [c.closed for c in upbit.parse(CONN, nxt, T + 2) if isinstance(c, Candle)] == [False]


def test_candle_units_not_mapped_are_counted(upbit: UpbitAdapter) -> None:
    """A candle unit of Upbit's that has no unified interval is a public channel: counted, no error."""
    assert upbit.parse(CONN, edited("candle_default.json", type="candle.1d"), T) == []
    assert upbit.stats["ignored.candle"] == 1


# -- control frames and bad input ---------------------------------------------------------------


def test_status_error_list_and_unsupported_types(upbit: UpbitAdapter) -> None:
    """``{"status":"UP"}``, subscription lists and private types are counted; an error message is an error event."""
    assert upbit.parse(CONN, raw("status_up.json"), T) == []
    assert upbit.parse(CONN, raw("list_subscriptions.json"), T) == []
    assert upbit.parse(CONN, b'{"ty":"myOrder","cd":"KRW-BTC"}', T) == []
    (unknown,) = upbit.parse(CONN, b'{"ty":"noSuchType","cd":"KRW-BTC"}', T)
    assert isinstance(unknown, Error) and unknown.reason == "unknown_type"
    assert upbit.parse(CONN, raw("error.json"), T) == [
        Error("upbit", None, None, T, CONN, "rejected", "WRONG_FORMAT: 요청 형식이 올바르지 않습니다.")
    ]
    assert dict(upbit.stats) == {
        "ignored.status": 1,
        "ignored.list_subscriptions": 1,
        "ignored.myOrder": 1,
        "error.unknown_type": 1,
        "error.rejected": 1,
    }


def test_replies_do_not_count_as_data(upbit: UpbitAdapter) -> None:
    """Only market data keeps a connection from looking idle: a PING answer does not."""
    upbit.receive(CONN, raw("status_up.json"), T)
    assert CONN not in upbit.data_at
    upbit.receive(CONN, raw("trade_simple.json"), T + 1)
    assert upbit.data_at[CONN] == T + 1


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\x00\x01binary junk", "malformed"),
        (b"\xff\xfe not UTF-8", "malformed"),
        (raw("trade_simple.json")[:40], "malformed"),
        (b'{"ty":"trade', "malformed"),
        (raw("trade_simple.json") + b"[]", "malformed"),
        (b'{"ty":"trade","cd":"KRW-BTC","tp":"x"}', "malformed"),
        (edited("trade_simple.json", ab="NONE"), "malformed"),
        (edited("trade_simple.json", cd="KRW-NOPE"), "unknown_symbol"),
        (edited("candle_default.json", candle_date_time_utc="soon"), "malformed"),
        (edited("candle_default.json", low_price=-1), "malformed"),
        (b'{"hello":1}', "unknown_message"),
        (b"[]", "malformed"),
    ],
)
def test_bad_frames_become_error_events(upbit: UpbitAdapter, frame: bytes, reason: str) -> None:
    """Nothing raises: each bad frame is one ``error`` event and one counter."""
    out = upbit.receive(CONN, frame, T)
    assert [e.reason for e in out if isinstance(e, Error)] == [reason]
    assert upbit.stats["error." + reason] == 1


# -- the fast path ------------------------------------------------------------------------------


def test_whole_books_take_the_fast_path_and_give_the_same_events() -> None:
    """After the first SIMPLE orderbook, binary orderbook frames are routed; the events equal the Python path's."""
    if not speedups.available():
        pytest.skip("collector._speedups is not compiled here")
    frames = [
        raw("orderbook_simple.json"),
        edited("orderbook_simple.json", tms=1746601575000, obu=[{"ap": 0.0379, "bp": 0.0377, "as": 1.0, "bs": 3.0}]),
        edited("orderbook_simple.json", tms=1746601576000, lv=100),  # grouped: declined, the adapter keys it
        edited("orderbook_simple.json", tms=1746601577000, cd="BTC-ETH.15"),  # suffix: declined
    ]
    outs = []
    for mode in (fastpath.specification, speedups.disabled):
        with mode():
            adapter = loaded()
            outs.append([adapter.receive(CONN, f, T + i) for i, f in enumerate(frames)])
            routed = len(adapter._router)
        assert routed == (1 if mode is fastpath.specification else 0)
    assert outs[0] == outs[1]
    assert [e.symbol for out in outs[0] for e in out] == ["ETH/BTC", "ETH/BTC", "ETH/BTC@100", "ETH/BTC"]


# -- plan -----------------------------------------------------------------------------------------


def test_plan_is_one_request_with_every_code(upbit: UpbitAdapter) -> None:
    """All types and codes go in one request; protocol pings keep the socket alive; no Origin."""
    subs = [
        Subscription("BTC/KRW", "trades"),
        Subscription("ETH/BTC", "trades"),
        Subscription("BTC/KRW", "book"),
        Subscription("BTC/USDT", "book"),
        Subscription("BTC/USDT", "ticker"),
        Subscription("BTC/KRW", "candles", "1h"),
        Subscription("BTC/KRW", "candles", "1s"),
    ]
    (plan,) = upbit.plan(subs)
    assert plan.conn == "upbit.0"
    assert plan.url == "wss://api.upbit.com/websocket/v1"
    assert [json.loads(f) for f in plan.subscribe] == [
        [
            {"ticket": "collector-upbit"},
            {"type": "trade", "codes": ["KRW-BTC", "BTC-ETH"], "is_only_realtime": True},
            {"type": "orderbook", "codes": ["KRW-BTC", "USDT-BTC"]},
            {"type": "ticker", "codes": ["USDT-BTC"]},
            {"type": "candle.60m", "codes": ["KRW-BTC"]},
            {"type": "candle.1s", "codes": ["KRW-BTC"]},
            {"format": "SIMPLE"},
        ]
    ]
    assert (plan.ping_interval, plan.app_ping, plan.control_interval, plan.headers) == (30.0, None, 0.2, {})
    assert (plan.symbols, plan.idle_timeout) == (["BTC/KRW", "BTC/USDT"], 120.0)
    assert upbit.plan([]) == []
    # Without books, only trades keep a quiet market's socket busy: a longer idle limit.
    (quiet,) = upbit.plan([Subscription("ETH/BTC", "trades")])
    assert (quiet.symbols, quiet.idle_timeout) == ([], 900.0)


def test_plan_grouped_books_one_type_object_per_level(upbit: UpbitAdapter) -> None:
    """``BTC/KRW@10000`` asks for the book grouped by 10,000 KRW beside the plain one; its key is the book's."""
    subs = [Subscription("BTC/KRW", "book"), Subscription("BTC/KRW@10000", "book"), Subscription("BTC/KRW@0.1", "book")]
    (plan,) = upbit.plan(subs)
    assert json.loads(plan.subscribe[0])[1:] == [
        {"type": "orderbook", "codes": ["KRW-BTC"]},
        {"type": "orderbook", "codes": ["KRW-BTC"], "level": 10000},
        {"type": "orderbook", "codes": ["KRW-BTC"], "level": 0.1},
        {"format": "SIMPLE"},
    ]
    assert plan.symbols == ["BTC/KRW", "BTC/KRW@10000", "BTC/KRW@0.1"]


def test_plan_default_format_and_depth_suffix() -> None:
    """Subclass attributes choose DEFAULT keys and a 15-level book (``CODE.15``)."""

    class Default15(UpbitAdapter):
        wire_format = "DEFAULT"
        book_depth = 15

    adapter = loaded(Default15)
    (plan,) = adapter.plan([Subscription("BTC/KRW", "book")])
    assert json.loads(plan.subscribe[0])[1:] == [{"type": "orderbook", "codes": ["KRW-BTC.15"]}, {"format": "DEFAULT"}]


@pytest.mark.parametrize(
    ("sub", "error"),
    [
        (Subscription("BTC/EUR", "trades"), UnknownSymbol),
        (Subscription("BTC/KRW", "candles", "1d"), UsageError),
        (Subscription("BTC/USDT@10", "book"), UsageError),  # grouping is for KRW markets only
        (Subscription("BTC/KRW@10000", "trades"), UsageError),
        (Subscription("BTC/KRW@3", "book"), UsageError),  # no grouping unit
        (Subscription("BTC/KRW@0", "book"), UsageError),  # the plain book
        (Subscription("BTC/KRW", "funding"), UnknownChannel),
    ],
)
def test_plan_rejects_what_upbit_does_not_offer(upbit: UpbitAdapter, sub: Subscription, error: type[Exception]) -> None:
    """Unknown symbols, unstreamed intervals and misplaced grouping levels fail at plan time."""
    with pytest.raises(error):
        upbit.plan([sub])


def test_plan_rejects_a_depth_upbit_does_not_serve() -> None:
    """Depths are 1, 5, 15 or 30 ("any other number gets 30": refused rather than silently changed)."""

    class Depth20(UpbitAdapter):
        book_depth = 20

    with pytest.raises(UsageError):
        loaded(Depth20).plan([Subscription("BTC/KRW", "book")])


def test_registry_and_recognized_hosts() -> None:
    """``upbit`` is registered and claims Upbit's Korean and global hosts."""
    assert EXCHANGES["upbit"] is UpbitAdapter
    assert UpbitAdapter.recognizes("wss://api.upbit.com/websocket/v1")
    assert UpbitAdapter.recognizes("wss://sg-api.upbit.com/websocket/v1")
    assert not UpbitAdapter.recognizes("wss://ws-api.bithumb.com/websocket/v1")
    assert not UpbitAdapter.recognizes("wss://stream.bybit.com/v5/public/spot")
    assert UpbitAdapter.channels == ("trades", "ticker", "book", "candles")
