"""An instrument as the page shows it: its settings, its results (or the error), its chart.

Everything instrument-specific comes from its spec (`app.instruments.spec`): which
fields are multi-valued, how a value is written into a URL, the chart key. Fields
travel in forms and URLs prefixed by the instrument's id (`lora-counter.r=16`), so
one chapter URL can hold the state of every instrument.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from app.content.model import InstrumentRef
from app.instruments.catalog import CATALOG
from app.instruments.chart_keys import ChartKey
from app.instruments.chart_renderer import ChartRenderer
from app.instruments.errors import InstrumentInputError
from app.instruments.spec import InstrumentSpec, Params


@dataclass(frozen=True)
class InstrumentView:
    ref: InstrumentRef
    spec: InstrumentSpec
    params: Params
    result: Any | None
    error: InstrumentInputError | None
    chart_key: ChartKey | None = None
    chart_svg: str | None = None  # None with a chart_key: not drawn yet, the page fetches it

    @property
    def status_code(self) -> int:
        return self.error.status if self.error else 200


def spec_of(ref: InstrumentRef) -> InstrumentSpec:
    return CATALOG[ref.name]


def compute_view(ref: InstrumentRef, raw: Mapping[str, Any], charts: ChartRenderer) -> InstrumentView:
    """Settings -> results, with the chart if it is already drawn (see `drawn`)."""
    spec = spec_of(ref)
    shown = {**spec.defaults, **ref.params, **raw}
    try:
        params, result = spec.run({**ref.params, **raw})
    except InstrumentInputError as error:
        return InstrumentView(ref=ref, spec=spec, params=shown, result=None, error=error)
    key = spec.chart(result)
    svg = charts.cached(key) if key is not None else None
    return InstrumentView(ref=ref, spec=spec, params=params, result=result, error=None, chart_key=key, chart_svg=svg)


async def drawn(view: InstrumentView, charts: ChartRenderer, *, keep: bool = False) -> InstrumentView:
    """The view with its chart, awaiting the renderer if it is not drawn yet (for whole pages)."""
    if view.chart_svg is not None or view.chart_key is None:
        return view
    return replace(view, chart_svg=await charts.render(view.chart_key, keep=keep))


def initial_view(ref: InstrumentRef, charts: ChartRenderer) -> InstrumentView:
    """The instrument as the chapter sets it; its chart was drawn and kept at startup."""
    return compute_view(ref, {}, charts)


def fields_for(ref: InstrumentRef, pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """This instrument's fields from (name, value) pairs; multi-valued settings become lists."""
    spec = spec_of(ref)
    prefix = f"{ref.id}."
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if not name.startswith(prefix):
            continue
        key = name[len(prefix) :]
        setting = spec.setting(key)
        if setting is not None and setting.multi_valued:
            # A link carries "q_proj,v_proj"; a form sends one checkbox value each.
            fields.setdefault(key, []).extend(part for part in value.split(",") if part.strip())
        else:
            fields[key] = value  # hidden "0" then checkbox "1": the last one wins
    return fields


async def view_from_pairs(
    ref: InstrumentRef, pairs: Iterable[tuple[str, str]], charts: ChartRenderer
) -> InstrumentView | None:
    """The whole-page view for submitted fields, or None when none of them are this instrument's."""
    fields = fields_for(ref, pairs)
    return await drawn(compute_view(ref, fields, charts), charts) if fields else None


def state_query(ref: InstrumentRef, params: Params, current_url: str | None) -> str:
    """The chapter URL's query with this instrument's settings replaced, others kept."""
    spec = spec_of(ref)
    prefix = f"{ref.id}."
    kept = [
        (k, v)
        for k, v in parse_qsl(urlsplit(current_url).query if current_url else "", keep_blank_values=True)
        if not k.startswith(prefix)
    ]
    own: list[tuple[str, str]] = []
    for key, value in params.items():
        setting = spec.setting(key)
        own.append((prefix + key, setting.text(value) if setting is not None else str(value)))
    return urlencode(kept + own)
