"""Bitget adapter: parsers from the documented shapes (v2, and the v1 a recorder may have used), book rule, plan."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from collector.actions import RestRequest, SendFrame
from collector.book import OrderBook
from collector.errors import UnknownSymbol, UsageError
from collector.exchanges import EXCHANGES, Subscription
from collector.exchanges.bitget import BitgetAdapter
from collector.exchanges.bitget.checksum import LevelTexts, checksum, signed
from collector.models import Book, Candle, Connected, DerivativeTicker, Disconnected, Error, Resync, Ticker, Trade

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bitget"
T = 1700000000.5  # receipt time handed to the adapter
REST = "https://api.bitget.com"
V2_LISTINGS = {
    f"{REST}/api/v2/spot/public/symbols": "instruments_spot.json",
    f"{REST}/api/v2/mix/market/contracts?productType=USDT-FUTURES": "instruments_usdt_futures.json",
    f"{REST}/api/v2/mix/market/contracts?productType=COIN-FUTURES": "instruments_coin_futures.json",
    f"{REST}/api/v2/mix/market/contracts?productType=USDC-FUTURES": "instruments_usdc_futures.json",
}
FUTURES_BOOK = '{"instType":"USDT-FUTURES","channel":"books","instId":"BTCUSDT"}'
RESUBSCRIBE = [
    SendFrame("c", f'{{"op":"unsubscribe","args":[{FUTURES_BOOK}]}}'),
    SendFrame("c", f'{{"op":"subscribe","args":[{FUTURES_BOOK}]}}'),
]


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def text(name: str) -> str:
    return raw(name).decode()


def edited(name: str, **data: Any) -> str:
    """A fixture with some fields of ``data[0]`` replaced (another seq, a wrong checksum ...)."""
    msg = json.loads(raw(name))
    msg["data"][0].update(data)
    return json.dumps(msg, separators=(",", ":"))  # json: values past 64 bits too


def crc(joined: str) -> int:
    """The documented CRC32 of an already built checksum string, as a signed 32-bit integer."""
    value = zlib.crc32(joined.encode())
    return value - 2**32 if value >= 2**31 else value


@pytest.fixture
def bitget() -> BitgetAdapter:
    adapter = BitgetAdapter()
    for url, name in V2_LISTINGS.items():
        assert adapter.on_http(RestRequest(url, "instruments"), 200, raw(name), T) == []
    return adapter


# -- instruments --------------------------------------------------------------------------------


def test_listings_map_to_unified_symbols(bitget: BitgetAdapter) -> None:
    """Spot, USDT-M, coin-M (perpetual and dated) and USDC-M get ccxt-style symbols from base/quote/settle."""
    got = {
        i.symbol: (i.native, i.kind, i.settle, i.expiry, i.tick_size, i.step_size, i.active) for i in bitget.instruments
    }
    assert got == {
        "BTC/USDT": ("BTCUSDT", "spot", None, None, 0.01, 1e-06, True),
        "ETH/USDT": ("ETHUSDT", "spot", None, None, 0.01, 0.0001, True),
        "OLD/USDT": ("OLDUSDT", "spot", None, None, 0.0001, 0.01, False),
        "BTC/USDT:USDT": ("BTCUSDT", "swap", "USDT", None, 0.1, 0.01, True),
        "BTC/USD:BTC": ("BTCUSD", "swap", "BTC", None, 0.5, 0.001, True),
        "ETH/USD:ETH-231229": ("ETHUSD_231229", "future", "ETH", "231229", 0.01, 0.01, True),
        "BTC/USDC:USDC": ("BTCPERP", "swap", "USDC", None, 0.1, 0.0001, True),
    }
    # Sizes are in the base coin on every product line: no contract conversion anywhere.
    assert {i.contract_size for i in bitget.instruments} == {1.0}
    assert bitget.market_of("BTC/USDT") == ("SPOT", "BTCUSDT")
    assert bitget.market_of("BTC/USDT:USDT") == ("USDT-FUTURES", "BTCUSDT")
    assert bitget.market_of("BTC/USD:BTC") == ("COIN-FUTURES", "BTCUSD")
    assert bitget.market_of("BTC/USDC:USDC") == ("USDC-FUTURES", "BTCPERP")


def test_v1_listings_of_a_recorder_answer_the_v2_requests() -> None:
    """cryptofeed lists ``/api/spot/v1/public/products`` and ``contracts?productType=umcbl|dmcbl``:
    they pair with the v2 requests by product line and load the same unified symbols."""
    key = BitgetAdapter.match_key
    requests = {r.url for r in BitgetAdapter().instrument_requests()}
    assert requests == set(V2_LISTINGS)
    assert key(f"{REST}/api/spot/v1/public/products") == key(f"{REST}/api/v2/spot/public/symbols")
    assert key(f"{REST}/api/mix/v1/market/contracts?productType=umcbl") == (
        "api.bitget.com",
        "instruments?productType=USDT-FUTURES",
        "",
    )
    assert key(f"{REST}/api/mix/v1/market/contracts?productType=dmcbl") == key(
        f"{REST}/api/v2/mix/market/contracts?productType=coin-futures"
    )
    assert key(f"{REST}/api/v2/spot/market/orderbook?symbol=BTCUSDT") == (
        "api.bitget.com",
        "/api/v2/spot/market/orderbook",
        "BTCUSDT",
    )
    adapter = BitgetAdapter()
    for url, name in [
        (f"{REST}/api/v2/spot/public/symbols", "products_v1.json"),
        (f"{REST}/api/v2/mix/market/contracts?productType=USDT-FUTURES", "contracts_umcbl_v1.json"),
        (f"{REST}/api/v2/mix/market/contracts?productType=COIN-FUTURES", "contracts_dmcbl_v1.json"),
    ]:
        assert adapter.on_http(RestRequest(url, "instruments"), 200, raw(name), T) == []
    got = {i.symbol: (i.native, i.tick_size, i.step_size) for i in adapter.instruments}
    # The demo-coin contract SBTCSUSDT_SUMCBL is not listed.
    assert got == {
        "BTC/USDT": ("BTCUSDT", 0.01, 0.0001),
        "ETH/USDT": ("ETHUSDT", 0.01, 0.0001),
        "BTC/USDT:USDT": ("BTCUSDT", 0.5, 0.001),
        "BTC/USD:BTC": ("BTCUSD", 0.5, 0.001),
    }


def test_refused_listing_is_an_error_event() -> None:
    """A non-success ``code`` becomes an error event, not an exception."""
    adapter = BitgetAdapter()
    request = RestRequest(f"{REST}/api/v2/mix/market/contracts?productType=USDT-FUTURES", "instruments")
    out = adapter.on_http(request, 200, b'{"code":"40020","msg":"Parameter productType error","data":null}', T)
    assert out == [
        Error("bitget", None, None, T, "rest", "malformed", f"{request.url}: code 40020: Parameter productType error")
    ]


# -- trades -------------------------------------------------------------------------------------


def test_spot_trade(bitget: BitgetAdapter) -> None:
    """``side`` is the taker's, ``size`` base coin, ``ts`` the fill time."""
    assert bitget.parse("c", raw("trade_spot.json"), T) == [
        Trade("bitget", "BTC/USDT", 1695709835.822, T, 26293.4, 0.0013, "buy", "1000000000")
    ]


