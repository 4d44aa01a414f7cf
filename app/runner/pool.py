"""RunnerPool: the asyncio API the web app uses to run snippets.

Admission: at most `concurrency` runs execute at once; up to `queue_size` more
wait; beyond that `run()` raises RunnerBusy at once. Each run uses a run
process forked from the template process ahead of time (a "ready" run process)
that has already entered its sandbox, so a request pays only for executing the
code. Every run gets a fresh run process that is killed afterwards, and its
slot is free again only once that process is gone: no state survives between
runs, and nothing a snippet leaves running escapes the concurrency limit.
"""

from __future__ import annotations

import asyncio
import collections
import math
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal, Self

from .channel import Channel
from .protocol import (
    InvalidRequest,
    IsolationReport,
    RunnerBusy,
    RunnerError,
    RunnerLimits,
    RunRequest,
    RunResult,
    SandboxUnavailable,
)
from .results import Ending, crashed, result_from_frame, result_with_crash_report, result_without_frame
from .template_handle import RunProcess, TemplateDied, TemplateHandle
from .wire import FrameError, FrameTooLarge, encode_frame

_READY_TIMEOUT_S = 10.0  # a run process that is not sandboxed by then is discarded
_EXIT_TIMEOUT_S = 2.0  # how long to wait for the template process's word on how a run process ended
_MIN_CPU_CHECK_S = 0.05
# After bytes that are not a frame: how long a crashing process may take to die by its signal
# (faulthandler writes its report, then re-raises the signal at once), and to finish the report.
_CRASH_GRACE_S = 0.25
# How long one template process (and so one string-hash seed and address layout) serves runs.
TEMPLATE_RENEWAL_S = 600.0


