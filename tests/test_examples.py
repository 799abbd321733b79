"""The offline examples run as a user would run them, and the library writes nothing but their output to stdout."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT, recording


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def test_spread_bot_against_the_simulator() -> None:
    """The bot sees synced books on both exchanges and prints only its own lines."""
    result = run("examples/spread_bot.py", "--simulated", "--duration", "4")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines
    assert all(line.startswith("binance ") and "bybit" in line for line in lines)


def test_replay_indicators_example() -> None:
    """Replaying the Binance recording prints candles, indicators and the four final books."""
    path = recording("binance.jsonl.zst")
    result = run("examples/replay_indicators.py", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-4:] == [
        "NKN/USDT: best bid (0.3527, 9602.0), best ask (0.3531, 152.0), 1608 levels",
        "BLZ/ETH: best bid (6.547e-05, 100.0), best ask (6.56e-05, 1528.0), 1172 levels",
        "LRC/BTC: best bid (6.37e-06, 2500.0), best ask (6.38e-06, 2285.0), 1176 levels",
        "RUNE/EUR: best bid (6.251, 69.3), best ask (6.269, 69.3), 690 levels",
    ]
    assert "NKN/USDT 1s close 0.3528 volume 58.0" in lines


def test_premium_bot_against_the_simulator() -> None:
    """The premium bot prints premiums for its three assets and one alert per asset crossing the threshold."""
    result = run("examples/premium_bot.py", "--simulated", "--duration", "6", "--threshold", "0.02")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert {line.split()[0] for line in lines if "upbit/binance" in line} == {"BTC", "ETH", "XRP"}
    alerts = [line for line in lines if line.startswith("ALERT ")]
    assert sorted(line.split()[1] for line in alerts) == ["BTC/KRW", "ETH/KRW", "XRP/KRW"]
    assert [line.split(":")[0] for line in lines[-3:]] == ["final BTC", "final ETH", "final XRP"]
