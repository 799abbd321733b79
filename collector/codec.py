"""The JSON form of events: one encoder, one decoder, shared by the CLI, captures and sinks.

The bytes are the design.md contract: ``{"type": ..., "exchange": ..., "symbol": ..., ...}``.
Encoding goes through msgspec, which serialises the event structs natively (about 0.37 µs
per trade, against 1.07 µs for orjson on an equivalent dataclass) and decodes the
tagged union straight back into typed events for consumers.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .errors import MalformedFrame
from .models import Event

__all__ = ["decode_event", "encode_event", "encode_events", "event_to_dict"]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def encode_event(event: Event) -> bytes:
    """Return the event's JSON (no trailing newline)."""
    return _encoder.encode(event)


def encode_events(events: list[Event]) -> bytes:
    """Return the events as JSON lines, each ending in ``\\n``."""
    buf = bytearray()
    encode_into = _encoder.encode_into
    for event in events:
        encode_into(event, buf, -1)
        buf += b"\n"
    return bytes(buf)


def decode_event(data: bytes | str) -> Event:
    """Turn one event's JSON back into its typed struct; raises :class:`MalformedFrame`."""
    try:
        event: Event = _decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise MalformedFrame(f"not a collector event: {exc}") from exc
    return event


def event_to_dict(event: Event) -> dict[str, Any]:
    """Return the event as plain Python objects, exactly as its JSON would decode."""
    result: dict[str, Any] = msgspec.to_builtins(event)
    return result
