"""The Jinja environment: autoescaped, with the few filters the templates need and, as
globals, the data and limits they show (each limit read from the module that owns it)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from app.content.plugins.math import text_with_math
from app.exercises.answers import MAX_LENGTH as MAX_ANSWER_CHARS
from app.instruments.errors import InstrumentInputError, parse_bool
from app.instruments.formatting import format_gb, format_percent
from app.runner import RunnerLimits
from app.web.exercise_progress import solution_link


def two_digits(number: int) -> str:
    return f"{number:02d}"


def roman(number: int) -> str:
    numerals = [(10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = ""
    for value, letters in numerals:
        while number >= value:
            out += letters
            number -= value
    return out


def thousands(value: float | int) -> str:
    return f"{value:,.0f}"


def chapter_range(numbers: tuple[int, ...]) -> str:
    """(4, 5) -> "Ch 04–05"; (3,) -> "Ch 03"; (2, 4) -> "Ch 02, 04"."""
    if not numbers:
        return ""
    ordered = sorted(numbers)
    if len(ordered) > 1 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"Ch {ordered[0]:02d}–{ordered[-1]:02d}"
    return "Ch " + ", ".join(f"{n:02d}" for n in ordered)


def plain(number: float | int) -> str:
    """A number as an HTML attribute wants it: 16384, 405, 0.1 (never 405.0 or 1e+06)."""
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def attr_path(obj: object, path: str) -> object:
    """`result | attr_path("matrix.r")`: a dotted attribute of a result."""
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def readout(value: object, style: str) -> str:
    """An instrument readout in its spec's format (see `app.instruments.spec.Readout`)."""
    if style == "text" or not isinstance(value, (int, float)):
        return str(value)
    if style == "thousands":
        return thousands(value)
    if style == "percent":
        return format_percent(value)
    if style == "gb":
        return format_gb(value)
    return f"{value:.4g}"


def is_on(value: object) -> bool:
    """A checkbox setting as it arrives from a default (bool) or a form ("1"/"0"); anything
    that is not one of the instruments' words for "on" is off."""
    try:
        return parse_bool("", value)
    except InstrumentInputError:
        return False


def build_templates(templates_dir: Path, runner_limits: RunnerLimits) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=True,
    )
    env.filters.update(
        two_digits=two_digits,
        roman=roman,
        thousands=thousands,
        chapter_range=chapter_range,
        percent=format_percent,
        gb=format_gb,
        on=is_on,
        plain=plain,
        attr_path=attr_path,
        readout=readout,
        with_math=lambda text: Markup(text_with_math(text)),
    )
    env.globals.update(solution_link=solution_link)
    env.globals.update(
        limits=runner_limits,  # what a run may use: the editor's maxlength, the messages of a stopped run
        max_answer_chars=MAX_ANSWER_CHARS,
    )
    return env
