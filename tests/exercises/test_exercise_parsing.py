"""Reading what students type: every accepted spelling, and every refusal with its message."""

from __future__ import annotations

import random
import time

import pytest

from app.exercises.answers import MAX_LENGTH, ParsedAnswer, UnreadableAnswer, parse_answer
from app.exercises.units import Quantity

READ = [
    # (typed, question's quantity, value, unit, dimension)
    ("112", "bytes", 112, None, None),
    ("112 GB", "bytes", 112, "GB", "memory"),
    ("112GB", "bytes", 112, "GB", "memory"),
    ("112 gb", "bytes", 112, "GB", "memory"),
    ("112 gigabytes", "bytes", 112, "GB", "memory"),
    ("1 gigabyte", "bytes", 1, "GB", "memory"),
    ("1.12e2", "number", 112, None, None),
    ("1.12E2", "number", 112, None, None),
    ("1.12e+2", "number", 112, None, None),
    ("1e-3", "number", 0.001, None, None),
    ("1.12×10^2", "number", 112, None, None),
    ("1.12 × 10^2", "number", 112, None, None),
    ("1.12 x 10^2", "number", 112, None, None),
    ("1.12X10^2", "number", 112, None, None),
    ("1.12*10**2", "number", 112, None, None),
    ("1.12·10²", "number", 112, None, None),
    ("1.12⋅10^2", "number", 112, None, None),
    ("1.12 × 10⁻²", "number", 0.0112, None, None),
    ("10⁹", "number", 1e9, None, None),
    ("10^9", "number", 1e9, None, None),
    ("2^4", "count", 16, None, None),
    ("2 ^ 4", "count", 16, None, None),
    ("2**4", "count", 16, None, None),
    ("2⁴", "count", 16, None, None),
    ("65,536", "parameters", 65536, None, None),
    ("65 536", "parameters", 65536, None, None),
    ("65\u2009536", "parameters", 65536, None, None),  # thin space
    ("65\u00a0536", "parameters", 65536, None, None),  # no-break space
    ("65\u202f536", "parameters", 65536, None, None),  # narrow no-break space
    ("65_536", "parameters", 65536, None, None),
    ("16,777,216", "parameters", 16777216, None, None),
    ("1,234,567.5", "number", 1234567.5, None, None),
    ("1,500", "number", 1500, None, None),  # a comma before three digits groups thousands
    ("65.5k", "parameters", 65.5, "k", "amount"),
    ("65.5K", "parameters", 65.5, "k", "amount"),
    ("65.5 thousand", "parameters", 65.5, "k", "amount"),
    ("65.5k params", "parameters", 65.5, "k", "amount"),
    ("65536 parameters", "parameters", 65536, None, "amount"),
    ("6.55e4", "parameters", 65500, None, None),
    ("4.19M", "parameters", 4.19, "M", "amount"),
    ("4.19 million", "parameters", 4.19, "M", "amount"),
    ("7B", "parameters", 7, "B", "amount"),
    ("7B", "count", 7, "B", "amount"),
    ("7 bn", "parameters", 7, "B", "amount"),
    ("7G", "parameters", 7, "B", "amount"),
    ("7 billion parameters", "parameters", 7, "B", "amount"),
    ("7B", "bytes", 7, "B", "memory"),  # in a bytes question B is bytes
    ("16 levels", "count", 16, None, "amount"),
    ("16 distinct values", "count", 16, None, "amount"),
    ("0.39%", "percent", 0.39, "%", "percent"),
    ("0.39 %", "percent", 0.39, "%", "percent"),
    ("0.39 percent", "percent", 0.39, "%", "percent"),
    ("0.39 per cent", "percent", 0.39, "%", "percent"),
    (".39", "percent", 0.39, None, None),
    ("112.", "bytes", 112, None, None),
    ("−5", "number", -5, None, None),  # Unicode minus
    ("–5", "number", -5, None, None),  # en dash
    ("- 5", "number", -5, None, None),
    ("+5", "number", 5, None, None),
    ("  112 GB  ", "bytes", 112, "GB", "memory"),
    ("\t112\n", "bytes", 112, None, None),
    ("~112", "bytes", 112, None, None),
    ("≈ 112 GB", "bytes", 112, "GB", "memory"),
    ("about 112 GB", "bytes", 112, "GB", "memory"),
    ("approx. 112", "bytes", 112, None, None),
    ("= 112", "bytes", 112, None, None),
    ("112 GB.", "bytes", 112, "GB", "memory"),
    ("112\u200b GB", "bytes", 112, "GB", "memory"),  # zero-width space pasted from a document
    ("104.3 GiB", "bytes", 104.3, "GiB", "memory"),
    ("104.3 gibibytes", "bytes", 104.3, "GiB", "memory"),
    ("0.112 TB", "bytes", 0.112, "TB", "memory"),
    ("112000 MB", "bytes", 112000, "MB", "memory"),
    ("1 kB", "bytes", 1, "kB", "memory"),
    ("1 KB", "bytes", 1, "kB", "memory"),
    ("8 bits", "bytes", 8, "bit", "memory"),
    ("1.12e11 bytes", "bytes", 1.12e11, "B", "memory"),
    ("112 billion bytes", "bytes", 112e9, "B", "memory"),
    ("1e3GB", "bytes", 1000, "GB", "memory"),
    # A real unit of another kind still parses; the grader explains the mismatch.
    ("65536 GB", "parameters", 65536, "GB", "memory"),
    ("0.39%", "bytes", 0.39, "%", "percent"),
    ("7B params", "bytes", 7, "B", "amount"),
    ("16 GB", "count", 16, "GB", "memory"),
]


