"""Kraken spot adapter: documented v2 and v1 messages to exact events, the CRC32 book checksum,
depth truncation, instruments, plans, control frames and bad input."""

from __future__ import annotations

import json
import zlib
from typing import Any

import orjson
import pytest

from collector.actions import RestRequest, SendFrame
from collector.book import OrderBook
from collector.errors import UnknownSymbol, UsageError
from collector.exchanges import ConnectionPlan, Subscription, create
from collector.exchanges.kraken import KrakenAdapter
from collector.exchanges.kraken.adapter import protocol_of
from collector.exchanges.kraken.instruments import Digits, checksum_text
from collector.models import Book, Candle, Error, Resync, Ticker, Trade
from tests.conftest import fixture_text

# Books are built inside these tests: run them with the C accelerators and in pure Python.
pytestmark = pytest.mark.usefixtures("both_paths")

T = 1700000000.5  # receipt time handed to the adapter
V2 = "wss://ws.kraken.com/v2"
V1 = "wss://ws.kraken.com"


def raw(name: str) -> str:
    return fixture_text(f"kraken/{name}")


def adapter_on(*conns: tuple[str, str]) -> KrakenAdapter:
    """An adapter with the AssetPairs fixture loaded and connections ``(conn, url)`` open."""
    adapter = KrakenAdapter()
    (request,) = adapter.instrument_requests()
    assert adapter.on_http(request, 200, raw("asset_pairs.json").encode(), T) == []
    for conn, url in conns:
        adapter.on_connect(ConnectionPlan(conn, url), T)
    return adapter


@pytest.fixture
def kraken() -> KrakenAdapter:
    return adapter_on(("v2", V2), ("v1", V1))


def v2_book(symbol: str, bids: list[tuple[str, str]], asks: list[tuple[str, str]], kind: str, crc: int) -> str:
    """A v2 book message with prices and quantities printed as given."""
    side = lambda levels: ",".join(f'{{"price":{p},"qty":{q}}}' for p, q in levels)  # noqa: E731
    data = f'{{"symbol":"{symbol}","bids":[{side(bids)}],"asks":[{side(asks)}],"checksum":{crc}}}'
    return f'{{"channel":"book","type":"{kind}","data":[{data}]}}'


def crc(asks: list[tuple[str, str]], bids: list[tuple[str, str]]) -> int:
    return zlib.crc32(checksum_text(asks, bids).encode())


# -- instruments ----------------------------------------------------------------------------------


def test_asset_pairs_map_three_kraken_names_to_unified_symbols(kraken: KrakenAdapter) -> None:
    """REST key, v1 ``wsname`` (XBT, XDG) and v2 name all lead to one unified symbol; dark pools are skipped."""
    got = {inst.native: (inst.symbol, inst.base, inst.quote, inst.active) for inst in kraken.instruments}
    assert got == {
        "ALGOUSD": ("ALGO/USD", "ALGO", "USD", True),
        "MATICUSD": ("MATIC/USD", "MATIC", "USD", False),  # cancel_only
        "XDGUSD": ("DOGE/USD", "DOGE", "USD", True),
        "XETHZUSD": ("ETH/USD", "ETH", "USD", True),
        "XXBTZUSD": ("BTC/USD", "BTC", "USD", True),
        "XXMRZUSD": ("XMR/USD", "XMR", "USD", True),
    }
    assert kraken.instruments.by_native("XXBTZUSD").symbol == "BTC/USD"
    assert kraken.instruments.by_symbol("BTC/USD").native == "XXBTZUSD"
    assert (kraken.v1_symbol("XBT/USD"), kraken.v1_symbol("XDG/USD"), kraken.v1_symbol("BTC/USD")) == (
        "BTC/USD",
        "DOGE/USD",
        None,
    )
    assert (kraken.v2_symbol("BTC/USD"), kraken.v2_symbol("DOGE/USD"), kraken.v2_symbol("XBT/USD")) == (
        "BTC/USD",
        "DOGE/USD",
        None,
    )
    btc = kraken.instruments.by_symbol("BTC/USD")
    assert (btc.kind, btc.tick_size, btc.step_size, btc.contract_size) == ("spot", 0.1, 1e-08, 1.0)
    pair = kraken.pair_of("MATIC/USD")
    assert (pair.v1, pair.price_decimals, pair.lot_decimals) == ("MATIC/USD", 4, 8)
    with pytest.raises(UnknownSymbol):
        kraken.pair_of("BTC/EUR")


