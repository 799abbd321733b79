"""HTX spot and swap adapters: the documented message shapes with exact values, book rules, plans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from collector.actions import Reconnect, RestRequest, SendFrame
from collector.capture import Frame
from collector.exchanges import EXCHANGES, ConnectionPlan, Subscription
from collector.exchanges.htx import HtxAdapter, HtxSwapAdapter
from collector.exchanges.htx.codec import MAX_INFLATED, deflate, inflate
from collector.models import Book, Candle, DerivativeTicker, Error, Liquidation, Resync, Ticker, Trade
from collector.replay import detect_exchange

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "htx"
T = 1700000000.5  # receipt time handed to the adapter
SPOT_INFO = RestRequest("https://api.huobi.pro/v1/common/symbols", "instruments", 1)
LINEAR_INFO = RestRequest("https://api.hbdm.com/linear-swap-api/v1/swap_contract_info", "instruments", 1)
INVERSE_INFO = RestRequest("https://api.hbdm.com/swap-api/v1/swap_contract_info", "instruments", 1)


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def gz(name: str) -> bytes:
    """A fixture as HTX sends it: gzip-compressed."""
    return deflate(raw(name))


def edited(name: str, topic: str | None = None, **tick: Any) -> bytes:
    """A fixture with another topic and/or some ``tick`` fields replaced, gzip-compressed."""
    msg = json.loads(raw(name))
    if topic is not None:
        msg["ch"] = topic
    msg["tick"].update(tick)
    return deflate(orjson.dumps(msg))


@pytest.fixture
def htx() -> HtxAdapter:
    adapter = HtxAdapter()
    assert adapter.answer(SPOT_INFO, 200, raw("symbols.json"), T) == []
    return adapter


@pytest.fixture
def swap() -> HtxSwapAdapter:
    adapter = HtxSwapAdapter()
    assert adapter.answer(LINEAR_INFO, 200, raw("contracts_linear.json"), T) == []
    assert adapter.answer(INVERSE_INFO, 200, raw("contracts_inverse.json"), T) == []
    return adapter


# -- instruments --------------------------------------------------------------------------------


def test_spot_symbols_map_to_unified_symbols(htx: HtxAdapter) -> None:
    """``base-currency``/``quote-currency`` name the symbol; precisions give tick and step; ``state`` activity."""
    got = {i.symbol: (i.native, i.kind, i.tick_size, i.step_size, i.active) for i in htx.instruments}
    assert got == {
        "BTC/USDT": ("btcusdt", "spot", 0.01, 1e-06, True),
        "ETH/BTC": ("ethbtc", "spot", 1e-06, 0.0001, True),
        "ADA/USDT": ("adausdt", "spot", 1e-06, 0.01, True),
        "LINK/USDT": ("linkusdt", "spot", 0.0001, 0.01, False),
    }
    assert (htx.instruments.by_symbol("ETH/BTC").native, htx.instruments.by_native("ethbtc").symbol) == (
        "ethbtc",
        "ETH/BTC",
    )


def test_swap_contracts_map_to_unified_symbols_with_contract_sizes(swap: HtxSwapAdapter) -> None:
    """Linear swaps and dated futures settle in USDT, coin-margined swaps in the coin; sizes are per contract."""
    got = {i.symbol: (i.native, i.kind, i.settle, i.expiry, i.contract_size, i.tick_size) for i in swap.instruments}
    assert got == {
        "BTC/USDT:USDT": ("BTC-USDT", "swap", "USDT", None, 0.001, 0.1),
        "O3/USDT:USDT": ("O3-USDT", "swap", "USDT", None, 1.0, 0.0001),
        "BTC/USDT:USDT-210625": ("BTC-USDT-210625", "future", "USDT", "210625", 0.001, 0.1),
        "BTC/USD:BTC": ("BTC-USD", "swap", "BTC", None, 100.0, 0.1),
        "ETH/USD:ETH": ("ETH-USD", "swap", "ETH", None, 10.0, 0.01),
    }
    assert swap.instruments.by_native("BTC-USD").symbol == "BTC/USD:BTC"


def test_rejected_listing_is_an_error_event() -> None:
    """A listing whose ``status`` is not ``ok`` is an error event, not an exception."""
    adapter = HtxAdapter()
    body = b'{"status":"error","err-code":"invalid-parameter","err-msg":"invalid symbol"}'
    assert adapter.answer(SPOT_INFO, 200, body, T) == [
        Error("htx", None, None, T, "rest", "malformed", f"{SPOT_INFO.url}: status 'error': invalid symbol")
    ]


# -- trades -------------------------------------------------------------------------------------


def test_spot_trade(htx: HtxAdapter) -> None:
    """``direction`` is the taker side, ``tradeId`` the id (the legacy ``id`` is a 1e26 float)."""
    assert htx.receive("c", gz("trade_detail.json"), T) == [
        Trade("htx", "BTC/USDT", 1630994963.173, T, 52648.62, 0.006754, "buy", "102523573486")
    ]


def test_spot_trades_of_one_taker_order(htx: HtxAdapter) -> None:
    """Every element of ``tick.data`` is a fill of the same taker order."""
    assert htx.receive("c", gz("trade_detail_batch.json"), T) == [
        Trade("htx", "BTC/USDT", 1583495833.751, T, 9150.01, 0.003893, "sell", "102090727790"),
        Trade("htx", "BTC/USDT", 1583495833.751, T, 9150.0, 0.01, "sell", "102090727791"),
    ]


def test_trade_recorded_before_trade_ids_keeps_the_legacy_id_text(htx: HtxAdapter) -> None:
    """Without ``tradeId`` the legacy ``id`` is the id, exactly as printed (it does not fit 64 bits)."""
    frame = raw("trade_detail.json").replace(b'"tradeId":102523573486,', b"")
    frame = frame.replace(b"1.3700544510935929e+26", b"10180194512782291967181675")
    assert [t.id for t in htx.receive("c", deflate(frame), T)] == ["10180194512782291967181675"]


def test_linear_swap_trade_amount_is_contracts_times_size(swap: HtxSwapAdapter) -> None:
    """``amount`` is 2 contracts of 0.001 BTC: 0.002 BTC (the frame's own ``quantity``)."""
    assert swap.receive("c", gz("swap_trade.json"), T) == [
        Trade("htx_swap", "BTC/USDT:USDT", 1603708208.335, T, 13073.3, 0.002, "buy", "1316022650000")
    ]


def test_coin_margined_trade_amount_is_usd_contracts_over_price(swap: HtxSwapAdapter) -> None:
    """Coin-margined contracts are 100 USD each: 2 contracts at 13073.3 are 200 / 13073.3 BTC."""
    frame = raw("swap_trade.json").replace(b"BTC-USDT", b"BTC-USD")
    [trade] = swap.receive("c", deflate(frame), T)
    assert trade == Trade("htx_swap", "BTC/USD:BTC", 1603708208.335, T, 13073.3, 200 / 13073.3, "buy", "1316022650000")


# -- tickers ------------------------------------------------------------------------------------


def test_spot_bbo(htx: HtxAdapter) -> None:
    """``market.$symbol.bbo``: best bid and offer at ``quoteTime``."""
    assert htx.receive("c", gz("bbo.json"), T) == [
        Ticker("htx", "BTC/USDT", 1630994555.539, T, 52665.01, 0.178567, 52665.02, 1.502181)
    ]


def test_spot_ticker_with_24h_statistics(htx: HtxAdapter) -> None:
    """``market.$symbol.ticker``: best bid/offer, last trade and rolling 24 h open/high/low/volumes."""
    assert htx.receive("c", gz("ticker.json"), T) == [
        Ticker(
            "htx", "BTC/USDT", 1630982370.526, T, 52732.88, 0.036, 52732.89, 0.583653, last=52735.63, open=51732.0,
            high=52785.64, low=51000.0, volume=13259.24137056181, quote_volume=687640987.4125315,
        )
    ]  # fmt: skip


def test_spot_ticker_zero_prices_mean_none(htx: HtxAdapter) -> None:
    """A side or statistic HTX reports as 0 (a market with no orders yet) is "none", not a price of 0."""
    [ticker] = htx.receive("c", edited("ticker.json", bid=0, bidSize=0, open=0), T)
    assert (ticker.bid, ticker.bid_size, ticker.open) == (None, 0.0, None)


def test_swap_bbo_sizes_are_contracts(swap: HtxSwapAdapter) -> None:
    """``[price, contracts]`` pairs; the sizes stay contracts, like the book's."""
    assert swap.receive("c", gz("swap_bbo.json"), T) == [
        Ticker("htx_swap", "BTC/USDT:USDT", 1603707934.525, T, 13064.0, 38.0, 13072.3, 205.0)
    ]


# -- candles ------------------------------------------------------------------------------------


def test_spot_kline(htx: HtxAdapter) -> None:
    """``id`` is the bar start in seconds, ``amount`` the base volume, ``count`` the trades; the bar is forming."""
    assert htx.receive("c", gz("kline.json"), T) == [
        Candle("htx", "ETH/BTC", 1630981694.37, T, "1m", 1630981680.0, 1630981740.0, 0.074849, 0.074849, 0.074848,
               0.074848, 2.4448, 3, False)
    ]  # fmt: skip


def test_kline_bar_is_closed_by_the_next_one(htx: HtxAdapter) -> None:
    """HTX never marks a bar final: the next bar's first push closes the previous one with its last values."""
    htx.receive("c", gz("kline.json"), T)
    out = htx.receive("c", edited("kline.json", id=1630981740, open=0.07485, close=0.07485), T + 60)
    assert [(c.start, c.open, c.closed) for c in out] == [
        (1630981680.0, 0.074849, True),
        (1630981740.0, 0.07485, False),
    ]
    assert htx.receive("c", gz("kline.json"), T + 61) == []  # an older bar's push comes too late
    message = json.loads(inflate(edited("kline.json", id=1630981740, close=0.07486)))
    after_end = deflate(orjson.dumps(message | {"ts": 1630981800001}))
    [final] = htx.receive("c", after_end, T + 120)
    assert (final.start, final.close, final.closed) == (1630981740.0, 0.07486, True)  # pushed after its end
    assert htx.receive("c", after_end, T + 121) == []  # and never emitted twice
    assert htx.stats["ignored.old_kline"] == 2


def test_swap_kline_volume_is_the_coin_amount(swap: HtxSwapAdapter) -> None:
    """Swap klines: ``amount`` is the coin volume (0.004 BTC), ``vol`` contracts (4)."""
    assert swap.receive("c", gz("swap_kline.json"), T) == [
        Candle("htx_swap", "BTC/USDT:USDT", 1603707124.366, T, "1m", 1603707120.0, 1603707180.0, 13067.7, 13067.7,
               13067.7, 13067.7, 0.004, 1, False)
    ]  # fmt: skip


# -- spot books ---------------------------------------------------------------------------------

SNAP_BIDS = [(618.37, 71.594), (423.33, 77.726), (223.18, 47.997), (219.34, 24.82), (210.34, 94.463)]
SNAP_ASKS = [(650.59, 14.909733438479636), (650.63, 97.996), (650.77, 97.465), (651.23, 83.973), (651.42, 34.465)]


def synced_spot(htx: HtxAdapter) -> None:
    """Increment, refresh request, refresh: the documented alignment on ``prevSeqNum``."""
    assert htx.receive("feed", gz("mbp_increment.json"), T) == [
        SendFrame("feed", '{"req":"market.btcusdt.mbp.5","id":"1"}')
    ]
    assert htx.receive("feed", gz("mbp_rep.json"), T + 0.1) == [
        Book("htx", "BTC/USDT", None, T + 0.1, True, SNAP_BIDS, SNAP_ASKS, 100020146794),
        Book("htx", "BTC/USDT", 1573199608.679, T, False, [], [(645.14, 26.75597395914065)], 100020146795),
    ]


def test_mbp_increments_join_the_refresh_by_prev_seq_num(htx: HtxAdapter) -> None:
    """The cached increment whose ``prevSeqNum`` is the refresh's ``seqNum`` applies on top of it."""
    synced_spot(htx)
    book = htx.book("BTC/USDT")
    assert book is not None and book.synced
    assert book.top(2).asks == [(645.14, 26.75597395914065), (650.59, 14.909733438479636)]
    assert book.sequence == 100020146795
    follow = edited("mbp_increment.json", seqNum=100020146796, prevSeqNum=100020146795, bids=[[618.37, 0]])
    [event] = htx.receive("feed", follow, T + 1)
    assert (event.bids, event.sequence) == ([(618.37, 0.0)], 100020146796)
    assert book.best_bid() == (423.33, 77.726)


def test_tick_by_tick_books_are_cut_to_their_depth(htx: HtxAdapter) -> None:
    """``mbp.5`` need not remove the level a better one pushes out: the book keeps its 5 best.
    ``mbp.150`` (a diff of two snapshots) removes such levels itself and is not cut."""
    synced_spot(htx)  # the increment adds the ask 645.14 in front of the refresh's five
    assert htx.book("BTC/USDT").asks() == dict([(645.14, 26.75597395914065), *SNAP_ASKS[:4]])  # type: ignore[union-attr]
    wide = HtxAdapter()
    wide.answer(SPOT_INFO, 200, raw("symbols.json"), T)
    wide.receive("feed", deflate(raw("mbp_increment.json").replace(b"mbp.5", b"mbp.150")), T)
    wide.receive("feed", deflate(raw("mbp_rep.json").replace(b"mbp.5", b"mbp.150")), T)
    assert len(wide.book("BTC/USDT").asks()) == 6  # type: ignore[union-attr]


def test_prev_seq_num_gap_resyncs_that_symbol_only(htx: HtxAdapter) -> None:
    """HTX: "the prevSeqNum of the current incremental message must be the same with seqNum of the previous
    message, otherwise it implicates message loss"; that book alone is rebuilt with a new refresh."""
    synced_spot(htx)
    eth = raw("mbp_rep.json").replace(b"btcusdt", b"ethbtc")
    assert htx.receive("feed", gz("mbp_increment.json"), T) == []  # a duplicate: ignored
    htx.receive("feed", deflate(raw("mbp_increment.json").replace(b"btcusdt", b"ethbtc")), T)
    htx.receive("feed", deflate(eth), T)
    assert htx.book("ETH/BTC") is not None and htx.book("ETH/BTC").synced  # type: ignore[union-attr]
    lost = edited("mbp_increment.json", seqNum=100020146799, prevSeqNum=100020146797)
    assert htx.receive("feed", lost, T + 2) == [
        Resync("htx", "BTC/USDT", None, T + 2, "gap", "expected previous id 100020146795, got 100020146797"),
        SendFrame("feed", '{"req":"market.btcusdt.mbp.5","id":"3"}'),
    ]
    assert not htx.book("BTC/USDT").synced  # type: ignore[union-attr]
    assert htx.book("ETH/BTC").synced  # type: ignore[union-attr]


def test_refresh_older_than_every_cached_increment_is_asked_again(htx: HtxAdapter) -> None:
    """A refresh older than every cached increment (all have prevSeqNum > seqNum) is requested again."""
    htx.receive("feed", gz("mbp_increment.json"), T)
    stale = raw("mbp_rep.json").replace(b"100020146794", b"100020146790")
    assert htx.receive("feed", deflate(stale), T) == [SendFrame("feed", '{"req":"market.btcusdt.mbp.5","id":"2"}')]
    assert not htx.book("BTC/USDT").synced  # type: ignore[union-attr]


def test_blank_increment_is_a_heartbeat(htx: HtxAdapter) -> None:
    """HTX: "while there is nothing change ... still sends out a message which contains two blank objects"."""
    synced_spot(htx)
    blank = edited("mbp_increment.json", seqNum=100020146795, prevSeqNum=100020146795, asks=[], bids={})
    assert htx.receive("feed", blank, T + 5) == []
    assert htx.book("BTC/USDT").updated == T + 5  # type: ignore[union-attr]


def test_rejected_refresh_is_an_error_and_may_be_asked_again(htx: HtxAdapter) -> None:
    """A refused ``req`` reports the error; the next increment asks again."""
    htx.receive("feed", gz("mbp_increment.json"), T)
    refused = b'{"id":"1","rep":"market.btcusdt.mbp.5","status":"error","err-code":"bad-request","err-msg":"x"}'
    assert htx.receive("feed", deflate(refused), T) == [
        Error("htx", "BTC/USDT", None, T, "feed", "rejected", "req market.btcusdt.mbp.5: bad-request: x")
    ]
    assert htx.receive("feed", gz("mbp_increment.json"), T) == [
        SendFrame("feed", '{"req":"market.btcusdt.mbp.5","id":"2"}')
    ]


def test_an_error_reply_without_rep_to_a_refresh_lets_the_book_ask_again(htx: HtxAdapter) -> None:
    """HTX's rate-limit and timeout errors name no topic ("429 too many request", no ``rep``): the
    reply is matched to the refresh by its id, and the next increment asks again."""
    assert htx.receive("feed", gz("mbp_increment.json"), T) == [
        SendFrame("feed", '{"req":"market.btcusdt.mbp.5","id":"1"}')
    ]
    refused = b'{"status":"error","err-code":"bad-request","err-msg":"429 too many request","id":"1","ts":1}'
    assert htx.receive("feed", deflate(refused), T) == [
        Error("htx", "BTC/USDT", None, T, "feed", "rejected", "bad-request: 429 too many request (id '1')")
    ]
    assert htx.receive("feed", gz("mbp_increment.json"), T) == [
        SendFrame("feed", '{"req":"market.btcusdt.mbp.5","id":"2"}')
    ]


def test_whole_book_feeds_replace_the_book_every_message(htx: HtxAdapter) -> None:
    """``depth.step0`` (cryptofeed's book channel) and ``mbp.refresh``: each message is the whole book,
    timed by the tick's ``ts`` (the book's own) where it has one, else by the push's."""
    assert htx.receive("c", gz("depth_step0.json"), T) == [
        Book("htx", "BTC/USDT", 1630983549.5, T, True, [(52690.69, 0.36281), (52690.68, 0.2)],
             [(52690.7, 0.372591), (52691.26, 0.13)], 136998124622)
    ]  # fmt: skip
    again = edited("depth_step0.json", bids=[[52690.5, 1.0]], asks=[[52691.0, 2.0]], version=136998124623)
    [event] = htx.receive("c", again, T + 1)
    assert event.snapshot and event.sequence == 136998124623
    assert (htx.book("BTC/USDT").bids(), htx.book("BTC/USDT").asks()) == ({52690.5: 1.0}, {52691.0: 2.0})  # type: ignore[union-attr]
    [refresh] = htx.receive("c", deflate(raw("mbp_refresh.json").replace(b"btcusdt", b"adausdt")), T)
    assert (refresh.symbol, refresh.snapshot, refresh.sequence, len(refresh.bids)) == (
        "ADA/USDT",
        True,
        100020142010,
        5,
    )
    assert htx.stats["resync.snapshot"] == 0  # replacing a whole book is no resync


def test_a_second_book_feed_of_a_symbol_is_not_mixed_in(htx: HtxAdapter) -> None:
    """Two feeds of one symbol would fight over one book: the first one keeps it."""
    htx.receive("c", gz("depth_step0.json"), T)
    assert htx.receive("feed", gz("mbp_increment.json"), T) == []
    assert htx.stats["ignored.second_book"] == 1


def test_disconnect_resets_the_books_it_carried(htx: HtxAdapter) -> None:
    """A dropped connection resyncs its books (reason ``reconnect``)."""
    synced_spot(htx)
    out = htx.disconnected("feed", "closed", T + 3)
    assert [(type(e).__name__, getattr(e, "reason", "")) for e in out] == [
        ("Disconnected", "closed"),
        ("Resync", "reconnect"),
    ]
    assert not htx.book("BTC/USDT").synced  # type: ignore[union-attr]


# -- swap books ---------------------------------------------------------------------------------


def test_swap_incremental_book_snapshot_then_updates(swap: HtxSwapAdapter) -> None:
    """``data_type`` incremental: a snapshot, then updates one ``version`` apart; sizes in contracts;
    times are the tick's ``ts`` (the book's), not the push's."""
    assert swap.receive("m", gz("swap_depth_snapshot.json"), T) == [
        Book("htx_swap", "BTC/USDT:USDT", 1603707712.356, T, True, [(13071.9, 38.0), (13060.0, 400.0)],
             [(13081.9, 206.0), (13099.7, 371.0)], 1512467)
    ]  # fmt: skip
    assert swap.receive("m", gz("swap_depth_update.json"), T) == [
        Book("htx_swap", "BTC/USDT:USDT", 1603707712.391, T, False, [(13071.9, 40.0), (13060.0, 0.0), (13055.5, 9.0)],
             [], 1512468)
    ]  # fmt: skip
    assert swap.book("BTC/USDT:USDT").bids() == {13071.9: 40.0, 13055.5: 9.0}  # type: ignore[union-attr]


def test_swap_version_gap_subscribes_the_topic_again(swap: HtxSwapAdapter) -> None:
    """A skipped ``version`` rebuilds the book: unsubscribe and subscribe for a fresh snapshot."""
    swap.receive("m", gz("swap_depth_snapshot.json"), T)
    topic = "market.BTC-USDT.depth.size_20.high_freq"
    assert swap.receive("m", edited("swap_depth_update.json", version=1512470), T + 1) == [
        Resync("htx_swap", "BTC/USDT:USDT", None, T + 1, "gap", "expected u=1512468, got u=1512470"),
        SendFrame("m", f'{{"unsub":"{topic}","data_type":"incremental","id":"1"}}'),
        SendFrame("m", f'{{"sub":"{topic}","data_type":"incremental","id":"2"}}'),
    ]


def test_swap_update_before_any_snapshot_subscribes_again(swap: HtxSwapAdapter) -> None:
    """An update with no snapshot to apply to asks for one."""
    out = swap.receive("m", gz("swap_depth_update.json"), T)
    assert [type(a).__name__ for a in out] == ["SendFrame", "SendFrame"]


def test_swap_whole_book_feed(swap: HtxSwapAdapter) -> None:
    """``depth.step6`` (20 unmerged levels, each push the whole book)."""
    [event] = swap.receive("m", gz("swap_depth_step6.json"), T)
    assert (event.snapshot, event.bids, event.asks, event.sequence) == (
        True, [(13071.9, 38.0), (13068.0, 5.0)], [(13081.9, 197.0), (13099.7, 371.0)], 1603707576
    )  # fmt: skip


# -- funding and liquidations --------------------------------------------------------------------


def test_mark_index_and_funding_merge_into_one_derivative_ticker(swap: HtxSwapAdapter) -> None:
    """Mark and index klines' ``close`` and the funding notification build one ticker; open interest is not streamed."""
    assert swap.receive("i", gz("mark_price.json"), T) == [
        DerivativeTicker("htx_swap", "BTC/USDT:USDT", 1489474082.831, T, mark_price=9800.12)
    ]
    assert swap.receive("i", gz("index_kline.json"), T) == [
        DerivativeTicker("htx_swap", "BTC/USDT:USDT", 1607309592.214, T, mark_price=9800.12, index_price=19242.05)
    ]
    assert swap.receive("n", gz("funding_rate.json"), T) == [
        DerivativeTicker(
            "htx_swap", "BTC/USDT:USDT", 1603778748.166, T, mark_price=9800.12, index_price=19242.05,
            funding_rate=-0.000220068774978695, next_funding_time=1603785600.0,
        )
    ]  # fmt: skip
    assert swap.receive("n", gz("funding_rate.json"), T) == []  # nothing changed
    [event] = swap.receive("i", gz("estimated_rate.json"), T)
    assert event.predicted_funding_rate == 0.0001


def test_liquidation_side_price_and_base_amount(swap: HtxSwapAdapter) -> None:
    """``direction`` is the liquidation order's side; ``volume`` contracts of 1 O3 each."""
    assert swap.receive("n", gz("liquidation.json"), T) == [
        Liquidation("htx_swap", "O3/USDT:USDT", 1639122193.172, T, "sell", 0.7858, 432.0)
    ]


def test_wildcard_liquidations_of_unlisted_contracts_are_counted(swap: HtxSwapAdapter) -> None:
    """``public.*.liquidation_orders`` covers every contract: unlisted ones are counted, not errors."""
    frame = raw("liquidation.json").replace(b"public.O3-USDT", b"public.*").replace(b'"O3-USDT"', b'"XYZ-USDT"', 1)
    assert swap.receive("n", deflate(frame), T) == []
    assert swap.stats["ignored.unlisted_contract"] == 1


def test_funding_and_liquidations_need_swaps() -> None:
    """Spot offers neither channel."""
    assert "funding" not in HtxAdapter.channels
    assert {"funding", "liquidations"} <= set(HtxSwapAdapter.channels)


# -- control frames and bad input ----------------------------------------------------------------


def test_ping_is_answered_with_the_same_integer(htx: HtxAdapter) -> None:
    """HTX: "respond with a matching pong message which has the same integer"; a control frame, not data."""
    assert htx.receive("ws", gz("ping.json"), T) == [SendFrame("ws", '{"pong":1492420473027}')]
    assert htx.stats["ignored.ping"] == 1
    assert "ws" not in htx.data_at


def test_notification_ping_is_answered_with_its_ts(swap: HtxSwapAdapter) -> None:
    """Notification endpoints: ``{"op":"pong","ts":<the ping's ts>}``, the string kept as it came."""
    assert swap.receive("n", gz("notify_ping.json"), T) == [SendFrame("n", '{"op":"pong","ts":"1492420473058"}')]


def test_acknowledgements_and_unused_channels_are_counted(swap: HtxSwapAdapter, htx: HtxAdapter) -> None:
    """Acks carry no data; channels HTX publishes that the adapter does not use are counted, not errors."""
    for name in ("sub_ack.json", "unsub_ack.json", "detail.json"):
        assert htx.receive("ws", gz(name), T) == []
    for name in ("swap_high_freq_ack.json", "notify_sub_ack.json", "premium_index.json"):
        assert swap.receive("m", gz(name), T) == []
    assert (htx.stats["ignored.ack"], htx.stats["ignored.detail"]) == (2, 1)
    assert (swap.stats["ignored.ack"], swap.stats["ignored.premium_index"]) == (2, 1)


def test_error_reply_is_an_error_event(htx: HtxAdapter) -> None:
    """``{"status":"error","err-code":...}`` reports the refusal."""
    assert htx.receive("ws", gz("error.json"), T) == [
        Error("htx", None, None, T, "ws", "rejected", "bad-request: invalid mbp.150.symbol linkusdt (id '2')")
    ]


def test_server_close_notice_reconnects(swap: HtxSwapAdapter) -> None:
    """``{"op":"close"}``: the server is about to drop the connection; reconnect on our terms."""
    assert swap.receive("n", gz("notify_close.json"), T) == [Reconnect("n", "closed by HTX")]


BOMB = deflate(b'{"ch":"market.btcusdt.trade.detail","pad":"' + b"0" * (MAX_INFLATED * 4))


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (BOMB, "malformed"),
        (gz("bbo.json")[:-6], "malformed"),
        (b"\x1f\x8bnot deflate at all", "malformed"),
        (deflate(b'{"ch":"market.btcusdt.trade.deta'), "malformed"),
        (deflate(b'{"ch":"market.btcusdt.nosuchchannel","tick":{}}'), "unknown_topic"),
        (deflate(b'{"ch":"market.nosuchcoin.trade.detail","tick":{"data":[]}}'), "unknown_symbol"),
        (deflate(b'{"ch":"market.btcusdt.bbo","tick":{"bid":"NaN"}}'), "malformed"),
        (deflate(b'{"foo":1}'), "unknown_message"),
        (b'{"ch":"market.btcusdt.trade.detail","tick":{"data":[{"ts":1,"amount":-1,"price":1,"direction":"buy"}]}}',
         "malformed"),
        ("not json", "malformed"),
    ],
)  # fmt: skip
def test_bad_frames_become_one_error_each(htx: HtxAdapter, frame: str | bytes, reason: str) -> None:
    """Nothing raises; each bad frame is exactly one error event with its reason."""
    out = htx.receive("c", frame, T)
    assert [(type(e).__name__, e.reason) for e in out] == [("Error", reason)]  # type: ignore[union-attr]


