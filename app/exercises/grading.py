"""Grading a typed answer against the author's key, the way a patient TA would.

An answer key comes from the exercise's YAML through ``answer_key_from_spec``::

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

Grading, in order: unreadable text; a unit of the wrong kind; correct within
tolerance; an anticipated mistake (after unit conversion); a diagnosed slip
(sign, a bare number that is the answer in another unit, GiB for GB, a fraction
for a percent, a factor of 1000 or a power of ten, a power of two); else "not
quite", saying whether the answer is too high or too low. Incorrect feedback
never states the answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from app.exercises.answers import ParsedAnswer, UnreadableAnswer, parse_answer, quote
from app.exercises.units import (
    DIMENSION_OF,
    QUANTITIES,
    Dimension,
    Quantity,
    Unit,
    convert,
    format_number,
    format_value,
    lookup_unit,
    unit_named,
    units_of,
)

__all__ = [
    "AnswerKey",
    "AnswerSpecError",
    "Grade",
    "Mistake",
    "answer_key_from_spec",
    "format_expected",
    "grade_answer",
    "parse_tolerance",
]

ToleranceMode = Literal["relative", "absolute"]
Verdict = Literal["correct", "incorrect", "unreadable"]
Reason = Literal[
    "correct", "unreadable", "incompatible_unit", "mistake", "sign", "bare_unit", "binary_prefix",
    "percent_fraction", "prefix_scale", "power_of_ten", "power_of_two", "too_high", "too_low",
]  # fmt: skip

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


@dataclass(frozen=True)
class Grade:
    verdict: Verdict
    feedback: str  # plain text; the web layer escapes it
    parsed: ParsedAnswer | None
    reason: Reason | None = None  # which rule decided, for tests and analytics


class AnswerSpecError(ValueError):
    """An answer spec an author must fix; the message names the field and the fix."""

    @property
    def message(self) -> str:
        return str(self.args[0])


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
    in_key_unit = _mistake_in_key_unit(mistake, key)
    if _within(key.value, in_key_unit, key.tolerance, key.tolerance_mode):
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


# --- grading ---------------------------------------------------------------------------


def grade_answer(key: AnswerKey, text: str) -> Grade:
    """Grade what a student typed; never raises for any input string."""
    try:
        parsed = parse_answer(text, key.quantity)
    except UnreadableAnswer as exc:
        return Grade("unreadable", exc.message, None, "unreadable")
    dimension = DIMENSION_OF[key.quantity]
    if parsed.dimension is not None and parsed.dimension != dimension:
        feedback = f"{quote(parsed.text)} is {_READ_AS[parsed.dimension]}, but this question asks for {_asked_for(key)}."
        return Grade("incorrect", feedback, parsed, "incompatible_unit")
    value = _in_key_unit(parsed, key)
    if not math.isfinite(value):  # "1e308 PB" overflows once in GB
        return Grade("unreadable", "That number is too large to work with.", None, "unreadable")
    shown = _shown(parsed, value, key)
    if _within(key.value, value, key.tolerance, key.tolerance_mode):
        expected = format_expected(key)
        exact = "" if shown.endswith(expected) else f" (exact value: {expected})"
        return Grade("correct", f"{shown} — correct{exact}.", parsed, "correct")
    for mistake in key.mistakes:
        tolerance = key.tolerance if mistake.tolerance is None else mistake.tolerance
        mode = mistake.tolerance_mode or key.tolerance_mode
        if _within(_mistake_in_key_unit(mistake, key), value, tolerance, mode):
            return Grade("incorrect", mistake.feedback, parsed, "mistake")
    attempt = _Attempt(key, parsed, value, shown, _diagnosis_tolerance(key))
    for diagnose in _DIAGNOSES:
        found = diagnose(attempt)
        if found is not None:
            return Grade("incorrect", found[1], parsed, found[0])
    reason, feedback = _describe_miss(attempt)
    return Grade("incorrect", feedback, parsed, reason)


def format_expected(key: AnswerKey) -> str:
    """The correct answer as the chapter writes it: "112 GB", "0.390625%", "65,536 parameters"."""
    return format_value(key.value, _key_unit(key), key.quantity, digits=10)


_READ_AS: dict[Dimension, str] = {"memory": "a memory size", "amount": "a count", "percent": "a percentage"}


def _asked_for(key: AnswerKey) -> str:
    return {
        "bytes": f"a memory size in {key.unit}",
        "parameters": "a number of parameters",
        "count": "a count",
        "number": "a plain number",
        "percent": "a percentage",
    }[key.quantity]


def _key_unit(key: AnswerKey) -> Unit:
    return unit_named(DIMENSION_OF[key.quantity], key.unit)


def _in_key_unit(parsed: ParsedAnswer, key: AnswerKey) -> float:
    if parsed.dimension is None:
        return parsed.value  # a bare number is read in the question's unit
    return convert(parsed.value, unit_named(parsed.dimension, parsed.unit), _key_unit(key))


def _mistake_in_key_unit(mistake: Mistake, key: AnswerKey) -> float:
    dimension = DIMENSION_OF[key.quantity]
    return convert(mistake.value, unit_named(dimension, mistake.unit), _key_unit(key))


def _shown(parsed: ParsedAnswer, value: float, key: AnswerKey) -> str:
    """How we read the answer, in the question's unit: "112 GB" or "0.112 TB = 112 GB"."""
    in_key = format_value(value, _key_unit(key), key.quantity)
    if parsed.dimension is None or parsed.unit == key.unit:
        return in_key
    typed_as = "number" if parsed.dimension == "amount" else key.quantity  # "65.5k = 65,500 parameters"
    typed = format_value(parsed.value, unit_named(parsed.dimension, parsed.unit), typed_as)
    return f"{typed} = {format_value(value, _key_unit(key), key.quantity, digits=4)}"


