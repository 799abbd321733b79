"""Coinone adapter: parsers from the documented (DEFAULT and SHORT) shapes, whole-book rule, plan, replay."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest

from collector import fastpath, speedups
from collector.actions import RestRequest, SendFrame
from collector.capture import Frame
from collector.errors import UnknownChannel, UnknownSymbol, UsageError
from collector.exchanges import EXCHANGES, ConnectionPlan, Subscription
from collector.exchanges.coinone import CoinoneAdapter
from collector.models import Book, Candle, Connected, Error, Resync, Ticker, Trade
from collector.replay import Replay
from collector.simulator import synthetic_frames

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "coinone"
T = 1700000000.5  # receipt time handed to the adapter
CONN = "coinone.0"
MARKETS = RestRequest("https://api.coinone.co.kr/public/v2/markets/KRW", "instruments")


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def edited(name: str, **data: Any) -> bytes:
    """A fixture with fields of its ``data`` (``d`` in the SHORT format) replaced."""
    msg = json.loads(raw(name))
    msg["data" if "data" in msg else "d"].update(data)
    return orjson.dumps(msg)


# The adapter's own path, the Python router and (when compiled) the C one: they must agree.
_PATHS = [speedups.disabled, fastpath.specification] + ([contextlib.nullcontext] if speedups.available() else [])


@pytest.fixture
def coinone() -> CoinoneAdapter:
    adapter = CoinoneAdapter()
    assert adapter.instrument_requests() == [MARKETS]
    assert adapter.answer(MARKETS, 200, raw("markets.json"), T) == []
    return adapter


# -- instruments ----------------------------------------------------------------------------------


def test_markets_map_both_ways(coinone: CoinoneAdapter) -> None:
    """``KRW``/``BTC`` is ``BTC/KRW``: built from quote and target currency, never from a string."""
    assert {inst.native: inst.symbol for inst in coinone.instruments} == {
        "KRW-BTC": "BTC/KRW",
        "KRW-XRP": "XRP/KRW",
        "KRW-USDT": "USDT/KRW",
        "KRW-TNSR": "TNSR/KRW",
    }
    btc = coinone.instruments.by_symbol("BTC/KRW")
    assert (btc.base, btc.quote, btc.kind, btc.contract_size) == ("BTC", "KRW", "spot", 1.0)
    assert (btc.tick_size, btc.step_size, btc.active) == (10000.0, 1e-08, True)
    assert coinone.topic("XRP/KRW") == ("KRW", "XRP")
    with pytest.raises(UnknownSymbol):
        coinone.topic("BTC/USDT")


def test_market_status_sets_active() -> None:
    """``trade_status 0`` (no trading) or ``maintenance_status 1`` is an inactive market."""
    body = json.loads(raw("markets.json"))
    body["markets"][0]["trade_status"] = 0
    body["markets"][1]["maintenance_status"] = 1
    adapter = CoinoneAdapter()
    adapter.answer(MARKETS, 200, orjson.dumps(body), T)
    assert {i.symbol: i.active for i in adapter.instruments} == {
        "BTC/KRW": False,
        "XRP/KRW": False,
        "USDT/KRW": True,
        "TNSR/KRW": True,
    }


def test_an_error_listing_is_reported() -> None:
    """Errors come with HTTP 200 and ``"result":"error"``: reported, nothing loaded."""
    adapter = CoinoneAdapter()
    [error] = adapter.answer(MARKETS, 200, raw("markets_error.json"), T)
    assert isinstance(error, Error) and error.reason == "malformed" and "'4'" in error.detail
    assert len(adapter.instruments) == 0


# -- trades ----------------------------------------------------------------------------------------


def test_trade_seller_maker_is_a_buy(coinone: CoinoneAdapter) -> None:
    """``is_seller_maker: true`` ("the seller is the maker"): a buyer took the ask, taker side buy."""
    assert coinone.receive(CONN, raw("trade.json"), T) == [
        Trade("coinone", "XRP/KRW", 1693560450.996, T, 688.3, 5000.0, "buy", "1693560450996001")
    ]


def test_trade_at_the_ask_is_a_buy(coinone: CoinoneAdapter) -> None:
    """A recorded BTC trade at the best ask of the book 82 ms before it carried ``is_seller_maker: true``."""
    coinone.receive(CONN, raw("orderbook_asks_descending.json"), T)
    assert coinone.book("BTC/KRW").best_ask() == (116460000.0, 0.0232)  # type: ignore[union-attr]
    [trade] = coinone.receive(CONN, raw("trade_at_the_ask.json"), T + 1)
    assert trade == Trade(
        "coinone", "BTC/KRW", 1790134177.835, T + 1, 116460000.0, 0.00483595, "buy", "1790134177835001"
    )


def test_trade_short_format(coinone: CoinoneAdapter) -> None:
    """SHORT keys (``i``, ``t``, ``p``, ``q``, ``sm``) read the same; ``sm: false`` is a sell."""
    assert coinone.receive(CONN, raw("trade_short.json"), T) == [
        Trade("coinone", "XRP/KRW", 1693560563.084, T, 688.3, 290.745, "sell", "1693560563084003")
    ]


# -- tickers ---------------------------------------------------------------------------------------


def test_ticker_carries_the_best_bid_and_ask(coinone: CoinoneAdapter) -> None:
    """Best bid/ask with sizes, last price, the UTC day's open/high/low, 24 h volumes."""
    assert coinone.receive(CONN, raw("ticker.json"), T) == [
        Ticker(
            "coinone",
            "BTC/KRW",
            1705301117.198,
            T,
            58532000.0,
            0.00009258,
            58537000.0,
            0.1961,
            last=58532000.0,
            open=57293000.0,
            high=58710000.0,
            low=57276000.0,
            volume=334.81445168,
            quote_volume=19521465345.504,
        )
    ]


