"""ProBit adapter: the documented and captured ``marketdata`` shapes with exact values, resets and
unsequenced books, deduplicated trades, the plan, cryptofeed-style captures and the simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from collector.actions import RestRequest, SendFrame
from collector.book import UNSEQUENCED, BookState
from collector.capture import Frame
from collector.errors import UnknownChannel, UnknownSymbol, UsageError
from collector.exchanges import EXCHANGES, Subscription
from collector.exchanges.probit import ProbitAdapter
from collector.exchanges.probit.sim import ProbitWire
from collector.models import Book, Error, Resync, Ticker, Trade
from collector.replay import Replay
from collector.simulator.wire import RestCall

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "probit"
T = 1700000000.5
CONN = "probit.0"


def raw(name: str) -> str:
    return (FIXTURES / name).read_text().strip()


def edited(name: str, **fields: Any) -> str:
    msg = json.loads(raw(name))
    msg.update(fields)
    return orjson.dumps(msg).decode()


def book(market: str, entries: list[tuple[str, str, str]], *, reset: bool = False) -> str:
    msg: dict[str, Any] = {"channel": "marketdata", "market_id": market, "status": "ok", "lag": 0}
    msg["order_books"] = [{"side": s, "price": p, "quantity": q} for s, p, q in entries]
    if reset:
        msg["reset"] = True
    return orjson.dumps(msg).decode()


@pytest.fixture
def probit() -> ProbitAdapter:
    adapter = ProbitAdapter()
    request = adapter.instrument_requests()[0]
    assert request == RestRequest("https://api.probit.com/api/exchange/v1/market", "instruments")
    assert adapter.on_http(request, 200, raw("market.json").encode(), T) == []
    return adapter


# -- instruments ----------------------------------------------------------------------------------


def test_markets_from_currency_ids_and_closed_ones_skipped(probit: ProbitAdapter) -> None:
    """Symbols come from ``base_currency_id``/``quote_currency_id``, both ways; ``closed`` markets are left out."""
    assert {inst.native: inst.symbol for inst in probit.instruments} == {
        "MONA-USDT": "MONA/USDT",
        "BTC-USDT": "BTC/USDT",
        "ETH-BTC": "ETH/BTC",
        "ETH-USDT": "ETH/USDT",
    }
    assert probit.instruments.by_symbol("ETH/BTC").native == "ETH-BTC"
    mona = probit.instruments.by_native("MONA-USDT")
    assert (mona.kind, mona.contract_size, mona.tick_size, mona.step_size) == ("spot", 1.0, 0.001, 0.0001)
    with pytest.raises(UnknownSymbol):
        probit.instruments.by_symbol("LUNA/USDT")


# -- books ----------------------------------------------------------------------------------------


def test_reset_is_the_whole_book_without_the_price_zero_entry(probit: ProbitAdapter) -> None:
    """``reset: true`` replaces the book; the captured ``buy`` at price ``"0"`` is no level."""
    assert probit.parse(CONN, raw("book_reset.json"), T) == [
        Book("probit", "ETH/BTC", None, T, True, [(0.0165, 0.47)], [(6400.0, 0.001)], None)
    ]
    assert probit.books.state("ETH/BTC") is BookState.LIVE


def test_reset_lists_levels_best_first_without_empty_ones(probit: ProbitAdapter) -> None:
    """ProBit promises no order of a reset's entries: the snapshot event is best first, and an
    entry of quantity ``"0"`` is no level."""
    entries = [("sell", "22003", "1"), ("buy", "21990", "2"), ("sell", "22001", "0"), ("buy", "21999", "3")]
    entries += [("sell", "22002", "4")]
    assert probit.parse(CONN, book("BTC-USDT", entries, reset=True), T) == [
        Book(
            "probit",
            "BTC/USDT",
            None,
            T,
            True,
            [(21999.0, 3.0), (21990.0, 2.0)],
            [(22002.0, 4.0), (22003.0, 1.0)],
            None,
        )
    ]


def test_delta_sets_absolute_sizes_and_zero_removes(probit: ProbitAdapter) -> None:
    """Later messages carry changed levels; ``"0"`` removes (a level the book does not hold is fine)."""
    probit.parse(CONN, raw("book_reset.json"), T)
    assert probit.parse(CONN, raw("book_delta.json"), T + 1) == [
        Book("probit", "ETH/BTC", None, T + 1, False, [(0.0281, 48.541)], [(0.0283, 0.0)], None)
    ]
    held = probit.book("ETH/BTC")
    assert held is not None
    assert (held.bids(), held.asks()) == ({0.0165: 0.47, 0.0281: 48.541}, {6400.0: 0.001})


def test_a_crossed_book_resubscribes_that_market(probit: ProbitAdapter) -> None:
    """No sequence exists: a crossed book is the loss that shows; that market is unsubscribed and subscribed again."""
    probit.plan([Subscription("ETH/BTC", "book"), Subscription("BTC/USDT", "book")])
    probit.parse(CONN, raw("book_reset.json"), T)
    probit.parse(CONN, book("BTC-USDT", [("buy", "22000", "1"), ("sell", "22001", "1")], reset=True), T)
    out = probit.parse(CONN, book("ETH-BTC", [("buy", "7000", "1")]), T + 1)
    assert out == [
        Resync("probit", "ETH/BTC", None, T + 1, "crossed", "bid (7000.0, 1.0) >= ask (6400.0, 0.001)"),
        SendFrame(CONN, '{"type":"unsubscribe","channel":"marketdata","market_id":"ETH-BTC"}'),
        SendFrame(
            CONN,
            '{"type":"subscribe","channel":"marketdata","market_id":"ETH-BTC","interval":100,"filter":["order_books"]}',
        ),
    ]
    assert probit.books.state("BTC/USDT") is BookState.LIVE
    assert probit.parse(CONN, raw("book_delta.json"), T + 2) == []  # waiting for the new reset
    assert [type(e) for e in probit.parse(CONN, raw("book_reset.json"), T + 3)] == [Book]


def test_grouped_book_of_a_recording_feeds_the_book(probit: ProbitAdapter) -> None:
    """A recorder's ``order_books_l2`` (ccxt's default) is read like ``order_books``; another book is not mixed in."""
    assert probit.parse(CONN, raw("book_ccxt_l2.json"), T) == [
        Book("probit", "BTC/USDT", None, T, True, [(1420.7, 0.057)], [(1421.5, 0.2)], None)
    ]
    raw_levels = book("BTC-USDT", [("buy", "1", "1")])
    assert probit.parse(CONN, raw_levels, T + 1) == []
    assert probit.stats["ignored.other_book"] == 1
    delta = edited(
        "book_ccxt_l2.json", reset=False, order_books_l2=[{"side": "buy", "price": "1420.7", "quantity": "0"}]
    )
    assert probit.parse(CONN, delta, T + 2) == [
        Book("probit", "BTC/USDT", None, T + 2, False, [(1420.7, 0.0)], [], None)
    ]


def test_rule_is_unsequenced() -> None:
    """ProBit book messages have no ids and no checksum."""
    assert ProbitAdapter().books.rule is UNSEQUENCED
    wire = ProbitWire()
    assert (wire.checksums, wire.sequenced) == (False, False)
    with pytest.raises(UsageError):
        wire.corrupt(None)  # type: ignore[arg-type]


# -- trades and tickers ---------------------------------------------------------------------------


def test_recent_trades_with_taker_side_and_iso_times(probit: ProbitAdapter) -> None:
    """The reset carries history (oldest first), then new trades; ``side`` is the taker's."""
    assert probit.parse(CONN, raw("trades_reset.json"), T) == [
        Trade("probit", "ETH/BTC", 1604203146.277, T, 0.028229, 3.117, "buy", "ETH-BTC:4429182"),
        Trade("probit", "ETH/BTC", 1604203154.528, T, 0.028227, 1.793, "buy", "ETH-BTC:4429183"),
    ]
    assert probit.parse(CONN, raw("trades.json"), T + 1) == [
        Trade("probit", "ETH/BTC", 1604204535.117, T + 1, 0.028235, 2.203, "buy", "ETH-BTC:4429282")
    ]


