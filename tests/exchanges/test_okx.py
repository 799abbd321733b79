"""OKX API v5 adapter: parsers on the documented shapes, instruments, book rule and checksum, plan."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from collector.actions import Reconnect, RestRequest, SendFrame
from collector.errors import UnknownSymbol, UsageError
from collector.exchanges import EXCHANGES, ConnectionPlan, Subscription
from collector.exchanges.okx import OkxAdapter
from collector.exchanges.okx.checksum import checksum
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

pytestmark = pytest.mark.usefixtures("both_paths")  # the C and the Python book paths give the same

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "okx"
T = 1700000000.5  # receipt time handed to the adapter
CONN = "okx.public.0"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def text(name: str) -> str:
    return raw(name).decode().strip()


def edited(name: str, **data: Any) -> str:
    """A fixture with fields of its first ``data`` element replaced (another seqId, other levels)."""
    msg = json.loads(raw(name))
    msg["data"][0].update(data)
    return json.dumps(msg, separators=(",", ":"))


def listing(inst_type: str) -> RestRequest:
    return RestRequest(f"https://www.okx.com/api/v5/public/instruments?instType={inst_type}", "instruments")


@pytest.fixture
def okx() -> OkxAdapter:
    adapter = OkxAdapter()
    for inst_type, name in (("SPOT", "spot"), ("SWAP", "swap"), ("FUTURES", "futures")):
        assert adapter.answer(listing(inst_type), 200, raw(f"instruments_{name}.json"), T) == []
    adapter.connected(ConnectionPlan(CONN, "wss://ws.okx.com:8443/ws/v5/public"), T)
    return adapter


# -- instruments --------------------------------------------------------------------------------


def test_instruments_map_to_unified_symbols(okx: OkxAdapter) -> None:
    """Spot, linear and inverse swaps, USDC-margined swaps and dated futures get ccxt-style symbols."""
    got = {
        i.symbol: (i.native, i.kind, i.settle, i.expiry, i.contract_size, i.tick_size, i.step_size, i.active)
        for i in okx.instruments
    }
    assert got == {
        "BTC/USDT": ("BTC-USDT", "spot", None, None, 1.0, 0.1, 0.00000001, True),
        "ETH/USDC": ("ETH-USDC", "spot", None, None, 1.0, 0.01, 0.000001, False),
        "BTC/USDT:USDT": ("BTC-USDT-SWAP", "swap", "USDT", None, 0.01, 0.1, 0.01, True),
        "BTC/USD:BTC": ("BTC-USD-SWAP", "swap", "BTC", None, 100.0, 0.1, 1.0, True),
        "ETH/USDC:USDC": ("ETH-USDC-SWAP", "swap", "USDC", None, 0.001, 0.01, 0.1, True),
        "IOST/USDT:USDT": ("IOST-USDT-SWAP", "swap", "USDT", None, 1000.0, 0.000001, 1.0, True),
        "BCH/USDT:USDT": ("BCH-USDT-SWAP", "swap", "USDT", None, 0.1, 0.01, 0.01, True),
        "BTC/USD:BTC-250926": ("BTC-USD-250926", "future", "BTC", "250926", 100.0, 0.1, 1.0, True),
        "BTC/USDT:USDT-260327": ("BTC-USDT-260327", "future", "USDT", "260327", 0.01, 0.1, 0.1, True),
    }
    # Both ways: native id -> unified symbol and back.
    assert okx.instruments.symbol_of("BTC-USD-SWAP") == "BTC/USD:BTC"
    assert okx.instruments.by_symbol("BTC/USDT:USDT-260327").native == "BTC-USDT-260327"
    assert okx.instruments.symbol_of("NEW-USDT-SWAP") is None  # preopen, no contract terms yet
    inverse = okx.market_of("BTC/USD:BTC")
    assert (inverse.ct, inverse.inverse, inverse.underlying) == (100.0, True, "BTC-USD")
    linear = okx.market_of("BTC/USDT:USDT")
    assert (linear.ct, linear.inverse, linear.underlying) == (0.01, False, "BTC-USDT")


def test_older_listings_without_inst_family_use_uly() -> None:
    """Listings before ``instFamily`` existed (2022 captures) name the pair only in ``uly``."""
    body = json.loads(raw("instruments_swap.json"))
    for entry in body["data"]:
        del entry["instFamily"]
    adapter = OkxAdapter()
    adapter.answer(listing("SWAP"), 200, orjson.dumps(body), T)
    assert adapter.instruments.symbol_of("BTC-USD-SWAP") == "BTC/USD:BTC"
    assert adapter.instruments.symbol_of("ETH-USDC-SWAP") == "ETH/USDC:USDC"


def test_bbo_tbt_as_the_ticker_channel_feeds_no_book(okx: OkxAdapter) -> None:
    """With ``ticker_channel = "bbo-tbt"`` and no book asked for, its pushes are tickers only."""

    class Bbo(OkxAdapter):
        ticker_channel = "bbo-tbt"

    bbo = Bbo()
    bbo.answer(listing("SWAP"), 200, raw("instruments_swap.json"), T)
    (plan,) = bbo.plan([Subscription("BCH/USDT:USDT", "ticker"), Subscription("BTC/USDT:USDT", "book")])
    assert [json.loads(f)["args"][0] for f in plan.subscribe] == [{"channel": "bbo-tbt", "instId": "BCH-USDT-SWAP"}]
    assert [type(e) for e in bbo.parse(plan.conn, text("bbo_tbt.json"), T)] == [Ticker]
    assert bbo.book("BCH/USDT:USDT") is None


def test_instrument_requests_one_per_type_and_replay_keys() -> None:
    """Each instType is its own request (and rate limit); replay keeps their answers apart."""
    adapter = OkxAdapter()
    urls = [r.url for r in adapter.instrument_requests()]
    assert urls == [
        "https://www.okx.com/api/v5/public/instruments?instType=SPOT",
        "https://www.okx.com/api/v5/public/instruments?instType=SWAP",
        "https://www.okx.com/api/v5/public/instruments?instType=FUTURES",
    ]
    assert [OkxAdapter.match_key(url) for url in urls] == [
        ("www.okx.com", "/api/v5/public/instruments?instType=SPOT", ""),
        ("www.okx.com", "/api/v5/public/instruments?instType=SWAP", ""),
        ("www.okx.com", "/api/v5/public/instruments?instType=FUTURES", ""),
    ]
    # cryptofeed also lists options per underlying: a key of its own, never taken for these.
    option = "https://www.okx.com/api/v5/public/instruments?instType=OPTION&uly=BTC-USD"
    assert OkxAdapter.match_key(option) == ("www.okx.com", "/api/v5/public/instruments?instType=OPTION", "BTC-USD")


def test_refused_listing_is_an_error_event() -> None:
    """``code`` other than "0" is OKX refusing the request: an error event, nothing loaded."""
    adapter = OkxAdapter()
    request = listing("NOPE")
    assert adapter.answer(request, 200, raw("instruments_refused.json"), T) == [
        Error("okx", None, None, T, "rest", "malformed", f"{request.url}: code 51000: Parameter instType error")
    ]
    assert len(adapter.instruments) == 0


def test_registry_and_recognized_hosts() -> None:
    """``okx`` is registered and claims OKX's websocket hosts only."""
    assert EXCHANGES["okx"] is OkxAdapter
    for url in (
        "wss://ws.okx.com:8443/ws/v5/public",
        "wss://ws.okx.com:8443/ws/v5/business",
        "wss://wsaws.okx.com:8443/ws/v5/public",
        "wss://wspap.okx.com:8443/ws/v5/public?brokerId=9999",
        "wss://wseea.okx.com:8443/ws/v5/public",
        "wss://ws.okex.com:8443/ws/v5/public",
    ):
        assert OkxAdapter.recognizes(url), url
    assert not OkxAdapter.recognizes("wss://stream.bybit.com/v5/public/linear")


