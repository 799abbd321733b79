"""Binance adapters: each documented message shape parsed to exact values; plans; bad input."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from collector.actions import Reconnect, RestRequest
from collector.errors import UnknownSymbol, UsageError
from collector.exchanges import Subscription, create
from collector.exchanges.base import Adapter
from collector.models import Book, Candle, DerivativeTicker, Error, Liquidation, Ticker, Trade
from tests.conftest import fixture_text

# Every test here runs with the C accelerators and in pure Python, to the same values.
pytestmark = pytest.mark.usefixtures("both_paths")


def adapter_with(exchange: str, info_fixture: str) -> Adapter:
    adapter = create(exchange)
    (request,) = adapter.instrument_requests()
    out = adapter.on_http(request, 200, fixture_text(f"binance/{info_fixture}").encode(), 0.0)
    assert out == []
    return adapter


@pytest.fixture
def spot() -> Adapter:
    return adapter_with("binance", "spot_exchange_info.json")


@pytest.fixture
def usdm() -> Adapter:
    return adapter_with("binance_usdm", "usdm_exchange_info.json")


@pytest.fixture
def coinm() -> Adapter:
    return adapter_with("binance_coinm", "coinm_exchange_info.json")


def test_instruments_map_both_ways_from_exchange_info(spot: Adapter, usdm: Adapter, coinm: Adapter) -> None:
    """Unified symbols come from baseAsset/quoteAsset/marginAsset/contractType/deliveryDate, not the id."""
    inst = spot.instruments.by_native("BNBBTC")
    assert (inst.symbol, inst.base, inst.quote, inst.kind, inst.tick_size, inst.step_size, inst.active) == (
        "BNB/BTC",
        "BNB",
        "BTC",
        "spot",
        0.000001,
        0.001,
        True,
    )
    assert spot.instruments.by_symbol("BTC/USDT").active is False  # status BREAK
    assert spot.rest_weight_limit == 6000
    assert usdm.instruments.symbol_of("BTCUSDT") == "BTC/USDT:USDT"
    assert usdm.instruments.symbol_of("BTCUSDT_250926") == "BTC/USDT:USDT-250926"
    assert usdm.instruments.by_native("BTCUSDT").kind == "swap"
    assert usdm.instruments.by_native("BTCUSDT_250926").kind == "future"
    assert coinm.instruments.symbol_of("BTCUSD_PERP") == "BTC/USD:BTC"
    assert coinm.instruments.symbol_of("BTCUSD_250926") == "BTC/USD:BTC-250926"
    assert coinm.instruments.by_symbol("BTC/USD:BTC").contract_size == 100.0
    with pytest.raises(UnknownSymbol):
        spot.instruments.by_symbol("NOPE/USDT")


def test_agg_trade_taker_side_and_id(spot: Adapter) -> None:
    """aggTrade: id is the aggregate id, m=true means the buyer was maker so the taker sold."""
    (trade,) = spot.parse("c", fixture_text("binance/spot_agg_trade.json"), 5.0)
    assert trade == Trade("binance", "BNB/BTC", 1672515782.134, 5.0, 0.001, 100.0, "sell", "12345")


def test_a_capture_of_raw_trades_gives_trades(spot: Adapter, coinm: Adapter) -> None:
    """``<symbol>@trade`` (not subscribed here: aggTrade is) still holds trades: id ``t``, the
    taker sold when "the buyer is the market maker"; COIN-M quantities are contracts."""
    frame = (
        '{"stream":"bnbbtc@trade","data":{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,'
        '"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}}'
    )
    for _ in range(2):
        assert spot.receive("c", frame, 5.0) == [
            Trade("binance", "BNB/BTC", 1672515782.136, 5.0, 0.001, 100.0, "sell", "12345")
        ]
    coin = frame.replace("bnbbtc", "btcusd_perp").replace("BNBBTC", "BTCUSD_PERP").replace('"0.001"', '"50000"')
    (trade,) = coinm.receive("c", coin.replace('"100"', '"2"'), 5.0)
    assert isinstance(trade, Trade) and (trade.symbol, trade.amount) == ("BTC/USD:BTC", 2 * 100 / 50000)


def test_coinm_trade_amount_converted_from_contracts(coinm: Adapter) -> None:
    """COIN-M q is contracts of contractSize USD: amount in BTC = q * 100 / price."""
    (trade,) = coinm.parse("c", fixture_text("binance/coinm_agg_trade.json"), 5.0)
    assert isinstance(trade, Trade)
    assert (trade.symbol, trade.side, trade.id, trade.price) == ("BTC/USD:BTC", "buy", "424951", 9643.5)
    assert trade.amount == pytest.approx(2 * 100 / 9643.5, rel=1e-12)


def test_coinm_candle_volume_is_the_base_asset_volume(coinm: Adapter) -> None:
    """COIN-M kline ``v`` counts contracts; ``q`` is "Base asset volume" (the documented example)."""
    (candle,) = coinm.parse("c", fixture_text("binance/coinm_kline.json"), 5.0)
    assert candle == Candle(
        "binance_coinm", "BTC/USD:BTC", 1591261542.539, 5.0, "1m", 1591261500.0, 1591261560.0,
        9638.9, 9639.8, 9638.6, 9639.8, 1.61836886, 30, False,
    )  # fmt: skip
    without_q = fixture_text("binance/coinm_kline.json").replace(',"q":"1.61836886"', "")
    (error,) = coinm.parse("c", without_q, 6.0)
    assert isinstance(error, Error) and error.reason == "malformed"


def test_spot_book_ticker_has_no_timestamp(spot: Adapter) -> None:
    """Spot bookTicker carries no event time: timestamp is None."""
    (ticker,) = spot.parse("c", fixture_text("binance/spot_book_ticker.json"), 7.0)
    assert ticker == Ticker("binance", "BNB/USDT", None, 7.0, 25.3519, 31.21, 25.3652, 40.66)


def test_futures_book_ticker_timestamp(usdm: Adapter) -> None:
    """Futures bookTicker has E."""
    (ticker,) = usdm.parse("c", fixture_text("binance/usdm_book_ticker.json"), 7.0)
    assert isinstance(ticker, Ticker)
    assert (ticker.symbol, ticker.timestamp, ticker.bid, ticker.ask_size) == (
        "BTC/USDT:USDT",
        1568014460.893,
        25.3519,
        40.66,
    )


def test_kline_to_candle(spot: Adapter) -> None:
    """kline: start t, end T+1ms, OHLCV, trade count, closed flag x."""
    (candle,) = spot.parse("c", fixture_text("binance/spot_kline.json"), 9.0)
    assert candle == Candle(
        "binance",
        "BNB/BTC",
        1672515782.136,
        9.0,
        "1m",
        1672515780.0,
        1672515840.0,
        0.001,
        0.0025,
        0.0015,
        0.002,
        1000.0,
        100,
        False,
        "exchange",
    )


def test_depth_update_buffers_and_requests_snapshot(spot: Adapter) -> None:
    """The first depth delta is buffered and a REST snapshot (limit 1000, weight 50) is requested."""
    out = spot.parse("c", fixture_text("binance/spot_depth_update.json"), 1.0)
    assert out == [
        RestRequest("https://api.binance.com/api/v3/depth?symbol=BNBBTC&limit=1000", "snapshot", 50, "BNB/BTC")
    ]
    body = orjson.dumps({"lastUpdateId": 158, "bids": [["0.0024", "5"], ["0.0023", "1"]], "asks": [["0.0026", "7"]]})
    out = spot.on_http(out[0], 200, body, 2.0)
    assert out == [
        Book("binance", "BNB/BTC", None, 2.0, True, [(0.0024, 5.0), (0.0023, 1.0)], [(0.0026, 7.0)], 158),
        Book("binance", "BNB/BTC", 1672515782.136, 1.0, False, [(0.0024, 10.0)], [(0.0026, 100.0)], 160),
    ]


def test_usdm_depth_uses_pu_rule(usdm: Adapter) -> None:
    """USDⓈ-M snapshot at 158 joins the delta 157..160 (U <= 158 <= u) and keeps pu for the next."""
    (request,) = usdm.parse("c", fixture_text("binance/usdm_depth_update.json"), 1.0)
    assert isinstance(request, RestRequest)
    assert request.url == "https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT&limit=1000"
    body = orjson.dumps(
        {
            "lastUpdateId": 158,
            "E": 1672515782200,
            "T": 1672515782199,
            "bids": [["16500.10", "1"]],
            "asks": [["16500.20", "2"], ["16501", "1"]],
        }
    )
    snap, delta = usdm.on_http(request, 200, body, 2.0)
    assert isinstance(snap, Book) and isinstance(delta, Book)
    assert (snap.timestamp, snap.sequence) == (1672515782.2, 158)
    assert delta.sequence == 160
    book = usdm.book("BTC/USDT:USDT")
    assert book is not None and book.best_bid() == (16500.1, 1.25) and book.best_ask() == (16501.0, 1.0)


def test_snapshot_http_error_reports_and_retries_on_next_delta(spot: Adapter) -> None:
    """A failed snapshot request is an error event; the next delta asks again."""
    (request,) = spot.parse("c", fixture_text("binance/spot_depth_update.json"), 1.0)
    assert isinstance(request, RestRequest)
    (err,) = spot.on_http(request, 503, b"busy", 2.0)
    assert isinstance(err, Error) and (err.reason, err.symbol) == ("http_status", "BNB/BTC")
    again = spot.parse("c", fixture_text("binance/spot_depth_update.json"), 3.0)
    assert again == [request]


def test_malformed_and_unknown_input_become_counted_errors(spot: Adapter) -> None:
    """Bad JSON, bad field types and unknown symbols produce error events and counters, never exceptions."""
    (bad,) = spot.parse("c", "{not json", 1.0)
    assert isinstance(bad, Error) and bad.reason == "malformed" and bad.conn == "c"
    (bad_type,) = spot.parse(
        "c",
        '{"stream":"bnbbtc@aggTrade","data":{"e":"aggTrade","E":1,"s":"BNBBTC",'
        '"a":1,"p":"abc","q":"1","T":1,"m":true}}',
        1.0,
    )
    assert isinstance(bad_type, Error) and bad_type.reason == "malformed"
    assert "bnbbtc@aggTrade" in bad_type.detail
    (unknown,) = spot.parse("c", fixture_text("binance/spot_agg_trade.json").replace("BNBBTC", "ZZZBTC"), 1.0)
    assert isinstance(unknown, Error) and (unknown.reason, unknown.detail) == ("unknown_symbol", "ZZZBTC")
    (binary,) = spot.parse("c", b"\x00\x01", 1.0)
    assert isinstance(binary, Error)
    assert spot.stats["error.malformed"] == 3
    assert spot.stats["error.unknown_symbol"] == 1


def test_acks_rejections_and_unused_streams(spot: Adapter) -> None:
    """Acks and unused streams are counted and ignored; a rejected request is an error event."""
    assert spot.parse("c", '{"result":null,"id":1}', 1.0) == []
    assert spot.stats["ignored.ack"] == 1
    (rejected,) = spot.parse("c", '{"code":2,"msg":"Invalid request: too many params","id":7}', 1.0)
    assert isinstance(rejected, Error) and rejected.reason == "rejected"
    assert rejected.detail == "code 2: Invalid request: too many params (id 7)"
    assert spot.parse("c", '{"stream":"bnbbtc@miniTicker","data":{}}', 1.0) == []
    assert spot.stats["ignored.miniTicker"] == 1
    (unknown,) = spot.parse("c", '{"stream":"bnbbtc@noSuchStream","data":{}}', 1.0)
    assert isinstance(unknown, Error) and unknown.reason == "unknown_stream"


def test_server_shutdown_asks_for_reconnect(spot: Adapter) -> None:
    """serverShutdown -> reconnect now."""
    assert spot.parse("conn-1", fixture_text("binance/server_shutdown.json"), 1.0) == [
        Reconnect("conn-1", "serverShutdown")
    ]


def test_spot_plan_batches_and_paces(spot: Adapter) -> None:
    """One /stream connection, SUBSCRIBE frames, 4 control messages per second at most."""
    subs = [Subscription("BNB/BTC", ch) for ch in ("trades", "ticker", "book", "candles")]
    (plan,) = spot.plan(subs)
    assert plan.url == "wss://stream.binance.com:9443/stream"
    assert plan.control_interval == 0.25
    (frame,) = plan.subscribe
    assert orjson.loads(frame)["params"] == [
        "bnbbtc@aggTrade",
        "bnbbtc@bookTicker",
        "bnbbtc@depth@100ms",
        "bnbbtc@kline_1m",
    ]
    assert plan.symbols == ["BNB/BTC"]
    assert plan.max_lifetime == 23.5 * 3600
    with pytest.raises(UsageError):
        spot.plan([Subscription("BNB/BTC", "candles", "7m")])


def test_usdm_plan_routes_public_and_market(usdm: Adapter) -> None:
    """USDⓈ-M: depth/bookTicker on /public, aggTrade/kline on /market (wrong path never delivers)."""
    subs = [Subscription("BTC/USDT:USDT", ch) for ch in ("trades", "ticker", "book", "candles")]
    market, public = usdm.plan(subs)
    assert market.url == "wss://fstream.binance.com/market/stream"
    assert orjson.loads(market.subscribe[0])["params"] == ["btcusdt@aggTrade", "btcusdt@kline_1m"]
    assert public.url == "wss://fstream.binance.com/public/stream"
    assert orjson.loads(public.subscribe[0])["params"] == ["btcusdt@bookTicker", "btcusdt@depth@100ms"]
    assert public.symbols == ["BTC/USDT:USDT"] and market.symbols == []


def test_plan_shards_by_stream_limit(spot: Adapter) -> None:
    """More streams than one connection may carry are split across connections."""
    spot.max_streams = 3  # type: ignore[misc]
    spot.params_per_subscribe = 2  # type: ignore[misc]
    subs = [Subscription(s, ch) for s in ("BNB/BTC", "BNB/USDT") for ch in ("trades", "book")]
    plans = spot.plan(subs)
    assert [len(p.subscribe) for p in plans] == [2, 1]
    params: list[Any] = [orjson.loads(f)["params"] for p in plans for f in p.subscribe]
    assert params == [["bnbbtc@aggTrade", "bnbbtc@depth@100ms"], ["bnbusdt@aggTrade"], ["bnbusdt@depth@100ms"]]
    assert len({p.conn for p in plans}) == 2


# -- derivatives: mark price, liquidations, polled open interest ---------------------------------


def test_mark_price_stream_gives_a_derivative_ticker(usdm: Adapter) -> None:
    """``markPrice@1s``: mark ``p``, index ``i``, funding ``r``, next funding ``T``; unchanged values give nothing."""
    frame = fixture_text("binance/usdm_mark_price.json")
    assert usdm.parse("binance_usdm.market.0", frame, 1.0) == [
        DerivativeTicker(
            "binance_usdm",
            "BTC/USDT:USDT",
            1562305380.0,
            1.0,
            mark_price=11794.15,
            index_price=11784.62659091,
            funding_rate=0.00038167,
            next_funding_time=1562306400.0,
        )
    ]
    assert usdm.parse("binance_usdm.market.0", frame, 2.0) == []  # one event per change, not per frame


def test_delivery_contracts_have_no_funding(coinm: Adapter) -> None:
    """ "funding rate ... "" will be shown for delivery symbol" and ``T`` 0: both stay null."""
    (event,) = coinm.parse("binance_coinm.0", fixture_text("binance/coinm_mark_price_delivery.json"), 1.0)
    assert isinstance(event, DerivativeTicker)
    assert (event.symbol, event.mark_price, event.index_price) == ("BTC/USD:BTC-250926", 10934.62615417, 10933.62615417)
    assert (event.funding_rate, event.next_funding_time) == (None, None)


def test_force_orders_are_liquidations_in_base_units(usdm: Adapter, coinm: Adapter) -> None:
    """``S`` is the liquidation order's side; COIN-M quantities are contracts of ``contractSize`` USD."""
    assert usdm.parse("binance_usdm.market.0", fixture_text("binance/usdm_force_order.json"), 1.0) == [
        Liquidation("binance_usdm", "BTC/USDT:USDT", 1568014460.893, 1.0, "sell", 9910.0, 0.014, None, "FILLED")
    ]
    assert coinm.parse("binance_coinm.0", fixture_text("binance/coinm_force_order.json"), 1.0) == [
        Liquidation("binance_coinm", "BTC/USD:BTC", 1591154240.949, 1.0, "buy", 9425.5, 100 / 9425.5, None, "FILLED")
    ]


