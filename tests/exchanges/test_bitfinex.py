"""Bitfinex websocket v2 adapter: the documented message shapes with exact values, instruments,
the checksum, the connection-wide sequence, info events, the plan."""

from __future__ import annotations

from pathlib import Path

import msgspec
import orjson
import pytest

from collector.actions import Reconnect, RestRequest, SendFrame
from collector.book import BookState
from collector.errors import UsageError
from collector.exchanges import EXCHANGES, ConnectionPlan, Subscription
from collector.exchanges.bitfinex import BitfinexAdapter
from collector.exchanges.bitfinex.checksum import BookChecksum, book_checksum, checksum_text, js_number, signed_crc32
from collector.exchanges.bitfinex.instruments import Listing, split_pair
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

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bitfinex"
T = 1700000000.5  # receipt time handed to the adapter
WS = "wss://api-pub.bitfinex.com/ws/2"
REST = "https://api-pub.bitfinex.com/v2/conf/"
LISTINGS = {
    "pub:list:pair:exchange": "pairs_exchange.json",
    "pub:list:pair:futures": "pairs_futures.json",
    "pub:map:currency:sym": "currency_map.json",
}
SUBSCRIBED = [
    "subscribed_trades.json",
    "subscribed_ticker.json",
    "subscribed_book.json",
    "subscribed_candles.json",
    "subscribed_status_deriv.json",
    "subscribed_status_liq.json",
]


def raw(name: str) -> str:
    return (FIXTURES / name).read_text().strip()


def numbered(name: str, seq: int) -> str:
    """A channel message fixture with the ``SEQ_ALL`` number appended: ``[..., seq]``."""
    return f"{raw(name)[:-1]},{seq}]"


def listing(path: str) -> RestRequest:
    return RestRequest(REST + path, "instruments")


def load(adapter: BitfinexAdapter, *paths: str) -> None:
    for path in paths:
        assert adapter.answer(listing(path), 200, raw(LISTINGS[path]).encode(), T) == []


@pytest.fixture
def bfx() -> BitfinexAdapter:
    """Instruments loaded, connection ``c`` open with the documented channels subscribed (no flags)."""
    adapter = BitfinexAdapter()
    load(adapter, *LISTINGS)
    adapter.connected(ConnectionPlan("c", WS), T)
    for name in SUBSCRIBED:
        assert adapter.parse("c", raw(name), T) == []
    return adapter


@pytest.fixture
def sequenced(bfx: BitfinexAdapter) -> BitfinexAdapter:
    """``bfx`` after the ``conf`` reply with ``SEQ_ALL | OB_CHECKSUM``: messages must carry 1, 2, 3 ..."""
    assert bfx.parse("c", raw("conf.json"), T) == []
    return bfx


def synced(adapter: BitfinexAdapter, seq: int | None = None) -> None:
    snapshot = raw("book_snapshot.json") if seq is None else numbered("book_snapshot.json", seq)
    assert isinstance(adapter.parse("c", snapshot, T)[0], Book)


# -- instruments --------------------------------------------------------------------------------


def test_pairs_and_perpetuals_map_to_unified_symbols(bfx: BitfinexAdapter) -> None:
    """3+3 pairs, colon pairs, currency labels (UST, BCHN) and F0 perpetual legs."""
    got = {inst.native: (inst.symbol, inst.kind, inst.settle) for inst in bfx.instruments}
    assert got == {
        "tBTCUSD": ("BTC/USD", "spot", None),
        "tETHUSD": ("ETH/USD", "spot", None),
        "tBTCUST": ("BTC/USDT", "spot", None),
        "tETHBTC": ("ETH/BTC", "spot", None),
        "tBTC:CNHT": ("BTC/CNHT", "spot", None),
        "tDOGE:USD": ("DOGE/USD", "spot", None),
        "tBCHN:USD": ("BCH/USD", "spot", None),
        "tBSVUSD": ("BSV/USD", "spot", None),
        "tTESTBTC:TESTUSD": ("TESTBTC/TESTUSD", "spot", None),
        "tLTCBTC": ("LTC/BTC", "spot", None),
        "tBTCF0:USTF0": ("BTC/USDT:USDT", "swap", "USDT"),
        "tETHF0:USTF0": ("ETH/USDT:USDT", "swap", "USDT"),
        "tEURF0:USTF0": ("EUR/USDT:USDT", "swap", "USDT"),
        "tTESTBTCF0:TESTUSDTF0": ("TESTBTC/TESTUSDT:TESTUSDT", "swap", "TESTUSDT"),
    }
    perp = bfx.instruments.by_symbol("BTC/USDT:USDT")
    # Derivative amounts are in the base currency: one contract is one BTC.
    assert (perp.native, perp.base, perp.quote, perp.contract_size) == ("tBTCF0:USTF0", "BTC", "USDT", 1.0)
    # Both ways: native id -> unified symbol -> native id.
    for native, (symbol, _, _) in got.items():
        assert bfx.instruments.by_symbol(symbol).native == native
    assert bfx.instruments.symbol_of("tBTCUST") == "BTC/USDT"