def test_trades_sent_again_after_a_resubscription_are_dropped(probit: ProbitAdapter) -> None:
    """A new ``reset`` repeats recent history: trades already reported are not reported twice."""
    probit.parse(CONN, raw("trades_reset.json"), T)
    assert probit.parse(CONN, raw("trades_reset.json"), T + 5) == []
    assert probit.stats["ignored.duplicate_trade"] == 2
    sell = edited(
        "trades.json",
        recent_trades=[json.loads(raw("trades.json"))["recent_trades"][0] | {"side": "sell", "id": "ETH-BTC:9"}],
    )
    assert [t.side for t in probit.parse(CONN, sell, T + 6)] == ["sell"]  # type: ignore[union-attr]


def test_ticker_without_and_with_the_book(probit: ProbitAdapter) -> None:
    """The ticker has no best bid/offer: the maintained book's when there is one; ``open`` is ``last - change``."""
    expected = Ticker(
        "probit",
        "BTC/USDT",
        1658413084.0,
        T,
        None,
        None,
        None,
        None,
        last=22591.3,
        open=23815.3,
        high=39790.7,
        low=22500.1,
        volume=1002.32005445,
        quote_volume=23304489.385351021,
    )
    assert probit.parse(CONN, raw("ticker.json"), T) == [expected]
    probit.parse(CONN, book("BTC-USDT", [("buy", "22590", "0.5"), ("sell", "22592", "0.25")], reset=True), T)
    out = probit.parse(CONN, raw("ticker.json"), T)
    assert out == [
        Ticker(
            "probit",
            "BTC/USDT",
            1658413084.0,
            T,
            22590.0,
            0.5,
            22592.0,
            0.25,
            last=22591.3,
            open=23815.3,
            high=39790.7,
            low=22500.1,
            volume=1002.32005445,
            quote_volume=23304489.385351021,
        )
    ]


