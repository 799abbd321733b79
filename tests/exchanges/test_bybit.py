"""Bybit v5 adapter: parsers from the fact sheet's documented shapes, book rule, plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from collector.actions import RestRequest, SendFrame
from collector.errors import UnknownSymbol, UsageError
from collector.exchanges import EXCHANGES, ConnectionPlan, Subscription
from collector.exchanges.bybit import BybitAdapter
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

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bybit"
T = 1700000000.5  # receipt time handed to the adapter


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def edited(name: str, **data: Any) -> bytes:
    """A fixture with some ``data`` fields replaced (e.g. another update id)."""
    msg = json.loads(raw(name))
    msg["data"].update(data)
    return orjson.dumps(msg)


def with_data(name: str, **changes: Any) -> bytes:
    """A fixture with fields of ``data`` (or of its first element) changed; ``None`` removes one."""
    msg = json.loads(raw(name))
    data = msg["data"][0] if isinstance(msg["data"], list) else msg["data"]
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    return orjson.dumps(msg)


def info_request(category: str) -> RestRequest:
    return RestRequest(
        f"https://api.bybit.com/v5/market/instruments-info?category={category}&limit=1000", "instruments"
    )


@pytest.fixture
def bybit() -> BybitAdapter:
    adapter = BybitAdapter()
    for category in ("spot", "linear", "inverse"):
        assert adapter.on_http(info_request(category), 200, raw(f"instruments_{category}.json"), T) == []
        adapter.on_connect(ConnectionPlan(category, f"wss://stream.bybit.com/v5/public/{category}"), T)
    return adapter


# -- instruments --------------------------------------------------------------------------------


def test_instruments_map_to_unified_symbols(bybit: BybitAdapter) -> None:
    """Spot, linear (USDT, USDC, dated) and inverse (perpetual, dated) get ccxt-style symbols."""
    got = {inst.symbol: (inst.native, inst.kind, inst.settle, inst.expiry) for inst in bybit.instruments}
    assert got == {
        "BTC/USDT": ("BTCUSDT", "spot", None, None),
        "ETH/USDC": ("ETHUSDC", "spot", None, None),
        "BTC/USDT:USDT": ("BTCUSDT", "swap", "USDT", None),
        "BTC/USDT:USDT-250926": ("BTCUSDT-26SEP25", "future", "USDT", "250926"),
        "BTC/USDC:USDC": ("BTCPERP", "swap", "USDC", None),
        "BTC/USD:BTC": ("BTCUSD", "swap", "BTC", None),
        "BTC/USD:BTC-260327": ("BTCUSDH26", "future", "BTC", "260327"),
    }
    spot = bybit.instruments.by_symbol("BTC/USDT")
    assert (spot.tick_size, spot.step_size) == (0.01, 0.000001)
    assert bybit.market_of("BTC/USDT") == ("spot", "BTCUSDT")
    assert bybit.market_of("BTC/USDT:USDT") == ("linear", "BTCUSDT")


def test_instrument_pages_are_followed() -> None:
    """A listing page with ``nextPageCursor`` asks for the next page."""
    body = json.loads(raw("instruments_linear.json"))
    body["result"]["nextPageCursor"] = "first%3D1%26last%3D3"
    out = BybitAdapter().on_http(info_request("linear"), 200, orjson.dumps(body), T)
    assert out == [
        RestRequest(
            "https://api.bybit.com/v5/market/instruments-info?category=linear&limit=1000&cursor=first%3D1%26last%3D3",
            "instruments",
        )
    ]


def test_rejected_instrument_listing_is_an_error_event() -> None:
    """A non-zero ``retCode`` becomes an error event, not an exception."""
    adapter = BybitAdapter()
    out = adapter.on_http(info_request("spot"), 200, b'{"retCode":10001,"retMsg":"params error","result":{}}', T)
    assert out == [
        Error("bybit", None, None, T, "rest", "malformed", f"{info_request('spot').url}: retCode 10001: params error")
    ]
    assert adapter.stats["error.malformed"] == 1


# -- trades -------------------------------------------------------------------------------------


def test_linear_trades_batch(bybit: BybitAdapter) -> None:
    """Every element of ``data`` is a trade; ``S`` is the taker side, ``i`` the id."""
    assert bybit.parse("linear", raw("trade_linear.json"), T) == [
        Trade(
            "bybit", "BTC/USDT:USDT", 1672304486.865, T, 16578.5, 0.001, "buy", "20f43950-d8dd-5b31-9112-a178eb6023af"
        ),
        Trade(
            "bybit", "BTC/USDT:USDT", 1672304486.866, T, 16578.0, 0.25, "sell", "6e0a1c39-2f8e-5a0b-8d51-0c4f3b2a9e17"
        ),
    ]


def test_spot_trade_uses_the_spot_instrument(bybit: BybitAdapter) -> None:
    """``BTCUSDT`` on the spot connection is ``BTC/USDT``, not the linear perpetual."""
    assert bybit.parse("spot", raw("trade_spot.json"), T) == [
        Trade("bybit", "BTC/USDT", 1672304486.868, T, 16578.52, 0.000215, "sell", "2290000000061666327")
    ]


def test_inverse_trade_amount_is_in_base_units(bybit: BybitAdapter) -> None:
    """100 one-dollar contracts at 16578.5 are 100 / 16578.5 BTC."""
    assert bybit.parse("inverse", raw("trade_inverse.json"), T) == [
        Trade(
            "bybit",
            "BTC/USD:BTC",
            1672304486.899,
            T,
            16578.5,
            100 / 16578.5,
            "sell",
            "a1b2c3d4-0000-5000-8000-000000000001",
        )
    ]


# -- tickers ------------------------------------------------------------------------------------


def test_linear_ticker_delta_is_merged_into_the_snapshot(bybit: BybitAdapter) -> None:
    """A delta changes only the fields it carries; the event is always a full ticker."""
    snapshot = tickers(bybit.parse("linear", raw("ticker_linear_snapshot.json"), T))
    delta = tickers(bybit.parse("linear", raw("ticker_linear_delta.json"), T + 1))
    stats = {"last": 17216.0, "open": 16926.5, "high": 17281.5, "low": 16915.0}
    volumes = {"volume": 91705.276, "quote_volume": 1570383121.943499}
    assert snapshot == [
        Ticker("bybit", "BTC/USDT:USDT", 1673272861.686, T, 17215.5, 84.489, 17216.0, 83.02, **stats, **volumes)
    ]
    assert delta == [
        Ticker("bybit", "BTC/USDT:USDT", 1673272861.786, T + 1, 17215.0, 12.1, 17216.0, 83.02, **stats, **volumes)
    ]


def test_inverse_ticker_delta_and_volume_units(bybit: BybitAdapter) -> None:
    """Inverse ``turnover24h`` (BTC) is the base volume and ``volume24h`` (USD contracts) the quote volume."""
    bybit.parse("inverse", raw("ticker_inverse_snapshot.json"), T)
    assert tickers(bybit.parse("inverse", raw("ticker_inverse_delta.json"), T + 1)) == [
        Ticker(
            "bybit",
            "BTC/USD:BTC",
            1673272861.8,
            T + 1,
            17210.0,
            20000.0,
            17211.0,
            1200.0,
            last=17211.0,
            open=17031.5,
            high=17290.0,
            low=16990.0,
            volume=9846.31,
            quote_volume=168934612.0,
        )
    ]


def tickers(out: list[Any]) -> list[Any]:
    return [e for e in out if isinstance(e, Ticker)]


def test_linear_tickers_give_derivative_tickers_when_their_fields_change(bybit: BybitAdapter) -> None:
    """Mark, index, funding (signed), next funding and open interest (base coin, value in USDT) from
    the merged ticker; a delta that changes none of them gives no derivative ticker."""
    snapshot = bybit.parse("linear", raw("ticker_linear_snapshot.json"), T)
    assert snapshot[1:] == [
        DerivativeTicker(
            "bybit",
            "BTC/USDT:USDT",
            1673272861.686,
            T,
            mark_price=17217.33,
            index_price=17227.36,
            funding_rate=-0.000212,
            next_funding_time=1673280000.0,
            open_interest=68744.761,
            open_interest_value=1183601235.91,
            last_price=17216.0,
        )
    ]
    delta = bybit.parse("linear", raw("ticker_linear_delta.json"), T + 1)
    assert [(e.mark_price, e.open_interest_value) for e in delta if isinstance(e, DerivativeTicker)] == [
        (17217.1, 1183601224.1)
    ]
    bid_only = with_data("ticker_linear_delta.json", markPrice=None, openInterestValue=None)
    assert [type(e) for e in bybit.parse("linear", bid_only, T + 2)] == [Ticker]


def test_inverse_open_interest_is_usd_contracts_valued_in_usd(bybit: BybitAdapter) -> None:
    """Inverse ``openInterest`` counts 1 USD contracts: their USD value is the count (``openInterestValue`` is BTC)."""
    out = bybit.parse("inverse", raw("ticker_inverse_snapshot.json"), T)
    (derivative,) = [e for e in out if isinstance(e, DerivativeTicker)]
    assert (derivative.open_interest, derivative.open_interest_value) == (440571029.0, 440571029.0)
    assert (derivative.mark_price, derivative.index_price, derivative.funding_rate) == (17211.01, 17221.47, 0.0001)


def test_planned_channels_decide_which_events_a_ticker_gives(bybit: BybitAdapter) -> None:
    """``funding`` alone gives derivative tickers only; ``ticker`` alone gives tickers only."""
    bybit.plan([Subscription("BTC/USDT:USDT", "funding"), Subscription("BTC/USD:BTC", "ticker")])
    assert [type(e) for e in bybit.parse("linear", raw("ticker_linear_snapshot.json"), T)] == [DerivativeTicker]
    assert [type(e) for e in bybit.parse("inverse", raw("ticker_inverse_snapshot.json"), T)] == [Ticker]


def test_liquidations_carry_the_liquidation_orders_side(bybit: BybitAdapter) -> None:
    """``S`` is the liquidated position's side ("Buy": a long was liquidated, its order sold)."""
    assert bybit.parse("linear", raw("liquidation.json"), T) == [
        Liquidation("bybit", "BTC/USDT:USDT", 1739502302.929, T, "buy", 96512.4, 0.003)
    ]
    long_liquidated = with_data("liquidation.json", S="Buy", v="9651.24")
    frame = long_liquidated.replace(b"BTCUSDT", b"BTCUSD")
    assert bybit.parse("inverse", frame, T) == [
        Liquidation("bybit", "BTC/USD:BTC", 1739502302.929, T, "sell", 96512.4, 9651.24 / 96512.4)
    ]


