"""Kraken Futures adapter: documented feed messages to exact events, instruments (both listing
formats), contract conversions, the ``seq`` rule, funding units, control frames and bad input."""

from __future__ import annotations

import orjson
import pytest

from collector.actions import SendFrame
from collector.errors import UsageError
from collector.exchanges import ConnectionPlan, Subscription
from collector.exchanges.kraken_futures import KrakenFuturesAdapter
from collector.models import Book, DerivativeTicker, Error, Liquidation, Resync, Ticker, Trade
from tests.conftest import fixture_text

# Books are built inside these tests: run them with the C accelerators and in pure Python.
pytestmark = pytest.mark.usefixtures("both_paths")

T = 1700000000.5
URL = "wss://futures.kraken.com/ws/v1"


def raw(name: str) -> str:
    return fixture_text(f"kraken_futures/{name}")


def edited(name: str, **fields: object) -> str:
    """A fixture with some top-level fields replaced."""
    return orjson.dumps(orjson.loads(raw(name)) | fields).decode()


def loaded(listing: str = "instruments.json") -> KrakenFuturesAdapter:
    adapter = KrakenFuturesAdapter()
    (request,) = adapter.instrument_requests()
    assert adapter.on_http(request, 200, raw(listing).encode(), T) == []
    adapter.on_connect(ConnectionPlan("c", URL), T)
    return adapter


@pytest.fixture
def kf() -> KrakenFuturesAdapter:
    return loaded()


# -- instruments ----------------------------------------------------------------------------------


def test_instruments_inverse_linear_perpetual_and_dated(kf: KrakenFuturesAdapter) -> None:
    """PI/FI settle in the coin, PF/FF in USD; a ``lastTradingTime`` makes a dated future; indices are skipped."""
    got = {i.native: (i.symbol, i.kind, i.settle, i.expiry, i.contract_size, i.active) for i in kf.instruments}
    assert got == {
        "PI_XBTUSD": ("BTC/USD:BTC", "swap", "BTC", None, 1.0, True),
        "PF_XBTUSD": ("BTC/USD:USD", "swap", "USD", None, 1.0, True),
        "FI_ETHUSD_261225": ("ETH/USD:ETH-261225", "future", "ETH", "261225", 1.0, True),
        "FF_XBTUSD_260925": ("BTC/USD:USD-260925", "future", "USD", "260925", 1.0, False),
    }
    assert kf.instruments.by_symbol("BTC/USD:BTC").native == "PI_XBTUSD"
    assert kf.instruments.symbol_of("PF_XBTUSD") == "BTC/USD:USD"
    pf, pi = kf.instruments.by_symbol("BTC/USD:USD"), kf.instruments.by_symbol("BTC/USD:BTC")
    assert (pf.tick_size, pf.step_size, pi.tick_size, pi.step_size) == (1.0, 0.0001, 0.5, 1.0)


def test_legacy_listing_without_base_and_quote() -> None:
    """Older listings (lowercase, no ``base``/``quote``) are read from the documented symbol layout."""
    adapter = loaded("instruments_legacy.json")
    assert {i.native: i.symbol for i in adapter.instruments} == {
        "PI_XBTUSD": "BTC/USD:BTC",
        "FI_ETHUSD_210924": "ETH/USD:ETH-210924",
    }


def test_listing_error_is_an_error_event() -> None:
    """``result: error`` is reported as an error event."""
    adapter = KrakenFuturesAdapter()
    (request,) = adapter.instrument_requests()
    assert request.url == "https://futures.kraken.com/derivatives/api/v3/instruments"
    (error,) = adapter.on_http(request, 200, raw("instruments_error.json").encode(), T)
    assert isinstance(error, Error)
    assert error.detail.endswith("instruments: error apiLimitExceeded")


def test_hosts() -> None:
    """Production and demo hosts are recognised; the spot hosts are not."""
    assert KrakenFuturesAdapter.recognizes(URL)
    assert KrakenFuturesAdapter.recognizes("wss://demo-futures.kraken.com/ws/v1")
    assert not KrakenFuturesAdapter.recognizes("wss://ws.kraken.com/v2")