def _within(expected: float, actual: float, tolerance: float, mode: ToleranceMode) -> bool:
    allowed = tolerance * abs(expected) if mode == "relative" else tolerance
    # Unit conversion leaves float dust (1.12e11 bytes -> 112.00000000000001 GB).
    return abs(actual - expected) <= allowed or math.isclose(actual, expected, rel_tol=1e-9)


def _diagnosis_tolerance(key: AnswerKey) -> float:
    """How close a slip must land: the key's own precision, kept between 0.5% and 2%.

    The floor lets "32.8k" still read as half of 65,536 under an exact key;
    the ceiling keeps a loose key from calling every near miss a GiB slip.
    """
    if key.tolerance_mode == "relative":
        relative = key.tolerance
    else:
        relative = key.tolerance / abs(key.value) if key.value else 0.0
    return min(max(relative, 0.005), 0.02)


# --- diagnosed slips -------------------------------------------------------------------


@dataclass(frozen=True)
class _Attempt:
    key: AnswerKey
    parsed: ParsedAnswer
    value: float  # in the key's unit
    shown: str
    tolerance: float  # relative, for diagnoses

    def lands_on(self, target: float) -> bool:
        return _near(self.value, target, self.tolerance)

    def off_by(self, factor: float) -> Literal["large", "small"] | None:
        """Whether the answer is `factor` times too large or too small."""
        if self.key.value == 0 or self.value == 0:
            return None
        if self.lands_on(self.key.value * factor):
            return "large"
        if self.lands_on(self.key.value / factor):
            return "small"
        return None


def _near(actual: float, target: float, relative: float) -> bool:
    return abs(actual - target) <= relative * abs(target)


def _diagnose_sign(attempt: _Attempt) -> tuple[Reason, str] | None:
    if attempt.key.value != 0 and attempt.lands_on(-attempt.key.value):
        return "sign", "Right size, wrong sign: check the sign of your answer."
    return None


_UNIT_SIZES = {
    "B": "bytes", "bit": "bits", "kB": "10^3 bytes", "MB": "10^6 bytes", "GB": "10^9 bytes",
    "TB": "10^12 bytes", "PB": "10^15 bytes", "KiB": "2^10 bytes", "MiB": "2^20 bytes",
    "GiB": "2^30 bytes", "TiB": "2^40 bytes", "PiB": "2^50 bytes",
}  # fmt: skip
_UNIT_WORDS = {"B": "bytes", "bit": "bits"}
_SCALE_NAMES = {"k": "thousands", "M": "millions", "B": "billions", "T": "trillions"}


def _diagnose_bare_unit(attempt: _Attempt) -> tuple[Reason, str] | None:
    """A bare number that is right in some other unit: the work is right, the unit is missing."""
    key, parsed = attempt.key, attempt.parsed
    dimension = DIMENSION_OF[key.quantity]
    if parsed.dimension is not None or dimension == "percent":
        return None
    key_unit = _key_unit(key)
    number = format_number(parsed.value)
    for unit in units_of(dimension):
        # A plain count is skipped: "65536" for a key in millions is a factor of 10^6, said below.
        if unit.symbol is None or unit.symbol == key.unit:
            continue
        if not _near(convert(parsed.value, unit, key_unit), key.value, attempt.tolerance):
            continue
        symbol, key_symbol = unit.symbol, key.unit or ""
        if dimension == "amount":
            typed = format_value(parsed.value, unit, "number")
            return "bare_unit", (
                f"With no suffix we read {number} as {attempt.shown}. "
                f"If you meant {_SCALE_NAMES[symbol]}, type the suffix too: “{typed}”."
            )
        typed = format_value(parsed.value, unit, key.quantity)
        if {_prefix_kind(symbol), _prefix_kind(key_symbol)} == {"binary", "decimal"}:
            return "bare_unit", (
                f"{number} looks like the size in {symbol} ({_UNIT_SIZES[symbol]}), but this question asks for "
                f"{key_symbol} ({_UNIT_SIZES[key_symbol]}). Convert it, or type the unit too: “{typed}”."
            )
        return "bare_unit", (
            f"With no unit we read {number} as {key_symbol}, but it is the answer in "
            f"{_UNIT_WORDS.get(symbol, symbol)}. Type the unit too (“{typed}”) or convert to {key_symbol}."
        )
    return None


