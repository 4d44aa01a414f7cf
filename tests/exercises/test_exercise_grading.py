"""Grading the chapter's five exercises, and each diagnosed slip on keys without authored mistakes."""

from __future__ import annotations

import random

import pytest

from app.exercises.grading import AnswerKey, answer_key_from_spec, format_expected, grade_answer

# The chapter's exercises as their authors wrote them (Vol. II, Ch. 06).
FULL_FT = {
    "value": 112, "unit": "GB", "quantity": "bytes", "tolerance": "2%",
    "mistakes": [
        {"value": 14, "unit": "GB", "feedback": "14 GB is the bf16 weights alone."},
        {"value": 28, "unit": "GB", "feedback": "28 GB is one fp32 copy of the weights."},
        {"value": 56, "unit": "GB", "feedback": "That is 8 bytes per parameter."},
        {"value": 104.3, "unit": "GB", "feedback": "104.3 is the answer in GiB."},
    ],
}  # fmt: skip
ADAPTER_PARAMS = {
    "value": 65536, "quantity": "parameters", "tolerance": "0.5%",
    "mistakes": [
        {"value": 32768, "feedback": "32,768 is one of the two matrices."},
        {"value": 16777216, "feedback": "16,777,216 is d², the full update."},
        {"value": 64, "feedback": "64 is r²."},
    ],
}  # fmt: skip
TRAINABLE_PERCENT = {
    "value": 0.390625, "unit": "%", "quantity": "percent", "tolerance": "2%",
    "mistakes": [{"value": 0.195, "unit": "%", "feedback": "0.195% counts only one of the two matrices."}],
}  # fmt: skip
NF4_LEVELS = {
    "value": 16, "quantity": "count", "tolerance": 0,
    "mistakes": [
        {"value": 8, "feedback": "8 is 2b (or 2^(b-1))."},
        {"value": 15, "feedback": "15 is the largest index."},
        {"value": 4, "feedback": "4 is the number of bits."},
    ],
}  # fmt: skip
QLORA_WEIGHTS = {
    "value": 35, "unit": "GB", "quantity": "bytes", "tolerance": "2%",
    "mistakes": [
        {"value": 140, "unit": "GB", "feedback": "140 GB is the model in bf16."},
        {"value": 280, "unit": "GB", "feedback": "280 GB is fp32."},
        {"value": 70, "unit": "GB", "feedback": "70 GB is one byte per parameter."},
        {"value": 32.6, "unit": "GB", "feedback": "32.6 is the answer in GiB."},
    ],
}  # fmt: skip
SPECS = {
    "full_ft": FULL_FT,
    "adapter": ADAPTER_PARAMS,
    "percent": TRAINABLE_PERCENT,
    "nf4": NF4_LEVELS,
    "qlora": QLORA_WEIGHTS,
}
KEYS = {name: answer_key_from_spec(spec) for name, spec in SPECS.items()}
# The same answers with no anticipated mistakes, so the generic diagnoses show.
BARE_KEYS = {name: answer_key_from_spec({**spec, "mistakes": []}) for name, spec in SPECS.items()}
BARE_KEYS["percent_abs"] = answer_key_from_spec(
    {"value": 0.390625, "unit": "%", "quantity": "percent", "tolerance": "±0.005"}
)
BARE_KEYS["gib"] = answer_key_from_spec({"value": 104.31, "unit": "GiB", "quantity": "bytes", "tolerance": "1%"})
BARE_KEYS["tb"] = answer_key_from_spec({"value": 1.12, "unit": "TB", "quantity": "bytes", "tolerance": "1%"})
BARE_KEYS["millions"] = answer_key_from_spec({"value": 4.19, "unit": "M", "quantity": "parameters", "tolerance": "1%"})

