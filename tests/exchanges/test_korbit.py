"""Korbit adapter: API v2 parsers from the documented and recorded shapes, whole-book rule, plan, retired v1 API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from collector import fastpath, speedups
from collector.actions import RestRequest, SendFrame
from collector.capture import Frame
from collector.errors import UnknownChannel, UnknownSymbol
from collector.exchanges import EXCHANGES, Subscription
from collector.exchanges.korbit import KorbitAdapter
from collector.models import Book, Connected, Error, Resync, Ticker, Trade
from collector.replay import Replay
from collector.simulator import synthetic_frames

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "korbit"
T = 1700000000.5  # receipt time handed to the adapter
CONN = "korbit.0"
PAIRS = RestRequest("https://api.korbit.co.kr/v2/currencyPairs", "instruments")


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def edited(name: str, **fields: Any) -> bytes:
    """A fixture with top-level fields replaced; ``data`` fields (or the first trade's) with ``data_`` names."""
    msg = json.loads(raw(name))
    data = msg["data"][0] if isinstance(msg["data"], list) else msg["data"]
    for key, value in fields.items():
        if key.startswith("data_"):
            data[key[5:]] = value
        else:
            msg[key] = value
    return json.dumps(msg, separators=(",", ":")).encode()  # json: ids past 64 bits too


@pytest.fixture
def korbit() -> KorbitAdapter:
    adapter = KorbitAdapter()
    assert adapter.instrument_requests() == [PAIRS]
    assert adapter.answer(PAIRS, 200, raw("currency_pairs.json"), T) == []
    return adapter


# -- instruments ----------------------------------------------------------------------------------


def test_currency_pairs_map_both_ways(korbit: KorbitAdapter) -> None:
    """``btc_krw`` is ``BTC/KRW`` (from ``baseCurrency``/``quoteCurrency``); stopped pairs are inactive."""
    assert {i.native: (i.symbol, i.active) for i in korbit.instruments} == {
        "btc_krw": ("BTC/KRW", True),
        "eth_krw": ("ETH/KRW", True),
        "usdt_krw": ("USDT/KRW", True),
        "klay_krw": ("KLAY/KRW", False),
    }
    btc = korbit.instruments.by_symbol("BTC/KRW")
    assert (btc.base, btc.quote, btc.kind, btc.contract_size) == ("BTC", "KRW", "spot", 1.0)
    assert korbit.instruments.symbol_of("eth_krw") == "ETH/KRW"


def test_a_failed_listing_is_reported() -> None:
    """``{"success":false,...}`` loads nothing and says so."""
    adapter = KorbitAdapter()
    [error] = adapter.answer(PAIRS, 200, raw("currency_pairs_error.json"), T)
    assert isinstance(error, Error) and error.reason == "malformed"
    [error] = adapter.answer(PAIRS, 429, b"", T)
    assert isinstance(error, Error) and error.reason == "http_status"
    assert len(adapter.instruments) == 0


# -- trades ----------------------------------------------------------------------------------------


def test_trade_documented_shape(korbit: KorbitAdapter) -> None:
    """``isBuyerTaker: true``: "the trade was caused by a buy order", taker side buy."""
    assert korbit.receive(CONN, raw("trade_docs.json"), T) == [
        Trade("korbit", "BTC/KRW", 1700000000.0, T, 105.0, 0.25, "buy", "2")
    ]


def test_trade_recorded_snapshot(korbit: KorbitAdapter) -> None:
    """The trade sent on subscribe (``snapshot: true``) is a trade; ``isBuyerTaker: false`` is a sell."""
    assert korbit.receive(CONN, raw("trade.json"), T) == [
        Trade("korbit", "BTC/KRW", 1790134317.52, T, 116439000.0, 0.0067, "sell", "25441720")
    ]


def test_trades_already_emitted_are_dropped(korbit: KorbitAdapter) -> None:
    """Resubscribe snapshots repeat trades: ids at or below the highest emitted are dropped, per pair."""
    korbit.receive(CONN, raw("trade.json"), T)
    assert korbit.receive(CONN, raw("trade.json"), T + 1) == []
    assert korbit.stats["ignored.duplicate_trade"] == 1
    several = json.loads(raw("trade.json"))
    several["data"] = [
        {**several["data"][0], "tradeId": 25441719},
        {**several["data"][0], "tradeId": 25441722, "isBuyerTaker": True},
        {**several["data"][0], "tradeId": 25441721},
    ]
    out = korbit.receive(CONN, orjson.dumps(several), T + 2)
    assert [(t.id, t.side) for t in out] == [("25441722", "buy"), ("25441721", "sell")]  # type: ignore[union-attr]
    # Another pair keeps its own mark.
    [eth] = korbit.receive(CONN, edited("trade.json", symbol="eth_krw"), T + 3)
    assert isinstance(eth, Trade) and eth.symbol == "ETH/KRW"


# -- tickers ---------------------------------------------------------------------------------------


def test_ticker_recorded_snapshot(korbit: KorbitAdapter) -> None:
    """Last price is ``close``; 24 h open/high/low/volumes; best prices without sizes."""
    assert korbit.receive(CONN, raw("ticker.json"), T) == [
        Ticker(
            "korbit",
            "BTC/KRW",
            1790134313.071,
            T,
            116426000.0,
            None,
            116477000.0,
            None,
            last=116463000.0,
            open=115370000.0,
            high=116765000.0,
            low=114412000.0,
            volume=39.25266763,
            quote_volume=4549864965.49708,
        )
    ]


def test_zero_ticker_prices_mean_none(korbit: KorbitAdapter) -> None:
    """Stopped pairs show ``"0"`` best prices: no bid, no ask (not an impossible price)."""
    frame = edited("ticker.json", symbol="klay_krw", data_bestBidPrice="0", data_bestAskPrice="0", data_open="0")
    [ticker] = korbit.receive(CONN, frame, T)
    assert isinstance(ticker, Ticker)
    assert (ticker.bid, ticker.ask, ticker.open, ticker.last) == (None, None, None, 116463000.0)


# -- books -----------------------------------------------------------------------------------------


def test_orderbook_documented_shape(korbit: KorbitAdapter) -> None:
    """Every frame is the whole book; the book time (``data.timestamp``) is the event time; no sequence."""
    assert korbit.receive(CONN, raw("orderbook_docs.json"), T) == [
        Book("korbit", "BTC/KRW", 1.0, T, True, [(100.0, 1.0), (99.0, 2.0)], [(101.0, 1.0), (102.0, 2.0)], None)
    ]


def test_realtime_frames_replace_the_book(korbit: KorbitAdapter) -> None:
    """A realtime frame (no ``snapshot`` key) replaces the book too: a new ask level appears."""
    korbit.receive(CONN, raw("orderbook_snapshot.json"), T)
    [book] = korbit.receive(CONN, raw("orderbook.json"), T + 1)
    assert isinstance(book, Book) and book.snapshot and book.timestamp == 1790134243.067
    maintained = korbit.book("BTC/KRW")
    assert maintained is not None and maintained.synced
    assert maintained.top(3).asks == [(116506000.0, 0.27522), (116507000.0, 0.0321), (116538000.0, 0.00665633)]
    assert 116542000.0 not in maintained.asks()
    # An older book (the public stream is lossy and unordered under load) is skipped.
    assert korbit.receive(CONN, raw("orderbook_snapshot.json"), T + 2) == []


def test_stopped_and_grouped_books(korbit: KorbitAdapter) -> None:
    """A stopped pair's snapshot is an empty synced book; grouped levels' extra ``quoteVolume`` is ignored."""
    [empty] = korbit.receive(CONN, raw("orderbook_stopped.json"), T)
    assert isinstance(empty, Book) and (empty.bids, empty.asks) == ([], [])
    assert korbit.book("KLAY/KRW").synced  # type: ignore[union-attr]
    [grouped] = korbit.receive(CONN, raw("orderbook_grouped.json"), T)
    assert isinstance(grouped, Book)
    assert grouped.bids == [(3700000.0, 43.33530415), (3600000.0, 17.76253887)]
    assert grouped.asks == [(3800000.0, 179.83267892), (3900000.0, 33.36541913)]


def test_a_crossed_book_resyncs_by_resubscribing(korbit: KorbitAdapter) -> None:
    """A crossed book is discarded and its ``orderbook`` resubscribed; other books are untouched."""
    [plan] = korbit.plan([Subscription("BTC/KRW", "book"), Subscription("ETH/KRW", "book")])
    korbit.connected(plan, T)
    korbit.receive(CONN, raw("orderbook_snapshot.json"), T)
    korbit.receive(CONN, raw("orderbook_grouped.json"), T)
    crossed = edited("orderbook.json", data_bids=[{"price": "116600000", "qty": "1"}])
    out = korbit.receive(CONN, crossed, T + 1)
    assert isinstance(out[0], Resync) and (out[0].symbol, out[0].reason) == ("BTC/KRW", "crossed")
    assert [a.data for a in out[1:] if isinstance(a, SendFrame)] == [
        '[{"requestId":2,"method":"unsubscribe","type":"orderbook","symbols":["btc_krw"]}]',
        '[{"requestId":3,"method":"subscribe","type":"orderbook","symbols":["btc_krw"]}]',
    ]
    assert not korbit.book("BTC/KRW").synced  # type: ignore[union-attr]
    assert korbit.book("ETH/KRW").synced  # type: ignore[union-attr]
    # The subscribe answer is a fresh snapshot: the book is back.
    korbit.receive(CONN, raw("orderbook.json"), T + 2)
    assert korbit.book("BTC/KRW").synced  # type: ignore[union-attr]


def test_a_stale_book_is_resubscribed(korbit: KorbitAdapter) -> None:
    """No book frame for ``book_stale_after``: resync as ``stale`` with the resubscription."""
    [plan] = korbit.plan([Subscription("BTC/KRW", "book")])
    korbit.connected(plan, T)
    korbit.receive(CONN, raw("orderbook.json"), T)
    out = korbit.check(T + korbit.book_stale_after + 1)
    assert [type(e) for e in out] == [Resync, SendFrame, SendFrame]


# -- control frames, private channels, bad frames --------------------------------------------------


def test_acks_are_counted_and_failures_reported(korbit: KorbitAdapter) -> None:
    """``{"status":"success"}`` is an ack; ``fail`` is a rejection with its code and message."""
    assert korbit.receive(CONN, raw("ack.json"), T) == []
    assert korbit.stats["ignored.ack"] == 1 and CONN not in korbit.data_at
    [error] = korbit.receive(CONN, raw("fail_symbol.json"), T)
    assert isinstance(error, Error) and error.reason == "rejected"
    assert error.detail == "INVALID_SYMBOL: The symbol does not exist (nope_krw) (requestId 2)"
    [error] = korbit.receive(CONN, raw("fail_format.json"), T)
    assert isinstance(error, Error) and error.detail == "None: invalid_format (requestId None)"
    [error] = korbit.receive(CONN, b'{"status":"error","message":"internal"}', T)
    assert isinstance(error, Error) and error.reason == "server_error"


def test_private_channels_are_ignored(korbit: KorbitAdapter) -> None:
    """``myOrder``/``myTrade``/``myAsset`` frames (keyed ``channelType``) are counted, not errors."""
    frame = b'{"channelType":"myAsset","timestamp":2,"data":{"accountSeq":1,"assets":[]}}'
    assert korbit.receive(CONN, frame, T) == []
    assert korbit.stats["ignored.myAsset"] == 1


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b'{"symbol":"btc_krw","timestamp":1,"type":"orderbook","data":{"timestamp":17901342', "malformed"),
        (b'{"symbol":"btc_krw","timestamp":1,"type":"candle","data":{}}', "unknown_channel"),
        (b'{"status":"sideways"}', "unknown_message"),
        (b"{}", "unknown_message"),
        (b"[]", "malformed"),
        (edited("trade.json", symbol="BTC_KRW"), "unknown_symbol"),
        (edited("orderbook.json", symbol="nope_krw"), "unknown_symbol"),
        (edited("trade.json", data_price="NaN"), "malformed"),
        (edited("trade.json", data_tradeId=2**70), "malformed"),
        (edited("trade.json", data_isBuyerTaker="yes"), "malformed"),
        (edited("orderbook.json", data_asks=[{"price": "116506000", "qty": "-1"}]), "malformed"),
        (edited("ticker.json", data_close="-5"), "malformed"),
    ],
)
def test_bad_frames_become_one_error_each(korbit: KorbitAdapter, frame: bytes, reason: str) -> None:
    """Anything that is no Korbit v2 message, or names an unknown pair (case matters), is one error."""
    out = korbit.receive(CONN, frame, T)
    assert [(type(e), e.reason) for e in out] == [(Error, reason)]  # type: ignore[union-attr]


@pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")
def test_fast_path_routes_books_and_priced_tickers(korbit: KorbitAdapter) -> None:
    """Books and tickers are routed after their first frame; a zero price takes the Python path; same events."""
    frames = [f.decode() for f in (raw("orderbook_snapshot.json"), raw("orderbook.json"), raw("ticker.json"))]
    frames += [edited("ticker.json", data_bestBidPrice="0").decode(), raw("ticker.json").decode()]
    routed = [korbit.receive(CONN, f, T) for f in frames]
    assert len(korbit._router) == 2
    with speedups.disabled():
        plain = KorbitAdapter()
    plain.answer(PAIRS, 200, raw("currency_pairs.json"), T)
    assert isinstance(plain._router, fastpath.NoRouter)
    assert [plain.receive(CONN, f, T) for f in frames] == routed
    assert routed[3][0].bid is None  # type: ignore[union-attr]


# -- the retired v1 API ----------------------------------------------------------------------------


def test_a_v1_connection_is_reported_once(korbit: KorbitAdapter) -> None:
    """A connection to the retired v1 API gives one clear error; its frames are then only counted."""
    from collector.exchanges import ConnectionPlan

    out = korbit.connected(ConnectionPlan("old", "wss://ws.korbit.co.kr/v1/user/push"), T)
    assert isinstance(out[0], Connected)
    assert [(type(e), e.reason) for e in out[1:]] == [(Error, "retired_api")]  # type: ignore[union-attr]
    assert "retired" in out[1].detail  # type: ignore[union-attr]
    assert korbit.receive("old", raw("v1_ticker.json"), T) == []
    assert korbit.stats["ignored.v1_api"] == 1