def test_ticker_with_an_empty_side(coinone: CoinoneAdapter) -> None:
    """ "ask_best_price ... null when there is none": no ask, and no ask size."""
    [ticker] = coinone.receive(CONN, edited("ticker.json", ask_best_price=None, ask_best_qty=None), T)
    assert isinstance(ticker, Ticker)
    assert (ticker.bid, ticker.ask, ticker.ask_size) == (58532000.0, None, None)


def test_ticker_zero_prices_mean_none(coinone: CoinoneAdapter) -> None:
    """A market that has not traded may show ``"0"`` prices: no price, not an impossible one."""
    frame = edited("ticker.json", last="0", first="0", high="0", low="0", bid_best_price="0", bid_best_qty="0")
    [ticker] = coinone.receive(CONN, frame, T)
    assert isinstance(ticker, Ticker)
    assert (ticker.last, ticker.open, ticker.high, ticker.low, ticker.bid, ticker.ask) == (
        None,
        None,
        None,
        None,
        None,
        58537000.0,
    )


def test_ticker_side_without_a_price_has_no_size() -> None:
    """ "ask_best_price ... null when there is none" with ``"ask_best_qty":"0"`` (and a ``"0"`` bid):
    no price, so no size either, on the fast path (which declines such a ticker) as on the adapter's."""
    frames = [
        raw("ticker.json").decode(),
        edited("ticker.json", ask_best_price=None, ask_best_qty="0").decode(),
        edited("ticker.json", bid_best_price="0", bid_best_qty="0").decode(),
    ]
    runs = []
    for mode in _PATHS:
        with mode():
            adapter = CoinoneAdapter()
        adapter.answer(MARKETS, 200, raw("markets.json"), T)
        runs.append([adapter.receive(CONN, f, T) for f in frames])
    assert runs[1:] == [runs[0]] * (len(runs) - 1)
    tickers = [t for out in runs[0] for t in out if isinstance(t, Ticker)]
    touches = [(t.bid, t.bid_size, t.ask, t.ask_size) for t in tickers]
    assert touches == [
        (58532000.0, 0.00009258, 58537000.0, 0.1961),
        (58532000.0, 0.00009258, None, None),
        (None, None, 58537000.0, 0.1961),
    ]