# -- books ----------------------------------------------------------------------------------------


def test_book_snapshot_then_consecutive_updates(kf: KrakenFuturesAdapter) -> None:
    """``book_snapshot`` loads the book at ``seq``; each ``book`` message must carry the next ``seq``."""
    assert kf.parse("c", raw("book_snapshot.json"), T) == [
        Book(
            "kraken_futures",
            "BTC/USD:BTC",
            1612269825.817,
            T,
            True,
            [(34892.5, 6385.0), (34892.0, 10924.0)],
            [(34911.5, 20598.0), (34912.0, 2300.0)],
            326072249,
        )
    ]
    delta = edited("book.json", seq=326072250, price=34911.5)
    assert kf.parse("c", delta, T + 1) == [
        Book("kraken_futures", "BTC/USD:BTC", 1612269953.629, T + 1, False, [], [(34911.5, 0.0)], 326072250)
    ]
    buy = edited("book.json", seq=326072251, side="buy", price=34893.0, qty=500)
    (book,) = kf.parse("c", buy, T + 2)
    assert isinstance(book, Book)
    assert (book.bids, book.sequence) == ([(34893.0, 500.0)], 326072251)
    top = kf.book("BTC/USD:BTC")
    assert top is not None
    assert (top.best_bid(), top.best_ask()) == ((34893.0, 500.0), (34912.0, 2300.0))


def test_a_skipped_seq_resyncs_that_book_only(kf: KrakenFuturesAdapter) -> None:
    """A missing ``seq`` rebuilds the one book (unsubscribe + subscribe); the other contract stays live."""
    kf.parse("c", raw("subscribed.json"), T)
    kf.parse("c", raw("book_snapshot.json"), T)
    kf.parse("c", edited("book_snapshot.json", product_id="PF_XBTUSD", seq=5), T)
    out = kf.parse("c", edited("book.json", seq=326072251), T + 1)
    assert out[1:] == [
        SendFrame("c", '{"event":"unsubscribe","feed":"book","product_ids":["PI_XBTUSD"]}'),
        SendFrame("c", '{"event":"subscribe","feed":"book","product_ids":["PI_XBTUSD"]}'),
    ]
    resync = out[0]
    assert isinstance(resync, Resync)
    assert (resync.symbol, resync.reason, resync.detail) == (
        "BTC/USD:BTC",
        "gap",
        "expected u=326072250, got u=326072251",
    )
    assert kf.book("BTC/USD:USD").synced  # type: ignore[union-attr]
    # The new snapshot after the resubscription makes it live again.
    kf.parse("c", edited("book_snapshot.json", seq=326080000), T + 2)
    assert kf.book("BTC/USD:BTC").synced  # type: ignore[union-attr]


def test_heartbeat_keeps_the_connections_books_fresh(kf: KrakenFuturesAdapter) -> None:
    """The heartbeat feed says nothing changed: a quiet book does not go stale while it beats."""
    kf.parse("c", raw("book_snapshot.json"), T)
    assert kf.receive("c", raw("heartbeat.json"), T + 50) == []
    assert kf.check(T + 100) == []
    resync, *_ = kf.check(T + 111)
    assert isinstance(resync, Resync)
    assert resync.reason == "stale"


# -- trades ---------------------------------------------------------------------------------------


def test_inverse_trade_amount_is_contracts_over_price(kf: KrakenFuturesAdapter) -> None:
    """15000 one-dollar contracts at 34969.5 are 15000 / 34969.5 BTC; ``side`` is the taker's."""
    assert kf.parse("c", raw("trade.json"), T) == [
        Trade(
            "kraken_futures",
            "BTC/USD:BTC",
            1612266317.519,
            T,
            34969.5,
            15000 / 34969.5,
            "sell",
            "05af78ac-a774-478c-a50c-8b9c234e071e",
        )
    ]


