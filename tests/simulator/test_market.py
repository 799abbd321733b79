"""The neutral market model: exact book bookkeeping, ids, trades and candles, no sockets."""

from __future__ import annotations

import random

import pytest

from collector.exchanges.binance.sim import BinanceWire
from collector.simulator.market import InstrumentSpec, SymbolMarket, split_symbol

T0 = 1_700_000_000_000


def spec(**kw: object) -> InstrumentSpec:
    base = dict(
        symbol="BTC/USDT",
        native="BTCUSDT",
        base="BTC",
        quote="USDT",
        settle=None,
        expiry=None,
        price_decimals=2,
        size_decimals=5,
        start_ticks=6_000_000,
        mean_lots=5000,
    )
    base.update(kw)
    return InstrumentSpec(**base)  # type: ignore[arg-type]


def test_split_symbol() -> None:
    """Unified symbols split into base, quote, settle and expiry; junk is refused."""
    assert split_symbol("BTC/USDT") == ("BTC", "USDT", None, None)
    assert split_symbol("BTC/USD:BTC") == ("BTC", "USD", "BTC", None)
    assert split_symbol("BTC/USDT:USDT-250926") == ("BTC", "USDT", "USDT", "250926")
    with pytest.raises(ValueError, match="not a unified symbol"):
        split_symbol("BTCUSDT")


def test_price_and_size_strings() -> None:
    """Ticks and lots print as exact decimals; spot pads to 8 places."""
    s = spec(text_decimals=8)
    assert s.price(6_000_012) == "60000.12000000"
    assert s.size(1) == "0.00001000"
    f = spec(price_decimals=1, size_decimals=3)
    assert (f.price(600_001), f.size(1234), f.tick_size, f.step_size) == ("60000.1", "1.234", "0.1", "0.001")


def test_updates_rebuild_the_book_exactly() -> None:
    """Applying each update's absolute sizes to the previous book gives the next book, never crossed."""
    m = SymbolMarket(spec(), random.Random(5), depth=40)
    bids, asks = dict(m.bids), dict(m.asks)
    for i in range(3000):
        u = m.step(T0 + i * 100)
        for side, changes in ((bids, u.bids), (asks, u.asks)):
            for p, q in changes:
                if q:
                    side[p] = q
                else:
                    side.pop(p, None)
        assert (bids, asks) == (m.bids, m.asks)
        assert max(bids) < min(asks)
        assert 32 <= len(bids) <= 48 and 32 <= len(asks) <= 48
        assert [p for p, _ in u.bids] == sorted((p for p, _ in u.bids), reverse=True)
        assert [p for p, _ in u.asks] == sorted(p for p, _ in u.asks)
        assert u.best == m.best()


def test_contiguous_and_gapped_ids() -> None:
    """id_gap=0 numbers changes contiguously (spot); id_gap>0 leaves holes linked by prev_id (futures)."""
    spot = SymbolMarket(spec(), random.Random(1), id_gap=0, start_id=100)
    fut = SymbolMarket(spec(), random.Random(1), id_gap=4, start_id=100)
    holes = 0
    for i in range(500):
        a = spot.step(T0 + i * 100)
        b = fut.step(T0 + i * 100)
        assert a.first_id == a.prev_id + 1 and a.last_id == a.first_id + len(a.bids) + len(a.asks) - 1
        assert (
            b.first_id is not None
            and b.first_id > b.prev_id
            and b.last_id - b.first_id + 1 == len(b.bids) + len(b.asks)
        )
        holes += b.first_id - b.prev_id - 1
    assert holes > 0


def test_trades_take_the_touch() -> None:
    """A buy fills at the best ask before the step, a sell at the best bid; sizes leave the book."""
    m = SymbolMarket(spec(), random.Random(9))
    seen = 0
    for i in range(300):
        bid, bid_lots, ask, ask_lots = m.best()
        u = m.step(T0 + i * 100)
        if u.fills:
            f = u.fills[0]
            if f.buyer_maker:
                assert (f.ticks, f.lots <= bid_lots) == (bid, True)
            else:
                assert (f.ticks, f.lots <= ask_lots) == (ask, True)
            seen += 1
    assert seen > 100


def test_candles_sum_the_fills() -> None:
    """Each closed 1s candle's OHLC, volume and trade count are those of its fills."""
    m = SymbolMarket(spec(), random.Random(2), intervals=("1s",))
    fills = []
    closed = []
    for i in range(100):
        u = m.step(T0 + i * 100)
        closed += [c for c, done in u.candles if done]
        fills += u.fills
    assert [c.start_ms for c in closed] == [T0 + k * 1000 for k in range(9)]
    for c in closed:
        mine = [f for f in fills if c.start_ms <= f.time_ms < c.end_ms]
        if not mine:
            assert c.trades == 0 and c.open == c.close
            continue
        prices = [f.ticks for f in mine]
        assert (c.open, c.high, c.low, c.close) == (prices[0], max(prices), min(prices), prices[-1])
        assert c.lots == sum(f.lots for f in mine)
        assert c.trades == sum(f.last_id - f.first_id + 1 for f in mine)
        assert (c.first_trade, c.last_trade) == (mine[0].first_id, mine[-1].last_id)


def test_same_seed_same_market() -> None:
    """The wire's market for a symbol is a pure function of the seed."""
    wire = BinanceWire("binance")
    one = wire.market(wire.instrument("ETH/USDT", 4), 4, 40)
    two = wire.market(wire.instrument("ETH/USDT", 4), 4, 40)
    other = wire.market(wire.instrument("ETH/USDT", 5), 5, 40)
    for i in range(50):
        one.step(T0 + i)
        two.step(T0 + i)
        other.step(T0 + i)
    assert (one.bids, one.asks, one.last_id) == (two.bids, two.asks, two.last_id)
    assert one.bids != other.bids
