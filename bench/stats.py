"""Timing helpers: medians and percentiles of repeated requests, and ratio tables."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def time_calls(call: Callable[[], object], repeats: int, warmup: int = 5) -> list[float]:
    """Milliseconds per call, after a warm-up; interleave baselines with `interleaved`."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def interleaved(calls: dict[str, Callable[[], object]], repeats: int, warmup: int = 5) -> dict[str, list[float]]:
    """Time several calls in alternation so machine noise hits them all alike."""
    for call in calls.values():
        for _ in range(warmup):
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - start) * 1000)
    return samples


def table(rows: list[tuple[str, list[float]]], baseline: str) -> str:
    """A text table of p50/p90 per row and each row's p50 as a ratio of the baseline's."""
    base = statistics.median(dict(rows)[baseline])
    lines = [f"{'case':44s} {'p50 ms':>9s} {'p90 ms':>9s} {'ratio p50':>10s}"]
    for name, samples in rows:
        p50 = statistics.median(samples)
        lines.append(f"{name:44s} {p50:9.2f} {percentile(samples, 90):9.2f} {p50 / base:9.2f}x")
    return "\n".join(lines)
