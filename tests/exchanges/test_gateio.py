"""Gate spot and perpetual adapters: parsers on Gate's documented shapes, units, book rule, plans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from collector.actions import RestRequest
from collector.errors import UnknownSymbol, UsageError
from collector.exchanges import EXCHANGES, Subscription
from collector.exchanges.gateio import GateioAdapter, GateioFuturesAdapter
from collector.models import Book, Candle, DerivativeTicker, Error, Liquidation, Resync, Ticker, Trade

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gateio"
T = 1700000000.5  # receipt time handed to the adapter
REST = "https://api.gateio.ws/api/v4"
PAIRS = RestRequest(f"{REST}/spot/currency_pairs", "instruments")
USDT_CONTRACTS = RestRequest(f"{REST}/futures/usdt/contracts", "instruments")
BTC_CONTRACTS = RestRequest(f"{REST}/futures/btc/contracts", "instruments")
SPOT_SNAPSHOT = RestRequest(
    f"{REST}/spot/order_book?currency_pair=BTC_USDT&limit=100&with_id=true", "snapshot", 1, "BTC/USDT"
)
# The websocket's X-Gate-Size-Decimal goes with the REST book too: both carry fractional contracts.
INVERSE_SNAPSHOT = RestRequest(
    f"{REST}/futures/btc/order_book?contract=BTC_USD&limit=100&with_id=true",
    "snapshot",
    1,
    "BTC/USD:BTC",
    headers=(("X-Gate-Size-Decimal", "1"),),
)


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def edited(name: str, **result: Any) -> bytes:
    """A fixture with some ``result`` fields replaced (on list results: of the first element)."""
    msg = json.loads(raw(name))
    target = msg["result"][0] if isinstance(msg["result"], list) else msg["result"]
    target.update(result)
    return json.dumps(msg, separators=(",", ":")).encode()  # json: ids past 64 bits too


@pytest.fixture
def spot() -> GateioAdapter:
    adapter = GateioAdapter()
    assert adapter.on_http(PAIRS, 200, raw("currency_pairs.json"), T) == []
    return adapter


@pytest.fixture
def futures() -> GateioFuturesAdapter:
    adapter = GateioFuturesAdapter()
    assert adapter.on_http(USDT_CONTRACTS, 200, raw("contracts_usdt.json"), T) == []
    assert adapter.on_http(BTC_CONTRACTS, 200, raw("contracts_btc.json"), T) == []
    return adapter


# -- instruments --------------------------------------------------------------------------------


def test_spot_pairs_map_both_ways(spot: GateioAdapter) -> None:
    """``BASE_QUOTE`` pairs become ``BASE/QUOTE`` from the listing's base and quote; decimals give tick and step."""
    got = {i.symbol: (i.native, i.kind, i.tick_size, i.step_size, i.active) for i in spot.instruments}
    assert got == {
        "ETH/USDT": ("ETH_USDT", "spot", 1e-06, 0.001, True),
        "BTC/USDT": ("BTC_USDT", "spot", 0.1, 1e-06, True),
        "GT/USDT": ("GT_USDT", "spot", 0.0001, 0.01, True),
        "OLD/USDT": ("OLD_USDT", "spot", 1e-08, 1.0, False),
    }
    assert spot.instruments.symbol_of("BTC_USDT") == "BTC/USDT"
    assert spot.instruments.by_symbol("GT/USDT").native == "GT_USDT"


def test_contracts_of_both_settlements(futures: GateioFuturesAdapter) -> None:
    """USDT contracts are linear (``quanto_multiplier`` base units each), ``BTC_USD`` is inverse (1 USD each);
    the quanto ``ETH_USD`` settled in USDT has no base-unit conversion and is left out."""
    got = {
        i.symbol: (i.native, i.kind, i.base, i.quote, i.settle, i.contract_size, i.tick_size, i.active)
        for i in futures.instruments
    }
    assert got == {
        "BTC/USDT:USDT": ("BTC_USDT", "swap", "BTC", "USDT", "USDT", 0.0001, 0.1, True),
        "BTC/USD:BTC": ("BTC_USD", "swap", "BTC", "USD", "BTC", 1.0, 0.1, True),
    }
    assert futures.instruments.symbol_of("BTC_USD") == "BTC/USD:BTC"
    assert futures.contracts["BTC_USDT"].inverse is False
    assert futures.contracts["BTC_USD"].inverse is True