def test_asset_pairs_error_is_an_error_event() -> None:
    """``{"error":["..."]}`` from AssetPairs is reported, not raised."""
    adapter = KrakenAdapter()
    (request,) = adapter.instrument_requests()
    assert request.url == "https://api.kraken.com/0/public/AssetPairs"
    (error,) = adapter.on_http(request, 200, raw("asset_pairs_error.json").encode(), T)
    assert isinstance(error, Error)
    assert (error.reason, error.detail) == (
        "malformed",
        "https://api.kraken.com/0/public/AssetPairs: AssetPairs error: EGeneral:Invalid arguments",
    )
    assert adapter.on_http(request, 503, b"", T)[0].reason == "http_status"  # type: ignore[union-attr]


def test_hosts_and_protocols() -> None:
    """Both protocols share Kraken's hosts; the URL's path picks the protocol."""
    assert KrakenAdapter.recognizes("wss://ws.kraken.com")
    assert KrakenAdapter.recognizes("wss://ws.kraken.com/v2")
    assert KrakenAdapter.recognizes("wss://beta-ws.kraken.com/v2")
    assert not KrakenAdapter.recognizes("wss://futures.kraken.com/ws/v1")
    assert (protocol_of(V2), protocol_of(V1), protocol_of("ws://127.0.0.1:5/kraken/v2")) == ("v2", "v1", "v2")
    assert KrakenAdapter.match_key("https://api.kraken.com/0/public/AssetPairs") == (
        "api.kraken.com",
        "/0/public/AssetPairs",
        "",
    )


# -- the checksum ---------------------------------------------------------------------------------


def test_checksum_of_the_guides_worked_example() -> None:
    """Asks 0.05005..0.05050 and bids 0.05000..0.04950 at 0.00000500 each give CRC32 974947235."""
    asks = [(p, "0.00000500") for p in ("0.05005", "0.05010", "0.05015", "0.05020", "0.05025")]
    asks += [(p, "0.00000500") for p in ("0.05030", "0.05035", "0.05040", "0.05045", "0.05050")]
    bids = [(p, "0.00000500") for p in ("0.05000", "0.04995", "0.04990", "0.04980", "0.04975")]
    bids += [(p, "0.00000500") for p in ("0.04970", "0.04965", "0.04960", "0.04955", "0.04950")]
    text = checksum_text(asks, bids)
    assert text == (
        "5005500501050050155005020500502550050305005035500504050050455005050500"
        "5000500499550049905004980500497550049705004965500496050049555004950500"
    )
    assert zlib.crc32(text.encode()) == 974947235
    # The book keeps floats: printed back with the pair's precisions they give the same digits.
    book = OrderBook()
    book.load([(float(p), float(q)) for p, q in bids], [(float(p), float(q)) for p, q in asks], None)
    assert Digits(5, 8).checksum(book) == 974947235


def test_a_size_no_float_can_print_back_is_not_a_checksum_failure(kraken: KrakenAdapter) -> None:
    """A level of 305,628,343.03416117 at 8 lot decimals has more digits than a float holds, so the
    book's CRC cannot be printed from it ("parse ... using a decimal or string decoder"): the
    mismatch is counted as unverifiable, the book stays live. A checksum that is wrong for a
    book of ordinary values still resyncs it."""
    bids, asks = [("0.5666", "305628343.03416117")], [("0.5668", "1.00000000")]
    right = crc(asks, bids)
    frame = {
        "channel": "book",
        "type": "snapshot",
        "data": [
            {
                "symbol": "MATIC/USD",
                "bids": [{"price": 0.5666, "qty": 305628343.03416117}],
                "asks": [{"price": 0.5668, "qty": 1.0}],
                "checksum": right,
                "timestamp": "2023-10-06T17:35:55.440295Z",
            }
        ],
    }
    (snapshot,) = kraken.parse("v2", json.dumps(frame), T)
    assert isinstance(snapshot, Book) and snapshot.bids == [(0.5666, 305628343.03416117)]
    assert kraken.books.stats["checksum_unverifiable"] == 1
    assert kraken.book("MATIC/USD").synced  # type: ignore[union-attr]
    frame["data"][0]["bids"] = [{"price": 0.5666, "qty": 3.5}]  # type: ignore[index]
    out = kraken.parse("v2", json.dumps(frame), T + 1)
    assert [(e.reason, e.symbol) for e in out if isinstance(e, Resync)] == [("checksum", "MATIC/USD")]