def test_funding_and_liquidations_are_refused_on_spot(bybit: BybitAdapter) -> None:
    """Spot has no funding or liquidations: asking is a usage error naming the symbol."""
    with pytest.raises(UsageError, match="linear and inverse"):
        bybit.plan([Subscription("BTC/USDT", "funding")])


def test_ticker_delta_without_snapshot_is_counted(bybit: BybitAdapter) -> None:
    """A delta with nothing to merge into is ignored and counted, not guessed into a ticker."""
    assert bybit.parse("linear", raw("ticker_linear_delta.json"), T) == []
    assert bybit.stats["ignored.ticker_delta_before_snapshot"] == 1


def test_spot_ticker_takes_bid_ask_from_orderbook_1(bybit: BybitAdapter) -> None:
    """Spot tickers have no BBO: ``orderbook.1`` supplies it; an identical resend is dropped."""
    stats = {"last": 21109.77, "open": 20704.93, "high": 21426.99, "low": 20575.0}
    volumes = {"volume": 6780.866843, "quote_volume": 141946527.22907118}
    assert bybit.parse("spot", raw("ticker_spot.json"), T) == [
        Ticker("bybit", "BTC/USDT", 1673853746.003, T, None, None, None, None, **stats, **volumes)
    ]
    assert bybit.parse("spot", raw("orderbook1_spot.json"), T + 1) == [
        Ticker("bybit", "BTC/USDT", 1673853746.01, T + 1, 21109.76, 0.405671, 21109.77, 1.196372, **stats, **volumes)
    ]
    # "If unchanged for 3 s the same snapshot is re-sent with the same u."
    assert bybit.parse("spot", raw("orderbook1_spot.json"), T + 4) == []
    assert bybit.stats["ignored.bbo_repeat"] == 1
    assert bybit.book("BTC/USDT") is None  # orderbook.1 feeds the ticker, not the 200-level book