CHAPTER = [
    # (exercise, typed, verdict, reason, exact feedback or None to skip the text)
    ("full_ft", "112", "correct", "correct", "112 GB — correct."),
    ("full_ft", "112 GB", "correct", "correct", "112 GB — correct."),
    ("full_ft", "112GB", "correct", "correct", "112 GB — correct."),
    ("full_ft", "≈ 112 GB", "correct", "correct", "112 GB — correct."),
    ("full_ft", "112 gigabytes", "correct", "correct", "112 GB — correct."),
    ("full_ft", "1.12e2", "correct", "correct", "112 GB — correct."),
    ("full_ft", "1.12×10^2 GB", "correct", "correct", "112 GB — correct."),
    ("full_ft", "0.112 TB", "correct", "correct", "0.112 TB = 112 GB — correct."),
    ("full_ft", "112000 MB", "correct", "correct", "112,000 MB = 112 GB — correct."),
    ("full_ft", "104.3 GiB", "correct", "correct", "104.3 GiB = 112 GB — correct."),
    ("full_ft", "1.12e11 bytes", "correct", "correct", "112,000,000,000 bytes = 112 GB — correct."),
    ("full_ft", "112 billion bytes", "correct", "correct", None),
    ("full_ft", "111", "correct", "correct", "111 GB — correct (exact value: 112 GB)."),
    ("full_ft", "14", "incorrect", "mistake", "14 GB is the bf16 weights alone."),
    ("full_ft", "14 GB", "incorrect", "mistake", "14 GB is the bf16 weights alone."),
    ("full_ft", "14000 MB", "incorrect", "mistake", "14 GB is the bf16 weights alone."),
    ("full_ft", "56", "incorrect", "mistake", "That is 8 bytes per parameter."),
    ("full_ft", "28 GB", "incorrect", "mistake", "28 GB is one fp32 copy of the weights."),
    ("full_ft", "104.3", "incorrect", "mistake", "104.3 is the answer in GiB."),
    ("full_ft", "104", "incorrect", "mistake", "104.3 is the answer in GiB."),
    ("full_ft", "112000000000", "incorrect", "bare_unit", None),
    ("full_ft", "65536 params", "incorrect", "incompatible_unit", None),
    ("full_ft", "abc", "unreadable", "unreadable", None),
    ("adapter", "65536", "correct", "correct", "65,536 parameters — correct."),
    ("adapter", "65,536", "correct", "correct", "65,536 parameters — correct."),
    ("adapter", "65 536", "correct", "correct", "65,536 parameters — correct."),
    ("adapter", "2^16", "correct", "correct", "65,536 parameters — correct."),
    ("adapter", "65536 params", "correct", "correct", "65,536 parameters — correct."),
    (
        "adapter",
        "65.5k",
        "correct",
        "correct",
        "65.5k = 65,500 parameters — correct (exact value: 65,536 parameters).",
    ),  # fmt: skip
    ("adapter", "65.5K", "correct", "correct", None),
    ("adapter", "6.55e4", "correct", "correct", None),
    ("adapter", "0.065536M", "correct", "correct", "0.065536M = 65,536 parameters — correct."),
    ("adapter", "32768", "incorrect", "mistake", "32,768 is one of the two matrices."),
    ("adapter", "32,768", "incorrect", "mistake", "32,768 is one of the two matrices."),
    ("adapter", "32.8k", "incorrect", "mistake", "32,768 is one of the two matrices."),
    ("adapter", "16777216", "incorrect", "mistake", "16,777,216 is d², the full update."),
    ("adapter", "16.8M", "incorrect", "mistake", "16,777,216 is d², the full update."),
    ("adapter", "64", "incorrect", "mistake", "64 is r²."),
    ("adapter", "4096*8*2", "unreadable", "unreadable", None),
    ("percent", "0.39", "correct", "correct", "0.39% — correct (exact value: 0.390625%)."),
    ("percent", "0.39%", "correct", "correct", "0.39% — correct (exact value: 0.390625%)."),
    ("percent", ".39", "correct", "correct", None),
    ("percent", "0.390625", "correct", "correct", "0.390625% — correct."),
    ("percent", "0.39 percent", "correct", "correct", None),
    ("percent", "0.195", "incorrect", "mistake", "0.195% counts only one of the two matrices."),
    ("percent", "0.195%", "incorrect", "mistake", "0.195% counts only one of the two matrices."),
    (
        "percent",
        "0.0039",
        "incorrect",
        "percent_fraction",
        "0.0039 looks like a fraction, but the question asks for a percent: multiply the fraction by 100.",
    ),  # fmt: skip
    ("percent", "0.00390625", "incorrect", "percent_fraction", None),
    ("percent", "0,39", "unreadable", "unreadable", None),
    ("nf4", "16", "correct", "correct", "16 — correct."),
    ("nf4", "16 levels", "correct", "correct", "16 — correct."),
    ("nf4", "2^4", "correct", "correct", "16 — correct."),
    ("nf4", "2⁴", "correct", "correct", "16 — correct."),
    ("nf4", "1.6e1", "correct", "correct", "16 — correct."),
    ("nf4", "8", "incorrect", "mistake", "8 is 2b (or 2^(b-1))."),
    ("nf4", "15", "incorrect", "mistake", "15 is the largest index."),
    ("nf4", "4", "incorrect", "mistake", "4 is the number of bits."),
    ("nf4", "16.5", "incorrect", "too_high", "Not quite: 16.5 is too high."),
    ("nf4", "16 GB", "incorrect", "incompatible_unit", "“16 GB” is a memory size, but this question asks for a count."),
    ("qlora", "35", "correct", "correct", "35 GB — correct."),
    ("qlora", "35 GB", "correct", "correct", "35 GB — correct."),
    ("qlora", "3.5e10 bytes", "correct", "correct", "35,000,000,000 bytes = 35 GB — correct."),
    ("qlora", "32.6 GiB", "correct", "correct", "32.6 GiB = 35 GB — correct."),
    ("qlora", "35000 MB", "correct", "correct", None),
    ("qlora", "140", "incorrect", "mistake", "140 GB is the model in bf16."),
    ("qlora", "0.14 TB", "incorrect", "mistake", "140 GB is the model in bf16."),
    ("qlora", "280 GB", "incorrect", "mistake", "280 GB is fp32."),
    ("qlora", "70", "incorrect", "mistake", "70 GB is one byte per parameter."),
    ("qlora", "32.6", "incorrect", "mistake", "32.6 is the answer in GiB."),
    ("qlora", "0.35%", "incorrect", "incompatible_unit", None),
]


