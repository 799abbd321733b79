"""GOPAX adapter: the documented and live-probed shapes with exact values, the entry-id book rule,
the Primus heartbeat (answered by the adapter, enforced by the simulator), plan and refusals."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from collector.actions import RestRequest, SendFrame
from collector.book import BookState
from collector.errors import UnknownChannel, UnknownSymbol, UsageError
from collector.exchanges import EXCHANGES, Subscription
from collector.exchanges.gopax import GopaxAdapter
from collector.exchanges.gopax.books import ENTRY_ID
from collector.exchanges.gopax.sim import GopaxWire
from collector.exchanges.gopax.sim_market import GopaxSession
from collector.models import Book, Disconnected, Error, Resync, Ticker, Trade
from collector.simulator import Simulator
from collector.simulator.wire import RestCall
from tests.e2e.helpers import start_collector, wait_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gopax"
T = 1700000000.5
CONN = "gopax.0"


def raw(name: str) -> str:
    return (FIXTURES / name).read_text().strip()


def edited(name: str, **options: Any) -> str:
    msg = json.loads(raw(name))
    msg["o"].update(options)
    return orjson.dumps(msg).decode()


def entry(entry_id: int, price: float, volume: float, at: float = 1599089200.0) -> dict[str, Any]:
    return {"entryId": entry_id, "price": price, "volume": volume, "updatedAt": at}


def book_event(pair: str, bid: tuple[dict[str, Any], ...] = (), ask: tuple[dict[str, Any], ...] = ()) -> str:
    body = {"ask": list(ask), "bid": list(bid), "tradingPairName": pair}
    return orjson.dumps({"i": -1, "n": "OrderBookEvent", "o": body}).decode()


@pytest.fixture
def gopax() -> GopaxAdapter:
    adapter = GopaxAdapter()
    request = adapter.instrument_requests()[0]
    assert request == RestRequest("https://api.gopax.co.kr/trading-pairs", "instruments")
    assert adapter.on_http(request, 200, raw("trading_pairs.json").encode(), T) == []
    return adapter


def synced_bch(gopax: GopaxAdapter) -> None:
    gopax.parse(CONN, raw("orderbook_reply.json"), T)
    assert gopax.books.state("BCH/KRW") is BookState.LIVE


# -- instruments ----------------------------------------------------------------------------------


def test_pairs_are_base_quote_from_the_listing(gopax: GopaxAdapter) -> None:
    """``ETH-KRW`` is ``ETH/KRW``: symbols come from ``baseAsset``/``quoteAsset``, both ways."""
    assert {inst.native: inst.symbol for inst in gopax.instruments} == {
        "ETH-KRW": "ETH/KRW",
        "BCH-KRW": "BCH/KRW",
        "BTC-KRW": "BTC/KRW",
        "XRP-KRW": "XRP/KRW",
        "USDT-KRW": "USDT/KRW",
        "WOORI-KRW": "WOORI/KRW",
        "ETH-USDC": "ETH/USDC",
    }
    assert gopax.instruments.by_symbol("ETH/USDC").native == "ETH-USDC"
    xrp = gopax.instruments.by_native("XRP-KRW")
    assert (xrp.kind, xrp.base, xrp.quote, xrp.contract_size, xrp.step_size, xrp.tick_size) == (
        "spot",
        "XRP",
        "KRW",
        1.0,
        0.0001,
        None,
    )
    with pytest.raises(UnknownSymbol):
        gopax.instruments.by_symbol("BTC/USDT")


# -- books ----------------------------------------------------------------------------------------


def test_subscription_reply_is_the_snapshot(gopax: GopaxAdapter) -> None:
    """The reply carries the whole book; its id is ``maxEntryId``; sizes are base units."""
    assert gopax.parse(CONN, raw("orderbook_reply.json"), T) == [
        Book("gopax", "BCH/KRW", None, T, True, [(5000000.0, 5.0), (4500000.0, 3.0)], [(5100000.0, 2.5)], 50)
    ]
    book = gopax.book("BCH/KRW")
    assert book is not None
    assert (book.best_bid(), book.best_ask(), book.sequence) == ((5000000.0, 5.0), (5100000.0, 2.5), 50)


def test_documented_delta_after_the_reply(gopax: GopaxAdapter) -> None:
    """``volume`` 0 removes the level; the delta's id is its highest entry id, its time the latest ``updatedAt``."""
    synced_bch(gopax)
    assert gopax.parse(CONN, raw("orderbook_event.json"), T + 1) == [
        Book("gopax", "BCH/KRW", 1599089169.282, T + 1, False, [(5000000.0, 0.0), (4500000.0, 1.3)], [], 52)
    ]
    book = gopax.book("BCH/KRW")
    assert book is not None
    assert (book.bids(), book.asks()) == ({4500000.0: 1.3}, {5100000.0: 2.5})


