"""How the instruments print numbers, in the chapter's style.

One place decides "0.39%", "8,192" and "1.12 TB", so the sentences, the tables
and the chart labels never disagree about the same number.
"""

from __future__ import annotations

import math

__all__ = ["format_count", "format_gb", "format_percent"]


def format_count(value: int) -> str:
    """``8192 -> "8,192"``: the chapter groups thousands with commas."""
    return f"{value:,}"


def format_percent(percent: float) -> str:
    """A percentage with two decimals, or two significant digits below 0.1%.

    Two decimals match the chapter ("0.39%"); below 0.1% they would round a
    real rank-1 adapter to "0.01%" or "0.00%", so small values keep two
    significant digits instead ("0.012%").
    """
    if percent == 0:
        return "0%"
    if abs(percent) >= 0.1:
        return f"{percent:,.2f}%"
    decimals = 1 - math.floor(math.log10(abs(percent)))
    return f"{percent:.{decimals}f}%"


def format_gb(gb: float) -> str:
    """Decimal gigabytes as a reader says them: "6.8 GB", "112 GB", "1.12 TB"."""
    if gb >= 1000:
        return f"{gb / 1000:.2f} TB"
    if gb >= 100:
        return f"{gb:.0f} GB"
    if gb >= 10:
        return f"{gb:.1f} GB"
    return f"{gb:.2f} GB"