@pytest.mark.parametrize(("exercise", "typed", "verdict", "reason", "feedback"), CHAPTER)
def test_chapter_exercises(exercise: str, typed: str, verdict: str, reason: str, feedback: str | None) -> None:
    grade = grade_answer(KEYS[exercise], typed)
    assert (grade.verdict, grade.reason) == (verdict, reason), grade.feedback
    if feedback is not None:
        assert grade.feedback == feedback


DIAGNOSES = [
    # (key without mistakes, typed, reason, exact feedback)
    (
        "full_ft",
        "104.3",
        "bare_unit",
        "104.3 looks like the size in GiB ($2^{30}$ bytes), but this question asks for GB ($10^9$ bytes). "
        "Convert it, or type the unit too: “104.3 GiB”.",
    ),
    (
        "qlora",
        "32.6",
        "bare_unit",
        "32.6 looks like the size in GiB ($2^{30}$ bytes), but this question asks for GB ($10^9$ bytes). "
        "Convert it, or type the unit too: “32.6 GiB”.",
    ),
    (
        "full_ft",
        "112000000000",
        "bare_unit",
        "With no unit we read 112,000,000,000 as GB, but it is the answer in bytes. "
        "Type the unit too (“112,000,000,000 bytes”) or convert to GB.",
    ),
    (
        "full_ft",
        "0.112",
        "bare_unit",
        "With no unit we read 0.112 as GB, but it is the answer in TB. "
        "Type the unit too (“0.112 TB”) or convert to GB.",
    ),
    (
        "adapter",
        "65.5",
        "bare_unit",
        "With no suffix we read 65.5 as 65.5 parameters. If you meant thousands, type the suffix too: “65.5k”.",
    ),
    (
        "full_ft",
        "104.3 GB",
        "binary_prefix",
        "Close: 104.3 GB is off by a factor of 1.074, the gap between GiB ($2^{30}$ bytes) and GB ($10^9$ bytes). "
        "Check which of the two you divided by.",
    ),
    ("full_ft", "120.3 GB", "binary_prefix", None),
    (
        "gib",
        "112",
        "bare_unit",
        "112 looks like the size in GB ($10^9$ bytes), but this question asks for GiB ($2^{30}$ bytes). "
        "Convert it, or type the unit too: “112 GB”.",
    ),
    ("gib", "112 GiB", "binary_prefix", None),
    (
        "tb",
        "1.0186 TB",
        "binary_prefix",
        "Close: 1.0186 TB is off by a factor of 1.1, the gap between TiB ($2^{40}$ bytes) and TB ($10^{12}$ bytes). "
        "Check which of the two you divided by.",
    ),
    ("qlora", "37.6", "binary_prefix", None),
    ("percent", "0.0039", "percent_fraction", None),
    ("percent", "0.0039%", "percent_fraction", None),
    ("percent_abs", "0.0039", "percent_fraction", None),
    ("percent_abs", "0.00390625", "percent_fraction", None),
    (
        "percent",
        "39",
        "percent_fraction",
        "39% is 100 times too large: it looks like the percent was multiplied by 100 twice.",
    ),
    ("percent", "39%", "percent_fraction", None),
    (
        "full_ft",
        "112 MB",
        "prefix_scale",
        "112 MB = 0.112 GB is 1,000 times too small. Check your unit prefixes: kB, MB, GB and TB are each 1,000 apart.",
    ),
    ("full_ft", "112 TB", "prefix_scale", None),
    (
        "millions",
        "4194304",
        "prefix_scale",
        "4,194,304M parameters is 1,000,000 times too large. "
        "Check your powers of ten: k, M and B are each 1,000 apart.",
    ),
    ("adapter", "65.5", "bare_unit", None),
    ("adapter", "65536000", "prefix_scale", None),
    (
        "adapter",
        "655360",
        "power_of_ten",
        "655,360 parameters is 10 times too large. Check the decimal point and your powers of ten.",
    ),
    ("full_ft", "11.2", "power_of_ten", None),
    (
        "adapter",
        "32768",
        "power_of_two",
        "32,768 parameters is off by exactly a factor of 2 (too small). "
        "Did you count only part of it, or something twice?",
    ),
    ("adapter", "131072", "power_of_two", None),
    ("adapter", "16777216", "power_of_two", None),  # d² is 256 times 2dr
    ("full_ft", "56", "power_of_two", None),
    ("full_ft", "14", "power_of_two", None),
    ("qlora", "140", "power_of_two", None),
    ("nf4", "8", "power_of_two", None),
    ("nf4", "4", "power_of_two", None),
    ("percent", "0.195", "power_of_two", None),
    ("full_ft", "-112", "sign", "Right size, wrong sign: check the sign of your answer."),
    ("adapter", "−65536", "sign", None),
    ("full_ft", "150", "too_high", "Not quite: 150 GB is too high."),
    ("full_ft", "0.2 TB", "too_high", "Not quite: 0.2 TB = 200 GB is too high."),
    ("full_ft", "100", "too_low", "Not quite: 100 GB is too low."),
    ("full_ft", "7B", "too_low", None),  # 7 bytes in a bytes question
    ("full_ft", "-5", "too_low", "Not quite: -5 GB has the wrong sign."),
    ("nf4", "15", "too_low", "Not quite: 15 is too low."),
    ("nf4", "0", "too_low", "Not quite: 0 is too low."),
    ("adapter", "7B", "too_high", "Not quite: 7B = 7,000,000,000 parameters is too high."),
]