def test_live_probe_shapes(gopax: GopaxAdapter) -> None:
    """The 2026 socket: ``i`` echoes the pair on the reply; one-entry deltas; best levels first."""
    out = gopax.parse(CONN, raw("orderbook_reply_live.json"), T)
    assert out == [
        Book(
            "gopax",
            "BTC/KRW",
            None,
            T,
            True,
            [(115010000.0, 0.0015), (115000000.0, 0.008)],
            [(117020000.0, 0.00000858), (117030000.0, 0.00000858)],
            84563415,
        )
    ]
    # XRP's book has no reply yet: the delta waits, and with no reply due the REST book is asked for.
    assert gopax.parse(CONN, raw("orderbook_event_live.json"), T) == [
        RestRequest("https://api.gopax.co.kr/trading-pairs/XRP-KRW/book?level=3", "snapshot", 20, "XRP/KRW")
    ]
    body = {"ask": [entry(84563990, 2218, 50.0)], "bid": [entry(84563991, 2204, 100.0)], "tradingPairName": "XRP-KRW"}
    reply = orjson.dumps({"i": "XRP-KRW", "n": "SubscribeToOrderBook", "o": body | {"maxEntryId": 84564000}}).decode()
    out = gopax.parse(CONN, reply, T + 1)
    assert out[1:] == [Book("gopax", "XRP/KRW", 1790139101.814, T, False, [], [(2217.0, 196.50812855)], 84564675)]


def test_snapshot_sides_are_best_first_and_a_repeated_price_keeps_its_latest_entry(gopax: GopaxAdapter) -> None:
    """The reply lists entries in time order: the snapshot gives bids high to low, asks low to high,
    and of two entries at one price the later by ``(updatedAt, entryId)``."""
    bid = (entry(90, 4900000, 1.0, 10.0), entry(91, 5000000, 2.0, 20.0), entry(92, 4800000, 3.0, 30.0))
    ask = (
        entry(93, 5300000, 4.0, 40.0),
        entry(96, 5100000, 9.0, 50.0),  # the latest at 5100000 (same time, higher id)
        entry(95, 5200000, 6.0, 50.0),
        entry(94, 5100000, 5.0, 50.0),
    )
    body = {"ask": list(ask), "bid": list(bid), "tradingPairName": "BCH-KRW", "maxEntryId": 100}
    reply = orjson.dumps({"n": "SubscribeToOrderBook", "o": body}).decode()
    assert gopax.parse(CONN, reply, T) == [
        Book(
            "gopax",
            "BCH/KRW",
            None,
            T,
            True,
            [(5000000.0, 2.0), (4900000.0, 1.0), (4800000.0, 3.0)],
            [(5100000.0, 9.0), (5200000.0, 6.0), (5300000.0, 4.0)],
            100,
        )
    ]
    # A delta keeps time order: a later entry at a price overrides an earlier one as it applies.
    later = (entry(102, 4900000, 7.0, 60.0), entry(101, 4900000, 0.0, 60.0))
    assert gopax.parse(CONN, book_event("BCH-KRW", bid=later), T + 1) == [
        Book("gopax", "BCH/KRW", 60.0, T + 1, False, [(4900000.0, 0.0), (4900000.0, 7.0)], [], 102)
    ]
    book = gopax.book("BCH/KRW")
    assert book is not None and book.bids()[4900000.0] == 7.0