@pytest.mark.parametrize(("typed", "quantity", "value", "unit", "dimension"), READ)
def test_reads(typed: str, quantity: Quantity, value: float, unit: str | None, dimension: str | None) -> None:
    parsed = parse_answer(typed, quantity)
    assert parsed.value == pytest.approx(value, rel=1e-12)
    assert (parsed.unit, parsed.dimension) == (unit, dimension)


def test_powers_of_ten_are_exact_like_e_notation() -> None:
    assert parse_answer("1.12×10^2").value == parse_answer("1.12e2").value == 112.0


def test_keeps_what_was_typed_tidied() -> None:
    assert parse_answer("  65\u2009536   params ", "parameters") == ParsedAnswer(65536, None, "amount", "65 536 params")


UNREADABLE = [
    # (typed, question's quantity, exact message)
    ("", "bytes", "Type a number first, for example 112 or 1.12e2."),
    ("   ", "bytes", "Type a number first, for example 112 or 1.12e2."),
    (
        "abc",
        "bytes",
        "We couldn't find a number at the start of “abc”. "
        "Type a number such as 112, 0.39 or 1.12e2, optionally followed by a unit.",
    ),
    ("1.2.3", "number", "We read 1.2 and then “.3”. Type a single number."),
    ("4096 8", "parameters", "We read 4,096 and then “8”. Type a single number."),
    (
        "12 apples",
        "bytes",
        "We read the number 12, but not “apples”. Units understood here: bytes, kB, MB, GB, TB, KiB, MiB, GiB, TiB.",
    ),
    (
        "65.5kparams",
        "parameters",
        "We read the number 65.5, but not “kparams”. "
        "Type a plain number, optionally with a suffix such as k, M or B (65.5k, 7B).",
    ),
    (
        "0.39 points",
        "percent",
        "We read the number 0.39, but not “points”. Type the percent as a plain number, optionally followed by %.",
    ),
    (
        "65,5",
        "parameters",
        "We read 65 and then “,5”. Use a point for decimals (65.5); a comma only groups thousands (65,536).",
    ),
    (
        "0,39",
        "percent",
        "We read 0 and then “,39”. Use a point for decimals (65.5); a comma only groups thousands (65,536).",
    ),
    ("4096*8", "parameters", "We read 4,096 and then “*8”. Do the arithmetic first and type a single number."),
    ("1/256", "percent", "We read 1 and then “/256”. Do the arithmetic first and type a single number."),
    (
        "112G",
        "bytes",
        "We read 112, but “G” on its own is not a unit of memory: "
        "write GB (decimal, powers of 1000) or GiB (binary, powers of 1024).",
    ),
    (
        "112 m",
        "bytes",
        "We read 112, but “m” on its own is not a unit of memory: "
        "write MB (decimal, powers of 1000) or MiB (binary, powers of 1024).",
    ),
    ("1e999", "number", "That number is too large to work with."),
    ("1e300 billion bytes", "bytes", "That number is too large to work with."),
    ("10^99999", "number", "That number is too large (or undefined) to work with."),
    ("0^-1", "number", "That number is too large (or undefined) to work with."),
    ("1" * (MAX_LENGTH + 1), "number", "That answer is too long to read. Type just the number and its unit."),
]


@pytest.mark.parametrize(("typed", "quantity", "message"), UNREADABLE)
def test_refuses_with_a_message(typed: str, quantity: Quantity, message: str) -> None:
    with pytest.raises(UnreadableAnswer) as caught:
        parse_answer(typed, quantity)
    assert caught.value.message == message


def test_long_garbage_is_quoted_short() -> None:
    with pytest.raises(UnreadableAnswer) as caught:
        parse_answer("12 " + "z" * 150, "bytes")
    assert "“" + "z" * 39 + "…”" in caught.value.message
    assert len(caught.value.message) < 160


ADVERSARIAL = [
    "1" * MAX_LENGTH,
    "1," * (MAX_LENGTH // 2),
    "1 " * (MAX_LENGTH // 2),
    "1,000" * (MAX_LENGTH // 5),
    "1 000" * (MAX_LENGTH // 5),
    "1_" * (MAX_LENGTH // 2),
    "~" * MAX_LENGTH,
    "≈ " * (MAX_LENGTH // 2),
    "about " * (MAX_LENGTH // 6),
    "1e" + "9" * (MAX_LENGTH - 2),
    "2^" + "9" * (MAX_LENGTH - 2),
    "." * MAX_LENGTH,
    "²" * MAX_LENGTH,
    "1" + " x 10" * (MAX_LENGTH // 5 - 1),
    "\u2009" * MAX_LENGTH,
]


def test_hostile_input_is_fast_and_never_crashes() -> None:
    start = time.perf_counter()
    for typed in ADVERSARIAL:
        for quantity in ("bytes", "parameters", "percent", "count"):
            try:
                parse_answer(typed, quantity)
            except UnreadableAnswer:
                pass
    # Linear parsing takes well under a millisecond each; backtracking would take seconds.
    assert time.perf_counter() - start < 0.5


def test_random_text_only_ever_parses_or_is_unreadable() -> None:
    alphabet = "0123456789.,eE+-−×x*^%~≈ GgBbkKMiT²³⁻\u2009_/()abc"
    rng = random.Random(6)
    for _ in range(3000):
        typed = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        try:
            parsed = parse_answer(typed, rng.choice(("bytes", "parameters", "percent", "count", "number")))
        except UnreadableAnswer as exc:
            assert exc.message
        else:
            assert parsed.value == parsed.value  # never NaN