def test_gzip_bomb_stops_at_the_bound() -> None:
    """Inflation stops at :data:`MAX_INFLATED` bytes: a bomb is refused, not expanded."""
    with pytest.raises(ValueError, match="inflates past"):
        inflate(BOMB)
    assert len(BOMB) < 64 * 1024


def test_inflated_text_and_gzip_frames_parse_alike(htx: HtxAdapter) -> None:
    """A recorder that stored the JSON itself replays as the binary frame does."""
    assert htx.receive("c", raw("bbo.json").decode(), T) == htx.receive("c", gz("bbo.json"), T)


# -- connections --------------------------------------------------------------------------------


def test_spot_plan_puts_books_on_feed_and_the_rest_on_ws(htx: HtxAdapter) -> None:
    """MBP increments and their refresh live on ``/feed``; trades, bbo and klines on ``/ws``."""
    subs = [Subscription("BTC/USDT", ch) for ch in ("trades", "ticker", "book", "candles")]
    ws, feed = htx.plan(subs)
    assert (ws.conn, ws.url, feed.conn, feed.url) == ("htx.ws.0", "wss://api.huobi.pro/ws", "htx.feed.0",
                                                        "wss://api.huobi.pro/feed")  # fmt: skip
    assert ws.subscribe == [
        '{"sub":"market.btcusdt.trade.detail","id":"1"}',
        '{"sub":"market.btcusdt.bbo","id":"2"}',
        '{"sub":"market.btcusdt.kline.1min","id":"3"}',
    ]
    assert feed.subscribe == ['{"sub":"market.btcusdt.mbp.150","id":"4"}']
    assert (feed.symbols, ws.symbols, feed.control_interval, feed.idle_timeout) == (["BTC/USDT"], [], 0.11, 60.0)
    assert (ws.ping_interval, ws.app_ping) == (20.0, None)


