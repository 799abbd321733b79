"""Counters keep a bounded number of keys, whatever a peer sends."""

from __future__ import annotations

from collector.exchanges import create
from collector.stats import Stats


def test_wire_derived_keys_are_bounded_and_nothing_is_lost() -> None:
    """Past ``max_keys`` distinct keys, new ones are counted under ``other``; totals stay exact."""
    stats = Stats()
    for i in range(100_000):
        stats.count(f"ignored.k{i}")
    stats.count("ignored.k0", 5)  # a key that exists keeps counting under its own name
    assert len(stats) == stats.max_keys + 1
    assert stats["ignored.k0"] == 6
    assert stats["other"] == 100_000 - stats.max_keys
    assert sum(stats.values()) == 100_005


def test_a_peer_inventing_channel_names_cannot_grow_an_adapters_counters() -> None:
    """Upbit candle types come from the wire (``candle.<unit>``): 50,000 invented ones stay bounded."""
    adapter = create("upbit")
    for i in range(50_000):
        frame = f'{{"type":"candle.{i}q","code":"KRW-BTC"}}'  # "q": no real unit
        assert adapter.receive("upbit.0", frame, 1.0) == []
    assert len(adapter.stats) <= adapter.stats.max_keys + 1
    assert sum(v for k, v in adapter.stats.items() if k.startswith("ignored.") or k == "other") == 50_000
