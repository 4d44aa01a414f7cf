"""The instruments' charts, rendered server-side as inline SVG strings.

Built on ``matplotlib.figure.Figure`` directly, never pyplot: pyplot keeps
global figure state, which a threaded server must not share. Figures are
7 inches wide, which ``svg.figure_to_svg`` ships as 504 pt = 672 CSS px, sized
for the chapter's ~700 px column. Theming, determinism and accessibility are
``svg.py``'s job.

Each chart is drawn from a small key (``chart_keys``) built from exactly the values
it draws. Caching is the renderer process's job (``chart_renderer.ChartRenderer``,
which keeps drawn SVGs by key); nothing here memoizes.

The two charts a slider redraws (VRAM, LoRA) keep their figure between states: a
"sketch" builds the parts no setting changes once (axes, ticks, labels, reference
lines) and each state only updates what it changes (bar lengths, the mark, the
texts, the limits) before saving. Building a figure and its ticks was a third of a
render. Every state sets everything that depends on it, so a state renders to the
same bytes whatever was drawn before it (tests/instruments/test_instrument_charts.py).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from statistics import NormalDist
from typing import Any, Protocol

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from app.instruments.chart_keys import (
    ChartKey,
    LoraKey,
    Nf4Key,
    QuantErrorKey,
    VramKey,
    lora_chart_key,
    nf4_chart_key,
    quant_error_chart_key,
    vram_chart_key,
    vram_key,
)
from app.instruments.formatting import format_gb, format_percent
from app.instruments.lora import count_matrix
from app.instruments.nf4 import NF4_OFFSET, SEED_DELTA, Nf4Report
from app.instruments.quant_error import METHOD_LABELS as QUANT_METHOD_LABELS
from app.instruments.quant_error import QuantErrorReport
from app.instruments.svg import INK, figure_to_svg
from app.instruments.vram import CARDS, METHOD_LABELS, VramEstimate

__all__ = [
    "ChartKey",
    "lora_chart",
    "lora_chart_key",
    "nf4_chart",
    "nf4_chart_key",
    "quant_error_chart",
    "quant_error_chart_key",
    "render_chart",
    "vram_chart",
    "vram_chart_key",
]

WIDTH_IN = 7.0
FONT_SIZE = 10
# Okabe-Ito mid tones: distinguishable with color-blindness, ~3:1 on light and dark.
METHOD_COLORS = {"full": "#D55E00", "lora": "#E69F00", "qlora": "#009E73"}
NF4_COLOR = "#56B4E9"
SEED_COLOR = "#E69F00"
CURVE_COLOR = "#CC79A7"

_NORMAL = NormalDist()


def _new_figure(
    height_in: float, *, left_in: float, bottom_in: float = 0.55, top_in: float = 0.45
) -> tuple[Figure, Axes]:
    # Fixed margins (in inches) rather than constrained layout, which draws every chart
    # twice to measure it: half the render time, on the path of every slider move.
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=100)
    fig.subplots_adjust(
        left=left_in / WIDTH_IN, right=1 - 0.25 / WIDTH_IN, bottom=bottom_in / height_in, top=1 - top_in / height_in
    )
    ax = fig.add_subplot()
    ax.tick_params(colors=INK, labelcolor=INK, labelsize=FONT_SIZE - 1)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    for spine in ("left", "bottom"):
        ax.spines[spine].set_color(INK)
    return fig, ax


class _Sketch(Protocol):
    def draw(self, key: Any) -> str: ...


_sketches: dict[tuple[Any, ...], tuple[threading.Lock, _Sketch]] = {}
_sketches_lock = threading.Lock()


def _draw_kept(name: tuple[Any, ...], build: Callable[[], _Sketch], key: Any) -> str:
    """Draw `key` on this process's kept figure `name` (built on first use), one state at a time."""
    with _sketches_lock:
        if name not in _sketches:
            _sketches[name] = (threading.Lock(), build())
        lock, sketch = _sketches[name]
    with lock:  # a figure is one mutable object
        return sketch.draw(key)


# ---- VRAM: totals per method against common cards -------------------------


def _decade_label(gb: float, _pos: int) -> str:
    return f"{gb / 1000:g} TB" if gb >= 1000 else f"{gb:g} GB"