def test_futures_trades_come_out_oldest_first(bitget: BitgetAdapter) -> None:
    """Bitget sends a batch newest first; ``BTCUSDT`` under USDT-FUTURES is the perpetual, not the pair."""
    assert bitget.parse("c", raw("trade_futures.json"), T) == [
        Trade("bitget", "BTC/USDT:USDT", 1695716759.514, T, 27000.0, 0.001, "sell", "1111111111"),
        Trade("bitget", "BTC/USDT:USDT", 1695716760.565, T, 27000.5, 0.001, "buy", "1111111111"),
    ]


def test_coin_m_trade_amount_is_already_base_units(bitget: BitgetAdapter) -> None:
    """Coin-M sizes are coin amounts (``size`` "Amount (base coin)"): 0.25 BTC stays 0.25."""
    assert bitget.parse("c", raw("trade_coin_futures.json"), T) == [
        Trade("bitget", "BTC/USD:BTC", 1790358780.904, T, 83715.5, 0.25, "sell", "1487438024184414208")
    ]


def test_v1_trade_rows(bitget: BitgetAdapter) -> None:
    """v1 (``instType`` ``sp``) trades are ``[ts, price, size, side]`` arrays without an id."""
    assert bitget.parse("c", raw("trade_v1.json"), T) == [
        Trade("bitget", "BTC/USDT", 1649014224.602, T, 46464.51, 0.0023, "sell", "")
    ]


def test_resent_trade_snapshot_is_deduplicated(bitget: BitgetAdapter) -> None:
    """The snapshot a resubscription starts with repeats trades already emitted: only newer ones pass."""
    bitget.parse("c", raw("trade_spot.json"), T)
    assert bitget.parse("c", raw("trade_spot.json"), T + 1) == []
    assert bitget.stats["ignored.trade_repeat"] == 1
    newer = edited("trade_spot.json", ts="1695709835900", tradeId="1000000007")
    assert [t.id for t in bitget.parse("c", newer, T + 2) if isinstance(t, Trade)] == ["1000000007"]


def test_fills_of_one_millisecond_come_out_in_id_order_and_are_not_repeated(bitget: BitgetAdapter) -> None:
    """A taker order sweeping levels gives fills of one ``ts``, newest first: they come out oldest
    (lowest id) first, and a re-sent snapshot of them repeats none."""
    msg = json.loads(raw("trade_spot.json"))
    row = msg["data"][0]
    msg["data"] = [row | {"tradeId": f"100000000{n}"} for n in (3, 2, 1)]
    assert [t.id for t in bitget.parse("c", orjson.dumps(msg), T)] == ["1000000001", "1000000002", "1000000003"]
    assert bitget.parse("c", orjson.dumps(msg), T + 1) == []


# -- tickers ------------------------------------------------------------------------------------