def test_v2_documented_snapshot_and_update_pass_their_checksums(kraken: KrakenAdapter) -> None:
    """MATIC/USD (pair_decimals 4, lot_decimals 8): 2439117997 and 2114181697, as the v2 docs give them.

    Printed as the shortest float text (``0.566``, ``18097.1547``) the same book gives another
    CRC: the precisions, not the JSON numbers' text, are what Kraken prints.
    """
    (snapshot,) = kraken.parse("v2", raw("v2_book_snapshot.json"), T)
    assert isinstance(snapshot, Book)
    assert (snapshot.symbol, snapshot.snapshot, snapshot.timestamp, snapshot.sequence) == (
        "MATIC/USD",
        True,
        1696613755.440295,
        None,
    )
    assert snapshot.bids[:3] == [(0.5666, 4831.75496356), (0.5665, 6658.22734739), (0.5664, 18724.91513344)]
    assert snapshot.asks[-1] == (0.5677, 36304.0847022)
    assert kraken.parse("v2", raw("v2_book_update.json"), T + 1) == [
        Book("kraken", "MATIC/USD", 1696613755.440295, T + 1, False, [(0.5657, 1098.3947558)], [], None)
    ]
    assert kraken.books.stats["checksum_ok"] == 2
    book = kraken.book("MATIC/USD")
    assert book is not None
    assert book.top(10).bids[-1] == (0.5657, 1098.3947558)
    shortest = checksum_text(
        [(repr(p), repr(q)) for p, q in book.top(10).asks], [(repr(p), repr(q)) for p, q in book.top(10).bids]
    )
    assert zlib.crc32(shortest.encode()) != 2114181697


def test_a_corrupted_level_resyncs_that_book_only(kraken: KrakenAdapter) -> None:
    """A book built here: a wrong size makes the CRC disagree; only that symbol is rebuilt (unsubscribe, subscribe)."""
    bids, asks = [("60000.0", "1.50000000"), ("59999.9", "0.25000000")], [("60000.1", "0.75000000")]
    kraken.parse("v2", v2_book("BTC/USD", bids, asks, "snapshot", crc(asks, bids)), T)
    eth_bids, eth_asks = [("3000.00", "2.00000000")], [("3000.01", "1.00000000")]
    kraken.parse("v2", v2_book("ETH/USD", eth_bids, eth_asks, "snapshot", crc(eth_asks, eth_bids)), T)
    # The exchange's book has 0.30000000 at 59999.9; this update says 0.3 was sent as 0.31.
    good = crc(asks, [("60000.0", "1.50000000"), ("59999.9", "0.30000000")])
    out = kraken.parse("v2", v2_book("BTC/USD", [("59999.9", "0.31000000")], [], "update", good), T + 1)
    expected = (
        '{"method":"unsubscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":100}}',
        '{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":100,"snapshot":true}}',
    )
    assert out[1:] == [SendFrame("v2", expected[0]), SendFrame("v2", expected[1])]
    resync = out[0]
    assert isinstance(resync, Resync)
    assert (resync.symbol, resync.reason) == ("BTC/USD", "checksum")
    assert resync.detail.startswith(f"expected {good}, computed ")
    btc, eth = kraken.book("BTC/USD"), kraken.book("ETH/USD")
    assert btc is not None and not btc.synced
    assert eth is not None and eth.synced
    # The same update with the right size applies once a snapshot arrived again.
    kraken.parse("v2", v2_book("BTC/USD", bids, asks, "snapshot", crc(asks, bids)), T + 2)
    (book,) = kraken.parse("v2", v2_book("BTC/USD", [("59999.9", "0.30000000")], [], "update", good), T + 3)
    assert isinstance(book, Book)
    assert book.bids == [(59999.9, 0.3)]


def test_books_are_truncated_to_the_subscribed_depth(kraken: KrakenAdapter) -> None:
    """Depth 10: an inserted best bid pushes the tenth out without a delete; the CRC is of the truncated book."""
    kraken.parse("v2", raw("v2_subscribe_ack.json").replace("ALGO/USD", "ETH/USD"), T)  # depth 10
    bids = [(f"{2999 - i}.00", "1.00000000") for i in range(10)]
    asks = [(f"{3001 + i}.00", "1.00000000") for i in range(10)]
    kraken.parse("v2", v2_book("ETH/USD", bids, asks, "snapshot", crc(asks, bids)), T)
    new_bids = [("3000.00", "2.00000000"), *bids[:9]]
    out = kraken.parse("v2", v2_book("ETH/USD", [("3000.00", "2.00000000")], [], "update", crc(asks, new_bids)), T + 1)
    assert [type(e) for e in out] == [Book]
    book = kraken.book("ETH/USD")
    assert book is not None
    assert (len(book.bids()), book.best_bid(), min(book.bids())) == (10, (3000.0, 2.0), 2991.0)


# -- v2 channels ----------------------------------------------------------------------------------