def test_a_delta_straddling_the_book_id_applies_only_its_newer_entries(gopax: GopaxAdapter) -> None:
    """ "Apply each entry only if it is newer": of a delta with ids 99 and 101 on a book at id 100,
    entry 99 (which would remove a level the snapshot has from id 100) is dropped, 101 applies."""
    body = {
        "ask": [entry(100, 5100000, 2.5, 100.0)],
        "bid": [entry(98, 5000000, 5.0, 98.0)],
        "tradingPairName": "BCH-KRW",
        "maxEntryId": 100,
    }
    gopax.parse(CONN, orjson.dumps({"n": "SubscribeToOrderBook", "o": body}).decode(), T)
    straddling = book_event("BCH-KRW", ask=(entry(99, 5100000, 0.0, 99.0), entry(101, 5200000, 1.5, 101.0)))
    assert gopax.parse(CONN, straddling, T + 1) == [
        Book("gopax", "BCH/KRW", 101.0, T + 1, False, [], [(5200000.0, 1.5)], 101)
    ]
    book = gopax.book("BCH/KRW")
    assert book is not None
    assert (book.bids(), book.asks(), book.sequence) == ({5000000.0: 5.0}, {5100000.0: 2.5, 5200000.0: 1.5}, 101)
    # A delta whose every entry is at or below the book's id is a duplicate: counted, no event.
    old = book_event("BCH-KRW", bid=(entry(100, 5000000, 0.0, 100.0),), ask=(entry(101, 5100000, 0.0, 101.0),))
    assert gopax.parse(CONN, old, T + 2) == []
    assert gopax.books.stats["stale_delta"] == 1
    assert (book.bids(), book.asks()) == ({5000000.0: 5.0}, {5100000.0: 2.5, 5200000.0: 1.5})


def test_a_straddling_delta_before_the_snapshot_keeps_only_its_newer_entries(gopax: GopaxAdapter) -> None:
    """A delta with ids 99 and 101 arriving before the subscription's book (``maxEntryId`` 100) is
    buffered entry by entry: after the join, entry 99 is dropped and 101 applies."""
    early = book_event("BCH-KRW", ask=(entry(99, 5100000, 0.0, 99.0), entry(101, 5200000, 1.5, 101.0)))
    # Buffered; a book never seen asks for the REST book too (the subscription's may come first).
    assert [type(e).__name__ for e in gopax.parse(CONN, early, T)] == ["RestRequest"]
    body = {
        "ask": [entry(100, 5100000, 2.5, 100.0)],
        "bid": [entry(98, 5000000, 5.0, 98.0)],
        "tradingPairName": "BCH-KRW",
        "maxEntryId": 100,
    }
    out = gopax.parse(CONN, orjson.dumps({"n": "SubscribeToOrderBook", "o": body}).decode(), T + 1)
    assert [(e.snapshot, e.asks) for e in out] == [(True, [(5100000.0, 2.5)]), (False, [(5200000.0, 1.5)])]  # type: ignore[union-attr]
    book = gopax.book("BCH/KRW")
    assert book is not None
    assert (book.asks(), book.sequence) == ({5100000.0: 2.5, 5200000.0: 1.5}, 101)


def test_entry_ids_are_exchange_wide_so_deltas_may_skip_ids(gopax: GopaxAdapter) -> None:
    """A pair's consecutive deltas skip the ids of other pairs' changes: that is no gap."""
    synced_bch(gopax)
    out = gopax.parse(CONN, book_event("BCH-KRW", ask=(entry(315, 5200000, 1.0),)), T + 1)
    assert [type(e) for e in out] == [Book]
    out = gopax.parse(CONN, book_event("BCH-KRW", bid=(entry(1000, 4900000, 2.0),)), T + 2)
    assert out == [Book("gopax", "BCH/KRW", 1599089200.0, T + 2, False, [(4900000.0, 2.0)], [], 1000)]
    assert gopax.stats["error.unknown_symbol"] == 0
    assert gopax.books.stats["resync.gap"] == 0


def test_old_delta_is_skipped(gopax: GopaxAdapter) -> None:
    """ "Apply each entry only if it is newer": a delta at or below the book's id changes nothing."""
    synced_bch(gopax)
    assert gopax.parse(CONN, book_event("BCH-KRW", bid=(entry(50, 5000000, 9.0),)), T + 1) == []
    assert gopax.books.stats["stale_delta"] == 1
    book = gopax.book("BCH/KRW")
    assert book is not None and book.bids()[5000000.0] == 5.0