def test_spot_ticker(bitget: BitgetAdapter) -> None:
    """The documented spot push: ``"0.00"`` opens/highs/lows mean none, volumes are kept."""
    assert bitget.parse("c", raw("ticker_spot.json"), T) == [
        Ticker(
            "bitget",
            "ETH/USDT",
            1695702438.018,
            T,
            1792.0,
            0.0084,
            2200.1,
            19740.8811,
            last=2200.1,
            volume=0.0,
            quote_volume=0.0,
        )
    ]


def test_futures_ticker_gives_ticker_and_derivative_ticker(bitget: BitgetAdapter) -> None:
    """Mark, index, funding (a fraction), next funding (seconds), open interest in base coin and its value."""
    ticker = Ticker(
        "bitget",
        "BTC/USDT:USDT",
        1695715383.021,
        T,
        27000.0,
        2.71,
        27000.5,
        8.76,
        last=27000.5,
        open=27000.5,
        high=30668.5,
        low=26999.0,
        volume=368.9,
        quote_volume=10152429.961,
    )
    derivative = DerivativeTicker(
        "bitget",
        "BTC/USDT:USDT",
        1695715383.021,
        T,
        mark_price=27000.0,
        index_price=25702.4,
        funding_rate=0.00001,
        next_funding_time=1695722400.0,
        open_interest=929.502,
        open_interest_value=929.502 * 27000.0,
        last_price=27000.5,
    )
    assert bitget.parse("c", raw("ticker_futures.json"), T) == [ticker, derivative]
    # The same derivative values again: the ticker moves on, the derivative ticker is not repeated.
    assert bitget.parse("c", raw("ticker_futures.json"), T) == [ticker]


def test_v1_tickers(bitget: BitgetAdapter) -> None:
    """v1 names: ``last``/``bestBid``/``bestAsk``; mix adds ``capitalRate``, ``nextSettleTime``, ``holding``."""
    assert bitget.parse("c", raw("ticker_spot_v1.json"), T) == [
        Ticker(
            "bitget",
            "BTC/USDT",
            1649013100.029,
            T,
            46556.59,
            None,
            46565.67,
            None,
            last=46572.07,
            open=46414.54,
            high=46767.3,
            low=46221.11,
            volume=1927.0855,
            quote_volume=89120317.8812,
        )
    ]
    assert bitget.parse("c", raw("ticker_mix_v1.json"), T) == [
        Ticker(
            "bitget",
            "BTC/USD:BTC",
            1649290077.309,
            T,
            46550.5,
            None,
            46551.0,
            None,
            last=46550.5,
            high=46800.0,
            low=46200.5,
            volume=25301.4,
            quote_volume=1177810000.31,
        ),
        DerivativeTicker(
            "bitget",
            "BTC/USD:BTC",
            1649290077.309,
            T,
            mark_price=46549.8,
            index_price=46561.2,
            funding_rate=-0.0001,
            next_funding_time=1649314800.0,
            open_interest=2195.717,
            open_interest_value=2195.717 * 46549.8,
            last_price=46550.5,
        ),
    ]


def test_planned_channels_choose_ticker_or_funding(bitget: BitgetAdapter) -> None:
    """A symbol subscribed for ``funding`` only gets derivative tickers from the shared ticker channel."""
    bitget.plan([Subscription("BTC/USDT:USDT", "funding")])
    assert [type(e) for e in bitget.parse("c", raw("ticker_futures.json"), T)] == [DerivativeTicker]


# -- order books --------------------------------------------------------------------------------


def test_checksum_worked_examples_from_the_docs() -> None:
    """The two documented strings, CRC32 as a signed 32-bit integer."""
    assert checksum(["43231.1:4", "43231:6"], ["43232.8:9", "43232.9:8"]) == -1504501796
    assert crc("43231.1:4:43232.8:9:43231:6:43232.9:8") == -1504501796
    # "When the bid or ask depth data is less than 25 levels, the missing depth data will be ignored."
    assert checksum(["3366.1:7"], ["3366.8:9", "3368:8", "3372:8"]) == 831078360
    assert signed(2790465500) == -1504501796


def test_checksum_uses_the_original_strings_and_25_levels() -> None:
    """On a book built here: ``0.5000`` is not ``0.5``; only the best 25 levels of each side count."""
    bid_texts = [(f"{100 - i}.0000", "1.50") for i in range(30)]
    ask_texts = [(f"{101 + i}.0000", "2") for i in range(3)]
    bids = [(float(p), float(s)) for p, s in bid_texts]
    asks = [(float(p), float(s)) for p, s in ask_texts]
    texts, book = LevelTexts(), OrderBook()
    texts.load(bid_texts, bids, ask_texts, asks)
    book.load(bids, asks, 1)
    pairs = [f"{p}:{s}" for p, s in bid_texts[:25]]
    joined = ":".join([pairs[0], "101.0000:2", pairs[1], "102.0000:2", pairs[2], "103.0000:2", *pairs[3:]])
    assert texts.checksum(book) == crc(joined)
    assert texts.checksum(book) != crc(joined.replace("100.0000", "100.0"))
    # A delta removes the best bid and adds an ask: the 26th bid moves into the window.
    delta_bids, delta_asks = [("100.0000", "0")], [("100.5000", "0.25")]
    texts.apply(delta_bids, [(100.0, 0.0)], delta_asks, [(100.5, 0.25)])
    book.apply([(100.0, 0.0)], [(100.5, 0.25)])
    window = [pairs[1], "100.5000:0.25", pairs[2], "101.0000:2", pairs[3], "102.0000:2", pairs[4], "103.0000:2"]
    moved = ":".join([*window, *pairs[5:], "75.0000:1.50"])
    assert texts.checksum(book) == crc(moved)
    # The removed level's text is dropped when the texts are pruned to the book's levels.
    assert len(texts) == 34
    texts.prune(book.bids(), book.asks())
    assert len(texts) == len(book) == 33


