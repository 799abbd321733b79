"""BitMEX adapter: parsers on the documented message shapes, instruments, units, the book rule, plans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from collector.actions import RestRequest, SendFrame
from collector.book import UNSEQUENCED
from collector.errors import UnknownSymbol, UsageError
from collector.exchanges import EXCHANGES, ConnectionPlan, Subscription
from collector.exchanges.bitmex import BitmexAdapter
from collector.exchanges.bitmex.instruments import INVERSE, LINEAR, NOTIONAL, Contract
from collector.models import (
    Book,
    Candle,
    Connected,
    DerivativeTicker,
    Disconnected,
    Error,
    Liquidation,
    Resync,
    Ticker,
    Trade,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bitmex"
T = 1700000000.5  # receipt time handed to the adapter
XBTUSD = "BTC/USD:BTC"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def text(name: str) -> str:
    return raw(name).decode()


def rows(name: str, *changes: dict[str, Any], action: str | None = None, table: str | None = None) -> str:
    """A fixture with its rows changed (one dict per row; ``None`` removes a key)."""
    msg = json.loads(raw(name))
    for row, change in zip(msg["data"], changes, strict=False):
        for key, value in change.items():
            if value is None:
                row.pop(key, None)
            else:
                row[key] = value
    if action is not None:
        msg["action"] = action
    if table is not None:
        msg["table"] = table
    return orjson.dumps(msg).decode()


def listing() -> RestRequest:
    return RestRequest("https://www.bitmex.com/api/v1/instrument/active", "instruments")


@pytest.fixture
def bitmex() -> BitmexAdapter:
    adapter = BitmexAdapter()
    assert adapter.answer(listing(), 200, raw("instruments.json"), T) == []
    adapter.connected(ConnectionPlan("c", "wss://ws.bitmex.com/realtime"), T)
    return adapter


def live_book(adapter: BitmexAdapter, conn: str = "c") -> None:
    """XBTUSD's orderBookL2 image: bid 26900 x 1000, asks 26910 x 500 and 26920 x 700."""
    partial = {
        "table": "orderBookL2",
        "action": "partial",
        "keys": ["symbol", "id", "side"],
        "filter": {"symbol": "XBTUSD"},
        "data": [
            {
                "symbol": "XBTUSD",
                "id": 2,
                "side": "Sell",
                "size": 700,
                "price": 26920,
                "timestamp": "2023-05-19T08:51:40.000Z",
            },
            {
                "symbol": "XBTUSD",
                "id": 1,
                "side": "Sell",
                "size": 500,
                "price": 26910,
                "timestamp": "2023-05-19T08:51:40.000Z",
            },
            {
                "symbol": "XBTUSD",
                "id": 3,
                "side": "Buy",
                "size": 1000,
                "price": 26900,
                "timestamp": "2023-05-19T08:51:40.000Z",
            },
        ],
    }
    out = adapter.receive(conn, orjson.dumps(partial).decode(), T)
    assert [type(e) for e in out] == [Book]


# -- instruments --------------------------------------------------------------------------------


def test_instruments_map_to_unified_symbols_both_ways(bitmex: BitmexAdapter) -> None:
    """Perpetuals (inverse, linear, quanto), a dated future and spot get ccxt-style symbols; indices are skipped."""
    got = {i.symbol: (i.native, i.kind, i.base, i.quote, i.settle, i.expiry) for i in bitmex.instruments}
    assert got == {
        "BTC/USD:BTC": ("XBTUSD", "swap", "BTC", "USD", "BTC", None),
        "BTC/USDT:USDT": ("XBTUSDT", "swap", "BTC", "USDT", "USDT", None),
        "ETH/USD:BTC": ("ETHUSD", "swap", "ETH", "USD", "BTC", None),
        "BTC/USD:BTC-251226": ("XBTZ25", "future", "BTC", "USD", "BTC", "251226"),
        "BTC/USDT": ("XBT_USDT", "spot", "BTC", "USDT", None, None),
    }
    assert bitmex.instruments.by_native("XBTZ25").symbol == "BTC/USD:BTC-251226"
    assert bitmex.instruments.by_symbol("BTC/USDT:USDT").native == "XBTUSDT"
    with pytest.raises(UnknownSymbol):
        bitmex.instruments.by_native(".BXBT")


