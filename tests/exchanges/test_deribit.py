"""Deribit adapter: documented JSON-RPC notifications to exact events, instruments (today's and 2021's
listings), inverse amounts, the ``prev_change_id`` rule, heartbeats, replies, plans and bad input."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest

from collector.actions import Reconnect, SendFrame
from collector.errors import UnknownSymbol, UsageError
from collector.exchanges import ConnectionPlan, Subscription
from collector.exchanges.deribit import DeribitAdapter, fast
from collector.exchanges.deribit.instruments import option_symbol, strike_text
from collector.models import Book, Candle, DerivativeTicker, Error, Liquidation, Resync, Ticker, Trade
from tests.conftest import fixture_text

# Books are built inside these tests: run them with the C accelerators and in pure Python.
pytestmark = pytest.mark.usefixtures("both_paths")

T = 1724900000.5
URL = "wss://www.deribit.com/ws/api/v2"
PERP = "BTC/USD:BTC"
LISTINGS = {"BTC": "instruments_btc.json", "USDC": "instruments_usdc.json"}


def raw(name: str) -> str:
    return fixture_text(f"deribit/{name}")


def edited(name: str, **fields: object) -> str:
    """A notification fixture with some fields of its ``data`` (an object) replaced."""
    msg = orjson.loads(raw(name))
    msg["params"]["data"] |= fields
    return orjson.dumps(msg).decode()


def answer(adapter: DeribitAdapter, listings: dict[str, str]) -> None:
    for request in adapter.instrument_requests():
        currency = dict(parse_qsl(urlsplit(request.url).query))["currency"]
        if currency in listings:
            assert adapter.answer(request, 200, raw(listings[currency]).encode(), T) == []


def loaded(listings: dict[str, str] = LISTINGS) -> DeribitAdapter:
    adapter = DeribitAdapter()
    answer(adapter, listings)
    adapter.connected(ConnectionPlan("c", URL), T)
    return adapter


@pytest.fixture
def dr() -> DeribitAdapter:
    return loaded()


def sent(action: object) -> dict[str, object]:
    assert isinstance(action, SendFrame)
    msg: dict[str, object] = orjson.loads(action.data)
    return msg


# -- instruments ----------------------------------------------------------------------------------


def test_instruments_perpetual_future_options_and_combos_skipped(dr: DeribitAdapter) -> None:
    """Inverse perpetual and future, call and put options from the BTC listing; the combo has no symbol."""
    got = {i.native: (i.symbol, i.kind, i.quote, i.settle, i.expiry, i.contract_size) for i in dr.instruments}
    assert got == {
        "BTC-PERPETUAL": ("BTC/USD:BTC", "swap", "USD", "BTC", None, 10.0),
        "BTC-27DEC24": ("BTC/USD:BTC-241227", "future", "USD", "BTC", "241227", 10.0),
        "BTC-27DEC24-100000-C": ("BTC/USD:BTC-241227-100000-C", "option", "USD", "BTC", "241227", 1.0),
        "BTC-6SEP24-55000-P": ("BTC/USD:BTC-240906-55000-P", "option", "USD", "BTC", "240906", 1.0),
        "BTC_USDC-PERPETUAL": ("BTC/USDC:USDC", "swap", "USDC", "USDC", None, 0.001),
        "BTC_USDC": ("BTC/USDC", "spot", "USDC", None, None, 1.0),
        "XRP_USDC-30MAY25-2d2-C": ("XRP/USDC:USDC-250530-2.2-C", "option", "USDC", "USDC", "250530", 1.0),
    }
    assert "BTC-FS-27DEC24_PERP" not in {i.native for i in dr.instruments}


def test_unified_symbols_both_ways(dr: DeribitAdapter) -> None:
    """Native ids and unified symbols map both ways; tick and step sizes come from the listing."""
    option = dr.instruments.by_symbol("BTC/USD:BTC-241227-100000-C")
    assert (option.native, option.tick_size, option.step_size, option.active) == (
        "BTC-27DEC24-100000-C",
        0.0005,
        0.1,
        True,
    )
    assert dr.instruments.symbol_of("BTC-PERPETUAL") == PERP
    assert dr.instruments.by_symbol("BTC/USDC").native == "BTC_USDC"
    assert dr.instruments.by_symbol("XRP/USDC:USDC-250530-2.2-C").active is False
    perp = dr.instruments.by_symbol(PERP)
    assert (perp.tick_size, perp.step_size) == (0.5, 10.0)
    with pytest.raises(UnknownSymbol):
        dr.instruments.by_symbol("BTC/USD:BTC-241227-100000")


def test_strikes_and_option_symbols() -> None:
    """Whole strikes print without decimals, others without trailing zeros."""
    assert [strike_text(s) for s in (100000.0, 2.2, 0.05, 1750.5)] == ["100000", "2.2", "0.05", "1750.5"]
    assert option_symbol("ETH", "USD", "ETH", "240927", 3200.0, "P") == "ETH/USD:ETH-240927-3200-P"


def test_listing_of_2021_without_counter_or_settlement_currency() -> None:
    """Before 2022 options quote their premium in the coin and name no counter or settlement currency."""
    adapter = loaded({"BTC": "instruments_2021.json"})
    got = {i.native: (i.symbol, i.quote, i.settle) for i in adapter.instruments}
    assert got == {
        "BTC-24SEP21-40000-P": ("BTC/USD:BTC-210924-40000-P", "USD", "BTC"),
        "BTC-PERPETUAL": ("BTC/USD:BTC", "USD", "BTC"),
        "ETH-30JUL21": ("ETH/USD:ETH-210730", "USD", "ETH"),
    }
    # The perpetual is inverse there too: its amounts are USD.
    (trade, _) = adapter.parse("c", raw("trades.json"), T)
    assert isinstance(trade, Trade) and trade.amount == 10.0 / 8950.0


def test_listing_error_is_an_error_event() -> None:
    """A JSON-RPC error answer to get_instruments is reported, not raised."""
    adapter = DeribitAdapter()
    request = adapter.instrument_requests()[0]
    assert request.url == "https://www.deribit.com/api/v2/public/get_instruments?currency=BTC&expired=false"
    (error,) = adapter.answer(request, 200, raw("instruments_error.json").encode(), T)
    assert isinstance(error, Error)
    assert error.reason == "malformed"
    assert "get_instruments: -32602 Invalid params" in error.detail


def test_hosts_and_rest_pairing() -> None:
    """Every Deribit websocket host is recognised; a recorder's listing URL answers ours by currency."""
    for url in (
        URL,
        "wss://test.deribit.com/ws/api/v2",
        "wss://streams.deribit.com/ws/api/v2",
        "wss://deribit.com/ws/api/v2",
    ):
        assert DeribitAdapter.recognizes(url)
    assert not DeribitAdapter.recognizes("wss://stream.bybit.com/v5/public/linear")
    ours = DeribitAdapter().instrument_requests()
    assert [dict(parse_qsl(urlsplit(r.url).query))["currency"] for r in ours] == [
        "BTC",
        "ETH",
        "USDC",
        "USDT",
        "EURR",
        "SOL",
    ]
    recorded = "https://www.deribit.com/api/v2/public/get_instruments?currency=ETH"
    assert DeribitAdapter.match_key(recorded) == DeribitAdapter.match_key(ours[1].url)