def test_books_snapshot_then_update(bitget: BitgetAdapter) -> None:
    """The snapshot loads the book; the next update (``pseq`` = last ``seq``) applies absolute sizes,
    removes zeros and passes the checksum of the top 25 levels."""
    assert bitget.parse("c", raw("books_snapshot.json"), T) == [
        Book(
            "bitget",
            "BTC/USDT:USDT",
            1695716059.516,
            T,
            True,
            [(27000.0, 2.71), (26999.5, 1.46), (26998.0, 0.25)],
            [(27000.5, 8.76), (27001.0, 0.4), (27003.0, 1.5)],
            123,
        )
    ]
    assert bitget.parse("c", raw("books_update.json"), T + 1) == [
        Book(
            "bitget",
            "BTC/USDT:USDT",
            1695716059.616,
            T + 1,
            False,
            [(27000.0, 3.1), (26998.0, 0.0)],
            [(27000.5, 0.0), (27002.0, 3.2)],
            124,
        )
    ]
    book = bitget.book("BTC/USDT:USDT")
    assert book is not None
    assert book.bids() == {27000.0: 3.1, 26999.5: 1.46}
    assert book.asks() == {27001.0: 0.4, 27002.0: 3.2, 27003.0: 1.5}
    assert book.sequence == 124
    assert bitget.books.stats["checksum_ok"] == 1
    checked = json.loads(raw("books_update.json"))["data"][0]["checksum"]
    assert checked == crc("27000.0:3.100:27001.0:0.400:26999.5:1.460:27002.0:3.200:27003.0:1.500")


def test_wrong_checksum_resubscribes_that_book(bitget: BitgetAdapter) -> None:
    """A checksum that does not match the book after the update: resync with reason ``checksum``."""
    bitget.parse("c", raw("books_snapshot.json"), T)
    good = json.loads(raw("books_update.json"))["data"][0]["checksum"]
    out = bitget.parse("c", edited("books_update.json", checksum=good + 1), T + 1)
    assert out == [
        Resync("bitget", "BTC/USDT:USDT", None, T + 1, "checksum", f"expected {good + 1}, computed {good}"),
        *RESUBSCRIBE,
    ]


def test_corrupted_level_fails_the_checksum(bitget: BitgetAdapter) -> None:
    """A level whose text differs from what the checksum was made of (``3.1`` for ``3.100``) is caught."""
    bitget.parse("c", raw("books_snapshot.json"), T)
    msg = json.loads(raw("books_update.json"))
    msg["data"][0]["bids"][0] = ["27000.0", "3.1"]
    out = bitget.parse("c", orjson.dumps(msg), T + 1)
    assert [(e.reason, e.symbol) for e in out if isinstance(e, Resync)] == [("checksum", "BTC/USDT:USDT")]
    assert bitget.books.stats["resync.checksum"] == 1


def test_pseq_gap_resyncs_only_that_symbol(bitget: BitgetAdapter) -> None:
    """``pseq`` is "the serial number of the previous push": a skipped push is a gap for that book only."""
    bitget.parse("c", raw("books_snapshot.json"), T)
    bitget.parse("c", raw("books5.json"), T)
    out = bitget.parse("c", edited("books_update.json", pseq=122, seq=130), T + 1)
    assert out == [
        Resync("bitget", "BTC/USDT:USDT", None, T + 1, "gap", "expected previous id 123, got 122"),
        *RESUBSCRIBE,
    ]
    futures, spot = bitget.book("BTC/USDT:USDT"), bitget.book("BTC/USDT")
    assert futures is not None and spot is not None
    assert (futures.synced, spot.synced) == (False, True)
    # Updates before the fresh snapshot are dropped; the snapshot the resubscription brings restores it.
    assert bitget.parse("c", raw("books_update.json"), T + 2) == []
    assert [e.snapshot for e in bitget.parse("c", raw("books_snapshot.json"), T + 3) if isinstance(e, Book)] == [True]
    assert futures.synced and futures.sequence == 123


