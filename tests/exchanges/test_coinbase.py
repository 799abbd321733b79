"""Coinbase Advanced Trade adapter: parsers from the documented shapes, sequence rule, plan, simulator wire."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from collector.actions import RestRequest, SendFrame
from collector.book import BookState
from collector.errors import UnknownSymbol, UsageError
from collector.exchanges import EXCHANGES, ConnectionPlan, Subscription
from collector.exchanges.coinbase import CoinbaseAdapter
from collector.exchanges.coinbase.parse import TradeIds, rfc3339
from collector.exchanges.coinbase.sim import CoinbaseSession, CoinbaseWire
from collector.models import Book, Candle, Connected, Disconnected, Error, Resync, Ticker, Trade
from collector.simulator.wire import Message

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "coinbase"
T = 1700000000.5  # receipt time handed to the adapter
PRODUCTS = "https://api.coinbase.com/api/v3/brokerage/market/products"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def edited(name: str, *, product: str | None = None, **top: Any) -> bytes:
    """A fixture with top-level fields (``sequence_num``...) and every event's product replaced."""
    msg = json.loads(raw(name))
    msg.update(top)
    if product is not None:
        for event in msg["events"]:
            if "product_id" in event:
                event["product_id"] = product
            for key in ("trades", "tickers", "candles"):
                for item in event.get(key, []):
                    item["product_id"] = product
    return orjson.dumps(msg)


def listing(adapter: CoinbaseAdapter, name: str, url: str = PRODUCTS) -> list[Any]:
    return adapter.on_http(RestRequest(url, "instruments"), 200, raw(name), T)


@pytest.fixture
def coinbase() -> CoinbaseAdapter:
    adapter = CoinbaseAdapter()
    assert listing(adapter, "products_spot.json") == []
    assert listing(adapter, "products_future.json", PRODUCTS + "?product_type=FUTURE") == []
    adapter.on_connect(ConnectionPlan("c", "wss://advanced-trade-ws.coinbase.com"), T)
    return adapter


def l2(symbol: str, bids: list[tuple[float, float]], asks: list[tuple[float, float]], ts: float, snap: bool) -> Book:
    return Book("coinbase", symbol, ts, T, snap, bids, asks, None)


SNAPSHOT = l2(
    "BTC/USD",
    [(21921.73, 0.06317902), (21921.3, 0.02)],
    [(21921.74, 0.10020101), (21922.1, 1.5)],
    1675974770.714964,
    True,
)
RESUBSCRIBE_BTC = [
    SendFrame("c", '{"type":"unsubscribe","product_ids":["BTC-USD"],"channel":"level2"}'),
    SendFrame("c", '{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}'),
]


# -- instruments --------------------------------------------------------------------------------


def test_products_map_to_unified_symbols_both_ways(coinbase: CoinbaseAdapter) -> None:
    """Spot from base/quote ids; futures from the contract's underlying, linear in USD, dated or perpetual-style."""
    got = {i.symbol: (i.native, i.kind, i.settle, i.expiry, i.contract_size, i.active) for i in coinbase.instruments}
    assert got == {
        "BTC/USD": ("BTC-USD", "spot", None, None, 1.0, True),
        "BTC/USDC": ("BTC-USDC", "spot", None, None, 1.0, True),
        "ETH/USD": ("ETH-USD", "spot", None, None, 1.0, True),
        "ETH/EUR": ("ETH-EUR", "spot", None, None, 1.0, True),
        "USDT/USDC": ("USDT-USDC", "spot", None, None, 1.0, True),
        "DAI/USD": ("DAI-USD", "spot", None, None, 1.0, False),
        "BTC/USD:USD": ("BIP-20DEC30-CDE", "swap", "USD", None, 0.01, True),
        "BTC/USD:USD-260424": ("BIT-24APR26-CDE", "future", "USD", "260424", 0.01, True),
        "ETH/USD:USD": ("ETP-20DEC30-CDE", "swap", "USD", None, 0.1, True),
    }
    assert coinbase.instruments.by_native("BIT-24APR26-CDE").symbol == "BTC/USD:USD-260424"
    assert coinbase.instruments.by_symbol("ETH/EUR").native == "ETH-EUR"
    usdt = coinbase.instruments.by_symbol("USDT/USDC")
    assert (usdt.tick_size, usdt.step_size) == (0.0001, 0.01)
    future = coinbase.instruments.by_symbol("BTC/USD:USD-260424")
    assert (future.base, future.quote, future.tick_size, future.step_size) == ("BTC", "USD", 5.0, 1.0)


