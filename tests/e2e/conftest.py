"""Every end-to-end test runs on each websocket transport: ``websockets`` and, when installed, ``picows``.

The transport is chosen through ``COLLECTOR_TRANSPORT``, so collectors built by a test and
``collector`` commands it starts as subprocesses use the same one.
"""

from __future__ import annotations

import pytest

from collector.transport_picows import available

TRANSPORTS = ["websockets", "picows"] if available() else ["websockets"]


@pytest.fixture(autouse=True, params=TRANSPORTS)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The transport this run of the test uses."""
    monkeypatch.setenv("COLLECTOR_TRANSPORT", request.param)
    return str(request.param)
