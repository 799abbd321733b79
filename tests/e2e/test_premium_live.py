"""``collector premium`` offline against the simulator, and the Python API over loopback websockets."""

from __future__ import annotations

import orjson

from collector import Collector, Premium
from collector.simulator import Simulator
from tests.e2e.helpers import Recorder, wait_for
from tests.e2e.test_cli_live import run_cli


async def test_cli_premium_json_for_three_assets_and_two_venues_abroad() -> None:
    """Three assets on upbit over binance and okx: every pair gets premiums near the simulator's 2.5 %."""
    code, out, err = await run_cli(
        "premium", "BTC,ETH,XRP", "--krw", "upbit", "--usd", "binance,okx", "--simulate", "--json", "--duration", "8"
    )
    assert code == 0, err.decode()
    events = [orjson.loads(line) for line in out.splitlines()]
    pairs = {(e["base"], e["krw_exchange"], e["usd_exchange"]) for e in events if e["type"] == "premium"}
    assert pairs == {(b, "upbit", u) for b in ("BTC", "ETH", "XRP") for u in ("binance", "okx")}
    for e in events:
        assert 0.0 < e["premium"] < 0.06, e
        assert e["fx_source"] == "upbit:USDT/KRW" and 1_300 < e["fx"] < 1_500
        assert e["premium"] == e["krw_price"] / (e["usd_price"] * e["fx"]) - 1


async def test_cli_premium_table_fits_80_columns() -> None:
    code, out, err = await run_cli(
        "premium", "BTC,ETH", "--krw", "upbit", "--usd", "binance", "--simulate", "--duration", "10", "--fx", "1400"
    )
    assert code == 0, err.decode()
    text = out.decode()
    assert "KRW premium" in text and "fx 1400 fixed" in text and "%" in text
    assert max(len(line) for line in text.splitlines()) <= 80


async def test_cli_premium_mistakes_are_one_line() -> None:
    code, _, err = await run_cli("premium", "BTC", "--krw", "nosuch", "--usd", "binance", "--simulate")
    line = err.decode().strip()
    assert code == 2 and line.startswith("collector: error: --krw: no exchange 'nosuch'; known: binance, ")
    assert "\n" not in line
    code, _, err = await run_cli("premium", "BTC", "--krw", "upbit", "--usd", "binance", "--fx", "-5", "--simulate")
    assert code == 2 and "fixed FX rate must be positive" in err.decode()
    code, _, err = await run_cli("premium", "BTC", "--usd", "binance")
    assert code == 2 and "the following arguments are required: --krw" in err.decode()


async def test_collector_premium_subscribes_what_it_reads() -> None:
    """``c.premium(...)`` subscribes books and trades of every market it reads and emits premiums."""
    markets = {"upbit": ["BTC/KRW", "USDT/KRW"], "binance": ["BTC/USDT"]}
    async with Simulator(markets, seed=2, tick_interval=0.05) as sim:
        c = Collector(endpoints={ex: sim.endpoints(ex) for ex in markets})
        monitor = c.premium(["BTC"], ["upbit"], ["binance"], alerts=["premium > 0.01"])
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            await wait_for(lambda: len(rec.of(Premium)) >= 3, timeout=15)
        finally:
            await c.stop()
    latest = monitor.latest("BTC", "upbit", "binance")
    assert latest is not None and latest.krw_source == "mid" and latest.usd_source == "mid"
    assert {a.rule for a in rec.events if a.type == "alert"} == {"premium > 0.01 (binance BTC/USDT)"}
