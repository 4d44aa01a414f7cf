"""Shared constants and small helpers for the browser tests (fixtures live in conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]

CHAPTER = "/chapters/fine-tuning"

# Every browser test is marked e2e and skipped, with the reason, where there is no browser.
E2E = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: install Debian's chromium (./dev test does)"),
]

# Generous for a loaded 2-core CI machine; a passing run never waits this long.
SWAP_TIMEOUT_MS = 15_000


def mark_document(page: Page) -> None:
    """Tag the current document; a full page load would lose the tag."""
    page.evaluate("window.__e2eMarker = 1")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.__e2eMarker") == 1, "the page navigated: expected an in-place HTMX swap"


def readout(scope: Locator, term: str) -> Locator:
    """The <dd> of the readout whose <dt> is exactly `term`."""
    return scope.locator(".readout").filter(has=scope.page.locator("dt", has_text=re.compile(rf"^\s*{re.escape(term)}\s*$"))).locator("dd")


def screenshot(target: Page | Locator, name: str, *, full_page: bool = False) -> Path:
    """Write artifacts/screenshots/<name>.png (git-ignored), for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if isinstance(target, Locator):
        target.screenshot(path=str(path), animations="disabled")
    else:
        target.screenshot(path=str(path), full_page=full_page, animations="disabled")
    assert path.stat().st_size > 1000, f"screenshot {path} is empty"
    return path
