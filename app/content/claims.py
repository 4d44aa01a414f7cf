"""Checking a computed number in the prose against what computes it (see `plugins.claims`).

A number is written as the reader sees it (`0.278`, `36.6 GB`, `97.5%`); it holds when
the computed value rounds to it at the precision written (half a unit in its last
digit). A snippet's number must be among the numbers its `#| expect:` lines promise
(a percentage may be a fraction there: 97.5% is 0.975); `textbook check` runs the
snippet and fails when those lines are not printed. An instrument's number is its
result's ``figure`` with the span's settings over the placed instrument's params.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from app.content.instrument_links import result_figure
from app.content.model import Claim, InstrumentRef, Snippet
from app.instruments.catalog import CATALOG

__all__ = ["claim_problems", "written_number"]

_NUMBER = re.compile(r"[-+−]?\d[\d,]*(?:\.(\d+))?")
# A number standing on its own in printed output: not the 4 of "Q4_K" or the 70 of "70B".
_PRINTED = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?![\w.])")


def written_number(text: str) -> tuple[float, float, bool] | None:
    """(value, half a unit of its last digit, followed by %) of the first number in ``text``."""
    match = _NUMBER.search(text)
    if match is None:
        return None
    value = float(match.group(0).replace(",", "").replace("−", "-"))
    decimals = len(match.group(1) or "")
    percent = text[match.end() :].lstrip().startswith("%")
    return value, 0.5 * 10.0**-decimals, percent


def _holds(computed: float, value: float, half_unit: float) -> bool:
    return abs(computed - value) <= half_unit * (1 + 1e-9) + 1e-12


def _printed_numbers(snippet: Snippet) -> list[float]:
    return [float(m.group(0)) for line in snippet.expect for m in _PRINTED.finditer(line)]


def claim_problems(claim: Claim, snippets: Mapping[str, Snippet], refs: Mapping[str, InstrumentRef]) -> list[str]:
    where = f"computed number '{claim.text}'"
    written = written_number(claim.text)
    if written is None:
        return [f"{where}: holds no number"]
    value, half_unit, percent = written
    if claim.source == "snippet":
        snippet = snippets.get(claim.source_id)
        if snippet is None:
            return [f"{where}: no snippet '{claim.source_id}' in this chapter (ids: {', '.join(snippets) or 'none'})"]
        printed = _printed_numbers(snippet)
        candidates = printed + ([100 * x for x in printed] if percent else [])
        if not any(_holds(x, value, half_unit) for x in candidates):
            return [f"{where}: snippet '{snippet.id}' promises no such number on its '#| expect:' lines"]
        return []
    ref = refs.get(claim.source_id)
    if ref is None:
        return [f"{where}: no instrument '{claim.source_id}' in this chapter (ids: {', '.join(refs) or 'none'})"]
    try:
        _, result = CATALOG[ref.name].run({**ref.params, **dict(claim.settings)})
        computed = result_figure(result, claim.figure) * claim.scale
    except (ValueError, AttributeError, KeyError, TypeError, IndexError) as exc:
        return [f"{where}: instrument '{ref.id}': {exc}"]
    if not _holds(computed, value, half_unit):
        figure = "+".join(claim.figure).replace("+-", "-") + (f" x {claim.scale:g}" if claim.scale != 1 else "")
        return [f"{where}: instrument '{ref.id}' shows {computed:.6g} for {figure}"]
    return []