def test_instrument_requests_list_spot_and_futures() -> None:
    """The listing is spot unless futures are asked for by product_type; replay keeps the two apart."""
    adapter = CoinbaseAdapter()
    assert adapter.instrument_requests() == [
        RestRequest(PRODUCTS, "instruments"),
        RestRequest(PRODUCTS + "?product_type=FUTURE", "instruments"),
    ]
    assert CoinbaseAdapter.match_key(PRODUCTS) == ("api.coinbase.com", "/api/v3/brokerage/market/products", "")
    assert CoinbaseAdapter.match_key(PRODUCTS + "?product_type=FUTURE")[1] == (
        "/api/v3/brokerage/market/products?product_type=FUTURE"
    )


def test_keyed_listing_answers_for_the_public_one_in_replay() -> None:
    """A recorder with an API key may have listed ``/brokerage/products``: same products, same shape."""
    keyed = CoinbaseAdapter.match_key("https://api.coinbase.com/api/v3/brokerage/products?product_type=FUTURE")
    assert keyed == CoinbaseAdapter.match_key(PRODUCTS + "?product_type=FUTURE")


def test_listing_pages_are_followed() -> None:
    """``pagination.has_next`` asks for the next page, by cursor when given, else by offset."""
    body = json.loads(raw("products_spot.json"))
    body["pagination"] = {"next_cursor": "", "has_next": True}
    adapter = CoinbaseAdapter()
    request = RestRequest(PRODUCTS + "?limit=6", "instruments")
    assert adapter.on_http(request, 200, orjson.dumps(body), T) == [
        RestRequest(PRODUCTS + "?limit=6&offset=6", "instruments")
    ]
    body["pagination"] = {"next_cursor": "abc", "has_next": True}
    assert adapter.on_http(request, 200, orjson.dumps(body), T) == [
        RestRequest(PRODUCTS + "?limit=6&cursor=abc", "instruments")
    ]


def test_second_contract_with_the_same_symbol_is_skipped() -> None:
    """Two contracts of one underlying and expiry cannot share a symbol: the first keeps it, the other is counted."""
    body = json.loads(raw("products_future.json"))
    twin = json.loads(json.dumps(body["products"][1]))
    twin["product_id"] = "BTI-24APR26-CDE"
    body["products"].append(twin)
    adapter = CoinbaseAdapter()
    adapter.on_http(RestRequest(PRODUCTS + "?product_type=FUTURE", "instruments"), 200, orjson.dumps(body), T)
    assert adapter.instruments.by_symbol("BTC/USD:USD-260424").native == "BIT-24APR26-CDE"
    assert adapter.stats["instruments.duplicate_symbol"] == 1


def test_bad_listing_is_an_error_event() -> None:
    """A listing that is not one, or a failed status, becomes an error event, not an exception."""
    adapter = CoinbaseAdapter()
    request = RestRequest(PRODUCTS, "instruments")
    out = adapter.on_http(request, 200, b'{"error":"NOT_FOUND"}', T)
    assert [(e.reason, e.conn) for e in out if isinstance(e, Error)] == [("malformed", "rest")]
    out = adapter.on_http(request, 429, b'{"message":"too many"}', T)
    assert [(e.reason, e.detail[:16]) for e in out if isinstance(e, Error)] == [("http_status", f"429 {PRODUCTS}"[:16])]


# -- trades -------------------------------------------------------------------------------------


def test_trade_side_is_the_takers(coinbase: CoinbaseAdapter) -> None:
    """``side`` names the maker: a BUY maker order was hit by a seller."""
    assert coinbase.parse("c", raw("market_trades_update.json"), T) == [
        Trade("coinbase", "BTC/USD", 1728378652.378779, T, 62322.43, 0.00005535, "sell", "699871154")
    ]


