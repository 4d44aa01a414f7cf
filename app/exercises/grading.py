"""Grading a typed answer against the author's key, the way a patient TA would.

The answer key comes from the author's YAML through ``spec.answer_key_from_spec``.

Grading, in order: unreadable text; a unit of the wrong kind; correct within
tolerance; an anticipated mistake (after unit conversion); a diagnosed slip
(sign, a bare number that is the answer in another unit, GiB for GB, a fraction
for a percent, a factor of 1000 or a power of ten, a power of two); else "not
quite", saying whether the answer is too high or too low. Incorrect feedback
never states the answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from app.exercises.answers import ParsedAnswer, UnreadableAnswer, parse_answer, quote
from app.exercises.spec import (
    AnswerKey,
    AnswerSpecError,
    Mistake,
    answer_key_from_spec,
    key_unit,
    mistake_in_key_unit,
    parse_tolerance,
    within,
)
from app.exercises.units import (
    DIMENSION_OF,
    Dimension,
    convert,
    format_number,
    format_value,
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

Verdict = Literal["correct", "incorrect", "unreadable"]
Reason = Literal[
    "correct", "unreadable", "incompatible_unit", "mistake", "sign", "bare_unit", "binary_prefix",
    "percent_fraction", "prefix_scale", "power_of_ten", "power_of_two", "too_high", "too_low",
]  # fmt: skip


@dataclass(frozen=True)
class Grade:
    verdict: Verdict
    feedback: str  # plain text with $...$ math; the web layer escapes it and renders the math
    parsed: ParsedAnswer | None
    reason: Reason | None = None  # which rule decided, for tests and analytics


# --- grading ---------------------------------------------------------------------------


def grade_answer(key: AnswerKey, text: str) -> Grade:
    """Grade what a student typed; never raises for any input string."""
    try:
        parsed = parse_answer(text, key.quantity)
    except UnreadableAnswer as exc:
        return Grade("unreadable", exc.message, None, "unreadable")
    dimension = DIMENSION_OF[key.quantity]
    if parsed.dimension is not None and parsed.dimension != dimension:
        feedback = (
            f"{quote(parsed.text)} is {_READ_AS[parsed.dimension]}, but this question asks for {_asked_for(key)}."
        )
        return Grade("incorrect", feedback, parsed, "incompatible_unit")
    value = _in_key_unit(parsed, key)
    if not math.isfinite(value):  # "1e308 PB" overflows once in GB
        return Grade("unreadable", "That number is too large to work with.", None, "unreadable")
    shown = _shown(parsed, value, key)
    if within(key.value, value, key.tolerance, key.tolerance_mode):
        expected = format_expected(key)
        exact = "" if shown.endswith(expected) else f" (exact value: {expected})"
        return Grade("correct", f"{shown} — correct{exact}.", parsed, "correct")
    for mistake in key.mistakes:
        tolerance = key.tolerance if mistake.tolerance is None else mistake.tolerance
        mode = mistake.tolerance_mode or key.tolerance_mode
        if within(mistake_in_key_unit(mistake, key), value, tolerance, mode):
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
    return format_value(key.value, key_unit(key), key.quantity, digits=10)


_READ_AS: dict[Dimension, str] = {"memory": "a memory size", "amount": "a count", "percent": "a percentage"}


def _asked_for(key: AnswerKey) -> str:
    return {
        "bytes": f"a memory size in {key.unit}",
        "parameters": "a number of parameters",
        "count": "a count",
        "number": "a plain number",
        "percent": "a percentage",
    }[key.quantity]


def _in_key_unit(parsed: ParsedAnswer, key: AnswerKey) -> float:
    if parsed.dimension is None:
        return parsed.value  # a bare number is read in the question's unit
    return convert(parsed.value, unit_named(parsed.dimension, parsed.unit), key_unit(key))


def _shown(parsed: ParsedAnswer, value: float, key: AnswerKey) -> str:
    """How we read the answer, in the question's unit: "112 GB" or "0.112 TB = 112 GB"."""
    in_key = format_value(value, key_unit(key), key.quantity)
    if parsed.dimension is None or parsed.unit == key.unit:
        return in_key
    typed_as = "number" if parsed.dimension == "amount" else key.quantity  # "65.5k = 65,500 parameters"
    typed = format_value(parsed.value, unit_named(parsed.dimension, parsed.unit), typed_as)
    return f"{typed} = {format_value(value, key_unit(key), key.quantity, digits=4)}"


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


_UNIT_SIZES = {  # feedback is shown with its $...$ as math
    "B": "bytes", "bit": "bits", "kB": "$10^3$ bytes", "MB": "$10^6$ bytes", "GB": "$10^9$ bytes",
    "TB": "$10^{12}$ bytes", "PB": "$10^{15}$ bytes", "KiB": "$2^{10}$ bytes", "MiB": "$2^{20}$ bytes",
    "GiB": "$2^{30}$ bytes", "TiB": "$2^{40}$ bytes", "PiB": "$2^{50}$ bytes",
}  # fmt: skip
_UNIT_WORDS = {"B": "bytes", "bit": "bits"}
_SCALE_NAMES = {"k": "thousands", "M": "millions", "B": "billions", "T": "trillions"}


def _diagnose_bare_unit(attempt: _Attempt) -> tuple[Reason, str] | None:
    """A bare number that is right in some other unit: the work is right, the unit is missing."""
    key, parsed = attempt.key, attempt.parsed
    dimension = DIMENSION_OF[key.quantity]
    if parsed.dimension is not None or dimension == "percent":
        return None
    target = key_unit(key)
    number = format_number(parsed.value)
    for unit in units_of(dimension):
        # A plain count is skipped: "65536" for a key in millions is a factor of 10^6, said below.
        if unit.symbol is None or unit.symbol == key.unit:
            continue
        if not _near(convert(parsed.value, unit, target), key.value, attempt.tolerance):
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