def test_all_market_streams(usdm: Adapter) -> None:
    """``!forceOrder@arr`` sends one liquidation per message, as the symbol stream does: the same
    events. All-market streams of arrays are counted, not errors."""
    frame = fixture_text("binance/usdm_force_order.json").replace("btcusdt@forceOrder", "!forceOrder@arr")
    assert usdm.parse("binance_usdm.market.0", frame, 1.0) == [
        Liquidation("binance_usdm", "BTC/USDT:USDT", 1568014460.893, 1.0, "sell", 9910.0, 0.014, None, "FILLED")
    ]
    assert usdm.parse("binance_usdm.market.0", '{"stream":"!markPrice@arr@1s","data":[]}', 1.0) == []
    assert usdm.parse("binance_usdm.market.0", '{"stream":"!ticker@arr","data":[]}', 1.0) == []
    (unknown,) = usdm.parse("binance_usdm.market.0", '{"stream":"!nothing@arr","data":{}}', 1.0)
    assert isinstance(unknown, Error) and unknown.reason == "unknown_stream"


def test_open_interest_is_polled_within_the_weight_budget(usdm: Adapter, coinm: Adapter) -> None:
    """One weight-1 poll per ``funding`` symbol; the answer merges into the derivative ticker, valued at the mark."""
    subs = [Subscription("BTC/USDT:USDT", "funding"), Subscription("BTC/USDT:USDT", "trades")]
    (poll,) = usdm.polls(subs)
    assert poll.request == RestRequest(
        "https://fapi.binance.com/fapi/v1/openInterest?symbol=BTCUSDT", "poll", 1, "BTC/USDT:USDT"
    )
    assert poll.interval == 10.0
    usdm.parse("binance_usdm.market.0", fixture_text("binance/usdm_mark_price.json"), 1.0)
    (event,) = usdm.on_http(poll.request, 200, fixture_text("binance/usdm_open_interest.json").encode(), 2.0)
    assert isinstance(event, DerivativeTicker)
    assert (event.timestamp, event.open_interest, event.open_interest_value) == (
        1589437530.011,
        10659.509,
        10659.509 * 11794.15,
    )
    assert event.mark_price == 11794.15  # the fields of the stream are kept
    (request,) = [p.request for p in coinm.polls([Subscription("BTC/USD:BTC", "funding")])]
    (event,) = coinm.on_http(request, 200, fixture_text("binance/coinm_open_interest.json").encode(), 2.0)
    assert isinstance(event, DerivativeTicker)
    assert (event.open_interest, event.open_interest_value) == (15004.0, 15004.0 * 100)  # contracts, USD


