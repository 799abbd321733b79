"""Bitstamp adapter: each documented message shape parsed to exact values; the book rule; plans; bad input."""

from __future__ import annotations

import orjson
import pytest

from collector.actions import Reconnect, RestRequest
from collector.errors import UnknownSymbol, UsageError
from collector.exchanges import ConnectionPlan, Subscription, create
from collector.exchanges.base import Adapter, Output
from collector.exchanges.bitstamp import BitstampAdapter
from collector.exchanges.bitstamp.sim import BitstampWire
from collector.models import Book, DerivativeTicker, Disconnected, Error, Resync, Ticker, Trade
from collector.simulator.wire import RestCall, Session
from tests.conftest import fixture_text

# Every test here runs with the C accelerators and in pure Python, to the same values.
pytestmark = pytest.mark.usefixtures("both_paths")

SNAPSHOT_URL = "https://www.bitstamp.net/api/v2/order_book/btcusd/?group=1"


def fixture(name: str) -> str:
    return fixture_text(f"bitstamp/{name}.json")


@pytest.fixture
def adapter() -> Adapter:
    a = create("bitstamp")
    (request,) = a.instrument_requests()
    assert request == RestRequest("https://www.bitstamp.net/api/v2/trading-pairs-info/", "instruments", 1)
    assert a.on_http(request, 200, fixture("trading_pairs_info").encode(), 0.0) == []
    return a


def synced(a: Adapter, received: float = 2.0) -> Output:
    """Feed the documented diff, answer its snapshot request with the documented snapshot."""
    (request,) = a.parse("c", fixture("diff_order_book"), 1.0)
    assert isinstance(request, RestRequest)
    return a.on_http(request, 200, fixture("order_book_snapshot").encode(), received)


# -- instruments ----------------------------------------------------------------------------------


def test_instruments_map_both_ways_from_the_pair_listing(adapter: Adapter) -> None:
    """url_symbol is the native id; the unified symbol comes from the listed name, ticks from the decimals."""
    btc = adapter.instruments.by_native("btcusd")
    assert (btc.symbol, btc.base, btc.quote, btc.kind, btc.tick_size, btc.step_size, btc.active) == (
        "BTC/USD",
        "BTC",
        "USD",
        "spot",
        1.0,
        1e-08,
        True,
    )
    doge = adapter.instruments.by_symbol("DOGE/EUR")
    assert (doge.native, doge.tick_size, doge.step_size) == ("dogeeur", 1e-05, 0.01)
    assert adapter.instruments.symbol_of("usdcusd") == "USDC/USD"
    assert adapter.instruments.by_symbol("ETH/BTC").active is False  # trading "Disabled"
    with pytest.raises(UnknownSymbol):
        adapter.instruments.by_symbol("NOPE/USD")


def test_perpetuals_are_linear_swaps_settled_in_the_quote(adapter: Adapter) -> None:
    """btcusd-perp ("BTC/USD-PERP", market_type PERPETUAL) is BTC/USD:USD, one contract = 1 BTC."""
    perp = adapter.instruments.by_native("btcusd-perp")
    assert (perp.symbol, perp.kind, perp.settle, perp.contract_size, perp.tick_size, perp.step_size) == (
        "BTC/USD:USD",
        "swap",
        "USD",
        1.0,
        1.0,
        1e-05,
    )
    assert adapter.instruments.by_symbol("BTC/USD:USD").native == "btcusd-perp"


def test_an_entry_of_an_unknown_shape_leaves_the_rest_of_the_listing_mapped() -> None:
    """One entry with a precision that is no number is left out; the other pairs map."""
    entries = orjson.loads(fixture("trading_pairs_info"))
    entries[0]["base_decimals"] = "eight"
    a = create("bitstamp")
    (request,) = a.instrument_requests()
    assert a.on_http(request, 200, orjson.dumps(entries), 0.0) == []
    assert "BTC/USD" not in a.instruments and a.instruments.symbol_of("dogeeur") == "DOGE/EUR"