# -- trades -------------------------------------------------------------------------------------


def test_spot_trade(okx: OkxAdapter) -> None:
    """``side`` is the taker's; ``tradeId`` the last of the aggregated fills; spot sizes are base units."""
    assert okx.parse(CONN, text("trades.json"), T) == [
        Trade("okx", "BTC/USDT", 1630048897.897, T, 42219.9, 0.12060306, "buy", "130639474")
    ]


def test_linear_swap_trade_is_converted_from_contracts(okx: OkxAdapter) -> None:
    """0.55 contracts of 0.01 BTC are 0.0055 BTC (the decimal result, not the float product's 0.0055000000000000005)."""
    (trade,) = okx.parse(CONN, text("trades_swap.json"), T)
    assert trade == Trade("okx", "BTC/USDT:USDT", 1630048897.897, T, 42219.9, 0.0055, "sell", "1131424789")


def test_inverse_swap_trade_is_converted_from_usd_contracts(okx: OkxAdapter) -> None:
    """21 contracts of 100 USD at 42000 are 2100 / 42000 = 0.05 BTC."""
    assert okx.parse(CONN, text("trades_inverse.json"), T) == [
        Trade("okx", "BTC/USD:BTC", 1630048897.898, T, 42000.0, 0.05, "buy", "263421781")
    ]


def test_trades_all_from_the_business_url(okx: OkxAdapter) -> None:
    """``trades-all`` (one fill per push) parses like ``trades``."""
    assert okx.parse("okx.business.0", text("trades_all.json"), T) == [
        Trade("okx", "BTC/USDT", 1630048897.897, T, 42219.9, 0.12060306, "buy", "130639474")
    ]


# -- tickers ------------------------------------------------------------------------------------


def test_spot_ticker(okx: OkxAdapter) -> None:
    """Best bid/offer and the 24 h statistics; spot ``vol24h`` is base units, ``volCcy24h`` quote."""
    assert okx.parse(CONN, text("tickers.json"), T) == [
        Ticker(
            "okx",
            "BTC/USDT",
            1597026383.085,
            T,
            8888.88,
            5.0,
            9999.99,
            11.0,
            last=9999.99,
            open=9000.0,
            high=10000.0,
            low=8888.88,
            volume=2222.0,
            quote_volume=2222.0,
        )
    ]


def test_inverse_ticker_volumes(okx: OkxAdapter) -> None:
    """On contracts ``volCcy24h`` is base units; inverse contracts (100 USD each) give the quote volume."""
    assert okx.parse(CONN, text("tickers_inverse.json"), T) == [
        Ticker(
            "okx",
            "BTC/USD:BTC",
            1630048897.9,
            T,
            42219.9,
            1210.0,
            42220.0,
            155.0,
            last=42219.9,
            open=41500.0,
            high=42800.1,
            low=41210.3,
            volume=5134.1893,
            quote_volume=217054300.0,
        )
    ]


def test_empty_book_side_in_a_ticker_is_none(okx: OkxAdapter) -> None:
    """``""`` means "no value": an empty ask side gives ``None``; a linear swap has no exact quote volume."""
    (ticker,) = okx.parse(CONN, text("tickers_empty_side.json"), T)
    assert (ticker.bid, ticker.bid_size, ticker.ask, ticker.ask_size) == (42219.8, 35.2, None, None)
    assert (ticker.volume, ticker.quote_volume) == (12345.67, None)