class _VramSketch:
    """The VRAM chart for one set of methods: bars per method against the common cards."""

    def __init__(self, methods: tuple[str, ...]) -> None:
        self.fig, ax = _new_figure(2.9, left_in=1.25, top_in=0.6)
        self.ax = ax
        ax.set_xscale("log")
        rows = list(range(len(methods)))[::-1]  # first method on top
        self.bars: dict[str, Rectangle] = {}
        self.labels: dict[str, Text] = {}
        for row, method in zip(rows, methods, strict=True):
            bar = ax.barh(row, 1.0, left=1.0, height=0.6, color=METHOD_COLORS[method]).patches[0]
            bar.set_gid(f"bar-{method}")
            self.bars[method] = bar
            self.labels[method] = ax.text(1.0, row, "", va="center", ha="left", color=INK, fontsize=FONT_SIZE)
        ax.set_yticks(rows, [METHOD_LABELS[m] for m in methods])
        ax.tick_params(axis="y", length=0)
        for card in CARDS:
            line = ax.axvline(card.memory_gb, color=INK, linestyle=(0, (4, 3)), linewidth=1, alpha=0.6)
            line.set_gid(f"card-{card.memory_gb:g}")
            # Above the plot, not inside it, so labels never cross a bar.
            ax.text(
                card.memory_gb,
                1.02,
                f"{card.memory_gb:g} GB",
                va="bottom",
                ha="center",
                color=INK,
                fontsize=FONT_SIZE - 2,
                transform=ax.get_xaxis_transform(),
            )
        ax.xaxis.set_major_locator(FixedLocator([1, 10, 100, 1000, 10000]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(_decade_label))
        ax.set_xlabel("peak GPU memory for one training step (log scale)", color=INK, fontsize=FONT_SIZE)
        self.title = ax.set_title("", color=INK, fontsize=FONT_SIZE + 1, loc="left", y=1.0, pad=16)

    def draw(self, key: VramKey) -> str:
        name, totals, highlight = key
        values = [gb for _, gb in totals]
        card_sizes = [card.memory_gb for card in CARDS]
        low = min(min(values), min(card_sizes)) / 1.8
        high = max(max(values), max(card_sizes)) * 2.2
        self.ax.set_xlim(low, high)
        for method, gb in totals:
            dimmed = highlight is not None and method != highlight
            bar, label = self.bars[method], self.labels[method]
            bar.set_x(low)
            bar.set_width(gb - low)
            bar.set_alpha(0.45 if dimmed else 1.0)
            label.set_x(gb * 1.08)
            label.set_text(format_gb(gb))
            label.set_fontweight("normal" if dimmed else "bold")
        title = f"Will it fine-tune? {name}"
        self.title.set_text(title)
        spoken = "; ".join(f"{METHOD_LABELS[m]} {format_gb(gb)}" for m, gb in totals)
        cards = ", ".join(f"{card.memory_gb:g}" for card in CARDS)
        description = (
            f"Horizontal bars on a logarithmic axis: estimated training memory of {name} by method. "
            f"{spoken}. Dashed vertical lines mark {cards} GB cards."
        )
        return figure_to_svg(self.fig, kind="vram", key=repr(key), title=title, description=description)


def _render_vram(key: VramKey) -> str:
    methods = tuple(method for method, _ in key[1])
    return _draw_kept(("vram", methods), lambda: _VramSketch(methods), key)


def vram_chart(estimates: Mapping[str, VramEstimate], *, highlight: str | None = None) -> str:
    """Bars of each method's total for one model, with the common cards marked.

    ``estimates`` maps method to estimate (``vram.estimate_methods``'s output);
    ``highlight`` draws that method solid and the others faded.
    """
    return _render_vram(vram_key(estimates, highlight))


# ---- NF4: the levels over the density they are quantiles of ---------------


def _render_nf4(key: Nf4Key) -> str:
    levels_seed, levels_nf4 = key
    fig, ax = _new_figure(3.2, left_in=0.65)
    xs = np.linspace(-3, 3, 241)
    pdf = np.exp(-(xs**2) / 2) / math.sqrt(2 * math.pi)
    (curve,) = ax.plot(xs, pdf, color=CURVE_COLOR, linewidth=1.5, label="N(0, 1) density")
    curve.set_gid("density")
    # Each codebook is normalized by its own outermost quantile; multiplying by
    # that quantile puts both back on the sigma axis where the density lives.
    nf4_x = np.asarray(levels_nf4) * _NORMAL.inv_cdf(NF4_OFFSET)
    seed_x = np.asarray(levels_seed) * _NORMAL.inv_cdf(1 - SEED_DELTA)
    nf4_y = np.exp(-(nf4_x**2) / 2) / math.sqrt(2 * math.pi)
    stems = ax.vlines(nf4_x, 0, nf4_y, color=NF4_COLOR, linewidth=1, alpha=0.7)
    stems.set_gid("levels-nf4-stems")
    (nf4_marks,) = ax.plot(
        nf4_x, nf4_y, linestyle="none", marker="o", markersize=5, color=NF4_COLOR, label="NF4 (bitsandbytes), 16 levels"
    )
    nf4_marks.set_gid("levels-nf4")
    (seed_marks,) = ax.plot(
        seed_x,
        np.full_like(seed_x, -0.04),
        linestyle="none",
        marker="|",
        markersize=12,
        markeredgewidth=1.6,
        color=SEED_COLOR,
        label="EQ 6.2, δ = 0.03, 16 levels",
    )
    seed_marks.set_gid("levels-seed")
    ax.axhline(0, color=INK, linewidth=0.8, alpha=0.6)
    ax.set_xlim(-3, 3)
    ax.set_ylim(-0.08, 0.45)
    ax.set_yticks([0, 0.1, 0.2, 0.3, 0.4])
    ax.set_xlabel("weight ÷ block scale, in standard deviations", color=INK, fontsize=FONT_SIZE)
    ax.set_ylabel("density", color=INK, fontsize=FONT_SIZE)
    title = "NF4 levels sit at quantiles of a Gaussian"
    ax.set_title(title, color=INK, fontsize=FONT_SIZE + 1, loc="left", y=1.0)
    legend = ax.legend(loc="upper right", fontsize=FONT_SIZE - 1, frameon=False, labelcolor=INK)
    legend.set_gid("legend")
    description = (
        "The standard normal density from -3 to 3 standard deviations. Sixteen NF4 levels are "
        "drawn as dots on the curve, dense near zero and sparse in the tails, with an exact zero "
        "and one more positive level than negative. Below the axis, sixteen ticks mark the "
        "chapter's symmetric EQ 6.2 levels, which have no zero."
    )
    return figure_to_svg(fig, kind="nf4", key=repr(key), title=title, description=description)


def nf4_chart(report: Nf4Report) -> str:
    """The 16 EQ 6.2 levels and the 16 NF4 levels over the N(0, 1) density."""
    return _render_nf4(nf4_chart_key(report)[1])


# ---- LoRA: trainable fraction against rank --------------------------------


class _LoraSketch:
    """The LoRA chart: trainable share against rank on log-log axes, the current rank marked."""

    RANKS = np.arange(1, 257)

    def __init__(self) -> None:
        self.fig, ax = _new_figure(2.9, left_in=0.8)
        self.ax = ax
        (self.curve,) = ax.plot(self.RANKS, np.ones(len(self.RANKS)), color=NF4_COLOR, linewidth=1.8)
        self.curve.set_gid("fraction-curve")
        (self.mark,) = ax.plot([1], [1], linestyle="none", marker="o", markersize=7, color=METHOD_COLORS["full"])
        self.mark.set_gid("current-rank")
        self.note = ax.annotate("", (1, 1), xytext=(10, -16), textcoords="offset points", color=INK, fontsize=FONT_SIZE)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.yaxis.set_minor_locator(NullLocator())  # minor log ticks add clutter and half the draw time
        ax.xaxis.set_major_locator(FixedLocator([1, 2, 4, 8, 16, 32, 64, 128, 256]))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}"))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: f"{y:g}%"))
        ax.set_xlabel("rank r", color=INK, fontsize=FONT_SIZE)
        ax.set_ylabel("trainable % of the matrix", color=INK, fontsize=FONT_SIZE)
        self.title = ax.set_title("", color=INK, fontsize=FONT_SIZE + 1, loc="left", y=1.0)

    def draw(self, key: LoraKey) -> str:
        d_in, d_out, r = key
        percent = 100 * self.RANKS * (d_in + d_out) / (d_in * d_out)
        self.curve.set_ydata(percent)
        current = count_matrix(d_in, d_out, r)
        self.mark.set_data([r], [current.trainable_percent])
        # The line rises to the right, so below-right and above-left of the mark are
        # clear of it; the y-limits leave a factor of 4 of room for either.
        low_rank = r <= 32
        self.note.set_text(f"r = {r}: {format_percent(current.trainable_percent)}")
        self.note.xy = (r, current.trainable_percent)
        self.note.xyann = (10, -16) if low_rank else (-10, 8)
        self.note.set_horizontalalignment("left" if low_rank else "right")
        self.ax.set_ylim(percent[0] / 4, percent[-1] * 4)
        shape = f"d = {d_in:,}" if d_in == d_out else f"{d_in:,} × {d_out:,}"
        title = f"LoRA trainable fraction at {shape}"
        self.title.set_text(title)
        description = (
            f"A straight line on log-log axes: the trainable share r(d_in + d_out)/(d_in d_out) "
            f"grows in proportion to rank, from {format_percent(percent[0])} at rank 1 to "
            f"{format_percent(percent[-1])} at rank 256. The current rank {r} is marked at "
            f"{format_percent(current.trainable_percent)}."
        )
        return figure_to_svg(self.fig, kind="lora", key=repr(key), title=title, description=description)


