"""Crypto.com Exchange v1 adapter: parsers on the documented shapes, instruments, book rule, plan, control frames."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from collector.actions import Reconnect, RestRequest, SendFrame
from collector.book import STREAM_PREV, BookState
from collector.errors import UnknownSymbol, UsageError
from collector.exchanges import EXCHANGES, ConnectionPlan, Subscription
from collector.exchanges.cryptocom import CryptocomAdapter
from collector.models import Book, Candle, Connected, DerivativeTicker, Disconnected, Error, Resync, Ticker, Trade

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cryptocom"
T = 1700000000.5  # receipt time handed to the adapter
LISTING = RestRequest("https://api.crypto.com/exchange/v1/public/get-instruments", "instruments")


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def text(name: str) -> str:
    return raw(name).decode()


def edited(name: str, **changes: Any) -> str:
    """A fixture with fields of ``result.data[0]`` changed; ``None`` removes one."""
    msg = json.loads(raw(name))
    item = msg["result"]["data"][0]
    for key, value in changes.items():
        if value is None:
            item.pop(key)
        else:
            item[key] = value
    return json.dumps(msg, separators=(",", ":"))


def adapter_with(listing: str = "instruments.json") -> CryptocomAdapter:
    adapter = CryptocomAdapter()
    assert adapter.answer(LISTING, 200, raw(listing), T) == []
    return adapter


@pytest.fixture
def cdc() -> CryptocomAdapter:
    adapter = adapter_with()
    adapter.connected(ConnectionPlan("c", "wss://stream.crypto.com/exchange/v1/market"), T)
    return adapter


def of(kind: type[Any], out: list[Any]) -> list[Any]:
    return [e for e in out if isinstance(e, kind)]


# -- instruments ----------------------------------------------------------------------------------


def test_instruments_map_to_unified_symbols(cdc: CryptocomAdapter) -> None:
    """Spot pairs, USD-settled perpetuals and dated futures get ccxt-style symbols; warrants are skipped."""
    got = {i.symbol: (i.native, i.kind, i.settle, i.expiry, i.contract_size, i.active) for i in cdc.instruments}
    assert got == {
        "BTC/USD:USD": ("BTCUSD-PERP", "swap", "USD", None, 1.0, True),
        "BTC/USD:USD-250926": ("BTCUSD-250926", "future", "USD", "250926", 1.0, True),
        "BTC/USDT": ("BTC_USDT", "spot", None, None, 1.0, True),
        "BTC/USD": ("BTC_USD", "spot", None, None, 1.0, True),
        "ETH/USD:USD": ("ETHUSD-PERP", "swap", "USD", None, 0.1, False),
    }
    perp = cdc.instruments.by_symbol("BTC/USD:USD")
    assert (perp.tick_size, perp.step_size, perp.base, perp.quote) == (0.5, 0.0001, "BTC", "USD")
    spot = cdc.instruments.by_native("BTC_USDT")
    assert (spot.symbol, spot.tick_size, spot.step_size) == ("BTC/USDT", 0.01, 0.00001)
    assert cdc.market_of("BTC/USD:USD").index == "BTCUSD-INDEX"
    with pytest.raises(UnknownSymbol):
        cdc.market_of("BTC/USDC")


def test_legacy_v2_listing_maps_spot_pairs() -> None:
    """The v2 listing (``result.instruments``, decimals instead of tick sizes) is read as well."""
    adapter = adapter_with("instruments_v2.json")
    eth = adapter.instruments.by_native("ETH_CRO")
    assert (eth.symbol, eth.kind, eth.tick_size, eth.step_size) == ("ETH/CRO", "spot", 0.01, 0.01)
    assert adapter.instruments.by_native("BTC_USDT").step_size == 0.000001


def test_refused_listing_is_an_error_event() -> None:
    """``code`` 40001 (as a string, as the newer pages type it) becomes an error event."""
    adapter = CryptocomAdapter()
    out = adapter.answer(LISTING, 200, raw("instruments_refused.json"), T)
    assert out == [Error("cryptocom", None, None, T, "rest", "malformed", f"{LISTING.url}: code 40001: BAD_REQUEST")]


def test_replay_pairs_the_listing_with_a_legacy_v2_recording() -> None:
    """``/v2/public/get-instruments`` and ``/exchange/v1/public/get-instruments`` are one endpoint for replay."""
    v1 = CryptocomAdapter.match_key(LISTING.url)
    assert v1 == ("api.crypto.com", "/public/get-instruments", "")
    assert CryptocomAdapter.match_key("https://api.crypto.com/v2/public/get-instruments") == v1
    book = "https://api.crypto.com/exchange/v1/public/get-book?instrument_name=BTC_USDT&depth=10"
    assert CryptocomAdapter.match_key(book) == ("api.crypto.com", "/public/get-book", "BTC_USDT")


def test_recognizes_current_legacy_and_sandbox_hosts() -> None:
    """v1, the legacy v2 path on the same host, and the UAT sandbox replay with this adapter."""
    for url in (
        "wss://stream.crypto.com/exchange/v1/market",
        "wss://stream.crypto.com/v2/market",
        "wss://uat-stream.3ona.co/exchange/v1/market",
    ):
        assert CryptocomAdapter.recognizes(url)
    assert not CryptocomAdapter.recognizes("wss://stream.bybit.com/v5/public/spot")


# -- plan -----------------------------------------------------------------------------------------


def test_plan_waits_a_second_and_subscribes_with_the_connect_time_as_nonce(cdc: CryptocomAdapter) -> None:
    """Books go in their own SNAPSHOT_AND_UPDATE request; requests are sent 1 s after the connect."""
    subs = [Subscription(s, ch) for s in ("BTC/USDT", "BTC/USD:USD") for ch in ("trades", "ticker", "book")]
    subs.append(Subscription("BTC/USDT", "candles", "1d"))
    (plan,) = cdc.plan(subs)
    assert plan.url == "wss://stream.crypto.com/exchange/v1/market"
    assert (plan.subscribe_delay, plan.control_interval, plan.idle_timeout) == (1.0, 0.02, 30.0)
    assert plan.ping_interval == 30.0 and plan.symbols == ["BTC/USDT", "BTC/USD:USD"]
    out = cdc.connected(plan, 1700000123.456)
    assert out[0] == Connected("cryptocom", None, None, 1700000123.456, "cryptocom.0", plan.url)
    frames = [orjson.loads(a.data) for a in out[1:]]
    assert all(isinstance(a, SendFrame) and a.conn == "cryptocom.0" for a in out[1:])
    assert frames == [
        {
            "id": 1,
            "method": "subscribe",
            "params": {
                "channels": ["book.BTC_USDT.50", "book.BTCUSD-PERP.50"],
                "book_subscription_type": "SNAPSHOT_AND_UPDATE",
                "book_update_frequency": 10,
            },
            "nonce": 1700000123456,
        },
        {
            "id": 2,
            "method": "subscribe",
            "params": {
                "channels": [
                    "trade.BTC_USDT",
                    "ticker.BTC_USDT",
                    "trade.BTCUSD-PERP",
                    "ticker.BTCUSD-PERP",
                    "candlestick.1D.BTC_USDT",
                ]
            },
            "nonce": 1700000123456,
        },
    ]


def test_plan_shards_at_400_subscriptions_per_connection() -> None:
    """Max 400 subscriptions per market data connection: 450 channels need two connections."""
    listing = {"code": 0, "result": {"data": []}}
    for n in range(150):
        listing["result"]["data"].append(  # type: ignore[index]
            {"symbol": f"C{n}_USDT", "inst_type": "CCY_PAIR", "base_ccy": f"C{n}", "quote_ccy": "USDT"}
        )
    adapter = CryptocomAdapter()
    adapter.answer(LISTING, 200, orjson.dumps(listing), T)
    subs = [Subscription(f"C{n}/USDT", ch) for n in range(150) for ch in ("trades", "ticker", "book")]
    plans = adapter.plan(subs)
    assert [p.conn for p in plans] == ["cryptocom.0", "cryptocom.1"]
    sent = [orjson.loads(a.data)["params"]["channels"] for p in plans for a in adapter.connected(p, T)[1:]]
    # Channels in subscription order: a connection's books first (one request), then the rest.
    assert [len(c) for c in sent] == [100, 33, 100, 100, 67, 17, 33]
    assert sum(len(c) for c in sent[:5]) == 400
    assert plans[1].idle_timeout == 30.0 and len(plans[1].symbols) == 17


def test_funding_channels_per_contract_kind(cdc: CryptocomAdapter) -> None:
    """Perpetuals: mark, ticker (open interest), index, funding and estimated funding; futures have no funding."""
    assert cdc.channels_for(Subscription("BTC/USD:USD", "funding")) == [
        "mark.BTCUSD-PERP",
        "ticker.BTCUSD-PERP",
        "index.BTCUSD-INDEX",
        "funding.BTCUSD-PERP",
        "estimatedfunding.BTCUSD-PERP",
    ]
    assert cdc.channels_for(Subscription("BTC/USD:USD-250926", "funding")) == [
        "mark.BTCUSD-250926",
        "ticker.BTCUSD-250926",
        "index.BTCUSD-INDEX",
    ]
    with pytest.raises(UsageError, match="no funding"):
        cdc.channels_for(Subscription("BTC/USDT", "funding"))
    with pytest.raises(UsageError, match="no candle interval"):
        cdc.channels_for(Subscription("BTC/USDT", "candles", "3m"))
    with pytest.raises(UsageError, match="no public liquidations"):
        cdc.channels_for(Subscription("BTC/USD:USD", "liquidations"))
    assert "liquidations" not in EXCHANGES["cryptocom"].channels


def test_trades_only_connection_tolerates_a_quiet_market(cdc: CryptocomAdapter) -> None:
    """Without books (and their 5 s empty deltas) a connection may legitimately be silent for minutes."""
    (plan,) = cdc.plan([Subscription("BTC/USDT", "trades")])
    assert (plan.idle_timeout, plan.symbols) == (300.0, [])


# -- trades ---------------------------------------------------------------------------------------


def test_trade_documented_shape(cdc: CryptocomAdapter) -> None:
    """``s`` is the taker side, ``q`` base units, ``d`` the id (kept as text), ``t`` ms."""
    assert cdc.parse("c", text("trade.json"), T) == [
        Trade("cryptocom", "BTC/USD:USD", 1613581138.462, T, 51327.5, 0.0001, "sell", "2030407068")
    ]


def test_trades_in_a_push_come_out_oldest_first(cdc: CryptocomAdapter) -> None:
    """A push listing the newest trade first is read backwards; ids beyond 2**53 stay exact."""
    assert cdc.parse("c", text("trade_spot.json"), T) == [
        Trade("cryptocom", "BTC/USDT", 1653992578.435, T, 31603.5, 0.1, "sell", "4611686018439397541"),
        Trade("cryptocom", "BTC/USDT", 1653992578.437, T, 31604.01, 0.01234, "buy", "4611686018439397542"),
    ]


def test_contract_size_converts_quantities_to_base_units(cdc: CryptocomAdapter) -> None:
    """ETHUSD-PERP lists ``contract_size`` 0.1: 3 contracts are 0.3 ETH."""
    frame = json.loads(raw("trade.json"))
    frame["result"]["instrument_name"] = "ETHUSD-PERP"
    frame["result"]["data"][0] |= {"p": "2500.00", "q": "3", "i": "ETHUSD-PERP"}
    (trade,) = cdc.parse("c", orjson.dumps(frame).decode(), T)
    assert (trade.symbol, trade.price, trade.amount) == ("ETH/USD:USD", 2500.0, pytest.approx(0.3))


def test_subscribe_snapshot_repeats_are_dropped_after_a_reconnect(cdc: CryptocomAdapter) -> None:
    """The last 50 trades sent on subscribe: those seen before the reconnect are not emitted twice."""
    assert len(cdc.parse("c", text("trade_spot.json"), T)) == 2
    cdc.disconnected("c", "connection lost", T + 1)
    cdc.connected(ConnectionPlan("c", "wss://stream.crypto.com/exchange/v1/market"), T + 2)
    frame = json.loads(raw("trade_spot.json"))
    newer = {"d": "4611686018439397543", "t": 1653992579000, "p": "31610.00", "q": "0.2", "s": "BUY", "i": "BTC_USDT"}
    frame["result"]["data"].insert(0, newer)
    assert cdc.parse("c", orjson.dumps(frame).decode(), T + 3) == [
        Trade("cryptocom", "BTC/USDT", 1653992579.0, T + 3, 31610.0, 0.2, "buy", "4611686018439397543")
    ]
    assert cdc.stats["ignored.trade_repeat"] == 2


def test_legacy_v2_trade_with_numbers(cdc: CryptocomAdapter) -> None:
    """The v2 stream sends numbers (a numeric trade id) and no ``id``/``code``."""
    adapter = adapter_with("instruments_v2.json")
    assert adapter.parse("c", text("trade_v2.json"), T) == [
        Trade("cryptocom", "ETH/CRO", 1587523078.844, T, 162.12, 11.085, "buy", "1210447366")
    ]


def test_unknown_taker_side_is_one_error(cdc: CryptocomAdapter) -> None:
    """A side other than BUY/SELL is reported, the other trades of the push still come out."""
    out = cdc.parse("c", edited("trade.json", s="HOLD"), T)
    assert [(e.reason, e.symbol) for e in of(Error, out)] == [("malformed", "BTC/USD:USD")]


# -- tickers --------------------------------------------------------------------------------------


def test_ticker_documented_shape(cdc: CryptocomAdapter) -> None:
    """Best bid/ask with sizes, last, 24 h high/low/volume; ``vv`` (USD value) is the quote volume of USD pairs."""
    assert cdc.parse("c", text("ticker.json"), T) == [
        Ticker(
            "cryptocom",
            "BTC/USD:USD",
            1613580710.768,
            T,
            51170.0,
            0.1,
            51180.0,
            0.2,
            last=51174.5,
            high=51790.0,
            low=47895.5,
            volume=879.5024,
            quote_volume=26370000.12,
        )
    ]


def test_ticker_nulls_and_zeros_are_no_value(cdc: CryptocomAdapter) -> None:
    """Null fields (no trades, no asks) are no value; ``vv`` (USD) of a USDT pair is not its quote volume."""
    assert cdc.parse("c", text("ticker_spot_empty.json"), T) == [
        Ticker("cryptocom", "BTC/USDT", 1653992543.383, T, 31603.5, 0.5, None, None, volume=0.0)
    ]


def test_legacy_v2_ticker(cdc: CryptocomAdapter) -> None:
    """v2 tickers carry numbers and no sizes."""
    listing = {"code": 0, "result": {"instruments": [{"instrument_name": "GODS_USDT", "base_currency": "GODS",
                                                      "quote_currency": "USDT"}]}}  # fmt: skip
    adapter = CryptocomAdapter()
    adapter.answer(LISTING, 200, orjson.dumps(listing), T)
    assert adapter.parse("c", text("ticker_v2.json"), T) == [
        Ticker("cryptocom", "GODS/USDT", 1659311999.946, T, 0.4262, None, 0.4272, None, 0.4272, None, 0.4624, 0.4229,
               100623.01)
    ]  # fmt: skip


# -- books ----------------------------------------------------------------------------------------


def test_book_snapshot_then_delta(cdc: CryptocomAdapter) -> None:
    """The snapshot replaces the book (``u`` its id); a delta whose ``pu`` is that ``u`` applies (0 removes)."""
    out = cdc.parse("c", text("book_snapshot.json"), T)
    (snap,) = of(Book, out)
    assert (snap.symbol, snap.snapshot, snap.sequence, snap.timestamp) == (
        "BTC/USD:USD",
        True,
        542048017824,
        1654780033.786,
    )
    assert snap.bids[:2] == [(30079.0, 0.0505), (30077.5, 1.0527)] and snap.asks[0] == (30082.5, 0.1689)
    book = cdc.book("BTC/USD:USD")
    assert book is not None and book.best_bid() == (30079.0, 0.0505) and book.best_ask() == (30082.5, 0.1689)
    delta = edited("book_update.json", pu=542048017824, u=542048017830, update={
        "bids": [["30080.0", "0.5", "1"], ["30079.0", "0", "0"]], "asks": [["30082.5", "0.2000", "1"]]})  # fmt: skip
    assert cdc.parse("c", delta, T + 1) == [
        Book("cryptocom", "BTC/USD:USD", 1647917463.003, T + 1, False, [(30080.0, 0.5), (30079.0, 0.0)],
             [(30082.5, 0.2)], 542048017830)
    ]  # fmt: skip
    assert book.best_bid() == (30080.0, 0.5) and 30079.0 not in book.bids() and book.sequence == 542048017830


def test_documented_delta_fields(cdc: CryptocomAdapter) -> None:
    """The documented delta: levels ``[price, size, orders]`` with the count ignored, ``u`` and ``pu``."""
    snapshot = json.loads(raw("book_snapshot.json"))
    snapshot["result"]["data"][0] |= {
        "u": 7845460001,
        "asks": [["50126.000000", "1.5", "1"]],
        "bids": [["50097.0", "1", "1"]],
    }
    cdc.parse("c", orjson.dumps(snapshot).decode(), T)
    assert of(Book, cdc.parse("c", text("book_update.json"), T)) == [
        Book("cryptocom", "BTC/USD:USD", 1647917463.003, T, False, [(50097.0, 0.252)],
             [(50126.0, 0.0), (50180.0, 3.279)], 7845460002)
    ]  # fmt: skip
    book = cdc.book("BTC/USD:USD")
    assert book is not None and book.asks() == {50180.0: 3.279} and book.bids() == {50097.0: 0.252}


def depth50(frame: str) -> str:
    """A book push of the 50-level subscription the adapter plans."""
    return frame.replace("BTCUSD-PERP.10", "BTCUSD-PERP.50")


def test_gap_resubscribes_that_book_only(cdc: CryptocomAdapter) -> None:
    """A ``pu`` that is not the last ``u`` re-subscribes: a resync (reason gap) of that one symbol, and a
    subscribe for its book channel alone with the book parameters; the other book stays live."""
    (plan,) = cdc.plan([Subscription("BTC/USD:USD", "book"), Subscription("BTC/USDT", "book")])
    cdc.connected(plan, T)
    cdc.parse("cryptocom.0", depth50(text("book_snapshot.json")), T)
    other = depth50(edited("book_snapshot.json", u=100))
    cdc.parse("cryptocom.0", other.replace("BTCUSD-PERP", "BTC_USDT"), T)
    gap = edited("book_update.json", pu=542048017800, u=542048017900, update={"bids": [], "asks": []})
    out = cdc.parse("cryptocom.0", depth50(gap), T + 2)
    assert out[0] == Resync(
        "cryptocom", "BTC/USD:USD", None, T + 2, "gap", "expected previous id 542048017824, got 542048017800"
    )
    (send,) = out[1:]
    assert isinstance(send, SendFrame) and send.conn == "cryptocom.0"
    assert orjson.loads(send.data) == {
        "id": 2,
        "method": "subscribe",
        "params": {"channels": ["book.BTCUSD-PERP.50"], "book_subscription_type": "SNAPSHOT_AND_UPDATE",
                   "book_update_frequency": 10},
        "nonce": int((T + 2) * 1000),
    }  # fmt: skip
    assert cdc.books.state("BTC/USD:USD") is BookState.WAITING
    assert cdc.books.state("BTC/USDT") is BookState.LIVE
    assert cdc.books.rule is STREAM_PREV


def test_empty_delta_is_a_heartbeat_that_advances_u(cdc: CryptocomAdapter) -> None:
    """Empty updates "must be processed like any delta": their u is the next delta's pu."""
    cdc.parse("c", text("book_snapshot.json"), T)
    empty = edited("book_update.json", pu=542048017824, u=542048017900, update={"bids": [], "asks": []})
    assert cdc.parse("c", empty, T + 5) == []  # it changes nothing: no event
    assert cdc.book("BTC/USD:USD").sequence == 542048017900  # type: ignore[union-attr]
    follow = edited("book_update.json", pu=542048017900, u=542048017901, update={"bids": [["30078.0", "1", "1"]]})
    assert of(Resync, cdc.parse("c", follow, T + 6)) == []


