"""The `textbook` command with settings an operator got wrong: one line per variable, exit 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bad_settings_are_named_in_the_operators_words() -> None:
    environment = {
        **os.environ,
        "TEXTBOOK_RUNNER_WALL_S": "abc",
        "TEXTBOOK_RUNNER_TEMPLATE_RENEWAL_S": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "8799"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=environment,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "textbook: nothing started, a setting is not valid:"
    assert lines[1].startswith("  TEXTBOOK_RUNNER_WALL_S='abc': Input should be a valid number")
    assert lines[2] == "  TEXTBOOK_RUNNER_TEMPLATE_RENEWAL_S='1': Input should be greater than or equal to 5"
