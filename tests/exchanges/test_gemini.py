"""Gemini market data v2 adapter: parsers from the documented shapes, book rule, plan, simulator wire."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from collector.actions import RestRequest, SendFrame
from collector.book import BookState
from collector.errors import UnknownSymbol, UsageError
from collector.exchanges import EXCHANGES, ConnectionPlan, Poll, Subscription
from collector.exchanges.gemini import GeminiAdapter
from collector.exchanges.gemini.parse import Bars, TradeIds
from collector.exchanges.gemini.sim import GeminiWire
from collector.models import Book, Candle, DerivativeTicker, Disconnected, Error, Resync, Ticker, Trade
from collector.replay import Replay
from collector.simulator import Simulator, synthetic_frames
from collector.simulator.wire import RestCall
from tests.e2e.helpers import books_equal_truth, start_collector, synced, wait_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gemini"
T = 1700000000.5  # receipt time handed to the adapter
REST = "https://api.gemini.com"
WS = "wss://api.gemini.com/v2/marketdata"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def edited(name: str, **top: Any) -> bytes:
    """A fixture with top-level fields replaced."""
    return orjson.dumps(json.loads(raw(name)) | top)


def load(adapter: GeminiAdapter) -> list[RestRequest]:
    """Answer the listing and every details call it asks for, as the collector does; the requests made."""
    made = []
    for request in adapter.instrument_requests():  # grows while it is answered
        made.append(request)
        native = request.url.rsplit("/", 1)[1]
        body = raw("symbols.json") if native == "symbols" else raw(f"details_{native}.json")
        assert adapter.answer(request, 200, body, T) == []
    return made


@pytest.fixture
def gemini() -> GeminiAdapter:
    adapter = GeminiAdapter()
    load(adapter)
    adapter.connected(ConnectionPlan("c", WS, symbols=["BTC/USD", "ETH/USD"]), T)
    return adapter


def snapshot(adapter: GeminiAdapter, symbol: str = "BTCUSD") -> list[Any]:
    """Feed the documented initial response for ``symbol``."""
    return adapter.receive("c", edited("l2_initial.json", symbol=symbol), T)


def change(side: str, price: str, size: str, symbol: str = "BTCUSD") -> str:
    return orjson.dumps({"type": "l2_updates", "symbol": symbol, "changes": [[side, price, size]]}).decode()


def trade_frame(**fields: Any) -> bytes:
    """A trade message of BTCUSD with ``fields`` replaced."""
    trade = {"type": "trade", "symbol": "BTCUSD", "tid": 1, "timestamp": 1, "price": "1", "quantity": "1"}
    return json.dumps(trade | {"side": "buy"} | fields).encode()  # json: ids past 64 bits too


def request(kind: str, feed: str, native: str) -> str:
    return orjson.dumps({"type": kind, "subscriptions": [{"name": feed, "symbols": [native]}]}).decode()


def candle(start: float, o: float, h: float, low: float, c: float, volume: float, *, closed: bool) -> Candle:
    """A 15-minute BTC/USD candle as the adapter emits it (no exchange time, no trade count)."""
    return Candle("gemini", "BTC/USD", None, T, "15m", start, start + 900, o, h, low, c, volume, None, closed)


PERP = "BTC/GUSD:GUSD"
BIDS = [(9122.04, 0.00121425), (9121.98, 0.5)]
ASKS = [(9122.07, 0.98942292), (9122.5, 1.2)]
RESUBSCRIBE_BTC = [
    SendFrame("c", '{"type":"unsubscribe","subscriptions":[{"name":"l2","symbols":["BTCUSD"]}]}'),
    SendFrame("c", '{"type":"subscribe","subscriptions":[{"name":"l2","symbols":["BTCUSD"]}]}'),
]


# -- instruments --------------------------------------------------------------------------------


def test_listing_asks_for_every_symbols_details_in_turn() -> None:
    """``/v1/symbols`` names ids only: its answer grows the same request list by one details call per id."""
    adapter = GeminiAdapter()
    made = load(adapter)
    assert [r.url for r in made] == [
        f"{REST}/v1/symbols",
        f"{REST}/v1/symbols/details/btcusd",
        f"{REST}/v1/symbols/details/ethbtc",
        f"{REST}/v1/symbols/details/ethusd",
        f"{REST}/v1/symbols/details/btcgusdperp",
        f"{REST}/v1/symbols/details/btcusdcperp",
        f"{REST}/v1/symbols/details/efilfil",
    ]
    assert {(r.purpose, r.weight) for r in made} == {("instruments", 1)}
    # A new listing starts over.
    assert adapter.instrument_requests() == [RestRequest(f"{REST}/v1/symbols", "instruments")]


def test_symbols_map_to_unified_symbols_both_ways(gemini: GeminiAdapter) -> None:
    """Spot from base/quote; linear perpetuals settle in their quote; closed symbols are inactive."""
    got = {i.symbol: (i.native, i.kind, i.settle, i.contract_size, i.active) for i in gemini.instruments}
    assert got == {
        "BTC/USD": ("BTCUSD", "spot", None, 1.0, True),
        "ETH/BTC": ("ETHBTC", "spot", None, 1.0, True),
        "ETH/USD": ("ETHUSD", "spot", None, 1.0, True),  # limit_only still trades
        "BTC/GUSD:GUSD": ("BTCGUSDPERP", "swap", "GUSD", 1.0, True),
        # contract_price_currency says GUSD here: the settlement is the quote all the same.
        "BTC/USDC:USDC": ("BTCUSDCPERP", "swap", "USDC", 1.0, True),
        "EFIL/FIL": ("EFILFIL", "spot", None, 1.0, False),
    }
    assert gemini.instruments.by_native("BTCGUSDPERP").symbol == "BTC/GUSD:GUSD"
    assert gemini.instruments.by_symbol("ETH/BTC").native == "ETHBTC"
    # tick_size is the size step; quote_increment the price tick.
    btc = gemini.instruments.by_symbol("BTC/USD")
    assert (btc.tick_size, btc.step_size, btc.base, btc.quote) == (0.01, 1e-8, "BTC", "USD")
    perp = gemini.instruments.by_symbol("BTC/GUSD:GUSD")
    assert (perp.tick_size, perp.step_size) == (0.5, 0.0001)


def test_details_pair_with_recordings_in_either_url_form() -> None:
    """Replay pairs details by symbol, case-insensitively, whether recorded by path or by query."""
    key = ("api.gemini.com", "/v1/symbols/details", "btcusd")
    assert GeminiAdapter.match_key(f"{REST}/v1/symbols/details/btcusd") == key
    assert GeminiAdapter.match_key(f"{REST}/v1/symbols/details/BTCUSD") == key
    assert GeminiAdapter.match_key(f"{REST}/v1/symbols?symbol=btcusd") == key
    assert GeminiAdapter.match_key(f"{REST}/v1/symbols") == ("api.gemini.com", "/v1/symbols", "")
    assert GeminiAdapter.match_key(f"{REST}/v1/riskstats/BTCGUSDPERP") == (
        "api.gemini.com",
        "/v1/riskstats/BTCGUSDPERP",
        "",
    )


def test_bad_listing_is_an_error_event() -> None:
    """A details answer that is not one, or a failed status, becomes an error event, not an exception."""
    adapter = GeminiAdapter()
    request = RestRequest(f"{REST}/v1/symbols/details/btcusd", "instruments")
    out = adapter.answer(request, 200, b'{"result":"error","reason":"InvalidSymbol"}', T)
    assert [(e.reason, e.conn) for e in out if isinstance(e, Error)] == [("malformed", "rest")]
    out = adapter.answer(request, 429, b"{}", T)
    assert [e.reason for e in out if isinstance(e, Error)] == ["http_status"]
    assert len(adapter.instruments) == 0


# -- plan ---------------------------------------------------------------------------------------


def test_plan_subscribes_l2_once_per_symbol_then_candles_and_funding(gemini: GeminiAdapter) -> None:
    """trades, ticker and book of a symbol are one l2 subscription; candles and funding have feeds of their own."""
    subs = [Subscription(s, ch) for s in ("BTC/USD", "ETH/USD") for ch in ("trades", "ticker", "book")]
    subs += [Subscription("BTC/USD", "candles", "15m"), Subscription("BTC/GUSD:GUSD", "funding")]
    (plan,) = gemini.plan(subs)
    assert plan.conn == "gemini.0"
    assert plan.url == WS
    assert plan.subscribe == [
        '{"type":"subscribe","subscriptions":[{"name":"l2","symbols":["BTCUSD","ETHUSD"]}]}',
        '{"type":"subscribe","subscriptions":[{"name":"candles_15m","symbols":["BTCUSD"]}]}',
        '{"type":"subscribe","subscriptions":[{"name":"mark_price","symbols":["BTCGUSDPERP"]}]}',
        '{"type":"subscribe","subscriptions":[{"name":"funding_amount","symbols":["BTCGUSDPERP"]}]}',
    ]
    assert plan.symbols == ["BTC/USD", "ETH/USD"]
    assert (plan.ping_interval, plan.app_ping, plan.idle_timeout, plan.control_interval) == (20.0, None, 120.0, 0.2)
    assert gemini.polls(subs) == [
        Poll(RestRequest(f"{REST}/v1/riskstats/BTCGUSDPERP", "poll", 1, "BTC/GUSD:GUSD"), 60.0)
    ]


def test_plan_shards_symbols_across_connections(gemini: GeminiAdapter) -> None:
    """Past ``symbols_per_connection`` symbols, another connection carries the rest."""
    gemini.symbols_per_connection = 2  # type: ignore[misc]
    subs = [Subscription(s, "book") for s in ("BTC/USD", "ETH/USD", "ETH/BTC")]
    subs.append(Subscription("ETH/BTC", "candles", "1d"))
    plans = gemini.plan(subs)
    assert [(p.conn, p.symbols) for p in plans] == [("gemini.0", ["BTC/USD", "ETH/USD"]), ("gemini.1", ["ETH/BTC"])]
    assert plans[1].subscribe == [
        '{"type":"subscribe","subscriptions":[{"name":"l2","symbols":["ETHBTC"]}]}',
        '{"type":"subscribe","subscriptions":[{"name":"candles_1d","symbols":["ETHBTC"]}]}',
    ]
    candles_only = gemini.plan([Subscription("ETH/BTC", "candles", "1h")])
    assert [(p.symbols, p.idle_timeout) for p in candles_only] == [([], 300.0)]


def test_plan_rejects_what_gemini_does_not_offer(gemini: GeminiAdapter) -> None:
    """Unknown symbols, candle intervals Gemini has no feed for, and funding of spot pairs are refused."""
    with pytest.raises(UnknownSymbol):
        gemini.plan([Subscription("DOGE/EUR", "book")])
    with pytest.raises(UsageError, match="no candle interval '4h'"):
        gemini.plan([Subscription("BTC/USD", "candles", "4h")])
    with pytest.raises(UsageError, match="perpetuals only"):
        gemini.plan([Subscription("BTC/USD", "funding")])
    with pytest.raises(UsageError, match="no 'liquidations' channel"):
        gemini.plan([Subscription("BTC/GUSD:GUSD", "liquidations")])


def test_registry_and_recognized_hosts() -> None:
    """The registry builds the adapter; captures of the main and sandbox hosts replay with it."""
    assert EXCHANGES["gemini"] is GeminiAdapter
    assert GeminiAdapter.recognizes("wss://api.gemini.com/v2/marketdata/")
    assert GeminiAdapter.recognizes("wss://api.sandbox.gemini.com/v2/marketdata")
    assert not GeminiAdapter.recognizes("wss://ws.kraken.com/v2")
    assert GeminiAdapter.connect_limit == (12, 60.0)
    assert GeminiAdapter.rest_policy.weight_limit == 120


# -- book, trades and tickers ---------------------------------------------------------------------


def test_initial_response_is_a_snapshot_with_its_trades_and_a_ticker(gemini: GeminiAdapter) -> None:
    """The first l2_updates is the whole book; its trades come first, then the book and its top."""
    assert snapshot(gemini) == [
        # The documented example spells the event id "eventid"; only tid is the trade id.
        Trade("gemini", "BTC/USD", 1560976400.428, T, 9122.04, 0.0073173, "sell", "2840140800042677"),
        Book("gemini", "BTC/USD", None, T, True, BIDS, ASKS, None),
        Ticker("gemini", "BTC/USD", None, T, 9122.04, 0.00121425, 9122.07, 0.98942292),
    ]
    book = gemini.book("BTC/USD")
    assert book is not None and book.synced
    assert book.bids() == dict(BIDS) and book.asks() == dict(ASKS)


def test_changes_carry_absolute_sizes_and_the_ticker_follows_the_top(gemini: GeminiAdapter) -> None:
    """A change away from the top is a book delta only; one at the top moves the ticker; "0" deletes."""
    snapshot(gemini)
    assert gemini.receive("c", raw("l2_update.json"), T) == [
        Book("gemini", "BTC/USD", None, T, False, [], [(9160.2, 0.1921229751)], None)
    ]
    assert gemini.receive("c", change("buy", "9122.05", "0.3"), T) == [
        Book("gemini", "BTC/USD", None, T, False, [(9122.05, 0.3)], [], None),
        Ticker("gemini", "BTC/USD", None, T, 9122.05, 0.3, 9122.07, 0.98942292),
    ]
    assert gemini.receive("c", change("sell", "9122.07", "0"), T) == [
        Book("gemini", "BTC/USD", None, T, False, [], [(9122.07, 0.0)], None),
        Ticker("gemini", "BTC/USD", None, T, 9122.05, 0.3, 9122.5, 1.2),
    ]
    book = gemini.book("BTC/USD")
    assert book is not None and book.asks() == {9122.5: 1.2, 9160.2: 0.1921229751}


def test_trade_message(gemini: GeminiAdapter) -> None:
    """``side`` is the taker's, the quantity is in base units, the id is ``tid`` (not ``event_id``)."""
    assert gemini.receive("c", raw("trade.json"), T) == [
        Trade("gemini", "BTC/USD", 151231.241, T, 9004.21, 0.0911, "buy", "2840140800042677")
    ]