def test_swap_plan_uses_one_endpoint_per_family_and_purpose(swap: HtxSwapAdapter) -> None:
    """Market data per margin family, mark/index on ``/ws_index``, funding and liquidations on notifications."""
    subs = [Subscription("BTC/USDT:USDT", ch) for ch in ("book", "funding", "liquidations")]
    subs.append(Subscription("BTC/USD:BTC", "trades"))
    plans = {p.url.rpartition("/")[2]: p.subscribe for p in swap.plan(subs)}
    assert plans == {
        "linear-swap-ws": ['{"sub":"market.BTC-USDT.depth.size_150.high_freq","data_type":"incremental","id":"1"}'],
        "ws_index": [
            '{"sub":"market.BTC-USDT.mark_price.1min","id":"2"}',
            '{"sub":"market.BTC-USDT.index.1min","id":"3"}',
        ],
        "linear-swap-notification": [
            '{"op":"sub","cid":"4","topic":"public.BTC-USDT.funding_rate"}',
            '{"op":"sub","cid":"5","topic":"public.BTC-USDT.liquidation_orders"}',
        ],
        "swap-ws": ['{"sub":"market.BTC-USD.trade.detail","id":"6"}'],
    }  # fmt: skip


def test_plans_refuse_what_htx_does_not_offer(htx: HtxAdapter) -> None:
    """Unknown channels and intervals are usage errors, before anything connects."""
    from collector.errors import UsageError

    with pytest.raises(UsageError, match="no funding channel"):
        htx.plan([Subscription("BTC/USDT", "funding")])
    with pytest.raises(UsageError, match="no kline interval"):
        htx.plan([Subscription("BTC/USDT", "candles", "3m")])


