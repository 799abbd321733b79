"""Shared fixtures: paths to the project's fixture files and to the shared recordings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from collector import speedups

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
RECORDINGS = ROOT.parent / "shared" / "recordings"


def recording(name: str) -> Path:
    """Path of a shared recording; skips the test when the recordings are not beside the clone."""
    path = RECORDINGS / name
    if not path.exists():
        pytest.skip(f"recording {name} not available (expected at {path})")
    return path


def fixture_text(relative: str) -> str:
    """Contents of a file under tests/fixtures/."""
    return (FIXTURES / relative).read_text().strip()


@pytest.fixture(params=["c", "python"])
def both_paths(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test once with the C accelerators and once in pure Python (same expectations).

    Use it as ``pytestmark = pytest.mark.usefixtures("both_paths")`` in modules whose
    adapters or books are built inside the test or its fixtures.
    """
    if request.param == "python":
        with speedups.disabled():
            yield "python"
    else:
        if not speedups.enabled():
            pytest.skip("collector._speedups is not compiled here (or COLLECTOR_NO_SPEEDUPS is set)")
        yield "c"