def test_a_run_of_old_deltas_is_a_gap_of_that_book_only(gopax: GopaxAdapter) -> None:
    """A book whose own stream keeps arriving below its id has lost its way: that one book resyncs (``gap``)."""
    synced_bch(gopax)
    gopax.parse(CONN, raw("orderbook_reply_live.json"), T)
    out = []
    for n in range(201):
        out += gopax.parse(CONN, book_event("BCH-KRW", bid=(entry(10 + n % 40, 4000000, 1.0),)), T + 1)
    assert out == [
        Resync("gopax", "BCH/KRW", None, T + 1, "gap", "201 deltas behind id 50"),
        RestRequest("https://api.gopax.co.kr/trading-pairs/BCH-KRW/book?level=3", "snapshot", 20, "BCH/KRW", CONN),
    ]
    assert gopax.books.state("BTC/KRW") is BookState.LIVE


def test_early_deltas_are_joined_to_the_reply_by_max_entry_id(gopax: GopaxAdapter) -> None:
    """ "A delta can intermittently arrive before the response": kept, then dropped if the reply has it."""
    plan = gopax.plan([Subscription("BCH/KRW", "book")])[0]
    gopax.connected(plan, T)
    early_old = book_event("BCH-KRW", bid=(entry(49, 4500000, 7.0),))  # already in the snapshot
    early_new = book_event("BCH-KRW", ask=(entry(51, 5100000, 0.5),))  # newer than the snapshot
    # The reply is due: no REST request is made for the snapshot.
    assert gopax.parse(plan.conn, early_old, T) == []
    assert gopax.parse(plan.conn, early_new, T) == []
    out = gopax.parse(plan.conn, raw("orderbook_reply.json"), T + 1)
    assert out == [
        Book("gopax", "BCH/KRW", None, T + 1, True, [(5000000.0, 5.0), (4500000.0, 3.0)], [(5100000.0, 2.5)], 50),
        Book("gopax", "BCH/KRW", 1599089200.0, T, False, [], [(5100000.0, 0.5)], 51),
    ]
    book = gopax.book("BCH/KRW")
    assert book is not None
    assert (book.bids(), book.asks()) == ({5000000.0: 5.0, 4500000.0: 3.0}, {5100000.0: 0.5})


def test_a_crossed_book_resyncs_that_book_from_rest(gopax: GopaxAdapter) -> None:
    """A loss shows as a crossed book: that one book resyncs from the REST book; the others stay live."""
    synced_bch(gopax)
    gopax.parse(CONN, raw("orderbook_reply_live.json"), T)
    out = gopax.parse(CONN, book_event("BCH-KRW", bid=(entry(60, 5200000, 1.0),)), T + 1)
    assert out == [
        Resync("gopax", "BCH/KRW", None, T + 1, "crossed", "bid (5200000.0, 1.0) >= ask (5100000.0, 2.5)"),
        RestRequest("https://api.gopax.co.kr/trading-pairs/BCH-KRW/book?level=3", "snapshot", 20, "BCH/KRW", "gopax.0"),
    ]
    assert gopax.books.state("BTC/KRW") is BookState.LIVE
    # Deltas while waiting are kept and joined to the REST book by its sequence.
    assert gopax.parse(CONN, book_event("BCH-KRW", ask=(entry(84551349, 5100000, 1.0),)), T + 2) == []
    assert gopax.parse(CONN, book_event("BCH-KRW", ask=(entry(84551350, 5300000, 4.0),)), T + 2) == []
    request = out[1]
    assert isinstance(request, RestRequest)
    rest = {"sequence": 84551349, "bid": [["48", 5000000, 5, "1599088982102"]], "ask": [["50", 5100000, 2.5, "1"]]}
    assert gopax.on_http(request, 200, orjson.dumps(rest), T + 3) == [
        Book("gopax", "BCH/KRW", None, T + 3, True, [(5000000.0, 5.0)], [(5100000.0, 2.5)], 84551349),
        Book("gopax", "BCH/KRW", 1599089200.0, T + 2, False, [], [(5300000.0, 4.0)], 84551350),
    ]
    assert gopax.books.state("BCH/KRW") is BookState.LIVE