# -- trades and liquidations ----------------------------------------------------------------------


def test_inverse_trades_in_base_units(dr: DeribitAdapter) -> None:
    """Perpetual amounts are USD: the base amount is USD / price; ``direction`` is the taker's side."""
    assert dr.parse("c", raw("trades.json"), T) == [
        Trade("deribit", PERP, 1590484156.35, T, 8950.0, 10.0 / 8950.0, "sell", "48079254"),
        Trade("deribit", PERP, 1590484156.35, T, 8950.0, 0.4, "sell", "48079255"),
    ]


def test_option_and_linear_trades_are_base_units_already(dr: DeribitAdapter) -> None:
    """Option amounts are the coin; so are linear contracts'."""
    assert dr.parse("c", raw("trades_option.json"), T) == [
        Trade("deribit", "BTC/USD:BTC-241227-100000-C", 1724900123.456, T, 0.0415, 2.5, "buy", "312008-5566")
    ]
    msg = orjson.loads(raw("trades_option.json"))
    msg["params"]["channel"] = "trades.BTC_USDC-PERPETUAL.agg2"
    msg["params"]["data"][0] |= {"price": 61000.0, "amount": 0.0042, "instrument_name": "BTC_USDC-PERPETUAL"}
    (trade,) = dr.parse("c", orjson.dumps(msg).decode(), T)
    assert isinstance(trade, Trade)
    assert (trade.symbol, trade.price, trade.amount) == ("BTC/USDC:USDC", 61000.0, 0.0042)


