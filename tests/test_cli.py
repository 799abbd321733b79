"""Command-line parsing and its clear errors (exit status 2, one line on stderr)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from collector.cli import main, parse_targets
from tests.conftest import recording


def test_targets_split_at_the_first_colon() -> None:
    """Unified symbols may contain ':' themselves."""
    assert parse_targets(["binance:BTC/USDT,ETH/USDT", "binance_usdm:BTC/USDT:USDT"]) == [
        ("binance", ["BTC/USDT", "ETH/USDT"]),
        ("binance_usdm", ["BTC/USDT:USDT"]),
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "nope:BTC/USDT"], "unknown exchange 'nope'"),
        (["run", "binance"], "expected EXCHANGE:SYMBOL"),
        (["run", "binance:BTC/USDT", "--channels", "trades,depth"], "unknown channel 'depth'"),
        (["run", "binance:BTC/USDT", "--shard", "2/2"], "expected --shard I/N"),
        (["record", "binance:BTC/USDT", "bybit:BTC/USDT", "-o", "x.jsonl"], "one exchange per capture"),
        (["replay", "/nonexistent/capture.jsonl"], "no capture at"),
        (["replay", "/nonexistent/capture.jsonl", "--indicators", "NOPE(3)"], "NOPE"),
    ],
)
def test_usage_errors_exit_2_with_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Bad input never shows a traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("collector: error: ")
    assert message in err


def test_replay_out_file_and_book_top(tmp_path: Path) -> None:
    """--out writes the same JSON lines as stdout would; --book-top adds top levels to every book event."""
    out = tmp_path / "events.jsonl"
    assert main(["replay", str(recording("binance.jsonl.zst")), "--book-top", "2", "--out", str(out)]) == 0
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(lines) == 265
    books = [line for line in lines if line["type"] == "book"]
    assert len(books) == 176
    assert all(len(b["top"]["bids"]) == 2 and len(b["top"]["asks"]) == 2 for b in books)
    assert books[0]["top"] == {"bids": [[0.3521, 672.0], [0.352, 1144.0]], "asks": [[0.3525, 3959.0], [0.3526, 3199.0]]}
