"""Bithumb adapter: the ws-api copy of Upbit's protocol from documented and real frames, its differences
(string ids, microsecond book times, level 1), the legacy protocol reported once, the fast path, plan."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from collector import Error, fastpath, speedups
from collector.actions import RestRequest
from collector.capture import Frame
from collector.errors import UnknownChannel, UnknownSymbol, UsageError
from collector.exchanges import EXCHANGES, ConnectionPlan, Subscription
from collector.exchanges.bithumb import BithumbAdapter
from collector.exchanges.upbit import UpbitAdapter
from collector.models import Book, Connected, Resync, Ticker, Trade
from collector.replay import Replay

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bithumb"
T = 1783658390.25
CONN = "bithumb.0"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def text(name: str) -> str:
    return raw(name).decode()


def edited(name: str, **fields: Any) -> bytes:
    msg = json.loads(raw(name))
    msg.update(fields)
    return json.dumps(msg, separators=(",", ":")).encode()  # ids past 64 bits too


def loaded() -> BithumbAdapter:
    adapter = BithumbAdapter()
    request = adapter.instrument_requests()[0]
    assert request == RestRequest("https://api.bithumb.com/v1/market/all", "instruments")
    assert adapter.on_http(request, 200, raw("market_all.json"), T) == []
    return adapter


@pytest.fixture
def bithumb() -> BithumbAdapter:
    return loaded()


# -- instruments --------------------------------------------------------------------------------


def test_markets_are_quote_base_and_usdt_krw_is_listed(bithumb: BithumbAdapter) -> None:
    """``GET /v1/market/all`` codes are ``QUOTE-BASE`` as on Upbit; ``USDT/KRW`` (the KRW premium's rate) is listed."""
    assert {inst.native: inst.symbol for inst in bithumb.instruments} == {
        "KRW-BTC": "BTC/KRW",
        "KRW-ETH": "ETH/KRW",
        "KRW-USDT": "USDT/KRW",
        "BTC-ETH": "ETH/BTC",
    }
    inst = bithumb.instruments.by_symbol("USDT/KRW")
    assert (inst.native, inst.base, inst.quote, inst.kind) == ("KRW-USDT", "USDT", "KRW", "spot")
    assert bithumb.instruments.symbol_of("BTC-ETH") == "ETH/BTC"


# -- messages -----------------------------------------------------------------------------------


def test_trade_real_frame(bithumb: BithumbAdapter) -> None:
    """The string ``sequential_id`` is the id as sent; ``ASK`` is a sell; the KST date/time are not read."""
    assert bithumb.parse(CONN, raw("trade.json"), T) == [
        Trade("bithumb", "BTC/KRW", 1783658381.138, T, 95539000.0, 0.00022664, "sell", "862683813820523888")
    ]


def test_trade_simple_keys(bithumb: BithumbAdapter) -> None:
    """SIMPLE keys read the same (``tp``, ``tv``, ``ab``, ``sid``)."""
    assert bithumb.parse(CONN, raw("trade_simple.json"), T) == [
        Trade("bithumb", "ETH/BTC", 1783658382.0, T, 0.0321, 1.5, "buy", "862683813820523889")
    ]


def test_snapshot_trade_is_reported_for_the_first_subscription_only(bithumb: BithumbAdapter) -> None:
    """Without snapshot flags (spelled three ways in the docs), every subscription starts with the last
    trade as SNAPSHOT: the first is reported, a resubscription's is counted (it may repeat one)."""
    (trade,) = bithumb.parse(CONN, edited("trade.json", stream_type="SNAPSHOT"), T)
    assert isinstance(trade, Trade)
    assert bithumb.parse(CONN, edited("trade.json", stream_type="SNAPSHOT"), T + 1) == []
    assert bithumb.stats["ignored.snapshot_trade"] == 1


def test_ticker_documented_example(bithumb: BithumbAdapter) -> None:
    """The docs' example ("테스트 및 요청 예제"): last and 24 h statistics; no best bid/offer of its own."""
    assert bithumb.parse(CONN, raw("ticker.json"), T) == [
        Ticker(
            "bithumb",
            "BTC/KRW",
            1725927377.287,
            T,
            None,
            None,
            None,
            None,
            last=493100.0,
            open=484500.0,
            high=493100.0,
            low=472500.0,
            volume=13380.57687512,
            quote_volume=8227950466.316009,
        )
    ]


def test_orderbook_real_frame_microsecond_time(bithumb: BithumbAdapter) -> None:
    """``"timestamp":"1783657882348968"``: a string of microseconds; ``level`` 1 is the plain book."""
    assert bithumb.parse(CONN, raw("orderbook.json"), T) == [
        Book(
            "bithumb",
            "BTC/KRW",
            1783657882.348968,
            T,
            True,
            [(95339000.0, 0.0024), (95330000.0, 0.0465)],
            [(95340000.0, 0.0007), (95341000.0, 0.5)],
            None,
        )
    ]


def test_orderbook_documented_millisecond_time(bithumb: BithumbAdapter) -> None:
    """The docs' ``Long`` milliseconds read as well."""
    (book,) = bithumb.parse(CONN, raw("orderbook_millis.json"), T)
    assert isinstance(book, Book)
    assert (book.symbol, book.timestamp, book.bids[0], book.asks[0]) == (
        "ETH/KRW",
        1783657882.348,
        (4812000.0, 2.1),
        (4813000.0, 10.0),
    )


def test_orderbook_simple_keys(bithumb: BithumbAdapter) -> None:
    """SIMPLE keys (``obu``, ``tms`` as a microsecond string, ``lv``)."""
    assert bithumb.parse(CONN, raw("orderbook_simple.json"), T) == [
        Book(
            "bithumb",
            "ETH/BTC",
            1783657882.4,
            T,
            True,
            [(0.0321, 2.25), (0.03209, 2.0)],
            [(0.03211, 1.5), (0.03212, 2.0)],
            None,
        )
    ]


def test_another_level_is_another_book(bithumb: BithumbAdapter) -> None:
    """A book grouped by another unit (a recorder may have asked) is kept apart, as ``BTC/KRW@<level>``."""
    out = bithumb.parse(CONN, edited("orderbook.json", level=10000), T)
    assert [e.symbol for e in out] == ["BTC/KRW@10000"]
    assert bithumb.book("BTC/KRW") is None


def test_level_zero_is_the_plain_book() -> None:
    """ "level | 호가 모아보기 단위 (default: 1, 기본 호가단위)": a book reporting ``level`` 0 groups
    nothing either, so it is ``BTC/KRW`` (not ``BTC/KRW@0``), on the fast path as on the adapter's own."""
    frames = [text("orderbook.json"), edited("orderbook.json", timestamp="1783657882400000", level=0).decode()]
    modes = [speedups.disabled, fastpath.specification] + ([contextlib.nullcontext] if speedups.available() else [])
    runs = []
    for mode in modes:
        with mode():
            adapter = loaded()
        out = [e for f in frames for e in adapter.receive(CONN, f, T)]
        runs.append([(e.symbol, e.timestamp) for e in out if isinstance(e, Book)])
        assert (len(out), adapter.books.symbols()) == (2, ["BTC/KRW"])
    assert runs == [[("BTC/KRW", 1783657882.348968), ("BTC/KRW", 1783657882.4)]] * len(modes)
    # Upbit, whose default level is 0, still keeps a book grouped by 1 apart.
    upbit = UpbitAdapter()
    upbit.on_http(upbit.instrument_requests()[0], 200, raw("market_all.json"), T)
    frame = json.loads((FIXTURES.parent / "upbit" / "orderbook_default.json").read_bytes())
    plain = upbit.parse(CONN, json.dumps(frame | {"level": 0}), T)
    grouped = upbit.parse(CONN, json.dumps(frame | {"level": 1}), T)
    assert [e.symbol for e in plain + grouped if isinstance(e, Book)] == ["BTC/KRW", "BTC/KRW@1"]


def test_crossed_snapshot_resyncs_that_book_only(bithumb: BithumbAdapter) -> None:
    """A whole book whose bid reaches its ask resyncs that symbol, with the reason; the next one restores it."""
    bithumb.parse(CONN, raw("orderbook_millis.json"), T)
    units = [{"ask_price": 95000000, "bid_price": 95100000, "ask_size": 1, "bid_size": 1}]
    (resync,) = bithumb.parse(CONN, edited("orderbook.json", orderbook_units=units), T + 1)
    assert isinstance(resync, Resync) and (resync.symbol, resync.reason) == ("BTC/KRW", "crossed")
    eth = bithumb.book("ETH/KRW")
    assert eth is not None and eth.synced
    assert [type(e) for e in bithumb.parse(CONN, edited("orderbook.json", timestamp="1783657882348969"), T + 2)] == [
        Book
    ]


def test_status_error_and_private_types(bithumb: BithumbAdapter) -> None:
    """``{"status":"UP"}`` and private types are counted; an error message is an error event."""
    assert bithumb.parse(CONN, raw("status_up.json"), T) == []
    assert bithumb.parse(CONN, b'{"type":"myAsset","assets":[]}', T) == []
    assert bithumb.parse(CONN, raw("error.json"), T) == [
        Error("bithumb", None, None, T, CONN, "rejected", "INVALID_PARAM: Invalid parameter.")
    ]
    (candle,) = bithumb.parse(CONN, b'{"type":"candle.1m","code":"KRW-BTC"}', T)  # no such stream here
    assert isinstance(candle, Error) and candle.reason == "unknown_type"
    assert dict(bithumb.stats) == {
        "ignored.status": 1,
        "ignored.myAsset": 1,
        "error.rejected": 1,
        "error.unknown_type": 1,
    }


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"\xff\xfe not UTF-8", "malformed"),
        (raw("trade.json")[:60], "malformed"),
        (edited("trade.json", trade_price="NaN"), "malformed"),
        (edited("trade.json", trade_volume=-1), "malformed"),
        (edited("trade.json", sequential_id=2**70), "malformed"),
        (edited("trade.json", ask_bid="X"), "malformed"),
        (edited("trade.json", code="KRW-NOPE"), "unknown_symbol"),
        (edited("orderbook.json", timestamp="soon"), "malformed"),
        (edited("orderbook.json", level=7), "malformed"),
        (b'{"type":"noSuchType","code":"KRW-BTC"}', "unknown_type"),
        (b'{"hello":1}', "unknown_message"),
    ],
)
def test_bad_frames_become_error_events(bithumb: BithumbAdapter, frame: bytes, reason: str) -> None:
    """Each bad frame is one ``error`` event and one counter."""
    out = bithumb.receive(CONN, frame, T)
    assert [e.reason for e in out if isinstance(e, Error)] == [reason]
    assert bithumb.stats["error." + reason] == 1


