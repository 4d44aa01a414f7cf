"""Reading what a student typed into a number and an optional unit.

Accepted, in order: an optional approximation mark (``~``, ``≈``, ``about``),
an optional sign (``-``, ``+``, the Unicode minus ``−``), a number, an optional
power of ten, and optional unit text (see ``units``).

Numbers: ``112``, ``.39``, ``112.``, ``1.12e2``/``1.12E2``, ``1.12×10^2``,
``1.12 x 10^2``, ``1.12*10**2``, ``1.12·10²`` (superscript exponents), and a
plain power such as ``2^4`` or ``10⁹``. Thousands may be grouped with commas,
spaces (also thin and no-break spaces) or underscores, in groups of exactly
three digits: ``65,536``, ``65 536``.

Ambiguous cases, decided once:

- A comma followed by exactly three digits groups thousands, so ``1,500`` is
  fifteen hundred. Any other comma (``65,5``) is refused with a message asking
  for a decimal point, because guessing European decimals would silently turn
  ``1,500`` into 1.5 for some students and not others.
- ``B`` after a number is *bytes* in a bytes question and *billion* in a
  parameter or count question (``7B``). In a bytes question ``k``, ``M``,
  ``G``, ``T`` on their own are refused: "112G" could mean GB or GiB.
- A bare number carries no unit; the grader reads it in the question's unit.
- Arithmetic (``4096*8``, ``1/256``) is refused: the exercise asks for the
  result.

Unit text that is a real unit of another dimension (``65536 GB`` in a
parameter question) parses fine, so the grader can say the unit is wrong;
unit text that is no unit at all makes the answer unreadable.

Every pattern is anchored and free of nested quantifiers over overlapping
input, and input is capped at ``MAX_LENGTH``, so parsing is linear in the
length of what was typed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from app.exercises.units import (
    DIMENSION_OF,
    Dimension,
    Quantity,
    format_number,
    is_bare_scale_letter,
    lookup_unit,
)

__all__ = ["MAX_LENGTH", "ParsedAnswer", "UnreadableAnswer", "parse_answer", "quote"]

MAX_LENGTH = 200


@dataclass(frozen=True)
class ParsedAnswer:
    """A number and the unit it was typed with.

    ``dimension`` is None for a bare number (no unit text at all); ``unit`` is
    the canonical symbol ("GB", "%", "k") or None for a bare number or a plain
    count such as "65536 params".
    """

    value: float
    unit: str | None
    dimension: Dimension | None
    text: str  # the answer as typed, whitespace tidied, for feedback


class UnreadableAnswer(ValueError):
    """The text is not a number we can read; the message says what went wrong."""

    @property
    def message(self) -> str:
        return str(self.args[0])


_NUMBER = re.compile(
    r"""
    (?P<sign>[+-])?[ ]?
    (?P<mantissa>
        \d{1,3}(?:,\d{3})+(?:\.\d*)?
      | \d{1,3}(?:[ ]\d{3})+(?:\.\d*)?
      | \d{1,3}(?:_\d{3})+(?:\.\d*)?
      | \d+(?:\.\d*)?
      | \.\d+
    )
    (?:
        [eE](?P<e_exponent>[+-]?\d+)
      | [ ]?[xX×*][ ]?10[ ]?(?:\^|\*\*)[ ]?(?P<ten_exponent>[+-]?\d+)
      | [ ]?(?:\^|\*\*)[ ]?(?P<power>[+-]?\d+)
    )?
    """,
    re.VERBOSE,
)

_MINUS_SIGNS = "\u2212\u2010\u2011\u2012\u2013\ufe63\uff0d"
_TIMES_SIGNS = "\u00b7\u22c5\u2219"  # middle dots used as multiplication
_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+", strict=True))
_APPROXIMATELY = (
    "~", "≈", "≃", "∼", "=", "approximately ", "approx. ", "approx ", "about ", "around ", "roughly ", "ca. ",
)  # fmt: skip
_ARITHMETIC = "+-*/×^()="

_HINTS: dict[Dimension, str] = {
    "memory": "Units understood here: bytes, kB, MB, GB, TB, KiB, MiB, GiB, TiB.",
    "amount": "Type a plain number, optionally with a suffix such as k, M or B (65.5k, 7B).",
    "percent": "Type the percent as a plain number, optionally followed by %.",
}


def parse_answer(text: str, quantity: Quantity = "number") -> ParsedAnswer:
    """Read a typed answer in the context of the question's quantity.

    Raises UnreadableAnswer with a student-facing message.
    """
    if len(text) > MAX_LENGTH:
        raise UnreadableAnswer("That answer is too long to read. Type just the number and its unit.")
    typed = _normalize(text)
    if not typed:
        raise UnreadableAnswer("Type a number first, for example 112 or 1.12e2.")
    body = _strip_approximation(typed)
    match = _NUMBER.match(body)
    if match is None:
        raise UnreadableAnswer(
            f"We couldn't find a number at the start of {quote(typed)}. "
            "Type a number such as 112, 0.39 or 1.12e2, optionally followed by a unit."
        )
    value = _number_value(match)
    read = format_number(value)
    rest = body[match.end() :].strip()
    if not rest:
        return ParsedAnswer(value, None, None, typed)
    if rest[0] == "," and rest[1:2].isdigit():
        raise UnreadableAnswer(
            f"We read {read} and then {quote(rest)}. Use a point for decimals (65.5); "
            "a comma only groups thousands (65,536)."
        )
    if rest[0] in ".0123456789":
        raise UnreadableAnswer(f"We read {read} and then {quote(rest)}. Type a single number.")
    if rest[0] in _ARITHMETIC and len(rest) > 1:
        raise UnreadableAnswer(
            f"We read {read} and then {quote(rest)}. Do the arithmetic first and type a single number."
        )
    unit_text = rest.rstrip(".!").strip()  # a sentence's full stop is not part of the unit
    if not unit_text:
        return ParsedAnswer(value, None, None, typed)
    return _with_unit(value, unit_text, quantity, typed, read)


def quote(text: str, limit: int = 40) -> str:
    """Echo typed text in feedback, cut short so a pasted paragraph doesn't fill the page."""
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"“{shown.replace('$', chr(92) + '$')}”"  # a typed $ is text, not math, when feedback is shown