def test_v2_trade(kraken: KrakenAdapter) -> None:
    """``side`` is the taker's, ``trade_id`` the id, the RFC 3339 time becomes epoch seconds."""
    assert kraken.parse("v2", raw("v2_trade.json"), T) == [
        Trade("kraken", "MATIC/USD", 1695628177.708706, T, 0.5117, 40.0, "sell", "4665906")
    ]


def test_v2_trade_snapshot_is_emitted_once_and_fills_in_what_was_missed(kraken: KrakenAdapter) -> None:
    """The first snapshot's trades are emitted oldest first; a later one only adds trades newer than the last seen."""
    trade = orjson.loads(raw("v2_trade.json"))["data"][0]

    def snapshot(*ids: int) -> str:
        data = [trade | {"trade_id": i} for i in ids]
        return orjson.dumps({"channel": "trade", "type": "snapshot", "data": data}).decode()

    first = kraken.parse("v2", snapshot(4665905, 4665904), T)
    assert first == [
        Trade("kraken", "MATIC/USD", 1695628177.708706, T, 0.5117, 40.0, "sell", "4665904"),
        Trade("kraken", "MATIC/USD", 1695628177.708706, T, 0.5117, 40.0, "sell", "4665905"),
    ]
    assert [e.id for e in kraken.parse("v2", raw("v2_trade.json"), T)] == ["4665906"]  # type: ignore[union-attr]
    assert [e.id for e in kraken.parse("v2", snapshot(4665909, 4665906, 4665908, 4665907, 4665905), T)] == [  # type: ignore[union-attr]
        "4665907",
        "4665908",
        "4665909",
    ]
    assert kraken.stats["ignored.trade_snapshot"] == 2


def test_v2_ticker(kraken: KrakenAdapter) -> None:
    """Best bid/offer with sizes, last, 24 h high/low/volume; no open or quote volume is given."""
    assert kraken.parse("v2", raw("v2_ticker.json"), T) == [
        Ticker(
            "kraken",
            "ALGO/USD",
            1695632671.742648,
            T,
            0.10025,
            740.0,
            0.10036,
            1361.44813783,
            last=0.10035,
            high=0.10285,
            low=0.09979,
            volume=997038.98383185,
        )
    ]


def test_v2_ohlc_snapshot_closes_past_bars(kraken: KrakenAdapter) -> None:
    """Bars that ended before the message are closed; the running one is not."""
    common: dict[str, Any] = {"exchange": "kraken", "symbol": "ALGO/USD", "timestamp": 1696436761.806316}
    assert kraken.parse("v2", raw("v2_ohlc.json"), T) == [
        Candle(
            **common,
            received=T,
            interval="5m",
            start=1696433100.0,
            end=1696433400.0,
            open=0.09875,
            high=0.09875,
            low=0.09875,
            close=0.09875,
            volume=201.86015,
            trades=1,
            closed=True,
        ),
        Candle(
            **common,
            received=T,
            interval="5m",
            start=1696436700.0,
            end=1696437000.0,
            open=0.09875,
            high=0.0988,
            low=0.09875,
            close=0.09875,
            volume=16255.46368,
            trades=13,
            closed=False,
        ),
    ]


def test_v2_control_frames_are_counted_not_published(kraken: KrakenAdapter) -> None:
    """Status, heartbeat, pong, acks and the reference-data channel carry no market data."""
    for name in ("v2_status.json", "v2_heartbeat.json", "v2_pong.json", "v2_subscribe_ack.json", "v2_instrument.json"):
        assert kraken.parse("v2", raw(name), T) == []
    assert {k: v for k, v in kraken.stats.items() if k.startswith("ignored.")} == {
        "ignored.status": 1,
        "ignored.heartbeat": 1,
        "ignored.pong": 1,
        "ignored.ack": 1,
        "ignored.instrument": 1,
    }
    assert "v2" not in kraken.data_at  # none of them counts as data for idle detection


def test_v2_heartbeat_keeps_the_connections_books_fresh(kraken: KrakenAdapter) -> None:
    """A heartbeat says the books on its connection are unchanged: none goes stale."""
    bids, asks = [("60000.0", "1.00000000")], [("60000.1", "1.00000000")]
    kraken.parse("v2", v2_book("BTC/USD", bids, asks, "snapshot", crc(asks, bids)), T)
    kraken.receive("v2", raw("v2_heartbeat.json"), T + 50)
    assert kraken.check(T + 100) == []
    resync, *resubscribe = kraken.check(T + 111)
    assert isinstance(resync, Resync)
    assert resync.reason == "stale"
    assert [type(a) for a in resubscribe] == [SendFrame, SendFrame]