def test_liquidation_trades_give_the_liquidated_orders_side(dr: DeribitAdapter) -> None:
    """``T``: the taker's order was the liquidation (its side is ``direction``); ``M``: the maker's; ``MT``: both."""
    assert dr.parse("c", raw("trades_liquidation.json"), T) == [
        Trade("deribit", PERP, 1590484255.886, T, 8925.0, 1.0, "buy", "48079262"),
        Liquidation("deribit", PERP, 1590484255.886, T, "sell", 8925.0, 1.0, "48079262"),
        Trade("deribit", PERP, 1590484255.887, T, 8925.0, 0.2, "sell", "48079263"),
        Liquidation("deribit", PERP, 1590484255.887, T, "buy", 8925.0, 0.2, "48079263"),
        Liquidation("deribit", PERP, 1590484255.887, T, "sell", 8925.0, 0.2, "48079263"),
    ]


def test_only_the_channels_asked_for_come_out(dr: DeribitAdapter) -> None:
    """Trades and liquidations share ``trades``; ticker and funding share ``ticker``: each gives what was asked."""
    dr.plan([Subscription(PERP, "liquidations"), Subscription(PERP, "ticker")])
    out = dr.parse("c", raw("trades_liquidation.json"), T)
    assert [type(e) for e in out] == [Liquidation, Liquidation, Liquidation]
    assert [type(e) for e in dr.parse("c", raw("ticker_perpetual.json"), T)] == [Ticker]


def test_trades_of_a_kind_and_currency(dr: DeribitAdapter) -> None:
    """``trades.future.BTC.100ms`` names each trade's instrument; a combo's trade is counted, not reported."""
    assert dr.parse("c", raw("trades_kind.json"), T) == [
        Trade("deribit", "BTC/USD:BTC-241227", 1724900200.001, T, 61250.0, 0.02, "buy", "311893-77")
    ]
    assert dr.stats["ignored.combo"] == 1


# -- tickers and funding --------------------------------------------------------------------------


def test_perpetual_ticker_and_derivative_ticker(dr: DeribitAdapter) -> None:
    """The documented BTC-PERPETUAL ticker: sizes in USD, 24 h volume in BTC and USD, funding and open interest."""
    ts = 1623060194.301
    assert dr.parse("c", raw("ticker_perpetual.json"), T) == [
        Ticker(
            "deribit",
            PERP,
            ts,
            T,
            36442.5,
            5000.0,
            36443.0,
            100.0,
            last=36457.5,
            high=36824.5,
            low=35213.5,
            volume=7871.02139035,
            quote_volume=284061480.0,
        ),
        DerivativeTicker(
            "deribit",
            PERP,
            ts,
            T,
            mark_price=36446.51,
            index_price=36441.64,
            funding_rate=0.0,
            open_interest=502097590.0,  # USD contracts
            open_interest_value=502097590.0,
            last_price=36457.5,
        ),
    ]
    # The same derivative fields again: only the ticker.
    again = edited("ticker_perpetual.json", best_bid_amount=4000)
    assert [type(e) for e in dr.parse("c", again, T + 1)] == [Ticker]
    moved = edited("ticker_perpetual.json", mark_price=36450.0, current_funding=0.00012)
    (_, funding) = dr.parse("c", moved, T + 2)
    assert isinstance(funding, DerivativeTicker)
    assert (funding.mark_price, funding.funding_rate, funding.received) == (36450.0, 0.00012, T + 2)


def test_option_ticker_with_an_empty_side(dr: DeribitAdapter) -> None:
    """An option's ticker: ``best_ask_price`` 0 is "no ask"; options have no derivative ticker."""
    assert dr.parse("c", raw("ticker_option.json"), T) == [
        Ticker(
            "deribit",
            "BTC/USD:BTC-241227-100000-C",
            1724900123.5,
            T,
            0.041,
            12.5,
            None,
            None,
            last=0.0415,
            high=0.0455,
            low=0.041,
            volume=142.3,
        )
    ]