def test_books_are_cut_back_to_the_subscribed_depth(cdc: CryptocomAdapter) -> None:
    """Whether a level pushed out of ``book.X.10`` gets a delete is undocumented: after a delta that
    adds a better bid, the book keeps ten bids and the old tenth is gone."""
    cdc.parse("c", text("book_snapshot.json"), T)
    book = cdc.book("BTC/USD:USD")
    assert book is not None and len(book.bids()) == 10
    tenth = min(book.bids())
    better = max(book.bids()) + 0.5
    follow = edited("book_update.json", pu=542048017824, u=542048017825, update={"bids": [[str(better), "0.5", "1"]]})
    cdc.parse("c", follow, T + 1)
    assert len(book.bids()) == 10 and better in book.bids() and tenth not in book.bids()


def test_delta_before_any_snapshot_asks_for_one(cdc: CryptocomAdapter) -> None:
    """A delta for a book with no snapshot is useless: the book's channel is subscribed again."""
    cdc.plan([Subscription("BTC/USD:USD", "book")])
    out = cdc.parse("cryptocom.0", depth50(text("book_update.json")), T)
    assert [type(a) for a in out] == [SendFrame]


def test_checksum_is_undocumented_and_not_verified(cdc: CryptocomAdapter) -> None:
    """Live deltas carry ``cs`` (a signed 32-bit value); Crypto.com documents no algorithm for it, so a
    book is guarded by the ``pu`` link alone and a delta applies whatever its ``cs``."""
    snapshot = json.loads(raw("book_snapshot.json"))
    snapshot["result"] |= {"instrument_name": "BTC_USDT", "subscription": "book.BTC_USDT.50"}
    snapshot["result"]["data"][0] |= {
        "u": 78795598162080,
        "asks": [["43756.00", "1", "1"]],
        "bids": [["43730.00", "1", "1"]],
    }
    cdc.parse("c", orjson.dumps(snapshot).decode(), T)
    (event,) = cdc.parse("c", text("book_update_cs.json"), T)
    assert (event.bids, event.asks, event.sequence) == ([(43737.46, 0.14096)], [(43755.46, 0.1)], 78795598253024)
    assert cdc.books.checksum is None
    corrupted = edited("book_update_cs.json", cs=1)
    assert of(Error, cdc.parse("c", corrupted, T)) == []