def test_coin_m_seq_past_2_53_links_after_a_long_pause(bitget: BitgetAdapter) -> None:
    """Coin-M ``seq`` values are time-based ids past 2**53 (100 ms apart differ by 100 * 2**22): they are
    kept exact, and an update an hour later still links by ``pseq``."""
    seq = 1483653649371725838
    arg = {"instType": "COIN-FUTURES", "channel": "books", "instId": "BTCUSD"}
    snapshot = {"action": "snapshot", "arg": arg, "data": [{"asks": [["83716.0", "1.000"]], "bids": [], "seq": seq}]}
    later = seq + (3_600_000 << 22)
    update = {"action": "update", "arg": arg, "data": [{"asks": [["83716.5", "2.000"]], "seq": later, "pseq": seq}]}
    bitget.parse("c", orjson.dumps(snapshot), T)
    assert [e.sequence for e in bitget.parse("c", orjson.dumps(update), T + 3600) if isinstance(e, Book)] == [later]


def test_repeated_seq_is_a_duplicate(bitget: BitgetAdapter) -> None:
    """An update whose ``seq`` the book already has is skipped and counted; the book stays."""
    bitget.parse("c", raw("books_snapshot.json"), T)
    bitget.parse("c", raw("books_update.json"), T + 1)
    assert bitget.parse("c", raw("books_update.json"), T + 2) == []
    assert bitget.books.stats["stale_delta"] == 1
    book = bitget.book("BTC/USDT:USDT")
    assert book is not None and book.synced and book.asks()[27002.0] == 3.2


def test_a_seq_that_goes_back_restarts_the_book(bitget: BitgetAdapter) -> None:
    """ "The seq ... is incrementing except during symbol maintenance": a lower seq starts a new
    numbering, so the book is rebuilt at once (not left to drop updates as duplicates)."""
    bitget.parse("c", raw("books_snapshot.json"), T)
    out = bitget.parse("c", edited("books_update.json", seq=5, pseq=None), T + 1)
    assert out == [Resync("bitget", "BTC/USDT:USDT", None, T + 1, "gap", "seq went back from 123 to 5"), *RESUBSCRIBE]


def test_v1_books_have_no_seq_and_a_checked_snapshot(bitget: BitgetAdapter) -> None:
    """v1 ``books``: the snapshot carries a real checksum, updates no ``seq``: they are taken in order and
    the checksum is the only loss detector."""
    snapshot = bitget.parse("c", raw("books_snapshot_v1.json"), T)
    update = bitget.parse("c", raw("books_update_v1.json"), T + 1)
    assert [(e.snapshot, e.sequence) for e in [*snapshot, *update] if isinstance(e, Book)] == [(True, None), (False, 1)]
    assert bitget.books.stats["checksum_ok"] == 2
    book = bitget.book("BTC/USDT")
    assert book is not None
    assert book.bids() == {46687.67: 0.0531, 46686.68: 0.0032}
    assert book.asks() == {46700.38: 0.0554, 46701.46: 0.0054, 46702.0: 0.5}


def test_books5_is_a_whole_book_each_push(bitget: BitgetAdapter) -> None:
    """``books5``: "Push snapshot each time"; its checksum field is 0 and not checked."""
    assert bitget.parse("c", raw("books5.json"), T) == [
        Book(
            "bitget",
            "BTC/USDT",
            1695710946.294,
            T,
            True,
            [(26274.8, 0.0009), (26274.7, 0.0027)],
            [(26274.9, 0.0009), (26275.0, 0.05)],
            123,
        )
    ]
    bitget.parse("c", edited("books5.json", bids=[["26274.5", "1"]], asks=[["26275.5", "2"]], seq=130), T + 1)
    book = bitget.book("BTC/USDT")
    assert book is not None and (book.bids(), book.asks(), book.sequence) == ({26274.5: 1.0}, {26275.5: 2.0}, 130)


def test_deeper_book_channel_takes_the_book_over(bitget: BitgetAdapter) -> None:
    """A recorder on ``books5`` and ``books``: the full book takes over at its snapshot, ``books5`` is ignored."""
    spot = json.loads(raw("books_snapshot_v1.json"))
    spot["arg"] = {"instType": "SPOT", "channel": "books", "instId": "BTCUSDT"}
    assert [e.snapshot for e in bitget.parse("c", raw("books5.json"), T) if isinstance(e, Book)] == [True]
    assert [e.snapshot for e in bitget.parse("c", orjson.dumps(spot), T + 1) if isinstance(e, Book)] == [True]
    assert bitget.parse("c", raw("books5.json"), T + 2) == []
    assert bitget.stats["ignored.second_depth"] == 1
    book = bitget.book("BTC/USDT")
    assert book is not None and len(book) == 5


def test_update_before_any_snapshot_resubscribes_once(bitget: BitgetAdapter) -> None:
    """An update with no book to apply to asks for a fresh snapshot, once."""
    assert bitget.parse("c", raw("books_update.json"), T) == RESUBSCRIBE
    assert bitget.parse("c", raw("books_update.json"), T) == []


