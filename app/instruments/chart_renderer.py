"""ChartRenderer: charts drawn in a process of their own, once per state, remembered.

matplotlib's SVG backend is pure Python: rendering in the server process would
hold the GIL for 50-120 ms a chart and stall every other request. Here a
separate process draws; the server keeps a bounded LRU of finished SVGs, and
concurrent requests for the same chart share one render (no stampede when a
class opens the chapter at once). Charts asked for with ``keep=True`` (each
instrument's first state, which every page view shows) are never evicted, so a
slider storm cannot push them out and make a page wait.

Waiting is async only: a caller on the event loop awaits the render; nothing
here ever blocks a thread on the renderer. If the renderer process dies (killed
for memory, say), the next chart starts a fresh one and is drawn by it; a
renderer that keeps dying is restarted at most once every RESTART_INTERVAL_S,
and meanwhile charts are None (the page says it could not draw them).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from app.instruments.charts import ChartKey, render_chart
from app.runner import linux

log = logging.getLogger(__name__)

RENDER_TIMEOUT_S = 30.0
RENDERER_NICENESS = 10  # a late chart is fine; a late page, answer or 429 is not
RESTART_INTERVAL_S = 5.0


def prepare_renderer_process(parent_pid: int) -> None:
    """Renderer-process initializer: lower priority, and never outlive the server (even after SIGKILL)."""
    os.nice(RENDERER_NICENESS)
    try:
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the executor's own shutdown still applies
        return
    if os.getppid() != parent_pid:  # the parent died before the prctl took effect
        os._exit(0)


class ChartRenderer:
    def __init__(self, maxsize: int = 1024, processes: int = 1, restart_interval_s: float = RESTART_INTERVAL_S) -> None:
        self._maxsize = maxsize
        self._processes = processes
        self._done: OrderedDict[ChartKey, str] = OrderedDict()
        self._kept: dict[ChartKey, str] = {}  # never evicted
        self._keep_wanted: set[ChartKey] = set()
        self._inflight: dict[ChartKey, Future[str]] = {}
        self._waiters: dict[ChartKey, int] = {}  # async callers still interested in an in-flight render
        # Re-entrant: a future that is already done runs _finish inside add_done_callback.
        self._lock = threading.RLock()
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0  # how many renderer pools were started
        self._restart_interval_s = restart_interval_s
        self._restarted_at = -restart_interval_s

    def start(self) -> None:
        # spawn, not fork: the server has threads, and a forked copy of them is unsafe.
        context = multiprocessing.get_context("spawn")
        self._executor = ProcessPoolExecutor(
            self._processes, mp_context=context, initializer=prepare_renderer_process, initargs=(os.getpid(),)
        )
        self._generation += 1

    def _restart(self, broken_generation: int) -> bool:
        """Replace a renderer that died; False when one was started too recently to try again."""
        with self._lock:
            if self._generation != broken_generation:
                return True  # another caller already replaced it
            now = time.monotonic()
            if self._executor is None or now - self._restarted_at < self._restart_interval_s:
                return False
            log.warning("the chart renderer process died; starting a new one")
            self._restarted_at = now
            self._executor.shutdown(wait=False, cancel_futures=True)
            self.start()
            return True

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def cached(self, chart: ChartKey) -> str | None:
        with self._lock:
            svg = self._kept.get(chart) or self._done.get(chart)
            if svg is not None and chart in self._done:
                self._done.move_to_end(chart)
            return svg

    def _future(self, chart: ChartKey) -> Future[str]:
        """The one render of this chart, started if nobody has started it yet."""
        with self._lock:
            svg = self._kept.get(chart) or self._done.get(chart)
            if svg is not None:
                done: Future[str] = Future()
                done.set_result(svg)
                return done
            future = self._inflight.get(chart)
            if future is None:
                if self._executor is None:
                    raise RuntimeError("the chart renderer is not started")
                future = self._executor.submit(render_chart, chart)
                self._inflight[chart] = future
                future.add_done_callback(functools.partial(self._finish, chart))
            return future

    def _finish(self, chart: ChartKey, future: Future[str]) -> None:
        with self._lock:
            self._inflight.pop(chart, None)
            if future.cancelled() or future.exception() is not None:
                return
            if chart in self._keep_wanted:
                self._kept[chart] = future.result()
                return
            self._done[chart] = future.result()
            self._done.move_to_end(chart)
            while len(self._done) > self._maxsize:
                self._done.popitem(last=False)

    def _join(self, chart: ChartKey) -> Future[str]:
        """The chart's one render, with this caller counted among those waiting for it."""
        future = self._future(chart)
        with self._lock:
            self._waiters[chart] = self._waiters.get(chart, 0) + 1
        return future

    def _leave(self, chart: ChartKey) -> bool:
        """Stop waiting; True when nobody waits for this chart any more."""
        with self._lock:
            left = self._waiters.pop(chart, 1) - 1
            if left > 0:
                self._waiters[chart] = left
            return left <= 0

    async def render(self, chart: ChartKey, *, keep: bool = False) -> str | None:
        """Await the chart without blocking the event loop; None if it cannot be drawn.

        ``keep`` pins the chart: it stays however many others are drawn after it.
        Cancelling the await (the student moved on) withdraws this caller; a render
        that nobody waits for any more and that has not started is dropped.
        """
        if keep:
            with self._lock:
                self._keep_wanted.add(chart)
                drawn = self._done.pop(chart, None)
                if drawn is not None:
                    self._kept[chart] = drawn
        for attempt in (1, 2):
            generation = self._generation
            try:
                return await self._await_render(chart)
            except BrokenProcessPool:
                if attempt == 2 or not self._restart(generation):
                    log.error("chart %s could not be rendered: the renderer process died", chart[0])
                    return None
        return None  # not reached: the second attempt returns

    async def _await_render(self, chart: ChartKey) -> str | None:
        future = self._join(chart)
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), RENDER_TIMEOUT_S)
        except (asyncio.CancelledError, BrokenProcessPool):
            raise
        except Exception:
            log.exception("chart %s could not be rendered", chart[0])
            return None
        finally:
            if self._leave(chart) and not future.done():
                # Only a render still queued is dropped; one already drawing finishes and is kept.
                future.cancel()
