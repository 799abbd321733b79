"""Capture files: write, read back, and fail clearly on bad input."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

import collector
from collector.capture import CaptureWriter, Frame
from collector.errors import CaptureError


@pytest.mark.parametrize("name", ["s.jsonl", "s.jsonl.zst"])
def test_roundtrip_text_binary_http(tmp_path: Path, name: str) -> None:
    """Every record kind survives a write/read cycle; binary frames go through b64."""
    path = tmp_path / name
    with CaptureWriter(path, "binance", {"x": 1}, recorded=1.5) as w:
        w.connect("c1", "wss://example/stream", 2.0)
        w.send("c1", '{"method":"SUBSCRIBE"}', 2.1)
        w.recv("c1", '{"a":1}', 2.2)
        w.recv("c1", b"\x00\xffbinary", 2.3)
        w.http("https://api.example/depth?symbol=X", b'{"lastUpdateId":1}', 2.4)
    frames = collector.read_capture(path)
    assert frames[0].kind == "header"
    assert orjson.loads(frames[0].data)["exchange"] == "BINANCE"
    assert frames[1:] == [
        Frame("connect", "c1", 2.0, "", "wss://example/stream"),
        Frame("send", "c1", 2.1, '{"method":"SUBSCRIBE"}'),
        Frame("recv", "c1", 2.2, '{"a":1}'),
        Frame("recv", "c1", 2.3, b"\x00\xffbinary"),
        Frame("http", "http", 2.4, '{"lastUpdateId":1}', "https://api.example/depth?symbol=X"),
    ]


def test_missing_and_corrupt_files_raise_capture_error(tmp_path: Path) -> None:
    """Unreadable captures raise CaptureError with the line number."""
    with pytest.raises(CaptureError, match="no capture"):
        collector.read_capture(tmp_path / "absent.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"t":"header","format":2}\n{"t":"recv","conn":"c"\n')
    with pytest.raises(CaptureError, match=":2:"):
        collector.read_capture(bad)
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text('{"t":"weird","conn":"c","ts":1}\n')
    with pytest.raises(CaptureError, match="unknown record type"):
        collector.read_capture(unknown)
    not_zstd = tmp_path / "x.jsonl.zst"
    not_zstd.write_bytes(b"plain text\n")
    with pytest.raises(CaptureError, match="zstd"):
        collector.read_capture(not_zstd)


def test_replay_without_instrument_list_reports_it(tmp_path: Path) -> None:
    """Without an exchangeInfo record symbols cannot be mapped: an error event says so, frames become errors."""
    path = tmp_path / "c.jsonl"
    with CaptureWriter(path, "binance") as w:
        w.connect("c", "wss://stream.binance.com:9443/stream", 1.0)
        w.recv(
            "c",
            '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1,"s":"BTCUSDT","a":1,'
            '"p":"1","q":"1","T":1,"m":false}}',
            2.0,
        )
    events = list(collector.replay(path))
    assert [(type(e).__name__, getattr(e, "reason", None)) for e in events] == [
        ("Error", "no_instruments"),
        ("Connected", None),
        ("Error", "unknown_symbol"),
    ]