@pytest.mark.parametrize(("exercise", "typed", "reason", "feedback"), DIAGNOSES)
def test_diagnoses_slips(exercise: str, typed: str, reason: str, feedback: str | None) -> None:
    grade = grade_answer(BARE_KEYS[exercise], typed)
    assert (grade.verdict, grade.reason) == ("incorrect", reason), grade.feedback
    if feedback is not None:
        assert grade.feedback == feedback


INCOMPATIBLE = [
    ("adapter", "65536 GB", "“65536 GB” is a memory size, but this question asks for a number of parameters."),
    ("full_ft", "0.39%", "“0.39%” is a percentage, but this question asks for a memory size in GB."),
    ("full_ft", "7B params", "“7B params” is a count, but this question asks for a memory size in GB."),
    ("percent", "0.39 GB", "“0.39 GB” is a memory size, but this question asks for a percentage."),
    ("percent", "4k", "“4k” is a count, but this question asks for a percentage."),
    ("nf4", "16%", "“16%” is a percentage, but this question asks for a count."),
]


@pytest.mark.parametrize(("exercise", "typed", "feedback"), INCOMPATIBLE)
def test_a_unit_of_the_wrong_kind_is_incorrect_and_says_so(exercise: str, typed: str, feedback: str) -> None:
    grade = grade_answer(KEYS[exercise], typed)
    assert (grade.verdict, grade.reason, grade.feedback) == ("incorrect", "incompatible_unit", feedback)
    assert grade.parsed is not None


