"""The derivative-ticker merge every derivatives adapter shares (collector.exchanges.derivatives)."""

from __future__ import annotations

import math

import pytest

from collector.exchanges.derivatives import FIELDS, DerivativeTickers
from collector.models import DerivativeTicker


def test_fields_are_the_events_last_fields_in_order() -> None:
    """The merge works by position: FIELDS must be the event's fields after exchange, symbol and times."""
    assert DerivativeTicker.__struct_fields__[-len(FIELDS) :] == FIELDS
    assert DerivativeTicker.__struct_fields__[: -len(FIELDS)] == ("exchange", "symbol", "timestamp", "received")


def test_updates_merge_and_emit_only_on_change() -> None:
    tickers = DerivativeTickers("x")
    first = tickers.update("BTC", 1.0, 1.5, mark_price=100.0, funding_rate=-0.0001)
    assert first == DerivativeTicker("x", "BTC", 1.0, 1.5, mark_price=100.0, funding_rate=-0.0001)
    # Nothing new (None is "not in this update"): no event.
    assert tickers.update("BTC", 2.0, 2.5, mark_price=100.0, index_price=None) is None
    second = tickers.update("BTC", 3.0, 3.5, index_price=99.5, open_interest=7.0)
    assert second == DerivativeTicker(
        "x", "BTC", 3.0, 3.5, mark_price=100.0, index_price=99.5, funding_rate=-0.0001, open_interest=7.0
    )
    assert tickers.latest("BTC") == second
    # Symbols are apart; an update with no value at all is no ticker.
    assert tickers.update("ETH", 1.0, 1.0, mark_price=None) is None
    assert tickers.latest("ETH") is None
    tickers.forget("BTC")
    assert tickers.update("BTC", 4.0, 4.5, last_price=101.0) == DerivativeTicker("x", "BTC", 4.0, 4.5, last_price=101.0)


def test_an_impossible_value_is_emitted_for_the_boundary_but_never_kept() -> None:
    """The boundary reports the event; later updates merge into the last good state."""
    tickers = DerivativeTickers("x")
    good = tickers.update("BTC", 1.0, 1.0, mark_price=100.0)
    bad = tickers.update("BTC", 2.0, 2.0, mark_price=math.nan)
    assert bad is not None and math.isnan(bad.mark_price or 0.0)
    assert tickers.latest("BTC") == good
    assert tickers.update("BTC", 3.0, 3.0, index_price=99.0) == DerivativeTicker(
        "x", "BTC", 3.0, 3.0, mark_price=100.0, index_price=99.0
    )


def test_an_unknown_field_is_an_adapter_bug() -> None:
    with pytest.raises(TypeError, match="no field 'mark'"):
        DerivativeTickers("x").update("BTC", 1.0, 1.0, mark=1.0)
