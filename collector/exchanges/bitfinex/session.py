"""Bitfinex connection events and channel ids: what each socket has agreed with the exchange.

Events are JSON objects (``info``, ``conf``, ``subscribed``, ``unsubscribed``, ``error``,
``pong``); everything else on a connection is a channel message keyed by a channel id
that a ``subscribed`` reply announced ("not persistent across connections"). This module
keeps, per connection, those channel ids and flags (:class:`~.channels.ConnState`), which
connection carries each book, and what a book resync sends: an unsubscribe and a
subscribe, which brings a fresh snapshot.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from ...actions import Reconnect, SendFrame
from ..base import Output
from .channels import Channel, ConnState, channel_of
from .handlers import ChannelHandlers
from .schemas import Event

__all__ = ["SessionEvents", "unsubscribe"]

# (conn, connection state, event, receipt time, out)
_EventHandler = Callable[[str, ConnState, Event, float, Output], None]


class SessionEvents(ChannelHandlers):
    """The event handlers and per-connection state :class:`~.adapter.BitfinexAdapter` is built on."""

    def _init_session(self) -> None:
        self._conns: dict[str, ConnState] = {}
        self._book_chan: dict[str, tuple[str, str]] = {}  # unified symbol -> (conn, channel id) of its book
        self._events: dict[str, _EventHandler] = {
            "info": self._on_info,
            "conf": self._on_conf,
            "subscribed": self._on_subscribed,
            "unsubscribed": self._on_unsubscribed,
            "error": self._on_error,
            "pong": lambda conn, state, ev, received, out: self.control("pong"),
            "auth": lambda conn, state, ev, received, out: self.control("auth"),
        }

    def _forget(self, conn: str) -> list[str]:
        """Drop ``conn``'s book channels; return their symbols."""
        symbols = [s for s, (c, _) in self._book_chan.items() if c == conn]
        for symbol in symbols:
            del self._book_chan[symbol]
        return symbols

    def gap(self, conn: str, detail: str, received: float, out: Output) -> None:
        """Resync every book ``conn`` carries (reason ``gap``): each resubscribes for a fresh snapshot."""
        for symbol, (c, _) in list(self._book_chan.items()):
            if c == conn:
                self.books.resync(out, symbol, "gap", detail, received)

    def _resubscribe(self, symbol: str) -> list[SendFrame]:
        """A book's "snapshot request": unsubscribe its channel and subscribe it again.

        "Upon subscribing you will receive a snapshot of the book"; the unsubscribe comes
        first because subscribing a channel that is still open is refused (10301).
        """
        where = self._book_chan.get(symbol)
        state = self._conns.get(where[0]) if where is not None else None
        chan = state.channels.get(where[1]) if state is not None and where is not None else None
        if where is None or state is None or chan is None:
            return []
        state.resubscribing.add(symbol)
        return [SendFrame(where[0], unsubscribe(where[1])), SendFrame(where[0], chan.request)]

    def _other_channel(
        self, conn: str, state: ConnState, chan: Channel, text: str, tag: str, received: float, out: Output
    ) -> None:
        """Channels without events: counted (``unused``), or errors (``unlisted``, ``foreign``)."""
        if chan.kind == "foreign":
            out.append(self.error(conn, "unknown_channel", chan.native[:100], received, frame=text))
            return
        seq = _sequence_number(text, state.timestamped) if state.sequenced else None
        if state.sequenced and seq is None:
            raise ValueError("no sequence number with SEQ_ALL on")
        if not self.sequenced(conn, state, seq, received, out):
            return
        if chan.kind == "unused":
            self.control(chan.label)
        elif tag == "hb" or tag == "cs":
            self.control(tag)
        else:
            out.append(self.error(conn, "unknown_symbol", chan.native[:100], received))

    def _unknown_channel(self, conn: str, text: str, comma: int, received: float, out: Output) -> None:
        if text[1:comma] == "0":
            self.control("account")  # channel 0 is an authenticated session's account feed
            return
        msgspec.json.decode(text)  # a frame cut short is malformed before its channel is unknown
        out.append(self.error(conn, "unknown_channel", f"no subscription for channel {text[1:comma][:30]}", received))

    # -- events ---------------------------------------------------------------------------------

    def _on_info(self, conn: str, state: ConnState, ev: Event, received: float, out: Output) -> None:
        self.control("info")
        if ev.code is None:
            # On connect: "platform status flag (1 for operative, 0 for maintenance)".
            if ev.platform is not None and ev.platform.status == 0:
                state.paused = True
        elif ev.code == 20051:
            # "Stop/Restart Websocket Server (please reconnect)".
            out.append(Reconnect(conn, f"info 20051: {ev.msg[:80]}"))
        elif ev.code == 20060:
            # "Entering in Maintenance mode. Please pause any activity and resume after
            # receiving the info message 20061": the books cannot be trusted meanwhile.
            state.paused = True
            for chan in state.channels.values():
                chan.synced = False
            symbols = [s for s, (c, _) in self._book_chan.items() if c == conn]
            # The books wait for 20061's resubscription.
            self.books.reset(out, symbols, "maintenance", received, detail=f"info 20060: {ev.msg[:80]}")
        elif ev.code == 20061:
            # "Maintenance ended. You can resume normal activity. It is advised to
            # unsubscribe/subscribe again all channels."
            state.paused = False
            for cid, chan in list(state.channels.items()):
                if chan.request:
                    out.append(SendFrame(conn, unsubscribe(cid)))
                    out.append(SendFrame(conn, chan.request))
                    if chan.kind == "book":
                        state.resubscribing.add(chan.symbol)

    def _on_conf(self, conn: str, state: ConnState, ev: Event, received: float, out: Output) -> None:
        self.control("conf")
        if ev.status == "OK" and ev.flags is not None:
            state.set_flags(ev.flags)
        else:
            out.append(self.error(conn, "rejected", f"conf {ev.status!r} flags {ev.flags}", received))

    def _on_subscribed(self, conn: str, state: ConnState, ev: Event, received: float, out: Output) -> None:
        if ev.chanId is None:
            raise ValueError("subscribed without chanId")
        self.control("subscribed")
        cid = str(ev.chanId)
        chan = channel_of(ev, self.instruments.symbol_of)
        if chan.kind == "foreign":
            out.append(self.error(conn, "unknown_channel", f"subscribed to {chan.native[:60]!r}", received))
        elif chan.kind == "book":
            held = self._book_chan.get(chan.symbol)
            if held is not None and held != (conn, cid) and held[1] in self._channels_of(held[0]):
                # Two books of one symbol (another precision or length) would fight over one book.
                chan = Channel("unused", native=chan.native, request=chan.request, label="second_book")
            else:
                self._book_chan[chan.symbol] = (conn, cid)
                state.resubscribing.discard(chan.symbol)
        chan.handler = self._data.get(chan.kind)
        state.channels[cid] = chan

    def _on_unsubscribed(self, conn: str, state: ConnState, ev: Event, received: float, out: Output) -> None:
        self.control("unsubscribed")
        cid = str(ev.chanId)
        chan = state.channels.pop(cid, None)
        if chan is not None and chan.kind == "book" and self._book_chan.get(chan.symbol) == (conn, cid):
            del self._book_chan[chan.symbol]

    def _on_error(self, conn: str, state: ConnState, ev: Event, received: float, out: Output) -> None:
        self.control()
        what = " ".join(x for x in (ev.channel, ev.symbol or ev.pair, ev.key) if x)
        symbol = self.instruments.symbol_of(ev.symbol) if ev.symbol else None
        out.append(self.error(conn, "rejected", f"{ev.code} {ev.msg[:100]} ({what[:100]})", received, symbol))
        if ev.channel == "book" and symbol is not None and symbol in state.resubscribing:
            # A book that cannot be subscribed again would never come back on this socket.
            state.resubscribing.discard(symbol)
            out.append(Reconnect(conn, f"book {symbol} resubscription refused ({ev.code})"))

    def _channels_of(self, conn: str) -> dict[str, Channel]:
        state = self._conns.get(conn)
        return state.channels if state is not None else {}


def unsubscribe(cid: str) -> str:
    """``{"event":"unsubscribe","chanId":N}``."""
    return f'{{"event":"unsubscribe","chanId":{int(cid)}}}'


def _sequence_number(text: str, timestamped: bool) -> int | None:
    """The ``SEQ_ALL`` number of a message not decoded further: its last element, or the one
    before the ``TIMESTAMP`` flag's time (``[CHAN_ID, "hb", SEQ, MTS]``); ``None`` if it is not one."""
    if not text.endswith("]"):
        return None
    end = len(text) - 1
    start = text.rfind(",", 0, end)
    if timestamped:
        end, start = start, text.rfind(",", 0, start)
    digits = text[start + 1 : end]
    return int(digits) if digits.isdigit() and len(digits) < 19 else None
