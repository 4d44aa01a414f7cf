"""The result channel is untrusted input: forged frames, early results, closed sockets, CPU.

A snippet can write to its own result socket (fd 3). Whatever it writes, the
pool must answer with a result that obeys the limits, must not stall its event
loop, and must not let the process outlive the request.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest

from app.runner import RunnerLimits, RunRequest, RunResult
from app.runner.results import stderr_cap
from tests.runner.conftest import TEST_LIMITS, PoolHarness, assert_still_works, busy_run_processes, start_harness

FORGE = (
    "import json, os, socket, stat, struct, threading, time\n"
    "def result_channel():\n"
    "    return next(fd for fd in range(3, 1024) if _is_socket(fd))\n"
    "def _is_socket(fd):\n"
    "    try:\n"
    "        return stat.S_ISSOCK(os.fstat(fd).st_mode)\n"
    "    except OSError:\n"
    "        return False\n"
    "def forge(body):\n"
    "    channel = socket.socket(fileno=result_channel())\n"
    "    channel.sendall(struct.pack('>I', len(body)) + body)\n"
    "    channel.detach()\n"
    "def result(**fields):\n"
    "    frame = {'event': 'result', 'status': 'ok', 'stdout': '', 'stderr': '', 'figures': []}\n"
    "    return json.dumps(frame | fields).encode()\n"
    "def spin():\n"
    "    while True:\n"
    "        pass\n"
    "def burn(threads=2):\n"
    "    for _ in range(threads):\n"
    "        threading.Thread(target=spin, daemon=True).start()\n"
    "    spin()\n"
)


def forged_result(**fields: str) -> str:
    """Snippet code for a forged result frame; each field's value is a Python expression."""
    return "result(" + ", ".join(f"{name}={expression}" for name, expression in fields.items()) + ")"


@pytest.fixture
def sandbox(fresh_runner: PoolHarness) -> Iterator[PoolHarness]:
    template_pid = fresh_runner.pool.template_pid
    yield fresh_runner
    assert_still_works(fresh_runner)
    assert fresh_runner.pool.template_pid == template_pid


def run_measuring_the_loop(harness: PoolHarness, codes: list[str]) -> tuple[list[RunResult], float]:
    """Run `codes` concurrently; also return the event loop's worst lag meanwhile (seconds)."""

    async def measured() -> tuple[list[RunResult], float]:
        lags: list[float] = []
        running = True

        async def tick() -> None:
            while running:
                started = time.perf_counter()
                await asyncio.sleep(0.005)
                lags.append(time.perf_counter() - started - 0.005)

        ticker = asyncio.ensure_future(tick())
        try:
            results = await asyncio.gather(*(harness.pool.run(RunRequest(code)) for code in codes))
        finally:
            running = False
            await ticker
        return list(results), max(lags, default=0.0)

    return harness.call(measured())


def test_a_deeply_nested_frame_is_malformed_and_its_process_is_killed(sandbox: PoolHarness) -> None:
    # json.loads raised RecursionError here: a 500 for the request, and the process lived on.
    result = sandbox.run(FORGE + "forge(b'[' * 100000)\nburn()\n")
    assert result.status == "error"
    assert "malformed result" in result.stderr
    assert result.elapsed_ms < TEST_LIMITS.wall_s * 1000
    template_pid = sandbox.pool.template_pid
    assert template_pid is not None
    time.sleep(0.5)
    assert busy_run_processes(template_pid, cpu_s=0.3) == []


def test_large_hostile_frames_do_not_stall_the_event_loop(sandbox: PoolHarness) -> None:
    # 6 MB of 500-deep arrays took about a second of json.loads on the event loop, each.
    nested = FORGE + "forge(b'[' + (b'[' * 500 + b'0' + b']' * 500 + b',') * 5990 + b'0]')\ntime.sleep(30)\n"
    results, worst_lag_s = run_measuring_the_loop(sandbox, [nested] * 3)
    assert [result.status for result in results] == ["error"] * 3
    assert worst_lag_s < 0.3, f"the event loop stalled for {worst_lag_s:.3f} s"


def test_a_large_well_formed_frame_is_decoded_and_cut_without_stalling(sandbox: PoolHarness) -> None:
    code = FORGE + "forge(" + forged_result(stdout="'x' * 5_000_000") + ")\ntime.sleep(30)\n"
    results, worst_lag_s = run_measuring_the_loop(sandbox, [code] * 2)
    for result in results:
        assert result.status == "output_limit"
        assert len(result.stdout.encode()) == TEST_LIMITS.output_bytes
    assert worst_lag_s < 0.3, f"the event loop stalled for {worst_lag_s:.3f} s"


def test_a_forged_lone_surrogate_is_cleaned(sandbox: PoolHarness) -> None:
    # It made the response fail to encode: a 500 and a reset connection.
    frame = forged_result(stdout=repr("a\ud800b"), stderr=repr("\udfff"))
    result = sandbox.run(FORGE + f"forge({frame})\ntime.sleep(30)\n")
    assert result.status == "ok"
    assert result.stdout == "a?b" and result.stderr == "?"
    json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")  # what the web layer sends