def test_listing_that_is_not_one_is_an_error_event() -> None:
    """An unreadable listing, or a refused one, is reported, not raised."""
    adapter = GateioAdapter()
    out = adapter.on_http(PAIRS, 200, b'{"label":"SERVER_ERROR"}', T)
    assert [(e.reason, e.conn) for e in out if isinstance(e, Error)] == [("malformed", "rest")]
    out = adapter.on_http(PAIRS, 503, b"", T)
    assert [e.reason for e in out if isinstance(e, Error)] == ["http_status"]


# -- trades -------------------------------------------------------------------------------------


def test_spot_trade(spot: GateioAdapter) -> None:
    """``side`` is the taker's; ``create_time_ms`` is a string with a fraction of a millisecond."""
    assert spot.parse("c", raw("spot_trade.json"), T) == [
        Trade("gateio", "GT/USDT", 1606292218213.4578 / 1000, T, 0.4705, 16.47, "sell", "309143071")
    ]


def test_spot_trades_as_a_list(spot: GateioAdapter) -> None:
    """A ``result`` list holds one trade per element."""
    msg = json.loads(raw("spot_trade.json"))
    second = msg["result"] | {"id": 309143072, "side": "buy", "amount": "1.5"}
    msg["result"] = [msg["result"], second]
    trades = spot.parse("c", orjson.dumps(msg), T)
    assert [(e.id, e.side, e.amount) for e in trades] == [("309143071", "sell", 16.47), ("309143072", "buy", 1.5)]


def test_spot_trade_without_id_takes_id_market(spot: GateioAdapter) -> None:
    """ "The id field will gradually be deprecated" (2025-01-08): a row with only ``id_market`` is
    still a trade, named by it; a row with neither is reported, not emitted."""
    msg = json.loads(raw("spot_trade.json"))
    del msg["result"]["id"]
    msg["result"]["id_market"] = 2390902
    (trade,) = spot.receive("c", orjson.dumps(msg).decode(), T)
    assert isinstance(trade, Trade) and (trade.id, trade.price, trade.amount) == ("2390902", 0.4705, 16.47)
    del msg["result"]["id_market"]
    (error,) = spot.receive("c", orjson.dumps(msg).decode(), T)
    assert isinstance(error, Error) and error.reason == "malformed"


def test_inverse_trade_size_sign_and_base_amount(futures: GateioFuturesAdapter) -> None:
    """``size -108``: the taker sold 108 one-dollar contracts, 108 / 96.4 BTC."""
    assert futures.parse("c", raw("futures_trades.json"), T) == [
        Trade("gateio_futures", "BTC/USD:BTC", 1545136464.123, T, 96.4, 108 / 96.4, "sell", "27753479")
    ]


def test_linear_trade_amount_is_contracts_times_multiplier(futures: GateioFuturesAdapter) -> None:
    """250 BTC_USDT contracts of 0.0001 BTC bought; decimal-string sizes (``X-Gate-Size-Decimal``) too."""
    frame = edited("futures_trades.json", contract="BTC_USDT", size=250, price="38026")
    assert futures.parse("c", frame, T) == [
        Trade("gateio_futures", "BTC/USDT:USDT", 1545136464.123, T, 38026.0, 250 * 0.0001, "buy", "27753479")
    ]
    frame = edited("futures_trades.json", contract="BTC_USDT", size="-12.5", price="38026")
    assert [(e.side, e.amount) for e in futures.parse("c", frame, T)] == [("sell", 12.5 * 0.0001)]


# -- tickers ------------------------------------------------------------------------------------


def test_spot_book_ticker(spot: GateioAdapter) -> None:
    """Best bid/ask with amounts, stamped with the book's update time ``t``."""
    assert spot.parse("c", raw("spot_book_ticker.json"), T) == [
        Ticker("gateio", "BTC/USDT", 1606293275.123, T, 19177.79, 0.0003341504, 19179.38, 0.09)
    ]


def test_spot_tickers_channel(spot: GateioAdapter) -> None:
    """``spot.tickers`` (what cryptofeed subscribes) gives bid/ask without sizes and the 24 h statistics."""
    assert spot.parse("c", raw("spot_tickers.json"), T) == [
        Ticker(
            "gateio",
            "BTC/USDT",
            1669107766.406,
            T,
            15743.5,
            None,
            15744.4,
            None,
            last=15743.4,
            high=16280.9,
            low=15468.5,
            volume=9110.473081735,
            quote_volume=145082083.2535,
        )
    ]