def test_disconnect_resets_the_books_it_carried(bitget: BitgetAdapter) -> None:
    """After a disconnect the book is empty until the resubscription's snapshot."""
    (plan,) = bitget.plan([Subscription("BTC/USDT:USDT", "book")])
    assert bitget.on_connect(plan, T) == [Connected("bitget", None, None, T, plan.conn, plan.url)]
    bitget.parse(plan.conn, raw("books_snapshot.json"), T)
    assert bitget.on_disconnect(plan.conn, "closed 1006", T + 1) == [
        Disconnected("bitget", None, None, T + 1, plan.conn, "closed 1006"),
        Resync("bitget", "BTC/USDT:USDT", None, T + 1, "reconnect", ""),
    ]
    book = bitget.book("BTC/USDT:USDT")
    assert book is not None and not book.synced


# -- candles ------------------------------------------------------------------------------------


def test_candle_snapshot_history_is_closed_and_the_last_bar_forming(bitget: BitgetAdapter) -> None:
    """Rows before the last are finished bars; a later bar closes the forming one with its last state."""
    first = bitget.parse("c", raw("candle_spot.json"), T)
    bar = ("bitget", "BTC/USDT", 1790358780.653, T, "1m")
    assert first == [
        Candle(*bar, 1790358660.0, 1790358720.0, 83765.17, 83765.17, 83738.85, 83738.85, 0.701343, None, True),
        Candle(*bar, 1790358720.0, 1790358780.0, 83738.85, 83738.85, 83715.68, 83715.7, 0.100386, None, True),
        Candle(*bar, 1790358780.0, 1790358840.0, 83715.7, 83715.7, 83715.7, 83715.7, 0.0, None, False),
    ]
    nxt = {
        "action": "update",
        "arg": {"instType": "SPOT", "channel": "candle1m", "instId": "BTCUSDT"},
        "ts": 1790358841000,
    }
    nxt["data"] = [["1790358840000", "83720", "83722", "83719", "83721", "0.5", "41860.5", "41860.5"]]
    assert bitget.parse("c", orjson.dumps(nxt), T + 1) == [
        Candle(
            "bitget",
            "BTC/USDT",
            1790358780.653,
            T + 1,
            "1m",
            1790358780.0,
            1790358840.0,
            83715.7,
            83715.7,
            83715.7,
            83715.7,
            0.0,
            None,
            True,
        ),
        Candle(
            "bitget",
            "BTC/USDT",
            1790358841.0,
            T + 1,
            "1m",
            1790358840.0,
            1790358900.0,
            83720.0,
            83722.0,
            83719.0,
            83721.0,
            0.5,
            None,
            False,
        ),
    ]
    # The snapshot again (a resubscription): history already out is not repeated.
    assert [c.closed for c in bitget.parse("c", raw("candle_spot.json"), T + 2) if isinstance(c, Candle)] == []


def test_a_bar_resent_with_newer_values_closes_once_with_them(bitget: BitgetAdapter) -> None:
    """After a reconnect the snapshot repeats the held forming bar with its final values, then the
    next one: the held bar closes once, with the values last received, not again with older ones."""
    push = {"action": "update", "arg": {"instType": "SPOT", "channel": "candle1m", "instId": "BTCUSDT"}, "ts": 1}
    held = dict(push, data=[["1790358720000", "100", "101", "99", "100.5", "1.0", "100", "100"]])
    bitget.parse("c", orjson.dumps(held), T)
    final = ["1790358720000", "100", "102", "99", "100.7", "2.0", "200", "200"]
    nxt = ["1790358780000", "100.7", "100.7", "100.7", "100.7", "0.1", "10", "10"]
    snapshot = dict(push, action="snapshot", data=[final, nxt])
    out = [c for c in bitget.parse("c", orjson.dumps(snapshot), T + 1) if isinstance(c, Candle)]
    assert [(c.start, c.high, c.volume, c.closed) for c in out] == [
        (1790358720.0, 102.0, 2.0, True),
        (1790358780.0, 100.7, 0.1, False),
    ]


def test_month_bars_end_at_the_next_month_in_their_own_day_cut() -> None:
    """``candle1Mutc`` bars start at 00:00 UTC, ``candle1M`` at 00:00 UTC+8 (16:00 UTC the day before)."""
    from collector.exchanges.bitget.parse import candle_end

    assert candle_end(1704067200000, "1M") == 1706745600000  # 2024-01-01 -> 2024-02-01, UTC
    assert candle_end(1701360000000, "1M") == 1704038400000  # 2023-11-30 16:00 -> 2023-12-31 16:00 UTC
    assert candle_end(1704067200000, "1w") == 1704672000000


def test_futures_and_v1_candles(bitget: BitgetAdapter) -> None:
    """The futures row has 8 columns, the v1 row 6; ``candle1H`` is the unified ``1h``."""
    assert bitget.parse("c", raw("candle_futures.json"), T) == [
        Candle(
            "bitget",
            "BTC/USDT:USDT",
            1695715462.25,
            T,
            "1m",
            1695685500.0,
            1695685560.0,
            27000.0,
            27000.5,
            27000.0,
            27000.5,
            0.057,
            None,
            False,
        )
    ]
    assert bitget.parse("c", raw("candle_v1.json"), T) == [
        Candle(
            "bitget",
            "BTC/USDT:USDT",
            None,
            T,
            "1h",
            1649289600.0,
            1649293200.0,
            46470.5,
            46561.0,
            46401.0,
            46550.5,
            1684.223,
            None,
            False,
        )
    ]