def test_one_message_may_carry_every_filter(probit: ProbitAdapter) -> None:
    """ "Several filters can arrive in one message": book, trades and ticker are all read, book first."""
    msg = json.loads(raw("ticker.json"))
    msg["recent_trades"] = json.loads(raw("trades_ccxt.json"))["recent_trades"]
    msg["order_books"] = [
        {"side": "buy", "price": "22700", "quantity": "1"},
        {"side": "sell", "price": "22702", "quantity": "2"},
    ]
    out = probit.parse(CONN, orjson.dumps(msg), T)
    assert [type(e) for e in out] == [Book, Trade, Ticker]
    assert out[1] == Trade("probit", "BTC/USDT", 1658410840.983, T, 22701.4, 0.011011, "buy", "BTC-USDT:8010233")
    assert (out[2].bid, out[2].ask) == (22700.0, 22702.0)  # type: ignore[union-attr]


# -- control and junk -----------------------------------------------------------------------------


def test_unavailable_market_resets_its_book(probit: ProbitAdapter) -> None:
    """``status`` other than ``ok`` (the docs list ``unavailable``): the book is dropped until the next reset."""
    probit.parse(CONN, raw("book_reset.json"), T)
    out = probit.receive(CONN, edited("book_delta.json", status="unavailable"), T + 1)
    assert out == [Resync("probit", "ETH/BTC", None, T + 1, "maintenance", "market status unavailable")]
    assert probit.stats["ignored.unavailable"] == 1


