"""``collector run --workers N``: subscriptions sharded across processes, output merged line by line."""

from __future__ import annotations

import orjson

from collector.cli.workers import worker_argv
from collector.simulator import Simulator
from collector.sinks.kafka import shard_of
from tests.e2e.test_cli_live import run_cli

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT", "DOGE/USDT"]


def test_worker_arguments_shard_and_drop_the_parents_options() -> None:
    argv = ["run", "binance:BTC/USDT", "--workers", "2", "--out=x.jsonl", "--metrics", "127.0.0.1:9464"]
    assert worker_argv(argv, 1, 2, ("127.0.0.1", 9464)) == [
        "run",
        "binance:BTC/USDT",
        "--shard",
        "1/2",
        "--metrics",
        "127.0.0.1:9465",
    ]


async def test_two_workers_collect_every_symbol_once_and_merge_whole_lines() -> None:
    assert {shard_of("binance", s, 2) for s in SYMBOLS} == {0, 1}  # both workers have symbols
    async with Simulator({"binance": SYMBOLS}, seed=3, tick_interval=0.02) as sim:
        ep = sim.endpoints("binance")
        code, out, err = await run_cli(
            "run",
            "binance:" + ",".join(SYMBOLS),
            "--channels",
            "trades",
            "--endpoint",
            f"binance={ep.ws},{ep.rest}",
            "--workers",
            "2",
            "--duration",
            "8",  # two interpreters start, import and connect first: leave room on a busy machine
            timeout=90,
        )
    assert code == 0, err.decode()
    events = [orjson.loads(line) for line in out.splitlines()]  # every line whole JSON
    trades = [e for e in events if e["type"] == "trade"]
    assert {e["symbol"] for e in trades} == set(SYMBOLS)
    assert {e["conn"] for e in events if e["type"] == "connected"} == {"binance.0"}  # one connection per worker
    assert sum(e["type"] == "connected" for e in events) == 2


async def test_workers_and_shard_together_is_a_one_line_error() -> None:
    code, _, err = await run_cli("run", "binance:BTC/USDT", "--workers", "2", "--shard", "0/2")
    assert code == 2 and "leave out --shard" in err.decode()
