"""A real, sandboxed RunnerPool per test session, driven from synchronous tests.

The pool lives on an event loop in a background thread, the way it lives in the
server; `PoolHarness.run(code)` submits a run and waits for its result.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine, Iterator, Sequence
from typing import Any, TypeVar

import pytest

from app.runner import RunnerLimits, RunnerPool, RunRequest, RunResult

T = TypeVar("T")

# Set before any pool starts: a snippet must never see the server's environment.
SECRET_NAME = "TEXTBOOK_RUNNER_TEST_SECRET"
SECRET_VALUE = "s3cr3t-value-the-sandbox-must-not-see"

# Short wall clock so the timeout cases stay cheap; everything else finishes far sooner.
TEST_LIMITS = RunnerLimits(wall_s=1.5, cpu_s=3, memory_mb=128)


class PoolHarness:
    def __init__(self, pool: RunnerPool) -> None:
        self.pool = pool
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="runner-test-loop", daemon=True)
        self._thread.start()
        self.call(pool.start())

    def call(self, coroutine: Coroutine[Any, Any, T], timeout_s: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def run(self, code: str) -> RunResult:
        return self.call(self.pool.run(RunRequest(code)))

    def run_concurrently(self, codes: Sequence[str]) -> list[RunResult | BaseException]:
        async def run_all() -> list[RunResult | BaseException]:
            return await asyncio.gather(*(self.pool.run(RunRequest(code)) for code in codes), return_exceptions=True)

        return self.call(run_all())

    def close(self) -> None:
        self.call(self.pool.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


def start_harness(limits: RunnerLimits = TEST_LIMITS, **options: Any) -> PoolHarness:
    os.environ[SECRET_NAME] = SECRET_VALUE
    # One template process for a test's whole life: hostile-code tests check, by its pid, that it
    # survived; its renewal is tested on its own (test_pool.py).
    options.setdefault("renew_template_s", None)
    return PoolHarness(RunnerPool(limits, **options))


@pytest.fixture(scope="session")
def runner() -> Iterator[PoolHarness]:
    harness = start_harness(concurrency=2)
    if not harness.pool.isolation.can_run:
        harness.close()
        pytest.fail(f"no sandbox on this host: {harness.pool.isolation.details}")
    yield harness
    harness.close()


@pytest.fixture
def fresh_runner(runner: PoolHarness) -> PoolHarness:
    """The session pool, after checking it still runs ordinary code (tests then re-check)."""
    assert_still_works(runner)
    return runner


def busy_descendants(root_pid: int, cpu_s: float = 0.5) -> list[int]:
    """Live processes under `root_pid` that have used more than `cpu_s` of CPU (a runaway snippet).

    A zombie is not counted: it has exited and runs nothing; its parent (the template process)
    reaps it when it next gets the CPU, which on a loaded machine can be after the pool answered.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        used[int(entry)] = 0.0 if fields[0] == "Z" else (int(fields[11]) + int(fields[12])) / ticks
    found, frontier = [], [root_pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        frontier += children
        found += [pid for pid in children if used[pid] > cpu_s]
    return found


def busy_run_processes(template_pid: int, cpu_s: float) -> list[int]:
    """Run processes (not the template process itself) that have used more than `cpu_s` of CPU."""
    return [pid for pid in busy_descendants(template_pid, cpu_s) if _parent_of(pid) != template_pid]


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def assert_still_works(harness: PoolHarness) -> None:
    result = harness.run("import numpy as np\nprint(int(np.arange(5).sum()))")
    assert result.status == "ok", result
    assert result.stdout == "10\n"
