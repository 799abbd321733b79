"""The README stays true: every registered exchange is in its table, and its test command is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

from collector import EXCHANGES
from collector.models import RESYNC_REASONS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_exchange_id_has_a_row_in_the_exchange_table() -> None:
    table = README[README.index("## Exchanges") : README.index("## Bot quickstart")]
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.M))
    assert rows == set(EXCHANGES)


def test_ci_runs_the_readme_test_command() -> None:
    command = "pip install -e '.[test]' && python -m pytest -q"
    assert f"```bash\n{command}\n```" in README
    assert command in (ROOT / ".ci" / "run").read_text()


def test_the_json_contract_lists_every_resync_reason() -> None:
    line = next(row for row in README.splitlines() if row.startswith("| `resync` |"))
    assert all(f"`{reason}`" in line for reason in RESYNC_REASONS)