def test_snapshot_subscriptions_replace_the_book_every_time(cdc: CryptocomAdapter) -> None:
    """In SNAPSHOT mode (what a recorder without book parameters gets) every ``book`` push is the whole book."""
    cdc.parse("c", text("book_snapshot.json"), T)
    later = edited("book_snapshot.json", u=542048019999, bids=[["30070.0", "2", "1"]], asks=[["30090.0", "3", "1"]])
    (event,) = cdc.parse("c", later, T + 0.5)
    assert (event.snapshot, event.bids, event.asks, event.sequence) == (
        True,
        [(30070.0, 2.0)],
        [(30090.0, 3.0)],
        542048019999,
    )
    book = cdc.book("BTC/USD:USD")
    assert book is not None and len(book) == 2


def test_second_depth_of_a_book_is_ignored(cdc: CryptocomAdapter) -> None:
    """Two depths of one instrument would fight over one book: the first subscription keeps it."""
    cdc.parse("c", text("book_snapshot.json"), T)
    other = text("book_snapshot.json").replace("book.BTCUSD-PERP.10", "book.BTCUSD-PERP.50")
    assert cdc.parse("c", other, T) == []
    assert cdc.stats["ignored.second_depth"] == 1


def test_legacy_v2_book_snapshot_and_unsequenced_delta() -> None:
    """v2 snapshots (numbers) load; v2 deltas carry no ``pu``: one error per frame, never applied."""
    adapter = adapter_with("instruments_v2.json")
    (event,) = adapter.parse("c", text("book_v2.json"), T)
    assert (event.symbol, event.bids, event.asks, event.sequence) == (
        "ETH/CRO",
        [(11746.488, 128.0)],
        [(11747.488, 201.0)],
        None,
    )
    (error,) = adapter.parse("c", text("book_update_v2.json"), T)
    assert (error.reason, error.symbol) == ("unsequenced", "DOT/USDT")