# -- order books --------------------------------------------------------------------------------


def test_orderbook_snapshot_then_delta(bybit: BybitAdapter) -> None:
    """The snapshot loads the book; the next ``u`` applies absolute sizes and removes zeros."""
    assert bybit.parse("linear", raw("orderbook_snapshot.json"), T) == [
        Book(
            "bybit",
            "BTC/USDT:USDT",
            1687940967.466,
            T,
            True,
            [(30247.2, 30.028), (30245.4, 0.224), (30240.0, 0.5)],
            [(30248.7, 0.01), (30249.3, 0.1), (30250.0, 1.5)],
            177400506,
        )
    ]
    assert bybit.parse("linear", raw("orderbook_delta.json"), T + 1) == [
        Book(
            "bybit",
            "BTC/USDT:USDT",
            1687940967.486,
            T + 1,
            False,
            [(30247.2, 30.028), (30240.0, 0.0)],
            [(30248.7, 0.0), (30249.3, 0.892)],
            177400507,
        )
    ]
    book = bybit.book("BTC/USDT:USDT")
    assert book is not None
    assert book.bids() == {30247.2: 30.028, 30245.4: 0.224}
    assert book.asks() == {30249.3: 0.892, 30250.0: 1.5}
    assert book.sequence == 177400507


def test_restart_snapshot_with_u_1_resets_the_book(bybit: BybitAdapter) -> None:
    """A later snapshot, here the ``u=1`` service-restart one, replaces the book outright."""
    bybit.parse("linear", raw("orderbook_snapshot.json"), T)
    bybit.parse("linear", raw("orderbook_delta.json"), T + 1)
    out = bybit.parse("linear", raw("orderbook_restart.json"), T + 2)
    assert out == [Book("bybit", "BTC/USDT:USDT", 1687941000.0, T + 2, True, [(30300.0, 1.0)], [(30301.0, 2.0)], 1)]
    book = bybit.book("BTC/USDT:USDT")
    assert book is not None
    assert (book.bids(), book.asks(), book.sequence) == ({30300.0: 1.0}, {30301.0: 2.0}, 1)
    # Deltas continue from the restart id.
    out = bybit.parse("linear", edited("orderbook_delta.json", u=2, b=[["30299", "1"]], a=[]), T + 3)
    assert [e.sequence for e in out] == [2]