def test_linear_trade_amount_is_contracts_times_size(kf: KrakenFuturesAdapter) -> None:
    """PF contracts are one BTC each: the size is the amount."""
    (trade,) = kf.parse("c", edited("trade.json", product_id="PF_XBTUSD", qty=0.0125), T)
    assert isinstance(trade, Trade)
    assert (trade.symbol, trade.amount) == ("BTC/USD:USD", 0.0125)


@pytest.mark.parametrize("kind", ["liquidation", "partialLiquidation"])
def test_liquidation_trades_are_also_liquidations(kf: KrakenFuturesAdapter, kind: str) -> None:
    """``type: liquidation`` (or a partial one): a trade and a liquidation with the taker's (the
    liquidation order's) side."""
    out = kf.parse("c", edited("trade.json", type=kind), T)
    assert out[1] == Liquidation(
        "kraken_futures",
        "BTC/USD:BTC",
        1612266317.519,
        T,
        "sell",
        34969.5,
        15000 / 34969.5,
        "05af78ac-a774-478c-a50c-8b9c234e071e",
    )
    assert isinstance(out[0], Trade)


def test_trade_snapshot_is_emitted_once_and_fills_in_what_was_missed(kf: KrakenFuturesAdapter) -> None:
    """The snapshot on subscribe is emitted; after a reconnect only trades newer than the last seen are."""
    (first,) = kf.parse("c", raw("trade_snapshot.json"), T)
    uid = "caa9c653-420b-4c24-a9f1-462a054d86f1"
    assert first == Trade("kraken_futures", "BTC/USD:BTC", 1612269657.781, T, 34893, 440 / 34893, "sell", uid)
    assert kf.parse("c", raw("trade_snapshot.json"), T) == []
    assert kf.stats["ignored.trade_snapshot"] == 1
    older = orjson.loads(raw("trade_snapshot.json"))["trades"][0]
    newer = [older | {"seq": 655510, "uid": "b"}, older | {"seq": 655509, "uid": "a"}, older]
    snapshot = orjson.dumps({"feed": "trade_snapshot", "product_id": "PI_XBTUSD", "trades": newer}).decode()
    assert [t.id for t in kf.parse("c", snapshot, T + 1)] == ["a", "b"]  # type: ignore[union-attr]
    # The documentation's entries name neither feed nor product: the snapshot does.
    bare = [{k: v for k, v in t.items() if k not in ("feed", "product_id")} | {"seq": 655511} for t in newer[:1]]
    snapshot = orjson.dumps({"feed": "trade_snapshot", "product_id": "PI_XBTUSD", "trades": bare}).decode()
    (trade,) = kf.parse("c", snapshot, T + 2)
    assert isinstance(trade, Trade)
    assert (trade.symbol, trade.id, trade.amount) == ("BTC/USD:BTC", "b", 440 / 34893)


# -- tickers and funding ----------------------------------------------------------------------------


def test_ticker_gives_a_ticker_and_a_derivative_ticker(kf: KrakenFuturesAdapter) -> None:
    """The funding rate is ``relative_funding_rate`` (a fraction), not the absolute ``funding_rate``."""
    ticker, derivative = kf.parse("c", raw("ticker.json"), T)
    assert ticker == Ticker(
        "kraken_futures",
        "BTC/USD:BTC",
        1612270825.253,
        T,
        34832.5,
        42864.0,
        34847.5,
        2300.0,
        last=34852.0,
        quote_volume=262306237.0,
    )
    assert derivative == DerivativeTicker(
        "kraken_futures",
        "BTC/USD:BTC",
        1612270825.253,
        T,
        mark_price=34844.25,
        index_price=34803.45,
        funding_rate=0.000135046879166667,
        next_funding_time=1612281600.0,
        predicted_funding_rate=0.000146960125,
        open_interest=107706940.0,
        open_interest_value=107706940.0,
        last_price=34852.0,
    )
    # The same values again change nothing: no second derivative ticker.
    assert [type(e) for e in kf.parse("c", raw("ticker.json"), T + 1)] == [Ticker]