def test_a_listing_that_is_not_one_is_an_error_event() -> None:
    """An error body instead of the listing: an error event, no instruments."""
    a = create("bitstamp")
    (request,) = a.instrument_requests()
    (err,) = a.on_http(request, 200, b'{"status": "error", "reason": "Not found"}', 0.0)
    assert isinstance(err, Error) and err.reason == "malformed"
    assert len(a.instruments) == 0


# -- trades and tickers ---------------------------------------------------------------------------


def test_trade_type_is_the_taker_side(adapter: Adapter) -> None:
    """type 1 = sell: the sell order (4621329035) is the newer one, the taker; µs time; id as text."""
    (trade,) = adapter.parse("c", fixture("trade"), 5.0)
    assert trade == Trade("bitstamp", "BTC/USD", 1580336751488517 / 1e6, 5.0, 9334.73, 0.00598803, "sell", "104007706")


def test_trade_amount_comes_from_the_exact_decimal(adapter: Adapter) -> None:
    """amount is a binary float on the wire (0.014140160000000001); amount_str is the amount."""
    (trade,) = adapter.parse("c", fixture("trade_float_amount"), 5.0)
    assert isinstance(trade, Trade)
    assert (trade.amount, trade.price, trade.side, trade.id) == (0.01414016, 12700.0, "sell", "93215787")


def test_trade_as_bytes_gives_the_same_event(adapter: Adapter) -> None:
    """A binary frame of the same text is routed from its envelope and gives the same trade."""
    assert adapter.parse("c", fixture("trade").encode(), 5.0) == adapter.parse("c", fixture("trade"), 5.0)


def test_perpetual_trade_amount_is_base_units(adapter: Adapter) -> None:
    """Perpetual contracts are 1 BTC: the amount stays as sent; the id is past 2**53."""
    (trade,) = adapter.parse("c", fixture("trade_perpetual"), 5.0)
    assert trade == Trade(
        "bitstamp", "BTC/USD:USD", 1789456400586000 / 1e6, 5.0, 77204.0, 0.00921, "buy", "2001939623936278528"
    )


def test_ticker_is_the_top_of_order_book_and_only_when_it_changes(adapter: Adapter) -> None:
    """order_book_<pair> carries the top 100: its best bid and ask become a ticker, once per change."""
    (ticker,) = adapter.parse("c", fixture("order_book"), 3.0)
    assert ticker == Ticker("bitstamp", "BTC/USD", 1580336834607546 / 1e6, 3.0, 9328.28, 0.05925332, 9337.1, 0.03)
    deeper = fixture("order_book").replace('"0.63470860"', '"0.70000000"')  # the third bid level changed
    assert adapter.parse("c", deeper, 3.1) == []
    assert adapter.stats["unchanged_top"] == 1
    crossed = fixture("order_book").replace('"9337.10"', '"9300.00"')
    assert adapter.parse("c", crossed, 3.2) == []  # "self-corrects within the next message"
    assert adapter.stats["crossed_top"] == 1
    (perp,) = adapter.parse("c", fixture("order_book_perpetual"), 4.0)
    assert perp == Ticker("bitstamp", "BTC/USD:USD", 1789457617906487 / 1e6, 4.0, 77188.0, 0.41122, 77189.0, 0.41124)


def test_funding_rate_becomes_a_derivative_ticker_once_per_change(adapter: Adapter) -> None:
    """funding_rate_<pair>: mark, index, the rate as a fraction and the next funding time (epoch seconds)."""
    (ticker,) = adapter.parse("c", fixture("funding_rate"), 6.0)
    assert ticker == DerivativeTicker(
        "bitstamp",
        "BTC/USD:USD",
        1789457618.0,
        6.0,
        mark_price=77186.81199586,
        index_price=77177.99454545454,
        funding_rate=0.000123,
        next_funding_time=1789459200.0,
    )
    assert adapter.parse("c", fixture("funding_rate"), 7.0) == []  # nothing changed


# -- the book ---------------------------------------------------------------------------------------