def test_contract_values_come_from_the_multipliers(bitmex: BitmexAdapter) -> None:
    """XBTUSD: -1e8 / -1e8 = 1 USD a contract; XBTUSDT: 1e6 contracts an XBT; ETHUSD (quanto) has no fixed base."""
    assert bitmex.contracts["XBTUSD"] == Contract("BTC/USD:BTC", INVERSE, 1.0)
    assert bitmex.contracts["XBTUSDT"] == Contract("BTC/USDT:USDT", LINEAR, 1e-6, 1e6)
    assert bitmex.contracts["ETHUSD"] == Contract("ETH/USD:BTC", NOTIONAL, 1.0)
    assert bitmex.contracts["XBT_USDT"] == Contract("BTC/USDT", LINEAR, 1e-6, 1e6)
    inverse = bitmex.instruments.by_symbol(XBTUSD)
    assert (inverse.contract_size, inverse.tick_size, inverse.step_size) == (1.0, 0.1, 100.0)
    assert bitmex.contracts["XBTUSD"].base(100, 25000.0) == 0.004
    assert bitmex.contracts["XBTUSDT"].base(2000, 25000.0) == 0.002
    assert bitmex.contracts["ETHUSD"].base(1, 1811.6) is None


def test_a_duplicate_unified_symbol_keeps_the_plain_native_id() -> None:
    """Two listings that would both be ``BTC/USD:BTC``: the shorter native id keeps the symbol."""
    entries = json.loads(raw("instruments.json"))
    twin = dict(entries[0], symbol="XBTUSD_BBX")
    adapter = BitmexAdapter()
    adapter.answer(listing(), 200, orjson.dumps([twin, *entries]), T)
    assert adapter.instruments.by_symbol(XBTUSD).native == "XBTUSD"
    assert "XBTUSD_BBX" not in adapter.contracts


def test_null_fields_of_a_listing_entry_do_not_spoil_the_listing() -> None:
    """Before 2023 BitMEX sent nulls; an entry with null flags or currencies is read or skipped alone."""
    entries = json.loads(raw("instruments.json"))
    entries[0]["isQuanto"] = None
    entries[0]["tickSize"] = None
    entries[5]["quoteCurrency"] = None
    entries[5]["typ"] = None
    adapter = BitmexAdapter()
    assert adapter.answer(listing(), 200, orjson.dumps(entries), T) == []
    assert adapter.contracts["XBTUSD"] == Contract(XBTUSD, INVERSE, 1.0)
    assert len(adapter.instruments) == 5


def test_an_unreadable_listing_is_an_error_event() -> None:
    """A listing that is not an array of instruments becomes an error event, not an exception."""
    adapter = BitmexAdapter()
    out = adapter.answer(listing(), 200, b'{"error":{"message":"Not Found","name":"HTTPError"}}', T)
    assert [(type(e), e.reason) for e in out] == [(Error, "malformed")]


# -- trades -------------------------------------------------------------------------------------


def test_inverse_trade_amount_is_bitmex_home_notional(bitmex: BitmexAdapter) -> None:
    """100 one-dollar XBTUSD contracts at 98570.9: "homeNotional = base amount", BitMEX's own
    figure (its grossValue of 101450 satoshis), 0.0010145 XBT; ``side`` is the taker's. A row
    without it: 100 / 98570.9 XBT."""
    trade = Trade(
        "bitmex", XBTUSD, 1732436138.704, T, 98570.9, 0.0010145, "sell", "00000000-006d-1000-0000-000e8737d536"
    )
    assert bitmex.receive("c", text("trade.json"), T) == [trade]
    no_home = rows("trade.json", {"homeNotional": None, "trdMatchID": "other", "price": 98571.0})
    assert bitmex.receive("c", no_home, T + 1) == [
        Trade("bitmex", XBTUSD, 1732436138.704, T + 1, 98571.0, 100 / 98571.0, "sell", "other")
    ]


def test_linear_trades_divide_by_the_position_multiplier(bitmex: BitmexAdapter) -> None:
    """XBTUSDT sizes are 1e-6 XBT contracts: 2000 are 0.002 XBT; every row is a trade."""
    assert bitmex.receive("c", text("trade_linear.json"), T) == [
        Trade(
            "bitmex",
            "BTC/USDT:USDT",
            1665931940.118,
            T,
            19130.0,
            2000 * 1e-6,
            "buy",
            "00000000-006d-1000-0000-000e8738a1b2",
        ),
        Trade(
            "bitmex",
            "BTC/USDT:USDT",
            1665931940.118,
            T,
            19130.5,
            1000 * 1e-6,
            "buy",
            "00000000-006d-1000-0000-000e8738a1b3",
        ),
    ]


def test_quanto_trade_amount_is_bitmex_home_notional(bitmex: BitmexAdapter) -> None:
    """An ETHUSD contract's ETH amount depends on the bitcoin price; BitMEX's ``homeNotional`` gives it."""
    assert bitmex.receive("c", text("trade_quanto.json"), T) == [
        Trade(
            "bitmex",
            "ETH/USD:BTC",
            1616286129.258,
            T,
            1811.6,
            0.058513750731421885,
            "buy",
            "46fcd532-c20e-ac2c-eaed-392f2d599487",
        )
    ]
    no_home = rows("trade_quanto.json", {"homeNotional": None, "trdMatchID": "other"})
    assert [(type(e), e.reason) for e in bitmex.receive("c", no_home, T)] == [(Error, "malformed")]