def test_registry_and_recognized_hosts() -> None:
    """The ids are registered; captures from every HTX host (huobi.pro and hbdm) are recognised."""
    assert EXCHANGES["htx"] is HtxAdapter and EXCHANGES["htx_swap"] is HtxSwapAdapter
    assert HtxAdapter.recognizes("wss://api.huobi.pro/ws") and HtxAdapter.recognizes("wss://api-aws.huobi.pro/feed")
    for url in ("wss://api.hbdm.com/linear-swap-ws", "wss://api.hbdm.vn/swap-ws", "wss://api.btcgateway.pro/ws_index"):
        assert HtxSwapAdapter.recognizes(url)
    assert not HtxSwapAdapter.recognizes("wss://api.huobi.pro/ws")
    connect = Frame("connect", "c", 1.0, "", "wss://api.huobi.pro/ws")
    assert detect_exchange([connect]) == "htx"


def test_connected_plan_lists_its_books(htx: HtxAdapter) -> None:
    """``on_connect`` remembers which books a connection carries (a drop resets exactly those)."""
    [feed] = htx.plan([Subscription("BTC/USDT", "book")])
    htx.connected(feed, T)
    assert htx.conn_symbols("htx.feed.0") == ["BTC/USDT"]
    assert htx.connected(ConnectionPlan("x", "wss://api.huobi.pro/ws"), T)[0].url == "wss://api.huobi.pro/ws"