def test_a_book_closed_for_a_server_restart_resyncs_as_maintenance(cdc: CryptocomAdapter) -> None:
    """Close code 1013 "Server restarting -- try again later" is an announced maintenance."""
    (plan,) = cdc.plan([Subscription("BTC/USD:USD", "book")])
    cdc.connected(plan, T)
    cdc.parse("cryptocom.0", depth50(text("book_snapshot.json")), T)
    out = cdc.disconnected("cryptocom.0", "closed by peer: 1013 restarting", T + 1)
    assert out == [
        Disconnected("cryptocom", None, None, T + 1, "cryptocom.0", "closed by peer: 1013 restarting"),
        Resync("cryptocom", "BTC/USD:USD", None, T + 1, "maintenance", "closed by peer: 1013 restarting"),
    ]


# -- candles --------------------------------------------------------------------------------------


def test_candlestick_documented_shape(cdc: CryptocomAdapter) -> None:
    """``1D`` bars are ``1d`` candles from ``t`` to ``t`` + one day, still forming."""
    assert cdc.parse("c", text("candlestick.json"), T) == [
        Candle("cryptocom", "BTC/USD:USD", None, T, "1d", 1612224000.0, 1612310400.0, 51140.5, 51699.0, 49212.0,
               51313.5, 867.9432, None, False)
    ]  # fmt: skip