# -- the legacy protocol --------------------------------------------------------------------------


def test_legacy_host_is_reported_once_and_its_frames_counted(bithumb: BithumbAdapter) -> None:
    """A connection to pubwss.bithumb.com gives one ``legacy_protocol`` error; every frame on it is counted."""
    out = bithumb.connected(ConnectionPlan("old", "wss://pubwss.bithumb.com/pub/ws"), T)
    assert [type(e) for e in out] == [Connected, Error]
    err = out[1]
    assert isinstance(err, Error) and (err.reason, err.conn) == ("legacy_protocol", "old")
    assert "pubwss.bithumb.com" in err.detail and "ws-api.bithumb.com/websocket/v1" in err.detail
    for name in ("legacy_connected.json", "legacy_transaction.json", "legacy_ticker.json", "trade.json"):
        assert bithumb.receive("old", text(name), T) == []
    assert bithumb.stats["ignored.legacy"] == 4
    assert "old" not in bithumb.data_at


@pytest.mark.parametrize("first", ["legacy_connected.json", "legacy_transaction.json", "legacy_ticker.json"])
def test_legacy_frames_elsewhere_are_reported_once_per_connection(bithumb: BithumbAdapter, first: str) -> None:
    """Legacy-shaped frames on an unknown connection: the first is the one error, later ones are counted;
    the connection's ws-api frames are still read."""
    (err,) = bithumb.receive(CONN, raw(first), T)
    assert isinstance(err, Error) and err.reason == "legacy_protocol"
    assert bithumb.receive(CONN, raw("legacy_transaction.json"), T) == []
    assert bithumb.stats["ignored.legacy"] == 1
    assert [type(e) for e in bithumb.receive(CONN, raw("trade.json"), T)] == [Trade]