def test_other_channels_errors_and_junk(probit: ProbitAdapter) -> None:
    """Other ProBit channels are counted; a refusal and frames that are no ProBit message are errors."""
    for name, kind in (("balance.json", "balance"), ("trade_history.json", "trade_history")):
        assert probit.receive(CONN, raw(name), T) == []
        assert probit.stats["ignored." + kind] == 1
    assert probit.receive(CONN, raw("authorization.json"), T) == []
    refused = probit.receive(CONN, raw("error.json"), T)
    assert [(type(e), e.reason) for e in refused] == [(Error, "rejected")]  # type: ignore[union-attr]
    assert "INVALID_ARGUMENT" in refused[0].detail  # type: ignore[union-attr]
    cases = {
        edited("trades.json", market_id="NOPE-USDT"): "unknown_symbol",
        '{"channel":"nonsense"}': "unknown_channel",
        "{}": "unknown_message",
        book("ETH-BTC", [("mid", "1", "1")]): "malformed",
        '{"channel":"marketdata","market_id":"ETH-BTC","recent_trades":[{"id":"x","price":"NaN"}]}': "malformed",
        "[]": "malformed",
    }
    for frame, reason in cases.items():
        out = probit.receive(CONN, frame, T)
        assert [(type(e), e.reason) for e in out] == [(Error, reason)], frame  # type: ignore[union-attr]


# -- plan and replay -------------------------------------------------------------------------------


def test_plan_sends_every_filter_of_a_market_in_one_request(probit: ProbitAdapter) -> None:
    """One ``subscribe`` per market with the union of its filters: a second request would replace the first."""
    subs = [
        Subscription("BTC/USDT", "trades"),
        Subscription("BTC/USDT", "book"),
        Subscription("BTC/USDT", "ticker"),
        Subscription("ETH/USDT", "ticker"),
    ]
    (plan,) = probit.plan(subs)
    assert plan.url == "wss://api.probit.com/api/exchange/v1/ws"
    assert plan.subscribe == [
        '{"type":"subscribe","channel":"marketdata","market_id":"BTC-USDT","interval":100,'
        '"filter":["recent_trades","order_books","ticker"]}',
        '{"type":"subscribe","channel":"marketdata","market_id":"ETH-USDT","interval":100,"filter":["ticker"]}',
    ]
    assert plan.symbols == ["BTC/USDT"]
    assert (plan.ping_interval, plan.app_ping, plan.idle_timeout, plan.control_interval) == (20.0, None, 120.0, 0.2)
    with pytest.raises(UnknownChannel):
        probit.plan([Subscription("BTC/USDT", "candles")])


def test_registered_and_recognised() -> None:
    """ProBit Global, ProBit Korea and the demo hosts replay with this adapter."""
    assert EXCHANGES["probit"] is ProbitAdapter
    for url in ("wss://api.probit.com/api/exchange/v1/ws", "wss://api.probit.kr/api/exchange/v1/ws"):
        assert ProbitAdapter.recognizes(url)
    assert not ProbitAdapter.recognizes("wss://wsapi.gopax.co.kr")


def test_a_cryptofeed_style_capture_replays() -> None:
    """cryptofeed subscribes each filter apart (``order_books``, then ``recent_trades``, interval 100) and
    reads its symbols from ``/api/exchange/v1/market``: such a capture replays to the same events."""
    frames = [
        Frame(
            "header",
            "",
            T,
            '{"t":"header","format":2,"exchange":"PROBIT","config":{"l2_book":["ETH-BTC"],"trades":["ETH-BTC"]}}',
        ),
        Frame("http", "http", T, raw("market.json"), "https://api.probit.com/api/exchange/v1/market"),
        Frame("connect", "PROBIT.ws.1", T + 0.1, "", "wss://api.probit.com/api/exchange/v1/ws"),
        Frame(
            "send",
            "PROBIT.ws.1",
            T + 0.2,
            '{"type":"subscribe","channel":"marketdata","filter":["order_books"],"interval":100,"market_id":"ETH-BTC"}',
        ),
        Frame(
            "send",
            "PROBIT.ws.1",
            T + 0.2,
            '{"type":"subscribe","channel":"marketdata","filter":["recent_trades"],"interval":100,"market_id":"ETH-BTC"}',
        ),
        Frame("recv", "PROBIT.ws.1", T + 0.3, raw("book_reset.json")),
        Frame("recv", "PROBIT.ws.1", T + 0.4, raw("trades_reset.json")),
        Frame("recv", "PROBIT.ws.1", T + 0.5, raw("book_delta.json")),
        Frame("recv", "PROBIT.ws.1", T + 0.6, raw("trades.json")),
    ]
    replay = Replay(frames)
    events = [e for e in replay if isinstance(e, Book | Trade)]
    assert replay.exchange == "probit"
    assert [(type(e).__name__, e.received) for e in events] == [
        ("Book", T + 0.3),
        ("Trade", T + 0.4),
        ("Trade", T + 0.4),
        ("Book", T + 0.5),
        ("Trade", T + 0.6),
    ]
    assert replay.adapter.stats["error.unknown_symbol"] == 0