def test_perpetual_trade_amount_is_base_units(gemini: GeminiAdapter) -> None:
    """One BTCGUSDPERP contract is one BTC: the quantity is the amount as it is."""
    frame = edited("trade.json", symbol="BTCGUSDPERP", quantity="0.0006", price="65317.5")
    assert gemini.receive("c", frame, T) == [
        Trade("gemini", "BTC/GUSD:GUSD", 151231.241, T, 65317.5, 0.0006, "buy", "2840140800042677")
    ]
    assert gemini.instruments.by_symbol("BTC/GUSD:GUSD").contract_size == 1.0


def test_trades_are_emitted_once_across_resubscriptions(gemini: GeminiAdapter) -> None:
    """A resubscription's initial response repeats recent trades: only those after the last one emitted come out."""
    snapshot(gemini)
    later = edited("trade.json", tid=2840140800042679, timestamp=1560976401000)
    (trade,) = gemini.receive("c", later, T)
    assert isinstance(trade, Trade) and trade.id == "2840140800042679"
    again = json.loads(raw("l2_initial.json"))
    repeated = again["trades"][0] | {"tid": 2840140800042679, "timestamp": 1560976401000}
    newest = again["trades"][0] | {"tid": 2840140800042680, "timestamp": 1560976402000}
    again["trades"] = [newest, repeated, again["trades"][0]]  # newest first: emitted in tid order all the same
    out = gemini.receive("c", orjson.dumps(again), T)
    assert [e.id for e in out if isinstance(e, Trade)] == ["2840140800042680"]
    assert gemini.stats["ignored.duplicate_trade"] == 2
    # Gemini never repeats a trade message itself; its tid only moves the mark on.
    assert [e.id for e in gemini.receive("c", later, T) if isinstance(e, Trade)] == ["2840140800042679"]


