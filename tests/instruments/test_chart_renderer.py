"""The chart renderer process: one render per state, remembered, without blocking its callers."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from collections.abc import Iterator

import pytest

from app.instruments.chart_renderer import ChartRenderer
from app.instruments.charts import lora_chart, lora_chart_key


@pytest.fixture(scope="module")
def renderer() -> Iterator[ChartRenderer]:
    charts = ChartRenderer(maxsize=2)
    charts.start()
    yield charts
    charts.close()


def test_renders_the_same_svg_as_in_process(renderer: ChartRenderer) -> None:
    key = lora_chart_key(4096, 4096, 8)
    assert asyncio.run(renderer.render(key)) == lora_chart(4096, 4096, 8)
    assert renderer.cached(key) == lora_chart(4096, 4096, 8)  # the one chart cache serves the same bytes


def test_concurrent_requests_share_one_render(renderer: ChartRenderer) -> None:
    key = lora_chart_key(2048, 2048, 4)

    async def many() -> list[str | None]:
        tasks = [asyncio.ensure_future(renderer.render(key)) for _ in range(6)]
        await asyncio.sleep(0)  # every task has asked for the chart
        assert renderer._waiters == {key: 6}
        assert list(renderer._inflight) == [key]
        return await asyncio.gather(*tasks)

    results = asyncio.run(many())
    assert len(set(results)) == 1 and results[0] and results[0].startswith("<svg")
    assert renderer._waiters == {}


def test_a_render_nobody_waits_for_is_dropped_before_it_starts(renderer: ChartRenderer) -> None:
    keys = [lora_chart_key(512, 512, r) for r in (5, 6, 7, 8)]

    async def abandon() -> None:
        tasks = [asyncio.ensure_future(renderer.render(key)) for key in keys]
        await asyncio.sleep(0)
        for task in tasks[1:]:  # the first is already drawing; the rest wait in the queue
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(abandon())
    assert renderer.cached(keys[0]) is not None
    assert renderer.cached(keys[-1]) is None


def test_keeps_only_the_most_recent_charts(renderer: ChartRenderer) -> None:
    keys = [lora_chart_key(1024, 1024, r) for r in (1, 2, 3)]
    for key in keys:
        asyncio.run(renderer.render(key))
    assert renderer.cached(keys[0]) is None
    assert renderer.cached(keys[1]) is not None and renderer.cached(keys[2]) is not None


def test_a_kept_chart_survives_any_number_of_newer_ones(renderer: ChartRenderer) -> None:
    kept = lora_chart_key(768, 768, 16)
    asyncio.run(renderer.render(kept, keep=True))
    for r in (40, 41, 42):  # more than maxsize=2 newer charts
        asyncio.run(renderer.render(lora_chart_key(768, 768, r)))
    assert renderer.cached(kept) == lora_chart(768, 768, 16)
    assert renderer.cached(lora_chart_key(768, 768, 40)) is None  # the others are still evicted


def test_keeping_a_chart_already_drawn_pins_it(renderer: ChartRenderer) -> None:
    key = lora_chart_key(640, 640, 3)
    asyncio.run(renderer.render(key))
    asyncio.run(renderer.render(key, keep=True))
    for r in (50, 51, 52):
        asyncio.run(renderer.render(lora_chart_key(640, 640, r)))
    assert renderer.cached(key) is not None


def test_a_chart_that_cannot_be_drawn_is_none(renderer: ChartRenderer) -> None:
    assert asyncio.run(renderer.render(("no-such-chart", ()))) is None


def test_a_dead_renderer_process_is_replaced_and_the_chart_drawn() -> None:
    before = {child.pid for child in multiprocessing.active_children()}
    # A long interval: on a loaded machine the replacement may take longer to start and draw than
    # the default interval, and the second death below must still fall inside it.
    charts = ChartRenderer(restart_interval_s=600.0)
    charts.start()
    try:
        assert asyncio.run(charts.render(lora_chart_key(256, 256, 2)))  # the process is up
        renderers = [child.pid for child in multiprocessing.active_children() if child.pid not in before]
        assert renderers
        for pid in renderers:
            os.kill(pid, signal.SIGKILL)  # as the OOM killer would
        svg = asyncio.run(charts.render(lora_chart_key(256, 256, 3)))
        assert svg == lora_chart(256, 256, 3)
        # A renderer that dies again at once is not restarted in a loop: the chart is None for now.
        for child in multiprocessing.active_children():
            if child.pid not in before and child.pid not in renderers:
                os.kill(child.pid, signal.SIGKILL)
        assert asyncio.run(charts.render(lora_chart_key(256, 256, 4))) is None
    finally:
        charts.close()