def test_trade_snapshot_is_emitted_oldest_first_and_never_twice(coinbase: CoinbaseAdapter) -> None:
    """The snapshot's trades (newest first on the wire) come out in time order; a repeat is dropped by id."""
    assert coinbase.parse("c", raw("market_trades_snapshot.json"), T) == [
        Trade("coinbase", "ETH/USD", 1565815347.265, T, 1260.01, 0.3, "sell", "000000001"),
        Trade("coinbase", "ETH/USD", 1565815347.965, T, 1260.02, 0.1, "buy", "000000002"),
    ]
    # A resubscription's snapshot repeats them.
    assert coinbase.parse("c", edited("market_trades_snapshot.json", sequence_num=1), T) == []
    assert coinbase.stats["ignored.duplicate_trade"] == 2


def test_an_unknown_product_costs_only_its_own_trade(coinbase: CoinbaseAdapter) -> None:
    """A message mixing a known product's trade and an unknown one's still emits the known trade."""
    msg = json.loads(raw("market_trades_snapshot.json"))
    msg["events"][0]["trades"][1]["product_id"] = "NOPE-USD"  # the older one, read first
    out = coinbase.parse("c", json.dumps(msg).encode(), T)
    assert [type(e).__name__ for e in out] == ["Error", "Trade"]
    assert (out[0].reason, out[0].detail) == ("unknown_symbol", "no product 'NOPE-USD'")  # type: ignore[union-attr]
    assert out[1] == Trade("coinbase", "ETH/USD", 1565815347.965, T, 1260.02, 0.1, "buy", "000000002")


def test_futures_trade_amount_is_in_base_units(coinbase: CoinbaseAdapter) -> None:
    """A nano contract is 0.01 BTC: 3 contracts are 0.03 BTC."""
    msg = json.loads(raw("market_trades_update.json"))
    msg["events"][0]["trades"][0] |= {"product_id": "BIT-24APR26-CDE", "size": "3", "price": "69165"}
    (trade,) = coinbase.parse("c", orjson.dumps(msg), T)
    assert trade == Trade("coinbase", "BTC/USD:USD-260424", 1728378652.378779, T, 69165.0, 0.03, "sell", "699871154")


def test_trade_ids_remember_the_highest_number_or_a_window() -> None:
    """Numeric ids need one integer of memory; other ids a bounded window."""
    ids = TradeIds(window=2)
    assert [ids.fresh(i) for i in ("5", "4", "6", "6")] == [True, False, True, False]
    assert [ids.fresh(i) for i in ("a", "b", "a", "c", "a")] == [True, True, False, True, True]


# -- tickers ------------------------------------------------------------------------------------


def test_ticker(coinbase: CoinbaseAdapter) -> None:
    """Last price, 24 h range and volume, and the trade-driven best bid/ask."""
    assert coinbase.parse("c", raw("ticker.json"), T) == [
        Ticker(
            "coinbase",
            "BTC/USD",
            1675974637.167359,
            T,
            21835.29,
            0.02,
            23011.18,
            0.015,
            last=21932.98,
            high=23011.18,
            low=21835.29,
            volume=16038.28770938,
        )
    ]


def test_ticker_batch_without_best_bid_ask(coinbase: CoinbaseAdapter) -> None:
    """``ticker_batch`` may omit the BBO: those fields are None."""
    assert coinbase.parse("c", raw("ticker_batch.json"), T) == [
        Ticker(
            "coinbase",
            "BTC/USD",
            1686341975.396251,
            T,
            None,
            None,
            None,
            None,
            last=21932.98,
            high=23011.18,
            low=21835.29,
            volume=16038.28770938,
        )
    ]


def test_empty_ticker_record_is_counted(coinbase: CoinbaseAdapter) -> None:
    """A ``ticker_batch`` record of empty strings is skipped and counted, not an error."""
    assert coinbase.parse("c", raw("ticker_batch_empty.json"), T) == []
    assert coinbase.stats["ignored.empty_ticker"] == 1


