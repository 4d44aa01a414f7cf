"""The Jinja environment: autoescaped, with the few filters the templates need."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.instruments.formatting import format_gb, format_percent
from app.instruments.models import LINEAR_MODULES, get_model, list_models
from app.instruments.nf4 import BLOCK_SIZES
from app.instruments.vram import PART_LABELS


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


def is_on(value: object) -> bool:
    """A checkbox setting as it arrives from a default (bool) or a form ("1"/"0")."""
    return value is True or str(value).strip().lower() in ("1", "true", "on", "yes")


def build_templates(templates_dir: Path) -> Environment:
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
        model_name=lambda model_id: get_model(model_id).display_name,
    )
    env.globals.update(model_presets=list_models(), linear_modules=LINEAR_MODULES, block_sizes=BLOCK_SIZES, part_labels=PART_LABELS)
    return env