# -- order books --------------------------------------------------------------------------------

SNAPSHOT_BIDS = [
    (8476.97, 256.0),
    (8475.55, 101.0),
    (8475.54, 100.0),
    (8475.3, 1.0),
    (8447.32, 6.0),
    (8447.02, 246.0),
    (8446.83, 24.0),
    (8446.0, 95.0),
]
SNAPSHOT_ASKS = [
    (8476.98, 415.0),
    (8477.0, 7.0),
    (8477.34, 85.0),
    (8477.56, 1.0),
    (8505.84, 8.0),
    (8506.37, 85.0),
    (8506.49, 2.0),
    (8506.96, 100.0),
]
RESUBSCRIBE = [
    SendFrame(CONN, '{"op":"unsubscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}'),
    SendFrame(CONN, '{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}'),
]
REST_BOOK = RestRequest(
    "https://www.okx.com/api/v5/market/books?instId=BTC-USDT&sz=400", "snapshot", 1, "BTC/USDT", CONN
)
"""A book's snapshot request: the REST book, then (while the stream pushes snapshots) a resubscription."""


def test_books_snapshot_then_update(okx: OkxAdapter) -> None:
    """The snapshot loads the book (checksum 0 is not checked); the linked update applies absolute sizes."""
    assert okx.parse(CONN, text("books_snapshot.json"), T) == [
        Book("okx", "BTC/USDT", 1597026383.085, T, True, SNAPSHOT_BIDS, SNAPSHOT_ASKS, 123456)
    ]
    assert okx.parse(CONN, text("books_update.json"), T + 1) == [
        Book(
            "okx",
            "BTC/USDT",
            1597026383.185,
            T + 1,
            False,
            [(8476.97, 300.0)],
            [(8476.98, 0.0), (8477.1, 3.0)],
            123461,
        )
    ]
    book = okx.book("BTC/USDT")
    assert book is not None
    assert (book.best_bid(), book.best_ask(), book.sequence) == ((8476.97, 300.0), (8477.0, 7.0), 123461)
    assert okx.books.stats["checksum_ok"] == 0  # OKX sends 0: "must no longer be used"


def test_heartbeat_update_only_keeps_the_book_alive(okx: OkxAdapter) -> None:
    """``prevSeqId == seqId`` with no levels: no event, the book is touched (not stale), nothing resyncs."""
    okx.parse(CONN, text("books_snapshot.json"), T)
    okx.parse(CONN, text("books_update.json"), T + 1)
    assert okx.parse(CONN, text("books_heartbeat.json"), T + 61) == []
    book = okx.book("BTC/USDT")
    assert book is not None
    assert (book.synced, book.sequence, book.updated) == (True, 123461, T + 61)
    assert okx.stats["ignored.book_heartbeat"] == 1
    assert okx.check(T + 61 + okx.book_stale_after - 1) == []


def test_a_heartbeat_naming_a_later_id_shows_a_lost_update(okx: OkxAdapter) -> None:
    """A heartbeat's "seqId is the same as the last sent message": at 123461 while the book is at
    123456, the update between them was lost, so the book resyncs and resubscribes."""
    okx.parse(CONN, text("books_snapshot.json"), T)
    out = okx.parse(CONN, text("books_heartbeat.json"), T + 61)
    assert [e for e in out if isinstance(e, Resync)] == [
        Resync("okx", "BTC/USDT", None, T + 61, "gap", "heartbeat at id 123461, book at id 123456")
    ]
    assert any(isinstance(a, SendFrame) for a in out)
    book = okx.book("BTC/USDT")
    assert book is not None and not book.synced
    assert okx.stats["ignored.book_heartbeat"] == 0


def test_a_crossed_book_in_the_pre_open_is_kept(okx: OkxAdapter) -> None:
    """ "Best ask price may be lower than the best bid price during the pre-open period": a crossed
    snapshot and a crossing update are the exchange's book, emitted and applied, not resynced."""
    crossed = edited("books_snapshot.json", bids=[["101", "1", "0", "1"]], asks=[["100", "2", "0", "1"]])
    (snap,) = okx.parse(CONN, crossed, T)
    assert isinstance(snap, Book)
    assert (snap.snapshot, snap.bids, snap.asks, snap.sequence) == (True, [(101.0, 1.0)], [(100.0, 2.0)], 123456)
    update = edited("books_update.json", bids=[["102", "3", "0", "1"]], asks=[], prevSeqId=123456, seqId=123457)
    (delta,) = okx.parse(CONN, update, T + 1)
    assert isinstance(delta, Book) and (delta.snapshot, delta.bids, delta.sequence) == (False, [(102.0, 3.0)], 123457)
    book = okx.book("BTC/USDT")
    assert book is not None
    assert (book.synced, book.best_bid(), book.best_ask()) == (True, (102.0, 3.0), (100.0, 2.0))
    assert okx.books.stats["crossed_kept"] == 2
    assert okx.books.stats["resync.crossed"] == 0


def test_sequence_reset_rebases_the_book(okx: OkxAdapter) -> None:
    """ "seqId smaller than prevSeqId" after maintenance: the linked update re-bases the book on the new ids."""
    okx.parse(CONN, text("books_snapshot.json"), T)
    okx.parse(CONN, text("books_update.json"), T + 1)
    before = okx.book("BTC/USDT").depth()  # type: ignore[union-attr]
    (event,) = okx.parse(CONN, text("books_sequence_reset.json"), T + 2)
    # Reported as it came, an update with the new id; the book holds every level it held.
    assert event == Book("okx", "BTC/USDT", 1597026453.185, T + 2, False, [], [(8477.0, 8.0)], 3)
    book = okx.book("BTC/USDT")
    assert book is not None
    assert book.asks()[8477.0] == 8.0 and book.sequence == 3 and book.synced
    assert book.depth().bids == before.bids and len(book.depth().asks) == len(before.asks)
    assert okx.stats["sequence_reset"] == 1
    # "subsequent messages will follow the regular sequencing rule"
    out = okx.parse(CONN, edited("books_update.json", prevSeqId=3, seqId=5), T + 3)
    assert [(type(e), e.sequence) for e in out] == [(Book, 5)]