def test_linear_open_interest_value_is_in_the_quote(dr: DeribitAdapter) -> None:
    """Linear open interest is the coin; its value is ``open_interest * mark`` in USDC."""
    msg = orjson.loads(edited("ticker_perpetual.json", open_interest=12.5, mark_price=60000.0))
    msg["params"]["channel"] = "ticker.BTC_USDC-PERPETUAL.100ms"
    (_, funding) = dr.parse("c", orjson.dumps(msg).decode(), T)
    assert isinstance(funding, DerivativeTicker)
    assert (funding.symbol, funding.open_interest, funding.open_interest_value) == ("BTC/USDC:USDC", 12.5, 750000.0)


# -- books ----------------------------------------------------------------------------------------


def test_book_snapshot_then_a_linked_change(dr: DeribitAdapter) -> None:
    """The snapshot loads the book at ``change_id``; a change whose ``prev_change_id`` is it applies."""
    assert dr.parse("c", raw("book_snapshot.json"), T) == [
        Book(
            "deribit",
            PERP,
            1554373962.454,
            T,
            True,
            [(5042.34, 30.0), (5041.94, 20.0)],
            [(5042.64, 40.0), (5043.3, 40.0)],
            297217,
        )
    ]
    # "With 100ms aggregation change_id jumps by more than 1": only the link matters.
    assert dr.parse("c", raw("book_change.json"), T + 1) == [
        Book("deribit", PERP, 1554373963.112, T + 1, False, [(5041.94, 0.0), (5042.34, 50.0)], [(5042.5, 10.0)], 297221)
    ]
    book = dr.book(PERP)
    assert book is not None
    assert (book.best_bid(), book.best_ask(), book.sequence) == ((5042.34, 50.0), (5042.5, 10.0), 297221)


def test_a_broken_link_resyncs_that_book_only(dr: DeribitAdapter) -> None:
    """A change that does not name the last ``change_id`` rebuilds that one book by resubscribing its channel."""
    dr.parse("c", raw("book_snapshot.json"), T)
    other = orjson.loads(raw("book_snapshot.json"))
    other["params"]["channel"] = "book.BTC-27DEC24.100ms"
    dr.parse("c", orjson.dumps(other).decode(), T)
    out = dr.parse("c", edited("book_change.json", prev_change_id=297219, change_id=297222), T + 1)
    resync, unsubscribe, subscribe = out
    assert resync == Resync("deribit", PERP, None, T + 1, "gap", "expected previous id 297217, got 297219")
    assert isinstance(unsubscribe, SendFrame) and unsubscribe.conn == "c"
    assert sent(unsubscribe)["method"] == "public/unsubscribe"
    assert sent(subscribe)["method"] == "public/subscribe"
    assert sent(subscribe)["params"] == {"channels": ["book.BTC-PERPETUAL.100ms"]}
    book, future = dr.book(PERP), dr.book("BTC/USD:BTC-241227")
    assert book is not None and future is not None
    assert (book.synced, future.synced) == (False, True)
    # The resubscription's snapshot brings it back.
    (snapshot,) = dr.parse("c", raw("book_snapshot.json"), T + 2)
    assert isinstance(snapshot, Book) and snapshot.snapshot
    assert book.synced


def test_a_refused_resubscription_renews_the_connection(dr: DeribitAdapter) -> None:
    """If the server refuses a book's resubscription, only a new connection brings the book back."""
    dr.parse("c", raw("book_snapshot.json"), T)
    _, _, subscribe = dr.parse("c", edited("book_change.json", prev_change_id=1), T + 1)
    refusal = orjson.loads(raw("error_reply.json")) | {"id": sent(subscribe)["id"]}
    error, reconnect = dr.parse("c", orjson.dumps(refusal).decode(), T + 2)
    assert isinstance(error, Error) and error.detail == "public/subscribe: 10028 too_many_requests"
    assert reconnect == Reconnect("c", "a book resubscription was refused: public/subscribe: 10028 too_many_requests")


def test_a_change_before_any_snapshot_resubscribes_the_recorded_channel(dr: DeribitAdapter) -> None:
    """The documented BTC_USDC-PERPETUAL change arrives first: the book asks for a snapshot on that ``raw`` channel."""
    unsubscribe, subscribe = dr.parse("c", raw("book_change_usdc.json"), T)
    assert sent(unsubscribe)["params"] == sent(subscribe)["params"] == {"channels": ["book.BTC_USDC-PERPETUAL.raw"]}
    assert dr.books.stats["delta_before_snapshot"] == 1