def test_candle_is_final_once_the_next_starts(cdc: CryptocomAdapter) -> None:
    """A later bar closes the forming one with its last values; an older repeat is ignored."""
    cdc.parse("c", text("candlestick.json"), T)
    update = edited("candlestick.json", c="51400.000000", h="51800.000000")
    cdc.parse("c", update, T + 1)
    nxt = edited("candlestick.json", t=1612310400000, o="51400.000000", c="51410.000000", v="1")
    out = cdc.parse("c", nxt, T + 2)
    assert [(c.start, c.close, c.high, c.closed) for c in out] == [
        (1612224000.0, 51400.0, 51800.0, True),
        (1612310400.0, 51410.0, 51699.0, False),
    ]
    assert cdc.parse("c", update, T + 3) == [] and cdc.stats["ignored.old_candle"] == 1


def test_candle_history_on_subscribe_is_closed_but_the_newest(cdc: CryptocomAdapter) -> None:
    """A push of several bars (the history sent on subscribe) has every bar but the newest final."""
    frame = json.loads(raw("candlestick.json"))
    bar = frame["result"]["data"][0]
    frame["result"] |= {"interval": "1M", "subscription": "candlestick.1M.BTCUSD-PERP"}
    frame["result"]["data"] = [bar | {"t": 1612137600000}, bar | {"t": 1609459200000}]
    out = cdc.parse("c", orjson.dumps(frame).decode(), T)
    assert [(c.interval, c.start, c.end, c.closed) for c in out] == [
        ("1M", 1609459200.0, 1612137600.0, True),  # January 2021
        ("1M", 1612137600.0, 1614556800.0, False),  # February 2021 has 28 days
    ]


