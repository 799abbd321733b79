"""Argument types and checks shared by the subcommands: every mistake is a one-line error."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from ..errors import UsageError
from ..exchanges import CHANNELS, EXCHANGES, Endpoints

__all__ = [
    "listen_address",
    "open_output",
    "output_path",
    "parse_channels",
    "parse_endpoints",
    "parse_shard",
    "parse_targets",
    "positive_float",
    "positive_int",
]


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive, finite number of seconds, got {text!r}")
    return value


def listen_address(text: str) -> tuple[str, int]:
    """An argparse type: ``HOST:PORT`` to listen on (``127.0.0.1:9464``; port 0 picks a free one)."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT such as 127.0.0.1:9464, got {text!r}")
    return host.strip("[]"), int(port)


def output_path(text: str) -> str:
    """An argparse type: a file path we can create (its folder exists, it is not a folder)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file path")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: the directory {parent} is not writable")
    return text


def open_output(path: str | None) -> BinaryIO:
    """The binary stream for ``--out``: the file (raises ``UsageError`` if it cannot be opened) or stdout."""
    if path is None:
        return sys.stdout.buffer
    try:
        return open(path, "wb")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def parse_targets(targets: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``["binance:BTC/USDT,ETH/USDT", "binance_usdm:BTC/USDT:USDT"]`` -> ``[(exchange, symbols), ...]``.

    The exchange id ends at the first ``:``; the rest is a comma-separated list of unified
    symbols (which may contain ``:`` themselves).
    """
    result = []
    for target in targets:
        exchange, sep, rest = target.partition(":")
        symbols = [s.strip() for s in rest.split(",") if s.strip()]
        if not sep or not symbols:
            raise UsageError(f"expected EXCHANGE:SYMBOL[,SYMBOL...], got {target!r}")
        if exchange not in EXCHANGES:
            raise UsageError(f"unknown exchange {exchange!r}; known: {', '.join(sorted(EXCHANGES))}")
        result.append((exchange, symbols))
    return result


def parse_channels(text: str) -> list[str]:
    """``trades,book`` -> the channel names; unknown ones are an error."""
    channels = [c.strip() for c in text.split(",") if c.strip()]
    if not channels:
        raise UsageError("--channels needs at least one channel")
    for ch in channels:
        if ch not in CHANNELS:
            raise UsageError(f"unknown channel {ch!r}; use {', '.join(CHANNELS)}")
    return channels


def parse_endpoints(items: Sequence[str]) -> dict[str, Endpoints]:
    """``EXCHANGE=WS_BASE,REST_BASE`` options -> endpoints by exchange id."""
    result = {}
    for item in items:
        exchange, _, urls = item.partition("=")
        ws, _, rest = urls.partition(",")
        if not (exchange and ws and rest):
            raise UsageError(f"expected EXCHANGE=WS_BASE,REST_BASE, got {item!r}")
        if exchange not in EXCHANGES:
            known = ", ".join(sorted(EXCHANGES))
            raise UsageError(f"--endpoint names an unknown exchange {exchange!r}; known: {known}")
        result[exchange] = Endpoints(ws=ws, rest=rest)
    return result


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``I/N`` -> ``(I, N)`` with ``0 <= I < N``."""
    if text is None:
        return None
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit() and 0 <= int(index) < int(count)):
        raise UsageError(f"expected --shard I/N with 0 <= I < N, got {text!r}")
    return int(index), int(count)