def test_a_label_map_arriving_last_renames_symbols() -> None:
    """Answers come in any order; without the map only the fact sheet's labels apply."""
    adapter = BitfinexAdapter()
    adapter.listing.labels = {}  # as if even the built-in labels were unknown
    load(adapter, "pub:list:pair:exchange")
    assert "BTC/UST" in adapter.instruments
    load(adapter, "pub:map:currency:sym")
    assert "BTC/USDT" in adapter.instruments and "BTC/UST" not in adapter.instruments
    fallback = BitfinexAdapter()
    load(fallback, "pub:list:pair:exchange")
    assert fallback.instruments.symbol_of("tBTCUST") == "BTC/USDT"


def test_mixed_case_labels_give_upper_case_symbols() -> None:
    """``pub:map:currency:sym`` holds display labels ("UST" -> "USDt", "XAUT" -> "XAUt"): unified
    symbols are upper case, and a USDT market is ``BTC/USDT`` (``BTC/USDT:USDT`` for its perpetual)."""
    listing = Listing("bitfinex")
    listing.load("labels", b'[[["UST","USDt"],["XAUT","XAUt"],["EUT","EURt"],["DSH","DASH"]]]')
    spot = listing.load("spot", b'[["BTCUST","XAUT:USD","EUTUSD","DSHUSD"]]')
    assert [i.symbol for i in spot] == ["BTC/USDT", "XAUT/USD", "EURT/USD", "DASH/USD"]
    (perp,) = listing.load("swap", b'[["BTCF0:USTF0"]]')
    assert (perp.native, perp.symbol) == ("tBTCF0:USTF0", "BTC/USDT:USDT")


def test_split_rule_of_pairs() -> None:
    """Documented: "if either leg has more than 3 characters the pair is colon-separated", else 3 + 3."""
    assert split_pair("BTCUSD") == ("BTC", "USD")
    assert split_pair("BTC:CNHT") == ("BTC", "CNHT")
    assert split_pair("TESTBTCF0:TESTUSDTF0") == ("TESTBTCF0", "TESTUSDTF0")
    assert split_pair("BTCUSDT") is None


def test_listings_are_paired_whatever_the_quoting_of_their_colons() -> None:
    """A recorder may write ``pub%3Alist%3Apair%3Aexchange``: replay pairs it with the adapter's request."""
    quoted = "https://api-pub.bitfinex.com/v2/conf/pub%3Alist%3Apair%3Aexchange"
    assert BitfinexAdapter.match_key(quoted) == BitfinexAdapter.match_key(REST + "pub:list:pair:exchange")
    adapter = BitfinexAdapter()
    assert adapter.answer(RestRequest(quoted, "instruments"), 200, raw("pairs_exchange.json").encode(), T) == []
    assert adapter.instruments.symbol_of("tBTCUSD") == "BTC/USD"


def test_a_listing_error_is_an_error_event() -> None:
    """Bitfinex errors are ``["error", CODE, "message"]``: an error event, no instruments."""
    adapter = BitfinexAdapter()
    out = adapter.answer(listing("pub:list:pair:exchange"), 200, b'["error",10020,"symbol: invalid"]', T)
    assert [type(e).__name__ for e in out] == ["Error"]
    assert isinstance(out[0], Error) and out[0].reason == "malformed"
    assert len(adapter.instruments) == 0


# -- trades ---------------------------------------------------------------------------------------