def test_trade_ids_remember_the_last_per_symbol() -> None:
    """One integer of memory per symbol."""
    ids = TradeIds()
    assert [ids.fresh("A", t) for t in (5, 4, 6, 6)] == [True, False, True, False]
    assert (ids.fresh("B", 1), ids.high("A"), ids.high("C")) == (True, 6, None)
    ids.seen["A"] = 9  # what a trade message (or its fast route) does
    assert ids.fresh("A", 8) is False


# -- book rule ----------------------------------------------------------------------------------


def test_unreadable_update_resyncs_that_book_only(gemini: GeminiAdapter) -> None:
    """No ids, no checksum: an update that cannot be read is a lost update, so that one book is rebuilt."""
    snapshot(gemini)
    snapshot(gemini, "ETHUSD")
    out = gemini.receive("c", change("buy", "NaN", "1"), T)
    assert [type(e).__name__ for e in out] == ["Error", "Resync", "SendFrame", "SendFrame"]
    error, resync = out[0], out[1]
    assert isinstance(error, Error) and (error.reason, error.symbol) == ("malformed", "BTC/USD")
    assert resync == Resync("gemini", "BTC/USD", None, T, "invalid", "an l2_updates message could not be read")
    assert out[2:] == RESUBSCRIBE_BTC
    assert gemini.books.state("BTC/USD") is BookState.WAITING
    assert gemini.books.state("ETH/USD") is BookState.LIVE
    # Changes until the new initial response are not applied, and ask nothing more.
    assert gemini.receive("c", raw("l2_update.json"), T) == []
    assert [type(e).__name__ for e in snapshot(gemini)] == ["Book", "Ticker"]  # its trade was emitted before


