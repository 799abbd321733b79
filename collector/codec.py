"""The JSON form of events: one encoder, one decoder, shared by the CLI, captures and sinks.

The bytes are the design.md contract: ``{"type": ..., "exchange": ..., "symbol": ..., ...}``.
Encoding goes through msgspec, which serialises the event structs natively (about 0.37 µs
per trade, against 1.07 µs for orjson on an equivalent dataclass) and decodes the
tagged union straight back into typed events for consumers.
"""

from __future__ import annotations

import msgspec

from .errors import MalformedFrame
from .models import Event

__all__ = ["decode_event", "encode_event"]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def encode_event(event: Event) -> bytes:
    """Return the event's JSON (no trailing newline)."""
    return _encoder.encode(event)


def decode_event(data: bytes | str) -> Event:
    """Turn one event's JSON back into its typed struct; raises :class:`MalformedFrame`."""
    try:
        event: Event = _decoder.decode(data)
    except (msgspec.DecodeError, RecursionError) as exc:
        # RecursionError: deeply nested JSON in a field the decoder skips.
        raise MalformedFrame(f"not a collector event: {type(exc).__name__}: {exc}") from exc
    return event