def test_sequence_reset_that_does_not_link_is_a_gap(okx: OkxAdapter) -> None:
    """A reset whose ``prevSeqId`` is not the book's id: rebuilt at once, not taken for old duplicates."""
    okx.parse(CONN, text("books_snapshot.json"), T)
    out = okx.parse(CONN, edited("books_sequence_reset.json", prevSeqId=123500), T + 1)
    detail = "sequence reset to 3 after 123500, expected previous id 123456"
    assert out == [Resync("okx", "BTC/USDT", None, T + 1, "gap", detail), REST_BOOK, *RESUBSCRIBE]


def test_gap_resubscribes_that_book_only(okx: OkxAdapter) -> None:
    """``prevSeqId`` not the last ``seqId``: a resync event and an unsubscribe/subscribe of that one book."""
    okx.parse(CONN, text("books_snapshot.json"), T)
    okx.parse(CONN, edited("books_snapshot.json", seqId=900).replace("BTC-USDT", "BTC-USDT-SWAP"), T)
    out = okx.parse(CONN, edited("books_update.json", prevSeqId=123457), T + 1)
    assert out == [
        Resync("okx", "BTC/USDT", None, T + 1, "gap", "expected previous id 123456, got 123457"),
        REST_BOOK,
        *RESUBSCRIBE,
    ]
    book = okx.book("BTC/USDT")
    swap = okx.book("BTC/USDT:USDT")
    assert book is not None and swap is not None
    assert (book.synced, len(book)) == (False, 0)
    assert (swap.synced, swap.sequence) == (True, 900)  # the other book is untouched
    # Updates before the fresh snapshot are kept for the REST book, without asking again ...
    assert okx.parse(CONN, edited("books_update.json", prevSeqId=123461, seqId=123470), T + 2) == []
    # ... and the snapshot the resubscription brings restores the book.
    assert [e.snapshot for e in okx.parse(CONN, text("books_snapshot.json"), T + 3)] == [True]
    assert (book.synced, book.sequence) == (True, 123456)


def test_update_before_any_snapshot_asks_for_the_rest_book_once(okx: OkxAdapter) -> None:
    """An update with no book to apply to asks for the REST book once (the stream has pushed no
    snapshot yet, so no resubscription: OKX announced it would stop pushing them)."""
    assert okx.parse(CONN, text("books_update.json"), T) == [REST_BOOK]
    assert okx.parse(CONN, text("books_update.json"), T) == []


def _rest_book(seq: int | None, bids: list[list[str]], asks: list[list[str]]) -> bytes:
    book: dict[str, Any] = {"asks": asks, "bids": bids, "ts": "1597026383085"}
    if seq is not None:
        book["seqId"] = seq
    return orjson.dumps({"code": "0", "msg": "", "data": [book]})


def test_a_rest_book_with_seq_id_joins_the_buffered_updates(okx: OkxAdapter) -> None:
    """The changelog's procedure: "discard any event where stream seqId is <= snapshot seqId", the
    first kept has "prevSeqId <= snapshot seqId < stream seqId"; later ones chain on prevSeqId."""
    okx.parse(CONN, edited("books_update.json", prevSeqId=100, seqId=105), T)  # before the snapshot
    okx.parse(CONN, edited("books_update.json", prevSeqId=105, seqId=110), T)  # straddles 107
    okx.parse(CONN, edited("books_update.json", prevSeqId=110, seqId=111), T)
    body = _rest_book(107, [["8476.5", "1", "0", "1"]], [["8477.5", "2", "0", "1"]])
    out = okx.answer(REST_BOOK, 200, body, T + 1)
    assert [(e.snapshot, e.sequence) for e in out if isinstance(e, Book)] == [(True, 107), (False, 110), (False, 111)]
    book = okx.book("BTC/USDT")
    assert book is not None and book.synced and book.sequence == 111


def test_a_rest_book_without_seq_id_is_not_joined(okx: OkxAdapter) -> None:
    """The REST book had no seqId before OKX's change: it cannot be joined, so the channel is
    subscribed again (for the stream's own snapshot) and the book stays unsynced."""
    okx.parse(CONN, text("books_update.json"), T)
    out = okx.answer(REST_BOOK, 200, _rest_book(None, [["8476.5", "1", "0", "1"]], []), T + 1)
    assert out == RESUBSCRIBE
    assert okx.stats["rest_book_without_seq"] == 1
    book = okx.book("BTC/USDT")
    assert book is None or not book.synced


def test_books5_and_bbo_tbt_are_whole_books(okx: OkxAdapter) -> None:
    """``books5`` replaces the book each push; ``bbo-tbt`` gives a best bid/offer ticker."""
    (event,) = okx.parse(CONN, text("books5.json"), T)
    assert isinstance(event, Book)
    assert (event.symbol, event.snapshot, event.sequence) == ("BCH/USDT:USDT", True, 363996337)
    assert (event.bids[0], event.asks[-1]) == ((111.05, 57745.0), (111.1, 67272.0))  # contracts
    assert okx.parse(CONN, text("bbo_tbt.json"), T + 1) == [
        Ticker("okx", "BCH/USDT:USDT", 1670324386.802, T + 1, 111.05, 57745.0, 111.06, 55154.0)
    ]
    book = okx.book("BCH/USDT:USDT")
    assert book is not None and len(book) == 10  # books5 keeps the book; bbo-tbt ranks below it