def test_crossed_book_resyncs_that_book_only(gemini: GeminiAdapter) -> None:
    """A bid at or above the best ask cannot be right: reason ``crossed``, and a resubscription."""
    snapshot(gemini)
    snapshot(gemini, "ETHUSD")
    out = gemini.receive("c", change("buy", "9200", "1"), T)
    assert [(e.symbol, e.reason) for e in out if isinstance(e, Resync)] == [("BTC/USD", "crossed")]
    assert [e for e in out if isinstance(e, SendFrame)] == RESUBSCRIBE_BTC
    assert gemini.books.state("ETH/USD") is BookState.LIVE


def test_update_before_any_initial_response_asks_once(gemini: GeminiAdapter) -> None:
    """Changes without a book resubscribe once; the initial response then builds it."""
    assert gemini.receive("c", raw("l2_update.json"), T) == RESUBSCRIBE_BTC
    assert gemini.receive("c", raw("l2_update.json"), T) == []
    assert gemini.books.stats["delta_before_snapshot"] == 2


def test_disconnect_resets_the_books_of_that_connection(gemini: GeminiAdapter) -> None:
    """Books carried by the dropped connection resync as ``reconnect``; the next initial response rebuilds them."""
    snapshot(gemini)
    out = gemini.disconnected("c", "closed", T)
    assert out == [
        Disconnected("gemini", None, None, T, "c", "closed"),
        Resync("gemini", "BTC/USD", None, T, "reconnect", ""),
    ]
    assert [type(e).__name__ for e in snapshot(gemini)] == ["Book", "Ticker"]