def test_ticker_short_format(coinone: CoinoneAdapter) -> None:
    """The SHORT ticker keys (``la``, ``fi``, ``bbp``, ``abq`` ...) give the same ticker."""
    default = json.loads(raw("ticker.json"))
    keys = {"quote_currency": "qc", "target_currency": "tc", "timestamp": "t", "quote_volume": "qv"}
    keys |= {"target_volume": "tv", "high": "hi", "low": "lo", "first": "fi", "last": "la", "id": "i"}
    keys |= {"ask_best_price": "abp", "ask_best_qty": "abq", "bid_best_price": "bbp", "bid_best_qty": "bbq"}
    short = {"r": "DATA", "c": "TICKER", "d": {keys.get(k, k): v for k, v in default["data"].items()}}
    assert coinone.receive(CONN, orjson.dumps(short), T) == coinone.receive(CONN, raw("ticker.json"), T)


# -- books -----------------------------------------------------------------------------------------


def test_every_orderbook_message_is_the_whole_book(coinone: CoinoneAdapter) -> None:
    """The book is replaced by each message; its ``id`` is the sequence."""
    assert coinone.receive(CONN, raw("orderbook.json"), T) == [
        Book(
            "coinone",
            "BTC/KRW",
            1705288918.649,
            T,
            True,
            [(58292000.0, 0.1045)],
            [(58412000.0, 0.59919807)],
            1705288918649001,
        )
    ]
    out = coinone.receive(CONN, raw("orderbook_asks_descending.json"), T + 1)
    [book] = out
    assert isinstance(book, Book) and book.snapshot and book.sequence == 1790134177753001
    maintained = coinone.book("BTC/KRW")
    assert maintained is not None and maintained.synced
    # Asks arrive worst first: the best ask is the last one listed.
    assert maintained.top(2).asks == [(116460000.0, 0.0232), (116470000.0, 0.00171821)]
    assert maintained.top(2).bids == [(116450000.0, 0.0118), (116440000.0, 0.04695328)]
    assert 58412000.0 not in maintained.asks()


def test_book_events_list_each_side_best_first() -> None:
    """Asks come worst first on the wire; the book event lists them from the lowest price up (bids
    from the highest down), on the fast path as on the adapter's own."""
    frames = [raw("orderbook_asks_descending.json").decode()]
    frames.append(edited("orderbook_asks_descending.json", timestamp=1790134177900, id="1790134177900001").decode())
    runs = []
    for mode in _PATHS:
        with mode():
            adapter = CoinoneAdapter()
        adapter.answer(MARKETS, 200, raw("markets.json"), T)
        runs.append([e for f in frames for e in adapter.receive(CONN, f, T)])
    assert runs[1:] == [runs[0]] * (len(runs) - 1)
    asks = [(116460000.0, 0.0232), (116470000.0, 0.00171821), (116640000.0, 0.000657), (116650000.0, 0.01198956)]
    bids = [(116450000.0, 0.0118), (116440000.0, 0.04695328), (116250000.0, 0.01325806)]
    assert runs[0] == [
        Book("coinone", "BTC/KRW", 1790134177.753, T, True, bids, asks, 1790134177753001),
        Book("coinone", "BTC/KRW", 1790134177.9, T, True, bids, asks, 1790134177900001),
    ]


def test_orderbook_short_format(coinone: CoinoneAdapter) -> None:
    """SHORT keys (``a``/``b``, ``p``/``q``, ``i``) build the same book."""
    [book] = coinone.receive(CONN, raw("orderbook_short.json"), T)
    assert book == Book(
        "coinone",
        "BTC/KRW",
        1790134177.753,
        T,
        True,
        [(116450000.0, 0.0118)],
        [(116460000.0, 0.0232), (116650000.0, 0.01198956)],
        1790134177753001,
    )