def test_futures_ticker_volume_in_base_units(coinbase: CoinbaseAdapter) -> None:
    """Volume is converted from contracts; best bid/ask sizes stay contracts, like the book."""
    msg = json.loads(raw("ticker.json"))
    msg["events"][0]["tickers"][0] |= {"product_id": "ETP-20DEC30-CDE", "volume_24_h": "1000", "best_bid_quantity": "7"}
    (ticker,) = coinbase.parse("c", orjson.dumps(msg), T)
    assert isinstance(ticker, Ticker)
    assert (ticker.symbol, ticker.volume, ticker.bid_size) == ("ETH/USD:USD", 100.0, 7.0)


# -- order books --------------------------------------------------------------------------------


def test_l2_snapshot_then_update(coinbase: CoinbaseAdapter) -> None:
    """The snapshot loads the book (sides ``bid``/``offer``); updates set absolute sizes, ``0`` removes."""
    assert coinbase.parse("c", raw("l2_snapshot.json"), T) == [SNAPSHOT]
    assert coinbase.parse("c", raw("l2_update.json"), T) == [
        l2("BTC/USD", [(21921.3, 0.0)], [(21921.74, 0.03021537)], 1728378636.043703, False)
    ]
    book = coinbase.book("BTC/USD")
    assert book is not None
    assert (book.synced, book.sequence) == (True, None)
    assert book.bids() == {21921.73: 0.06317902}
    assert book.asks() == {21921.74: 0.03021537, 21922.1: 1.5}


def test_a_new_snapshot_replaces_the_book(coinbase: CoinbaseAdapter) -> None:
    """After a resubscription the snapshot replaces the levels, never merges."""
    coinbase.parse("c", raw("l2_snapshot.json"), T)
    msg = json.loads(raw("l2_snapshot.json"))
    msg["sequence_num"] = 1
    msg["events"][0]["updates"] = msg["events"][0]["updates"][::3]
    coinbase.parse("c", orjson.dumps(msg), T)
    book = coinbase.book("BTC/USD")
    assert book is not None
    assert (book.bids(), book.asks()) == ({21921.73: 0.06317902}, {21922.1: 1.5})


def _two_connections() -> tuple[CoinbaseAdapter, list[ConnectionPlan]]:
    class OnePerConnection(CoinbaseAdapter):
        products_per_connection = 1

    adapter = OnePerConnection()
    listing(adapter, "products_spot.json")
    plans = adapter.plan([Subscription("BTC/USD", "book"), Subscription("ETH/USD", "book")])
    for plan in plans:
        adapter.on_connect(plan, T)
    adapter.parse("coinbase.0", raw("l2_snapshot.json"), T)
    adapter.parse("coinbase.1", edited("l2_snapshot.json", product="ETH-USD"), T)
    return adapter, plans


def test_sequence_gap_resyncs_the_books_of_that_connection_only() -> None:
    """``sequence_num`` is per connection: a jump rebuilds that connection's books and resubscribes level2."""
    adapter, plans = _two_connections()
    assert [p.symbols for p in plans] == [["BTC/USD"], ["ETH/USD"]]
    out = adapter.parse("coinbase.0", edited("l2_update.json", sequence_num=2), T)
    assert out == [
        Resync("coinbase", "BTC/USD", None, T, "gap", "sequence_num jumped from 0 to 2"),
        SendFrame("coinbase.0", '{"type":"unsubscribe","product_ids":["BTC-USD"],"channel":"level2"}'),
        SendFrame("coinbase.0", '{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}'),
    ]
    assert adapter.books.state("BTC/USD") is BookState.WAITING
    assert adapter.books.state("ETH/USD") is BookState.LIVE  # its connection saw no gap
    # Updates before the fresh snapshot are dropped without asking again; the snapshot restores the book.
    assert adapter.parse("coinbase.0", edited("l2_update.json", sequence_num=3), T) == []
    assert adapter.parse("coinbase.0", edited("l2_snapshot.json", sequence_num=4), T) == [SNAPSHOT]
    assert adapter.books.stats["resync.gap"] == 1
    assert adapter.stats["sequence_gaps"] == 1