# -- the simulated wire format ------------------------------------------------------------------


@pytest.fixture
def spot_wire() -> tuple[Any, dict[str, Any]]:
    wire = HtxAdapter.simulator_wire()
    spec = wire.instrument("BTC/USDT", 1)
    return wire, {spec.native: wire.market(spec, 1, 40)}


def _reply(control: Any) -> list[Any]:
    frames = [control.reply, *control.frames]
    return [orjson.loads(inflate(f)) for f in frames if f is not None]


def test_sim_acknowledges_each_topic_and_refuses_the_wrong_path(spot_wire: tuple[Any, dict[str, Any]]) -> None:
    """``sub`` of a topic list: one ``subbed`` per topic; an MBP topic on ``/ws`` is an ``invalid topic``."""
    wire, markets = spot_wire
    session = wire.open("ws")
    topics = ["market.btcusdt.trade.detail", "market.btcusdt.mbp.150"]
    control = wire.on_client_text(session, orjson.dumps({"sub": topics, "id": "7"}).decode(), markets, 5)
    first, second = _reply(control)
    assert first == {"id": "7", "status": "ok", "subbed": "market.btcusdt.trade.detail", "ts": 5}
    assert (second["status"], second["err-code"], second["err-msg"]) == (
        "error",
        "bad-request",
        "invalid topic market.btcusdt.mbp.150",
    )
    assert control.subscribe == ["market.btcusdt.trade.detail"]