def test_heartbeats_touch_books_and_are_not_data(gemini: GeminiAdapter) -> None:
    """Every 5 s on every connection: the connection's books are alive, nothing is emitted."""
    snapshot(gemini)
    gemini.data_at.clear()
    assert gemini.receive("c", raw("heartbeat.json"), T + 20) == []
    assert gemini.stats["ignored.heartbeat"] == 1
    assert "c" not in gemini.data_at
    book = gemini.book("BTC/USD")
    assert book is not None and book.updated == T + 20
    assert gemini.check(T + 20 + GeminiAdapter.book_stale_after - 1) == []
    resync, *resubscribe = gemini.check(T + 21 + GeminiAdapter.book_stale_after)
    assert isinstance(resync, Resync) and (resync.symbol, resync.reason) == ("BTC/USD", "stale")
    assert resubscribe == RESUBSCRIBE_BTC


def test_channels_not_subscribed_are_not_emitted(gemini: GeminiAdapter) -> None:
    """The l2 feed carries book, trades and top together: a symbol subscribed for trades only gets trades."""
    gemini.plan([Subscription("BTC/USD", "trades")])
    assert [type(e).__name__ for e in snapshot(gemini)] == ["Trade"]
    assert gemini.receive("c", change("buy", "9122.05", "0.3"), T) == []
    gemini.plan([Subscription("BTC/USD", "ticker")])
    assert [type(e).__name__ for e in gemini.receive("c", change("buy", "9122.06", "0.3"), T)] == ["Ticker"]
    assert gemini.receive("c", raw("trade.json"), T) == []
    assert gemini.stats["ignored.trade"] == 1


# -- candles ------------------------------------------------------------------------------------


def test_candles_first_message_gives_the_forming_bar(gemini: GeminiAdapter) -> None:
    """History comes newest first: only the newest (forming) bar is emitted on a first subscription."""
    assert gemini.receive("c", raw("candles_15m.json"), T) == [
        candle(1561054500.0, 9350.18, 9358.35, 9350.18, 9355.51, 2.07, closed=False)
    ]


def test_candles_close_when_the_next_bar_starts(gemini: GeminiAdapter) -> None:
    """No closed flag: a row of a later bar closes the forming one with the values it last had."""
    gemini.receive("c", raw("candles_15m.json"), T)
    update: dict[str, Any] = {"type": "candles_15m_updates", "symbol": "BTCUSD"}
    update["changes"] = [[1561054500000, 9350.18, 9360, 9350.18, 9359, 2.5]]
    (forming,) = gemini.receive("c", orjson.dumps(update), T)
    assert isinstance(forming, Candle) and (forming.high, forming.close, forming.closed) == (9360.0, 9359.0, False)
    assert gemini.receive("c", orjson.dumps(update), T) == []  # a repeat
    update["changes"] = [[1561055400000, 9359, 9359, 9359, 9359, 0]]
    closed, new = gemini.receive("c", orjson.dumps(update), T)
    assert closed == candle(1561054500.0, 9350.18, 9360.0, 9350.18, 9359.0, 2.5, closed=True)
    assert isinstance(new, Candle) and (new.start, new.volume, new.closed) == (1561055400.0, 0.0, False)


def test_resubscribed_candles_close_the_bars_missed_meanwhile() -> None:
    """A resubscription's history after a gap: bars older than the forming one are skipped, newer ones closed."""
    bars = Bars("gemini")
    out: list[Any] = []
    bars.take(out, "BTC/USD", "1m", [(120_000, 1.0, 1.0, 1.0, 1.0, 1.0)], T)
    out.clear()
    # Newest first, as Gemini sends history: 4 is forming, 2 and 3 closed while away, 9 is older.
    history = [(t * 60_000, float(p), float(p), float(p), float(p), 1.0) for t, p in ((4, 4), (3, 3), (2, 2), (1, 9))]
    bars.take(out, "BTC/USD", "1m", history, T)
    assert [(c.start, c.close, c.closed) for c in out] == [(120.0, 2.0, True), (180.0, 3.0, True), (240.0, 4.0, False)]
    assert bars.stale == 1


# -- perpetuals ---------------------------------------------------------------------------------


def test_mark_price_and_index(gemini: GeminiAdapter) -> None:
    """Nanosecond times; ``spot_index`` is the index price."""
    assert gemini.receive("c", raw("mark_price.json"), T) == [
        DerivativeTicker("gemini", PERP, 1673932381.4783082, T, mark_price=21154.098, index_price=21175.27333)
    ]


