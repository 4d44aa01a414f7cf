"""Browser fixtures: the real app served by uvicorn, one headless Chromium, a fresh learner per test.

One server and one browser per test session (per xdist worker: each worker picks its own
free port and temporary data directory). Every page a test opens is watched: console
errors, uncaught exceptions, failed requests and unexpected HTTP errors fail the test at
teardown unless the test declared them with `browser_problems.allow(status)`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from bench.server import free_port
from tests.e2e.support import CHROMIUM, CHROMIUM_ARGS, INSTRUCTOR_TOKEN, REPO_ROOT, BrowserProblems

SERVER_START_S = 60.0
# Assertions retry for up to 10 s (Playwright's default is 5 s): CI has two busy cores.
expect.set_options(timeout=10_000)
# The snippet tests provoke a timeout; a short wall limit keeps the suite fast.
RUNNER_WALL_S = "2"


def wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"the server exited with status {process.returncode} before it was healthy:\n{log_path.read_text()}"
            )
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    pytest.fail(f"the server was not healthy within {SERVER_START_S:.0f} s:\n{log_path.read_text()}")


@pytest.fixture(scope="session")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-server") / "server.log"


def start_server(port: int, data_dir: Path, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TEXTBOOK_PORT": str(port),
        "TEXTBOOK_HOST": "127.0.0.1",
        "TEXTBOOK_DATA_DIR": str(data_dir),
        "TEXTBOOK_SECRET_KEY": "e2e-test-secret-key",
        "TEXTBOOK_LOG_LEVEL": "warning",
        "TEXTBOOK_RUNNER_WALL_S": RUNNER_WALL_S,
        "TEXTBOOK_RUNNER_WORKERS": "2",
        "TEXTBOOK_INSTRUCTOR_TOKEN": INSTRUCTOR_TOKEN,
    }
    env.pop("TEXTBOOK_DATABASE_URL", None)
    with log_path.open("ab") as log:
        # Its own process group, so teardown can stop the server and every runner process it forked.
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, server_log: Path) -> Iterator[str]:
    """The real app, `python -m app.cli serve`, on a free port; yields its base URL."""
    if not (REPO_ROOT / "static" / "vendor" / "htmx.min.js").exists():
        pytest.fail("static/vendor/htmx.min.js is missing: run `./dev test` (it copies htmx from node_modules) first")
    data_dir = tmp_path_factory.mktemp("e2e-data")
    for attempt in range(3):
        # Another process may take the free port before uvicorn binds it: then try another.
        port = free_port()
        process = start_server(port, data_dir, server_log)
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(base_url, process, server_log)
            break
        except pytest.fail.Exception:
            stop_server(process)
            if attempt == 2 or "address already in use" not in server_log.read_text():
                raise
    try:
        yield base_url
    finally:
        stop_server(process)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (./dev test does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def browser_problems() -> BrowserProblems:
    return BrowserProblems()


NewPage = Callable[..., Page]


@pytest.fixture
def new_page(browser: Browser, server: str, server_log: Path, browser_problems: BrowserProblems) -> Iterator[NewPage]:
    """Open a page in a brand-new context (a new learner: no cookies); options go to new_context."""
    contexts: list[BrowserContext] = []
    log_offset = server_log.stat().st_size

    def open_page(**options: Any) -> Page:
        context = browser.new_context(base_url=server, **{"viewport": {"width": 1280, "height": 900}, **options})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        browser_problems.watch(page)
        return page

    yield open_page
    for context in contexts:
        context.close()
    problems = browser_problems.unexpected()
    with server_log.open("rb") as log:
        log.seek(log_offset)
        server_said = log.read().decode("utf-8", "replace")
    if "Traceback" in server_said:
        problems.append(f"the server logged a traceback:\n{server_said}")
    assert not problems, "the browser saw problems:\n" + "\n".join(problems)


@pytest.fixture
def page(new_page: NewPage) -> Page:
    """A fresh learner's page at 1280 px, light mode, JavaScript on."""
    return new_page()