def test_a_second_book_channel_of_a_symbol_is_counted(okx: OkxAdapter) -> None:
    """Once ``books`` feeds a symbol's book, its ``books5`` pushes are counted, not merged."""
    okx.parse(CONN, text("books_snapshot.json"), T)
    books5 = text("books5.json").replace("BCH-USDT-SWAP", "BTC-USDT")
    assert okx.parse(CONN, books5, T + 1) == []
    assert okx.stats["ignored.second_book"] == 1


# -- checksum -----------------------------------------------------------------------------------


def test_checksum_documented_examples() -> None:
    """The order book channel's two worked examples (the shorter side is skipped, the other continues)."""
    assert checksum(["3366.1:7", "3366:6"], ["3366.8:9", "3368:8"]) == -1881014294
    assert checksum(["3366.1:7"], ["3366.8:9", "3368:8", "3372:8"]) == 831078360


def _crc(bids: list[list[str]], asks: list[list[str]]) -> int:
    """The documented algorithm, written out here independently of the adapter's."""
    parts: list[str] = []
    for i in range(25):
        if i < len(bids):
            parts += bids[i][:2]
        if i < len(asks):
            parts += asks[i][:2]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - 2**32 if crc >= 2**31 else crc


# A book whose strings do not survive a float round trip: "8477" (8477.0), "0.00001186" (1.186e-05).
CS_BIDS = [["8476.97", "0.00001186", "0", "1"], ["8475.5", "101", "0", "1"]] + [
    [f"{8400 - i}", f"{i}.5", "0", "1"] for i in range(1, 30)
]
CS_ASKS = [["8477", "7", "0", "2"], ["8477.34", "0.5", "0", "1"]] + [
    [f"{8500 + i}", f"{i}", "0", "1"] for i in range(1, 30)
]


def _checksummed(action: str, bids: list[list[str]], asks: list[list[str]], cs: int, prev: int, seq: int) -> str:
    data = {"asks": asks, "bids": bids, "ts": "1597026383085", "checksum": cs, "prevSeqId": prev, "seqId": seq}
    return orjson.dumps({"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": action, "data": [data]}).decode()


def test_checksum_on_a_built_book_uses_the_strings_as_received(okx: OkxAdapter) -> None:
    """A non-zero checksum (older captures) is verified on the top 25 levels of the maintained book."""
    snapshot = _checksummed("snapshot", CS_BIDS, CS_ASKS, _crc(CS_BIDS, CS_ASKS), -1, 10)
    assert [e.sequence for e in okx.parse(CONN, snapshot, T)] == [10]
    # The update removes the best ask and a bid; the checksum is over the book after it.
    after = _crc([CS_BIDS[0], *CS_BIDS[2:]], CS_ASKS[1:])
    update = _checksummed("update", [["8475.5", "0", "0", "0"]], [["8477", "0", "0", "0"]], after, 10, 11)
    assert [e.sequence for e in okx.parse(CONN, update, T + 1)] == [11]
    assert okx.books.stats["checksum_ok"] == 2
    book = okx.book("BTC/USDT")
    assert book is not None and book.best_ask() == (8477.34, 0.5)


def test_corrupted_level_is_caught_by_the_checksum(okx: OkxAdapter) -> None:
    """A level that differs from what the checksum covers resyncs the book (reason ``checksum``)."""
    okx.parse(CONN, _checksummed("snapshot", CS_BIDS, CS_ASKS, _crc(CS_BIDS, CS_ASKS), -1, 10), T)
    wrong = _crc(CS_BIDS, CS_ASKS)  # the book before the update: the update's level is not in it
    out = okx.parse(CONN, _checksummed("update", [["8476.97", "2", "0", "1"]], [], wrong, 10, 11), T + 1)
    computed = _crc([["8476.97", "2"], *CS_BIDS[1:]], CS_ASKS)
    assert out[0] == Resync("okx", "BTC/USDT", None, T + 1, "checksum", f"expected {wrong}, computed {computed}")
    assert out[1:] == [REST_BOOK, *RESUBSCRIBE]
    assert okx.books.stats["resync.checksum"] == 1


def test_checksum_zero_is_not_checked(okx: OkxAdapter) -> None:
    """Since 2026-06-23 every checksum is 0: books sync on seqId alone and no strings are kept."""
    okx.parse(CONN, _checksummed("snapshot", CS_BIDS, CS_ASKS, 0, -1, 10), T)
    out = okx.parse(CONN, _checksummed("update", [["8476.97", "2", "0", "1"]], [], 0, 10, 11), T + 1)
    assert [type(e) for e in out] == [Book]
    assert not okx._texts.tracked("BTC/USDT")