def test_an_older_repeat_of_the_book_is_skipped(coinone: CoinoneAdapter) -> None:
    """Subscribing again repeats the current book with an older ``timestamp``: nothing changes."""
    coinone.receive(CONN, raw("orderbook_asks_descending.json"), T)
    repeat = edited("orderbook_asks_descending.json", timestamp=1790134167554, bids=[])
    assert coinone.receive(CONN, repeat, T + 1) == []
    assert coinone.book("BTC/KRW").best_bid() == (116450000.0, 0.0118)  # type: ignore[union-attr]
    assert coinone.books.stats["stale_snapshot"] == 1


@pytest.mark.parametrize("second", ["c2", "c1"])
def test_the_book_sent_on_a_new_subscription_replaces_the_book(second: str) -> None:
    """In a capture of a reconnect (a new or the same connection id), the first book of the new
    subscription replaces the book even though its ``timestamp`` is older (seen 10 s behind)."""
    later = edited("orderbook_asks_descending.json", timestamp=1790134190000, id="1790134190000001")
    resent = edited("orderbook.json", timestamp=1790134180000, id="1790134195000001")  # older time, newer id
    frames = [
        Frame("http", "http", T, raw("markets.json").decode(), MARKETS.url),
        Frame("connect", "c1", T + 0.1, "", "wss://stream.coinone.co.kr"),
        Frame("recv", "c1", T + 0.2, raw("orderbook_asks_descending.json").decode()),
        Frame("recv", "c1", T + 0.3, later.decode()),
        Frame("connect", second, T + 5, "", "wss://stream.coinone.co.kr"),
        Frame("recv", second, T + 5.2, resent.decode()),
    ]
    replay = Replay(frames, exchange="coinone")
    books = [e for e in replay if isinstance(e, Book)]
    assert [b.sequence for b in books] == [1790134177753001, 1790134190000001, 1790134195000001]
    assert replay.adapter.book("BTC/KRW").best_bid() == (58292000.0, 0.1045)  # type: ignore[union-attr]
    assert not any(isinstance(e, Resync) for e in Replay(frames, exchange="coinone"))


def test_a_crossed_book_resyncs_that_market_only(coinone: CoinoneAdapter) -> None:
    """A book whose bid reaches its ask is discarded and resubscribed; other books are untouched."""
    plan = coinone.plan([Subscription("BTC/KRW", "book"), Subscription("XRP/KRW", "book")])[0]
    coinone.connected(plan, T)
    coinone.receive(CONN, raw("orderbook.json"), T)
    xrp = edited(
        "orderbook.json",
        target_currency="XRP",
        asks=[{"price": "700", "qty": "1"}],
        bids=[{"price": "699", "qty": "1"}],
    )
    coinone.receive(CONN, xrp, T)
    crossed = edited("orderbook.json", timestamp=1705288919000, bids=[{"price": "58412000", "qty": "1"}])
    out = coinone.receive(CONN, crossed, T + 1)
    assert out[0] == Resync("coinone", "BTC/KRW", None, T + 1, "crossed", out[0].detail)  # type: ignore[union-attr]
    topic = '"topic":{"quote_currency":"KRW","target_currency":"BTC"}'
    assert out[1:] == [
        SendFrame(CONN, '{"request_type":"UNSUBSCRIBE","channel":"ORDERBOOK",' + topic + "}"),
        SendFrame(CONN, '{"request_type":"SUBSCRIBE","channel":"ORDERBOOK",' + topic + "}"),
    ]
    assert not coinone.book("BTC/KRW").synced  # type: ignore[union-attr]
    assert coinone.book("XRP/KRW").synced  # type: ignore[union-attr]


def test_a_stale_book_is_resubscribed(coinone: CoinoneAdapter) -> None:
    """No book message for ``book_stale_after``: resync as ``stale``, and the resubscription brings the book."""
    plan = coinone.plan([Subscription("BTC/KRW", "book")])[0]
    coinone.connected(plan, T)
    coinone.receive(CONN, raw("orderbook.json"), T)
    out = coinone.check(T + coinone.book_stale_after + 1)
    assert [type(e) for e in out] == [Resync, SendFrame, SendFrame]
    assert isinstance(out[0], Resync) and out[0].reason == "stale"


