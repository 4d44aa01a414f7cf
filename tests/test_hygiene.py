"""Lint and types are tests: `ruff check` over the code and `mypy` over app/ (their
configuration and the reasons for the rule set are in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing() -> None:
    result = run_tool("ruff", "check", "--no-cache", "--output-format", "concise", "app", "tests", "bench")
    assert result.returncode == 0, (
        f"{result.stdout}{result.stderr}\n(many fix themselves: .venv/bin/ruff check --fix app tests bench)"
    )


def test_mypy_finds_nothing_in_app() -> None:
    # The cache lives in git-ignored .mypy_cache/: a second run checks only what changed.
    result = run_tool("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