def test_v2_bad_frames_are_errors(kraken: KrakenAdapter) -> None:
    """A rejection, an unknown channel, an unknown pair, bad values and junk each give one error."""
    frames = {
        raw("v2_subscribe_error.json"): "rejected",
        '{"channel":"nosuch","type":"update","data":[]}': "unknown_channel",
        raw("v2_trade.json").replace("MATIC/USD", "NOPE/USD"): "unknown_symbol",
        raw("v2_trade.json").replace('"sell"', '"up"'): "malformed",
        raw("v2_trade.json").replace("0.5117", "-0.5117"): "malformed",
        raw("v2_book_update.json").replace("2114181697", "4294967296"): "malformed",
        raw("v2_book_update.json").replace('"update"', '"replace"'): "malformed",
        "{}": "unknown_message",
        "[1,2]": "malformed",
    }
    for frame, reason in frames.items():
        (error,) = kraken.receive("v2", frame, T)
        assert isinstance(error, Error), frame
        assert error.reason == reason, frame
    assert kraken.stats["error.rejected"] == 1
    detail = kraken.receive("v2", raw("v2_subscribe_error.json"), T)[0].detail  # type: ignore[union-attr]
    assert detail == "subscribe: Currency pair not supported ABC/USD (req_id 7)"


# -- v1 ---------------------------------------------------------------------------------------------


def test_v1_trades_have_taker_sides_and_no_ids(kraken: KrakenAdapter) -> None:
    """``[price, volume, time, side, orderType, misc]``: ``s``/``b`` is the taker's side; v1 gives no trade id."""
    assert kraken.parse("v1", raw("v1_trade.json"), T) == [
        Trade("kraken", "BTC/USD", 1534614057.321597, T, 5541.2, 0.15850568, "sell", ""),
        Trade("kraken", "BTC/USD", 1534614057.324998, T, 6060.0, 0.02455, "buy", ""),
    ]


def test_v1_ticker_uses_the_24_hour_values(kraken: KrakenAdapter) -> None:
    """``a``/``b`` are price, whole-lot volume, lot volume; two-element arrays are [today, 24 h]."""
    assert kraken.parse("v1", raw("v1_ticker.json"), T) == [
        Ticker(
            "kraken",
            "BTC/USD",
            None,
            T,
            5525.1,
            1.0,
            5525.4,
            1.0,
            last=5525.1,
            open=5763.4,
            high=5783.0,
            low=5505.0,
            volume=3591.17907851,
        )
    ]


def test_v2_ohlc_without_a_message_timestamp_is_not_closed_by_its_own_end(kraken: KrakenAdapter) -> None:
    """A candle's own ``timestamp`` is its interval's end ("deprecated ... use interval_begin"):
    without the message's timestamp a running bar stays open (judged by the receipt time)."""
    msg = json.loads(raw("v2_ohlc.json"))
    del msg["timestamp"]
    running = [c for c in kraken.parse("v2", orjson.dumps(msg).decode(), 1696436800.0) if isinstance(c, Candle)][-1]
    assert (running.start, running.end, running.closed, running.timestamp) == (1696436700.0, 1696437000.0, False, None)


def test_v1_ohlc(kraken: KrakenAdapter) -> None:
    """``[time, etime, open, high, low, close, vwap, volume, count]``: an ``ohlc-5`` bar ends at etime."""
    assert kraken.parse("v1", raw("v1_ohlc.json"), 1542057320.0) == [
        Candle(
            "kraken",
            "BTC/USD",
            1542057314.748456,
            1542057320.0,
            "5m",
            1542057060.435743,
            1542057360.435743,
            3586.7,
            3586.7,
            3586.6,
            3586.6,
            0.03373,
            2,
            False,
        )
    ]


def test_v1_book_snapshot_then_update_in_two_objects(kraken: KrakenAdapter) -> None:
    """``as``/``bs`` load the book; an update may carry asks and bids in separate objects, ``c`` in the last."""
    (snapshot,) = kraken.parse("v1", raw("v1_checksum_snapshot.json"), T)
    assert isinstance(snapshot, Book)
    assert (snapshot.snapshot, snapshot.timestamp, snapshot.bids[0], snapshot.asks[0]) == (
        True,
        1582905486.493,
        (0.05, 5e-06),
        (0.05005, 5e-06),
    )
    # The guide's update: levels outside the top 10, so the guide's CRC still holds.
    assert kraken.parse("v1", raw("v1_checksum_update.json"), T + 1) == [
        Book(
            "kraken",
            "BTC/USD",
            1582905486.493034,
            T + 1,
            False,
            [(0.04765, 5e-06), (0.0494, 5e-06)],
            [(0.0512, 5e-06), (0.05275, 5e-06)],
            None,
        )
    ]
    assert kraken.books.stats["checksum_ok"] == 1