# -- control frames and bad input ---------------------------------------------------------------


def test_acks_pongs_and_unused_channels_are_counted(bitget: BitgetAdapter) -> None:
    """Subscribe/unsubscribe acks (v2 and v1), the text ``pong`` and the auction channel produce nothing."""
    for frame in [
        raw("ack_subscribe.json"),
        raw("ack_unsubscribe.json"),
        raw("ack_v1.json"),
        "pong",
        raw("auction.json"),
    ]:
        assert bitget.parse("c", frame, T) == [], frame
    assert dict(bitget.stats) == {"ignored.ack": 3, "ignored.pong": 1, "ignored.auction": 1}


def test_error_replies_are_error_events(bitget: BitgetAdapter) -> None:
    """``event: error`` names the code, the message and the refused argument."""
    assert bitget.parse("c", raw("error_param.json"), T) == [
        Error("bitget", None, None, T, "c", "rejected", "error 30016: Param error (USDT-FUTURES/books50/BTCUSDT)")
    ]
    assert bitget.parse("c", raw("error_unknown.json"), T) == [
        Error(
            "bitget",
            None,
            None,
            T,
            "c",
            "rejected",
            "error 30001: instType:sp,channel:candleNone,instId:BTCUSDT doesn't exist",
        )
    ]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json", "malformed"),
        (b"\xff\xfe not UTF-8", "malformed"),
        ("null", "malformed"),
        (text("trade_spot.json")[:60], "malformed"),
        (text("books_update.json") + "}", "malformed"),
        (
            '{"action":"update","arg":{"instType":"SPOT","channel":"trade","instId":"BTCUSDT"},"data":[{"ts":"1"}]}',
            "malformed",
        ),
        (edited("trade_spot.json", side="up"), "malformed"),
        (edited("books_update.json", bids=[["27000.0", "-1"]]), "malformed"),
        (edited("books_update.json", seq=2**64), "malformed"),
        (edited("ticker_futures.json", markPrice="NaN"), "malformed"),
        (edited("ticker_spot.json", bidSz="-3"), "malformed"),
        ('{"action":"update","arg":{"instType":"SPOT","channel":"books","instId":"BTCUSDT"},"data":[]}', "malformed"),
        ('{"action":"update","arg":{"instType":"SPOT","channel":"trade","instId":"NOPE"},"data":[]}', "unknown_symbol"),
        (
            '{"action":"update","arg":{"instType":"mc","channel":"books","instId":"XYZUSDT"},"data":[]}',
            "unknown_symbol",
        ),
        (
            '{"action":"update","arg":{"instType":"SPOT","channel":"depth","instId":"BTCUSDT"},"data":[]}',
            "unknown_channel",
        ),
        ('{"hello":"world"}', "unknown_message"),
    ],
)
def test_bad_frames_become_error_events(bitget: BitgetAdapter, frame: str | bytes, reason: str) -> None:
    """Nothing raises: each bad frame is one ``error`` event and one counter."""
    out = bitget.parse("c", frame, T)
    assert [(type(e), e.reason) for e in out if isinstance(e, Error)] == [(Error, reason)]
    assert bitget.stats["error." + reason] == 1


def test_keys_in_another_order_still_route(bitget: BitgetAdapter) -> None:
    """A push whose ``arg`` comes after ``data`` takes the slower path and parses alike."""
    msg = json.loads(raw("trade_spot.json"))
    reordered = orjson.dumps({"data": msg["data"], "arg": msg["arg"], "action": msg["action"]})
    assert bitget.parse("c", reordered, T) == [
        Trade("bitget", "BTC/USDT", 1695709835.822, T, 26293.4, 0.0013, "buy", "1000000000")
    ]


def test_text_and_bytes_frames_parse_alike(bitget: BitgetAdapter) -> None:
    """A frame given as ``str`` yields what its bytes yield."""
    assert bitget.parse("c", text("trade_coin_futures.json"), T) == bitget.parse("c", raw("trade_coin_futures.json"), T)


# -- plan ---------------------------------------------------------------------------------------