def test_linear_open_interest_value_and_absent_funding(kf: KrakenFuturesAdapter) -> None:
    """PF open interest is in BTC (value = OI x mark); an absent rate on a perpetual is 0 ("not populated")."""
    msg = orjson.loads(raw("ticker.json")) | {"product_id": "PF_XBTUSD", "openInterest": 2.5}
    del msg["relative_funding_rate"], msg["relative_funding_rate_prediction"]
    _, derivative = kf.parse("c", orjson.dumps(msg).decode(), T)
    assert isinstance(derivative, DerivativeTicker)
    assert (derivative.funding_rate, derivative.predicted_funding_rate) == (0.0, 0.0)
    assert (derivative.open_interest, derivative.open_interest_value) == (2.5, 2.5 * 34844.25)


def test_dated_futures_have_no_funding(kf: KrakenFuturesAdapter) -> None:
    """On ``FI_`` contracts the funding fields stay ``None``."""
    msg = orjson.loads(raw("ticker.json")) | {"product_id": "FI_ETHUSD_261225"}
    for key in ("relative_funding_rate", "relative_funding_rate_prediction", "next_funding_rate_time"):
        del msg[key]
    _, derivative = kf.parse("c", orjson.dumps(msg).decode(), T)
    assert isinstance(derivative, DerivativeTicker)
    assert (derivative.funding_rate, derivative.next_funding_time, derivative.mark_price) == (None, None, 34844.25)


def test_ticker_lite_quotes_without_sizes(kf: KrakenFuturesAdapter) -> None:
    """``ticker_lite`` (what cryptofeed subscribes): bid/ask only; once acked, ``ticker`` adds funding only."""
    assert kf.parse("c", raw("ticker_lite.json"), T) == [
        Ticker("kraken_futures", "ETH/USD:ETH-261225", None, T, 1753.45, None, 1760.35, None, quote_volume=6899673.0)
    ]
    assert kf.parse("c", raw("subscribed_ticker_lite.json"), T) == []
    assert [type(e) for e in kf.parse("c", raw("ticker.json"), T)] == [DerivativeTicker]


def test_only_the_channels_asked_for_are_emitted(kf: KrakenFuturesAdapter) -> None:
    """Planned for funding and liquidations only: the ticker and trade feeds give no tickers or plain trades."""
    kf.plan([Subscription("BTC/USD:BTC", "funding"), Subscription("BTC/USD:BTC", "liquidations")])
    assert [type(e) for e in kf.parse("c", raw("ticker.json"), T)] == [DerivativeTicker]
    assert kf.parse("c", raw("trade.json"), T) == []
    assert [type(e) for e in kf.parse("c", edited("trade.json", type="liquidation", seq=653356), T)] == [Liquidation]


# -- control and bad frames -----------------------------------------------------------------------


def test_control_frames_are_counted(kf: KrakenFuturesAdapter) -> None:
    """``info``, subscription acks, heartbeats and private feeds carry no market data."""
    for name in ("info.json", "subscribed.json", "heartbeat.json", "open_positions.json"):
        assert kf.parse("c", raw(name), T) == []
    assert {k: v for k, v in kf.stats.items() if k.startswith("ignored.")} == {
        "ignored.info": 1,
        "ignored.ack": 1,
        "ignored.heartbeat": 1,
        "ignored.open_positions": 1,
    }


def test_bad_frames_are_errors(kf: KrakenFuturesAdapter) -> None:
    """A rejection, an unknown feed or product, bad values and junk each give one error."""
    frames = {
        raw("error.json"): "rejected",
        edited("book.json", feed="nosuch"): "unknown_feed",
        edited("trade.json", product_id="PI_NOSUCH"): "unknown_symbol",
        edited("trade.json", side="up"): "malformed",
        edited("book.json", side="middle"): "malformed",
        edited("book.json", qty=-1): "malformed",
        edited("ticker.json", markPrice="NaN"): "malformed",
        edited("trade.json", time=2**60): "malformed",
        '{"event":"nosuch"}': "unknown_message",
        "[]": "malformed",
    }
    for frame, reason in frames.items():
        (error,) = kf.receive("c", frame, T)
        assert isinstance(error, Error), frame
        assert error.reason == reason, frame
    assert kf.receive("c", raw("error.json"), T)[0].detail == "error: Invalid product id"  # type: ignore[union-attr]


