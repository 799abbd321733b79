"""What HTX's simulated spot and swap wire formats share: gzip frames, heartbeats, book views.

- Every frame the server sends is gzip-compressed JSON (:func:`gz`).
- The server sends ``{"ping": <ms>}`` (``{"op": "ping", "ts": "<ms>"}`` on notification
  endpoints) every :attr:`HtxSession` heartbeat and hangs up on a client that left
  ``pings_allowed`` of them unanswered: "After the server sent two consecutive heartbeat
  messages without receiving at least one matching pong response from a client, then
  right before server sends the next ping heartbeat, the server will be disconnected".
- :class:`BookView` is one depth-limited book feed: the best ``depth`` levels it has
  published, so every push is "the gap between two snapshots" of the market.
- :class:`HtxMarket` adds the rolling statistics tickers report and the views to the
  neutral market model.
"""

from __future__ import annotations

import random
from typing import Any

import orjson

from ...simulator.market import DayStats, InstrumentSpec, SymbolMarket, Update
from ...simulator.wire import Session
from .codec import deflate

__all__ = ["BookView", "HtxMarket", "HtxSession", "error_reply", "gz", "request_of"]


def gz(obj: Any) -> bytes:
    """``obj`` as HTX sends it: compact JSON, gzip-compressed."""
    return deflate(orjson.dumps(obj))


def error_reply(message: str, req_id: Any, now_ms: int) -> bytes:
    """A market endpoint's refusal: ``{"status":"error","err-code":"bad-request","err-msg":...}``."""
    reply: dict[str, Any] = {"status": "error", "err-code": "bad-request", "err-msg": message, "ts": now_ms}
    if req_id is not None:
        reply["id"] = req_id
    return gz(reply)


def request_of(text: str) -> dict[str, Any] | None:
    """A client frame as a JSON object, or ``None`` when it is not one."""
    try:
        msg = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return msg if isinstance(msg, dict) else None


class HtxSession(Session):
    """One connection: its route, subscriptions and the heartbeats it has not answered yet."""

    def __init__(self, route: str) -> None:
        super().__init__(route)
        self.pings: list[int | str] = []  # values of the pings sent and not answered

    def ping(self, value: int | str, allowed: int) -> bool:
        """Record a ping about to be sent; ``False`` (and the server hangs up, code 1008) when
        ``allowed`` pings already went unanswered."""
        if len(self.pings) >= allowed:
            self.close_code = 1008
            return False
        self.pings.append(value)
        return True

    def pong(self, value: Any) -> None:
        """A client's pong: one echoing any outstanding ping clears them all."""
        if value in self.pings:
            self.pings.clear()


def _diff(old: dict[int, int], new: list[tuple[int, int]], *, descending: bool) -> list[tuple[int, int]]:
    """The levels of ``new`` that differ from ``old`` and ``(tick, 0)`` for those that left, best first."""
    kept = dict(new)
    changed = [(p, q) for p, q in new if old.get(p) != q]
    changed += [(p, 0) for p in old if p not in kept]
    changed.sort(reverse=descending)
    return changed


class BookView:
    """What one depth-limited feed of a market has published: its best ``depth`` levels.

    ``seq`` is the feed's sequence number, set by the wire when it publishes (spot
    ``seqNum``s, swap ``version``s). A view that missed market steps (nobody listened)
    catches up with one diff of the two snapshots.
    """

    __slots__ = ("asks", "bids", "complete", "depth", "market_id", "seq")

    def __init__(self, depth: int, seq: int) -> None:
        self.depth = depth
        self.seq = seq
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.market_id = -1  # the market's last_id when the view was last brought up to date
        self.complete = False  # the view then held every level of the market

    def sync(self, market: SymbolMarket) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Bring the view to the market's best levels; return what changed (``(tick, 0)`` removes)."""
        new_bids, new_asks = market.levels(self.depth)
        bids = _diff(self.bids, new_bids, descending=True)
        asks = _diff(self.asks, new_asks, descending=False)
        self.bids, self.asks = dict(new_bids), dict(new_asks)
        self._done(market)
        return bids, asks

    def advance(self, market: SymbolMarket, update: Update) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """What one market step changed in the view (the step's own changes while the view holds the whole book)."""
        if self.market_id == update.last_id:
            return [], []
        depth = self.depth
        if not (self.complete and self.market_id == update.prev_id) or (
            len(market.bids) > depth or len(market.asks) > depth
        ):
            return self.sync(market)
        for side, levels in ((self.bids, update.bids), (self.asks, update.asks)):
            for tick, lots in levels:
                if lots:
                    side[tick] = lots
                else:
                    side.pop(tick, None)
        self._done(market)
        return update.bids, update.asks

    def _done(self, market: SymbolMarket) -> None:
        self.market_id = market.last_id
        self.complete = len(market.bids) <= self.depth and len(market.asks) <= self.depth

    def levels(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The published book: bids best (highest) first, asks best (lowest) first."""
        return sorted(self.bids.items(), reverse=True), sorted(self.asks.items())


class HtxMarket(SymbolMarket):
    """A market that also keeps what HTX tickers report and the book feeds published from it.

    ``day`` holds the rolling 24 h statistics (``counter_volume`` is ``vol``, in quote
    units). ``extra`` is a random source of its own for what the wire adds (liquidations,
    funding drift), so the market's own sequence does not depend on which channels are
    subscribed.
    """

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, start_id: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.day = DayStats(spec.start_ticks)
        self.views: dict[str, BookView] = {}
        self.extra = random.Random(rng.random())
        self._px = 10.0**spec.price_decimals
        self._sz = 10.0**spec.size_decimals

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and update the statistics."""
        update = super().step(time_ms)
        px, sz = self._px, self._sz
        self.day.add(update.fills, (f.ticks / px * f.lots / sz for f in update.fills))
        return update

    def px(self, ticks: int) -> float:
        """A price in ticks as the number HTX prints."""
        return ticks / self._px

    def sz(self, lots: int) -> float:
        """A size in lots as the number HTX prints."""
        return lots / self._sz

    def view(self, stream: str, depth: int, seq: int) -> BookView:
        """The view of book feed ``stream``, created (and brought up to date) on first use."""
        view = self.views.get(stream)
        if view is None:
            view = self.views[stream] = BookView(depth, seq)
            view.sync(self)
        return view