def test_the_trade_image_repeats_only_what_was_not_emitted(bitmex: BitmexAdapter) -> None:
    """After a reconnect the ``partial`` holds trades already seen: only the newer ones are emitted."""
    assert [e.id for e in bitmex.receive("c", text("trade.json"), T)] == ["00000000-006d-1000-0000-000e8737d536"]
    assert [e.id for e in bitmex.receive("c", text("trade_partial.json"), T + 1)] == [
        "00000000-006d-1000-0000-000e8737d5a0"
    ]
    assert bitmex.receive("c", text("trade_partial.json"), T + 2) == []


def test_the_trade_image_does_not_repeat_fills_of_one_time(bitmex: BitmexAdapter) -> None:
    """One taker order fills several makers at one time: a partial repeating all of them after a
    reconnect emits none again (each is named by its trdMatchID), and a new fill of that time is kept."""
    partial = json.loads(text("trade_partial.json"))
    first = partial["data"][0]
    fills = [first | {"trdMatchID": f"00000000-0000-0000-0000-00000000000{n}"} for n in range(3)]
    insert = dict(partial, action="insert", data=fills[:2])
    assert len(bitmex.receive("c", json.dumps(insert), T)) == 2
    image = dict(partial, data=fills)
    assert [e.id for e in bitmex.receive("c", json.dumps(image), T + 1)] == [fills[2]["trdMatchID"]]


def test_the_first_trade_image_is_emitted_whole() -> None:
    """A first subscription's image holds the latest trades; with nothing emitted before, all are emitted."""
    adapter = BitmexAdapter()
    adapter.answer(listing(), 200, raw("instruments.json"), T)
    assert len(adapter.receive("c", text("trade_partial.json"), T)) == 2


# -- tickers ------------------------------------------------------------------------------------


def test_quote_is_a_ticker_with_contract_sizes(bitmex: BitmexAdapter) -> None:
    """``quote`` rows are the best bid/offer; sizes stay contracts, as in the book."""
    assert bitmex.receive("c", text("quote.json"), T) == [
        Ticker("bitmex", XBTUSD, 1495741407.493, T, 2443.2, 62.0, 2447.4, 40.0)
    ]


def test_quote_takes_last_and_24h_figures_from_the_instrument_table(bitmex: BitmexAdapter) -> None:
    """When ``instrument`` flows too, a ticker carries its last price and 24 h open/high/low/volumes."""
    bitmex.receive("c", text("instrument_partial.json"), T)
    assert bitmex.receive("c", text("quote.json"), T + 1) == [
        Ticker(
            "bitmex",
            XBTUSD,
            1495741407.493,
            T + 1,
            2443.2,
            62.0,
            2447.4,
            40.0,
            last=97893.7,
            open=97655.0,
            high=98743.5,
            low=95802.9,
            volume=4317.62899194,
            quote_volume=419742700.0,
        )
    ]


def test_an_empty_book_side_is_none(bitmex: BitmexAdapter) -> None:
    """BitMEX leaves null fields out: a quote without bid fields has no bid."""
    (ticker,) = bitmex.receive("c", rows("quote.json", {"bidPrice": None, "bidSize": None}), T)
    assert (ticker.bid, ticker.bid_size, ticker.ask) == (None, None, 2447.4)


# -- books --------------------------------------------------------------------------------------


def test_partial_is_the_book_snapshot(bitmex: BitmexAdapter) -> None:
    """The ``partial`` (here ``orderBookL2_25``, the official connector's example) replaces the book."""
    assert bitmex.receive("c", text("book_partial.json"), T) == [
        Book("bitmex", XBTUSD, 1676448667.502, T, True, [(22077.5, 102500.0)], [(22105.0, 375300.0)], None)
    ]
    book = bitmex.book(XBTUSD)
    assert book is not None and book.synced
    assert (book.best_bid(), book.best_ask()) == ((22077.5, 102500.0), (22105.0, 375300.0))


def test_insert_update_delete_rows_change_levels_by_price(bitmex: BitmexAdapter) -> None:
    """The 2023 announcement's messages: insert 32800, update to 42800, delete (price on every row)."""
    live_book(bitmex)
    assert bitmex.receive("c", text("book_insert.json"), T) == [
        Book("bitmex", XBTUSD, 1684486303.911, T, False, [(26902.0, 32800.0)], [], None)
    ]
    assert bitmex.receive("c", text("book_update.json"), T) == [
        Book("bitmex", XBTUSD, 1684486304.911, T, False, [(26902.0, 42800.0)], [], None)
    ]
    assert bitmex.receive("c", text("book_delete.json"), T) == [
        Book("bitmex", XBTUSD, 1684486305.911, T, False, [(26902.0, 0.0)], [], None)
    ]
    book = bitmex.book(XBTUSD)
    assert book is not None
    assert (book.bids(), book.asks()) == ({26900.0: 1000.0}, {26910.0: 500.0, 26920.0: 700.0})


