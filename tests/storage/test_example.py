"""examples/parquet_duckdb.py builds a dataset from a capture and queries it with DuckDB, as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, recording

pytest.importorskip("duckdb")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "examples/parquet_duckdb.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_parquet_duckdb_example(tmp_path: Path) -> None:
    """Trades per market, a VWAP and spreads from the Bybit session; building twice changes nothing."""
    capture = str(recording("bybit.jsonl.zst"))
    first = run(str(tmp_path), "--from-capture", capture)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[:3] == [
        "trades per market and day",
        "  bybit      SOL/USDT:USDT      2026-08-09      165 trades  volume 5697.4",
        "  bybit      DOGE/USDT:USDT     2026-08-09       83 trades  volume 446624",
    ]
    assert "  2026-08-09 21:27 UTC  vwap 77.2864  (165 trades)" in lines
    assert "  bybit      BTC/USDT              0.015 bps over 46 snapshots" in lines
    again = run(str(tmp_path), "--from-capture", capture)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