def test_funding_rate_is_the_amount_over_the_mark(gemini: GeminiAdapter) -> None:
    """Funding is "the dollar amount for a Long 1 position ... for funding period (1 hour)": over the mark, a rate."""
    (zero,) = gemini.receive("c", raw("funding_amount.json"), T)
    assert zero == DerivativeTicker(
        "gemini", "BTC/GUSD:GUSD", 1673932380.0076969, T, funding_rate=None, next_funding_time=1673932380.0076969
    )
    gemini.receive("c", raw("mark_price.json"), T)
    (rate,) = gemini.receive("c", raw("funding_amount_wire.json"), T)
    assert isinstance(rate, DerivativeTicker)
    assert (rate.funding_rate, rate.next_funding_time) == (9.25568 / 77260.531, 1789459200.0)
    assert (rate.mark_price, rate.index_price) == (21154.098, 21175.27333)  # the mark feed's, not funding's
    realized = json.loads(raw("funding_amount_wire.json"))
    realized["changes"][0]["is_realized"] = True
    assert gemini.receive("c", orjson.dumps(realized), T) == []
    assert gemini.stats["ignored.realized_funding"] == 1


def test_funding_without_a_mark_uses_the_last_one(gemini: GeminiAdapter) -> None:
    """The documented shape has no mark: the rate is over the mark feed's last value."""
    gemini.receive("c", raw("mark_price.json"), T)
    frame = json.loads(raw("funding_amount.json"))
    frame["changes"][0]["funding_amount"] = "-2.1154098"
    (event,) = gemini.receive("c", orjson.dumps(frame), T)
    assert isinstance(event, DerivativeTicker) and event.funding_rate == pytest.approx(-0.0001)


def test_open_interest_is_polled_in_base_units(gemini: GeminiAdapter) -> None:
    """``/v1/riskstats``: open interest in units of the base, its notional in the quote."""
    (poll,) = gemini.polls([Subscription("BTC/GUSD:GUSD", "funding")])
    assert gemini.poll_request(poll.request.url) == poll.request
    assert gemini.poll_request(f"{REST}/v1/riskstats/NOSUCHPERP") is None
    assert gemini.answer(poll.request, 200, raw("riskstats.json"), T) == [
        DerivativeTicker("gemini", "BTC/GUSD:GUSD", None, T, open_interest=14.439, open_interest_value=434325.12)
    ]
    (error,) = gemini.answer(poll.request, 200, b'{"open_interest":"-1"}', T)
    assert isinstance(error, Error) and error.reason == "malformed"


# -- control frames and bad input ----------------------------------------------------------------


def test_refusal_is_an_error_event(gemini: GeminiAdapter) -> None:
    """``{"result":"error","reason":...}`` reports the reason; it is no data."""
    gemini.data_at.clear()
    (error,) = gemini.receive("c", raw("error.json"), T)
    assert isinstance(error, Error) and (error.reason, error.detail) == ("rejected", "NoValidTradingPairs")
    assert "c" not in gemini.data_at


def test_unused_messages_are_counted(gemini: GeminiAdapter) -> None:
    """Auction events of the l2 feed (and v1 shapes) are public messages this adapter does not use."""
    assert gemini.receive("c", raw("auction_indicative.json"), T) == []
    assert gemini.receive("c", b'{"type":"update","eventId":5375461993,"socket_sequence":1,"events":[]}', T) == []
    assert dict(gemini.stats) == {"ignored.auction_indicative": 1, "ignored.update": 1}


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b'{"type":"l2_updates","symbol":"NOSUCH","changes":[]}', "unknown_symbol"),
        (trade_frame(symbol="NOSUCH"), "unknown_symbol"),
        (b'{"type":"notatype","symbol":"BTCUSD"}', "unknown_message"),
        (b'{"symbol":"BTCUSD"}', "no_type"),
        (trade_frame(price="0"), "malformed"),
        (trade_frame(side="hold"), "malformed"),
        (trade_frame(tid=2**64), "malformed"),
        (b'{"type":"l2_updates","symbol":"BTCUSD","changes":[["bid","1","1"]]}', "malformed"),
        (b'{"type":"candles_1m_updates","symbol":"BTCUSD","changes":[[1,1,1,-1,1,1]]}', "malformed"),
        (
            b'{"type":"mark_price_updates","symbol":"BTCGUSDPERP","changes":[{"timestamp":1,"mark_price":"-1"}]}',
            "malformed",
        ),
        (b"[]", "malformed"),
        (b"\xff\xfe", "malformed"),
    ],
)
def test_bad_frames_become_error_events(gemini: GeminiAdapter, frame: bytes, reason: str) -> None:
    """Each bad frame is one error event with its reason, and nothing else."""
    (error,) = gemini.receive("c", frame, T)
    assert isinstance(error, Error) and error.reason == reason