def test_rest_book_rows_and_sequence(gopax: GopaxAdapter) -> None:
    """REST rows are ``[entryId, price, volume, updatedAt]`` with id and ms time as strings; ``sequence`` joins."""
    gopax.parse(CONN, raw("orderbook_reply_live.json"), T)
    gopax.books.resync([], "BTC/KRW", "test", "", T)
    request = RestRequest("https://api.gopax.co.kr/trading-pairs/BTC-KRW/book?level=3", "snapshot", 20, "BTC/KRW")
    assert gopax.on_http(request, 200, raw("rest_book.json").encode(), T + 1) == [
        Book("gopax", "BTC/KRW", None, T + 1, True, [(114980000.0, 0.0014)], [(117020000.0, 0.00000858)], 84551349)
    ]
    failed = gopax.on_http(request, 429, b'{"errorCode":10105}', T + 2)
    assert [(type(e), getattr(e, "reason", "")) for e in failed] == [(Error, "http_status")]


def test_overdue_reply_falls_back_to_the_rest_book(gopax: GopaxAdapter) -> None:
    """No reply within :attr:`reply_timeout`: the next delta asks the REST book instead."""
    plan = gopax.plan([Subscription("BCH/KRW", "book")])[0]
    gopax.connected(plan, T)
    assert gopax.parse(plan.conn, book_event("BCH-KRW", bid=(entry(60, 1, 1.0),)), T + 1) == []
    assert gopax.check(T + 11) == []
    out = gopax.parse(plan.conn, book_event("BCH-KRW", bid=(entry(61, 1, 1.0),)), T + 12)
    assert out == [
        RestRequest("https://api.gopax.co.kr/trading-pairs/BCH-KRW/book?level=3", "snapshot", 20, "BCH/KRW", plan.conn)
    ]


def test_rule_is_data() -> None:
    """The book rule: snapshots joined like REST ones (drop ids at or below), then ever higher ids."""
    assert (ENTRY_ID.name, ENTRY_ID.snapshots.value, ENTRY_ID.link.value, ENTRY_ID.join.value) == (
        "entry_id",
        "rest",
        "increasing",
        "after",
    )


def test_no_checksum() -> None:
    """GOPAX books carry no checksum: the simulator claims none and has nothing to corrupt."""
    wire = GopaxWire()
    assert (wire.checksums, wire.sequenced, wire.book_diffs) == (False, False, True)
    with pytest.raises(UsageError):
        wire.corrupt(None)  # type: ignore[arg-type]


# -- trades and tickers ---------------------------------------------------------------------------


def test_public_trade(gopax: GopaxAdapter) -> None:
    """``isBuy`` is the taker side; ``baseAmount`` (not ``quoteAmount``) is the size; ``occurredAt`` seconds."""
    expected = [Trade("gopax", "BCH/KRW", 1609756772.0, T, 100.0, 0.01, "buy", "75021")]
    assert gopax.receive(CONN, raw("public_trade.json"), T) == expected
    # The second goes through the fast path: the same event.
    assert gopax.receive(CONN, raw("public_trade.json"), T) == expected
    sell = edited("public_trade.json", isBuy=False, tradeId=75022)
    assert gopax.receive(CONN, sell, T) == [Trade("gopax", "BCH/KRW", 1609756772.0, T, 100.0, 0.01, "sell", "75022")]
    assert type(gopax.receive(CONN, edited("public_trade.json", tradingPairName="NOPE-KRW"), T)[0]) is Error


def test_tickers_reply_and_events(gopax: GopaxAdapter) -> None:
    """Tickers cover every pair; ``highestBid``/``lowestAsk`` of 0 mean no side; delisted pairs are skipped."""
    btc = Ticker(
        "gopax",
        "BTC/KRW",
        1665640796.413,
        T,
        None,
        None,
        None,
        None,
        last=37300000.0,
        open=37300000.0,
        high=37300000.0,
        low=37300000.0,
        volume=0.02,
        quote_volume=746000.0,
    )
    assert gopax.parse(CONN, raw("tickers_reply.json"), T) == [btc]
    assert gopax.stats["ignored.unlisted_ticker"] == 1  # UNC-KRW is not in /trading-pairs
    assert gopax.parse(CONN, raw("ticker_event.json"), T) == [btc]
    assert gopax.parse(CONN, raw("ticker_event_live.json"), T) == [
        Ticker(
            "gopax",
            "WOORI/KRW",
            1790139116.758,
            T,
            264.0,
            None,
            265.0,
            None,
            last=264.0,
            open=264.0,
            high=267.0,
            low=262.0,
            volume=60292.8383377,
            quote_volume=15951517.61339619,
        )
    ]