def test_sequence_is_counted_across_channels() -> None:
    """Every channel's frames share the counter: trades, tickers and heartbeats in between are no gap."""
    adapter, _ = _two_connections()
    for n, name in enumerate(("market_trades_update.json", "ticker.json", "heartbeats.json", "l2_update.json"), 1):
        adapter.parse("coinbase.0", edited(name, sequence_num=n), T)
    assert adapter.stats["sequence_gaps"] == 0
    assert adapter.books.state("BTC/USD") is BookState.LIVE


def test_reconnect_resets_books_and_the_counter() -> None:
    """A dropped connection resets its books; the new one numbers from 0 again, which is no gap."""
    adapter, plans = _two_connections()
    assert adapter.on_disconnect("coinbase.0", "closed 1006", T) == [
        Disconnected("coinbase", None, None, T, "coinbase.0", "closed 1006"),
        Resync("coinbase", "BTC/USD", None, T, "reconnect", ""),
    ]
    assert adapter.on_connect(plans[0], T) == [Connected("coinbase", None, None, T, plans[0].conn, plans[0].url)]
    assert adapter.parse("coinbase.0", raw("l2_snapshot.json"), T) == [SNAPSHOT]
    assert adapter.stats["sequence_gaps"] == 0


def test_crossed_book_resubscribes(coinbase: CoinbaseAdapter) -> None:
    """An update leaving best bid >= best ask is not trusted."""
    coinbase.parse("c", raw("l2_snapshot.json"), T)
    msg = json.loads(raw("l2_update.json"))
    msg["events"][0]["updates"] = [{"side": "bid", "price_level": "21921.8", "new_quantity": "1"}]
    assert coinbase.parse("c", orjson.dumps(msg), T) == [
        Resync("coinbase", "BTC/USD", None, T, "crossed", "bid (21921.8, 1.0) >= ask (21921.74, 0.10020101)"),
        *RESUBSCRIBE_BTC,
    ]


def test_unreadable_update_resyncs_its_book(coinbase: CoinbaseAdapter) -> None:
    """An l2 update that cannot be decoded is a lost update: an error, and the book is rebuilt."""
    coinbase.parse("c", raw("l2_snapshot.json"), T)
    bad = raw("l2_update.json").replace(b'"0.03021537"', b'"NaN"')
    error, resync, *frames = coinbase.parse("c", bad, T)
    assert isinstance(error, Error) and error.reason == "malformed"
    assert resync == Resync("coinbase", "BTC/USD", None, T, "invalid", "an l2_data frame could not be read")
    assert frames == RESUBSCRIBE_BTC


def test_update_before_any_snapshot_asks_once(coinbase: CoinbaseAdapter) -> None:
    """An update with no book resubscribes once; the snapshot it brings is awaited."""
    assert coinbase.parse("c", raw("l2_update.json"), T) == RESUBSCRIBE_BTC
    assert coinbase.parse("c", edited("l2_update.json", sequence_num=2), T) == []


# -- candles ------------------------------------------------------------------------------------


def _candle(start: float, ohlcv: tuple[float, ...], ts: float, closed: bool, symbol: str = "ETH/USD") -> Candle:
    return Candle("coinbase", symbol, ts, T, "5m", start, start + 300, *ohlcv, None, closed)


def test_candles_close_when_the_next_bucket_starts(coinbase: CoinbaseAdapter) -> None:
    """Buckets over by the message time are closed; the forming one closes with its last update."""
    forming = (1867.38, 1867.72, 1865.63, 1866.81, 0.20269406)
    assert coinbase.parse("c", raw("candles_snapshot.json"), T) == [
        _candle(1686341700, (1866.5, 1868.9, 1866.2, 1867.38, 12.5), 1686342035.396251, True),
        _candle(1686342000, forming, 1686342035.396251, False),
    ]
    updated = (1867.38, 1867.9, 1865.63, 1867.9, 0.70269406)
    assert coinbase.parse("c", raw("candles_update.json"), T) == [
        _candle(1686342000, updated, 1686342061.117328, False)
    ]
    assert coinbase.parse("c", raw("candles_next.json"), T) == [
        _candle(1686342000, updated, 1686342301.402907, True),
        _candle(1686342300, (1868.0, 1868.0, 1868.0, 1868.0, 0.01), 1686342301.402907, False),
    ]
    # A resubscription's snapshot does not repeat closed buckets.
    assert coinbase.parse("c", edited("candles_snapshot.json", sequence_num=3), T) == []
    assert coinbase.stats["ignored.old_candle"] == 2