def test_trades_snapshot_is_trades_oldest_first(bfx: BitfinexAdapter) -> None:
    """``[ID, MTS, AMOUNT, PRICE]``; the amount's sign is the taker side, its size the base amount."""
    assert bfx.parse("c", raw("trades_snapshot.json"), T) == [
        Trade("bitfinex", "BTC/USD", 1574694470.503, T, 7245.3, 0.01, "sell", "401597392"),
        Trade("bitfinex", "BTC/USD", 1574694475.039, T, 7244.9, 0.005, "buy", "401597393"),
    ]


def test_te_is_the_trade_and_tu_is_counted(bfx: BitfinexAdapter) -> None:
    """Each trade is counted once: ``te`` reports it, the later ``tu`` and repeats do not."""
    assert bfx.parse("c", raw("trade_te.json"), T) == [
        Trade("bitfinex", "BTC/USD", 1574694478.808, T, 7245.3, 0.005, "buy", "401597395")
    ]
    assert bfx.parse("c", raw("trade_tu.json"), T) == []
    assert bfx.parse("c", raw("trade_te.json"), T) == []
    assert (bfx.stats["ignored.tu"], bfx.stats["ignored.trade_repeat"]) == (1, 1)


def test_a_resubscribed_trades_snapshot_repeats_nothing(bfx: BitfinexAdapter) -> None:
    """Trades already reported are not reported again by the next subscription's snapshot."""
    bfx.parse("c", raw("trades_snapshot.json"), T)
    assert bfx.parse("c", raw("trades_snapshot.json"), T) == []


def test_perpetual_trade_amount_is_in_base_units(bfx: BitfinexAdapter) -> None:
    """A perpetual's amount is already in the base currency (contract size 1)."""
    bfx.parse("c", '{"event":"subscribed","channel":"trades","chanId":5,"symbol":"tBTCF0:USTF0"}', T)
    assert bfx.parse("c", '[5,"te",[77,1574694478808,-0.25,7245.5]]', T) == [
        Trade("bitfinex", "BTC/USDT:USDT", 1574694478.808, T, 7245.5, 0.25, "sell", "77")
    ]


# -- ticker, candles, status ----------------------------------------------------------------------


def test_ticker(bfx: BitfinexAdapter) -> None:
    """Best bid/ask, last, daily high/low/volume; the sizes are sums of 25 levels and are left out."""
    assert bfx.parse("c", raw("ticker.json"), T) == [
        Ticker(
            "bitfinex",
            "BTC/USD",
            None,
            T,
            7616.5,
            None,
            7617.5,
            None,
            last=7617.1,
            high=8257.8,
            low=7500.0,
            volume=8314.71200815,
        )
    ]


def bar(start: float, o: float, h: float, low: float, c: float, volume: float, closed: bool) -> Candle:
    """A BTC/USD one-minute candle as the adapter reports it (no trade count on Bitfinex)."""
    return Candle("bitfinex", "BTC/USD", None, T, "1m", start, start + 60.0, o, h, low, c, volume, None, closed)


def test_candles_snapshot_then_updates(bfx: BitfinexAdapter) -> None:
    """``[MTS, OPEN, CLOSE, HIGH, LOW, VOLUME]``: the snapshot's newest bar forms; a later bar closes it."""
    forming = bar(1574698260.0, 7379.785503, 7388.3, 7379.785503, 7383.8, 1.68829482, False)
    assert bfx.parse("c", raw("candles_snapshot.json"), T) == [forming]
    # The documented update is for the bar before: a late correction of a closed bar.
    assert bfx.parse("c", raw("candle_update.json"), T) == [
        bar(1574698200.0, 7399.9, 7399.9, 7371.8, 7379.7, 41.63633658, True)
    ]
    assert bfx.parse("c", "[343351,[1574698320000,7384,7390,7391,7383,0.5]]", T) == [
        msgspec.structs.replace(forming, closed=True),
        bar(1574698320.0, 7384.0, 7391.0, 7383.0, 7390.0, 0.5, False),
    ]