# -- derivatives ----------------------------------------------------------------------------------


def test_mark_index_funding_and_open_interest_merge(cdc: CryptocomAdapter) -> None:
    """Mark, index (by underlying), the hourly funding rate settling at the end of the hour, the
    estimated next rate, and open interest (base units, valued at the mark) from the ticker."""
    cdc.plan([Subscription("BTC/USD:USD", "funding")])
    first = cdc.parse("c", text("mark.json"), T)
    assert first == [DerivativeTicker("cryptocom", "BTC/USD:USD", 1613582832.0, T, mark_price=51279.77)]
    (index,) = cdc.parse("c", text("index.json"), T)
    assert (index.index_price, index.mark_price) == (51204.52, 51279.77)
    (funding,) = cdc.parse("c", text("funding.json"), T)
    # 1613582880000 is 17:28 UTC: the rate settles at 18:00.
    assert (funding.funding_rate, funding.next_funding_time) == (0.00144, 1613584800.0)
    (estimated,) = cdc.parse("c", text("estimatedfunding.json"), T)
    assert estimated.predicted_funding_rate == 0.00144
    out = cdc.parse("c", text("ticker.json"), T)
    assert [type(e) for e in out] == [DerivativeTicker]  # the ticker channel was not asked for itself
    assert out[0] == DerivativeTicker(
        "cryptocom",
        "BTC/USD:USD",
        1613580710.768,
        T,
        mark_price=51279.77,
        index_price=51204.52,
        funding_rate=0.00144,
        next_funding_time=1613584800.0,
        predicted_funding_rate=0.00144,
        open_interest=12345.12,
        open_interest_value=12345.12 * 51279.77,
        last_price=51174.5,
    )
    assert cdc.parse("c", text("mark.json"), T + 1) == []  # nothing changed: no event