def _render_lora(key: LoraKey) -> str:
    return _draw_kept(("lora",), _LoraSketch, key)


def lora_chart(d_in: int, d_out: int, r: int) -> str:
    """Trainable fraction against rank for one projection, the current rank marked."""
    return _render_lora(lora_chart_key(d_in, d_out, r)[1])  # the key validates first


# ---- Quantization error: output error against bits per weight ------------

QUANT_COLORS = {"per-tensor": "#D55E00", "per-channel": "#E69F00", "per-group": "#009E73", "nf4": "#56B4E9"}
QUANT_MARKERS = {"per-tensor": "s", "per-channel": "^", "per-group": "o", "nf4": "D"}


def _render_quant_error(key: QuantErrorKey) -> str:
    curves, (nf4_bits, nf4_error), bits, outliers, outlier_scale = key
    fig, ax = _new_figure(3.4, left_in=0.8)
    spoken = []
    for method, xs, ys in curves:
        (line,) = ax.plot(
            xs,
            ys,
            color=QUANT_COLORS[method],
            marker=QUANT_MARKERS[method],
            markersize=4,
            linewidth=1.5,
            label=QUANT_METHOD_LABELS[method],
        )
        line.set_gid(f"curve-{method}")
        index = round(bits) - 2
        (mark,) = ax.plot(
            [xs[index]],
            [ys[index]],
            linestyle="none",
            marker=QUANT_MARKERS[method],
            markersize=9,
            markerfacecolor="none",
            markeredgewidth=1.6,
            color=QUANT_COLORS[method],
        )
        mark.set_gid(f"current-{method}")
        spoken.append(f"{QUANT_METHOD_LABELS[method]} {100 * ys[index]:.1f}% at {xs[index]:.2f} bits")
    (nf4,) = ax.plot(
        [nf4_bits],
        [nf4_error],
        linestyle="none",
        marker=QUANT_MARKERS["nf4"],
        markersize=8,
        color=QUANT_COLORS["nf4"],
        label=QUANT_METHOD_LABELS["nf4"],
    )
    nf4.set_gid("point-nf4")
    spoken.append(f"NF4 {100 * nf4_error:.1f}% at {nf4_bits:.2f} bits")
    ax.set_yscale("log")
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_locator(FixedLocator([0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _pos: f"{100 * y:g}%"))
    ax.set_ylim(0.008, 1.3)
    ax.set_xlim(1.7, 8.6)
    ax.xaxis.set_major_locator(FixedLocator([2, 3, 4, 5, 6, 7, 8]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("bits per weight, scales included", color=INK, fontsize=FONT_SIZE)
    ax.set_ylabel("matmul output error (log)", color=INK, fontsize=FONT_SIZE)
    shown = (
        f"{outliers} outlier channel{'s' if outliers != 1 else ''} ×{outlier_scale:g}" if outliers else "no outliers"
    )
    title = f"Quantization error against bits per weight ({shown})"
    ax.set_title(title, color=INK, fontsize=FONT_SIZE + 1, loc="left", y=1.0)
    legend = ax.legend(loc="upper right", fontsize=FONT_SIZE - 1, frameon=False, labelcolor=INK)
    legend.set_gid("legend")
    description = (
        "Relative error of a matmul's output against bits per weight on a logarithmic axis, for absmax quantization "
        f"per tensor, per channel and per group, at 2 to 8 bits, and NF4 at 4 bits; circled: {bits} bits. "
        + "; ".join(spoken)
        + "."
    )
    return figure_to_svg(fig, kind="quant-error", key=repr(key), title=title, description=description)


def quant_error_chart(report: QuantErrorReport) -> str:
    """Output error against bits per weight for each scaling method, the chosen bit width circled."""
    return _render_quant_error(quant_error_chart_key(report)[1])


# ---- drawing a key (what the renderer process runs) ------------------------

RENDERERS: dict[str, Callable[[Any], str]] = {
    "vram": _render_vram,
    "nf4": _render_nf4,
    "lora": _render_lora,
    "quant-error": _render_quant_error,
}


def render_chart(chart: ChartKey) -> str:
    """Render a chart from its key: what the renderer process runs."""
    kind, key = chart
    return RENDERERS[kind](key)