def test_derivative_status_is_a_funding_ticker(bfx: BitfinexAdapter) -> None:
    """``deriv:`` status: mark, spot index, current and accrued funding, next funding time, open interest."""
    expected = DerivativeTicker(
        "bitfinex",
        "BTC/USDT:USDT",
        1596124822.0,
        T,
        mark_price=0.7664,
        index_price=0.771995,
        funding_rate=-0.01381344,
        next_funding_time=1596153600.0,
        predicted_funding_rate=0.0001056,
        open_interest=246502.09001551,
        open_interest_value=246502.09001551 * 0.7664,
    )
    assert bfx.parse("c", raw("status_deriv.json"), T) == [expected]
    assert bfx.parse("c", raw("status_deriv.json"), T) == []  # nothing changed
    assert bfx.stats["ignored.funding_unchanged"] == 1


def test_liquidation_feed(bfx: BitfinexAdapter) -> None:
    """A short position (negative amount) liquidated in the market is a buy at the acquired price."""
    assert bfx.parse("c", raw("status_liq.json"), T) == [
        Liquidation("bitfinex", "BSV/USD", 1574697680.8282002, T, "buy", 112.27, 2.62932, "142397657", "market")
    ]
    bfx.liquidation_symbols = frozenset({"BTC/USDT:USDT"})  # what a plan asked for
    assert bfx.parse("c", raw("status_liq.json"), T) == []
    assert bfx.stats["ignored.liquidation_unwanted"] == 1


# -- book -----------------------------------------------------------------------------------------


def test_book_snapshot_then_level_updates(bfx: BitfinexAdapter) -> None:
    """Positive amounts are bids, negative asks (absolute sizes); COUNT 0 deletes, AMOUNT 1 on the bid side."""
    assert bfx.parse("c", raw("book_snapshot.json"), T) == [
        Book(
            "bitfinex",
            "BTC/USD",
            None,
            T,
            True,
            [(7254.7, 3.3), (7254.6, 1.2), (7254.5, 0.25)],
            [(7254.8, 0.5), (7254.9, 2.0), (7255.0, 0.0000082)],
            None,
        )
    ]
    assert bfx.parse("c", raw("book_update.json"), T) == [
        Book("bitfinex", "BTC/USD", None, T, False, [(7254.5, 0.0)], [], None)
    ]
    assert bfx.parse("c", raw("book_update_ask.json"), T) == [
        Book("bitfinex", "BTC/USD", None, T, False, [], [(7254.8, 0.75)], None)
    ]
    book = bfx.book("BTC/USD")
    assert book is not None
    assert book.bids() == {7254.7: 3.3, 7254.6: 1.2}
    assert book.asks() == {7254.8: 0.75, 7254.9: 2.0, 7255.0: 0.0000082}


def test_bulk_updates_after_the_snapshot_are_one_delta(bfx: BitfinexAdapter) -> None:
    """With ``BULK_UPDATES`` (536870912) a list after the snapshot is a batch of updates, not a new book."""
    bfx.parse("c", '{"event":"conf","status":"OK","flags":536870912}', T)
    synced(bfx)
    assert bfx.parse("c", "[17082,[[7254.5,0,1],[7254.8,2,-0.75]]]", T) == [
        Book("bitfinex", "BTC/USD", None, T, False, [(7254.5, 0.0)], [(7254.8, 0.75)], None)
    ]


def test_heartbeat_keeps_a_quiet_book_alive(bfx: BitfinexAdapter) -> None:
    """``[CHAN_ID, "hb"]``: no event, counted, the book is not stale and the connection is not idle."""
    synced(bfx)
    assert bfx.receive("c", raw("heartbeat.json"), T + 40) == []
    assert bfx.stats["ignored.hb"] == 1
    assert bfx.data_at["c"] == T + 40
    assert bfx.check(T + 40 + bfx.book_stale_after - 1) == []
    assert [r.reason for r in bfx.check(T + 40 + bfx.book_stale_after + 1) if isinstance(r, Resync)] == ["stale"]


# -- checksum -------------------------------------------------------------------------------------


def test_checksum_of_the_fact_sheet_example() -> None:
    """Interleaved bid, ask, bid, ask; asks negative; signed CRC32."""
    text = checksum_text([(7254.7, 3.3), (7254.6, 1.2)], [(7254.8, 0.5), (7254.9, 2.0)])
    assert text == "7254.7:3.3:7254.8:-0.5:7254.6:1.2:7254.9:-2"
    assert signed_crc32(text) == 915759758