def test_futures_book_ticker_sizes_are_contracts(futures: GateioFuturesAdapter) -> None:
    """Sizes stay in contracts; an empty side is ``""`` with size 0 and becomes ``None``."""
    assert futures.parse("c", raw("futures_book_ticker.json"), T) == [
        Ticker("gateio_futures", "BTC/USD:BTC", 1615366379.123, T, 54696.6, 37000.0, 54696.7, 47061.0)
    ]
    empty = edited("futures_book_ticker.json", a="", A=0)
    assert futures.parse("c", empty, T) == [
        Ticker("gateio_futures", "BTC/USD:BTC", 1615366379.123, T, 54696.6, 37000.0, None, None)
    ]


# -- order books --------------------------------------------------------------------------------


def test_spot_book_joins_the_rest_snapshot(spot: GateioAdapter) -> None:
    """The first diff asks for ``with_id=true``; the snapshot joins the diff with ``U <= id + 1 <= u``."""
    assert spot.parse("c", raw("spot_order_book_update.json"), T) == [SPOT_SNAPSHOT]
    out = spot.answer(SPOT_SNAPSHOT, 200, raw("spot_order_book_snapshot.json"), T + 1)
    bids = [(56444.4, 0.2), (56430.0, 2.0), (56080.11, 0.7)]
    asks = [(56447.57, 0.5), (56448.44, 1.25), (56467.28, 0.3)]
    assert out == [
        # The time is the REST book's "update" (when it last changed), not its "current".
        Book("gateio", "BTC/USDT", 1618961347.45, T + 1, True, bids, asks, 2679731735),
        Book(
            "gateio",
            "BTC/USDT",
            1618961347.345,
            T,
            False,
            [(56444.4, 0.01), (56080.11, 0.0)],
            [(56447.57, 0.1252), (56448.44, 0.0), (56467.28, 0.0), (56470.74, 0.0)],
            2679731743,
        ),
    ]
    book = spot.book("BTC/USDT")
    assert book is not None
    assert (book.bids(), book.asks()) == ({56444.4: 0.01, 56430.0: 2.0}, {56447.57: 0.1252})


def test_gap_resyncs_that_book_only(spot: GateioAdapter) -> None:
    """ "If ``U > baseID + 1`` ... some updates are lost": that symbol alone is rebuilt from a new snapshot."""
    spot.parse("c", raw("spot_order_book_update.json"), T)
    spot.answer(SPOT_SNAPSHOT, 200, raw("spot_order_book_snapshot.json"), T)
    eth = edited("spot_order_book_update.json", s="ETH_USDT", U=10, u=10, b=[["3000", "1"]], a=[["3001", "1"]])
    spot.parse("c", eth, T)
    spot.answer(
        RestRequest(f"{REST}/spot/order_book?currency_pair=ETH_USDT&limit=100&with_id=true", "snapshot", 1, "ETH/USDT"),
        200,
        b'{"id":9,"current":1,"update":1,"asks":[["3001","1"]],"bids":[["3000","1"]]}',
        T,
    )
    out = spot.parse("c", edited("spot_order_book_update.json", U=2679731745, u=2679731750), T + 2)
    assert out == [
        Resync("gateio", "BTC/USDT", None, T + 2, "gap", "expected U<=2679731744, got U=2679731745"),
        SPOT_SNAPSHOT,
    ]
    btc, eth_book = spot.book("BTC/USDT"), spot.book("ETH/USDT")
    assert btc is not None and eth_book is not None
    assert (btc.synced, eth_book.synced, eth_book.sequence) == (False, True, 10)
    assert spot.books.stats["resync.gap"] == 1


def test_old_diffs_are_dropped_and_a_too_old_snapshot_is_asked_again(spot: GateioAdapter) -> None:
    """Diffs with ``u < id + 1`` are dropped; a snapshot older than the first kept ``U`` is fetched again."""
    spot.parse("c", raw("spot_order_book_update.json"), T)
    old = b'{"id":2679731700,"current":1,"update":1,"asks":[["56447.57","0.5"]],"bids":[["56444.4","0.2"]]}'
    assert spot.answer(SPOT_SNAPSHOT, 200, old, T) == [SPOT_SNAPSHOT]
    assert spot.books.stats["snapshot_too_old"] == 1
    newer = b'{"id":2679731743,"current":1,"update":1,"asks":[["56447.57","0.5"]],"bids":[["56444.4","0.2"]]}'
    assert [type(e).__name__ for e in spot.answer(SPOT_SNAPSHOT, 200, newer, T)] == ["Book"]  # the diff is older


