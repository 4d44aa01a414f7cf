"""An exercise's answer key, read from the author's YAML: ``answer_key_from_spec``.

    answer: {value: 112, unit: GB, quantity: bytes, tolerance: 2%}
    mistakes:
      - value: 14
        unit: GB          # optional; defaults to the answer's unit
        tolerance: 1%     # optional; defaults to the answer's tolerance
        feedback: 14 GB is the bf16 weights alone (2 bytes/param).

Fields: ``value`` (required; a number, or a string such as "1.12e11", which
YAML leaves as text), ``quantity`` (required: bytes, parameters, percent,
count or number), ``unit`` (required for bytes, "%" or nothing for percent,
nothing or k/M/B/T for the rest; see ``units``), ``tolerance`` (default
``1%``) and ``mistakes``.

Tolerance is text in one of two forms, so it can never be misread:
``"2%"`` is relative (within 2% of the answer) and ``"±0.005"`` (or
``"+-0.005"``, ``"+/-0.005"``) is absolute, in the answer's unit. The number
``0`` means exact. Any other bare number is refused as ambiguous.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from app.errors import TextbookError
from app.exercises.units import (
    DIMENSION_OF,
    QUANTITIES,
    Dimension,
    Quantity,
    Unit,
    convert,
    format_value,
    lookup_unit,
    unit_named,
)

__all__ = ["AnswerKey", "AnswerSpecError", "Mistake", "answer_key_from_spec", "parse_tolerance"]

ToleranceMode = Literal["relative", "absolute"]
DEFAULT_TOLERANCE = "1%"


@dataclass(frozen=True)
class Mistake:
    """An anticipated wrong answer. ``unit`` reads like the key's: None is a plain count."""

    value: float
    unit: str | None
    feedback: str
    tolerance: float | None = None  # None: the key's tolerance
    tolerance_mode: ToleranceMode | None = None


@dataclass(frozen=True)
class AnswerKey:
    """The correct answer. ``tolerance`` is a fraction (relative) or in ``unit`` (absolute)."""

    value: float
    unit: str | None
    quantity: Quantity
    tolerance: float
    tolerance_mode: ToleranceMode
    mistakes: tuple[Mistake, ...] = ()


class AnswerSpecError(TextbookError):
    """An answer spec an author must fix; the message names the field and the fix.

    Raised while content loads (reported by `textbook check` with its line), so no
    request ever answers with it; as a `TextbookError` it would be a 422."""

    status = 422


# --- the answer spec -------------------------------------------------------------------

_KEY_FIELDS = ("value", "unit", "quantity", "tolerance", "mistakes")
_MISTAKE_FIELDS = ("value", "unit", "feedback", "tolerance")
_UNITS_TAKEN: dict[Dimension, str] = {
    "memory": "one of B, kB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB, bit",
    "amount": "no unit or one of k, M, B, T",
    "percent": "'%' or no unit",
}
_UNIT_KIND: dict[Dimension, str] = {"memory": "a memory", "amount": "a count", "percent": "a percentage"}


def answer_key_from_spec(spec: Mapping[str, object]) -> AnswerKey:
    """Validate an author's answer spec; raises AnswerSpecError saying what to fix."""
    if not isinstance(spec, Mapping):
        raise AnswerSpecError("the answer must be a mapping with at least 'value' and 'quantity'")
    _reject_unknown_fields(spec, _KEY_FIELDS, "in the answer")
    if "value" not in spec:
        raise AnswerSpecError("missing 'value' (the correct number)")
    value = _read_number(spec["value"])
    quantity = _read_quantity(spec.get("quantity"))
    unit = _read_unit(spec.get("unit"), quantity)
    tolerance, mode = parse_tolerance(spec.get("tolerance", DEFAULT_TOLERANCE))
    key = AnswerKey(value, unit, quantity, tolerance, mode)
    entries = spec.get("mistakes") or []
    if not isinstance(entries, list):
        raise AnswerSpecError("'mistakes' must be a list of mappings with 'value' and 'feedback'")
    mistakes = []
    for number, entry in enumerate(entries, start=1):
        try:
            mistakes.append(_read_mistake(entry, key))
        except AnswerSpecError as exc:
            raise AnswerSpecError(f"mistake {number}: {exc.message}") from None
    return replace(key, mistakes=tuple(mistakes))


