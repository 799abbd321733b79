"""The code stays `mypy --strict` and `ruff` clean (both come with the test extras)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_mypy_strict() -> None:
    """mypy --strict (configured in pyproject.toml) finds nothing in the package."""
    result = check("mypy", "collector")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_lint_and_format() -> None:
    """ruff's lint rules and formatter agree with every file."""
    lint = check("ruff", "check", "collector", "tests", "benchmarks", "examples")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = check("ruff", "format", "--check", "collector", "tests", "benchmarks", "examples")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
