"""The chart renderer process: one render per state, remembered, without blocking its callers."""

from __future__ import annotations

import asyncio
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
    assert renderer.render_sync(key) == lora_chart(4096, 4096, 8, cached=False)
    assert renderer.cached(key) is not None


def test_concurrent_requests_share_one_render(renderer: ChartRenderer) -> None:
    key = lora_chart_key(2048, 2048, 4)

    async def many() -> list[str | None]:
        tasks = [asyncio.ensure_future(renderer.render(key)) for _ in range(6)]
        await asyncio.sleep(0)  # every task has asked for the chart
        assert len(renderer._inflight) == 1  # noqa: SLF001 - the single flight is the point
        return await asyncio.gather(*tasks)

    results = asyncio.run(many())
    assert len(set(results)) == 1 and results[0] and results[0].startswith("<svg")
    assert renderer._inflight == {}  # noqa: SLF001


def test_keeps_only_the_most_recent_charts(renderer: ChartRenderer) -> None:
    keys = [lora_chart_key(1024, 1024, r) for r in (1, 2, 3)]
    for key in keys:
        renderer.render_sync(key)
    assert renderer.cached(keys[0]) is None
    assert renderer.cached(keys[1]) is not None and renderer.cached(keys[2]) is not None


def test_a_chart_that_cannot_be_drawn_is_none(renderer: ChartRenderer) -> None:
    assert renderer.render_sync(("no-such-chart", ())) is None