@pytest.mark.parametrize("routed", [False, True])
def test_a_delta_with_u_1_is_a_restart_snapshot(bybit: BybitAdapter, routed: bool) -> None:
    """ "Occasionally, you'll receive "u"=1, which is a snapshot data due to the restart of the
    service. So please overwrite your local orderbook": by ``u``, whatever ``type`` says, on the
    adapter's path and on the fast path (which takes a topic's deltas after its first ones)."""
    bybit.parse("linear", raw("orderbook_snapshot.json"), T)
    bybit.receive("linear", raw("orderbook_delta.json").decode(), T + 1)
    if routed:
        routed_delta = edited("orderbook_delta.json", u=177400508, b=[], a=[["30250", "1"]]).decode()
        assert bybit.receive("linear", routed_delta, T + 1.5)[0].sequence == 177400508
    restart = raw("orderbook_restart.json").decode().replace('"type":"snapshot"', '"type":"delta"')
    out = bybit.receive("linear", restart, T + 2)
    assert out == [Book("bybit", "BTC/USDT:USDT", 1687941000.0, T + 2, True, [(30300.0, 1.0)], [(30301.0, 2.0)], 1)]
    book = bybit.book("BTC/USDT:USDT")
    assert book is not None
    assert (book.bids(), book.asks(), book.sequence, book.synced) == ({30300.0: 1.0}, {30301.0: 2.0}, 1, True)
    out = bybit.receive("linear", edited("orderbook_delta.json", u=2, b=[["30299", "1"]], a=[]).decode(), T + 3)
    assert [(type(e), e.sequence) for e in out] == [(Book, 2)]
    assert bybit.books.stats["restart_snapshot"] == 1


RESUBSCRIBE = [
    SendFrame("linear", '{"op":"unsubscribe","args":["orderbook.50.BTCUSDT"]}'),
    SendFrame("linear", '{"op":"subscribe","args":["orderbook.50.BTCUSDT"]}'),
]