# -- candles ---------------------------------------------------------------------------------------


def test_chart_bar_forms_and_closes(coinone: CoinoneAdapter) -> None:
    """The forming bar is emitted open; the next bar's first message closes it."""
    forming = Candle(
        "coinone",
        "XRP/KRW",
        1693560360.01,
        T,
        "1m",
        1693560360.0,
        1693560420.0,
        698.7,
        699.5,
        683.9,
        687.9,
        80021677.1681579,
        None,
        False,
    )
    assert coinone.receive(CONN, raw("chart.json"), T) == [forming]
    later = edited("chart.json", candle_timestamp=1693560420000, timestamp=1693560420100, first="687.9", high="688")
    out = coinone.receive(CONN, later, T + 60)
    assert out[0] == msgspec.structs.replace(forming, received=T + 60, closed=True)
    assert isinstance(out[1], Candle) and (out[1].start, out[1].open, out[1].closed) == (1693560420.0, 687.9, False)
    # A bar older than the forming one (a resubscription repeating history) is not emitted again.
    assert coinone.receive(CONN, raw("chart.json"), T + 61) == []


def test_chart_short_format(coinone: CoinoneAdapter) -> None:
    """SHORT chart keys (``iv``, ``ct``, ``fi`` ...) read the same bar."""
    [bar] = coinone.receive(CONN, raw("chart_short.json"), T)
    assert isinstance(bar, Candle)
    assert (bar.symbol, bar.interval, bar.start, bar.end, bar.open, bar.close, bar.volume) == (
        "XRP/KRW",
        "1m",
        1693560360.0,
        1693560420.0,
        698.7,
        687.9,
        79912892.7741579,
    )


# -- replies and bad frames ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [("subscribed.json", "ack"), ("unsubscribed.json", "ack"), ("pong.json", "pong"), ("connected.json", "connected")],
)
def test_replies_are_counted_not_data(coinone: CoinoneAdapter, name: str, kind: str) -> None:
    """Acknowledgements, pongs and the greeting carry no market data and do not count as data."""
    assert coinone.receive(CONN, raw(name), T) == []
    assert coinone.stats[f"ignored.{kind}"] == 1
    assert CONN not in coinone.data_at


def test_private_channels_on_a_shared_recording_are_ignored(coinone: CoinoneAdapter) -> None:
    """``MYORDER``/``MYASSET`` are Coinone channels this adapter does not use: counted, not errors."""
    frame = b'{"response_type":"DATA","channel":"MYASSET","data":{"asset":[]}}'
    assert coinone.receive(CONN, frame, T) == []
    assert coinone.stats["ignored.myasset"] == 1


def test_error_reply_is_reported(coinone: CoinoneAdapter) -> None:
    """``ERROR`` replies are rejections: one error naming the code and message."""
    [error] = coinone.receive(CONN, raw("error.json"), T)
    assert isinstance(error, Error) and (error.reason, error.detail) == ("rejected", "160012: Invalid Topic")
    [error] = coinone.receive(CONN, raw("error_type.json"), T)
    assert isinstance(error, Error) and error.detail == "160011: Invalid Type"


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b'{"response_type":"DATA","channel":"ORDERBOOK","data":{"quote_currency":"KRW"', "malformed"),
        (b'{"response_type":"DATA","channel":"CANDLES","data":{}}', "unknown_channel"),
        (b'{"response_type":"GREETING"}', "unknown_message"),
        (b"{}", "unknown_message"),
        (b"[]", "malformed"),
        (edited("trade.json", target_currency="NOSUCHCOIN"), "unknown_symbol"),
        (edited("trade.json", quote_currency="USDT"), "unknown_symbol"),
        (edited("trade.json", price="NaN"), "malformed"),
        (edited("orderbook.json", id="1" * 25), "malformed"),
        (edited("orderbook.json", bids=[{"price": "58292000", "qty": "-1"}]), "malformed"),
        (edited("chart.json", interval="7m"), "malformed"),
    ],
)
def test_bad_frames_become_one_error_each(coinone: CoinoneAdapter, frame: bytes, reason: str) -> None:
    """Anything that is no Coinone message, or names an unknown market, is one ``error`` event."""
    out = coinone.receive(CONN, frame, T)
    assert [(type(e), e.reason) for e in out] == [(Error, reason)]  # type: ignore[union-attr]