def test_legacy_rows_without_price_use_the_ids_of_the_image(bitmex: BitmexAdapter) -> None:
    """Before July 2023 ``update``/``delete`` rows had no price: the id from the partial or insert gives it."""
    bitmex.receive("c", text("book_partial.json"), T)
    assert bitmex.receive("c", text("book_update_legacy.json"), T) == [
        Book("bitmex", XBTUSD, 1676448667.523, T, False, [], [(22105.0, 77300.0)], None)
    ]
    insert = rows("book_update_legacy.json", {"id": 9, "side": "Buy", "size": 5, "price": 22070}, action="insert")
    bitmex.receive("c", insert, T)
    delete = rows("book_update_legacy.json", {"id": 9, "side": "Buy", "size": None}, action="delete")
    assert bitmex.receive("c", delete, T)[0].bids == [(22070.0, 0.0)]
    book = bitmex.book(XBTUSD)
    assert book is not None and (book.bids(), book.asks()) == ({22077.5: 102500.0}, {22105.0: 77300.0})


def test_priced_updates_with_price_less_deletes_keep_the_id_map(bitmex: BitmexAdapter) -> None:
    """April to July 2023: "the price is provided on every 'update' message" but deletes came without
    one. A priced update keeps the id map, so the delete after it still finds its level."""
    bitmex.receive("c", text("book_partial.json"), T)
    update = rows("book_update_legacy.json", {"price": 22105}, action="update")
    assert bitmex.receive("c", update, T)[0].asks == [(22105.0, 77300.0)]
    first = json.loads(update)["data"][0]
    delete = rows("book_update_legacy.json", {"size": None, "price": None, "id": first["id"]}, action="delete")
    assert [type(e).__name__ for e in bitmex.receive("c", delete, T)] == ["Book"]
    book = bitmex.book(XBTUSD)
    assert book is not None and 22105.0 not in book.asks()


def test_an_unknown_id_resyncs_that_book_only(bitmex: BitmexAdapter) -> None:
    """A price-less row for an id never seen means rows were lost: XBTUSD resubscribes, XBTUSDT stays live."""
    bitmex.receive("c", text("book_partial.json"), T)
    other = rows("book_partial.json", {"symbol": "XBTUSDT"}, {"symbol": "XBTUSDT"})
    bitmex.receive("c", other, T)
    lost = rows("book_update_legacy.json", {"id": 123})
    out = bitmex.receive("c", lost, T + 1)
    assert out == [
        Resync("bitmex", XBTUSD, None, T + 1, "gap", "orderBookL2_25 update for unknown id 123"),
        SendFrame("c", '{"op":"unsubscribe","args":["orderBookL2_25:XBTUSD"]}'),
        SendFrame("c", '{"op":"subscribe","args":["orderBookL2_25:XBTUSD"]}'),
    ]
    xbtusdt = bitmex.book("BTC/USDT:USDT")
    assert xbtusdt is not None and xbtusdt.synced
    # Rows until the new partial are dropped ("discard messages until the partial arrives").
    assert bitmex.receive("c", text("book_update_legacy.json"), T + 2) == []
    assert bitmex.stats["ignored.before_partial"] == 1
    assert [type(e) for e in bitmex.receive("c", text("book_partial.json"), T + 3)] == [Book]


def test_rows_before_the_partial_are_discarded(bitmex: BitmexAdapter) -> None:
    """Deltas of a subscription whose image has not arrived change nothing and are counted."""
    assert bitmex.receive("c", text("book_insert.json"), T) == []
    assert bitmex.stats["ignored.before_partial"] == 1
    assert bitmex.book(XBTUSD) is None or not bitmex.book(XBTUSD).synced  # type: ignore[union-attr]


def test_an_empty_partial_is_an_empty_synced_book(bitmex: BitmexAdapter) -> None:
    """``data: []`` with ``filter.symbol``: the symbol's book is empty, and live."""
    assert bitmex.receive("c", text("book_partial_empty.json"), T) == [
        Book("bitmex", XBTUSD, None, T, True, [], [], None)
    ]
    book = bitmex.book(XBTUSD)
    assert book is not None and book.synced


def test_a_second_book_table_of_a_symbol_is_ignored(bitmex: BitmexAdapter) -> None:
    """``orderBookL2`` and ``orderBookL2_25`` of one symbol would fight over one book: the first keeps it."""
    bitmex.receive("c", text("book_partial.json"), T)
    assert bitmex.receive("c", rows("book_partial.json", table="orderBookL2"), T) == []
    assert bitmex.stats["ignored.second_book_table"] == 1


