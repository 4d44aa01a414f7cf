"""What an instrument is, in one place: its settings, what it computes, its chart, its API.

An ``InstrumentSpec`` is the whole description of an instrument. The web layer
derives everything else from it and knows no instrument by name:

* the controls (``groups`` of ``Setting``s: a slider for a number with a range,
  a select or radio group for choices, checkboxes for an on/off or a multi-valued
  setting), their ranges and labels;
* form parsing and URL state (``Setting.multi_valued``, ``Setting.as_text``);
* the results (``results_template``, or the generic readouts of ``readouts``);
* the chart (``chart_key``, a small key the renderer process draws);
* the JSON API (``api``: each route's path, its query parameters taken from the
  settings, and its response, a result dataclass or a projection of one).

Everything here is pure: no FastAPI, no Jinja. ``compute`` validates its own
input and raises ``InstrumentInputError`` (field + message) on bad input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from app.instruments.errors import InstrumentInputError

__all__ = [
    "REQUIRED",
    "SPEC_DEFAULT",
    "ApiParam",
    "ApiRoute",
    "Choice",
    "InstrumentSpec",
    "Params",
    "Readout",
    "Setting",
    "SettingGroup",
]

Params = dict[str, Any]
SettingKind = Literal["int", "float", "choice", "bool", "text"]
Widget = Literal["slider", "select", "radio", "checkbox", "checkboxes"]
ReadoutFormat = Literal["thousands", "percent", "gb", "number", "text"]


@dataclass(frozen=True, slots=True)
class Choice:
    value: str | int
    label: str


@dataclass(frozen=True)
class Setting:
    """One setting of an instrument: how it is typed, bounded, labelled and shown.

    ``kind`` is its type: ``int``/``float`` (with ``range`` and ``step``), ``choice``
    (one of ``choices``), ``bool`` or ``text``. ``multi_valued`` settings arrive as
    several form values (checkboxes) or one comma list (a link) and become a list.
    ``widget`` defaults from the kind. ``as_text`` writes a value into a URL (by
    default ``str``; booleans as 1/0, lists joined by commas).
    """

    name: str
    label: str
    default: Any
    kind: SettingKind = "int"
    range: tuple[float, float] | None = None
    step: float = 1
    slider_step: float | None = None  # the slider's coarser step; the number box keeps `step`
    unit: str = ""
    choices: tuple[Choice, ...] = ()
    multi_valued: bool = False
    widget: Widget | None = None
    help: str = ""  # a sentence under the control
    all_value: str | None = None  # a multi-valued setting's word for "every choice" (checkboxes all ticked)
    show_name: bool = True  # a radio group's name before its options (off when the legend says it)
    aria_label: str = ""  # a group of options' accessible name, when it should differ from the label
    api_description: str = ""
    api_pattern: str | None = None  # for text: the regular expression the API documents
    as_text: Callable[[Any], str] | None = None

    @property
    def control(self) -> Widget:
        if self.widget is not None:
            return self.widget
        if self.kind == "bool":
            return "checkbox"
        if self.kind == "choice":
            return "select"
        if self.multi_valued:
            return "checkboxes"
        return "slider"

    def text(self, value: Any) -> str:
        """The value as a URL carries it."""
        if self.as_text is not None:
            return self.as_text(value)
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, (list, tuple)):
            return ",".join(str(v) for v in value)
        return str(value)

    def describe(self) -> str:
        """What the API documents about this setting when the spec says nothing more."""
        if self.api_description:
            return self.api_description
        if self.range is not None:
            low, high = self.range
            return f"{self.label}, {low:,g} to {high:,g}{(' ' + self.unit) if self.unit else ''}"
        if self.choices:
            return f"{self.label}: " + ", ".join(str(c.value) for c in self.choices)
        return self.label


@dataclass(frozen=True)
class SettingGroup:
    """A fieldset of controls under one legend."""

    legend: str
    settings: tuple[Setting, ...]


@dataclass(frozen=True, slots=True)
class Readout:
    """One number of the generic results: a label, the result attribute (dotted), its format."""

    label: str
    attribute: str
    format: ReadoutFormat = "number"
    accent: bool = False


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


REQUIRED: Any = _Marker("REQUIRED")  # an ApiParam default: the query must give it
SPEC_DEFAULT: Any = _Marker("SPEC_DEFAULT")  # an ApiParam default: the setting's own default


@dataclass(frozen=True, slots=True)
class ApiParam:
    """A query parameter of an API route: a setting of the spec, with this route's default.

    ``default`` is the setting's own (``SPEC_DEFAULT``), ``REQUIRED``, another value, or
    None (optional: left out of the settings, or decided by the route's ``prepare``).
    """

    name: str
    default: Any = SPEC_DEFAULT


@dataclass(frozen=True)
class ApiRoute:
    """One GET route of the JSON API, answered through the instrument's ``compute``.

    ``response`` is the dataclass it answers with (``many``: a list of them);
    ``fields`` (optional) keeps only those attributes, ``rename`` renames some
    (attribute -> JSON name). ``output`` picks the response out of the result;
    ``prepare`` turns the query into the instrument's settings (defaults: as given).
    A route with ``computes=False`` answers from ``output(None)`` (reference data).
    """

    path: str
    summary: str
    response: type
    params: tuple[ApiParam, ...] = ()
    output: Callable[[Any], Any] = lambda result: result
    prepare: Callable[[Params], Params] | None = None
    fields: tuple[str, ...] | None = None
    rename: Mapping[str, str] = field(default_factory=dict)
    many: bool = False
    computes: bool = True


@dataclass(frozen=True)
class InstrumentSpec:
    """An instrument: settings, computation, result type, chart and API routes."""

    name: str
    groups: tuple[SettingGroup, ...]
    compute: Callable[[Params], Any]
    result_type: type
    chart_key: Callable[[Any], Any] | None = None  # result -> ChartKey (see chart_keys), or None: no chart
    results_template: str = "_instrument_readouts.html"
    readouts: tuple[Readout, ...] = ()
    sentence: Callable[[Any], str] | None = None  # result -> the live sentence under the readouts
    api: tuple[ApiRoute, ...] = ()

    @property
    def settings(self) -> tuple[Setting, ...]:
        return tuple(s for group in self.groups for s in group.settings)

    def setting(self, name: str) -> Setting | None:
        return next((s for s in self.settings if s.name == name), None)

    @property
    def defaults(self) -> Params:
        return {s.name: s.default for s in self.settings}

    def normalize(self, raw: Mapping[str, Any]) -> Params:
        """Defaults overlaid with `raw`; unknown names are an error, not silently dropped."""
        defaults = self.defaults
        unknown = sorted(set(raw) - set(defaults))
        if unknown:
            raise InstrumentInputError(
                f"is not a setting of this instrument (settings: {', '.join(defaults)}).", field=unknown[0]
            )
        return {**defaults, **raw}

    def run(self, raw: Mapping[str, Any]) -> tuple[Params, Any]:
        params = self.normalize(raw)
        return params, self.compute(params)

    def validate(self, raw: Mapping[str, Any]) -> None:
        """For `textbook check`: raises ValueError (InstrumentInputError is one) on bad initial params."""
        self.run(raw)

    def chart(self, result: Any) -> Any:
        return self.chart_key(result) if self.chart_key is not None else None