def test_derivative_channel_of_a_spot_pair_or_unknown_index_is_an_error(cdc: CryptocomAdapter) -> None:
    """mark/funding name contracts and index names an underlying the listing knows."""
    spot_mark = text("mark.json").replace("BTCUSD-PERP", "BTC_USDT")
    assert [e.reason for e in cdc.parse("c", spot_mark, T)] == ["unknown_symbol"]
    unknown = text("index.json").replace("BTCUSD-INDEX", "DOGEUSD-INDEX")
    assert [e.reason for e in cdc.parse("c", unknown, T)] == ["unknown_symbol"]


# -- control frames and bad input -----------------------------------------------------------------


def test_heartbeat_is_answered_with_its_id_and_is_not_data(cdc: CryptocomAdapter) -> None:
    """The client must respond with public/respond-heartbeat within 5 seconds, with the same id."""
    assert cdc.receive("c", text("heartbeat.json"), T) == [
        SendFrame("c", '{"id":1587523073344,"method":"public/respond-heartbeat"}')
    ]
    assert cdc.stats["ignored.heartbeat"] == 1
    assert "c" not in cdc.data_at


def test_replies_and_unused_channels_are_counted(cdc: CryptocomAdapter) -> None:
    """Acks and settlement pushes (a public channel this adapter does not use) are counted, not errors."""
    for name in ("subscribe_ack.json", "unsubscribe_ack.json", "settlement.json"):
        assert cdc.receive("c", text(name), T) == []
    assert (cdc.stats["ignored.ack"], cdc.stats["ignored.settlement"]) == (2, 1)
    assert "c" not in cdc.data_at