def test_forged_output_past_the_limit_is_cut_and_marked(sandbox: PoolHarness) -> None:
    code = FORGE + "forge(" + forged_result(stdout="'é' * 300_000", stderr="'e' * 1_000_000") + ")\ntime.sleep(30)\n"
    result = sandbox.run(code)
    assert result.status == "output_limit"
    assert len(result.stdout.encode()) <= TEST_LIMITS.output_bytes
    assert len(result.stderr.encode()) <= stderr_cap(TEST_LIMITS)
    assert "[output stopped" in result.stderr


def test_forged_figures_must_be_png_within_the_limits(sandbox: PoolHarness) -> None:
    bogus = [{"mime": "image/png", "data": '"><script>alert(1)</script>'}, {"mime": "image/png", "data": "aGVsbG8="}]
    result = sandbox.run(FORGE + f"forge({forged_result(figures=repr(bogus * 3))})\ntime.sleep(30)\n")
    assert result.status == "ok"
    assert result.figures == []
    assert result.stderr.count("was dropped: not a PNG image") == TEST_LIMITS.max_figures


CRASH = "import ctypes, faulthandler\ncrash = lambda: ctypes.string_at(0)\n"


def test_a_crash_report_on_the_result_channel_is_a_crash_with_its_report(sandbox: PoolHarness) -> None:
    # faulthandler writes plain text to the file it is given, then the process dies by its signal:
    # "Fata" read as a frame's length was 1.2 GB, and the run was reported as output_limit.
    code = FORGE + CRASH + "faulthandler.dump_traceback(file=result_channel())\ncrash()\n"
    result = sandbox.run(code)
    assert result.status == "killed"
    assert result.stderr.startswith("Current thread 0x")
    assert "SIGSEGV" in result.stderr and result.stdout == ""


def test_a_crash_report_is_held_to_the_output_limit(sandbox: PoolHarness) -> None:
    report = "'Fatal Python error: ' + 'é' * 200_000"
    code = FORGE + CRASH + f"os.write(result_channel(), ({report}).encode())\ncrash()\n"
    result = sandbox.run(code)
    assert result.status == "killed" and result.stderr.startswith("Fatal Python error: éé")
    assert "[crash report cut at" in result.stderr
    assert len(result.stderr.encode()) <= stderr_cap(TEST_LIMITS)


def test_text_on_the_result_channel_from_a_process_that_lives_on_is_not_a_crash(sandbox: PoolHarness) -> None:
    # The same text without the crash is a forged frame of absurd length, like an announced 2 GB.
    code = FORGE + CRASH + "faulthandler.dump_traceback(file=result_channel())\ntime.sleep(30)\n"
    assert sandbox.run(code).status == "output_limit"


def test_an_early_result_does_not_leave_its_process_running(sandbox: PoolHarness) -> None:
    # The slot was freed at once while the process burned CPU for about 2 s more.
    result = sandbox.run(FORGE + "forge(" + forged_result(stdout="'early'") + ")\nburn(3)\n")
    assert result.status == "ok" and result.stdout == "early"
    template_pid = sandbox.pool.template_pid
    assert template_pid is not None
    time.sleep(1.0)
    assert busy_run_processes(template_pid, cpu_s=0.3) == []


def test_early_results_cannot_exceed_the_concurrency(sandbox: PoolHarness) -> None:
    template_pid = sandbox.pool.template_pid
    assert template_pid is not None
    code = FORGE + "forge(" + forged_result(stdout="'early'") + ")\nburn(3)\n"
    results = sandbox.run_concurrently([code] * 8)
    assert all(isinstance(item, RunResult) and item.stdout == "early" for item in results)
    time.sleep(1.0)
    assert busy_run_processes(template_pid, cpu_s=0.3) == []


def test_a_closed_socket_reports_the_true_elapsed_time(sandbox: PoolHarness) -> None:
    # It reported 3 ms for a run that went on for seconds.
    result = sandbox.run(FORGE + "os.close(result_channel())\ntime.sleep(1.0)\n")
    assert result.status == "error"
    assert "before reporting a result" in result.stderr
    assert result.elapsed_ms >= 1000


def test_a_closed_socket_does_not_escape_the_wall_clock_limit(sandbox: PoolHarness) -> None:
    result = sandbox.run(FORGE + "os.close(result_channel())\nspin()\n")
    assert result.status == "timeout"
    assert TEST_LIMITS.wall_s * 1000 <= result.elapsed_ms < TEST_LIMITS.wall_s * 1000 + 1000


@pytest.fixture(scope="module")
def cpu_limited() -> Iterator[PoolHarness]:
    harness = start_harness(RunnerLimits(wall_s=8.0, cpu_s=1, memory_mb=128), concurrency=1, ready_processes=1)
    yield harness
    harness.close()


def test_the_cpu_limit_is_enforced_by_the_pool(cpu_limited: PoolHarness) -> None:
    # RLIMIT_CPU's SIGXCPU is ignored by pid 1 of a namespace, so "CPU limit -> timeout" never fired.
    result = cpu_limited.run(FORGE + "burn(2)\n")
    assert result.status == "timeout", result
    assert "1 s of CPU time" in result.stderr
    assert result.elapsed_ms < 8000
    assert_still_works(cpu_limited)