def parse_tolerance(raw: object) -> tuple[float, ToleranceMode]:
    """``"2%"`` -> (0.02, relative); ``"±0.005"`` -> (0.005, absolute); ``0`` -> exact."""
    looks_like = f"tolerance {raw!r} must look like '1%' (relative) or '±0.005' (absolute)"
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if raw == 0:
            return 0.0, "relative"
        raise AnswerSpecError(
            f"tolerance {raw!r} is ambiguous: write '{raw}%' for a relative tolerance or '±{raw}' for an absolute one"
        )
    if not isinstance(raw, str):
        raise AnswerSpecError(looks_like)
    text = raw.strip()
    mode: ToleranceMode
    if text.endswith("%"):
        mode, number, scale = "relative", text[:-1], 0.01
    else:
        prefix = next((p for p in ("±", "+/-", "+-") if text.startswith(p)), None)
        if prefix is None:
            raise AnswerSpecError(looks_like)
        mode, number, scale = "absolute", text[len(prefix) :], 1.0
    try:
        amount = float(number.strip())
    except ValueError:
        raise AnswerSpecError(looks_like) from None
    if not math.isfinite(amount) or amount < 0:
        raise AnswerSpecError(f"tolerance {raw!r} must be a finite, non-negative amount")
    if mode == "relative" and amount >= 100:
        raise AnswerSpecError(f"tolerance {raw!r} would accept answers of any size; keep it under 100%")
    return amount * scale, mode


def _read_mistake(entry: object, key: AnswerKey) -> Mistake:
    if not isinstance(entry, Mapping):
        raise AnswerSpecError("must be a mapping with 'value' and 'feedback'")
    _reject_unknown_fields(entry, _MISTAKE_FIELDS, "")
    if "value" not in entry:
        raise AnswerSpecError("missing 'value'")
    value = _read_number(entry["value"])
    if "feedback" not in entry:
        raise AnswerSpecError("missing 'feedback' (what the student reads)")
    feedback = entry["feedback"]
    if not isinstance(feedback, str) or not feedback.strip():
        raise AnswerSpecError("'feedback' must be non-empty text")
    unit = _read_unit(entry["unit"], key.quantity) if "unit" in entry else key.unit
    tolerance, mode = parse_tolerance(entry["tolerance"]) if "tolerance" in entry else (None, None)
    mistake = Mistake(value, unit, " ".join(feedback.split()), tolerance, mode)
    in_key_unit = mistake_in_key_unit(mistake, key)
    if within(key.value, in_key_unit, key.tolerance, key.tolerance_mode):
        shown = format_value(value, unit_named(DIMENSION_OF[key.quantity], unit), key.quantity)
        raise AnswerSpecError(f"{shown} is within tolerance of the correct answer, so its feedback would never show")
    return mistake


def _reject_unknown_fields(spec: Mapping[Any, object], allowed: tuple[str, ...], where: str) -> None:
    for name in spec:
        if name not in allowed:
            place = f" {where}" if where else ""
            raise AnswerSpecError(f"unknown field {name!r}{place} (allowed: {', '.join(allowed)})")


def _read_number(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise AnswerSpecError(f"value {raw!r} is not a finite number")
    try:
        number = float(raw.strip() if isinstance(raw, str) else raw)
    except (ValueError, OverflowError):
        raise AnswerSpecError(f"value {raw!r} is not a finite number") from None
    if not math.isfinite(number):
        raise AnswerSpecError(f"value {raw!r} is not a finite number")
    return number


def _read_quantity(raw: object) -> Quantity:
    choices = ", ".join(QUANTITIES)
    if raw is None:
        raise AnswerSpecError(f"missing 'quantity' (one of: {choices})")
    for quantity in QUANTITIES:
        if raw == quantity:
            return quantity
    raise AnswerSpecError(f"unknown quantity {raw!r} (use one of: {choices})")


def _read_unit(raw: object, quantity: Quantity) -> str | None:
    dimension = DIMENSION_OF[quantity]
    if raw is None:
        if dimension == "memory":  # "112" alone could be bytes, GB or GiB
            raise AnswerSpecError(f"quantity 'bytes' needs a unit ({_UNITS_TAKEN['memory']})")
        return "%" if dimension == "percent" else None
    if not isinstance(raw, str):
        raise AnswerSpecError(f"unit must be text such as 'GB', not {raw!r}")
    found = lookup_unit(raw, dimension)
    if found is not None and found[1] == 1:
        return found[0].symbol
    for other in ("memory", "percent", "amount"):
        if other != dimension and lookup_unit(raw, other) is not None:
            raise AnswerSpecError(
                f"unit {raw!r} is {_UNIT_KIND[other]} unit, but quantity {quantity!r} takes {_UNITS_TAKEN[dimension]}"
            )
    raise AnswerSpecError(f"unknown unit {raw!r} for quantity {quantity!r} (use {_UNITS_TAKEN[dimension]})")


# --- shared with grading -------------------------------------------------------------


def key_unit(key: AnswerKey) -> Unit:
    return unit_named(DIMENSION_OF[key.quantity], key.unit)


def mistake_in_key_unit(mistake: Mistake, key: AnswerKey) -> float:
    dimension = DIMENSION_OF[key.quantity]
    return convert(mistake.value, unit_named(dimension, mistake.unit), key_unit(key))


def within(expected: float, actual: float, tolerance: float, mode: ToleranceMode) -> bool:
    allowed = tolerance * abs(expected) if mode == "relative" else tolerance
    # Unit conversion leaves float dust (1.12e11 bytes -> 112.00000000000001 GB).
    return abs(actual - expected) <= allowed or math.isclose(actual, expected, rel_tol=1e-9)