def test_full_book_replaces_the_live_book(spot: GateioAdapter) -> None:
    """``full: true`` is "a full depth snapshot ... replace the local depth with this data"."""
    spot.parse("c", raw("spot_order_book_update.json"), T)
    spot.answer(SPOT_SNAPSHOT, 200, raw("spot_order_book_snapshot.json"), T)
    full = edited("spot_order_book_full.json", U=2679731744, u=2679731750)
    out = spot.parse("c", full, T + 1)
    assert out == [
        Book(
            "gateio",
            "BTC/USDT",
            1606294781.123,
            T + 1,
            True,
            [(19137.74, 0.0001), (19088.37, 0.0)],
            [(19137.75, 0.6135)],
            2679731750,
        )
    ]
    book = spot.book("BTC/USDT")
    assert book is not None
    assert (book.bids(), book.asks(), book.sequence) == ({19137.74: 0.0001}, {19137.75: 0.6135}, 2679731750)
    assert spot.books.stats["resync.gap"] == 0


def test_full_book_after_lost_diffs_reports_the_gap(spot: GateioAdapter) -> None:
    """A full book that does not continue the live one repairs it, and the loss is still reported."""
    spot.parse("c", raw("spot_order_book_update.json"), T)
    spot.answer(SPOT_SNAPSHOT, 200, raw("spot_order_book_snapshot.json"), T)
    out = spot.parse("c", edited("spot_order_book_full.json", U=2679731800, u=2679731801), T + 1)
    assert [(type(e).__name__, getattr(e, "reason", None)) for e in out] == [("Resync", "gap"), ("Book", None)]
    assert out[0] == Resync(
        "gateio", "BTC/USDT", None, T + 1, "gap", "full book [2679731800, 2679731801] after id 2679731743"
    )
    book = spot.book("BTC/USDT")
    assert book is not None and (book.synced, book.sequence) == (True, 2679731801)
    # An older full book than the live one changes nothing.
    assert spot.parse("c", edited("spot_order_book_full.json", U=2679731790, u=2679731795), T + 2) == []


def test_full_book_is_a_snapshot_for_a_waiting_book(spot: GateioAdapter) -> None:
    """Before any REST snapshot, a full book syncs the book; buffered diffs it covers are dropped."""
    spot.parse("c", edited("spot_order_book_update.json", U=48776300, u=48776302), T)
    out = spot.parse("c", raw("spot_order_book_full.json"), T + 1)
    assert [(e.snapshot, e.sequence) for e in out if isinstance(e, Book)] == [(True, 48776306)]
    # The REST answer asked for earlier arrives after the book is live: it is not used.
    assert spot.answer(SPOT_SNAPSHOT, 200, raw("spot_order_book_snapshot.json"), T + 2) == []
    assert spot.books.stats["snapshot_unused"] == 1


def test_repeated_diff_is_a_duplicate(spot: GateioAdapter) -> None:
    """A diff the book already holds (``u <= last``) is skipped and counted."""
    spot.parse("c", raw("spot_order_book_update.json"), T)
    spot.answer(SPOT_SNAPSHOT, 200, raw("spot_order_book_snapshot.json"), T)
    assert spot.parse("c", raw("spot_order_book_update.json"), T + 1) == []
    assert spot.books.stats["stale_delta"] == 1


def test_snapshot_without_id_or_refused_is_reported_and_asked_again(spot: GateioAdapter) -> None:
    """``with_id`` missing (no ``id``) cannot be joined; an HTTP error neither. The next diff asks again."""
    spot.parse("c", raw("spot_order_book_update.json"), T)
    no_id = b'{"current":1,"update":1,"asks":[],"bids":[]}'
    out = spot.answer(SPOT_SNAPSHOT, 200, no_id, T)
    assert [(e.reason, e.symbol) for e in out if isinstance(e, Error)] == [("malformed", "BTC/USDT")]
    out = spot.answer(SPOT_SNAPSHOT, 429, b'{"label":"TOO_MANY_REQUESTS"}', T)
    assert [e.reason for e in out if isinstance(e, Error)] == ["http_status"]
    assert spot.parse("c", edited("spot_order_book_update.json", U=2679731744, u=2679731744), T) == [SPOT_SNAPSHOT]