def test_futures_candle_volume_in_base_units(coinbase: CoinbaseAdapter) -> None:
    """Candle volume counts contracts on futures: 20 ETP contracts are 2 ETH."""
    msg = json.loads(edited("candles_update.json", product="ETP-20DEC30-CDE"))
    msg["events"][0]["candles"][0]["volume"] = "20"
    (candle,) = coinbase.parse("c", orjson.dumps(msg), T)
    assert isinstance(candle, Candle)
    assert (candle.symbol, candle.volume, candle.closed) == ("ETH/USD:USD", 2.0, False)


# -- control frames and bad input ---------------------------------------------------------------


def test_heartbeats_touch_books_and_are_not_data(coinbase: CoinbaseAdapter) -> None:
    """A heartbeat (integer or string counter) keeps the connection's books fresh without counting as data."""
    coinbase.receive("c", raw("l2_snapshot.json"), T)
    assert coinbase.data_at["c"] == T
    assert coinbase.receive("c", edited("heartbeats.json", sequence_num=1), T + 5) == []
    assert coinbase.receive("c", edited("heartbeats_string_counter.json", sequence_num=2), T + 6) == []
    book = coinbase.book("BTC/USD")
    assert book is not None and book.updated == T + 6
    assert coinbase.data_at["c"] == T
    assert coinbase.check(T + 6 + coinbase.book_stale_after - 1) == []
    stale = coinbase.check(T + 7 + coinbase.book_stale_after)
    assert [e.reason for e in stale if isinstance(e, Resync)] == ["stale"]
    assert [e for e in stale if isinstance(e, SendFrame)] == RESUBSCRIBE_BTC


def test_acks_and_unused_channels_are_counted(coinbase: CoinbaseAdapter) -> None:
    """Subscription states and the public ``status`` channel produce nothing and are counted."""
    assert coinbase.parse("c", raw("subscriptions.json"), T) == []
    assert coinbase.parse("c", edited("status.json", sequence_num=4), T) == []
    assert dict(coinbase.stats) == {"ignored.subscriptions": 1, "ignored.status": 1}


def test_refusal_is_an_error_event(coinbase: CoinbaseAdapter) -> None:
    """``{"type":"error"}`` is Coinbase's refusal: one ``rejected`` error with its message."""
    assert coinbase.parse("c", raw("error.json"), T) == [
        Error("coinbase", None, None, T, "c", "rejected", "Failure to subscribe")
    ]


def test_refusal_naming_a_channel_is_still_a_refusal(coinbase: CoinbaseAdapter) -> None:
    """An error reply is recognised by its type, whatever else it carries."""
    out = coinbase.parse("c", b'{"type":"error","channel":"level2","message":"Failure to subscribe"}', T)
    assert [(e.reason, e.detail) for e in out if isinstance(e, Error)] == [("rejected", "Failure to subscribe")]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"not json", "malformed"),
        (raw("market_trades_update.json")[:60], "malformed"),
        (raw("market_trades_update.json").replace(b'"BUY"', b'"UP"'), "malformed"),
        (raw("market_trades_update.json").replace(b'"62322.43"', b'"-1"'), "malformed"),
        (raw("market_trades_update.json").replace(b'"2024-10-08T09:10:52.378779Z"', b'"soon"'), "malformed"),
        (raw("l2_update.json").replace(b'"offer"', b'"ask"'), "malformed"),
        (raw("ticker.json").replace(b'"21932.98"', b'"n/a"'), "malformed"),
        (raw("candles_update.json").replace(b'"1686342000"', b'"-5"'), "malformed"),
        (raw("l2_update.json").replace(b'"type":"update"', b'"type":"partial"'), "malformed"),
        (raw("market_trades_update.json").replace(b'"BTC-USD"', b'"NOPE-USD"'), "unknown_symbol"),
        (b'{"channel":"level3","events":[]}', "unknown_channel"),
        (b'{"hello":"world"}', "unknown_message"),
    ],
)
def test_bad_frames_become_error_events(coinbase: CoinbaseAdapter, frame: bytes, reason: str) -> None:
    """Nothing raises: each bad frame is one ``error`` event and one counter."""
    out = coinbase.parse("c", frame, T)
    assert [e.reason for e in out if isinstance(e, Error)] == [reason]
    assert coinbase.stats["error." + reason] == 1