def test_checksum_numbers_are_written_as_received() -> None:
    """JavaScript's number text: no ``.0``, fixed-point down to 1e-6, ``e-7`` below."""
    values = (2.0, -2.0, 0.0000082, 0.000017, 1.7e-7, 7255.0, 1e21)
    assert [js_number(v) for v in values] == ["2", "-2", "0.0000082", "0.000017", "1.7e-7", "7255", "1e+21"]
    assert signed_crc32("a") == -390611389  # zlib gives 3904355907: past 2**31, negative


def test_checksum_message_verifies_the_book(sequenced: BitfinexAdapter) -> None:
    """The documented snapshot's checksum passes; a wrong one resyncs by resubscribing the book."""
    synced(sequenced, 1)
    expected = signed_crc32("7254.7:3.3:7254.8:-0.5:7254.6:1.2:7254.9:-2:7254.5:0.25:7255:-0.0000082")
    book = sequenced.book("BTC/USD")
    assert book is not None and book_checksum("BTC/USD", book) == expected
    assert BookChecksum()("BTC/USD", book) == expected
    assert sequenced.parse("c", f'[17082,"cs",{expected},2]', T) == []
    assert sequenced.books.stats["checksum_ok"] == 1
    out = sequenced.parse("c", f'[17082,"cs",{expected + 1},3]', T)
    assert out == [
        Resync("bitfinex", "BTC/USD", None, T, "checksum", f"expected {expected + 1}, computed {expected}"),
        SendFrame("c", '{"event":"unsubscribe","chanId":17082}'),
        SendFrame("c", '{"event":"subscribe","channel":"book","symbol":"tBTCUSD","prec":"P0","freq":"F0","len":"25"}'),
    ]


def test_a_corrupted_level_is_caught_by_the_next_checksum(sequenced: BitfinexAdapter) -> None:
    """A level the exchange did not send (here a bid of 5 instead of 3.3) fails the checksum."""
    synced(sequenced, 1)
    true = signed_crc32("7254.7:3.3:7254.8:-0.5:7254.6:1.2:7254.9:-2:7254.5:0.25:7255:-0.0000082")
    sequenced.parse("c", "[17082,[7254.7,3,5],2]", T)
    out = sequenced.parse("c", f'[17082,"cs",{true},3]', T)
    assert [(e.reason, e.symbol) for e in out if isinstance(e, Resync)] == [("checksum", "BTC/USD")]


# -- the connection-wide sequence ------------------------------------------------------------------


def test_a_sequence_gap_resyncs_the_books_of_that_connection_only(sequenced: BitfinexAdapter) -> None:
    """SEQ_ALL numbers every message of a connection: a skipped number resyncs its books (reason gap)."""
    other = sequenced
    other.connected(ConnectionPlan("d", WS), T)
    other.parse("d", raw("conf.json"), T)
    other.parse("d", '{"event":"subscribed","channel":"book","chanId":9,"symbol":"tETHUSD","len":"25"}', T)
    other.parse("d", "[9,[[2000,1,1],[2001,1,-1]],1]", T)
    synced(sequenced, 1)
    assert sequenced.parse("c", numbered("trade_te.json", 2), T)[0].type == "trade"
    out = sequenced.parse("c", numbered("heartbeat.json", 4), T)
    assert out == [
        Resync("bitfinex", "BTC/USD", None, T, "gap", "sequence 3 expected, got 4"),
        SendFrame("c", '{"event":"unsubscribe","chanId":17082}'),
        SendFrame("c", '{"event":"subscribe","channel":"book","symbol":"tBTCUSD","prec":"P0","freq":"F0","len":"25"}'),
    ]
    assert sequenced.books.state("ETH/USD") is BookState.LIVE
    # The resubscription: unsubscribed, subscribed (a new channel id), a fresh snapshot.
    assert sequenced.parse("c", raw("unsubscribed.json"), T) == []
    assert sequenced.parse("c", raw("subscribed_book.json").replace("17082", "17099"), T) == []
    assert isinstance(sequenced.parse("c", numbered("book_snapshot.json", 5).replace("17082", "17099"), T)[0], Book)
    assert sequenced.books.state("BTC/USD") is BookState.LIVE


