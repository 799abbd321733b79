"""collector: crypto market data from exchange websockets, as one set of typed events.

Start with :class:`Collector` in a bot, :func:`replay` for recorded sessions, or the
``collector`` command line. Events are the structs in :mod:`collector.models`; their
JSON form (:func:`encode_event`) is the contract in design.md.
"""

from __future__ import annotations

from . import runner
from .book import OrderBook
from .capture import CaptureWriter, Frame, iter_capture, read_capture
from .client import Collector
from .codec import decode_event, encode_event
from .consume import consume
from .errors import (
    CaptureError,
    CollectorError,
    ConnectionFailed,
    MalformedFrame,
    UnknownChannel,
    UnknownExchange,
    UnknownSymbol,
    UsageError,
)
from .exchanges import EXCHANGES, Subscription
from .models import (
    Alert,
    Book,
    BookTop,
    Candle,
    Connected,
    DerivativeTicker,
    Disconnected,
    Error,
    Event,
    Indicator,
    Liquidation,
    Outage,
    Premium,
    Resync,
    Ticker,
    Trade,
)
from .premium import PremiumMonitor
from .replay import Replay, replay
from .symbols import Instrument

__version__ = "0.1.0"

__all__ = [
    "EXCHANGES",
    "Alert",
    "Book",
    "BookTop",
    "Candle",
    "CaptureError",
    "CaptureWriter",
    "Collector",
    "CollectorError",
    "Connected",
    "ConnectionFailed",
    "DerivativeTicker",
    "Disconnected",
    "Error",
    "Event",
    "Frame",
    "Indicator",
    "Instrument",
    "Liquidation",
    "MalformedFrame",
    "OrderBook",
    "Outage",
    "Premium",
    "PremiumMonitor",
    "Replay",
    "Resync",
    "Subscription",
    "Ticker",
    "Trade",
    "UnknownChannel",
    "UnknownExchange",
    "UnknownSymbol",
    "UsageError",
    "__version__",
    "consume",
    "decode_event",
    "encode_event",
    "iter_capture",
    "read_capture",
    "replay",
    "runner",
]
