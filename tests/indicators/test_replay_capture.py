"""A synthetic Binance capture of ~3000 minutes of aggTrades, replayed by ``collector replay --candles --indicators``.

Closed 1m candles must equal candles built here in plain Python from the same trades
(with the documented empty-minute policy), and every indicator must equal TA-Lib's batch
function over those candles.
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import orjson
import pytest
import talib
from talib import abstract

from collector.capture import CaptureWriter
from collector.cli import main as cli_main
from collector.codec import decode_event
from collector.indicators import parse_indicator, split_specs
from collector.models import Candle, Error, Event, Indicator, Trade
from tests.indicators.util import assert_series_close

SPECS = "SMA(20),EMA(20),RSI(14),MACD(12,26,9),BBANDS(20,2,2),ATR(14),OBV,MFI(14),STOCH(14,3,0,3,0)"
MINUTES = 3000
START_MS = 1_700_000_040_000
SYMBOLS = {"BTCUSDT": ("BTC", "USDT", 30000.0), "ETHUSDT": ("ETH", "USDT", 2000.0)}
EXCHANGE_INFO = {
    "symbols": [
        {"symbol": native, "status": "TRADING", "baseAsset": base, "quoteAsset": quote, "filters": []}
        for native, (base, quote, _) in SYMBOLS.items()
    ]
}

# (native symbol, trade time ms, price text, quantity text, buyer is maker)
RawTrade = tuple[str, int, str, str, bool]


def _trades() -> list[RawTrade]:
    rng = random.Random(20240601)
    trades: list[RawTrade] = []
    prices = {s: p for s, (_, _, p) in SYMBOLS.items()}
    for minute in range(MINUTES):
        for native in SYMBOLS:
            # About one minute in eight has no trade for a symbol: empty intervals on both.
            count = 0 if rng.random() < 0.12 else rng.randint(1, 5)
            offsets = sorted(rng.randrange(60_000) for _ in range(count))
            for offset in offsets:
                prices[native] *= 1 + rng.gauss(0, 0.001)
                trades.append(
                    (
                        native,
                        START_MS + minute * 60_000 + offset,
                        f"{prices[native]:.2f}",
                        f"{rng.uniform(0.001, 2):.5f}",
                        rng.random() < 0.5,
                    )
                )
    trades.sort(key=lambda t: t[1])
    return trades


def _write_capture(path: Path, trades: list[RawTrade]) -> None:
    with CaptureWriter(path, "binance", recorded=START_MS / 1000) as w:
        w.http("https://api.binance.com/api/v3/exchangeInfo", orjson.dumps(EXCHANGE_INFO), START_MS / 1000 - 2)
        w.connect("binance.0", "wss://stream.binance.com:9443/stream", START_MS / 1000 - 1)
        for agg_id, (native, ms, price, qty, maker) in enumerate(trades, 1):
            data = {"e": "aggTrade", "E": ms + 3, "s": native, "a": agg_id, "p": price, "q": qty, "f": agg_id,
                    "l": agg_id, "T": ms, "m": maker, "M": True}  # fmt: skip
            frame = {"stream": f"{native.lower()}@aggTrade", "data": data}
            w.recv("binance.0", orjson.dumps(frame).decode(), (ms + 40) / 1000)


def _expected_candles(trades: list[RawTrade], native: str) -> list[tuple[float, ...]]:
    """1m OHLCV bars from the raw trades, the documented way: flat bars for empty minutes; the last one open."""
    by_minute: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for sym, ms, price, qty, _ in trades:
        if sym == native:
            by_minute[ms // 60_000].append((float(price), float(qty)))
    minutes = sorted(by_minute)
    bars: list[tuple[float, ...]] = []
    close = 0.0
    for minute in range(minutes[0], minutes[-1]):  # the last minute is still forming
        fills = by_minute.get(minute)
        if fills:
            prices = [p for p, _ in fills]
            volume = 0.0
            for _, q in fills:
                volume += q
            bars.append((minute * 60.0, prices[0], max(prices), min(prices), prices[-1], volume, len(fills)))
            close = prices[-1]
        else:
            bars.append((minute * 60.0, close, close, close, close, 0.0, 0))
    return bars


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[RawTrade], list[Event], list[Trade]]:
    """Run the real command line: ``collector replay CAPTURE --candles 1m --indicators SPECS --out FILE``."""
    trades = _trades()
    folder = tmp_path_factory.mktemp("capture")
    path = folder / "binance-aggtrades.jsonl.zst"
    _write_capture(path, trades)
    events_path = folder / "events.jsonl"
    code = cli_main(["replay", str(path), "--candles", "1m", "--indicators", SPECS, "--out", str(events_path)])
    assert code == 0
    events = [decode_event(line) for line in events_path.read_bytes().splitlines()]
    seen = [e for e in events if isinstance(e, Trade)]
    out = [e for e in events if isinstance(e, Candle | Indicator) and e.source == "trades"]
    assert not any(isinstance(e, Error) for e in events)
    empty = [c for c in out if isinstance(c, Candle) and c.closed and c.trades == 0]
    assert len(empty) > 100
    return trades, out, seen


def test_capture_replays_every_trade(replayed: tuple[list[RawTrade], list[Event], list[Trade]]) -> None:
    """Every aggTrade frame became a Trade with the unified symbol."""
    trades, _, seen = replayed
    assert len(seen) == len(trades) > 10_000
    assert {t.symbol for t in seen} == {"BTC/USDT", "ETH/USDT"}


@pytest.mark.parametrize(("native", "symbol"), [("BTCUSDT", "BTC/USDT"), ("ETHUSDT", "ETH/USDT")])
def test_closed_candles_equal_independently_built_ones(
    replayed: tuple[list[RawTrade], list[Event], list[Trade]], native: str, symbol: str
) -> None:
    """Closed 1m candles equal the plain-Python bars exactly, one per minute, none missing or repeated."""
    trades, out, _ = replayed
    got = [
        (c.start, c.open, c.high, c.low, c.close, c.volume, c.trades)
        for c in out
        if isinstance(c, Candle) and c.closed and c.symbol == symbol
    ]
    want = _expected_candles(trades, native)
    assert len(want) >= MINUTES - 2
    assert got == want


@pytest.mark.parametrize(("native", "symbol"), [("BTCUSDT", "BTC/USDT"), ("ETHUSDT", "ETH/USDT")])
def test_indicators_equal_talib_batch_on_those_candles(
    replayed: tuple[list[RawTrade], list[Event], list[Trade]], native: str, symbol: str
) -> None:
    """Each indicator's closed values equal TA-Lib's batch function over the whole candle history, to 1e-9."""
    trades, out, _ = replayed
    bars = np.array(_expected_candles(trades, native))
    columns = {"open": bars[:, 1], "high": bars[:, 2], "low": bars[:, 3], "close": bars[:, 4], "volume": bars[:, 5]}
    for text in split_specs(SPECS):
        spec = parse_indicator(text)
        events = [
            e
            for e in out
            if isinstance(e, Indicator) and e.closed and e.symbol == symbol and (e.name, tuple(e.params)) == spec.key
        ]
        assert [e.start for e in events] == list(bars[:, 0])
        params = dict(zip(abstract.Function(spec.name).parameters, spec.params, strict=True))
        batch = getattr(talib, spec.name)(*(columns[f] for f in spec.inputs), **params)
        batch = list(batch) if isinstance(batch, tuple | list) else [batch]
        for name, want in zip(spec.outputs, batch, strict=True):
            assert_series_close(f"{symbol} {spec.text}.{name}", [e.values[name] for e in events], want)