def test_text_and_bytes_frames_parse_alike(coinbase: CoinbaseAdapter) -> None:
    """A frame given as ``str`` yields what its bytes yield."""
    text = coinbase.parse("c", raw("ticker.json").decode(), T)
    assert text == coinbase.parse("c", edited("ticker.json", sequence_num=1), T)


def test_rfc3339_truncates_to_the_microsecond_as_datetime_does() -> None:
    """Nine fractional digits, fewer, none, or a +00:00 offset; anything else is a ValueError."""
    assert rfc3339("2026-08-09T21:05:48.228568804Z") == 1786309548.228568
    assert rfc3339("2026-08-09T21:05:38.50436Z") == 1786309538.50436
    assert rfc3339("1970-01-01T00:00:00Z") == 0.0
    assert rfc3339("2026-08-09T21:05:48.5+00:00") == 1786309548.5
    for bad in ("2026-08-09 21:05:48Z", "2026-08-09T21:05:48.Z", "2026-08-09T21:05:48.1+02:00", "yesterday",
                "2026-08-09T21:05:48.5"):  # fmt: skip
        with pytest.raises(ValueError, match="RFC 3339"):
            rfc3339(bad)


# -- plan ---------------------------------------------------------------------------------------


def test_plan_sends_one_channel_per_message_after_heartbeats(coinbase: CoinbaseAdapter) -> None:
    """Heartbeats first, then one subscribe per channel; paced at 8 messages a second; protocol pings."""
    (plan,) = coinbase.plan(
        [
            Subscription("BTC/USD", "book"),
            Subscription("BTC/USD", "trades"),
            Subscription("ETH/USD", "ticker"),
            Subscription("ETH/USD", "candles", "5m"),
            Subscription("BTC/USD:USD", "trades"),
        ]
    )
    assert plan.url == "wss://advanced-trade-ws.coinbase.com"
    assert [json.loads(f) for f in plan.subscribe] == [
        {"type": "subscribe", "channel": "heartbeats"},
        {"type": "subscribe", "product_ids": ["BTC-USD"], "channel": "level2"},
        {"type": "subscribe", "product_ids": ["BTC-USD", "BIP-20DEC30-CDE"], "channel": "market_trades"},
        {"type": "subscribe", "product_ids": ["ETH-USD"], "channel": "ticker"},
        {"type": "subscribe", "product_ids": ["ETH-USD"], "channel": "candles"},
    ]
    assert (plan.conn, plan.symbols, plan.control_interval) == ("coinbase.0", ["BTC/USD"], 0.125)
    assert (plan.ping_interval, plan.app_ping, plan.idle_timeout) == (20.0, None, 60.0)


def test_plan_shards_products_and_shares_the_message_rate() -> None:
    """Past the products per connection a second connection takes the rest; both share 8 messages a second."""

    class Small(CoinbaseAdapter):
        products_per_connection = 2

    adapter = Small()
    listing(adapter, "products_spot.json")
    plans = adapter.plan([Subscription(s, "trades") for s in ("BTC/USD", "ETH/USD", "ETH/EUR")])
    assert [(p.conn, json.loads(p.subscribe[1])["product_ids"]) for p in plans] == [
        ("coinbase.0", ["BTC-USD", "ETH-USD"]),
        ("coinbase.1", ["ETH-EUR"]),
    ]
    assert [(p.control_interval, p.idle_timeout, p.symbols) for p in plans] == [(0.25, 300.0, [])] * 2