@pytest.mark.parametrize("typed", ["", "abc", "12 apples", "1.2.3", "112G", "65,5", "x" * 300, "1e308 PB"])
def test_unreadable_answers_carry_no_parse(typed: str) -> None:
    grade = grade_answer(KEYS["full_ft"], typed)
    assert (grade.verdict, grade.parsed) == ("unreadable", None)
    assert grade.feedback


@pytest.mark.parametrize("typed", ["131072", "655360", "64", "65", "1e5", "16777216", "65.5", "-65536", "65536 GB"])
def test_incorrect_feedback_never_states_the_answer(typed: str) -> None:
    grade = grade_answer(BARE_KEYS["adapter"], typed)
    assert grade.verdict == "incorrect"
    assert "65,536" not in grade.feedback and "65536" not in grade.feedback.replace("“65536 GB”", "")


def test_a_mistake_may_carry_its_own_tolerance() -> None:
    key = answer_key_from_spec(
        {
            "value": 112,
            "unit": "GB",
            "quantity": "bytes",
            "tolerance": "1%",
            "mistakes": [
                {"value": 14, "unit": "GB", "tolerance": "10%", "feedback": "weights only"},
                {"value": 56, "unit": "GB", "tolerance": "±0.5", "feedback": "moments only"},
            ],
        }  # fmt: skip
    )
    assert grade_answer(key, "15").feedback == "weights only"  # 7% off: inside the mistake's own 10%
    assert grade_answer(key, "56.4").feedback == "moments only"
    assert grade_answer(key, "57").reason != "mistake"  # outside ±0.5 GB


def test_an_absolute_tolerance_is_in_the_answers_unit() -> None:
    key = BARE_KEYS["percent_abs"]
    assert grade_answer(key, "0.386").verdict == "correct"
    assert grade_answer(key, "0.3955").verdict == "correct"
    assert grade_answer(key, "0.397").verdict == "incorrect"


def test_an_exact_key_still_accepts_float_dust() -> None:
    key = answer_key_from_spec({"value": 112, "unit": "GB", "quantity": "bytes", "tolerance": 0})
    assert grade_answer(key, "1.12e11 bytes").verdict == "correct"
    assert grade_answer(key, "1.12×10^2").verdict == "correct"
    assert grade_answer(key, "112.1").verdict == "incorrect"


@pytest.mark.parametrize(("exercise", "expected"), [
    ("full_ft", "112 GB"), ("adapter", "65,536 parameters"), ("percent", "0.390625%"),
    ("nf4", "16"), ("qlora", "35 GB"),
])  # fmt: skip
def test_formats_the_expected_answer(exercise: str, expected: str) -> None:
    assert format_expected(KEYS[exercise]) == expected


@pytest.mark.parametrize("key", list(KEYS.values()), ids=list(KEYS))
def test_grading_never_raises(key: AnswerKey) -> None:
    alphabet = "0123456789.,eE+-−×x*^%~≈ GgBbkKMiT²⁻\u2009_/()params"
    rng = random.Random(112)
    for _ in range(1500):
        typed = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        grade = grade_answer(key, typed)
        assert grade.verdict in ("correct", "incorrect", "unreadable")
        assert grade.feedback
        assert (grade.parsed is None) == (grade.verdict == "unreadable")