def test_futures_book_in_contracts(futures: GateioFuturesAdapter) -> None:
    """Level objects ``{"p", "s"}``; sizes are contracts; the snapshot comes from the settlement's path."""
    assert futures.parse("c", raw("futures_order_book_update.json"), T) == [INVERSE_SNAPSHOT]
    out = futures.answer(INVERSE_SNAPSHOT, 200, raw("futures_order_book_snapshot.json"), T + 1)
    assert out == [
        Book(
            "gateio_futures",
            "BTC/USD:BTC",
            1615366381.121,  # "update", not the answer's "current"
            T + 1,
            True,
            [(54672.1, 150.0), (54660.0, 203.0)],
            [(54742.0, 100.0), (54743.6, 40.0)],
            2517661100,
        ),
        Book(
            "gateio_futures",
            "BTC/USD:BTC",
            1615366381.417,
            T,
            False,
            [(54672.1, 0.0), (54664.5, 58794.0)],
            [(54743.6, 0.0), (54742.0, 95.0)],
            2517661113,
        ),
    ]
    book = futures.book("BTC/USD:BTC")
    assert book is not None
    assert (book.bids(), book.asks()) == ({54664.5: 58794.0, 54660.0: 203.0}, {54742.0: 95.0})


def test_linear_snapshot_url_uses_the_usdt_path(futures: GateioFuturesAdapter) -> None:
    """A USDT contract's snapshot is asked of ``/futures/usdt/order_book``."""
    out = futures.parse("c", edited("futures_order_book_update.json", s="BTC_USDT"), T)
    assert out == [
        RestRequest(
            f"{REST}/futures/usdt/order_book?contract=BTC_USDT&limit=100&with_id=true",
            "snapshot",
            1,
            "BTC/USDT:USDT",
            headers=(("X-Gate-Size-Decimal", "1"),),
        )
    ]


@pytest.mark.parametrize("market", ["spot", "futures"])
def test_books_keep_the_depth_of_their_stream(market: str, request: pytest.FixtureRequest) -> None:
    """Spot "100ms corresponds to depth level 100"; futures "only updates within [the level] are
    notified": a level pushed out of the best 100 gets no delete, so the maintained book is cut
    back to 100 levels after each update."""
    adapter: GateioAdapter = request.getfixturevalue(market)
    symbol = "BTC/USDT" if market == "spot" else "BTC/USD:BTC"
    out: list[Any] = []
    bids = [(50_000.0 - i, 1.0) for i in range(120)]
    adapter.books.snapshot(out, symbol, bids, [(50_001.0, 1.0)], 7, None, T)
    adapter.books.delta(out, symbol, [(50_000.5, 2.0)], [], 8, 8, None, None, T)
    book = adapter.book(symbol)
    assert book is not None and len(book.bids()) == 100 and 49_901.0 not in book.bids()


# -- candles ------------------------------------------------------------------------------------


def test_spot_candle(spot: GateioAdapter) -> None:
    """``n`` is ``<interval>_<pair>``; ``a`` is the base volume; ``w`` closes the window."""
    assert spot.parse("c", raw("spot_candlesticks.json"), T) == [
        Candle(
            "gateio",
            "BTC/USDT",
            1606292600.376,
            T,
            "1m",
            1606292580.0,
            1606292640.0,
            19128.1,
            19128.1,
            19128.1,
            19128.1,
            3.8283,
            None,
            True,
        )
    ]


def test_spot_candle_without_base_amount_is_counted(spot: GateioAdapter) -> None:
    """``v`` is a quote volume: without ``a`` there is no base volume to report."""
    msg = json.loads(raw("spot_candlesticks.json"))
    del msg["result"]["a"]
    assert spot.parse("c", orjson.dumps(msg), T) == []
    assert spot.stats["ignored.candle_without_base_volume"] == 1


def test_futures_candles(futures: GateioFuturesAdapter) -> None:
    """A list of bars; ``a`` is the base amount. Without ``a``, contracts are converted; price bars are ignored."""
    out = futures.parse("c", raw("futures_candlesticks.json"), T)
    assert [(e.symbol, e.start, e.end, e.open, e.close, e.volume, e.closed) for e in out] == [
        ("BTC/USDT:USDT", 1545129300.0, 1545129360.0, 94.3, 95.4, 314732.87412, False),
        ("BTC/USDT:USDT", 1545129300.0, 1545129360.0, 94.3, 95.4, 314732.87412, True),
    ]
    msg = json.loads(raw("futures_candlesticks.json"))
    msg["result"] = [{k: v for k, v in msg["result"][0].items() if k != "a"} | {"n": "5m_BTC_USD"}]
    (bar,) = futures.parse("c", orjson.dumps(msg), T)
    assert (bar.symbol, bar.interval, bar.volume) == ("BTC/USD:BTC", "5m", 27525555 / 95.4)
    msg["result"][0]["n"] = "1m_mark_BTC_USDT"
    assert futures.parse("c", orjson.dumps(msg), T) == []
    assert futures.stats["ignored.price_candles"] == 1