def test_a_number_behind_or_missing_is_an_error(sequenced: BitfinexAdapter) -> None:
    """A repeated or absent sequence number is a broken frame, dropped; the count goes on."""
    synced(sequenced, 1)
    assert [(e.reason, e.detail) for e in sequenced.parse("c", numbered("trade_te.json", 1), T)] == [
        ("sequence", "sequence 1 when 2 was expected")
    ]
    assert [e.reason for e in sequenced.parse("c", raw("trade_te.json"), T)] == ["malformed"]
    assert sequenced.parse("c", numbered("trade_tu.json", 2), T) == []


def test_an_impossible_trade_takes_its_number_and_resyncs_nothing(sequenced: BitfinexAdapter) -> None:
    """A trade read whole but with amount 0 arrived: one error, its number is used, the books stay live.
    An impossible book entry does not take its number: the books resync on the next frame."""
    synced(sequenced, 1)
    (error,) = sequenced.receive("c", '[17470,"te",[401597395,1574694478808,0,7245.3],2]', T)
    assert isinstance(error, Error) and "amount 0" in error.detail
    (delta,) = sequenced.parse("c", numbered("book_update.json", 3), T)
    assert isinstance(delta, Book) and not delta.snapshot
    assert sequenced.books.state("BTC/USD") is BookState.LIVE
    (error,) = sequenced.receive("c", "[17082,[7254.5,1,0],4]", T)
    assert isinstance(error, Error)
    resync = sequenced.parse("c", numbered("heartbeat.json", 5), T)[0]
    assert isinstance(resync, Resync) and resync.reason == "gap"


def test_the_first_number_starts_the_count(sequenced: BitfinexAdapter) -> None:
    """A recorder that sent ``conf`` after subscribing sees numbering start later: not a gap."""
    assert isinstance(sequenced.parse("c", numbered("book_snapshot.json", 7), T)[0], Book)
    assert isinstance(sequenced.parse("c", numbered("book_update.json", 8), T)[0], Book)
    assert sequenced.books.stats["resync.gap"] == 0


def test_the_timestamp_flag_comes_after_the_sequence_number(bfx: BitfinexAdapter) -> None:
    """With ``TIMESTAMP`` too, messages end ``..., SEQ, MTS]``: the number is still found, unused channels too."""
    bfx.parse("c", '{"event":"conf","status":"OK","flags":98304}', T)
    bfx.parse("c", raw("subscribed_raw_book.json"), T)
    assert isinstance(bfx.parse("c", numbered("book_snapshot.json", 1)[:-1] + ",1574694478808]", T)[0], Book)
    assert bfx.parse("c", "[433290,[[34753002978,7294.7,1.54340371]],2,1574694478809]", T) == []
    assert bfx.parse("c", '[17082,"hb",3,1574694478810]', T) == []
    assert isinstance(bfx.parse("c", "[17082,[7254.5,0,1],4,1574694478811]", T)[0], Book)
    assert bfx.books.stats["resync.gap"] == 0


def test_a_broken_frame_does_not_take_a_sequence_number(sequenced: BitfinexAdapter) -> None:
    """Invalid values are reported before the sequence is checked: the next good frame still fits."""
    synced(sequenced, 1)
    assert [e.reason for e in sequenced.parse("c", '[17082,["NaN",1,1],2]', T)] == ["malformed"]
    assert isinstance(sequenced.parse("c", numbered("book_update.json", 2), T)[0], Book)


# -- events ---------------------------------------------------------------------------------------


def test_info_20051_reconnects(bfx: BitfinexAdapter) -> None:
    """Info 20051, "Stop/Restart Websocket Server (please reconnect)", asks for a reconnect."""
    assert bfx.parse("c", raw("info_restart.json"), T) == [
        Reconnect("c", "info 20051: Stopping. Please try to reconnect")
    ]


MAINTENANCE_MSG = "Entering in Maintenance mode. Please pause any activity and resume after receiving"