def test_tickers_only_for_planned_symbols(gopax: GopaxAdapter) -> None:
    """Live, only the pairs whose ticker was asked for become events (the channel is all pairs)."""
    gopax.plan([Subscription("WOORI/KRW", "ticker")])
    assert gopax.parse(CONN, raw("ticker_event.json"), T) == []
    assert [e.symbol for e in gopax.parse(CONN, raw("ticker_event_live.json"), T)] == ["WOORI/KRW"]


# -- keepalive and control ------------------------------------------------------------------------


def test_primus_ping_is_answered_and_touches_the_books(gopax: GopaxAdapter) -> None:
    """``"primus::ping::<ms>"`` is answered with the same number, quoted; it is no data, but books live on."""
    plan = gopax.plan([Subscription("BCH/KRW", "book")])[0]
    gopax.connected(plan, T)
    gopax.receive(plan.conn, raw("orderbook_reply.json"), T)
    assert gopax.receive(plan.conn, raw("ping.json"), T + 30) == [SendFrame(plan.conn, '"primus::pong::1591318325140"')]
    assert gopax.stats["ignored.ping"] == 1
    assert gopax.data_at[plan.conn] == T  # the ping is not data
    book = gopax.book("BCH/KRW")
    assert book is not None and book.updated == T + 30
    assert gopax.check(T + 100) == []  # 70 s after the ping: not stale yet
    assert [e.reason for e in gopax.check(T + 106) if isinstance(e, Resync)] == ["stale"]


def test_refusals_are_errors_and_end_the_wait(gopax: GopaxAdapter) -> None:
    """A refused subscription (``result: false``) is reported; a refused book is not awaited any more."""
    plan = gopax.plan([Subscription("ETH/KRW", "book")])[0]
    gopax.connected(plan, T)
    refused = edited("refusal_too_many_books.json")
    refused = refused.replace('"i":"MVL-KRW"', '"i":"ETH-KRW"')
    out = gopax.receive(plan.conn, refused, T)
    assert [(type(e), e.reason) for e in out] == [(Error, "rejected")]  # type: ignore[union-attr]
    assert "10321" in out[0].detail  # type: ignore[union-attr]
    assert not gopax.replies.pending("ETH/KRW")
    assert plan.conn not in gopax.data_at
    for name in ("refusal_unknown_asset.json", "refusal_no_endpoint.json"):
        errors = gopax.receive(CONN, raw(name), T)
        assert len(errors) == 1 and isinstance(errors[0], Error)


def test_private_channels_are_counted_and_junk_is_reported(gopax: GopaxAdapter) -> None:
    """Other GOPAX channels are ignored; frames that are no GOPAX message are errors."""
    assert gopax.receive(CONN, raw("order_event.json"), T) == []
    assert gopax.stats["ignored.OrderEvent"] == 1
    cases = {
        '{"i":-1,"n":"NotAnEvent","o":{}}': "unknown_event",
        '{"i":-1,"n":"OrderBookEvent","o":{"ask":"nope"}}': "malformed",
        '"hello"': "unknown_message",
        '"primus::ping::soon"': "unknown_message",
        "{}": "malformed",
        "[1,2]": "malformed",
    }
    for frame, reason in cases.items():
        out = gopax.receive(CONN, frame, T)
        assert [(type(e), e.reason) for e in out] == [(Error, reason)], frame  # type: ignore[union-attr]


# -- plan ------------------------------------------------------------------------------------------