# -- derivatives --------------------------------------------------------------------------------


def test_funding_from_futures_tickers(futures: GateioFuturesAdapter) -> None:
    """Mark, index, funding, its indication, open interest (contracts; USD value for inverse) and the
    next funding time from the contract listing's ``funding_next_apply``."""
    assert futures.parse("c", raw("futures_tickers.json"), T) == [
        DerivativeTicker(
            "gateio_futures",
            "BTC/USD:BTC",
            1541659086.123,
            T,
            mark_price=118.35,
            index_price=118.36,
            funding_rate=-0.000114,
            next_funding_time=1615392000.0,
            predicted_funding_rate=0.01875,
            open_interest=73648.0,
            open_interest_value=73648.0,
            last_price=118.4,
        )
    ]
    # Nothing changed: nothing emitted.
    assert futures.parse("c", raw("futures_tickers.json"), T + 1) == []


def test_linear_open_interest_value_and_funding_schedule(futures: GateioFuturesAdapter) -> None:
    """OI value = contracts x multiplier x mark; past ``funding_next_apply`` the next funding moves by the interval."""
    frame = edited("futures_tickers.json", contract="BTC_USDT", mark_price="37985.6", total_size="5223816")
    msg = json.loads(frame)
    msg["time_ms"] = (1610035200 + 3600) * 1000  # an hour after the listed funding
    (event,) = futures.parse("c", orjson.dumps(msg), T)
    assert isinstance(event, DerivativeTicker)
    assert event.open_interest == 5223816.0
    assert event.open_interest_value == 5223816.0 * 0.0001 * 37985.6
    assert event.next_funding_time == 1610035200 + 28800


def test_public_liquidation(futures: GateioFuturesAdapter) -> None:
    """A negative size is a sell order: a long was liquidated; the amount is in base units."""
    assert futures.parse("c", raw("futures_public_liquidates.json"), T) == [
        Liquidation("gateio_futures", "BTC/USD:BTC", 1541486601.123, T, "sell", 215.1, 124 / 215.1)
    ]
    frame = edited("futures_public_liquidates.json", contract="BTC_USDT", size=30, price=38000)
    assert [(e.side, e.amount) for e in futures.parse("c", frame, T)] == [("buy", 30 * 0.0001)]


# -- control frames and bad input ---------------------------------------------------------------


def test_acks_pongs_and_unused_channels_are_counted(spot: GateioAdapter, futures: GateioFuturesAdapter) -> None:
    """Acks, pongs and public channels this adapter does not use produce nothing and are counted."""
    for name in ("subscribe_ack.json", "spot_pong.json", "spot_order_book_legacy.json", "spot_obu.json"):
        assert spot.parse("c", raw(name), T) == [], name
    assert dict(spot.stats) == {
        "ignored.ack": 1,
        "ignored.pong": 1,
        "ignored.spot.order_book": 1,
        "ignored.spot.obu": 1,
    }
    for name in ("futures_pong.json", "futures_order_book_legacy.json", "futures_contract_stats.json"):
        assert futures.parse("c", raw(name), T) == [], name
    assert dict(futures.stats) == {
        "ignored.pong": 1,
        "ignored.futures.order_book": 1,
        "ignored.futures.contract_stats": 1,
    }