def test_recorded_open_interest_answers_are_polls_for_replay(usdm: Adapter) -> None:
    """Replay delivers recorded open-interest answers unasked: the adapter recognises their URL."""
    url = "https://fapi.binance.com/fapi/v1/openInterest?symbol=BTCUSDT"
    assert usdm.poll_request(url) == RestRequest(url, "poll", 1)
    doubled = "https://fapi.binance.com/fapi/v1//openInterest?symbol=BTCUSDT"  # some 2022 recorders asked this
    assert usdm.poll_request(doubled) == RestRequest(doubled, "poll", 1)
    assert usdm.poll_request("https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT&limit=1000") is None
    (event,) = usdm.on_http(
        RestRequest(url, "poll", 1), 200, fixture_text("binance/usdm_open_interest.json").encode(), 2
    )
    assert isinstance(event, DerivativeTicker) and event.symbol == "BTC/USDT:USDT"


def test_a_failed_or_malformed_poll_is_one_error(usdm: Adapter) -> None:
    """A poll that fails is reported and changes nothing; the next one tries again."""
    (poll,) = usdm.polls([Subscription("BTC/USDT:USDT", "funding")])
    (error,) = usdm.on_http(poll.request, 429, b'{"code":-1003}', 1.0)
    assert isinstance(error, Error) and error.reason == "http_status"
    (error,) = usdm.on_http(poll.request, 200, b'{"openInterest":"-5","symbol":"BTCUSDT"}', 1.0)
    assert isinstance(error, Error) and error.reason == "malformed"


def test_spot_has_no_derivative_channels(spot: Adapter) -> None:
    """Asking spot for funding is a usage error naming the channels it has."""
    with pytest.raises(UsageError, match="no funding channel"):
        spot.plan([Subscription("BTC/USDT", "funding")])