def test_plan_subscribes_books_trading_pairs_and_tickers(gopax: GopaxAdapter) -> None:
    """A pair with trades uses ``SubscribeToTradingPair`` (book + trades); tickers once; ``i`` names the pair."""
    subs = [
        Subscription("BTC/KRW", "book"),
        Subscription("BTC/KRW", "trades"),
        Subscription("ETH/KRW", "book"),
        Subscription("XRP/KRW", "trades"),
        Subscription("BTC/KRW", "ticker"),
    ]
    (plan,) = gopax.plan(subs)
    assert plan.url == "wss://wsapi.gopax.co.kr"
    assert plan.subscribe == [
        '{"i":"BTC-KRW","n":"SubscribeToTradingPair","o":{"tradingPairName":"BTC-KRW"}}',
        '{"i":"ETH-KRW","n":"SubscribeToOrderBook","o":{"tradingPairName":"ETH-KRW"}}',
        '{"i":"XRP-KRW","n":"SubscribeToTradingPair","o":{"tradingPairName":"XRP-KRW"}}',
        '{"i":"tickers","n":"SubscribeToTickers","o":{}}',
    ]
    assert plan.symbols == ["BTC/KRW", "ETH/KRW"]
    assert (plan.ping_interval, plan.app_ping, plan.idle_timeout, plan.max_lifetime) == (20.0, None, 300.0, 84600.0)
    # XRP's book events are not kept: only its trades were asked for.
    assert gopax.parse(plan.conn, book_event("XRP-KRW", ask=(entry(5, 2217, 1.0),)), T) == []
    assert gopax.stats["ignored.book_unused"] == 1


def test_plan_shards_fifty_books_per_connection() -> None:
    """ "A single connection can subscribe to order books for up to 50 market pairs"."""
    adapter = GopaxAdapter()
    pairs = [{"name": f"C{n}-KRW", "baseAsset": f"C{n}", "quoteAsset": "KRW"} for n in range(120)]
    adapter.on_http(adapter.instrument_requests()[0], 200, orjson.dumps(pairs), T)
    plans = adapter.plan([Subscription(f"C{n}/KRW", "book") for n in range(120)])
    assert [len(p.subscribe) for p in plans] == [50, 50, 20]
    assert [p.conn for p in plans] == ["gopax.0", "gopax.1", "gopax.2"]
    with pytest.raises(UnknownChannel):
        adapter.plan([Subscription("C1/KRW", "candles")])


def test_registered_and_recognised() -> None:
    """The registry finds the package; captures of ``wsapi.gopax.co.kr`` replay with it."""
    assert EXCHANGES["gopax"] is GopaxAdapter
    assert GopaxAdapter.recognizes("wss://wsapi.gopax.co.kr")
    assert not GopaxAdapter.recognizes("wss://api.upbit.com/websocket/v1")
    assert GopaxAdapter.match_key("https://api.gopax.co.kr/trading-pairs/BTC-KRW/book?level=3") == (
        "api.gopax.co.kr",
        "/trading-pairs/BTC-KRW/book",
        "",
    )


# -- the simulator ---------------------------------------------------------------------------------


def _session() -> tuple[GopaxWire, GopaxSession, dict[str, Any]]:
    wire = GopaxWire()
    markets = {}
    for symbol in ("BTC/KRW", "USDT/KRW"):
        spec = wire.instrument(symbol, 1)
        markets[spec.native] = wire.market(spec, 1, 40)
    session = wire.open("")
    assert isinstance(session, GopaxSession)
    return wire, session, markets


def test_simulator_refuses_as_gopax_does() -> None:
    """Unknown pairs, repeats, small limits and unknown requests get GOPAX's refusals; junk gets nothing."""
    wire, session, markets = _session()

    def reply(request: dict[str, Any]) -> Any:
        control = wire.on_client_text(session, orjson.dumps(request).decode(), markets, 1_700_000_000_000)
        return orjson.loads(control.reply) if control.reply is not None else None

    book = reply({"i": "BTC-KRW", "n": "SubscribeToOrderBook", "o": {"tradingPairName": "BTC-KRW"}})
    assert (book["i"], book["n"], book["o"]["tradingPairName"]) == ("BTC-KRW", "SubscribeToOrderBook", "BTC-KRW")
    assert book["o"]["maxEntryId"] >= max(e["entryId"] for e in book["o"]["ask"] + book["o"]["bid"])
    assert reply({"i": 4, "n": "SubscribeToOrderBook", "o": {"tradingPairName": "BTC-KRW"}}) == {
        "i": 4,
        "n": "SubscribeToOrderBook",
        "o": {"result": False, "errCode": 10325, "errData": "Already subscribed"},
    }
    assert reply({"i": 3, "n": "SubscribeToOrderBook", "o": {"tradingPairName": "NOPE-KRW"}})["o"]["errCode"] == 10058
    assert reply({"n": "SubscribeToOrderBook", "o": {"tradingPairName": "USDT-KRW", "limit": 10}})["o"] == {
        "result": False,
        "errCode": 10329,
        "errData": "Invalid limit",
    }
    limited = reply({"n": "SubscribeToOrderBook", "o": {"tradingPairName": "USDT-KRW", "limit": 20}})["o"]
    assert (len(limited["bid"]), len(limited["ask"])) == (20, 20)
    assert reply({"i": 6, "n": "SubscribeToNothing", "o": {}})["o"]["errCode"] == 10001
    assert wire.on_client_text(session, "not json", markets, 0).reply is None