def test_capture_without_seq_ids_chains_in_arrival_order(okx: OkxAdapter) -> None:
    """Before OKX added ``seqId`` (2023) messages carried only the checksum: it is what catches a loss;
    the events carry no sequence (the adapter's own count is not an exchange id)."""
    snapshot = json.loads(_checksummed("snapshot", CS_BIDS, CS_ASKS, _crc(CS_BIDS, CS_ASKS), -1, 10))
    del snapshot["data"][0]["prevSeqId"], snapshot["data"][0]["seqId"]
    (loaded,) = okx.parse(CONN, json.dumps(snapshot), T)
    assert isinstance(loaded, Book) and loaded.sequence is None
    asks = CS_ASKS[1:]
    update = json.loads(_checksummed("update", [], [["8477", "0", "0", "0"]], _crc(CS_BIDS, asks), 0, 0))
    del update["data"][0]["prevSeqId"], update["data"][0]["seqId"]
    (delta,) = okx.parse(CONN, json.dumps(update), T + 1)
    assert isinstance(delta, Book) and delta.sequence is None  # no exchange id to report
    # The same update again: the level is gone already, the book no longer matches the sender's.
    lost = json.loads(json.dumps(update))
    lost["data"][0]["asks"] = [["8477.34", "0", "0", "0"]]
    out = okx.parse(CONN, json.dumps(lost), T + 2)
    assert [e.reason for e in out if isinstance(e, Resync)] == ["checksum"]


# -- candles ------------------------------------------------------------------------------------


def test_candle_rows(okx: OkxAdapter) -> None:
    """``candle1D`` is a 1d bar (its start shows the UTC+8 alignment); spot volume is ``vol``."""
    assert okx.parse("okx.business.0", text("candle1D.json"), T) == [
        Candle(
            "okx",
            "BTC/USDT",
            None,
            T,
            "1d",
            1629993600.0,
            1630080000.0,
            42500.0,
            48199.9,
            41006.1,
            41006.1,
            3587.41204591,
            None,
            False,
        )
    ]


def test_swap_candle_volume_is_base_units_and_confirm_closes_it(okx: OkxAdapter) -> None:
    """Contracts' ``volCcy`` is the base volume; ``confirm`` "1" is a closed bar."""
    (candle,) = okx.parse("okx.business.0", text("candle1m_swap_closed.json"), T)
    assert (candle.symbol, candle.interval, candle.start, candle.end) == (
        "BTC/USDT:USDT",
        "1m",
        1630048860.0,
        1630048920.0,
    )
    assert (candle.open, candle.close, candle.volume, candle.closed) == (42219.9, 42225.5, 15.2, True)


def test_candle_of_an_older_capture_has_seven_fields(okx: OkxAdapter) -> None:
    """Before ``volCcyQuote``/``confirm`` existed a row ended at ``volCcy``: the bar is not known closed."""
    (candle,) = okx.parse(CONN, text("candle1m_legacy.json"), T)
    assert (candle.symbol, candle.volume, candle.closed) == ("BTC/USD:BTC", 529.5858061, False)


# -- derivatives --------------------------------------------------------------------------------


def test_mark_index_funding_and_open_interest_merge_into_one_ticker(okx: OkxAdapter) -> None:
    """Each channel adds its fields; an event is emitted when something changed."""
    assert okx.parse(CONN, text("mark_price.json"), T) == [
        DerivativeTicker("okx", "BTC/USDT:USDT", 1630049139.746, T, mark_price=42310.6)
    ]
    assert okx.parse(CONN, text("index_tickers.json"), T + 1) == [
        DerivativeTicker("okx", "BTC/USDT:USDT", 1630049139.747, T + 1, mark_price=42310.6, index_price=42305.1)
    ]
    (oi,) = okx.parse(CONN, text("open_interest.json"), T + 2)
    assert oi == DerivativeTicker(
        "okx",
        "BTC/USDT:USDT",
        1630049139.748,
        T + 2,
        mark_price=42310.6,
        index_price=42305.1,
        open_interest=22161.1301,  # oiCcy: base units
        open_interest_value=22161.1301 * 42310.6,  # quote units at the mark price
    )
    legacy = okx.parse(CONN, text("funding_rate_legacy.json"), T + 3)
    assert [(e.funding_rate, e.next_funding_time, e.predicted_funding_rate) for e in legacy] == [
        (0.0001, 1630051200.0, 0.00012)
    ]
    assert okx.parse(CONN, text("mark_price.json"), T + 4) == []  # nothing changed


def test_funding_rate_of_an_inverse_swap(okx: OkxAdapter) -> None:
    """``fundingTime`` is the settlement of the current rate; ``nextFundingRate`` "" is no prediction."""
    assert okx.parse(CONN, text("funding_rate.json"), T) == [
        DerivativeTicker(
            "okx",
            "BTC/USD:BTC",
            1700724675.402,
            T,
            funding_rate=0.0001875391284828,
            next_funding_time=1700726400.0,
        )
    ]


def test_inverse_open_interest_value_is_its_usd_face(okx: OkxAdapter) -> None:
    """5000 contracts of 100 USD are worth 500,000 USD; open interest itself is ``oiCcy`` BTC."""
    (event,) = okx.parse(CONN, text("open_interest_inverse.json"), T)
    assert (event.open_interest, event.open_interest_value) == (11.84, 500000.0)


def test_liquidation_orders_in_base_units(okx: OkxAdapter) -> None:
    """``side`` is the liquidation order's (buy: a short was closed); 13 contracts of 1000 IOST."""
    assert okx.parse(CONN, text("liquidation_orders.json"), T) == [
        Liquidation("okx", "IOST/USDT:USDT", 1692266434.01, T, "buy", 0.007831, 13000.0)
    ]


def test_liquidations_of_unsubscribed_contracts_are_counted(okx: OkxAdapter) -> None:
    """The channel covers a whole instrument type; a live plan reports its own symbols only."""
    okx.plan([Subscription("BTC/USDT:USDT", "liquidations")])
    assert okx.parse(CONN, text("liquidation_orders.json"), T) == []
    assert okx.stats["ignored.liquidation_other"] == 1