def test_diff_waits_for_the_rest_snapshot_and_joins_by_microtimestamp(adapter: Adapter) -> None:
    """Diffs at or before the snapshot's microtimestamp are dropped; the first newer one applies."""
    older = fixture("diff_order_book").replace("1580336904228758", "1580336904227000")
    (request,) = adapter.parse("c", older, 0.5)
    assert request == RestRequest(SNAPSHOT_URL, "snapshot", 1, "BTC/USD", "c")
    assert adapter.parse("c", fixture("diff_order_book"), 1.0) == []  # buffered, already asked
    out = adapter.on_http(request, 200, fixture("order_book_snapshot").encode(), 2.0)
    assert out == [
        Book(
            "bitstamp",
            "BTC/USD",
            1580336904228000 / 1e6,
            2.0,
            True,
            [(9317.09, 1.0), (9296.14, 0.5), (9290.0, 0.6753084)],
            [(9333.85, 0.1), (9337.1, 0.03), (9340.85, 2.6782)],
            1580336904228000,
        ),
        Book(
            "bitstamp",
            "BTC/USD",
            1580336904228758 / 1e6,
            1.0,
            False,
            [(9317.09, 2.6791), (9296.14, 0.0), (9294.36, 0.04967421)],
            [(9333.85, 0.0), (9339.2, 0.2), (9339.66, 0.0), (9342.63, 4.9), (9343.66, 0.0), (9343.76, 2.87275947)],
            1580336904228758,
        ),
    ]
    book = adapter.book("BTC/USD")
    assert book is not None and book.synced
    assert book.best_bid() == (9317.09, 2.6791) and book.best_ask() == (9337.1, 0.03)
    assert book.bids() == {9290.0: 0.6753084, 9294.36: 0.04967421, 9317.09: 2.6791}
    assert book.asks() == {9337.1: 0.03, 9339.2: 0.2, 9340.85: 2.6782, 9342.63: 4.9, 9343.76: 2.87275947}


def test_live_diffs_must_be_newer_than_the_book(adapter: Adapter) -> None:
    """A diff the snapshot already holds (older microtimestamp) is skipped; a newer one applies."""
    synced(adapter)
    older = fixture("diff_order_book").replace("1580336904228758", "1580336904228500")
    assert adapter.parse("c", older, 3.0) == []
    assert adapter.books.stats["stale_delta"] == 1
    newer = orjson.dumps(
        {
            "data": {
                "timestamp": "1580336905",
                "microtimestamp": "1580336905000001",
                "bids": [],
                "asks": [["9337.10", "0"]],
            },
            "channel": "diff_order_book_btcusd",
            "event": "data",
        }
    ).decode()
    (delta,) = adapter.parse("c", newer, 4.0)
    assert isinstance(delta, Book) and (delta.sequence, delta.asks) == (1580336905000001, [(9337.1, 0.0)])
    book = adapter.book("BTC/USD")
    assert book is not None and book.best_ask() == (9339.2, 0.2)


def test_a_crossed_book_resyncs_that_symbol_only(adapter: Adapter) -> None:
    """No sequence to check: a diff that crosses the book is the loss made visible; only its book resyncs."""
    synced(adapter)
    (perp_request,) = adapter.parse("c", fixture("diff_order_book_perpetual"), 1.0)
    assert isinstance(perp_request, RestRequest) and perp_request.symbol == "BTC/USD:USD"
    snapshot = b'{"microtimestamp": "1789456316000000", "bids": [["77000", "1"]], "asks": [["77500", "1"]]}'
    assert [e.snapshot for e in adapter.on_http(perp_request, 200, snapshot, 1.5) if isinstance(e, Book)] == [
        True,
        False,
    ]
    crossing = (
        fixture("diff_order_book").replace("1580336904228758", "1580336906000000").replace('"9317.09"', '"9400.00"')
    )
    out = adapter.parse("c", crossing, 5.0)
    assert out[0] == Resync("bitstamp", "BTC/USD", None, 5.0, "crossed", "bid (9400.0, 2.6791) >= ask (9337.1, 0.03)")
    assert out[1:] == [RestRequest(SNAPSHOT_URL, "snapshot", 1, "BTC/USD", "c")]
    perp = adapter.book("BTC/USD:USD")
    assert perp is not None and perp.synced