def test_text_bytes_and_sorted_keys_parse_alike(gemini: GeminiAdapter) -> None:
    """Recorders may sort keys (``type`` last): the frame decodes the same, in one pass."""
    text = raw("trade.json").decode()
    resorted = orjson.dumps(json.loads(text), option=orjson.OPT_SORT_KEYS)
    first = gemini.receive("c", text, T)
    gemini.l2.tids = TradeIds()
    assert gemini.receive("c", resorted, T) == first


# -- simulator wire -----------------------------------------------------------------------------


def _wire() -> tuple[GeminiWire, dict[str, Any]]:
    wire = GeminiWire()
    specs = [wire.instrument(s, 1) for s in ("BTC/USD", "BTC/GUSD:GUSD")]
    markets = {wire.market_key(s): wire.market(s, 1, 20) for s in specs}
    for step in range(1, 200):
        for market in markets.values():
            market.step(1_700_000_000_000 + step * 100)
    return wire, markets


def test_sim_initial_messages_refusals_and_unsubscribe() -> None:
    """Subscribe answers with the initial messages only; unknown or lower-case symbols refuse the message."""
    wire, markets = _wire()
    session = wire.open("v2")
    control = wire.on_client_text(session, request("subscribe", "l2", "BTCUSD"), markets, 1)
    assert (control.reply, control.subscribe) == (None, ["l2:BTCUSD"])
    (initial,) = control.frames
    body = json.loads(initial)
    assert list(body) == ["type", "symbol", "changes", "trades", "auction_events"]
    assert (body["type"], body["symbol"], len(body["trades"])) == ("l2_updates", "BTCUSD", 50)
    tids = [t["tid"] for t in body["trades"]]
    assert tids == sorted(tids)  # oldest first
    refused = wire.on_client_text(session, request("subscribe", "l2", "btcusd"), markets, 1)
    assert (refused.reply, refused.subscribe) == ('{"result":"error","reason":"NoValidTradingPairs"}', [])
    spot_funding = request("subscribe", "funding_amount", "BTCUSD")
    assert wire.on_client_text(session, spot_funding, markets, 1).reply == refused.reply
    gone = wire.on_client_text(session, request("unsubscribe", "l2", "BTCUSD"), markets, 1)
    assert (gone.reply, gone.unsubscribe) == (None, ["l2:BTCUSD"])
    assert wire.heartbeat(session, 1786313195331) == ['{"type":"heartbeat","timestamp":1786313195331}']


def test_sim_rest_lists_symbols_details_and_risk() -> None:
    """``/v1/symbols`` in lower case, details by path or query, risk stats of perpetuals, Gemini's errors else."""
    wire, markets = _wire()
    assert json.loads(wire.rest(RestCall("GET", "/v1/symbols", {}), markets, 1).body) == ["btcusd", "btcgusdperp"]
    by_path = wire.rest(RestCall("GET", "/v1/symbols/details/btcgusdperp", {}), markets, 1)
    by_query = wire.rest(RestCall("GET", "/v1/symbols", {"symbol": "btcgusdperp"}), markets, 1)
    assert by_path == by_query
    details = json.loads(by_path.body)
    assert (details["symbol"], details["product_type"], details["contract_type"]) == ("BTCGUSDPERP", "swap", "linear")
    assert json.loads(wire.rest(RestCall("GET", "/v1/riskstats/BTCGUSDPERP", {}), markets, 1).body)["product_type"] == (
        "PerpetualSwapContract"
    )
    assert wire.rest(RestCall("GET", "/v1/riskstats/BTCUSD", {}), markets, 1).status == 400
    assert wire.rest(RestCall("GET", "/v1/book/btcusd", {}), markets, 1).status == 404


def test_sim_hostile_frames_each_give_one_error(gemini: GeminiAdapter) -> None:
    """Every hostile frame of the wire is one error event through the adapter's boundary."""
    wire = GeminiWire()
    snapshot(gemini)
    for frame, what in wire.hostile(wire.instrument("BTC/USD", 1), 1_700_000_000_000):
        errors = [e for e in gemini.receive("c", frame, T) if isinstance(e, Error)]
        assert len(errors) == 1, what


def test_synthetic_session_with_a_perpetual_replays_every_channel() -> None:
    """A simulator session of a spot pair and a perpetual: books, trades, tickers, candles and funding, no error."""
    frames = synthetic_frames("gemini", ["BTC/USD", PERP], frames=2000, seed=4)
    replay = Replay(frames)
    kinds = Counter(type(e).__name__ for e in replay)
    assert replay.exchange == "gemini"
    assert set(kinds) == {"Book", "Ticker", "Trade", "Candle", "DerivativeTicker", "Connected"}
    assert kinds["Connected"] == 1
    assert replay.stats["unanswered_requests"] == 0
    funding = [e for e in Replay(frames) if isinstance(e, DerivativeTicker) and e.funding_rate is not None]
    assert funding and all(e.symbol == PERP and e.next_funding_time for e in funding)