def test_skipped_update_id_resubscribes_the_topic(bybit: BybitAdapter) -> None:
    """``u`` jumping past ``last+1`` is a gap: resync event plus unsubscribe/subscribe frames."""
    bybit.parse("linear", raw("orderbook_snapshot.json"), T)
    out = bybit.parse("linear", edited("orderbook_delta.json", u=177400508), T + 1)
    assert out == [
        Resync("bybit", "BTC/USDT:USDT", None, T + 1, "gap", "expected u=177400507, got u=177400508"),
        *RESUBSCRIBE,
    ]
    book = bybit.book("BTC/USDT:USDT")
    assert book is not None
    assert (book.synced, len(book)) == (False, 0)
    # Deltas before the fresh snapshot are dropped without asking again...
    assert bybit.parse("linear", edited("orderbook_delta.json", u=177400509), T + 2) == []
    # ...and the snapshot the resubscription brings restores the book.
    assert [e.snapshot for e in bybit.parse("linear", raw("orderbook_snapshot.json"), T + 3)] == [True]
    assert (book.synced, book.sequence) == (True, 177400506)
    assert bybit.books.stats["resync.gap"] == 1


def test_repeated_update_id_is_a_duplicate(bybit: BybitAdapter) -> None:
    """A delta with the current ``u`` again is a duplicate: skipped and counted, the book stays."""
    bybit.parse("linear", raw("orderbook_snapshot.json"), T)
    assert bybit.parse("linear", edited("orderbook_delta.json", u=177400506), T + 1) == []
    assert bybit.books.stats["stale_delta"] == 1
    book = bybit.book("BTC/USDT:USDT")
    assert book is not None and (book.synced, book.sequence) == (True, 177400506)


def test_crossed_book_resubscribes(bybit: BybitAdapter) -> None:
    """A delta that leaves best bid >= best ask is not trusted."""
    bybit.parse("linear", raw("orderbook_snapshot.json"), T)
    out = bybit.parse("linear", edited("orderbook_delta.json", b=[["30249.00", "1"]], a=[]), T + 1)
    assert out == [
        Resync("bybit", "BTC/USDT:USDT", None, T + 1, "crossed", "bid (30249.0, 1.0) >= ask (30248.7, 0.01)"),
        *RESUBSCRIBE,
    ]


def test_delta_before_any_snapshot_resubscribes(bybit: BybitAdapter) -> None:
    """A delta with no book to apply to asks for a fresh snapshot once."""
    assert bybit.parse("linear", raw("orderbook_delta.json"), T) == RESUBSCRIBE
    assert bybit.parse("linear", raw("orderbook_delta.json"), T) == []


def test_disconnect_resets_books_and_tickers(bybit: BybitAdapter) -> None:
    """After a disconnect the book and merged ticker are gone until the resubscription's snapshots."""
    (plan,) = bybit.plan([Subscription("BTC/USDT:USDT", "book"), Subscription("BTC/USDT:USDT", "ticker")])
    assert bybit.on_connect(plan, T) == [Connected("bybit", None, None, T, plan.conn, plan.url)]
    bybit.parse(plan.conn, raw("orderbook_snapshot.json"), T)
    bybit.parse(plan.conn, raw("ticker_linear_snapshot.json"), T)
    assert bybit.on_disconnect(plan.conn, "closed 1006", T + 1) == [
        Disconnected("bybit", None, None, T + 1, plan.conn, "closed 1006"),
        Resync("bybit", "BTC/USDT:USDT", None, T + 1, "reconnect", ""),
    ]
    assert bybit.parse(plan.conn, raw("ticker_linear_delta.json"), T + 2) == []
    assert bybit.stats["ignored.ticker_delta_before_snapshot"] == 1


# -- candles ------------------------------------------------------------------------------------


def test_kline(bybit: BybitAdapter) -> None:
    """``kline.5`` is a 5m candle covering ``[start, end + 1 ms)``."""
    assert bybit.parse("linear", raw("kline.json"), T) == [
        Candle(
            "bybit",
            "BTC/USDT:USDT",
            1672324988.882,
            T,
            "5m",
            1672324800.0,
            1672325100.0,
            16649.5,
            16677.0,
            16608.0,
            16677.0,
            2.081,
            None,
            False,
        )
    ]


