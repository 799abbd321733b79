"""Shared fixtures: paths to the project's fixture files and to the shared recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

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