def test_cryptofeed_legacy_capture_replays_without_crashing() -> None:
    """What cryptofeed's Bithumb feed records (pubwss, ``transaction``, the ALL_KRW ticker listing) replays
    as ``bithumb``: one error names the legacy protocol, the replay tells the ws-api listing is missing,
    no frame is an error of its own."""
    conn = "BITHUMB.ws.1"
    header = {"t": "header", "format": 2, "exchange": "BITHUMB", "config": {"trades": ["BTC-KRW"]}, "recorded": 1.0}
    frames = [
        Frame("header", "", 1.0, orjson.dumps(header).decode()),
        Frame(
            "http", "http", 1.0, '{"status":"0000","data":{"BTC":{}}}', "https://api.bithumb.com/public/ticker/ALL_KRW"
        ),
        Frame("connect", conn, 1.1, "", "wss://pubwss.bithumb.com/pub/ws"),
        Frame("send", conn, 1.2, '{"type": "transaction", "symbols": ["BTC_KRW"]}'),
        Frame("recv", conn, 1.3, text("legacy_connected.json")),
        Frame("recv", conn, 1.4, '{"status":"0000","resmsg":"Filter Registered Successfully"}'),
        *(Frame("recv", conn, 1.5 + i, text("legacy_transaction.json")) for i in range(5)),
    ]
    replay = Replay(frames)
    events = list(replay)
    assert replay.exchange == "bithumb"
    errors = [e for e in events if isinstance(e, Error)]
    assert [e.reason for e in errors] == ["no_instruments", "legacy_protocol"]
    assert replay.adapter.stats["ignored.legacy"] == 7
    assert [type(e) for e in events if not isinstance(e, Error)] == [Connected]