def test_derivative_channel_naming_a_spot_instrument_is_an_error(okx: OkxAdapter) -> None:
    """``mark-price`` of ``BTC-USDT`` (a spot id) is not a contract's."""
    out = okx.parse(CONN, text("mark_price.json").replace("BTC-USDT-SWAP", "BTC-USDT"), T)
    assert [(e.reason, e.detail) for e in out if isinstance(e, Error)] == [
        ("unknown_symbol", "BTC-USDT is no contract")
    ]


# -- replies, keepalive, unused channels, bad input --------------------------------------------


def test_replies_pongs_and_unused_channels_are_counted(okx: OkxAdapter) -> None:
    """Acks, ``pong`` (as text or kept as bytes), connection counts and unused OKX channels produce nothing."""
    for frame in (
        text("ack_subscribe.json"),
        text("ack_unsubscribe.json"),
        text("channel_conn_count.json"),
        "pong",
        b"pong",
        text("price_limit.json"),
        text("mark_price_candle.json"),
    ):
        assert okx.parse(CONN, frame, T) == [], frame
    assert dict(okx.stats) == {
        "ignored.ack": 2,
        "ignored.channel-conn-count": 1,
        "ignored.pong": 2,
        "ignored.price-limit": 1,
        "ignored.mark-price-candle": 1,
    }
    assert CONN not in okx.data_at  # none of them is data for idle detection


def test_refused_request_is_an_error_event(okx: OkxAdapter) -> None:
    """``event: error`` (60012 invalid request, 60018 wrong URL ...) is reported with OKX's code."""
    (error,) = okx.parse(CONN, text("error_invalid_request.json"), T)
    assert (error.reason, error.conn, error.detail[:23]) == ("rejected", CONN, "60012: Invalid request:")


def test_service_upgrade_notice_reconnects(okx: OkxAdapter) -> None:
    """64008 "The connection will soon be closed for a service upgrade": reconnect now."""
    assert okx.parse(CONN, text("notice_service_upgrade.json"), T) == [
        Reconnect(CONN, "OKX notice 64008: service upgrade")
    ]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json", "malformed"),
        (text("trades.json") + "}", "malformed"),
        (text("trades.json")[:60], "malformed"),
        ('{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"px":"1"}]}', "malformed"),
        (text("trades.json").replace('"buy"', '"up"'), "malformed"),
        (text("books_update.json").replace('"update"', '"partial"'), "malformed"),
        (text("tickers.json").replace('"8888.88"', '"n/a"', 1), "malformed"),
        ('{"arg":{"channel":"trades","instId":"NOPE-USDT"},"data":[]}', "unknown_symbol"),
        (
            '{"arg":{"channel":"index-tickers","instId":"NOPE-USDT"},"data":[{"instId":"NOPE-USDT","idxPx":"1","ts":"1"}]}',
            "unknown_symbol",
        ),
        ('{"arg":{"channel":"notAChannel","instId":"BTC-USDT"},"data":[]}', "unknown_channel"),
        ('{"event":"surprise"}', "unknown_message"),
        ("{}", "unknown_message"),
    ],
)
def test_bad_frames_become_error_events(okx: OkxAdapter, frame: str, reason: str) -> None:
    """Nothing raises: each bad frame is one ``error`` event and one counter."""
    out = okx.receive(CONN, frame, T)
    assert [e.reason for e in out if isinstance(e, Error)] == [reason]
    assert okx.stats["error." + reason] == 1


def test_impossible_ticker_values_are_rejected_while_decoding(okx: OkxAdapter) -> None:
    """A NaN price or a negative size in a ticker never becomes an event: the ticker's types refuse it."""
    for bad in (text("tickers.json").replace('"9999.99"', '"NaN"', 1), text("tickers.json").replace('"5"', '"-5"')):
        assert [e.reason for e in okx.receive(CONN, bad, T)] == ["malformed"]


def test_text_and_bytes_frames_parse_alike(okx: OkxAdapter) -> None:
    """A frame given as ``bytes`` yields what its text yields."""
    assert okx.parse(CONN, raw("trades_swap.json"), T) == okx.parse(CONN, text("trades_swap.json"), T)


# -- plan and connections -----------------------------------------------------------------------


def test_plan_splits_public_and_business_urls(okx: OkxAdapter) -> None:
    """Candles (and trades-all) go to /business; the rest to /public, with OKX's text ping."""
    subs = [
        Subscription("BTC/USDT", "trades"),
        Subscription("BTC/USDT", "ticker"),
        Subscription("BTC/USDT", "book"),
        Subscription("BTC/USDT", "candles", "1h"),
        Subscription("BTC/USDT:USDT", "book"),
        Subscription("BTC/USDT:USDT", "candles", "1d"),
        Subscription("BTC/USDT:USDT", "funding"),
        Subscription("BTC/USDT:USDT-260327", "funding"),
        Subscription("BTC/USDT:USDT", "liquidations"),
        Subscription("BTC/USD:BTC-250926", "liquidations"),
    ]
    public, business = okx.plan(subs)
    assert (public.conn, public.url) == ("okx.public.0", "wss://ws.okx.com:8443/ws/v5/public")
    assert [json.loads(f) for f in public.subscribe] == [
        {
            "op": "subscribe",
            "args": [
                {"channel": "trades", "instId": "BTC-USDT"},
                {"channel": "tickers", "instId": "BTC-USDT"},
                {"channel": "books", "instId": "BTC-USDT"},
                {"channel": "books", "instId": "BTC-USDT-SWAP"},
                {"channel": "mark-price", "instId": "BTC-USDT-SWAP"},
                {"channel": "index-tickers", "instId": "BTC-USDT"},
                {"channel": "funding-rate", "instId": "BTC-USDT-SWAP"},
                {"channel": "open-interest", "instId": "BTC-USDT-SWAP"},
                {"channel": "liquidation-orders", "instType": "SWAP"},
                {"channel": "mark-price", "instId": "BTC-USDT-260327"},
                {"channel": "open-interest", "instId": "BTC-USDT-260327"},
                {"channel": "liquidation-orders", "instType": "FUTURES"},
            ],
        }
    ]
    assert public.symbols == ["BTC/USDT", "BTC/USDT:USDT"]
    assert (business.conn, business.url, business.symbols) == (
        "okx.business.0",
        "wss://ws.okx.com:8443/ws/v5/business",
        [],
    )
    assert [json.loads(f)["args"] for f in business.subscribe] == [
        [{"channel": "candle1H", "instId": "BTC-USDT"}, {"channel": "candle1Dutc", "instId": "BTC-USDT-SWAP"}]
    ]
    for plan in (public, business):
        assert (plan.app_ping, plan.app_ping_interval, plan.ping_interval, plan.idle_timeout) == (
            "ping",
            20.0,
            None,
            120.0,
        )
        assert plan.control_interval == 0.34  # "3 requests per second (based on IP)"