def test_the_diff_subscription_ack_asks_for_the_snapshot(adapter: Adapter) -> None:
    """ "Subscribe, then fetch": a quiet book syncs on its snapshot without waiting for a first diff."""
    (request,) = adapter.parse("c", fixture("subscription_succeeded"), 1.0)
    assert request == RestRequest(SNAPSHOT_URL, "snapshot", 1, "BTC/USD", "c")
    (snapshot,) = adapter.on_http(request, 200, fixture("order_book_snapshot").encode(), 2.0)
    assert isinstance(snapshot, Book) and snapshot.snapshot and snapshot.sequence == 1580336904228000
    assert adapter.parse("c", fixture("subscription_succeeded"), 3.0) == []  # live already: nothing to ask
    trades_ack = fixture("subscription_succeeded").replace("diff_order_book_btcusd", "live_trades_btcusd")
    assert adapter.parse("c", trades_ack, 3.0) == []
    assert adapter.stats["ignored.ack"] == 3


def test_a_silent_book_resyncs_as_stale(adapter: Adapter) -> None:
    """No diff for book_stale_after seconds: resync with reason stale and a new snapshot request."""
    synced(adapter)
    assert adapter.check(2.0 + BitstampAdapter.book_stale_after - 1) == []
    out = adapter.check(2.0 + BitstampAdapter.book_stale_after + 1)
    assert [type(e) for e in out] == [Resync, RestRequest]
    assert isinstance(out[0], Resync) and out[0].reason == "stale"


def test_a_snapshot_asked_before_a_reconnect_is_not_joined(adapter: Adapter) -> None:
    """Its answer may lack diffs the dropped socket never delivered: dropped, and asked again."""
    adapter.connected(ConnectionPlan("c", "wss://ws.bitstamp.net", symbols=["BTC/USD"]), 0.0)
    (before,) = adapter.parse("c", fixture("diff_order_book"), 1.0)
    adapter.disconnected("c", "gone", 1.5)
    adapter.connected(ConnectionPlan("c", "wss://ws.bitstamp.net", symbols=["BTC/USD"]), 1.6)
    later = fixture("diff_order_book").replace("1580336904228758", "1580336905000000")
    (after,) = adapter.parse("c", later, 1.7)
    assert isinstance(before, RestRequest) and isinstance(after, RestRequest)
    assert before == after  # the same URL: the I/O layer sends it once, so the old answer may come
    assert adapter.on_http(before, 200, fixture("order_book_snapshot").encode(), 2.0) == []
    assert adapter.stats["snapshot_outdated"] == 1
    again = fixture("diff_order_book").replace("1580336904228758", "1580336905000001")
    (retry,) = adapter.parse("c", again, 2.1)
    snapshot = fixture("order_book_snapshot").replace("1580336904228000", "1580336905000000").encode()
    out = adapter.on_http(after, 200, snapshot, 2.5)
    assert [(e.snapshot, e.sequence) for e in out if isinstance(e, Book)] == [
        (True, 1580336905000000),
        (False, 1580336905000001),
    ]
    assert retry == after


def test_a_book_moving_to_another_connection_resyncs(adapter: Adapter) -> None:
    """In a capture, the recorder's reconnect shows as the diffs arriving on a new connection id."""
    synced(adapter)
    later = fixture("diff_order_book").replace("1580336904228758", "1580336905000000")
    out = adapter.parse("d", later, 6.0)
    assert out[0] == Resync("bitstamp", "BTC/USD", None, 6.0, "reconnect", "diff_order_book_btcusd moved from c to d")
    assert out[1] == RestRequest(SNAPSHOT_URL, "snapshot", 1, "BTC/USD", "d")