# -- plans ------------------------------------------------------------------------------------------


def test_plan_subscribes_heartbeat_then_one_request_per_feed(kf: KrakenFuturesAdapter) -> None:
    """Funding rides on ``ticker``, liquidations on ``trade``; protocol pings every 30 s ("at least every 60")."""
    subs = [Subscription(s, c) for s in ("BTC/USD:BTC", "BTC/USD:USD") for c in ("trades", "book", "funding")]
    subs.append(Subscription("BTC/USD:BTC", "liquidations"))
    (plan,) = kf.plan(subs)
    assert plan.subscribe == [
        '{"event":"subscribe","feed":"heartbeat"}',
        '{"event":"subscribe","feed":"trade","product_ids":["PI_XBTUSD","PF_XBTUSD"]}',
        '{"event":"subscribe","feed":"book","product_ids":["PI_XBTUSD","PF_XBTUSD"]}',
        '{"event":"subscribe","feed":"ticker","product_ids":["PI_XBTUSD","PF_XBTUSD"]}',
    ]
    assert (plan.url, plan.symbols, plan.ping_interval) == (URL, ["BTC/USD:BTC", "BTC/USD:USD"], 30.0)
    with pytest.raises(UsageError):
        kf.plan([Subscription("BTC/USD:BTC", "candles")])


# -- the simulator speaks Kraken Futures -----------------------------------------------------------


def test_simulator_book_messages_link_and_never_cross() -> None:
    """One message per level, ``seq`` + 1 each, removals first: every intermediate book is uncrossed."""
    from collector.book import OrderBook
    from collector.exchanges.kraken_futures.sim import KrakenFuturesWire

    wire = KrakenFuturesWire()
    spec = wire.instrument("BTC/USD:USD", 2)
    assert spec.native == "PF_XBTUSD"
    market = wire.market(spec, 2, 40)
    session = wire.open("v1")
    control = wire.on_client_text(session, '{"event":"subscribe","feed":"book","product_ids":["pf_xbtusd"]}', {}, 0)
    assert orjson.loads(control.reply or "") == {"event": "error", "message": "Invalid product id"}
    markets = {spec.native: market}
    control = wire.on_client_text(
        session, '{"event":"subscribe","feed":"book","product_ids":["pf_xbtusd"]}', markets, 0
    )
    assert orjson.loads(control.reply or "") == {"event": "subscribed", "feed": "book", "product_ids": ["PF_XBTUSD"]}
    (snapshot,) = control.frames
    msg = orjson.loads(snapshot)
    book = OrderBook()
    book.load([(lv["price"], lv["qty"]) for lv in msg["bids"]], [(lv["price"], lv["qty"]) for lv in msg["asks"]], None)
    seq = msg["seq"]
    for step in range(200):
        for message in wire.encode(spec, market.step(1_700_000_000_000 + step * 20), control.subscribe):
            delta = orjson.loads(message.text)
            assert delta["seq"] == seq + 1
            seq = delta["seq"]
            level = [(delta["price"], delta["qty"])]
            book.apply(level if delta["side"] == "buy" else [], level if delta["side"] == "sell" else [])
            assert not book.crossed()
    assert seq == market.last_id


def test_a_dropped_connection_restarts_derivative_tickers(kf: KrakenFuturesAdapter) -> None:
    """After a reconnect the same values are news again: the first ticker of the new connection is emitted."""
    kf.parse("c", raw("ticker.json"), T)
    assert [type(e) for e in kf.parse("c", raw("ticker.json"), T + 1)] == [Ticker]
    kf.disconnected("c", "closed", T + 2)
    kf.on_connect(ConnectionPlan("c", URL), T + 3)
    assert [type(e) for e in kf.parse("c", raw("ticker.json"), T + 4)] == [Ticker, DerivativeTicker]