# -- the simulator ---------------------------------------------------------------------------------


def _wire() -> tuple[ProbitWire, dict[str, Any]]:
    wire = ProbitWire()
    markets = {}
    for symbol in ("BTC/USDT", "BTC/KRW"):
        spec = wire.instrument(symbol, 1)
        markets[spec.native] = wire.market(spec, 1, 40)
    return wire, markets


def test_simulator_subscriptions_replace_and_reset() -> None:
    """A request replaces the market's filters and answers with a reset holding the price-0 ``buy``."""
    wire, markets = _wire()
    session = wire.open("")

    def send(request: dict[str, Any]) -> Any:
        return wire.on_client_text(session, orjson.dumps(request).decode(), markets, 1_700_000_000_000)

    base = {"type": "subscribe", "channel": "marketdata", "market_id": "BTC-USDT", "interval": 100}
    first = send(base | {"filter": ["order_books"]})
    reset = orjson.loads(first.frames[0])
    assert (first.reply, first.subscribe, reset["reset"]) == (None, ["BTC-USDT|order_books"], True)
    assert {"side": "buy", "price": "0", "quantity": reset["order_books"][40]["quantity"]} in reset["order_books"]
    second = send(base | {"filter": ["recent_trades", "ticker"]})
    assert (second.subscribe, second.unsubscribe) == (["BTC-USDT|recent_trades,ticker"], ["BTC-USDT|order_books"])
    assert set(orjson.loads(second.frames[0])) >= {"recent_trades", "ticker", "reset"}
    assert orjson.loads(send(base | {"interval": 250, "filter": ["ticker"]}).reply) == {
        "errorCode": "INVALID_ARGUMENT",
        "message": "",
        "details": {"interval": "invalid"},
    }
    assert (
        orjson.loads(send(base | {"market_id": "NOPE-USDT", "filter": ["ticker"]}).reply)["errorCode"]
        == "INVALID_MARKET"
    )
    assert send({"type": "unsubscribe", "channel": "marketdata", "market_id": "BTC-USDT"}).unsubscribe == [
        "BTC-USDT|recent_trades,ticker"
    ]


def test_simulator_prices_krw_at_a_premium_and_lists_markets() -> None:
    """ProBit Korea's KRW market: whole-won prices about 2.5 % above the USD price times 1,400."""
    wire, markets = _wire()
    krw = markets["BTC-KRW"].spec
    assert (krw.price_decimals, krw.start_ticks * 1000) == (0, 86_100_000)
    listing = orjson.loads(wire.rest(RestCall("GET", "/api/exchange/v1/market", {}), markets, 0).body)["data"]
    assert [(m["id"], m["base_currency_id"], m["quote_currency_id"], m["closed"]) for m in listing] == [
        ("BTC-USDT", "BTC", "USDT", False),
        ("BTC-KRW", "BTC", "KRW", False),
    ]
    adapter = ProbitAdapter()
    adapter.on_http(adapter.instrument_requests()[0], 200, orjson.dumps({"data": listing}), T)
    assert adapter.instruments.by_native("BTC-KRW").symbol == "BTC/KRW"
    book_answer = wire.rest(RestCall("GET", "/api/exchange/v1/order_book", {"market_id": "BTC-USDT"}), markets, 0)
    assert all(e["price"] != "0" for e in orjson.loads(book_answer.body)["data"])
    with pytest.raises(UnknownSymbol):
        wire.instrument("BTC/USDT:USDT", 1)