def test_snapshot_without_a_type_field(dr: DeribitAdapter) -> None:
    """Older sessions send no ``type``: the message without ``prev_change_id`` is the snapshot."""
    (book,) = dr.parse("c", raw("book_snapshot_untyped.json"), T)
    assert book == Book(
        "deribit",
        PERP,
        1598232105.378,
        T,
        True,
        [(11618.5, 279310.0), (11618.0, 5880.0)],
        [(11619.0, 121430.0)],
        21486665526,
    )


def test_grouped_book_is_a_whole_book_each_time(dr: DeribitAdapter) -> None:
    """``book.<i>.none.10.100ms`` carries the top levels as ``[price, amount]``: each message replaces the book."""
    (book,) = dr.parse("c", raw("book_grouped.json"), T)
    assert book == Book("deribit", PERP, 1554375447.971, T, True, [(160.0, 40.0)], [(161.0, 20.0)], 109615)
    # A second book channel of the same instrument does not fight over the book.
    assert dr.parse("c", raw("book_snapshot.json"), T) == []
    assert dr.stats["ignored.second_book"] == 1


def test_heartbeats_keep_the_connections_books_fresh(dr: DeribitAdapter) -> None:
    """A quiet book is not stale while its connection's heartbeats arrive."""
    dr.parse("c", raw("book_snapshot.json"), T)
    assert dr.parse("c", raw("heartbeat.json"), T + 80) == []
    assert dr.stats["ignored.heartbeat"] == 1
    assert dr.check(T + 100) == []
    (resync, *_) = dr.check(T + 171)
    assert isinstance(resync, Resync) and resync.reason == "stale"


# -- candles --------------------------------------------------------------------------------------


def test_a_bar_cut_by_a_dropped_connection_is_never_emitted_closed(dr: DeribitAdapter) -> None:
    """Updates missed while the connection was down leave the bar's last values unfinished: the
    next connection's bar starts afresh instead of closing the old one with stale values."""
    (forming,) = dr.parse("c", raw("chart.json"), T)
    assert isinstance(forming, Candle) and not forming.closed
    dr.disconnected("c", "closed", T + 1)
    msg = orjson.loads(raw("chart.json"))
    msg["params"]["data"] |= {"tick": 1573645620000}  # nine minutes on, on the new connection
    (new,) = dr.parse("d", orjson.dumps(msg).decode(), T + 540)
    assert isinstance(new, Candle) and (new.start, new.closed) == (1573645620.0, False)
    assert dr.stats["ignored.bar_cut_by_disconnect"] == 1


def test_chart_bars_close_when_the_next_one_starts(dr: DeribitAdapter) -> None:
    """The documented ``chart.trades.BTC-PERPETUAL.1`` bar (keys in another order) forms until the next starts."""
    forming = Candle(
        "deribit",
        PERP,
        None,
        T,
        "1m",
        1573645080.0,
        1573645140.0,
        8869.79,
        8870.31,
        8788.25,
        8791.25,
        0.05219351,
        None,
        False,
    )
    assert dr.parse("c", raw("chart.json"), T) == [forming]
    msg = orjson.loads(raw("chart.json"))
    msg["params"]["data"] |= {"tick": 1573645140000, "open": 8791.25, "high": 8795.0, "low": 8791.25, "close": 8795.0}
    msg["params"]["data"] |= {"volume": 0.0113, "cost": 100}
    closed, new = dr.parse("c", orjson.dumps(msg).decode(), T + 60)
    assert closed == Candle(
        "deribit",
        PERP,
        None,
        T + 60,
        "1m",
        1573645080.0,
        1573645140.0,
        8869.79,
        8870.31,
        8788.25,
        8791.25,
        0.05219351,
        None,
        True,
    )
    assert isinstance(new, Candle) and (new.start, new.close, new.volume, new.closed) == (
        1573645140.0,
        8795.0,
        0.0113,
        False,
    )


# -- control frames and replies ---------------------------------------------------------------------


