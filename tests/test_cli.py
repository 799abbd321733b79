"""Command-line parsing and its clear errors (exit status 2, one line on stderr)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from collector.cli import main, parse_targets
from tests.conftest import FIXTURES, recording


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
        (["run", "binance:BTC/USDT", "--book-top", "0"], "expected a number >= 1"),
        (["run", "binance:BTC/USDT", "--book-top", "many"], "expected a whole number"),
        (["run", "binance:BTC/USDT", "--duration", "0"], "positive, finite number of seconds"),
        (["run", "binance:BTC/USDT", "--duration", "-3"], "positive, finite number of seconds"),
        (["run", "binance:BTC/USDT", "--duration", "nan"], "positive, finite number of seconds"),
        (["run", "binance:BTC/USDT", "--duration", "soon"], "expected a number of seconds"),
        (["run", "binance:BTC/USDT", "--out", "/nonexistent/dir/x.jsonl"], "does not exist"),
        (["run", "binance:BTC/USDT", "--endpoint", "nope=ws://x,http://x"], "unknown exchange 'nope'"),
        (["record", "binance:BTC/USDT", "-o", "/nonexistent/dir/x.jsonl.zst"], "does not exist"),
        (["replay", "/", "--exchange", "binance"], "is a directory"),
        (["replay", "capture.jsonl", "--exchange", "nope"], "no exchange 'nope'"),
        (["run", "binance:BTC/USDT", "--channels", ""], "at least one channel"),
        (["run", "upbit:BTC/KRW", "--channels", "funding"], "offers no funding channel"),
        (["simulate", "nope:X/Y"], "unknown exchange 'nope'"),
        (["consume", "127.0.0.1:1", "--connect-timeout", "1"], "no Kafka broker reachable at 127.0.0.1:1"),
        (["consume", "127.0.0.1:1", "--pattern", "(["], "not a regular expression"),
        (["nonsense"], "invalid choice"),
        (["run"], "the following arguments are required"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bad input never shows a traceback: one line on stderr, exit status 2."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "capture.jsonl").write_text('{"t":"header","format":2,"exchange":"BINANCE"}\n')
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("collector: error: ")
    assert err.count("\n") == 1, err
    assert message in err


def test_directory_as_output_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--out naming a directory is refused before anything runs."""
    assert main(["replay", "x.jsonl", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("collector: error: ") and "is a directory" in err and err.count("\n") == 1


def test_capture_of_an_unsupported_exchange_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A capture from an exchange no adapter serves names it and lists the supported ones."""
    path = tmp_path / "x.jsonl"
    lines = [
        b'{"t":"header","format":2,"exchange":"FOOEX","recorded":1.0}',
        b'{"t":"connect","conn":"c","ts":1.0,"addr":"wss://ws.fooex.example/ws"}',
        b'{"t":"recv","conn":"c","ts":1.1,"data":"{}"}',
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("collector: error: FOOEX is not supported yet; supported: ") and "binance" in err


def test_exchange_flag_against_the_header_warns(capsys: pytest.CaptureFixture[str]) -> None:
    """--exchange contradicting the capture's header is done as asked, with a warning."""
    code = main(["replay", str(recording("binance.jsonl.zst")), "--exchange", "binance_usdm", "--out", "/dev/null"])
    assert code == 0
    err = capsys.readouterr().err
    assert "collector: warning: the capture's header names BINANCE, replaying it as binance_usdm" in err


def test_log_level_is_accepted_after_the_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    """`collector replay FILE --log-level warning` works like `collector --log-level warning replay FILE`."""
    assert main(["replay", str(recording("binance.jsonl.zst")), "--out", "/dev/null", "--log-level", "warning"]) == 0
    assert main(["--log-level", "error", "replay", str(recording("binance.jsonl.zst")), "--out", "/dev/null"]) == 0


def test_truncated_capture_replays_what_it_has_then_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A capture cut in the middle of a record: the events before the cut are printed, a warning says
    where it ends, the exit status is 1."""
    whole = (FIXTURES / "binance").glob("*")
    del whole
    source = tmp_path / "whole.jsonl"
    frames = [
        b'{"t":"header","format":2,"exchange":"BINANCE","recorded":1.0}',
        b'{"t":"http","conn":"h","ts":1.0,"url":"https://api.binance.com/api/v3/exchangeInfo","data":'
        + orjson.dumps(orjson.dumps({"symbols": [_BNB], "rateLimits": []}).decode())
        + b"}",
        b'{"t":"connect","conn":"c","ts":1.1,"addr":"wss://stream.binance.com:9443/stream"}',
    ]
    trade = (FIXTURES / "binance" / "spot_agg_trade.json").read_text().strip()
    for i in range(5):
        frames.append(orjson.dumps({"t": "recv", "conn": "c", "ts": 2.0 + i, "data": trade.replace("12345", str(i))}))
    source.write_bytes(b"\n".join(frames) + b"\n")
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(source.read_bytes()[:-40])
    out = tmp_path / "out.jsonl"
    assert main(["replay", str(cut), "--out", str(out)]) == 1
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [line["type"] for line in lines] == ["connected", "trade", "trade", "trade", "trade", "error"]
    assert lines[-1]["reason"] == "truncated_capture"
    err = capsys.readouterr().err
    assert "collector: warning: " in err and "ends mid-record at line 8" in err


_BNB = {
    "symbol": "BNBBTC",
    "baseAsset": "BNB",
    "quoteAsset": "BTC",
    "status": "TRADING",
    "filters": [],
}


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