def test_v1_checksums_use_the_places_printed_on_the_wire(kraken: KrakenAdapter) -> None:
    """v1 prints XMR/USD prices with 8 places although ``pair_decimals`` is 2: the CRC is of the wire text."""
    asks = [("354.80000000", "1.40000000"), ("354.84000000", "6.88212752")]
    bids = [("354.15000000", "5.00000000")]
    level = lambda p, q: f'["{p}","{q}","1618678133.365913"]'  # noqa: E731
    snapshot = (
        f'[992,{{"as":[{",".join(level(p, q) for p, q in asks)}],"bs":[{",".join(level(p, q) for p, q in bids)}]}},'
        '"book-1000","XMR/USD"]'
    )
    kraken.parse("v1", snapshot, T)
    new_bids = [("354.15000000", "5.00000000"), ("354.12000000", "2.00000000")]
    update = f'[992,{{"b":[{level("354.12000000", "2.00000000")}],"c":"{crc(asks, new_bids)}"}},"book-1000","XMR/USD"]'
    (book,) = kraken.parse("v1", update, T + 1)
    assert isinstance(book, Book)
    assert book.bids == [(354.12, 2.0)]
    assert kraken.books.stats["checksum_ok"] == 1


def test_v1_documented_update_against_another_book_fails_its_checksum(kraken: KrakenAdapter) -> None:
    """The docs' update (``c`` 974942666) does not describe the docs' snapshot: that book is rebuilt over v1."""
    kraken.parse("v1", raw("v1_book_snapshot.json"), T)
    out = kraken.parse("v1", raw("v1_book_update.json"), T + 1)
    assert out[1:] == [
        SendFrame("v1", '{"event":"unsubscribe","pair":["XBT/USD"],"subscription":{"name":"book","depth":10}}'),
        SendFrame("v1", '{"event":"subscribe","pair":["XBT/USD"],"subscription":{"name":"book","depth":10}}'),
    ]
    assert isinstance(out[0], Resync)
    assert out[0].reason == "checksum"


def test_v1_republished_levels_are_upserts(kraken: KrakenAdapter) -> None:
    """A fourth element ``"r"`` marks a level re-sent as it came back into scope: applied like any other."""
    kraken.parse("v1", raw("v1_book_snapshot.json"), T)
    (book,) = kraken.parse("v1", raw("v1_book_republish.json"), T + 1)
    assert isinstance(book, Book)
    assert book.asks == [(5541.3, 2.507), (5542.5, 0.401)]
    assert kraken.book("BTC/USD").asks()[5542.5] == 0.401  # type: ignore[union-attr]


def test_v1_channel_ids_resolve_frames_without_names(kraken: KrakenAdapter) -> None:
    """``subscriptionStatus`` maps channelID to (channelName, pair): a bare ``[id, payload]`` is still routed."""
    assert kraken.parse("v1", raw("v1_subscription_status.json"), T) == []
    trades = '[10001,[["5541.20000","0.15850568","1534614057.321597","s","l",""]]]'
    kraken.parse("v1", raw("v1_subscription_status.json").replace("book-10", "trade"), T)
    assert kraken.parse("v1", trades, T) == [
        Trade("kraken", "BTC/USD", 1534614057.321597, T, 5541.2, 0.15850568, "sell", "")
    ]
    (error,) = kraken.parse("v1", trades.replace("10001", "777"), T)
    assert isinstance(error, Error)
    assert (error.reason, error.detail.partition(" |")[0]) == ("unknown_channel", "channel id 777")


def test_frames_of_a_connection_without_a_connect_record_are_told_apart() -> None:
    """A capture without the connect record: v1 objects are keyed by ``event``, v2 by ``channel``
    or ``method``; each still goes to its own parser (text or bytes)."""
    kraken = KrakenAdapter()
    for name in ("v1_system_status.json", "v1_heartbeat.json", "v1_pong.json", "v1_subscription_status.json"):
        assert kraken.parse("unknown", raw(name), T) == []
        assert kraken.parse("unknown", raw(name).encode(), T) == []
    for name in ("v2_heartbeat.json", "v2_status.json", "v2_pong.json", "v2_subscribe_ack.json"):
        assert kraken.parse("unknown", raw(name), T) == []
    assert kraken.stats["ignored.heartbeat"] == 3
    assert not any(key.startswith("unknown") for key in kraken.stats)


