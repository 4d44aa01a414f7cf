"""The author's answer spec: what it becomes, and the exact message for each way it can be wrong."""

from __future__ import annotations

from typing import Any

import pytest

from app.errors import TextbookError
from app.exercises.grading import AnswerKey, AnswerSpecError, Mistake, answer_key_from_spec, parse_tolerance

GB_UNITS = "one of B, kB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB, bit"
QUANTITY_CHOICES = "bytes, parameters, percent, count, number"


def test_builds_the_key_an_author_wrote() -> None:
    spec = {
        "value": 112, "unit": "GB", "quantity": "bytes", "tolerance": "2%",
        "mistakes": [
            {"value": 14, "unit": "GB", "feedback": "14 GB is the bf16\n  weights alone."},
            {"value": 56000, "unit": "MB", "tolerance": "±500", "feedback": "Moments only."},
            {"value": 104.3, "feedback": "GiB."},
        ],
    }  # fmt: skip
    assert answer_key_from_spec(spec) == AnswerKey(
        value=112.0,
        unit="GB",
        quantity="bytes",
        tolerance=0.02,
        tolerance_mode="relative",
        mistakes=(
            Mistake(14.0, "GB", "14 GB is the bf16 weights alone."),  # folded YAML whitespace collapsed
            Mistake(56000.0, "MB", "Moments only.", 500.0, "absolute"),
            Mistake(104.3, "GB", "GiB."),  # unit defaults to the answer's
        ),
    )


DEFAULTS = [
    # (spec, value, unit, tolerance, mode)
    ({"value": 16, "quantity": "count"}, 16.0, None, 0.01, "relative"),
    ({"value": 0.390625, "quantity": "percent"}, 0.390625, "%", 0.01, "relative"),
    ({"value": 0.39, "quantity": "percent", "unit": "percent"}, 0.39, "%", 0.01, "relative"),
    (
        {"value": "1.12e11", "unit": "bytes", "quantity": "bytes"},
        1.12e11,
        "B",
        0.01,
        "relative",
    ),  # YAML keeps 1.12e11 as text
    ({"value": 112, "unit": "gigabytes", "quantity": "bytes"}, 112.0, "GB", 0.01, "relative"),
    ({"value": 4.19, "unit": "million", "quantity": "parameters"}, 4.19, "M", 0.01, "relative"),
    ({"value": 7, "unit": "B", "quantity": "parameters"}, 7.0, "B", 0.01, "relative"),
    ({"value": 65536, "unit": "parameters", "quantity": "parameters"}, 65536.0, None, 0.01, "relative"),
    ({"value": 16, "quantity": "count", "tolerance": 0, "mistakes": None}, 16.0, None, 0.0, "relative"),
    ({"value": -3, "quantity": "number", "tolerance": "±0.5"}, -3.0, None, 0.5, "absolute"),
]


@pytest.mark.parametrize(("spec", "value", "unit", "tolerance", "mode"), DEFAULTS)
def test_fills_defaults_and_canonical_units(
    spec: dict[str, Any], value: float, unit: str | None, tolerance: float, mode: str
) -> None:
    key = answer_key_from_spec(spec)
    assert (key.value, key.unit, key.tolerance, key.tolerance_mode, key.mistakes) == (value, unit, tolerance, mode, ())


TOLERANCES = [
    ("1%", 0.01, "relative"),
    ("0.5 %", 0.005, "relative"),
    (" 2% ", 0.02, "relative"),
    ("0%", 0.0, "relative"),
    ("±0.005", 0.005, "absolute"),
    ("± 0.005", 0.005, "absolute"),
    ("+-0.005", 0.005, "absolute"),
    ("+/-0.005", 0.005, "absolute"),
    (0, 0.0, "relative"),
    (0.0, 0.0, "relative"),
]


@pytest.mark.parametrize(("raw", "amount", "mode"), TOLERANCES)
def test_reads_tolerances(raw: object, amount: float, mode: str) -> None:
    parsed_amount, parsed_mode = parse_tolerance(raw)
    assert parsed_amount == pytest.approx(amount)
    assert parsed_mode == mode


BAD_TOLERANCES = [
    (0.01, "tolerance 0.01 is ambiguous: write '0.01%' for a relative tolerance or '±0.01' for an absolute one"),
    (2, "tolerance 2 is ambiguous: write '2%' for a relative tolerance or '±2' for an absolute one"),
    ("2", "tolerance '2' must look like '1%' (relative) or '±0.005' (absolute)"),
    ("abc%", "tolerance 'abc%' must look like '1%' (relative) or '±0.005' (absolute)"),
    ("±", "tolerance '±' must look like '1%' (relative) or '±0.005' (absolute)"),
    (True, "tolerance True must look like '1%' (relative) or '±0.005' (absolute)"),
    (None, "tolerance None must look like '1%' (relative) or '±0.005' (absolute)"),
    ("-1%", "tolerance '-1%' must be a finite, non-negative amount"),
    ("±-0.1", "tolerance '±-0.1' must be a finite, non-negative amount"),
    ("+--0.1", "tolerance '+--0.1' must be a finite, non-negative amount"),
    ("nan%", "tolerance 'nan%' must be a finite, non-negative amount"),
    ("100%", "tolerance '100%' would accept answers of any size; keep it under 100%"),
]


@pytest.mark.parametrize(("raw", "message"), BAD_TOLERANCES)
def test_refuses_bad_tolerances(raw: object, message: str) -> None:
    with pytest.raises(AnswerSpecError) as caught:
        parse_tolerance(raw)
    assert caught.value.message == message


GB_KEY = {"value": 112, "unit": "GB", "quantity": "bytes"}