def test_lower_case_markets_are_read(coinone: CoinoneAdapter) -> None:
    """The socket answers in upper case even to lower-case topics; lower case is read anyway."""
    [trade] = coinone.receive(CONN, edited("trade.json", quote_currency="krw", target_currency="xrp"), T)
    assert isinstance(trade, Trade) and trade.symbol == "XRP/KRW"


@pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")
def test_fast_path_routes_books_trades_and_tickers(coinone: CoinoneAdapter) -> None:
    """After the first frame of a channel, its KRW frames are routed; the events are the same."""
    frames = [f.decode() for f in (raw("orderbook.json"), raw("trade.json"), raw("ticker.json"))] * 2
    frames.append(edited("ticker.json", bid_best_price="0").decode())  # declined by the route: zero is no price
    routed = [coinone.receive(CONN, f, T) for f in frames]
    assert len(coinone._router) == 3
    with speedups.disabled():
        plain = CoinoneAdapter()
    plain.answer(MARKETS, 200, raw("markets.json"), T)
    assert isinstance(plain._router, fastpath.NoRouter)
    assert [plain.receive(CONN, f, T) for f in frames] == routed
    assert routed[-1][0].bid is None  # type: ignore[union-attr]


# -- plans -----------------------------------------------------------------------------------------


def test_plan_is_one_request_per_channel_and_market(coinone: CoinoneAdapter) -> None:
    """ "One subscribe message per market per channel", upper case, the PING keepalive, books listed."""
    subs = [Subscription("BTC/KRW", ch) for ch in ("trades", "ticker", "book", "candles")]
    [plan] = coinone.plan([*subs, Subscription("USDT/KRW", "book")])
    topic = '"topic":{"quote_currency":"KRW","target_currency":"BTC"}'
    assert plan.subscribe == [
        '{"request_type":"SUBSCRIBE","channel":"TRADE",' + topic + "}",
        '{"request_type":"SUBSCRIBE","channel":"TICKER",' + topic + "}",
        '{"request_type":"SUBSCRIBE","channel":"ORDERBOOK",' + topic + "}",
        '{"request_type":"SUBSCRIBE","channel":"CHART","topic":{"quote_currency":"KRW","target_currency":"BTC","interval":"1m"}}',
        '{"request_type":"SUBSCRIBE","channel":"ORDERBOOK","topic":{"quote_currency":"KRW","target_currency":"USDT"}}',
    ]
    assert (plan.conn, plan.url, plan.symbols) == (CONN, "wss://stream.coinone.co.kr", ["BTC/KRW", "USDT/KRW"])
    assert (plan.app_ping, plan.app_ping_interval, plan.ping_interval) == ('{"request_type":"PING"}', 20.0, None)
    assert plan.idle_timeout == 180.0


def test_plan_spreads_topics_within_twenty_connections() -> None:
    """Past ``topics_per_connection`` topics a plan opens more sockets, never more than 20."""
    adapter = CoinoneAdapter()
    body = {
        "result": "success",
        "markets": [{"quote_currency": "KRW", "target_currency": f"C{n}"} for n in range(2000)],
    }
    adapter.answer(MARKETS, 200, orjson.dumps(body), T)
    plans = adapter.plan([Subscription(f"C{n}/KRW", "book") for n in range(700)])
    assert [len(p.subscribe) for p in plans] == [300, 300, 100]
    assert plans[2].symbols == [f"C{n}/KRW" for n in range(600, 700)]
    many = adapter.plan([Subscription(f"C{n}/KRW", ch) for n in range(2000) for ch in ("book", "trades", "ticker")])
    assert len(many) == 20 and sum(len(p.subscribe) for p in many) == 6000