def test_v1_control_and_unused_channels_are_counted(kraken: KrakenAdapter) -> None:
    """systemStatus, heartbeat, pong, subscriptionStatus and the ``spread`` channel are not events."""
    for name in ("v1_system_status.json", "v1_heartbeat.json", "v1_pong.json", "v1_subscription_status.json"):
        assert kraken.parse("v1", raw(name), T) == []
    assert kraken.parse("v1", raw("v1_spread.json"), T) == []
    assert {k: v for k, v in kraken.stats.items() if k.startswith("ignored.")} == {
        "ignored.status": 1,
        "ignored.heartbeat": 1,
        "ignored.pong": 1,
        "ignored.ack": 1,
        "ignored.spread": 1,
    }


def test_v1_bad_frames_are_errors(kraken: KrakenAdapter) -> None:
    """A failed subscription, an unknown pair or event, bad values and junk each give one error."""
    frames = {
        raw("v1_subscription_error.json"): "rejected",
        raw("v1_trade.json").replace("XBT/USD", "XBT/NOPE"): "unknown_symbol",
        raw("v1_ohlc.json").replace('"3586.70000"', '"x"', 1): "malformed",
        raw("v1_trade.json").replace("5541.20000", "NaN"): "malformed",
        raw("v1_ticker.json").replace("5525.10000", "-1", 1): "malformed",
        raw("v1_ohlc.json").replace('"ohlc-5"', '"ohlc-7"'): "unknown_channel",
        '{"event":"nosuch"}': "unknown_message",
        "[1,2": "malformed",
        b"\xff[": "malformed",
    }
    for frame, reason in frames.items():
        (error,) = kraken.receive("v1", frame, T)
        assert isinstance(error, Error), frame
        assert error.reason == reason, frame
    # A trade with an unknown side is reported; the other trade of the message still counts.
    error, trade = kraken.receive("v1", raw("v1_trade.json").replace('"s"', '"x"'), T)
    assert isinstance(error, Error)
    assert (error.reason, error.detail) == ("malformed", "trade: side 'x'")
    assert isinstance(trade, Trade)


def test_the_connections_protocol_is_read_from_its_url() -> None:
    """The same frame is v1 on ``wss://ws.kraken.com`` and not a v2 message on ``/v2``."""
    adapter = adapter_on(("a", V1), ("b", V2))
    assert len(adapter.parse("a", raw("v1_trade.json"), T)) == 2
    (error,) = adapter.parse("b", raw("v1_trade.json"), T)
    assert isinstance(error, Error)
    # A connection the adapter did not open (a test, a foreign capture) is read by its frames' shape.
    assert len(adapter.parse("c", raw("v1_trade.json"), T)) == 2
    assert len(adapter.parse("d", raw("v2_trade.json"), T)) == 1


# -- plans --------------------------------------------------------------------------------------------


def test_v2_plan_subscribes_each_channel_once_per_connection(kraken: KrakenAdapter) -> None:
    """Trades (with their opt-in snapshot), BBO tickers, books at depth 100 and candles, in v2 names;
    protocol pings keep it alive."""
    subs = [Subscription(s, c) for s in ("BTC/USD", "DOGE/USD") for c in ("trades", "ticker", "book")]
    subs.append(Subscription("BTC/USD", "candles", "5m"))
    (plan,) = kraken.plan(subs)
    assert plan.subscribe == [
        '{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD","DOGE/USD"],"snapshot":true}}',
        '{"method":"subscribe","params":{"channel":"ticker","symbol":["BTC/USD","DOGE/USD"],"event_trigger":"bbo"}}',
        '{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD","DOGE/USD"],"depth":100,"snapshot":true}}',
        '{"method":"subscribe","params":{"channel":"ohlc","symbol":["BTC/USD"],"interval":5}}',
    ]
    assert (plan.url, plan.symbols, plan.ping_interval, plan.idle_timeout) == (V2, ["BTC/USD", "DOGE/USD"], 30.0, 60.0)


def test_v1_endpoint_plans_v1_requests() -> None:
    """Pointed at ``wss://ws.kraken.com`` the adapter subscribes v1 names (``XBT/USD``)."""
    from collector.exchanges import Endpoints

    adapter = create("kraken", endpoints=Endpoints(ws=V1, rest="https://api.kraken.com"))
    (request,) = adapter.instrument_requests()
    adapter.on_http(request, 200, raw("asset_pairs.json").encode(), T)
    (plan,) = adapter.plan([Subscription("BTC/USD", "book"), Subscription("BTC/USD", "candles", "1h")])
    assert plan.subscribe == [
        '{"event":"subscribe","pair":["XBT/USD"],"subscription":{"name":"book","depth":100}}',
        '{"event":"subscribe","pair":["XBT/USD"],"subscription":{"name":"ohlc","interval":60}}',
    ]