def test_simulator_rest_book_and_listing() -> None:
    """The REST book: string ids and ms times, best first, the exchange's latest id as ``sequence``."""
    wire, _, markets = _session()
    answer = wire.rest(RestCall("GET", "/trading-pairs/BTC-KRW/book", {"level": "2"}), markets, 1_700_000_000_000)
    body = orjson.loads(answer.body)
    assert answer.status == 200 and len(body["bid"]) == 40 and len(body["ask"]) == 40
    entry_id, price, volume, updated = body["bid"][0]
    assert isinstance(entry_id, str) and isinstance(updated, str) and int(entry_id) <= body["sequence"]
    assert price == max(row[1] for row in body["bid"]) and volume > 0
    missing = wire.rest(RestCall("GET", "/trading-pairs/NOPE-KRW/book", {}), markets, 0)
    assert (missing.status, orjson.loads(missing.body)["errorCode"]) == (404, 10058)
    listing = orjson.loads(wire.rest(RestCall("GET", "/trading-pairs", {}), markets, 0).body)
    assert [(p["name"], p["baseAsset"], p["quoteAsset"]) for p in listing] == [
        ("BTC-KRW", "BTC", "KRW"),
        ("USDT-KRW", "USDT", "KRW"),
    ]


def test_simulator_prices_krw_at_a_premium() -> None:
    """KRW pairs trade about 2.5 % above the USD price times 1,400; USDT/KRW at par."""
    wire = GopaxWire()
    btc = wire.instrument("BTC/KRW", 1)
    usdt = wire.instrument("USDT/KRW", 1)
    assert btc.start_ticks * 1000 == 86_100_000  # 60,000 USD * 1,400 * 1.025 in 1,000 KRW ticks
    assert usdt.start_ticks == 1400
    with pytest.raises(UnknownSymbol):
        wire.instrument("BTC/USDT:USDT", 1)


async def test_simulator_closes_a_connection_that_misses_a_pong(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``"primus::pong::<ms>"`` for a ping: the server closes the socket (code 1000) at the next ping."""
    monkeypatch.setattr(GopaxWire, "heartbeat_interval", 0.2)
    async with Simulator({"gopax": ["BTC/KRW"]}, seed=3, tick_interval=0.05) as sim:
        url = sim.endpoints("gopax").ws
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
            await ws.send_str('{"i":"BTC-KRW","n":"SubscribeToOrderBook","o":{"tradingPairName":"BTC-KRW"}}')
            pings = []
            async with asyncio.timeout(5):
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT and msg.data.startswith('"primus::ping::'):
                        pings.append(msg.data)
            assert len(pings) == 1
            assert ws.close_code == 1000


async def test_answered_pings_keep_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """The adapter answers every Primus ping: the connection stays up while pings come and go."""
    monkeypatch.setattr(GopaxWire, "heartbeat_interval", 0.2)
    async with Simulator({"gopax": ["BTC/KRW"]}, seed=3, tick_interval=0.05) as sim:
        c, rec = await start_collector(sim, {"gopax": ["BTC/KRW"]}, plan_overrides={"idle_timeout": 30.0})
        try:
            adapter = c.adapter("gopax")
            await wait_for(lambda: adapter.stats["ignored.ping"] >= 5, timeout=10)
            assert rec.of(Disconnected, "gopax") == []
            assert rec.of(Error, "gopax") == []
            assert rec.of(Trade, "gopax")
        finally:
            await c.stop()
