"""Derivative channels end to end over loopback websockets: mark price, liquidations, polled open interest."""

from __future__ import annotations

from pathlib import Path

import orjson

from collector import Collector
from collector.capture import CaptureWriter
from collector.models import DerivativeTicker, Liquidation, Ticker
from collector.replay import Replay
from collector.simulator import Simulator
from tests.e2e.helpers import Recorder, wait_for
from tests.e2e.test_cli_live import run_cli


async def test_binance_usdm_mark_price_liquidations_and_polled_open_interest(tmp_path: Path) -> None:
    """Mark price every second, force orders, open interest polled at the asked interval within the weight
    budget; the recorded session replays to the same derivative values, open interest included."""
    capture = tmp_path / "usdm.jsonl"
    symbol = "BTC/USDT:USDT"
    async with Simulator({"binance_usdm": [symbol]}, seed=3, tick_interval=0.02) as sim:
        with CaptureWriter(capture, "binance_usdm") as writer:
            c = Collector(endpoints={"binance_usdm": sim.endpoints("binance_usdm")}, record=writer, poll_interval=0.25)
            c.subscribe("binance_usdm", [symbol], ["trades", "funding", "liquidations"])
            rec = Recorder()
            c.on(rec)
            await c.start()
            try:

                def enough() -> bool:
                    # Every mark price after the first poll carries the open interest it learnt,
                    # so polls are counted at the simulator: the listing and four polls.
                    polled = [e for e in rec.of(DerivativeTicker) if e.open_interest is not None]
                    return bool(polled) and sim.stats["rest_calls"] >= 5 and len(rec.of(Liquidation)) >= 2

                await wait_for(enough, timeout=15)
            finally:
                await c.stop()
        calls = sim.stats["rest_calls"]
    live = rec.of(DerivativeTicker)
    assert {e.symbol for e in live} == {symbol}
    # A poll answered before the first mark price gives open interest without a value yet.
    marked = [e for e in live if e.mark_price is not None]
    assert marked and all(e.index_price and e.funding_rate is not None and e.next_funding_time for e in marked)
    polled = [e for e in marked if e.open_interest is not None]
    assert polled and all(e.open_interest_value == e.open_interest * e.mark_price for e in polled)  # type: ignore[operator]
    assert {e.side for e in rec.of(Liquidation)} <= {"buy", "sell"}
    assert rec.of(Ticker) == []  # funding is not the ticker channel
    # Weight 1 per poll at 4 per second: far inside 2,400 a minute, and nothing was refused.
    assert c._rest.stats["rate_limited"] == 0 and calls >= 5

    replayed = [e for e in Replay(capture) if isinstance(e, DerivativeTicker)]
    key = lambda e: (e.mark_price, e.index_price, e.funding_rate, e.open_interest)  # noqa: E731
    assert {key(e) for e in replayed} == {key(e) for e in live}


async def test_bybit_funding_and_liquidations_over_loopback() -> None:
    """Bybit linear tickers give derivative tickers (merged deltas), ``allLiquidation`` gives liquidations."""
    symbol = "BTC/USDT:USDT"
    async with Simulator({"bybit": [symbol]}, seed=8, tick_interval=0.02) as sim:
        c = Collector(endpoints={"bybit": sim.endpoints("bybit")})
        c.subscribe("bybit", [symbol], ["funding", "liquidations"])
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            await wait_for(lambda: len(rec.of(DerivativeTicker)) >= 5 and len(rec.of(Liquidation)) >= 2, timeout=15)
        finally:
            await c.stop()
    tickers = rec.of(DerivativeTicker)
    assert all(e.mark_price and e.index_price and e.open_interest and e.next_funding_time for e in tickers)
    assert len({e.funding_rate for e in tickers}) > 1  # the funding rate moves with the premium
    assert all(e.amount > 0 and e.price > 0 for e in rec.of(Liquidation))
    assert rec.of(Ticker) == []


async def test_cli_run_with_funding_and_liquidations() -> None:
    """`collector run binance_usdm:BTC/USDT:USDT --channels trades,funding,liquidations` prints all three."""
    async with Simulator({"binance_usdm": ["BTC/USDT:USDT"]}, seed=5, tick_interval=0.02) as sim:
        ep = sim.endpoints("binance_usdm")
        code, out, err = await run_cli(
            "run",
            "binance_usdm:BTC/USDT:USDT",
            "--channels",
            "trades,funding,liquidations",
            "--poll-interval",
            "0.5",
            "--endpoint",
            f"binance_usdm={ep.ws},{ep.rest}",
            "--duration",
            "4",
        )
    assert code == 0, err.decode()
    kinds = {orjson.loads(line)["type"] for line in out.splitlines()}
    assert {"trade", "derivative_ticker", "liquidation"} <= kinds