def test_refused_subscription_is_an_error_event(spot: GateioAdapter) -> None:
    """``error`` on a reply carries Gate's code and message."""
    assert spot.parse("c", raw("subscribe_error.json"), T) == [
        Error(
            "gateio",
            None,
            None,
            T,
            "c",
            "rejected",
            "spot.trades subscribe: code 2: unknown currency pair: LUNARLENS_USDT (id None)",
        )
    ]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"not json", "malformed"),
        (b"\xff\xfe", "malformed"),
        (raw("spot_trade.json")[:60], "malformed"),
        (raw("spot_trade.json") + b"}", "malformed"),
        (edited("spot_trade.json", price="NaN"), "malformed"),
        (edited("spot_trade.json", amount="-1"), "malformed"),
        (edited("spot_trade.json", side="up"), "malformed"),
        (edited("spot_trade.json", currency_pair="NOPE_USDT"), "unknown_symbol"),
        (edited("spot_book_ticker.json", b="nan"), "malformed"),
        (edited("spot_order_book_update.json", u=2**70), "malformed"),
        (b'{"time":1,"channel":"spot.trades","event":"update","result":null}', "malformed"),
        (b'{"time":1,"channel":"spot.nothing","event":"update","result":{}}', "unknown_channel"),
        (b'{"time":1,"result":{"channel":"spot.trades"},"channel":"spot.tickers"}', "malformed"),
        (b'{"hello":"world"}', "unknown_message"),
    ],
)
def test_bad_spot_frames_become_error_events(spot: GateioAdapter, frame: bytes, reason: str) -> None:
    """Nothing raises: each bad frame is one ``error`` event and one counter."""
    out = spot.parse("c", frame, T)
    assert [(type(e), e.reason) for e in out] == [(Error, reason)]
    assert spot.stats["error." + reason] == 1


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (edited("futures_trades.json", size=0), "malformed"),
        (edited("futures_trades.json", size="Infinity"), "malformed"),
        (edited("futures_trades.json", contract="NOPE_USDT"), "unknown_symbol"),
        (edited("futures_order_book_update.json", b=[{"p": "1", "s": -1}]), "malformed"),
        (edited("futures_tickers.json", mark_price="NaN"), "malformed"),
        (edited("futures_public_liquidates.json", price=0), "malformed"),
        (edited("futures_book_ticker.json", b="-5"), "malformed"),
    ],
)
def test_bad_futures_frames_become_error_events(futures: GateioFuturesAdapter, frame: bytes, reason: str) -> None:
    """Impossible values, zero sizes and unknown contracts are one ``error`` each; no state changes."""
    assert [(type(e), e.reason) for e in futures.parse("c", frame, T)] == [(Error, reason)]
    assert futures.book("BTC/USD:BTC") is None
    assert futures.derivatives.latest("BTC/USD:BTC") is None


def test_text_and_bytes_frames_parse_alike(spot: GateioAdapter) -> None:
    """A frame given as ``str`` yields what its bytes yield."""
    assert spot.parse("c", raw("spot_trade.json").decode(), T) == spot.parse("c", raw("spot_trade.json"), T)


# -- plans --------------------------------------------------------------------------------------


def test_spot_plan(spot: GateioAdapter) -> None:
    """List channels in one request each, books and candles one request per pair; ``spot.ping`` every 10 s."""
    subs = [
        Subscription(symbol, channel, "5m")
        for symbol in ("BTC/USDT", "ETH/USDT")
        for channel in ("trades", "ticker", "book", "candles")
    ]
    (plan,) = spot.plan(subs)
    assert plan.conn == "gateio.0"
    assert plan.url == "wss://api.gateio.ws/ws/v4/"
    requests = [json.loads(frame) for frame in plan.subscribe]
    assert [(r["channel"], r["event"], r["payload"]) for r in requests] == [
        ("spot.trades", "subscribe", ["BTC_USDT", "ETH_USDT"]),
        ("spot.book_ticker", "subscribe", ["BTC_USDT", "ETH_USDT"]),
        ("spot.order_book_update", "subscribe", ["BTC_USDT", "100ms"]),
        ("spot.candlesticks", "subscribe", ["5m", "BTC_USDT"]),
        ("spot.order_book_update", "subscribe", ["ETH_USDT", "100ms"]),
        ("spot.candlesticks", "subscribe", ["5m", "ETH_USDT"]),
    ]
    # Requests are stamped with the listing's receipt time (an adapter reads no clock).
    assert {r["time"] for r in requests} == {int(T)}
    assert [r["id"] for r in requests] == [1, 2, 3, 4, 5, 6]
    assert plan.symbols == ["BTC/USDT", "ETH/USDT"]
    assert (plan.app_ping, plan.app_ping_interval, plan.ping_interval, plan.idle_timeout) == (
        f'{{"time":{int(T)},"channel":"spot.ping"}}',
        10.0,
        20.0,
        60.0,
    )
    assert plan.headers == {}


def test_spot_plan_shards_and_quiet_connections(spot: GateioAdapter) -> None:
    """Past ``symbols_per_connection`` pairs a second connection opens; trades alone get a longer idle limit."""

    class Small(GateioAdapter):
        symbols_per_connection = 1

    small = Small()
    small.on_http(PAIRS, 200, raw("currency_pairs.json"), T)
    plans = small.plan([Subscription("BTC/USDT", "trades"), Subscription("ETH/USDT", "trades")])
    assert [(p.conn, p.idle_timeout, [json.loads(f)["payload"] for f in p.subscribe]) for p in plans] == [
        ("gateio.0", 300.0, [["BTC_USDT"]]),
        ("gateio.1", 300.0, [["ETH_USDT"]]),
    ]