def _prefix_kind(symbol: str) -> Literal["binary", "decimal", "none"]:
    if symbol.endswith("iB"):
        return "binary"
    return "decimal" if symbol in ("kB", "MB", "GB", "TB", "PB") else "none"


_PREFIX_PAIRS = (("KiB", "kB"), ("MiB", "MB"), ("GiB", "GB"), ("TiB", "TB"), ("PiB", "PB"))


def _diagnose_binary_prefix(attempt: _Attempt) -> tuple[Reason, str] | None:
    """GiB for GB: off by 1.024^3 exactly when the question is in GB or GiB (1.024^4 for TB, ...)."""
    for power, (binary, decimal) in enumerate(_PREFIX_PAIRS, start=1):
        if attempt.key.unit not in (binary, decimal):
            continue
        factor = 1.024**power
        if attempt.off_by(factor) is not None:
            return "binary_prefix", (
                f"Close: {attempt.shown} is off by a factor of {format_number(factor, 4)}, the gap between "
                f"{binary} ({_UNIT_SIZES[binary]}) and {decimal} ({_UNIT_SIZES[decimal]}). "
                "Check which of the two you divided by."
            )
    return None


def _diagnose_percent_fraction(attempt: _Attempt) -> tuple[Reason, str] | None:
    if attempt.key.quantity != "percent":
        return None
    direction = attempt.off_by(100)
    number = format_number(attempt.parsed.value)
    if direction == "small":
        return "percent_fraction", (
            f"{number} looks like a fraction, but the question asks for a percent: multiply the fraction by 100."
        )
    if direction == "large":
        return "percent_fraction", (
            f"{attempt.shown} is 100 times too large: it looks like the percent was multiplied by 100 twice."
        )
    return None


_SCALE_HINTS: dict[Dimension, str] = {
    "memory": "Check your unit prefixes: kB, MB, GB and TB are each 1,000 apart.",
    "amount": "Check your powers of ten: k, M and B are each 1,000 apart.",
    "percent": "Check your powers of ten.",
}


def _diagnose_prefix_scale(attempt: _Attempt) -> tuple[Reason, str] | None:
    for power in range(1, 6):
        direction = attempt.off_by(1000.0**power)
        if direction is not None:
            factor = format_number(1000.0**power)
            hint = _SCALE_HINTS[DIMENSION_OF[attempt.key.quantity]]
            return "prefix_scale", f"{attempt.shown} is {factor} times too {direction}. {hint}"
    return None


def _diagnose_power_of_ten(attempt: _Attempt) -> tuple[Reason, str] | None:
    for power in (p for p in range(1, 16) if p % 3):
        direction = attempt.off_by(10.0**power)
        if direction is not None:
            factor = format_number(10.0**power)
            return "power_of_ten", (
                f"{attempt.shown} is {factor} times too {direction}. Check the decimal point and your powers of ten."
            )
    return None


def _diagnose_power_of_two(attempt: _Attempt) -> tuple[Reason, str] | None:
    for power in range(1, 17):
        direction = attempt.off_by(2.0**power)
        if direction is not None:
            factor = format_number(2.0**power)
            return "power_of_two", (
                f"{attempt.shown} is off by exactly a factor of {factor} (too {direction}). "
                "Did you count only part of it, or something twice?"
            )
    return None


def _describe_miss(attempt: _Attempt) -> tuple[Reason, str]:
    value, expected = attempt.value, attempt.key.value
    if value < 0 < expected or value > 0 > expected:
        reason: Reason = "too_low" if value < expected else "too_high"
        return reason, f"Not quite: {attempt.shown} has the wrong sign."
    if value > expected:
        return "too_high", f"Not quite: {attempt.shown} is too high."
    return "too_low", f"Not quite: {attempt.shown} is too low."


_DIAGNOSES: tuple[Callable[[_Attempt], tuple[Reason, str] | None], ...] = (
    _diagnose_sign,
    _diagnose_bare_unit,
    _diagnose_binary_prefix,
    _diagnose_percent_fraction,
    _diagnose_prefix_scale,
    _diagnose_power_of_ten,
    _diagnose_power_of_two,
)