def test_v1_frames_without_a_connect_record_give_one_error(korbit: KorbitAdapter) -> None:
    """v1 messages (``"event":"korbit:..."``) seen first on a connection: one error, then silence."""
    [error] = korbit.receive(CONN, raw("v1_ticker.json"), T)
    assert isinstance(error, Error) and error.reason == "retired_api"
    assert korbit.receive(CONN, raw("v1_ticker.json"), T + 1) == []


def test_a_v1_capture_replays_without_a_crash() -> None:
    """A capture of the old API is recognised as Korbit and reported, never a crash."""
    frames = [
        Frame("connect", "v1", T, "", "wss://ws.korbit.co.kr/v1/user/push"),
        Frame("recv", "v1", T + 0.1, '{"timestamp":1622465399000,"event":"korbit:connected","data":{}}'),
        Frame("recv", "v1", T + 0.2, raw("v1_ticker.json").decode()),
    ]
    replay = Replay(frames)
    errors = [e for e in replay if isinstance(e, Error)]
    assert replay.exchange == "korbit"
    assert [e.reason for e in errors] == ["no_instruments", "retired_api"]


# -- plans -----------------------------------------------------------------------------------------


def test_plan_is_request_arrays_on_one_socket(korbit: KorbitAdapter) -> None:
    """Requests are arrays with a ``requestId`` (so each is acknowledged), per type; protocol pings."""
    subs = [Subscription(s, ch) for s in ("BTC/KRW", "USDT/KRW") for ch in ("trades", "ticker", "book")]
    [plan] = korbit.plan(subs)
    assert plan.subscribe == [
        '[{"requestId":1,"method":"subscribe","type":"trade","symbols":["btc_krw","usdt_krw"]}]',
        '[{"requestId":2,"method":"subscribe","type":"ticker","symbols":["btc_krw","usdt_krw"]}]',
        '[{"requestId":3,"method":"subscribe","type":"orderbook","symbols":["btc_krw","usdt_krw"]}]',
    ]
    assert (plan.url, plan.symbols) == ("wss://ws-api.korbit.co.kr/v2/public", ["BTC/KRW", "USDT/KRW"])
    assert (plan.ping_interval, plan.ping_timeout, plan.app_ping, plan.idle_timeout) == (15.0, 10.0, None, 180.0)


