"""Chart keys: the small, hashable, picklable values a chart is drawn from.

An instrument's spec maps its result to a key; the renderer process
(``chart_renderer``) draws the key with ``charts.render_chart`` and caches the SVG
by it. Building a key needs no matplotlib, so the web layer stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.instruments.lora import count_matrix
from app.instruments.nf4 import Nf4Report
from app.instruments.quant_error import QuantErrorReport
from app.instruments.vram import METHODS, VramEstimate

__all__ = [
    "ChartKey",
    "LoraKey",
    "Nf4Key",
    "QuantErrorKey",
    "VramKey",
    "lora_chart_key",
    "nf4_chart_key",
    "quant_error_chart_key",
    "vram_chart_key",
    "vram_key",
]

# (kind, the values the chart draws)
ChartKey = tuple[str, tuple[Any, ...]]
VramKey = tuple[str, tuple[tuple[str, float], ...], str | None]
Nf4Key = tuple[tuple[float, ...], tuple[float, ...]]
LoraKey = tuple[int, int, int]
# (curves: (method, bits per weight, output error), the NF4 point, the chosen bit width,
#  outlier channels, outlier scale)
QuantErrorKey = tuple[
    tuple[tuple[str, tuple[float, ...], tuple[float, ...]], ...], tuple[float, float], int, int, float
]


def vram_key(estimates: Mapping[str, VramEstimate], highlight: str | None) -> VramKey:
    methods = [m for m in METHODS if m in estimates]
    if not methods:
        raise ValueError("vram_chart needs at least one estimate")
    name = estimates[methods[0]].display_name
    # Rounded to 10 MB: finer differences cannot show on a log axis, and
    # rounding lets equal-looking states share one cache entry.
    totals = tuple((m, round(estimates[m].total_gb, 2)) for m in methods)
    return name, totals, highlight if highlight in methods else None


def vram_chart_key(estimates: Mapping[str, VramEstimate], *, highlight: str | None = None) -> ChartKey:
    return ("vram", vram_key(estimates, highlight))


def nf4_chart_key(report: Nf4Report) -> ChartKey:
    return ("nf4", (tuple(report.levels_seed), tuple(report.levels_nf4)))


def lora_chart_key(d_in: int, d_out: int, r: int) -> ChartKey:
    checked = count_matrix(d_in, d_out, r)  # validates: a key is only made of legal values
    return ("lora", (checked.d_in, checked.d_out, checked.r))


def quant_error_chart_key(report: QuantErrorReport) -> ChartKey:
    nf4 = report.method("nf4")
    point = (round(nf4.bits_per_weight, 4), float(f"{nf4.output_error:.4g}"))
    return ("quant-error", (report.sweep, point, report.bits, report.outlier_channels, report.outlier_scale))