def test_test_request_is_answered_with_public_test(dr: DeribitAdapter) -> None:
    """ "Your software should respond to test_request messages by sending a public/test request"."""
    (answer_frame,) = dr.receive("c", raw("test_request.json"), T)
    assert isinstance(answer_frame, SendFrame) and answer_frame.conn == "c"
    request = sent(answer_frame)
    assert (request["method"], request["params"]) == ("public/test", {})
    reply = orjson.loads(raw("test_reply.json")) | {"id": request["id"]}
    assert dr.receive("c", orjson.dumps(reply).decode(), T) == []
    assert (dr.stats["ignored.test_request"], dr.stats["ignored.pong"]) == (1, 1)
    assert "c" not in dr.data_at  # heartbeats and replies are no data: a silent feed is still detected


def test_replies_are_counted_and_refusals_reported(dr: DeribitAdapter) -> None:
    """Acks, auth answers and unused channels are counted; a channel missing from a subscribe reply is reported."""
    (plan,) = dr.plan([Subscription(PERP, "trades"), Subscription(PERP, "book"), Subscription(PERP, "ticker")])
    heartbeat_id, subscribe_id = (orjson.loads(frame)["id"] for frame in plan.subscribe)
    ok = orjson.loads(raw("set_heartbeat_reply.json")) | {"id": heartbeat_id}
    assert dr.parse("c", orjson.dumps(ok).decode(), T) == []
    # The reply lists trades and book: the ticker channel was refused.
    reply = orjson.loads(raw("subscribe_reply.json")) | {"id": subscribe_id}
    (error,) = dr.parse("c", orjson.dumps(reply).decode(), T)
    assert isinstance(error, Error)
    assert (error.reason, error.detail) == ("rejected", "1 channel(s) not subscribed: ticker.BTC-PERPETUAL.100ms")
    (refused,) = dr.parse("c", raw("error_reply.json"), T)
    assert isinstance(refused, Error) and refused.detail == "request 9: 10028 too_many_requests"
    for name in ("auth_reply.json", "quote.json", "platform_state.json", "subscribe_reply.json"):
        assert dr.parse("c", raw(name), T) == []
    assert dict(dr.stats) == {
        "ignored.ack": 3,
        "ignored.quote": 1,
        "ignored.platform_state": 1,
        "error.rejected": 2,
    }


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ('{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-PERP', "malformed"),
        (raw("trades_option.json").replace('"buy"', '"sideways"'), "malformed"),
        (
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"nosuch.BTC-PERPETUAL.100ms","data":{}}}',
            "unknown_channel",
        ),
        (
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.BTC-NOPE.100ms","data":[]}}',
            "unknown_symbol",
        ),
        (
            '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-PERPETUAL.1s","data":{}}}',
            "unknown_channel",
        ),
        ('{"jsonrpc":"2.0","method":"subscription","params":{"data":{}}}', "malformed"),
        ('{"jsonrpc":"2.0","method":"heartbeat","params":{"type":"nap"}}', "unknown_message"),
        ('{"jsonrpc":"2.0","method":"notify","params":{}}', "unknown_message"),
        ("[]", "malformed"),
    ],
)
def test_bad_frames_are_errors(dr: DeribitAdapter, frame: str, reason: str) -> None:
    """Frames that are no Deribit message, name no channel or instrument Deribit has, or break their shape."""
    (error,) = dr.receive("c", frame, T)
    assert isinstance(error, Error) and error.reason == reason, error


@pytest.mark.parametrize(
    "change",
    [
        ('"price":8950.0', '"price":NaN'),
        ('"price":8950.0', '"price":0'),
        ('"amount":10.0', '"amount":-1.0'),
        ('"timestamp":1590484156350', '"timestamp":1152921504606846976'),
        ('"trade_id":"48079254"', '"trade_id":5'),
    ],
)
def test_impossible_trade_values_are_rejected_while_decoding(dr: DeribitAdapter, change: tuple[str, str]) -> None:
    """NaN, zero or negative values, times past 2**53 ms and wrong types never become events."""
    (error,) = dr.receive("c", raw("trades.json").replace(*change, 1), T)
    assert isinstance(error, Error) and error.reason == "malformed"