class _RunProcessFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RunnerPool:
    def __init__(
        self,
        limits: RunnerLimits | None = None,
        *,
        concurrency: int | None = None,
        queue_size: int = 16,
        allow_unsafe: bool = False,
        ready_processes: int | None = None,
        python: str | None = None,
        startup_timeout_s: float = 60.0,
        cuda: dict[str, list[str]] | None = None,
        renew_template_s: float | None = TEMPLATE_RENEWAL_S,
    ) -> None:
        """`cuda` ({"device_nodes": [...], "driver_libraries": [...]}, from app/fleet/gpu.py) makes
        a CUDA pool: its sandbox also holds those, and its snippets' NumPy is CuPy.

        `renew_template_s`: a template process that has served runs for that long is replaced
        by a freshly exec'd one, started in the background while the old one serves on (None:
        never). Run processes are forks, so they share their template's string-hash seed and
        address layout; renewal bounds how many runs share them."""
        self.limits = limits or RunnerLimits()
        self.concurrency = concurrency or os.cpu_count() or 1
        self.queue_size = queue_size
        self.allow_unsafe = allow_unsafe
        self._ready_target = self.concurrency if ready_processes is None else ready_processes
        self._startup_timeout_s = startup_timeout_s
        self.device = "cuda" if cuda is not None else "cpu"
        self._new_template = lambda: TemplateHandle(self.limits, allow_unsafe=allow_unsafe, python=python, cuda=cuda)
        self._template = self._new_template()
        self._renew_template_s = renew_template_s
        self._runs_since_renewal = 0
        self._retiring: list[TemplateHandle] = []
        self._slots: asyncio.Semaphore | None = None
        self._waiting = 0
        self._ready: collections.deque[RunProcess] = collections.deque()
        self._refill_wanted: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._restart_lock: asyncio.Lock | None = None
        self._mean_run_s = 0.05
        self._started = False
        self._closed = False
        self._max_frame = (
            8 * self.limits.output_bytes + self.limits.max_figures * (self.limits.figure_bytes * 4 // 3 + 256) + 65536
        )

    # -- lifecycle -----------------------------------------------------------

    @property
    def isolation(self) -> IsolationReport:
        return self._template.isolation

    @property
    def is_up(self) -> bool:
        """Started and not closed: what /readyz asks (a pool without isolation is still up)."""
        return self._started and not self._closed

    @property
    def template_pid(self) -> int | None:
        """pid of the current template process (for health pages and tests)."""
        return self._template.pid

    async def start(self) -> IsolationReport:
        """Start the template process, verify the sandbox, report the isolation level (never raises for it)."""
        if self._started:
            return self.isolation
        self._slots = asyncio.Semaphore(self.concurrency)
        self._refill_wanted = asyncio.Event()
        self._restart_lock = asyncio.Lock()
        report = await self._template.start(self._startup_timeout_s)
        self._started = True
        if report.can_run:
            self._background(self._keep_ready_processes())
            self._refill_wanted.set()
            if self._renew_template_s is not None:
                self._background(self._renew_templates(self._renew_template_s))
        return report

    async def close(self) -> None:
        """Stop the template process; its run processes, ready or in flight, end with it."""
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._drop_ready_processes()
        await self._template.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- running -------------------------------------------------------------

    async def run(self, request: RunRequest) -> RunResult:
        """Run one snippet in a fresh sandboxed process.

        Raises RunnerBusy (queue full), SandboxUnavailable (no isolation here),
        InvalidRequest (too long, unknown device) or RunnerError (pool not running).
        Everything the snippet itself does wrong is a RunResult status instead.
        """
        self._validate(request)
        assert self._slots is not None
        if self._slots.locked() and self._waiting >= self.queue_size:
            raise RunnerBusy(retry_after_s=self._retry_after())
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        try:
            started = time.perf_counter()
            self._runs_since_renewal += 1
            result = replace(await self._run_in_slot(request), device=self.device)
            self._mean_run_s = 0.8 * self._mean_run_s + 0.2 * (time.perf_counter() - started)
            return result
        finally:
            self._slots.release()

    def _validate(self, request: RunRequest) -> None:
        if not self._started or self._closed:
            raise RunnerError("the code runner is not running")
        if not self.isolation.can_run:
            raise SandboxUnavailable("; ".join(self.isolation.details[:1]) or "no sandbox")
        if not isinstance(request.code, str):
            raise InvalidRequest("code must be text")
        size = len(request.code.encode("utf-8", "surrogatepass"))
        if size > self.limits.max_code_bytes:
            raise InvalidRequest(f"the snippet is {size} bytes long; the limit is {self.limits.max_code_bytes}")
        if request.device != self.device:
            raise InvalidRequest(
                f"device {request.device!r} is not available here; use {self.device}", field="device"
            )

    def _retry_after(self) -> float:
        ahead = self._waiting + self.concurrency
        return float(max(1, math.ceil(ahead * self._mean_run_s / self.concurrency)))

    async def _run_in_slot(self, request: RunRequest) -> RunResult:
        failure = "the sandbox did not start"
        for _ in range(2):  # a ready run process may have died while idle; one fresh retry
            process = await self._take_ready_process()
            try:
                return await self._execute(process, request)
            except _RunProcessFailed as exc:
                failure = exc.message
            finally:
                # Whatever happened, the process is killed and gone before its slot is free again.
                await process.finish()
                # Replace the ready process only now: forking during the run would compete with it for CPU.
                assert self._refill_wanted is not None
                self._refill_wanted.set()
        raise SandboxUnavailable(failure)

    async def _execute(self, process: RunProcess, request: RunRequest) -> RunResult:
        channel = Channel(process.channel, self._max_frame)
        await self._until_ready(process, channel)
        started = time.perf_counter()
        deadline = started + self.limits.wall_s
        cpu_before = process.cpu_seconds() or 0.0
        reply = asyncio.ensure_future(self._exchange(process, channel, request))
        try:
            ending = await self._watch(process, reply, deadline, cpu_before)
        finally:
            await _cancelled(reply)
        if ending != "done":
            return await self._stopped(process, ending, started)
        try:
            frame = reply.result()
        except FrameError as error:
            return await self._not_a_frame(process, channel, error, started, deadline)
        if frame is not None:
            process.kill()  # its result is in: nothing it does from now on may use the slot
            return result_from_frame(frame, _ms_since(started), self.limits)
        # It closed its end without a result: wait (within the limits) for the process to end.
        exited = asyncio.ensure_future(process.wait_gone())
        try:
            ending = await self._watch(process, exited, deadline, cpu_before)
        finally:
            await _cancelled(exited)  # its reader on the pidfd must be gone before anyone else waits on it
        if ending != "done":
            return await self._stopped(process, ending, started)
        elapsed_ms = _ms_since(started)
        exit_info = await self._last_word(process, _EXIT_TIMEOUT_S)
        if exit_info is None and await self._template_died(process.template_pid):
            # The template process died and took this run process with it: not the snippet's doing.
            raise _RunProcessFailed("the sandbox template died during the run")
        return result_without_frame("exited", exit_info, elapsed_ms, self.limits)

    async def _exchange(self, process: RunProcess, channel: Channel, request: RunRequest) -> dict[str, Any] | None:
        """Send the code, read the one frame that answers it (None: the process closed its end)."""
        try:
            request_frame = encode_frame({"code": request.code, "device": request.device})
            await asyncio.get_running_loop().sock_sendall(process.channel, request_frame)
        except OSError:
            return None
        return await channel.next()

    async def _watch(
        self, process: RunProcess, task: asyncio.Future[Any], deadline: float, cpu_before: float
    ) -> Literal["done", "timeout", "cpu_limit"]:
        """Wait for `task` within the wall-clock deadline and the CPU limit, both enforced here.

        Returns "done", "timeout" or "cpu_limit". The CPU time is read from /proc
        only when the run could have used it all by then (at most 1 + max_threads
        CPU-seconds per second), so short runs never pay for the check.
        """
        limits = self.limits
        while True:
            now = time.perf_counter()
            if now >= deadline:
                return "done" if task.done() else "timeout"
            wait_s = deadline - now
            used = process.cpu_seconds()
            if used is not None:
                left = limits.cpu_s - (used - cpu_before)
                if left <= 0:
                    return "done" if task.done() else "cpu_limit"
                wait_s = min(wait_s, max(left / (1 + limits.max_threads), _MIN_CPU_CHECK_S))
            done, _ = await asyncio.wait({task}, timeout=wait_s)
            if done:
                return "done"

    async def _not_a_frame(
        self, process: RunProcess, channel: Channel, error: FrameError, started: float, deadline: float
    ) -> RunResult:
        """Bytes on the result channel that are not a frame. A process that crashed writing its
        crash report there (faulthandler's text, whose first bytes read as an absurd length)
        dies by its signal at once: the run gets the crash's status and the report as stderr.
        A process that lives on forged a frame: over the size cap is `output_limit`, anything
        else a malformed result."""
        grace_s = max(0.0, min(_CRASH_GRACE_S, deadline - time.perf_counter()))
        # Read on meanwhile: a report larger than the socket's buffer would block its writer.
        report = asyncio.ensure_future(channel.raw_rest(self.limits.output_bytes + 1, grace_s + _CRASH_GRACE_S))
        try:
            if await process.wait_gone(grace_s):
                exit_info = await self._last_word(process, _EXIT_TIMEOUT_S)
                if crashed(exit_info):
                    return result_with_crash_report(await report, exit_info, _ms_since(started), self.limits)
        finally:
            await _cancelled(report)
        forged: Ending = "output_limit" if isinstance(error, FrameTooLarge) else "malformed"
        return await self._stopped(process, forged, started)

    async def _stopped(self, process: RunProcess, ending: Ending, started: float) -> RunResult:
        """Kill a run the pool stopped (or that broke the protocol) and say why."""
        process.kill()
        await process.wait_gone(_EXIT_TIMEOUT_S)  # its elapsed time ends when the process does
        return result_without_frame(ending, None, _ms_since(started), self.limits)

    async def _until_ready(self, process: RunProcess, channel: Channel) -> None:
        """Wait for the sandboxed process to say it is ready for code."""
        try:
            ready = await asyncio.wait_for(channel.next(), _READY_TIMEOUT_S)
        except (TimeoutError, FrameError):
            ready = None
        if ready is not None and ready.get("event") == "ready":
            return
        process.kill()
        exit_info = await self._last_word(process, 1.0)
        message = (ready or {}).get("message") or f"the sandboxed process died while starting ({exit_info})"
        raise _RunProcessFailed(str(message))

    async def _last_word(self, process: RunProcess, timeout_s: float) -> dict[str, Any] | None:
        """The template process's report of how the run process ended, or None if there is none."""

        async def last_frame() -> dict[str, Any] | None:
            while True:
                frame = await process.status_channel.next()
                if frame is None or frame.get("event") == "exit":
                    return frame

        try:
            return await asyncio.wait_for(last_frame(), timeout_s)
        except (TimeoutError, FrameError):
            return None

    # -- ready run processes and the template process ---------------------------------------------

    async def _take_ready_process(self) -> RunProcess:
        while self._ready:
            process = self._ready.popleft()
            if self._template.alive and process.template_pid == self._template.pid:
                return process
            process.kill()  # forked by a template process that died: it dies with it
            process.close()
        return await self._spawn()

    def _drop_ready_processes(self) -> None:
        while self._ready:
            process = self._ready.popleft()
            process.kill()
            process.close()

    async def _template_died(self, template_pid: int, within_s: float = 1.0) -> bool:
        """Whether that template is gone (a new one may have replaced it), giving its exit a moment to show."""
        deadline = time.monotonic() + within_s
        while (template := self._templates_by_pid().get(template_pid)) is not None and template.alive:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def _templates_by_pid(self) -> dict[int | None, TemplateHandle]:
        """The template process and those being retired after a renewal (still serving their runs)."""
        return {handle.pid: handle for handle in [*self._retiring, self._template]}

    async def _keep_ready_processes(self) -> None:
        assert self._refill_wanted is not None
        while True:
            await self._refill_wanted.wait()
            self._refill_wanted.clear()
            while len(self._ready) < self._ready_target and not self._closed:
                try:
                    self._ready.append(await self._spawn())
                except RunnerError:
                    await asyncio.sleep(0.5)  # the next run retries and reports the failure
                    break

    async def _spawn(self) -> RunProcess:
        for _ in range(2):
            try:
                return await self._template.spawn()
            except TemplateDied:
                await self._restart_template()
        raise SandboxUnavailable("the sandbox template process keeps dying")

    async def _restart_template(self) -> None:
        assert self._restart_lock is not None
        async with self._restart_lock:
            if self._template.alive or self._closed:
                return
            await self._template.stop()
            await self._template.start(self._startup_timeout_s)

    async def _renew_templates(self, every_s: float) -> None:
        """Replace the template process with a fresh one every `every_s` seconds in which it
        served a run: a new exec, so a new string-hash seed and address layout for the runs
        forked from it. The new one starts (imports, sandbox, probe) while the old one serves;
        the swap is one assignment; the old one stops once its last run is past every limit."""
        while True:
            await asyncio.sleep(every_s)
            if self._runs_since_renewal == 0 or self._closed:
                continue
            fresh = self._new_template()
            try:
                report = await fresh.start(self._startup_timeout_s)
            except BaseException:  # cancelled by close(): the fresh one must not outlive the pool
                await fresh.stop()
                raise
            if not report.can_run or self._closed:
                await fresh.stop()  # the old one serves on; a failing fresh one is tried next time
                continue
            assert self._restart_lock is not None and self._refill_wanted is not None
            async with self._restart_lock:
                old, self._template = self._template, fresh
                self._runs_since_renewal = 0
                self._drop_ready_processes()  # forked by the old template: its seed, its layout
                self._refill_wanted.set()
            self._background(self._stop_after_its_runs(old))

    async def _stop_after_its_runs(self, old: TemplateHandle) -> None:
        # A run taken before the swap ends within its wall-clock limit, plus the waits for its exit.
        self._retiring.append(old)
        try:
            await asyncio.sleep(self.limits.wall_s + 2 * _EXIT_TIMEOUT_S + _CRASH_GRACE_S + 1.0)
        finally:
            self._retiring.remove(old)
            await old.stop()

    def _background(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _cancelled(task: asyncio.Future[Any]) -> None:
    """Cancel `task` (if it is still running) and let its cleanup run before going on."""
    if not task.done():
        task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


# -- blocking helpers for the CLI (`textbook check` runs every chapter snippet) --


def run_snippets_sync(
    codes: Sequence[str],
    limits: RunnerLimits | None = None,
    *,
    allow_unsafe: bool = False,
    concurrency: int | None = None,
) -> list[RunResult]:
    """Run each snippet in its own sandboxed process; results in the same order.

    Raises SandboxUnavailable (with the reason) when this host cannot isolate
    snippets and `allow_unsafe` is false. Not for use inside a running event loop.
    """

    async def run_all() -> list[RunResult]:
        pool = RunnerPool(limits, concurrency=concurrency, queue_size=max(len(codes), 1), allow_unsafe=allow_unsafe)
        async with pool:
            if not pool.isolation.can_run:
                raise SandboxUnavailable("; ".join(pool.isolation.details) or "no sandbox")
            return list(await asyncio.gather(*(pool.run(RunRequest(code)) for code in codes)))

    return asyncio.run(run_all())