def test_maintenance_pauses_the_books_and_its_end_resubscribes_everything(bfx: BitfinexAdapter) -> None:
    """20060: books are dropped and their updates ignored; 20061: every channel is subscribed again."""
    synced(bfx)
    assert bfx.parse("c", raw("info_maintenance_start.json"), T) == [
        Resync("bitfinex", "BTC/USD", None, T, "maintenance", "info 20060: " + MAINTENANCE_MSG[:80])
    ]
    assert bfx.parse("c", raw("book_update.json"), T) == []
    assert bfx.stats["ignored.maintenance"] == 1
    out = bfx.parse("c", raw("info_maintenance_end.json"), T)
    assert [frame.data for frame in out if isinstance(frame, SendFrame)][:4] == [
        '{"event":"unsubscribe","chanId":17470}',
        '{"event":"subscribe","channel":"trades","symbol":"tBTCUSD"}',
        '{"event":"unsubscribe","chanId":443378}',
        '{"event":"subscribe","channel":"ticker","symbol":"tBTCUSD"}',
    ]
    assert len(out) == 2 * len(SUBSCRIBED)
    synced(bfx)
    assert bfx.books.state("BTC/USD") is BookState.LIVE


def test_acks_pongs_info_and_unused_channels_are_counted(bfx: BitfinexAdapter) -> None:
    """Control frames and public channels without events are counted, never errors."""
    frames = [
        raw("info.json"),
        raw("pong.json"),
        raw("subscribed_raw_book.json"),
        "[433290,[[34753002978,7294.7,1.54340371]]]",
        raw("subscribed_funding_trades.json"),
        raw("funding_trade_fte.json"),
        '{"event":"subscribed","channel":"book","chanId":70,"symbol":"tBTCUSD","prec":"P1","len":"100"}',
        "[70,[7250,3,1.5]]",
        raw("conf.json"),  # last: SEQ_ALL numbers would be expected from here on
    ]
    for frame in frames:
        assert bfx.parse("c", frame, T) == [], frame
    counted = {k: v for k, v in bfx.stats.items() if k.startswith("ignored.")}
    assert counted == {
        "ignored.subscribed": 9,
        "ignored.info": 1,
        "ignored.pong": 1,
        "ignored.conf": 1,
        "ignored.raw_book": 1,
        "ignored.funding_trades": 1,
        "ignored.second_book": 1,
    }


def test_a_refused_subscription_is_an_error_event(bfx: BitfinexAdapter) -> None:
    """``{"event":"error",...}`` is reported with its code."""
    out = bfx.parse("c", raw("error_dup.json"), T)
    assert out == [Error("bitfinex", "BTC/USD", None, T, "c", "rejected", "10301 subscribe: dup (book tBTCUSD)")]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("[4242,[1,2,3]]", "unknown_channel"),
        ("[17082,[7254.5,0,1", "malformed"),
        ('{"event":"surprise"}', "unknown_event"),
        ("null", "malformed"),
        ('[17470,"cs",123]', "unknown_message"),
        ('[17470,"zz",[1,2,3,4]]', "unknown_message"),
        ("[17082,[7254.5,1,0]]", "malformed"),  # amount 0: no side
        ('[17470,"te",[1,1574694478808,0,7245.3]]', "malformed"),  # amount 0: no taker side
        (b"\xff\xfe not utf-8", "malformed"),
        ('{"event":"subscribed","channel":"orders","chanId":3}', "unknown_channel"),
    ],
)
def test_bad_frames_become_error_events(bfx: BitfinexAdapter, frame: str | bytes, reason: str) -> None:
    """Frames that are no Bitfinex message, or carry impossible values, are one error each."""
    out = bfx.receive("c", frame, T)
    assert [(type(e).__name__, getattr(e, "reason", None)) for e in out] == [("Error", reason)]


def test_an_unlisted_symbol_is_an_error(bfx: BitfinexAdapter) -> None:
    """A channel of a pair the listings do not have: its data frames are errors, heartbeats are not."""
    bfx.parse("c", '{"event":"subscribed","channel":"ticker","chanId":31,"symbol":"tNOPEUSD","pair":"NOPEUSD"}', T)
    assert [e.reason for e in bfx.parse("c", "[31,[1,1,1,1,1,1,1,1,1,1]]", T)] == ["unknown_symbol"]
    assert bfx.parse("c", '[31,"hb"]', T) == []


def test_text_and_bytes_frames_parse_alike(bfx: BitfinexAdapter) -> None:
    """A binary frame holding the same JSON gives the same events."""
    assert bfx.parse("c", raw("trade_te.json").encode(), T) == [
        Trade("bitfinex", "BTC/USD", 1574694478.808, T, 7245.3, 0.005, "buy", "401597395")
    ]