# -- the fast path ------------------------------------------------------------------------------


def test_books_take_the_fast_path_in_the_unit_they_come_in() -> None:
    """Routed in microseconds after a µs book; a millisecond book then declines and the adapter's own path
    reads it: the same events as without the fast path."""
    if not speedups.available():
        pytest.skip("collector._speedups is not compiled here")
    frames = [
        text("orderbook.json"),
        edited("orderbook.json", timestamp="1783657882400000"),
        edited("orderbook.json", timestamp=1783657882500),
        edited("orderbook.json", timestamp="1783657882600000", level=10),
    ]
    outs = []
    for mode in (fastpath.specification, speedups.disabled):
        with mode():
            adapter = loaded()
            outs.append([adapter.receive(CONN, f, T + i) for i, f in enumerate(frames)])
    assert outs[0] == outs[1]
    assert [(e.symbol, e.timestamp) for out in outs[0] for e in out] == [
        ("BTC/KRW", 1783657882.348968),
        ("BTC/KRW", 1783657882.4),
        ("BTC/KRW", 1783657882.5),
        ("BTC/KRW@10", 1783657882.6),
    ]


# -- plan -----------------------------------------------------------------------------------------


def test_plan_is_one_default_format_request(bithumb: BithumbAdapter) -> None:
    """One request with every type and code, DEFAULT keys, no snapshot flags; protocol pings; no Origin."""
    subs = [
        Subscription("BTC/KRW", "trades"),
        Subscription("ETH/KRW", "trades"),
        Subscription("BTC/KRW", "book"),
        Subscription("USDT/KRW", "book"),
        Subscription("BTC/KRW", "ticker"),
    ]
    (plan,) = bithumb.plan(subs)
    assert (plan.conn, plan.url) == ("bithumb.0", "wss://ws-api.bithumb.com/websocket/v1")
    assert [json.loads(f) for f in plan.subscribe] == [
        [
            {"ticket": "collector-bithumb"},
            {"type": "trade", "codes": ["KRW-BTC", "KRW-ETH"]},
            {"type": "orderbook", "codes": ["KRW-BTC", "KRW-USDT"]},
            {"type": "ticker", "codes": ["KRW-BTC"]},
            {"format": "DEFAULT"},
        ]
    ]
    assert (plan.ping_interval, plan.app_ping, plan.control_interval, plan.headers) == (30.0, None, 0.2, {})
    assert plan.symbols == ["BTC/KRW", "USDT/KRW"]


def test_plan_depth_suffix() -> None:
    """``CODE.{n}`` asks for ``n`` levels ("KRW-ETH.3" in the docs)."""

    class Depth3(BithumbAdapter):
        book_depth = 3

    adapter = Depth3()
    adapter.load_instruments(adapter.instrument_requests()[0], raw("market_all.json"))
    (plan,) = adapter.plan([Subscription("ETH/KRW", "book")])
    assert json.loads(plan.subscribe[0])[1] == {"type": "orderbook", "codes": ["KRW-ETH.3"]}


@pytest.mark.parametrize(
    ("sub", "error"),
    [
        (Subscription("BTC/USD", "trades"), UnknownSymbol),
        (Subscription("BTC/KRW", "candles"), UnknownChannel),
        (Subscription("BTC/KRW@10000", "book"), UsageError),
    ],
)
def test_plan_rejects_what_bithumb_does_not_offer(
    bithumb: BithumbAdapter, sub: Subscription, error: type[Exception]
) -> None:
    """No candle stream, no grouping offered, unknown symbols fail at plan time."""
    with pytest.raises(error):
        bithumb.plan([sub])


def test_registry_hosts_and_shared_protocol() -> None:
    """``bithumb`` is registered, claims ws-api and the legacy host, and shares Upbit's protocol base."""
    assert EXCHANGES["bithumb"] is BithumbAdapter
    assert BithumbAdapter.recognizes("wss://ws-api.bithumb.com/websocket/v1")
    assert BithumbAdapter.recognizes("wss://pubwss.bithumb.com/pub/ws")
    assert not BithumbAdapter.recognizes("wss://api.upbit.com/websocket/v1")
    assert BithumbAdapter.channels == ("trades", "ticker", "book")
    assert BithumbAdapter.demo_symbols == ("BTC/KRW", "ETH/KRW")
    assert BithumbAdapter.__mro__[1] is UpbitAdapter.__mro__[1]
