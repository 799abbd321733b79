"""A real PostgreSQL server for the storage tests, and the real tansu broker of the Kafka tests.

``pg_server`` is one PostgreSQL (Debian's server binaries, ``initdb`` into a temporary
folder) per test session on a free loopback port; ``pg_dsn`` gives each test a fresh
database on it. ``own_pg`` is a server of the test's own, which it may stop and start
(same port, same data). PostgreSQL refuses to run as root, so when the tests run as root
the server runs as ``nobody``. Without server binaries these tests skip, saying why.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("asyncpg")
pytest.importorskip("pyarrow")

from tests.kafka.conftest import broker, crashable  # noqa: F401  (the Kafka tests' fixtures)


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("postgres")
    if which is None:
        pytest.skip("no PostgreSQL server binaries (apt-get install postgresql, or put postgres on PATH)")
    return Path(which).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PgServer:
    """A PostgreSQL server in a temporary folder on 127.0.0.1:``port``; ``stop``/``start`` keep its data."""

    def __init__(self, *, fsync: bool = False) -> None:
        self.bin = _binaries()
        self.port = _free_port()
        self.fsync = fsync
        self.folder = Path(tempfile.mkdtemp(prefix="collector-pg-"))
        self.data = self.folder / "data"
        self.user = "nobody" if os.geteuid() == 0 else None
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self._process: subprocess.Popen[bytes] | None = None
        self._run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]
        )

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(command, capture_output=True, user=self.user, timeout=120, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot initialise a PostgreSQL cluster: {done.stderr.decode()[-400:]}")

    def dsn(self, database: str = "postgres") -> str:
        """The URL of ``database`` on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 30.0) -> None:
        """Start the server (again) and return once it accepts connections."""
        command = [
            str(self.bin / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.folder}",
            "-c",
            f"fsync={'on' if self.fsync else 'off'}",
            "-c",
            "max_connections=50",
        ]
        log = open(self.folder / "server.log", "ab")  # noqa: SIM115 - handed to the child
        self._process = subprocess.Popen(command, stdout=log, stderr=log, user=self.user, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.folder / 'server.log').read_text()[-800:]}")
            done = subprocess.run(
                [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
                check=False,
            )
            if done.returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("postgres did not start in time")

    def stop(self, *, crash: bool = False) -> None:
        """Stop the server: a fast shutdown, or with ``crash`` a SIGKILL of the postmaster and its children."""
        process, self._process = self._process, None
        if process is None:
            return
        if crash:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.send_signal(signal.SIGINT)  # "fast" shutdown: roll back sessions, checkpoint, exit
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if crash:
            # The children outlive a killed postmaster briefly; wait until the port is free again.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", self.port)) != 0:
                        break
                time.sleep(0.05)

    def remove(self) -> None:
        """Stop and delete the data folder."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    async def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import asyncpg

        name = f"t_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(self.dsn())
        try:
            await conn.execute(f"CREATE DATABASE {name}")
        finally:
            await conn.close()
        return self.dsn(name)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the session (stopped and deleted at the end)."""
    server = PgServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def pg_dsn(pg_server: PgServer) -> str:
    """A fresh, empty database on the session's server."""
    return asyncio.run(pg_server.create_database())


@pytest.fixture
def own_pg() -> Iterator[PgServer]:
    """A server of this test's own (started); the test may stop, crash and start it."""
    server = PgServer()
    server.start()
    yield server
    server.remove()