def _with_unit(value: float, unit_text: str, quantity: Quantity, typed: str, read: str) -> ParsedAnswer:
    dimension = DIMENSION_OF[quantity]
    found = lookup_unit(unit_text, dimension)
    if found is None and dimension == "memory" and is_bare_scale_letter(unit_text):
        raise UnreadableAnswer(
            f"We read {read}, but {quote(unit_text)} on its own is not a unit of memory: "
            f"write {unit_text.upper()}B (decimal, powers of 1000) or {unit_text.upper()}iB (binary, powers of 1024)."
        )
    if found is None:
        # A real unit of another dimension: readable, and the grader explains the mismatch.
        for other in ("memory", "percent", "amount"):
            if other != dimension and (found := lookup_unit(unit_text, other)) is not None:
                break
    if found is None:
        raise UnreadableAnswer(f"We read the number {read}, but not {quote(unit_text)}. {_HINTS[dimension]}")
    unit, multiplier = found
    if not math.isfinite(value * multiplier):
        raise UnreadableAnswer("That number is too large to work with.")
    return ParsedAnswer(value * multiplier, unit.symbol, unit.dimension, typed)


def _normalize(text: str) -> str:
    """One spelling for the many ways to type a minus, a space, a times sign or an exponent."""
    out: list[str] = []
    in_superscript = False
    for char in text:
        if char in _SUPERSCRIPTS:
            if not in_superscript:
                out.append("^")
            out.append(_SUPERSCRIPTS[char])
            in_superscript = True
            continue
        in_superscript = False
        if char in _MINUS_SIGNS:
            out.append("-")
        elif char in _TIMES_SIGNS:
            out.append("×")
        elif char.isspace():
            out.append(" ")
        elif char not in "\u200b\u200c\u200d\ufeff":  # zero-width characters pasted from documents
            out.append(char)
    return " ".join("".join(out).split())


def _strip_approximation(text: str) -> str:
    """Drop leading "about"-style marks: an estimate is graded like any answer."""
    changed = True
    while changed:
        changed = False
        for mark in _APPROXIMATELY:
            if text.lower().startswith(mark):
                text = text[len(mark) :].lstrip()
                changed = True
    return text


def _number_value(match: re.Match[str]) -> float:
    mantissa = match["mantissa"].replace(",", "").replace(" ", "").replace("_", "")
    sign = -1.0 if match["sign"] == "-" else 1.0
    try:
        if match["e_exponent"] is not None:
            value = float(f"{mantissa}e{match['e_exponent']}")
        elif match["ten_exponent"] is not None:
            # Through the decimal string, so 1.12×10^2 is exactly 112 like 1.12e2.
            value = float(f"{mantissa}e{match['ten_exponent']}")
        elif match["power"] is not None:
            value = math.pow(float(mantissa), float(match["power"]))
        else:
            value = float(mantissa)
    except (OverflowError, ValueError, ZeroDivisionError):
        raise UnreadableAnswer("That number is too large (or undefined) to work with.") from None
    if not math.isfinite(value):
        raise UnreadableAnswer("That number is too large to work with.")
    return sign * value