INVALID = [
    ([112], "the answer must be a mapping with at least 'value' and 'quantity'"),
    ({"unit": "GB", "quantity": "bytes"}, "missing 'value' (the correct number)"),
    ({**GB_KEY, "value": "abc"}, "value 'abc' is not a finite number"),
    ({**GB_KEY, "value": True}, "value True is not a finite number"),
    ({**GB_KEY, "value": None}, "value None is not a finite number"),
    ({**GB_KEY, "value": float("inf")}, "value inf is not a finite number"),
    ({**GB_KEY, "value": "nan"}, "value 'nan' is not a finite number"),
    ({**GB_KEY, "value": 10**400}, f"value {10**400!r} is not a finite number"),
    ({"value": 112, "unit": "GB"}, f"missing 'quantity' (one of: {QUANTITY_CHOICES})"),
    ({**GB_KEY, "quantity": "memory"}, f"unknown quantity 'memory' (use one of: {QUANTITY_CHOICES})"),
    ({"value": 112, "quantity": "bytes"}, f"quantity 'bytes' needs a unit ({GB_UNITS})"),
    ({**GB_KEY, "unit": "GBs"}, f"unknown unit 'GBs' for quantity 'bytes' (use {GB_UNITS})"),
    ({**GB_KEY, "unit": "billion bytes"}, f"unknown unit 'billion bytes' for quantity 'bytes' (use {GB_UNITS})"),
    ({**GB_KEY, "unit": 5}, "unit must be text such as 'GB', not 5"),
    ({**GB_KEY, "unit": "%"}, f"unit '%' is a percentage unit, but quantity 'bytes' takes {GB_UNITS}"),
    ({**GB_KEY, "unit": "k"}, f"unit 'k' is a count unit, but quantity 'bytes' takes {GB_UNITS}"),
    (
        {"value": 65536, "unit": "GB", "quantity": "parameters"},
        "unit 'GB' is a memory unit, but quantity 'parameters' takes no unit or one of k, M, B, T",
    ),
    (
        {"value": 0.39, "unit": "GB", "quantity": "percent"},
        "unit 'GB' is a memory unit, but quantity 'percent' takes '%' or no unit",
    ),
    (
        {"value": 16, "unit": "dozen", "quantity": "count"},
        "unknown unit 'dozen' for quantity 'count' (use no unit or one of k, M, B, T)",
    ),
    ({**GB_KEY, "tolerance": "-1%"}, "tolerance '-1%' must be a finite, non-negative amount"),
    (
        {**GB_KEY, "tolerance": 0.01},
        "tolerance 0.01 is ambiguous: write '0.01%' for a relative tolerance or '±0.01' for an absolute one",
    ),
    (
        {**GB_KEY, "tolerence": "1%"},
        "unknown field 'tolerence' in the answer (allowed: value, unit, quantity, tolerance, mistakes)",
    ),
    ({**GB_KEY, "mistakes": {"value": 14}}, "'mistakes' must be a list of mappings with 'value' and 'feedback'"),
    ({**GB_KEY, "mistakes": ["14 GB"]}, "mistake 1: must be a mapping with 'value' and 'feedback'"),
    (
        {**GB_KEY, "mistakes": [{"value": 14, "feedback": "ok"}, {"feedback": "no value"}]},
        "mistake 2: missing 'value'",
    ),
    ({**GB_KEY, "mistakes": [{"value": "x", "feedback": "f"}]}, "mistake 1: value 'x' is not a finite number"),
    ({**GB_KEY, "mistakes": [{"value": 14}]}, "mistake 1: missing 'feedback' (what the student reads)"),
    ({**GB_KEY, "mistakes": [{"value": 14, "feedback": "  "}]}, "mistake 1: 'feedback' must be non-empty text"),
    ({**GB_KEY, "mistakes": [{"value": 14, "feedback": 3}]}, "mistake 1: 'feedback' must be non-empty text"),
    (
        {**GB_KEY, "mistakes": [{"value": 14, "feedbak": "x"}]},
        "mistake 1: unknown field 'feedbak' (allowed: value, unit, feedback, tolerance)",
    ),
    (
        {**GB_KEY, "mistakes": [{"value": 14, "unit": "%", "feedback": "x"}]},
        f"mistake 1: unit '%' is a percentage unit, but quantity 'bytes' takes {GB_UNITS}",
    ),
    (
        {**GB_KEY, "mistakes": [{"value": 14, "unit": None, "feedback": "x"}]},
        f"mistake 1: quantity 'bytes' needs a unit ({GB_UNITS})",
    ),
    (
        {**GB_KEY, "mistakes": [{"value": 14, "feedback": "x", "tolerance": "lots"}]},
        "mistake 1: tolerance 'lots' must look like '1%' (relative) or '±0.005' (absolute)",
    ),
    (
        {**GB_KEY, "mistakes": [{"value": 112, "feedback": "x"}]},
        "mistake 1: 112 GB is within tolerance of the correct answer, so its feedback would never show",
    ),
    (
        {**GB_KEY, "mistakes": [{"value": 14, "feedback": "x"}, {"value": 0.112, "unit": "TB", "feedback": "x"}]},
        "mistake 2: 0.112 TB is within tolerance of the correct answer, so its feedback would never show",
    ),
]


@pytest.mark.parametrize(("spec", "message"), INVALID)
def test_explains_every_invalid_spec(spec: Any, message: str) -> None:
    with pytest.raises(AnswerSpecError) as caught:
        answer_key_from_spec(spec)
    assert caught.value.message == message
    assert str(caught.value) == message


def test_spec_errors_join_the_one_error_family() -> None:
    assert issubclass(AnswerSpecError, TextbookError)
