"""A local exchange simulator: every exchange's wire format on loopback, with faults.

Use :class:`Simulator` as an async context manager, point an adapter at
:meth:`Simulator.endpoints`, and break things with :meth:`Simulator.inject` and a
:class:`Fault`::

    async with Simulator({"binance": ["BTC/USDT"]}, seed=1) as sim:
        adapter = collector.exchanges.create("binance", endpoints=sim.endpoints("binance"))
        ...
        sim.inject("binance", Fault.GAP, symbol="BTC/USDT")

:meth:`Simulator.from_capture` plays a recorded session instead of a synthetic market;
:func:`synthetic_frames` produces a synthetic session offline, in capture format, for
:func:`collector.replay` and benchmarks.

Layout: :mod:`.market` is the exchange-neutral market model, :mod:`.wire` the contract
each exchange's wire format implements (in its own package,
``collector/exchanges/<id>/sim.py``), :mod:`.server` and :mod:`.venue` the aiohttp
server, :mod:`.faults` the faults, :mod:`.playback` the capture-fed mode and :mod:`.krw`
the won prices, tick tables and market specs the Korean venues share.
"""

from __future__ import annotations

from .faults import Fault
from .server import Simulator, wire_format
from .synthetic import synthetic_frames
from .wire import WireFormat

__all__ = ["Fault", "Simulator", "WireFormat", "synthetic_frames", "wire_format"]