def test_disconnect_resets_the_books_and_channel_ids(bfx: BitfinexAdapter) -> None:
    """Channel ids are "not persistent across connections": a reconnect starts from nothing."""
    synced(bfx)
    out = bfx.disconnected("c", "closed", T)
    assert out == [
        Disconnected("bitfinex", None, None, T, "c", "closed"),
        Resync("bitfinex", "BTC/USD", None, T, "reconnect", ""),
    ]
    assert bfx.connected(ConnectionPlan("c", WS), T) == [Connected("bitfinex", None, None, T, "c", WS)]
    assert [e.reason for e in bfx.parse("c", raw("book_update.json"), T)] == ["unknown_channel"]


# -- plan -----------------------------------------------------------------------------------------


def test_plan_sends_conf_first_and_keeps_25_channels_a_connection(bfx: BitfinexAdapter) -> None:
    """``conf`` with SEQ_ALL | OB_CHECKSUM, then one request per channel, at most 25 per socket."""
    symbols = ["BTC/USD", "ETH/USD", "BTC/USDT", "ETH/BTC", "BTC/CNHT", "DOGE/USD", "BCH/USD", "BSV/USD", "LTC/BTC"]
    subs = [Subscription(s, ch) for s in symbols for ch in ("trades", "ticker", "book")]
    plans = bfx.plan(subs)
    assert [len(p.subscribe) for p in plans] == [26, 3]
    first = plans[0]
    assert first.subscribe[:4] == [
        '{"event":"conf","flags":196608}',
        '{"event":"subscribe","channel":"trades","symbol":"tBTCUSD"}',
        '{"event":"subscribe","channel":"ticker","symbol":"tBTCUSD"}',
        '{"event":"subscribe","channel":"book","symbol":"tBTCUSD","prec":"P0","freq":"F0","len":"100"}',
    ]
    assert (first.url, first.app_ping, first.idle_timeout, first.ping_interval) == (
        WS,
        '{"event":"ping","cid":1}',
        120.0,
        None,
    )
    # 25 channels: eight symbols' three and LTC/BTC's trades; its ticker and book go on the next socket.
    assert (first.symbols, plans[1].symbols) == (symbols[:8], ["LTC/BTC"])


def test_plan_derivative_channels(bfx: BitfinexAdapter) -> None:
    """Candles by key, funding as ``deriv:`` status, liquidations once as ``liq:global``."""
    plans = bfx.plan(
        [
            Subscription("BTC/USDT:USDT", "candles", "1d"),
            Subscription("BTC/USDT:USDT", "funding"),
            Subscription("BTC/USDT:USDT", "liquidations"),
            Subscription("ETH/USDT:USDT", "liquidations"),
        ]
    )
    assert plans[0].subscribe[1:] == [
        '{"event":"subscribe","channel":"candles","key":"trade:1D:tBTCF0:USTF0"}',
        '{"event":"subscribe","channel":"status","key":"deriv:tBTCF0:USTF0"}',
        '{"event":"subscribe","channel":"status","key":"liq:global"}',
    ]
    assert bfx.liquidation_symbols == frozenset({"BTC/USDT:USDT", "ETH/USDT:USDT"})


def test_plan_refuses_what_bitfinex_does_not_offer(bfx: BitfinexAdapter) -> None:
    """Funding of a spot pair, an unknown candle interval, a book length Bitfinex has not."""
    with pytest.raises(UsageError):
        bfx.plan([Subscription("BTC/USD", "funding")])
    with pytest.raises(UsageError):
        bfx.plan([Subscription("BTC/USD", "candles", "2m")])
    bfx.book_length = "50"  # type: ignore[misc]
    with pytest.raises(UsageError):
        bfx.plan([Subscription("BTC/USD", "book")])


def test_registry_and_recognized_hosts() -> None:
    """Both public hosts are Bitfinex; the registry builds the adapter."""
    assert EXCHANGES["bitfinex"] is BitfinexAdapter
    assert BitfinexAdapter.recognizes("wss://api-pub.bitfinex.com/ws/2")
    assert BitfinexAdapter.recognizes("wss://api.bitfinex.com/ws/2")
    assert not BitfinexAdapter.recognizes("wss://stream.bybit.com/v5/public/spot")
    assert orjson.loads(raw("conf.json"))["flags"] == 65536 | 131072
