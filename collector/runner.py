"""Run a coroutine as a program, on uvloop when it is installed and allowed.

The library itself never changes the event loop policy or installs signal handlers;
programs (the CLI, examples) opt in here. With ``graceful=True``, SIGINT (Ctrl-C) and
SIGTERM both cancel the program's main task, so its ``finally`` blocks run (sockets
closed, sinks flushed, capture files finished) and :func:`run` raises
:class:`Interrupted` naming the signal; a second signal during that shutdown stops at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["Interrupted", "run"]

T = TypeVar("T")


class Interrupted(Exception):
    """The program was stopped by ``signal`` (SIGINT or SIGTERM) and shut down cleanly."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


async def _graceful(main: Coroutine[Any, Any, T]) -> T:
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(main)
    received: list[int] = []

    def on_signal(signum: int) -> None:
        received.append(signum)
        task.cancel()

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, on_signal, signum)
            installed.append(signum)
    try:
        return await task
    except asyncio.CancelledError:
        if received:
            raise Interrupted(received[0]) from None
        raise
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def run(main: Coroutine[Any, Any, T], *, use_uvloop: bool = True, graceful: bool = False) -> T:
    """``asyncio.run(main)``, on a uvloop loop when ``use_uvloop`` and uvloop is importable.

    ``graceful``: stop on SIGINT/SIGTERM by cancelling ``main`` and raise :class:`Interrupted`.
    """
    coro: Coroutine[Any, Any, T] = _graceful(main) if graceful else main
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(coro)
    return asyncio.run(coro)