def test_plan_short_format_and_refusals(coinone: CoinoneAdapter) -> None:
    """``SHORT`` adds ``"format":"SHORT"``; unknown intervals, channels and formats are refused."""
    coinone.wire_format = "SHORT"
    [plan] = coinone.plan([Subscription("BTC/KRW", "trades")])
    assert plan.subscribe[0].endswith(',"format":"SHORT"}')
    with pytest.raises(UsageError, match="chart interval"):
        coinone.plan([Subscription("BTC/KRW", "candles", "12h")])
    with pytest.raises(UnknownChannel):
        coinone.plan([Subscription("BTC/KRW", "funding")])
    with pytest.raises(UnknownSymbol):
        coinone.plan([Subscription("BTC/USDT", "book")])
    coinone.wire_format = "COMPACT"
    with pytest.raises(UsageError, match="format"):
        coinone.plan([Subscription("BTC/KRW", "book")])


def test_registry_and_hosts() -> None:
    """``coinone`` is registered and recognises captures of its stream host."""
    assert EXCHANGES["coinone"] is CoinoneAdapter
    assert CoinoneAdapter.recognizes("wss://stream.coinone.co.kr")
    assert CoinoneAdapter.recognizes("wss://stream.coinone.co.kr/")
    assert not CoinoneAdapter.recognizes("wss://stream.coinone.co.kr.example.com")
    assert CoinoneAdapter.match_key("https://api.coinone.co.kr/public/v2/markets/KRW") == (
        "api.coinone.co.kr",
        "/public/v2/markets/KRW",
        "",
    )


# -- replay ----------------------------------------------------------------------------------------


def test_a_capture_replays_with_both_formats() -> None:
    """A capture of the real host (DEFAULT and SHORT frames) replays into exact events."""
    frames = [
        Frame("http", "http", T, raw("markets.json").decode(), MARKETS.url),
        Frame("connect", "c1", T + 0.1, "", "wss://stream.coinone.co.kr"),
        Frame("recv", "c1", T + 0.2, raw("connected.json").decode()),
        Frame("recv", "c1", T + 0.3, raw("orderbook_short.json").decode()),
        Frame("recv", "c1", T + 0.4, raw("trade_at_the_ask.json").decode()),
        Frame("recv", "c1", T + 0.5, raw("pong.json").decode()),
    ]
    replay = Replay(frames)
    events = list(replay)
    assert replay.exchange == "coinone"
    assert [type(e) for e in events] == [Connected, Book, Trade]
    assert isinstance(events[2], Trade) and events[2].side == "buy" and events[2].received == T + 0.4
    assert replay.adapter.stats["ignored.connected"] == 1


def test_a_synthetic_session_replays_whole() -> None:
    """The simulator's session (instruments, acks, books sent on subscribe, data) gives no errors."""
    frames = synthetic_frames("coinone", ["BTC/KRW", "USDT/KRW"], frames=400, seed=2)
    events = list(Replay(frames, exchange="coinone"))
    kinds = {type(e) for e in events}
    assert Error not in kinds and {Book, Trade, Ticker, Candle} <= kinds
    usdt = [e for e in events if isinstance(e, Book) and e.symbol == "USDT/KRW"]
    assert usdt and all(1300 < e.bids[0][0] < 1500 for e in usdt)


def test_plan_connection_carries_its_books(coinone: CoinoneAdapter) -> None:
    """The book's connection is where its resubscription goes."""
    plan = ConnectionPlan("coinone.7", "wss://stream.coinone.co.kr", symbols=["BTC/KRW"])
    coinone.connected(plan, T)
    assert coinone.book_conn("BTC/KRW") == "coinone.7"