def test_a_level_that_changed_sides_removes_the_stale_opposite_level(bitmex: BitmexAdapter) -> None:
    """A bid inserted at or above the best ask is the newer truth (the engine would have matched them):
    the crossed asks are removed with it, and their own ``delete`` that follows changes nothing."""
    live_book(bitmex)
    out = bitmex.receive("c", rows("book_insert.json", {"price": 26915}), T)
    assert out == [Book("bitmex", XBTUSD, 1684486303.911, T, False, [(26915.0, 32800.0)], [(26910.0, 0.0)], None)]
    assert bitmex.stats["book.uncrossed"] == 1
    late = rows("book_delete.json", {"id": 1, "side": "Sell", "price": 26910})
    assert [type(e) for e in bitmex.receive("c", late, T)] == [Book]
    book = bitmex.book(XBTUSD)
    assert book is not None and book.synced
    assert (book.bids(), book.asks()) == ({26900.0: 1000.0, 26915.0: 32800.0}, {26920.0: 700.0})


def test_a_frame_crossing_itself_resubscribes(bitmex: BitmexAdapter) -> None:
    """Rows that contradict each other cannot be repaired: the book is rebuilt from a new partial."""
    live_book(bitmex)
    crossing = json.loads(raw("book_insert.json"))
    crossing["data"].append(dict(crossing["data"][0], id=77, side="Sell", price=26901))
    out = bitmex.receive("c", orjson.dumps(crossing).decode(), T)
    assert [type(e) for e in out] == [Resync, SendFrame, SendFrame]
    assert out[0].reason == "crossed"  # type: ignore[union-attr]


def test_rows_of_several_symbols_in_one_frame_are_split(bitmex: BitmexAdapter) -> None:
    """A topic without ``:symbol`` sends rows of every instrument; each goes to its own book."""
    live_book(bitmex)
    bitmex.receive("c", rows("book_partial.json", {"symbol": "XBTUSDT"}, {"symbol": "XBTUSDT"}, table="orderBookL2"), T)
    mixed = json.loads(raw("book_update.json"))
    mixed["data"].append(dict(mixed["data"][0], symbol="XBTUSDT", side="Sell", price=22105, size=1))
    out = bitmex.receive("c", orjson.dumps(mixed).decode(), T)
    assert [(e.symbol, e.bids, e.asks) for e in out] == [  # type: ignore[union-attr]
        (XBTUSD, [(26902.0, 42800.0)], []),
        ("BTC/USDT:USDT", [], [(22105.0, 1.0)]),
    ]


def test_book_rule_is_unsequenced_without_checksum(bitmex: BitmexAdapter) -> None:
    """BitMEX books carry neither a sequence nor a checksum: rows apply in arrival order."""
    assert bitmex.books.rule is UNSEQUENCED
    assert bitmex.books.checksum is None
    wire = BitmexAdapter.simulator_wire()
    assert (wire.checksums, wire.sequenced) == (False, False)


def test_a_row_of_the_current_feed_decodes(bitmex: BitmexAdapter) -> None:
    """A 2024 row with ``transactTime`` and an opaque id applies like any other."""
    bitmex.receive("c", rows("book_partial.json", table="orderBookL2"), T)
    assert bitmex.receive("c", text("book_row_2024.json"), T) == [
        Book("bitmex", XBTUSD, 1732436782.356, T, False, [], [(98459.9, 33000.0)], None)
    ]


# -- instrument: funding, open interest ----------------------------------------------------------


def test_instrument_image_is_a_derivative_ticker(bitmex: BitmexAdapter) -> None:
    """Mark, index (``indicativeSettlePrice``), funding and its time, predicted rate, open interest
    in USD contracts, whose USD value is the count itself."""
    assert bitmex.receive("c", text("instrument_partial.json"), T) == [
        DerivativeTicker(
            "bitmex",
            XBTUSD,
            1732491199.034,
            T,
            mark_price=97849.76,
            index_price=97843.77,
            funding_rate=0.00011,
            next_funding_time=1732507200.0,
            predicted_funding_rate=0.000125,
            open_interest=411647400.0,
            open_interest_value=411647400.0,
            last_price=97893.7,
        )
    ]


def test_sparse_updates_are_merged_and_unchanged_ones_are_silent(bitmex: BitmexAdapter) -> None:
    """An ``update`` row holds the changed fields only; a repeat of known values gives no event."""
    bitmex.receive("c", text("instrument_partial.json"), T)
    (event,) = bitmex.receive("c", text("instrument_update.json"), T + 1)
    assert isinstance(event, DerivativeTicker)
    assert (event.timestamp, event.index_price, event.mark_price) == (1779879600.5, 75847.62, 97849.76)
    assert bitmex.receive("c", text("instrument_update.json"), T + 2) == []