def test_inverse_kline_close_and_volume(bybit: BybitAdapter) -> None:
    """A closing bar comes with the next one; inverse volume is the base-coin turnover."""
    out = bybit.parse("inverse", raw("kline_inverse_closed.json"), T)
    assert out == [
        Candle(
            "bybit",
            "BTC/USD:BTC",
            1672324860.01,
            T,
            "1m",
            1672324800.0,
            1672324860.0,
            16649.5,
            16651.0,
            16649.0,
            16650.0,
            2.0001,
            None,
            True,
        ),
        Candle(
            "bybit",
            "BTC/USD:BTC",
            1672324860.01,
            T,
            "1m",
            1672324860.0,
            1672324920.0,
            16650.0,
            16650.0,
            16650.0,
            16650.0,
            0.006,
            None,
            False,
        ),
    ]


# -- control frames and bad input ---------------------------------------------------------------


def test_acks_pongs_and_unsupported_channels_are_counted(bybit: BybitAdapter) -> None:
    """Every category's ack and pong shape, and the retired ``liquidation`` topic, are counted and produce nothing."""
    retired = '{"topic":"liquidation.BTCUSDT","type":"snapshot","ts":1673251091822,"data":{"price":"16900.00"}}'
    for conn, frame in [
        ("spot", raw("pong_spot.json")),
        ("linear", raw("pong_linear.json")),
        ("linear", raw("pong_option.json")),
        ("spot", raw("ack_spot.json")),
        ("linear", raw("ack_linear.json")),
        ("linear", retired),
    ]:
        assert bybit.parse(conn, frame, T) == [], frame
    assert dict(bybit.stats) == {"ignored.pong": 3, "ignored.ack": 2, "ignored.liquidation": 1}


def test_failed_subscribe_is_an_error_event(bybit: BybitAdapter) -> None:
    """``success:false`` carries the reason in ``ret_msg``."""
    assert bybit.parse("linear", raw("ack_failure.json"), T) == [
        Error(
            "bybit",
            None,
            None,
            T,
            "linear",
            "rejected",
            "subscribe: error:handler not found,topic:orderbook.7.BTCUSDT (req_id '')",
        )
    ]


@pytest.mark.parametrize(
    ("conn", "frame", "reason"),
    [
        ("linear", b"not json", "malformed"),
        ("linear", raw("trade_linear.json") + b"}", "malformed"),
        ("linear", raw("trade_linear.json")[:50], "malformed"),
        ("linear", b'{"topic":"publicTrade.BTCUSDT","type":"snapshot","data":[{"p":"1"}]}', "malformed"),
        (
            "linear",
            b'{"topic":"orderbook.50.BTCUSDT","type":"partial","data":{"s":"BTCUSDT","b":[],"a":[],"u":1}}',
            "malformed",
        ),
        (
            "linear",
            b'{"topic":"publicTrade.BTCUSDT","data":[{"T":1,"s":"BTCUSDT","S":"Up","v":"1","p":"1","i":"x"}]}',
            "malformed",
        ),
        ("linear", b'{"topic":"publicTrade.NOPE","data":[]}', "unknown_symbol"),
        ("elsewhere", raw("trade_linear.json"), "unknown_connection"),
        ("linear", b'{"hello":"world"}', "unknown_message"),
    ],
)
def test_bad_frames_become_error_events(bybit: BybitAdapter, conn: str, frame: bytes, reason: str) -> None:
    """Nothing raises: each bad frame is one ``error`` event and one counter."""
    out = bybit.parse(conn, frame, T)
    assert [(type(e), e.reason) for e in out if isinstance(e, Error)] == [(Error, reason)]
    assert bybit.stats["error." + reason] == 1


def test_text_and_bytes_frames_parse_alike(bybit: BybitAdapter) -> None:
    """A frame given as ``str`` yields what its bytes yield."""
    assert bybit.parse("linear", raw("trade_linear.json").decode(), T) == bybit.parse(
        "linear", raw("trade_linear.json"), T
    )


# -- plan ---------------------------------------------------------------------------------------