def test_snapshot_errors_are_reported_and_asked_again(adapter: Adapter) -> None:
    """A failed or unreadable snapshot is an error event; the next diff asks again."""
    (request,) = adapter.parse("c", fixture("diff_order_book"), 1.0)
    assert isinstance(request, RestRequest)
    (err,) = adapter.on_http(request, 503, b"busy", 2.0)
    assert isinstance(err, Error) and (err.reason, err.symbol) == ("http_status", "BTC/USD")
    (request,) = adapter.parse("c", fixture("diff_order_book"), 3.0)
    assert isinstance(request, RestRequest)
    (bad,) = adapter.on_http(request, 200, b'{"bids": [], "asks": []}', 4.0)
    assert isinstance(bad, Error) and bad.reason == "malformed"
    assert adapter.parse("c", fixture("diff_order_book"), 5.0) == [request]


def test_rest_answers_pair_with_or_without_the_trailing_slash() -> None:
    """cryptofeed asks /api/v2/order_book/btcusd, this adapter /api/v2/order_book/btcusd/?group=1."""
    ours = BitstampAdapter.match_key(SNAPSHOT_URL)
    assert ours == ("www.bitstamp.net", "/api/v2/order_book/btcusd", "")
    assert BitstampAdapter.match_key("https://www.bitstamp.net/api/v2/order_book/btcusd") == ours
    assert BitstampAdapter.recognizes("wss://ws.bitstamp.net/")
    assert not BitstampAdapter.recognizes("wss://ws.kraken.com")


# -- control frames, unused channels, bad input -----------------------------------------------------


def test_acks_heartbeats_and_unused_channels_are_counted(adapter: Adapter) -> None:
    """Replies and Bitstamp channels this adapter does not use are counted, not data, never errors."""
    adapter.receive("c", fixture("diff_order_book"), 1.0)  # routes the channel the ack names
    for name in ("subscription_succeeded", "heartbeat", "live_orders"):
        assert adapter.receive("c", fixture(name), 2.0) == []
    detail = fixture("order_book").replace("order_book_btcusd", "detail_order_book_btcusd")
    assert adapter.receive("c", detail, 2.0) == []
    announcement = '{"data": {"title": "Maintenance"}, "channel": "announcements", "event": "published"}'
    assert adapter.receive("c", announcement, 2.0) == []
    assert {k: v for k, v in adapter.stats.items() if k.startswith("ignored.")} == {
        "ignored.ack": 1,
        "ignored.heartbeat": 1,
        "ignored.live_orders": 1,
        "ignored.detail_order_book": 1,
        "ignored.announcements": 1,
    }
    assert adapter.data_at["c"] == 1.0  # none of them counts as data


def test_bts_error_is_a_rejection(adapter: Adapter) -> None:
    """bts:error ("Invalid channel provided.") is reported as a rejected request."""
    (err,) = adapter.parse("c", fixture("error_invalid_channel"), 1.0)
    assert isinstance(err, Error)
    assert (err.reason, err.detail) == ("rejected", "code None: Invalid channel provided. (no channel)")


def test_request_reconnect_reconnects_and_books_resync_as_maintenance(adapter: Adapter) -> None:
    """bts:request_reconnect: a Reconnect action now; the connection's books resync with reason maintenance."""
    adapter.connected(ConnectionPlan("c", "wss://ws.bitstamp.net", symbols=["BTC/USD"]), 0.0)
    synced(adapter)
    assert adapter.parse("c", fixture("request_reconnect"), 3.0) == [Reconnect("c", "bts:request_reconnect")]
    assert adapter.stats["ignored.request_reconnect"] == 1
    out = adapter.disconnected("c", "bts:request_reconnect", 3.1)
    assert out == [
        Disconnected("bitstamp", None, None, 3.1, "c", "bts:request_reconnect"),
        Resync("bitstamp", "BTC/USD", None, 3.1, "maintenance", "bts:request_reconnect"),
    ]
    # The next drop of that connection is an ordinary one again.
    adapter.connected(ConnectionPlan("c", "wss://ws.bitstamp.net", symbols=["BTC/USD"]), 4.0)
    synced(adapter, 5.0)
    out = adapter.disconnected("c", "gone", 6.0)
    assert [e.reason for e in out if isinstance(e, Resync)] == ["reconnect"]