def test_plan_splits_long_symbol_lists_and_refuses_candles(korbit: KorbitAdapter) -> None:
    """Past ``symbols_per_request`` symbols a type takes several requests; there is no candle stream."""
    korbit.symbols_per_request = 2
    [plan] = korbit.plan([Subscription(s, "book") for s in ("BTC/KRW", "ETH/KRW", "USDT/KRW")])
    assert [json.loads(f)[0]["symbols"] for f in plan.subscribe] == [["btc_krw", "eth_krw"], ["usdt_krw"]]
    with pytest.raises(UnknownChannel):
        korbit.plan([Subscription("BTC/KRW", "candles")])
    with pytest.raises(UnknownSymbol):
        korbit.plan([Subscription("BTC/USDT", "book")])


def test_registry_and_hosts() -> None:
    """``korbit`` is registered; its v2 host, the Digital X host and the retired v1 hosts are recognised."""
    assert EXCHANGES["korbit"] is KorbitAdapter
    for url in (
        "wss://ws-api.korbit.co.kr/v2/public",
        "wss://ws-api.digitalx.miraeasset.com/v2/public",
        "wss://ws.korbit.co.kr/v1/user/push",
        "wss://ws2.korbit.co.kr/v1/user/push",
    ):
        assert KorbitAdapter.recognizes(url), url
    assert not KorbitAdapter.recognizes("wss://api.upbit.com/websocket/v1")


