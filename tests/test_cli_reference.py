"""docs/cli.md is generated from the click commands and must not drift."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_up_to_date():
    env = {**os.environ, "MUSICLATENT_LOAD_PLUGINS": ""}
    out = subprocess.run(
        [sys.executable, "-m", "musiclatent.cli.reference"], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "## `musiclatent`" in out and "`musiclatent plugins`" in out
    current = (ROOT / "docs" / "cli.md").read_text()
    assert current == out, (
        "docs/cli.md is out of date: regenerate it with "
        "`MUSICLATENT_LOAD_PLUGINS= python -m musiclatent.cli.reference > docs/cli.md`"
    )