def test_usdc_alias_is_served_from_the_usd_feed(coinbase: CoinbaseAdapter) -> None:
    """BTC-USDC's market data is BTC-USD's: subscribe BTC-USD and name its events BTC/USDC."""
    (plan,) = coinbase.plan([Subscription("BTC/USDC", "trades")])
    assert json.loads(plan.subscribe[1])["product_ids"] == ["BTC-USD"]
    assert [e.symbol for e in coinbase.parse("c", raw("market_trades_update.json"), T)] == ["BTC/USDC"]
    with pytest.raises(UsageError, match="one market"):
        coinbase.plan([Subscription("BTC/USD", "trades"), Subscription("BTC/USDC", "book")])


def test_plan_rejects_what_coinbase_does_not_offer(coinbase: CoinbaseAdapter) -> None:
    """Unknown symbols, candle intervals other than 5m and derivative channels fail at plan time."""
    with pytest.raises(UnknownSymbol):
        coinbase.plan([Subscription("DOGE/JPY", "trades")])
    with pytest.raises(UsageError, match="5m buckets only"):
        coinbase.plan([Subscription("BTC/USD", "candles", "1m")])
    with pytest.raises(UsageError, match="no 'funding' channel"):
        coinbase.plan([Subscription("BTC/USD:USD", "funding")])


def test_registry_and_recognized_hosts() -> None:
    """``coinbase`` is registered and claims the Advanced Trade hosts only."""
    assert EXCHANGES["coinbase"] is CoinbaseAdapter
    assert CoinbaseAdapter.recognizes("wss://advanced-trade-ws.coinbase.com")
    assert CoinbaseAdapter.recognizes("wss://advanced-trade-ws-user.coinbase.com/")
    assert not CoinbaseAdapter.recognizes("wss://ws-feed.exchange.coinbase.com")


# -- the simulator wire -------------------------------------------------------------------------


def _wire() -> tuple[CoinbaseWire, Any]:
    wire = CoinbaseWire()
    spec = wire.instrument("BTC/USD", 1)
    markets = {spec.native: wire.market(spec, 1, 20)}
    return wire, markets


def test_sim_subscribe_sends_snapshots_then_the_state_numbered() -> None:
    """Snapshots come before the ``subscriptions`` state; every frame takes the connection's next number."""
    wire, markets = _wire()
    session = wire.open("")
    assert isinstance(session, CoinbaseSession)
    hb = wire.on_client_text(session, '{"type":"subscribe","channel":"heartbeats"}', markets, 0)
    sub = wire.on_client_text(
        session, '{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}', markets, 1_700_000_000_000
    )
    frames = [json.loads(f) for f in [*hb.frames, *sub.frames]]
    assert [(f["channel"], f["sequence_num"]) for f in frames] == [
        ("subscriptions", 0),
        ("l2_data", 1),
        ("subscriptions", 2),
    ]
    assert frames[2]["events"] == [{"subscriptions": {"level2": ["BTC-USD"], "heartbeats": ["heartbeats"]}}]
    assert sub.subscribe == ["level2:BTC-USD"]
    assert [json.loads(f)["channel"] for f in wire.heartbeat(session, 1_700_000_001_000)] == ["heartbeats"]
    refused = wire.on_client_text(session, '{"type":"subscribe","product_ids":["X-Y"],"channel":"level2"}', markets, 0)
    assert json.loads(str(refused.reply))["type"] == "error"


def test_sim_withheld_update_shows_as_a_sequence_gap() -> None:
    """A GAP-withheld l2 update kept its number: the next frame the connection gets jumps by two."""
    wire, markets = _wire()
    session = wire.open("")
    assert isinstance(session, CoinbaseSession)
    wire.on_client_text(session, '{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}', markets, 0)
    market = markets["BTC-USD"]
    numbers = []
    for step in range(40):
        for message in wire.encode(market.spec, market.step(step * 100), ["level2:BTC-USD"]):
            assert isinstance(message, Message) and message.book_key == "BTC-USD"
            if len(numbers) == 3 and step % 2:
                continue  # withheld once, as the GAP fault does
            numbers.append(json.loads(wire.deliver(session, message) or "")["sequence_num"])
    assert numbers[:5] == [2, 3, 4, 6, 7]