def test_futures_plan_per_settlement(futures: GateioFuturesAdapter) -> None:
    """One connection per settlement path, sizes asked as decimals, books with their level, derivative channels."""
    subs = [
        Subscription("BTC/USDT:USDT", "book"),
        Subscription("BTC/USDT:USDT", "funding"),
        Subscription("BTC/USDT:USDT", "liquidations"),
        Subscription("BTC/USD:BTC", "trades"),
        Subscription("BTC/USD:BTC", "candles", "1h"),
    ]
    usdt, btc = futures.plan(subs)
    assert (usdt.conn, usdt.url, usdt.symbols) == (
        "gateio_futures.usdt.0",
        "wss://fx-ws.gateio.ws/v4/ws/usdt",
        ["BTC/USDT:USDT"],
    )
    assert [(json.loads(f)["channel"], json.loads(f)["payload"]) for f in usdt.subscribe] == [
        ("futures.tickers", ["BTC_USDT"]),
        ("futures.public_liquidates", ["BTC_USDT"]),
        ("futures.order_book_update", ["BTC_USDT", "100ms", "100"]),
    ]
    assert (btc.conn, btc.url, btc.symbols) == ("gateio_futures.btc.0", "wss://fx-ws.gateio.ws/v4/ws/btc", [])
    assert [(json.loads(f)["channel"], json.loads(f)["payload"]) for f in btc.subscribe] == [
        ("futures.trades", ["BTC_USD"]),
        ("futures.candlesticks", ["1h", "BTC_USD"]),
    ]
    assert usdt.headers == btc.headers == {"X-Gate-Size-Decimal": "1"}
    assert usdt.app_ping == f'{{"time":{int(T)},"channel":"futures.ping"}}'


def test_plans_refuse_what_gate_does_not_offer(spot: GateioAdapter, futures: GateioFuturesAdapter) -> None:
    """Unknown symbols, candle intervals and channels fail at plan time, naming the choices."""
    with pytest.raises(UnknownSymbol):
        spot.plan([Subscription("BTC/USDT:USDT", "trades")])
    with pytest.raises(UnknownSymbol):
        futures.plan([Subscription("BTC/USDT", "trades")])
    with pytest.raises(UsageError, match="no candle interval '2m'"):
        spot.plan([Subscription("BTC/USDT", "candles", "2m")])
    with pytest.raises(UsageError, match="gateio has no funding channel"):
        spot.plan([Subscription("BTC/USDT", "funding")])


def test_registry_and_recognized_hosts() -> None:
    """Both ids are registered; each claims its own hosts and its paths on the shared testnet host."""
    assert EXCHANGES["gateio"] is GateioAdapter
    assert EXCHANGES["gateio_futures"] is GateioFuturesAdapter
    assert GateioAdapter.recognizes("wss://api.gateio.ws/ws/v4/")
    assert GateioAdapter.recognizes("wss://ws-testnet.gate.com/v4/ws/spot")
    assert not GateioAdapter.recognizes("wss://fx-ws.gateio.ws/v4/ws/usdt")
    assert GateioFuturesAdapter.recognizes("wss://fx-ws.gateio.ws/v4/ws/usdt")
    assert GateioFuturesAdapter.recognizes("wss://fx-ws.gateio.ws/v4/ws/btc")
    assert GateioFuturesAdapter.recognizes("wss://fx-ws-testnet.gateio.ws/v4/ws/btc")
    assert GateioFuturesAdapter.recognizes("wss://ws-testnet.gate.com/v4/ws/futures/usdt")
    assert not GateioFuturesAdapter.recognizes("wss://ws-testnet.gate.com/v4/ws/spot")
    assert not GateioFuturesAdapter.recognizes("wss://api.gateio.ws/ws/v4/")


def test_book_messages_without_a_first_id(spot: GateioAdapter) -> None:
    """A diff without ``U`` cannot be linked (an error); a full book without it just replaces the book."""
    diff = json.loads(raw("spot_order_book_update.json"))
    del diff["result"]["U"]
    assert [e.reason for e in spot.parse("c", orjson.dumps(diff), T) if isinstance(e, Error)] == ["malformed"]
    assert spot.book("BTC/USDT") is None
    full = json.loads(raw("spot_order_book_full.json"))
    del full["result"]["U"]
    assert [(e.snapshot, e.sequence) for e in spot.parse("c", orjson.dumps(full), T)] == [(True, 48776306)]
    full["result"]["u"] = 48776400
    assert [type(e).__name__ for e in spot.parse("c", orjson.dumps(full), T)] == ["Book"]  # no gap to report