async def test_unreadable_update_on_the_wire_resubscribes_and_converges() -> None:
    """Over loopback: a garbled change resyncs that one book through a resubscription; no trade comes twice."""
    markets = {"gemini": ["BTC/USD", "ETH/USD"]}
    async with Simulator(markets, seed=3, tick_interval=0.02) as sim:
        c, rec = await start_collector(sim, markets)
        try:
            await wait_for(lambda: synced(c, markets))
            sim.send_raw("gemini", [change("buy", "NaN", "1")])
            await wait_for(lambda: bool(rec.of(Resync, "gemini")))
            await wait_for(lambda: synced(c, markets))
            await books_equal_truth(c, sim, markets)
            assert [(e.symbol, e.reason) for e in rec.of(Resync, "gemini")] == [("BTC/USD", "invalid")]
            assert [e.reason for e in rec.of(Error, "gemini")] == ["malformed"]
            snapshots = [e.symbol for e in rec.of(Book, "gemini") if e.snapshot]
            assert sorted(snapshots) == ["BTC/USD", "BTC/USD", "ETH/USD"]
            for symbol in markets["gemini"]:
                ids = [t.id for t in rec.of(Trade, "gemini") if t.symbol == symbol]
                assert ids and len(ids) == len(set(ids)), symbol
        finally:
            await c.stop()


def test_fast_path_gives_what_parse_gives(gemini: GeminiAdapter) -> None:
    """Once routed, trades, changes and candles come out of the fast path exactly as out of parse."""
    snapshot(gemini)
    frames = [change("buy", "9122.05", "0.3"), raw("trade.json").decode(), raw("candles_15m.json").decode()]
    first = [gemini.receive("c", f, T) for f in frames]  # parse, which adds the routes
    gemini.plan([Subscription("BTC/USD", "trades")])
    gemini.plan([Subscription("BTC/USD", s) for s in ("trades", "ticker", "book")])
    again = [gemini.receive("c", f, T) for f in frames]
    # A new plan forgets the last ticker (it may have been muted): the top is sent again.
    assert again[0] == [first[0][0], Ticker("gemini", "BTC/USD", None, T, 9122.05, 0.3, 9122.07, 0.98942292)]
    assert again[1] == first[1]
    assert gemini.l2.tids.high("BTC/USD") == 2840140800042677
    gemini.plan([Subscription("BTC/USD", "book")])
    assert gemini.receive("c", raw("trade.json"), T) == []  # trades not asked for: not routed either


def test_a_ticker_comes_exactly_when_the_top_changes(gemini: GeminiAdapter) -> None:
    """Thousands of random changes around the touch: a ticker follows a change iff the best bid/ask moved."""
    rng = random.Random(7)
    snapshot(gemini)
    book = gemini.book("BTC/USD")
    assert book is not None
    top = (book.best_bid(), book.best_ask())
    for _ in range(3000):
        mid = rng.choice([9122.0, 9122.05, 9122.1])
        side = rng.choice(["buy", "sell"])
        price = round(mid - rng.randint(0, 5) * 0.01 if side == "buy" else mid + rng.randint(1, 6) * 0.01, 2)
        size = rng.choice(["0", "0.5", "1.25"])
        out = gemini.receive("c", change(side, str(price), size), T)
        if any(isinstance(e, Resync) for e in out):  # a crossing change: rebuild and go on
            snapshot(gemini)
            top = (book.best_bid(), book.best_ask())
            continue
        now = (book.best_bid(), book.best_ask())
        tickers = [e for e in out if isinstance(e, Ticker)]
        if now != top:
            bid, ask = now
            assert tickers == [Ticker("gemini", "BTC/USD", None, T, *(bid or (None, None)), *(ask or (None, None)))]
        else:
            assert tickers == []
        top = now


def test_unreadable_initial_response_is_asked_for_again(gemini: GeminiAdapter) -> None:
    """An initial response that cannot be read leaves no book: the next change resubscribes once more."""
    assert gemini.receive("c", raw("l2_update.json"), T) == RESUBSCRIBE_BTC
    broken = edited("l2_initial.json", changes=[["buy", "NaN", "1"]])
    (error,) = gemini.receive("c", broken, T)
    assert isinstance(error, Error) and error.reason == "malformed"
    assert gemini.receive("c", raw("l2_update.json"), T) == RESUBSCRIBE_BTC
    assert [type(e).__name__ for e in snapshot(gemini)] == ["Trade", "Book", "Ticker"]