def test_plan_uses_one_url_and_the_documented_keepalive(bitget: BitgetAdapter) -> None:
    """Spot and futures share ``/v2/ws/public``; ``ticker`` serves both ticker and funding; text ``ping``."""
    (plan,) = bitget.plan(
        [
            Subscription("BTC/USDT", "trades"),
            Subscription("BTC/USDT", "ticker"),
            Subscription("BTC/USDT", "book"),
            Subscription("BTC/USDT", "candles", "1d"),
            Subscription("BTC/USDT:USDT", "book"),
            Subscription("BTC/USDT:USDT", "ticker"),
            Subscription("BTC/USDT:USDT", "funding"),
        ]
    )
    assert plan.url == "wss://ws.bitget.com/v2/ws/public"
    args = [
        {"instType": "SPOT", "channel": "trade", "instId": "BTCUSDT"},
        {"instType": "SPOT", "channel": "ticker", "instId": "BTCUSDT"},
        {"instType": "SPOT", "channel": "books", "instId": "BTCUSDT"},
        {"instType": "SPOT", "channel": "candle1Dutc", "instId": "BTCUSDT"},
        {"instType": "USDT-FUTURES", "channel": "books", "instId": "BTCUSDT"},
        {"instType": "USDT-FUTURES", "channel": "ticker", "instId": "BTCUSDT"},
    ]
    assert [json.loads(f) for f in plan.subscribe] == [{"op": "subscribe", "args": args}]
    assert plan.symbols == ["BTC/USDT", "BTC/USDT:USDT"]
    assert (plan.conn, plan.app_ping, plan.app_ping_interval, plan.ping_interval) == ("bitget.0", "ping", 25.0, None)
    assert (plan.control_interval, plan.idle_timeout, plan.max_lifetime) == (0.2, 90.0, 84600.0)
    # Without a ticker a quiet market may be silent for minutes: the idle limit is longer.
    (quiet,) = bitget.plan([Subscription("BTC/USDT", "trades"), Subscription("BTC/USDT", "book")])
    assert quiet.idle_timeout == 300.0


def test_plan_shards_by_channels_and_args_bytes(bitget: BitgetAdapter) -> None:
    """Past the channels per connection a second connection takes the rest; requests stay under the byte cap."""

    class Small(BitgetAdapter):
        max_channels = 3
        max_args_bytes = 140

    small = Small()
    for url, name in V2_LISTINGS.items():
        small.on_http(RestRequest(url, "instruments"), 200, raw(name), T)
    subs = [Subscription(s, c) for s in ("BTC/USDT", "BTC/USD:BTC") for c in ("trades", "ticker")]
    first, second = small.plan(subs)
    assert [[len(json.loads(f)["args"]) for f in p.subscribe] for p in (first, second)] == [[2, 1], [1]]
    assert all(len(json.dumps(json.loads(f)["args"], separators=(",", ":"))) <= 140 for f in first.subscribe)
    assert (first.conn, second.conn) == ("bitget.0", "bitget.1")
    assert json.loads(second.subscribe[0])["args"] == [
        {"instType": "COIN-FUTURES", "channel": "ticker", "instId": "BTCUSD"}
    ]


def test_plan_rejects_what_bitget_does_not_offer(bitget: BitgetAdapter) -> None:
    """Unknown symbols, candle intervals, spot funding and liquidations fail at plan time."""
    with pytest.raises(UnknownSymbol):
        bitget.plan([Subscription("DOGE/USDT", "trades")])
    with pytest.raises(UsageError, match="no candle interval '2m'"):
        bitget.plan([Subscription("BTC/USDT", "candles", "2m")])
    with pytest.raises(UsageError, match="spot: no funding"):
        bitget.plan([Subscription("BTC/USDT", "funding")])
    with pytest.raises(UsageError, match="no public liquidations channel"):
        bitget.plan([Subscription("BTC/USDT:USDT", "liquidations")])


def test_simulator_lists_instruments_as_bitget_does() -> None:
    """The simulator's listings parse back into the symbols it simulates; a bad productType is refused."""
    from collector.simulator.wire import RestCall

    wire = BitgetAdapter.simulator_wire()
    specs = [wire.instrument(s, 1) for s in ("BTC/USDT", "BTC/USD:BTC", "ETH/USD:ETH-261225")]
    markets = {wire.market_key(spec): wire.market(spec, 1, 20) for spec in specs}
    adapter = BitgetAdapter()
    for path, query in [
        ("/api/v2/spot/public/symbols", {}),
        ("/api/v2/mix/market/contracts", {"productType": "COIN-FUTURES"}),
    ]:
        answer = wire.rest(RestCall("GET", path, query), markets, 0)
        suffix = f"?productType={query['productType']}" if query else ""
        adapter.on_http(RestRequest(f"{REST}{path}{suffix}", "instruments"), answer.status, answer.body, T)
    assert sorted(i.symbol for i in adapter.instruments) == ["BTC/USD:BTC", "BTC/USDT", "ETH/USD:ETH-261225"]
    refused = wire.rest(RestCall("GET", "/api/v2/mix/market/contracts", {"productType": "X"}), markets, 0)
    assert (refused.status, json.loads(refused.body)["code"]) == (400, "40020")


def test_registry_and_recognized_hosts() -> None:
    """``bitget`` is registered and claims the v2 and v1 public socket hosts, not other exchanges or UTA v3."""
    assert EXCHANGES["bitget"] is BitgetAdapter
    assert BitgetAdapter.recognizes("wss://ws.bitget.com/v2/ws/public")
    assert BitgetAdapter.recognizes("wss://ws.bitget.com/spot/v1/stream")
    assert BitgetAdapter.recognizes("wss://ws.bitget.com/mix/v1/stream")
    assert BitgetAdapter.recognizes("wss://wspap.bitget.com/v2/ws/public")
    assert not BitgetAdapter.recognizes("wss://ws.bitget.com/v3/ws/public")
    assert not BitgetAdapter.recognizes("wss://stream.bybit.com/v5/public/linear")