def test_sim_refresh_is_the_feed_view_with_its_seq_num(spot_wire: tuple[Any, dict[str, Any]]) -> None:
    """``req`` of an MBP topic on ``/feed`` answers the published book and its ``seqNum`` (what ``true_book`` holds)."""
    wire, markets = spot_wire
    session = wire.open("feed")
    wire.on_client_text(session, '{"sub":"market.btcusdt.mbp.150","id":"1"}', markets, 5)
    [rep] = _reply(wire.on_client_text(session, '{"req":"market.btcusdt.mbp.150","id":"2"}', markets, 6))
    bids, asks, seq = wire.true_book(markets["btcusdt"], None)
    assert (rep["id"], rep["rep"], rep["status"], rep["data"]["seqNum"]) == ("2", "market.btcusdt.mbp.150", "ok", seq)
    assert {p: q for p, q in rep["data"]["bids"]} == bids and {p: q for p, q in rep["data"]["asks"]} == asks
    [refused] = _reply(wire.on_client_text(session, '{"unsub":"market.btcusdt.bbo","id":"3"}', markets, 7))
    assert refused["err-msg"] == "unsub with not subbed topic"


def test_sim_swap_subscription_pushes_a_snapshot_and_notifications_ack() -> None:
    """A high-frequency book subscription is acknowledged, then snapshotted; notification subs use ``op``."""
    wire = HtxSwapAdapter.simulator_wire()
    spec = wire.instrument("BTC/USDT:USDT", 1)
    markets = {spec.native: wire.market(spec, 1, 40)}
    topic = "market.BTC-USDT.depth.size_150.high_freq"
    sub = orjson.dumps({"sub": topic, "data_type": "incremental", "id": "1"}).decode()
    ack, snapshot = _reply(wire.on_client_text(wire.open("linear-swap-ws"), sub, markets, 5))
    assert ack == {"id": "1", "status": "ok", "subbed": topic, "data_type": "incremental", "ts": 5}
    assert (snapshot["tick"]["event"], snapshot["tick"]["version"]) == ("snapshot", 0)
    notify = wire.open("linear-swap-notification")
    ok, funding = _reply(
        wire.on_client_text(notify, '{"op":"sub","cid":"9","topic":"public.BTC-USDT.funding_rate"}', markets, 5)
    )
    assert ok == {"op": "sub", "cid": "9", "topic": "public.BTC-USDT.funding_rate", "ts": 5, "err-code": 0}
    assert (funding["op"], funding["data"][0]["estimated_rate"]) == ("notify", "null")
    [refused] = _reply(
        wire.on_client_text(notify, '{"op":"sub","cid":"10","topic":"public.NOPE-USDT.funding_rate"}', markets, 5)
    )
    assert (refused["err-code"], refused["err-msg"]) == (2011, "Contract doesn't exist.")