def test_linear_open_interest_value_is_open_value_in_usdt(bitmex: BitmexAdapter) -> None:
    """XBTUSDT settles in USDt (1e-6 USDT): ``openValue`` / ``quoteToSettleMultiplier`` is USDT."""
    (event,) = bitmex.receive("c", text("instrument_mark.json"), T)
    assert isinstance(event, DerivativeTicker)
    assert (event.symbol, event.mark_price, event.open_interest_value) == ("BTC/USDT:USDT", 19131.5, 538432.5)


def test_a_negative_instrument_price_is_reported_and_not_merged(bitmex: BitmexAdapter) -> None:
    """A bad value is reported before it can enter the merged state; ``0`` means "none yet"."""
    bitmex.receive("c", text("instrument_partial.json"), T)
    bad = rows("instrument_update.json", {"markPrice": -5.0})
    assert [(type(e), e.reason) for e in bitmex.receive("c", bad, T)] == [(Error, "malformed")]
    latest = bitmex.derivatives.latest(XBTUSD)
    assert latest is not None and latest.mark_price == 97849.76
    zero = rows("instrument_update.json", {"lastPrice": 0})
    assert bitmex.receive("c", zero, T)[0].last_price == 97893.7  # type: ignore[union-attr]


def test_funding_events_only_when_funding_was_asked_for(bitmex: BitmexAdapter) -> None:
    """With a plan, the instrument table gives derivative tickers only to symbols subscribed for funding."""
    bitmex.plan([Subscription(XBTUSD, "ticker"), Subscription("BTC/USDT:USDT", "funding")])
    assert bitmex.receive("c", text("instrument_partial.json"), T) == []
    assert [type(e) for e in bitmex.receive("c", text("instrument_mark.json"), T)] == [DerivativeTicker]


# -- candles and liquidations --------------------------------------------------------------------


def test_trade_bin_timestamp_is_the_end_of_the_bar(bitmex: BitmexAdapter) -> None:
    """ "Timestamps returned by our bucketed endpoints are the end of the period": the bar is [ts - 60 s, ts)."""
    assert bitmex.receive("c", text("trade_bin.json"), T) == [
        Candle(
            "bitmex",
            XBTUSD,
            1732392420.0,
            T,
            "1m",
            1732392360.0,
            1732392420.0,
            97550.0,
            97584.4,
            97550.0,
            97570.1,
            0.8609776,
            20,
            True,
        )
    ]
    assert bitmex.receive("c", text("trade_bin.json"), T + 1) == []  # the image repeating that bar


def test_liquidation_insert_is_one_event_in_base_units(bitmex: BitmexAdapter) -> None:
    """1000 XBTUSD contracts at 95000 are 1000 / 95000 XBT; ``side`` is the liquidation order's."""
    assert bitmex.receive("c", text("liquidation.json"), T) == [
        Liquidation("bitmex", XBTUSD, None, T, "buy", 95000.0, 1000 / 95000.0, "550e8400-e29b-41d4-a716-446655440099")
    ]
    assert bitmex.receive("c", rows("liquidation.json", action="partial"), T) == []  # already reported
    assert bitmex.receive("c", text("liquidation_update.json"), T) == []
    assert bitmex.receive("c", text("liquidation_delete.json"), T) == []
    assert (bitmex.stats["ignored.liquidation_update"], bitmex.stats["ignored.liquidation_delete"]) == (1, 1)


def test_quanto_liquidations_convert_at_the_last_trade(bitmex: BitmexAdapter) -> None:
    """A quanto contract's base amount is known from BitMEX's last ``homeNotional`` per contract."""
    (error,) = bitmex.receive("c", text("liquidation_quanto.json"), T)
    assert isinstance(error, Error) and error.reason == "unconvertible"
    bitmex.receive("c", text("trade_quanto.json"), T)
    (event,) = bitmex.receive("c", text("liquidation_quanto.json"), T)
    assert isinstance(event, Liquidation)
    assert (event.side, event.price, event.amount) == ("buy", 3208.61, 40 * 0.058513750731421885)


# -- replies, keepalive, other channels and bad frames -------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("welcome.json", "info"),
        ("help.json", "info"),
        ("subscribe_ack.json", "ack"),
        ("unsubscribe_ack.json", "ack"),
        ("funding.json", "funding"),
        ("orderbook10.json", "orderBook10"),
        ("order.json", "order"),
    ],
)
def test_replies_and_unused_channels_are_counted(bitmex: BitmexAdapter, name: str, kind: str) -> None:
    """The welcome, acks and tables this adapter does not use are counted, not errors, and are not data."""
    assert bitmex.receive("c", text(name), T) == []
    assert bitmex.stats[f"ignored.{kind}"] == 1
    assert "c" not in bitmex.data_at