def test_plan_uses_category_endpoints_and_spot_request_limit(bybit: BybitAdapter) -> None:
    """One connection per category, spot requests of at most 10 args, JSON ping every 20 s."""
    subs = [
        Subscription(symbol, channel, interval)
        for symbol in ("BTC/USDT", "ETH/USDC")
        for channel, interval in [
            ("trades", "1m"),
            ("ticker", "1m"),
            ("book", "1m"),
            ("candles", "1m"),
            ("candles", "1h"),
        ]
    ]
    subs += [
        Subscription("BTC/USDT:USDT", "trades"),
        Subscription("BTC/USDT:USDT", "book"),
        Subscription("BTC/USD:BTC", "ticker"),
    ]
    spot, linear, inverse = bybit.plan(subs)
    spot_topics = [
        f"{topic}.{native}"
        for native in ("BTCUSDT", "ETHUSDC")
        for topic in ("publicTrade", "tickers", "orderbook.1", "orderbook.200", "kline.1", "kline.60")
    ]
    assert spot.url == "wss://stream.bybit.com/v5/public/spot"
    assert [json.loads(f) for f in spot.subscribe] == [
        {"op": "subscribe", "args": spot_topics[:10]},
        {"op": "subscribe", "args": spot_topics[10:]},
    ]
    assert spot.symbols == ["BTC/USDT", "ETH/USDC"]
    assert linear.url == "wss://stream.bybit.com/v5/public/linear"
    assert linear.subscribe == ['{"op":"subscribe","args":["publicTrade.BTCUSDT","orderbook.200.BTCUSDT"]}']
    assert linear.symbols == ["BTC/USDT:USDT"]
    assert inverse.url == "wss://stream.bybit.com/v5/public/inverse"
    assert inverse.subscribe == ['{"op":"subscribe","args":["tickers.BTCUSD"]}']
    assert inverse.symbols == []
    for plan, conn in [(spot, "bybit.spot.0"), (linear, "bybit.linear.0"), (inverse, "bybit.inverse.0")]:
        assert plan.conn == conn
        assert (plan.app_ping, plan.app_ping_interval, plan.ping_interval, plan.idle_timeout) == (
            '{"op":"ping"}',
            20.0,
            None,
            60.0,
        )


def test_plan_shards_connections_by_args_length(bybit: BybitAdapter) -> None:
    """Past the per-connection args budget a second connection takes the rest."""

    class Small(BybitAdapter):
        max_args_chars = 40

    small = Small()
    small.on_http(info_request("linear"), 200, raw("instruments_linear.json"), T)
    plans = small.plan(
        [
            Subscription("BTC/USDT:USDT", "trades"),
            Subscription("BTC/USDT:USDT", "book"),
            Subscription("BTC/USDC:USDC", "trades"),
        ]
    )
    assert [(p.conn, [json.loads(f)["args"] for f in p.subscribe]) for p in plans] == [
        ("bybit.linear.0", [["publicTrade.BTCUSDT", "orderbook.200.BTCUSDT"]]),
        ("bybit.linear.1", [["publicTrade.BTCPERP"]]),
    ]
    # Frames from a planned connection find their category from the connection id.
    assert [e.symbol for e in small.parse("bybit.linear.0", raw("trade_linear.json"), T) if isinstance(e, Trade)] == [
        "BTC/USDT:USDT",
        "BTC/USDT:USDT",
    ]


def test_plan_rejects_what_bybit_does_not_offer(bybit: BybitAdapter) -> None:
    """Unknown symbols and kline intervals fail at plan time, with the valid choices named."""
    with pytest.raises(UnknownSymbol):
        bybit.plan([Subscription("DOGE/USDT", "trades")])
    with pytest.raises(UsageError, match="no kline interval '2m'"):
        bybit.plan([Subscription("BTC/USDT", "candles", "2m")])


def test_registry_and_recognized_hosts() -> None:
    """``bybit`` is registered and claims the mainnet and testnet stream hosts only."""
    assert EXCHANGES["bybit"] is BybitAdapter
    assert BybitAdapter.recognizes("wss://stream.bybit.com/v5/public/linear")
    assert BybitAdapter.recognizes("wss://stream-testnet.bybit.com/v5/public/spot")
    assert not BybitAdapter.recognizes("wss://stream.binance.com:9443/stream")
