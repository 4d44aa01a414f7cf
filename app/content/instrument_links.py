"""Solutions that open the instrument: an exercise's link to the instrument state that shows its answer.

    instrument:
      id: lora-counter                 # an instrument placed in the same chapter
      settings: {d_in: "{{ d }}", d_out: "{{ d }}", r: "{{ r }}"}
      figure: matrix.lora_params       # the result attribute that shows the answer
      label: LoRA parameters           # how the highlighted figure is named
      unit: ""                         # the figure's unit as a student would type it (default: the answer's)

``figure`` is a dotted attribute of the instrument's result, or a list of them that
are added (the 7B states: weights + gradients + optimizer states); a tuple is read as
its length (the NF4 levels). Settings may name the exercise's parameters, so a
practice variant links to its own numbers. The link is the chapter's URL state, the
same one the sliders push (``lora-counter.r=16``), plus ``highlight=<exercise id>``: the
instrument then shows that figure highlighted in its readout.

`textbook check` (``link_problems``) runs the instrument with the link's settings and
fails when the figure, read as a typed answer, is not graded correct.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from app.content.model import InstrumentLink, InstrumentRef
from app.exercises.grading import AnswerKey, format_expected, grade_answer
from app.exercises.spec import AnswerSpecError, key_unit
from app.exercises.units import format_value
from app.exercises.variants import fill
from app.instruments.catalog import CATALOG

__all__ = [
    "linked_answer",
    "HIGHLIGHT",
    "LinkedFigure",
    "figure_value",
    "highlighted_figure",
    "link_problems",
    "link_query",
    "read_link",
    "result_figure",
]

HIGHLIGHT = "highlight"


@dataclass(frozen=True)
class LinkedFigure:
    """What a followed link shows: the figure's label and value, formatted as the answer is."""

    label: str
    value: str


def read_link(raw: object) -> InstrumentLink:
    if not isinstance(raw, Mapping):
        raise AnswerSpecError("'instrument' must be a mapping with id, settings and figure")
    unknown = sorted(set(raw) - {"id", "settings", "figure", "label", "unit"})
    if unknown:
        raise AnswerSpecError(
            f"instrument link: unknown field {unknown[0]!r} (allowed: figure, id, label, settings, unit)"
        )
    instrument_id, settings, figure = raw.get("id"), raw.get("settings", {}), raw.get("figure")
    if not isinstance(instrument_id, str) or not instrument_id:
        raise AnswerSpecError("instrument link: 'id' must name an instrument placed in this chapter")
    if not isinstance(settings, Mapping):
        raise AnswerSpecError("instrument link: 'settings' must be a mapping of the instrument's settings")
    paths = [figure] if isinstance(figure, str) else figure
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
        raise AnswerSpecError("instrument link: 'figure' must be a result attribute (or a list of them, added)")
    unit = raw.get("unit")
    return InstrumentLink(
        instrument_id=instrument_id,
        settings=tuple((str(k), v) for k, v in settings.items()),
        figure=tuple(paths),
        label=str(raw.get("label") or paths[0]),
        unit=None if unit is None else str(unit),
    )


def _settings(link: InstrumentLink, ref: InstrumentRef, params: Mapping[str, float]) -> dict[str, Any]:
    filled = {k: fill(v, params) if isinstance(v, str) else v for k, v in link.settings}
    return {**ref.params, **filled}


def _attribute(result: Any, path: str) -> float:
    value = result
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value[part]
        elif isinstance(value, (tuple, list)) and part.isdigit():
            value = value[int(part)]
        else:
            value = getattr(value, part)
    if isinstance(value, (tuple, list)):
        return float(len(value))
    return float(value)


def result_figure(result: Any, paths: tuple[str, ...]) -> float:
    """The figure an instrument's result shows: its attributes at ``paths`` (dotted; an index into a tuple), added;
    a path written ``-name`` is subtracted."""
    return sum(-_attribute(result, path[1:]) if path.startswith("-") else _attribute(result, path) for path in paths)


def figure_value(link: InstrumentLink, ref: InstrumentRef, params: Mapping[str, float]) -> float:
    """The figure the instrument shows with the link's settings (raises on bad settings or paths)."""
    _, result = CATALOG[ref.name].run(_settings(link, ref, params))
    return result_figure(result, link.figure)


def link_query(link: InstrumentLink, ref: InstrumentRef, params: Mapping[str, float], exercise_id: str) -> str:
    """The chapter URL's query that opens the instrument with the link's settings and highlights the figure."""
    spec = CATALOG[ref.name]
    normalized, _ = spec.run(_settings(link, ref, params))
    pairs = []
    for name, value in normalized.items():
        setting = spec.setting(name)
        pairs.append((f"{ref.id}.{name}", setting.text(value) if setting else str(value)))
    pairs.append((HIGHLIGHT, exercise_id))
    return urlencode(pairs)


def _typed(value: float, link: InstrumentLink, key: AnswerKey) -> str:
    unit = key.unit if link.unit is None else link.unit
    return f"{value:.10g} {unit or ''}".strip()


def linked_answer(link: InstrumentLink, ref: InstrumentRef, variant: Any) -> str:
    """The figure the link shows for a variant (its params), typed as a student would answer."""
    return _typed(figure_value(link, ref, variant.params), link, variant.answer_key)


def highlighted_figure(link: InstrumentLink, result: Any, key: AnswerKey) -> LinkedFigure:
    """The linked figure of an instrument's current result, formatted as the answer is written."""
    value = result_figure(result, link.figure)
    if link.unit not in (None, key.unit):
        return LinkedFigure(link.label, f"{value:,.10g} {link.unit}".strip())
    return LinkedFigure(link.label, format_value(value, key_unit(key), key.quantity))


def link_problems(
    link: InstrumentLink, refs: Mapping[str, InstrumentRef], key: AnswerKey, params: Mapping[str, float]
) -> list[str]:
    ref = refs.get(link.instrument_id)
    if ref is None:
        return [
            f"instrument link: no instrument '{link.instrument_id}' in this chapter (ids: {', '.join(refs) or 'none'})"
        ]
    try:
        value = figure_value(link, ref, params)
        link_query(link, ref, params, "check")
    except (ValueError, AttributeError, KeyError, TypeError) as exc:
        return [f"instrument link to '{ref.id}': {exc}"]
    typed = _typed(value, link, key)
    if grade_answer(key, typed).verdict != "correct":
        return [f"instrument link to '{ref.id}': its settings show {typed}, not the answer {format_expected(key)}"]
    return []