def test_pong_answers_the_ping_keepalive(bitmex: BitmexAdapter) -> None:
    """The literal ``pong`` answers ``ping``; it is not data."""
    assert bitmex.receive("c", "pong", T) == []
    assert bitmex.receive("c", b"pong", T) == []
    assert bitmex.stats["ignored.pong"] == 2
    assert "c" not in bitmex.data_at


def test_a_server_ping_is_answered_in_kind(bitmex: BitmexAdapter) -> None:
    """BitMEX does not ping ("heartbeatEnabled":false), but a literal ``ping`` would get a ``pong``."""
    assert bitmex.receive("c", "ping", T) == [SendFrame("c", "pong")]
    assert "c" not in bitmex.data_at


def test_a_refusal_is_an_error_event(bitmex: BitmexAdapter) -> None:
    """``{"status":400,"error":...}`` is reported with the request it answers."""
    assert bitmex.receive("c", text("error.json"), T) == [
        Error(
            "bitmex",
            None,
            None,
            T,
            "c",
            "rejected",
            '400 Unknown table: orderBookL3 {"op":"subscribe","args":["orderBookL3:XBTUSD"]}',
        )
    ]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ('{"table":"trade","action":"insert","data":[{"timestamp":"x","symbol":"XBTUSD"}]}', "malformed"),
        ('{"table":"orderBook99","action":"insert","data":[]}', "unknown_table"),
        ('{"table":"trade","action":"insert","data":[', "malformed"),
        ('{"hello":1}', "unknown_message"),
        ("null", "malformed"),
        (b"\xff\xfe", "malformed"),
        (
            '{"table":"trade","action":"insert","data":[{"timestamp":"2024-11-24T08:15:38.704Z","symbol":"NOPE",'
            '"side":"Buy","size":1,"price":1}]}',
            "unknown_symbol",
        ),
        (
            '{"table":"quote","action":"insert","data":[{"timestamp":"2017-05-25T19:43:27Z","symbol":"XBTUSD","bidPrice":NaN}]}',
            "malformed",
        ),
    ],
)
def test_bad_frames_are_one_error_each(bitmex: BitmexAdapter, frame: str | bytes, reason: str) -> None:
    """A frame that is no BitMEX table or reply, or carries an impossible value, is exactly one error."""
    out = bitmex.receive("c", frame, T)
    assert [(type(e), e.reason) for e in out] == [(Error, reason)]  # type: ignore[union-attr]


def test_a_naive_time_is_refused(bitmex: BitmexAdapter) -> None:
    """Times must carry their zone (BitMEX writes ``Z``); a naive one is not guessed."""
    naive = rows("trade.json", {"timestamp": "2024-11-24T08:15:38.704"})
    assert [(type(e), e.reason) for e in bitmex.receive("c", naive, T)] == [(Error, "malformed")]


# -- connections --------------------------------------------------------------------------------


def test_plan_topics_keepalive_and_limits(bitmex: BitmexAdapter) -> None:
    """One connection, ``table:native`` topics in subscribe frames, the text ``ping`` every 5 s."""
    subs = [
        Subscription(XBTUSD, "trades"),
        Subscription(XBTUSD, "ticker"),
        Subscription(XBTUSD, "book"),
        Subscription(XBTUSD, "candles", "5m"),
        Subscription("BTC/USDT:USDT", "funding"),
        Subscription("BTC/USDT:USDT", "liquidations"),
    ]
    (plan,) = bitmex.plan(subs)
    topics = "trade:XBTUSD quote:XBTUSD orderBookL2:XBTUSD tradeBin5m:XBTUSD instrument:XBTUSDT liquidation:XBTUSDT"
    assert plan.subscribe == [orjson.dumps({"op": "subscribe", "args": topics.split()}).decode()]
    assert (plan.conn, plan.url, plan.symbols) == ("bitmex.0", "wss://ws.bitmex.com/realtime", [XBTUSD])
    assert (plan.app_ping, plan.app_ping_interval, plan.idle_timeout) == ("ping", 5.0, 120.0)
    assert BitmexAdapter.connect_limit == (60, 3600.0)


def test_plan_shards_topics_and_batches_requests() -> None:
    """Past ``topics_per_connection`` topics a second connection opens; a request holds 20 topics."""
    adapter = BitmexAdapter()
    adapter.answer(listing(), 200, raw("instruments.json"), T)
    adapter.topics_per_connection = 3  # type: ignore[misc]
    subs = [Subscription(s, "trades") for s in (XBTUSD, "BTC/USDT:USDT", "ETH/USD:BTC", "BTC/USDT")]
    plans = adapter.plan(subs)
    assert [len(orjson.loads(p.subscribe[0])["args"]) for p in plans] == [3, 1]
    assert [p.conn for p in plans] == ["bitmex.0", "bitmex.1"]


