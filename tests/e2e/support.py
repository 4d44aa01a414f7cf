"""Shared constants and small helpers for the browser tests (fixtures live in conftest.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Locator, Page, Request, Response

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
INSTRUCTOR_TOKEN = "e2e-instructor-token-0123456789"

# Every browser test is marked e2e and skipped, with the reason, where there is no browser.
E2E = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: install Debian's chromium (./dev test does)"
    ),
]

# Generous for a loaded 2-core CI machine; a passing run never waits this long.
SWAP_TIMEOUT_MS = 15_000


def mark_document(page: Page) -> None:
    """Tag the current document; a full page load would lose the tag."""
    page.evaluate("window.__e2eMarker = 1")


def assert_same_document(page: Page) -> None:
    assert page.evaluate("window.__e2eMarker") == 1, "the page navigated: expected an in-place HTMX swap"


def results_text(page: Page, instrument_id: str) -> str:
    """The text of an instrument's results as a reader looking at them sees it.

    A chart is rendered only near the screen (content-visibility, static/css/textbook.css)
    and innerText counts only rendered text, so the chart is brought into view and rendered first.
    """
    results = page.locator(f"#{instrument_id}-results")
    chart = results.locator("figure.chart")
    if chart.count():
        chart.scroll_into_view_if_needed()
        page.wait_for_function(
            "svg => svg.checkVisibility({contentVisibilityAuto: true})", arg=chart.locator("svg").element_handle()
        )
    return results.inner_text()


def readout(scope: Locator, term: str) -> Locator:
    """The <dd> of the readout whose <dt> is exactly `term`."""
    return (
        scope.locator(".readout")
        .filter(has=scope.page.locator("dt", has_text=re.compile(rf"^\s*{re.escape(term)}\s*$")))
        .locator("dd")
    )


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


ABORT_LOG = re.compile(r"htmx:(afterRequest|sendAbort), ")


@dataclass
class BrowserProblems:
    """What went wrong in the pages of one test, minus what the test said to expect."""

    allowed_statuses: set[int] = field(default_factory=set)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    bad_responses: list[tuple[int, str]] = field(default_factory=list)

    def allow(self, *statuses: int) -> None:
        """Declare HTTP errors (4xx) the test provokes on purpose."""
        self.allowed_statuses.update(statuses)

    def watch(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(f"{page.url}: {error}"))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    def _on_console(self, message: ConsoleMessage) -> None:
        # htmx 2 logs an aborted request as errors ("htmx:afterRequest, ..." then "htmx:sendAbort, ...");
        # the page aborts a superseded chart request by design (the request itself is vetted in
        # _on_request_failed). A network error or a timeout still shows as htmx:sendError / htmx:timeout.
        if message.type == "error" and ABORT_LOG.match(message.text):
            return
        if message.type == "error":
            self.console_errors.append(f"{message.location.get('url', '')}: {message.text}")

    def _on_request_failed(self, request: Request) -> None:
        # A chart request the page itself aborted because the slider moved on is by design.
        if "/chart?" in request.url and request.failure and "ABORTED" in request.failure:
            return
        self.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    def _on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.bad_responses.append((response.status, f"{response.request.method} {response.url}"))

    def unexpected(self) -> list[str]:
        problems = [
            f"HTTP {status}: {what}"
            for status, what in self.bad_responses
            if status >= 500 or status not in self.allowed_statuses
        ]
        for text in self.console_errors:
            # Chromium logs every HTTP error response, and htmx logs each one it swaps.
            logged = re.search(r"(?:status of|Error Code) (\d{3})", text)
            if logged and int(logged.group(1)) in self.allowed_statuses and int(logged.group(1)) < 500:
                continue
            problems.append(f"console error: {text}")
        problems += [f"uncaught exception: {text}" for text in self.page_errors]
        problems += [f"request failed: {text}" for text in self.failed_requests]
        return problems