def test_plans_shard_and_reject_what_kraken_does_not_offer(kraken: KrakenAdapter, monkeypatch: Any) -> None:
    """Symbols are spread over connections; unknown intervals, depths and symbols are usage errors."""
    monkeypatch.setattr(KrakenAdapter, "symbols_per_connection", 2)
    subs = [Subscription(s, "trades") for s in ("BTC/USD", "ETH/USD", "DOGE/USD")]
    assert [p.conn for p in kraken.plan(subs)] == ["kraken.0", "kraken.1"]
    with pytest.raises(UsageError):
        kraken.plan([Subscription("BTC/USD", "candles", "2h")])
    with pytest.raises(UnknownSymbol):
        kraken.plan([Subscription("BTC/EUR", "trades")])
    monkeypatch.setattr(KrakenAdapter, "book_depth", 50)
    with pytest.raises(UsageError):
        kraken.plan([Subscription("BTC/USD", "book")])


def test_unrelated_http_answers_are_counted(kraken: KrakenAdapter) -> None:
    """Only the instrument list is asked for; anything else is counted."""
    assert kraken.on_http(RestRequest("https://api.kraken.com/0/public/Time", "poll"), 200, b"{}", T) == []
    assert kraken.stats["ignored.http.poll"] == 1


# -- the simulator speaks Kraken ----------------------------------------------------------------------


def test_simulator_answers_v2_and_v1_requests_as_kraken_does() -> None:
    """One ack per pair, errors for unknown pairs, depths and repeats, then snapshots the adapter accepts."""
    from collector.exchanges.kraken.sim import KrakenWire
    from collector.simulator.wire import RestCall

    wire = KrakenWire()
    spec = wire.instrument("BTC/USD", 1)
    markets = {spec.native: wire.market(spec, 1, 40)}
    adapter = KrakenAdapter()
    (request,) = adapter.instrument_requests()
    body = wire.rest(RestCall("GET", "/0/public/AssetPairs", {}), markets, 0).body
    adapter.on_http(request, 200, body, T)
    assert (adapter.instruments.by_symbol("BTC/USD").native, adapter.pair_of("BTC/USD").v1) == ("XXBTZUSD", "XBT/USD")

    v2 = wire.open("v2")
    text = '{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD","NOPE/USD"],"depth":10},"req_id":3}'
    control = wire.on_client_text(v2, text, markets, 0)
    assert control.subscribe == ["book:10:BTC/USD"]
    assert orjson.loads(control.reply or "")["result"] == {"channel": "book", "depth": 10, "symbol": "BTC/USD"}
    refusal, snapshot = control.frames
    assert orjson.loads(refusal)["error"] == "Currency pair not supported NOPE/USD"
    adapter.on_connect(ConnectionPlan("v2", V2), T)
    (book,) = adapter.parse("v2", snapshot, T)
    assert isinstance(book, Book)
    assert (len(book.bids), len(book.asks), adapter.books.stats["checksum_ok"]) == (10, 10, 1)
    v2.streams.extend(control.subscribe)
    again = orjson.loads(wire.on_client_text(v2, text, markets, 0).reply or "")
    assert (again["success"], again["error"]) == (False, "Already subscribed")
    bad = '{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":7}}'
    assert orjson.loads(wire.on_client_text(v2, bad, markets, 0).reply or "")["error"].endswith("depth")
    pong = orjson.loads(wire.on_client_text(v2, '{"method":"ping","req_id":9}', markets, 0).reply or "")
    assert (pong["method"], pong["req_id"]) == ("pong", 9)

    v1 = wire.open("v1")
    text = '{"event":"subscribe","pair":["XBT/USD","XBT/NOPE"],"subscription":{"name":"book","depth":25}}'
    control = wire.on_client_text(v1, text, markets, 0)
    status = orjson.loads(control.reply or "")
    assert (status["status"], status["channelName"], status["pair"]) == ("subscribed", "book-25", "XBT/USD")
    refusal, snapshot = control.frames
    assert orjson.loads(refusal)["errorMessage"] == "Currency pair not supported XBT/NOPE"
    adapter.on_connect(ConnectionPlan("v1", V1), T)
    assert snapshot.startswith(f'[{status["channelID"]},{{"as":[["6000')
    (book,) = adapter.parse("v1", snapshot, T)
    assert isinstance(book, Book)
    assert (len(book.bids), adapter.book("BTC/USD").sequence) == (25, None)  # type: ignore[union-attr]
    assert orjson.loads(wire.on_client_text(v1, '{"event":"ping","reqid":4}', markets, 0).reply or "") == {
        "event": "pong",
        "reqid": 4,
    }