# -- replay ----------------------------------------------------------------------------------------


def test_a_capture_from_the_digital_x_host_replays() -> None:
    """A v2 capture on the Digital X host, with its REST listing there too, replays into exact events."""
    frames = [
        Frame(
            "http",
            "http",
            T,
            raw("currency_pairs.json").decode(),
            "https://api.digitalx.miraeasset.com/v2/currencyPairs",
        ),
        Frame("connect", "c", T + 0.1, "", "wss://ws-api.digitalx.miraeasset.com/v2/public"),
        Frame("recv", "c", T + 0.2, raw("ack.json").decode()),
        Frame("recv", "c", T + 0.3, raw("orderbook_snapshot.json").decode()),
        Frame("recv", "c", T + 0.4, raw("trade.json").decode()),
        Frame("recv", "c", T + 0.5, raw("orderbook.json").decode()),
    ]
    replay = Replay(frames)
    events = list(replay)
    assert replay.exchange == "korbit"
    assert [type(e) for e in events] == [Connected, Book, Trade, Book]
    assert replay.adapter.book("BTC/KRW").best_ask() == (116506000.0, 0.27522)  # type: ignore[union-attr]


def test_a_synthetic_session_replays_whole() -> None:
    """The simulator's session (listing, acks, snapshots on subscribe, data) gives no errors."""
    frames = synthetic_frames("korbit", ["BTC/KRW", "USDT/KRW"], frames=400, seed=2)
    events = list(Replay(frames, exchange="korbit"))
    kinds = {type(e) for e in events}
    assert Error not in kinds and {Book, Trade, Ticker} <= kinds
    ids = [e.id for e in events if isinstance(e, Trade) and e.symbol == "BTC/KRW"]
    assert len(ids) == len(set(ids))