@pytest.mark.parametrize(
    ("frame", "reason", "detail"),
    [
        ("{not json", "malformed", "JSON is malformed"),
        ('{"data": {}, "channel": "nosuch_btcusd", "event": "data"}', "unknown_channel", "nosuch_btcusd"),
        ('{"data": {"id": 1}, "channel": "live_trades_zzzusd", "event": "trade"}', "unknown_symbol", "zzzusd"),
        ("{}", "unknown_channel", "no channel"),
    ],
)
def test_frames_that_are_no_bitstamp_channel_are_errors(adapter: Adapter, frame: str, reason: str, detail: str) -> None:
    """Not JSON, not a Bitstamp channel, or a pair the listing does not have: one error event each."""
    (err,) = adapter.parse("c", frame, 1.0)
    assert isinstance(err, Error) and err.reason == reason and err.detail.startswith(detail)
    assert adapter.stats["error." + reason] == 1


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"type": 1', '"type": 2'),
        ('"price_str": "9334.73"', '"price_str": "NaN"'),
        ('"event": "trade"', '"event": "data"'),
    ],
)
def test_impossible_trades_are_malformed(adapter: Adapter, old: str, new: str) -> None:
    """An unknown type, a NaN price, a trade channel frame that is no trade: malformed, with the symbol."""
    adapter.parse("c", fixture("trade"), 1.0)  # routed: the fast lookup takes these
    (err,) = adapter.parse("c", fixture("trade").replace(old, new), 2.0)
    assert isinstance(err, Error) and (err.reason, err.symbol) == ("malformed", "BTC/USD")
    assert err.detail.startswith("live_trades_btcusd: ")


# -- connection plans -------------------------------------------------------------------------------


def test_plan_subscribes_one_channel_per_frame_with_heartbeats(adapter: Adapter) -> None:
    """One connection, one bts:subscribe per channel, bts:heartbeat every 20 s, book symbols listed."""
    subs = [Subscription(s, ch) for s in ("BTC/USD", "DOGE/EUR") for ch in ("trades", "ticker", "book")]
    (plan,) = adapter.plan(subs)
    assert (plan.conn, plan.url) == ("bitstamp.0", "wss://ws.bitstamp.net")
    assert [orjson.loads(f) for f in plan.subscribe] == [
        {"event": "bts:subscribe", "data": {"channel": channel}}
        for channel in (
            "live_trades_btcusd",
            "order_book_btcusd",
            "diff_order_book_btcusd",
            "live_trades_dogeeur",
            "order_book_dogeeur",
            "diff_order_book_dogeeur",
        )
    ]
    assert (plan.app_ping, plan.app_ping_interval) == ('{"event":"bts:heartbeat"}', 20.0)
    assert (plan.idle_timeout, plan.max_lifetime, plan.symbols) == (120.0, 89 * 86400.0, ["BTC/USD", "DOGE/EUR"])
    assert all(len(f.encode()) < 512 for f in plan.subscribe)  # "keep them under 512 bytes"
    (quiet,) = adapter.plan([Subscription("BTC/USD", "trades")])
    assert (quiet.idle_timeout, quiet.symbols) == (900.0, [])


def test_plan_shards_by_the_channel_limit(adapter: Adapter) -> None:
    """ "1,024 channel subscriptions per connection": more channels open more connections."""
    assert isinstance(adapter, BitstampAdapter)
    adapter.max_channels = 2  # type: ignore[misc]
    subs = [Subscription(s, ch) for s in ("BTC/USD", "DOGE/EUR") for ch in ("trades", "book")]
    plans = adapter.plan(subs)
    assert [p.conn for p in plans] == ["bitstamp.0", "bitstamp.1"]
    assert [p.symbols for p in plans] == [["BTC/USD"], ["DOGE/EUR"]]


