"""Pool behaviour: isolation report, backpressure, recovery, refusals, the sync helper."""

from __future__ import annotations

import os
import signal
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.runner import (
    InvalidRequest,
    RunnerBusy,
    RunnerError,
    RunnerLimits,
    RunnerPool,
    RunRequest,
    RunResult,
    SandboxUnavailable,
    run_snippets_sync,
)
from tests.runner.conftest import (
    TEST_LIMITS,
    PoolHarness,
    assert_still_works,
    start_harness,
)
from tests.runner.snippets import LORA_ALGEBRA


def test_isolation_report_says_full_and_why(runner: PoolHarness) -> None:
    report = runner.pool.isolation
    assert report.level == "full"
    text = " ".join(report.details)
    for feature in ("user namespace", "pid namespace", "network namespace", "mount namespace", "seccomp", "rlimits"):
        assert feature in text
    assert report.to_dict() == {"level": "full", "details": report.details}


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PoolHarness]:
    """One worker, a queue of one: small enough to fill on purpose."""
    harness = start_harness(TEST_LIMITS, concurrency=1, queue_size=1, ready_processes=1)
    yield harness
    harness.close()


def test_a_full_queue_raises_runner_busy(single: PoolHarness) -> None:
    results = single.run_concurrently(["import time\ntime.sleep(0.3)\nprint('done')"] * 3)
    finished = [item for item in results if isinstance(item, RunResult)]
    refused = [item for item in results if isinstance(item, RunnerBusy)]
    assert len(finished) == 2 and all(item.stdout == "done\n" for item in finished)
    assert len(refused) == 1
    assert refused[0].retry_after_s >= 1
    assert_still_works(single)


def test_a_crashed_template_is_replaced(single: PoolHarness) -> None:
    old_pid = single.pool.template_pid
    assert old_pid is not None
    os.kill(old_pid, signal.SIGKILL)
    for _ in range(3):  # outlasts the spare forked before the crash
        assert_still_works(single)
    assert single.pool.template_pid not in (None, old_pid)
    assert single.pool.isolation.level == "full"


def test_the_template_process_is_renewed_with_a_fresh_hash_seed() -> None:
    # Run processes are forks: all of one template's runs share its string-hash seed and layout.
    harness = start_harness(concurrency=1, renew_template_s=0.5)
    try:
        code = "import sys\nprint(hash('which seed?'), id(sys))\n"
        first, old_pid = harness.run(code), harness.pool.template_pid
        assert first.status == "ok" and old_pid is not None
        deadline = time.monotonic() + 90  # a fresh template starts in seconds, slower under load
        while harness.pool.template_pid == old_pid and time.monotonic() < deadline:
            time.sleep(0.1)
        assert harness.pool.template_pid not in (None, old_pid)
        second = harness.run(code)
        assert second.status == "ok"
        seeds, layouts = zip(*(result.stdout.split() for result in (first, second)), strict=True)
        assert seeds[0] != seeds[1]
        if Path("/proc/sys/kernel/randomize_va_space").read_text().strip() != "0":  # the host randomizes
            assert layouts[0] != layouts[1]
        # The old template stops once the runs it forked are past every limit.
        while _alive(old_pid) and time.monotonic() < deadline + 30:
            time.sleep(0.2)
        assert not _alive(old_pid)
    finally:
        harness.close()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_requests_the_runner_cannot_take_are_refused(single: PoolHarness) -> None:
    with pytest.raises(InvalidRequest, match="limit is 20480"):
        single.call(single.pool.run(RunRequest("#" * 20481)))
    with pytest.raises(InvalidRequest, match="device 'cuda'"):
        single.call(single.pool.run(RunRequest("print(1)", device="cuda")))


def test_a_pool_that_is_not_started_refuses_to_run() -> None:
    import asyncio

    with pytest.raises(RunnerError, match="not running"):
        asyncio.run(RunnerPool(TEST_LIMITS).run(RunRequest("print(1)")))


def _python_without_namespaces(tmp_path: Path) -> str:
    wrapper = tmp_path / "python-without-namespaces"
    helper = Path(__file__).with_name("deny_namespaces.py")
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{helper}" "{sys.executable}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return str(wrapper)


def test_without_namespaces_snippets_are_refused(tmp_path: Path) -> None:
    harness = start_harness(TEST_LIMITS, concurrency=1, python=_python_without_namespaces(tmp_path))
    try:
        assert harness.pool.isolation.level == "none"
        assert "mount namespace" in harness.pool.isolation.details[0]
        with pytest.raises(SandboxUnavailable):
            harness.run("print('should not run')")
    finally:
        harness.close()


def test_unsafe_mode_runs_only_on_opt_in_and_says_so(tmp_path: Path) -> None:
    limits = RunnerLimits(wall_s=0.5, cpu_s=3)
    harness = start_harness(limits, concurrency=1, allow_unsafe=True, python=_python_without_namespaces(tmp_path))
    try:
        assert harness.pool.isolation.level == "unsafe"
        assert any("UNSAFE" in line for line in harness.pool.isolation.details)
        result = harness.run("import os\nprint(os.getcwd())\nos.fork()\n")
        scratch = Path(result.stdout.strip())
        assert scratch.parent.name.startswith("textbook-snippets-")  # a temp dir, not the server's cwd
        assert "PermissionError" in result.stderr  # the seccomp filter still applies
        assert harness.run("while True:\n    pass\n").status == "timeout"
    finally:
        harness.close()
    assert not scratch.parent.exists()  # the template removed every run's temp dir


def test_sync_helper_runs_a_batch_in_order() -> None:
    started = time.perf_counter()
    results = run_snippets_sync([LORA_ALGEBRA, "1 / 0"], RunnerLimits(wall_s=2.0, cpu_s=3))
    assert [result.status for result in results] == ["ok", "error"]
    assert "merged == two-path    : True" in results[0].stdout
    assert "ZeroDivisionError" in results[1].stderr
    assert time.perf_counter() - started < 15