def test_busy_channels_are_routed_while_wanted(dr: DeribitAdapter, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ticker channel is routed once busy (same events); a plan that no longer wants tickers unroutes it."""
    monkeypatch.setattr(fast, "ROUTE_AFTER", 2)
    quoted = raw("ticker_option.json").replace('"best_ask_price":0.0,', '"best_ask_price":0.0425,')
    outs = [dr.receive("c", quoted, T) for _ in range(4)]
    assert all(out == outs[0] for out in outs) and [type(e) for e in outs[0]] == [Ticker]
    assert outs[0][0].ask == 0.0425  # type: ignore[union-attr]
    assert dr._routed == ({("c", "ticker.BTC-27DEC24-100000-C.100ms"): "ticker"} if dr._fast else {})
    dr.plan([Subscription("BTC/USD:BTC-241227-100000-C", "book")])
    assert dr._routed == {}
    assert dr.receive("c", quoted, T + 5) == []


# -- plans ----------------------------------------------------------------------------------------


def test_plan_heartbeat_then_batched_subscriptions() -> None:
    """One connection: set_heartbeat first, then the channels in requests of at most 100; books listed."""
    adapter = loaded()
    subs = [
        Subscription(PERP, "trades"),
        Subscription(PERP, "liquidations"),
        Subscription(PERP, "ticker"),
        Subscription(PERP, "funding"),
        Subscription(PERP, "book"),
        Subscription(PERP, "candles", "1h"),
        Subscription("BTC/USD:BTC-241227-100000-C", "book"),
    ]
    (plan,) = adapter.plan(subs)
    heartbeat, subscribe = (orjson.loads(frame) for frame in plan.subscribe)
    assert (heartbeat["method"], heartbeat["params"]) == ("public/set_heartbeat", {"interval": 30})
    assert subscribe["method"] == "public/subscribe"
    assert subscribe["params"]["channels"] == [
        "trades.BTC-PERPETUAL.100ms",
        "ticker.BTC-PERPETUAL.100ms",
        "book.BTC-PERPETUAL.100ms",
        "chart.trades.BTC-PERPETUAL.60",
        "book.BTC-27DEC24-100000-C.100ms",
    ]
    assert (plan.url, plan.symbols, plan.control_interval) == (URL, [PERP, "BTC/USD:BTC-241227-100000-C"], 0.1)
    assert (plan.idle_timeout, plan.ping_interval) == (120.0, 30.0)
    # Without tickers a connection may be quiet for long: far options' books and trades.
    (quiet,) = adapter.plan([Subscription("BTC/USD:BTC-241227-100000-C", c) for c in ("book", "trades")])
    assert quiet.idle_timeout == 900.0


def test_plan_shards_and_refuses_what_deribit_has_not() -> None:
    """Connections hold at most ``channels_per_connection`` channels; funding is for perpetuals and futures."""
    adapter = loaded()
    adapter.channels_per_connection = 3  # type: ignore[misc]
    adapter.channels_per_request = 2  # type: ignore[misc]
    symbols = [PERP, "BTC/USD:BTC-241227", "BTC/USDC:USDC"]
    plans = adapter.plan([Subscription(s, c) for s in symbols for c in ("trades", "book")])
    assert [p.conn for p in plans] == ["deribit.0", "deribit.1", "deribit.2"]
    assert [len(p.subscribe) for p in plans] == [2, 2, 2]
    with pytest.raises(UsageError, match="funding is for perpetuals and futures"):
        adapter.plan([Subscription("BTC/USD:BTC-241227-100000-C", "funding")])
    with pytest.raises(UsageError, match="no candle interval"):
        adapter.plan([Subscription(PERP, "candles", "1s")])
    with pytest.raises(UsageError, match="no liquidations"):
        adapter.plan([Subscription("BTC/USDC", "liquidations")])


def test_many_resyncs_renew_the_connection_instead() -> None:
    """Past the resubscription budget, a connection is renewed: each request costs credits."""
    adapter = loaded()
    adapter.resubscribe_budget = 1  # type: ignore[misc]
    adapter.parse("c", raw("book_snapshot.json"), T)
    broken = edited("book_change.json", prev_change_id=1, change_id=297300)
    assert [type(a) for a in adapter.parse("c", broken, T)] == [Resync, SendFrame, SendFrame]
    adapter.parse("c", raw("book_snapshot.json"), T + 1)
    _, reconnect = adapter.parse("c", edited("book_change.json", prev_change_id=2, change_id=297301), T + 2)
    assert isinstance(reconnect, Reconnect) and reconnect.conn == "c"