def test_plan_refuses_channels_bitstamp_has_not(adapter: Adapter) -> None:
    """No candles on Bitstamp's websocket, and unknown symbols are refused before connecting."""
    with pytest.raises(UsageError, match="candles"):
        adapter.plan([Subscription("BTC/USD", "candles")])
    with pytest.raises(UsageError, match="not a perpetual"):
        adapter.plan([Subscription("BTC/USD", "funding")])
    (plan,) = adapter.plan([Subscription("BTC/USD:USD", "funding")])
    assert orjson.loads(plan.subscribe[0])["data"] == {"channel": "funding_rate_btcusd-perp"}
    with pytest.raises(UnknownSymbol):
        adapter.plan([Subscription("NOPE/USD", "trades")])


# -- the simulator's wire format --------------------------------------------------------------------


def test_simulator_answers_the_subscribe_protocol_as_bitstamp() -> None:
    """Acks, heartbeats and the documented bts:error messages; an oversized frame closes the socket."""
    wire = BitstampWire()
    session = Session("")
    ok = wire.on_client_text(session, '{"event": "bts:subscribe", "data": {"channel": "live_trades_btcusd"}}', {}, 0)
    assert orjson.loads(ok.reply or "") == {
        "event": "bts:subscription_succeeded",
        "channel": "live_trades_btcusd",
        "data": {},
    }
    assert ok.subscribe == ["live_trades_btcusd"]
    beat = wire.on_client_text(session, '{"event":"bts:heartbeat"}', {}, 0)
    assert orjson.loads(beat.reply or "") == {"event": "bts:heartbeat", "channel": "", "data": {"status": "success"}}
    for text, message in (
        ("nope", "Incorrect JSON format."),
        ('{"event": "bts:ping"}', "Bad subscription string."),
        ('{"event": "bts:subscribe", "data": {"channel": "order_book_BTC/USD"}}', "Invalid channel provided."),
    ):
        reply = orjson.loads(wire.on_client_text(session, text, {}, 0).reply or "")
        assert reply == {"event": "bts:error", "channel": "", "data": {"code": None, "message": message}}
    assert wire.on_client_text(session, "x" * 600, {}, 0).close == 1009


def test_simulator_listing_and_snapshot_read_back_through_the_adapter() -> None:
    """The simulator's pair listing and snapshots parse into the instruments and book the adapter expects."""
    wire = BitstampWire()
    specs = [wire.instrument(s, 1) for s in ("BTC/USD", "ETH/USD", "BTC/USD:USD")]
    markets = {spec.native: wire.market(spec, 1, 10) for spec in specs}
    listing = wire.rest(RestCall("GET", "/api/v2/trading-pairs-info/", {}), markets, 1_700_000_000_000)
    a = create("bitstamp")
    (request,) = a.instrument_requests()
    assert a.on_http(request, 200, listing.body, 0.0) == []
    assert [(i.symbol, i.native, i.kind) for i in a.instruments] == [
        ("BTC/USD", "btcusd", "spot"),
        ("ETH/USD", "ethusd", "spot"),
        ("BTC/USD:USD", "btcusd-perp", "swap"),
    ]
    assert a.instruments.by_symbol("BTC/USD").tick_size == 1.0
    assert a.instruments.by_symbol("ETH/USD").tick_size == 0.1
    for path in ("/api/v2/order_book/btcusd/", "/api/v2/order_book/btcusd"):
        answer = wire.rest(RestCall("GET", path, {"group": "1"}), markets, 1_700_000_000_000)
        body = orjson.loads(answer.body)
        assert (answer.status, body["microtimestamp"]) == (200, "1700000000000000")
    assert wire.rest(RestCall("GET", "/api/v2/order_book/nosuch/", {}), markets, 0).status == 404
    with pytest.raises(UnknownSymbol):
        wire.instrument("BTC/USD:BTC", 1)