def test_book_depth_25_subscribes_order_book_l2_25() -> None:
    """``book_table = "orderBookL2_25"`` keeps the best 25 levels a side."""

    class Top25(BitmexAdapter):
        book_table = "orderBookL2_25"

    adapter = Top25()
    adapter.answer(listing(), 200, raw("instruments.json"), T)
    assert adapter.topics_for(Subscription(XBTUSD, "book")) == ["orderBookL2_25:XBTUSD"]


def test_unknown_interval_and_symbol_are_usage_errors(bitmex: BitmexAdapter) -> None:
    """A candle interval BitMEX has no table for, or a symbol it does not list, is refused up front."""
    with pytest.raises(UsageError, match="candle interval"):
        bitmex.plan([Subscription(XBTUSD, "candles", "4h")])
    with pytest.raises(UnknownSymbol):
        bitmex.plan([Subscription("DOGE/USD:BTC", "trades")])


def test_a_dropped_connection_resets_its_books_and_derivative_state(bitmex: BitmexAdapter) -> None:
    """Books go back to waiting for a partial (one ``reconnect`` resync each); funding starts over."""
    (plan,) = bitmex.plan([Subscription(XBTUSD, "book"), Subscription(XBTUSD, "funding")])
    bitmex.connected(plan, T)
    live_book(bitmex, plan.conn)
    bitmex.receive(plan.conn, text("instrument_partial.json"), T)
    out = bitmex.disconnected(plan.conn, "closed", T + 1)
    assert out == [
        Disconnected("bitmex", None, None, T + 1, plan.conn, "closed"),
        Resync("bitmex", XBTUSD, None, T + 1, "reconnect", ""),
    ]
    assert bitmex.derivatives.latest(XBTUSD) is None
    assert bitmex.receive(plan.conn, text("book_update.json"), T + 2) == []  # before the new partial
    assert bitmex.connected(plan, T + 3) == [Connected("bitmex", None, None, T + 3, plan.conn, plan.url)]


def test_a_recorded_reconnect_resets_the_books_it_carried(bitmex: BitmexAdapter) -> None:
    """A capture marks a reconnect by a second ``connect`` of the connection: its books start over."""
    live_book(bitmex)
    out = bitmex.connected(ConnectionPlan("c", "wss://www.bitmex.com/realtime"), T + 1)
    assert [type(e) for e in out] == [Resync, Connected]
    assert out[0].reason == "reconnect"  # type: ignore[union-attr]


def test_resubscription_follows_the_recorders_subscription(bitmex: BitmexAdapter) -> None:
    """The book's table and connection come from the subscribe ack; a resync resubscribes exactly that."""
    assert bitmex.receive("rec", text("subscribe_ack.json"), T) == []
    bitmex.receive("rec", text("book_partial.json"), T)
    out = bitmex.resync(XBTUSD, "stale", T + 1)
    assert out[1:] == [
        SendFrame("rec", '{"op":"unsubscribe","args":["orderBookL2_25:XBTUSD"]}'),
        SendFrame("rec", '{"op":"subscribe","args":["orderBookL2_25:XBTUSD"]}'),
    ]


def test_hosts_and_rest_matching() -> None:
    """Captures from ws.bitmex.com, www.bitmex.com (cryptofeed) and testnet replay; listings pair by path."""
    for url in (
        "wss://ws.bitmex.com/realtime",
        "wss://www.bitmex.com/realtime",
        "wss://testnet.bitmex.com/realtime",
        "wss://ws.testnet.bitmex.com/realtime",
    ):
        assert BitmexAdapter.recognizes(url), url
    assert not BitmexAdapter.recognizes("wss://stream.bybit.com/v5/public/linear")
    assert BitmexAdapter.match_key("https://www.bitmex.com/api/v1/instrument/active") == (
        "www.bitmex.com",
        "/api/v1/instrument/active",
        "",
    )
    assert EXCHANGES["bitmex"] is BitmexAdapter


def test_each_hostile_frame_of_the_simulator_is_one_error(bitmex: BitmexAdapter) -> None:
    """NaN, infinite, zero, negative, mistyped and 64-bit-overflow values: one error each, the book untouched."""
    live_book(bitmex)
    wire = BitmexAdapter.simulator_wire()
    for frame, why in wire.hostile(wire.instrument(XBTUSD, 1), 1_700_000_000_000):
        assert [type(e) for e in bitmex.receive("c", frame, T)] == [Error], why
    book = bitmex.book(XBTUSD)
    assert book is not None and book.synced
    assert (book.bids(), book.asks()) == ({26900.0: 1000.0}, {26910.0: 500.0, 26920.0: 700.0})