def test_plan_keeps_fewer_than_30_books_per_connection(okx: OkxAdapter) -> None:
    """ "Subscribe through multiple websocket connections, with each of less than 30 channels"."""

    class Small(OkxAdapter):
        books_per_connection = 2

    small = Small()
    for inst_type, name in (("SPOT", "spot"), ("SWAP", "swap")):
        small.answer(listing(inst_type), 200, raw(f"instruments_{name}.json"), T)
    symbols = ["BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC", "ETH/USDC:USDC", "IOST/USDT:USDT"]
    plans = small.plan([Subscription(s, "book") for s in symbols])
    assert [(p.conn, p.symbols) for p in plans] == [
        ("okx.public.0", ["BTC/USDT", "BTC/USDT:USDT"]),
        ("okx.public.1", ["BTC/USD:BTC", "ETH/USDC:USDC"]),
        ("okx.public.2", ["IOST/USDT:USDT"]),
    ]


def test_large_requests_are_split_under_64_kb(okx: OkxAdapter) -> None:
    """ "The total length of multiple channels cannot exceed 64 KB" per request."""

    class Wide(OkxAdapter):
        args_per_connection = 5000

    wide = Wide()
    wide.answer(listing("SPOT"), 200, raw("instruments_spot.json"), T)
    subs = [Subscription("BTC/USDT", "candles", interval) for interval in ("1m", "5m")] * 1000
    plans = wide.plan(subs)
    assert len(plans) == 1  # two distinct args only
    assert len(plans[0].subscribe) == 1


def test_plan_rejects_what_okx_does_not_offer(okx: OkxAdapter) -> None:
    """Unknown symbols, candle intervals, funding of spot, and tbt books without a login fail at plan time."""
    with pytest.raises(UnknownSymbol):
        okx.plan([Subscription("DOGE/USDT", "trades")])
    with pytest.raises(UsageError, match="no candle interval '2m'"):
        okx.plan([Subscription("BTC/USDT", "candles", "2m")])
    with pytest.raises(UsageError, match="for swaps and futures"):
        okx.plan([Subscription("BTC/USDT", "funding")])

    class Tbt(OkxAdapter):
        book_channel = "books-l2-tbt"

    tbt = Tbt()
    tbt.answer(listing("SPOT"), 200, raw("instruments_spot.json"), T)
    with pytest.raises(UsageError, match="need a login"):
        tbt.plan([Subscription("BTC/USDT", "book")])


def test_disconnect_resets_its_books(okx: OkxAdapter) -> None:
    """The books a connection carried resync (reason ``reconnect``) and wait for its next snapshots."""
    (plan,) = okx.plan([Subscription("BTC/USDT", "book")])
    assert okx.connected(plan, T) == [Connected("okx", None, None, T, plan.conn, plan.url)]
    okx.parse(plan.conn, text("books_snapshot.json"), T)
    assert okx.disconnected(plan.conn, "closed 1006", T + 1) == [
        Disconnected("okx", None, None, T + 1, plan.conn, "closed 1006"),
        Resync("okx", "BTC/USDT", None, T + 1, "reconnect", ""),
    ]
    assert okx.parse(plan.conn, text("books_snapshot.json"), T + 2)[0].snapshot


def test_resubscriptions_past_the_hourly_budget_reconnect(okx: OkxAdapter) -> None:
    """480 (un)subscribe requests per connection and hour: past the budget a book is rebuilt by reconnecting."""

    class Tight(OkxAdapter):
        subscribe_budget = 4

    tight = Tight()
    tight.answer(listing("SPOT"), 200, raw("instruments_spot.json"), T)
    (plan,) = tight.plan([Subscription("BTC/USDT", "book")])
    tight.connected(plan, T)  # one subscribe request so far
    tight.parse(plan.conn, text("books_snapshot.json"), T)
    first = tight.parse(plan.conn, edited("books_update.json", prevSeqId=1), T + 1)
    assert [type(a) for a in first] == [Resync, RestRequest, SendFrame, SendFrame]  # 3 requests used
    tight.parse(plan.conn, text("books_snapshot.json"), T + 2)
    second = tight.parse(plan.conn, edited("books_update.json", prevSeqId=1), T + 3)
    assert second[2:] == [Reconnect(plan.conn, "OKX subscribe requests per hour used up")]
    # An hour later the requests have aged out.
    tight.parse(plan.conn, text("books_snapshot.json"), T + 3700)
    third = tight.parse(plan.conn, edited("books_update.json", prevSeqId=1), T + 3701)
    assert [type(a) for a in third] == [Resync, RestRequest, SendFrame, SendFrame]