def test_refusals_are_errors_and_too_many_requests_reconnects(cdc: CryptocomAdapter) -> None:
    """40003 and method ERROR are reported; 42901 on a planned connection starts it over."""
    (rejected,) = cdc.receive("c", text("subscribe_rejected.json"), T)
    assert (rejected.reason, rejected.detail) == ("rejected", "subscribe id 1: code 40003 INVALID_REQUEST")
    (error,) = cdc.receive("c", text("error_no_method.json"), T)
    assert error.reason == "rejected" and error.detail.startswith(
        "ERROR id -1: code 40004 MISSING_OR_INVALID_ARGUMENT | {"
    )
    (plan,) = cdc.plan([Subscription("BTC/USDT", "trades")])
    out = cdc.receive(plan.conn, text("too_many_requests.json"), T)
    assert [type(e) for e in out] == [Error, Reconnect] and out[1] == Reconnect(plan.conn, "TOO_MANY_REQUESTS")


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (
            '{"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTC_USDT","subscription":"x.BTC_USDT",'
            '"channel":"x","data":[]}}',
            "unknown_channel",
        ),
        (text("trade.json").replace("BTCUSD-PERP", "NOPE_USD"), "unknown_symbol"),
        (text("trade.json")[:90], "malformed"),
        (edited("trade.json", p="NaN"), "malformed"),
        (edited("book_update.json", u=2**70), "malformed"),
        (edited("ticker.json", bs="-1"), "malformed"),
        (b"\xff\xfe", "malformed"),
        ("{}", "unknown_message"),
        ('{"id":[1],"method":"public/heartbeat","code":0}', "malformed"),
    ],
)
def test_bad_frames_are_one_error_each(cdc: CryptocomAdapter, frame: str | bytes, reason: str) -> None:
    """Anything that is no Crypto.com push or reply, or carries an impossible value, is one error event."""
    out = cdc.receive("c", frame, T)
    assert [e.reason for e in out] == [reason]
    assert all(isinstance(e, Error) for e in out)


def test_demo_symbols_are_listed_by_the_simulator() -> None:
    """The demo symbols are a spot pair and the BTC perpetual the issue names."""
    assert CryptocomAdapter.demo_symbols == ("BTC/USDT", "BTC/USD:USD")
    wire = CryptocomAdapter.simulator_wire()
    assert [wire.instrument(s, 0).native for s in CryptocomAdapter.demo_symbols] == ["BTC_USDT", "BTCUSD-PERP"]


def test_a_corrupted_level_that_crosses_the_book_resyncs_it(cdc: CryptocomAdapter) -> None:
    """With no checksum to compare, a level that leaves the book crossed is what shows corruption:
    the book is discarded (reason crossed) and its channel subscribed again."""
    (plan,) = cdc.plan([Subscription("BTC/USD:USD", "book")])
    cdc.connected(plan, T)
    cdc.parse("cryptocom.0", depth50(text("book_snapshot.json")), T)
    bad = edited("book_update.json", pu=542048017824, u=542048017825, update={"bids": [["30100.0", "1", "1"]]})
    out = cdc.parse("cryptocom.0", depth50(bad), T + 1)
    assert [type(e) for e in out] == [Resync, SendFrame]
    assert (out[0].reason, out[0].symbol) == ("crossed", "BTC/USD:USD")
    assert cdc.books.state("BTC/USD:USD") is BookState.WAITING


def test_every_hostile_simulator_frame_is_exactly_one_error(cdc: CryptocomAdapter) -> None:
    """The simulator's hostile frames (NaN, infinite, zero, negative, wrong types, 64-bit overflows,
    unknown channel and symbol) give one error each and leave the book as it was."""
    cdc.parse(
        "c", text("book_snapshot.json").replace("BTCUSD-PERP.10", "BTC_USDT.50").replace("BTCUSD-PERP", "BTC_USDT"), T
    )
    before = cdc.book("BTC/USDT")
    assert before is not None
    levels = (before.bids(), before.asks())
    wire = CryptocomAdapter.simulator_wire()
    frames = wire.hostile(wire.instrument("BTC/USDT", 0), 1_700_000_000_000)
    assert len(frames) >= 20
    for frame, why in frames:
        out = cdc.receive("c", frame, T)
        assert len(out) == 1 and isinstance(out[0], Error), why
    assert (before.bids(), before.asks()) == levels and before.synced
