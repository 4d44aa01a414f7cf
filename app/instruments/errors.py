"""The one exception the instruments raise, and the validators that raise it.

Every instrument input passes through one of the ``parse_*`` helpers below, so a
bad value anywhere surfaces as a single exception type carrying the offending
field and a sentence a student can act on. It is one of the house's errors
(``app.errors.TextbookError``, status 422): the web layer shows it inside the
instrument, or answers it as JSON; nothing here knows about HTTP beyond that number.

The helpers accept what a plain HTML form submits (strings such as ``"16"`` or
``"8,192"``) as well as real numbers, because the no-JavaScript path hands the
server raw text and the same validation must apply to both paths.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TypeVar

from app.errors import TextbookError

__all__ = [
    "InstrumentInputError",
    "parse_bool",
    "parse_choice",
    "parse_float",
    "parse_int",
]


class InstrumentInputError(TextbookError, ValueError):
    """An instrument input that is malformed or out of range.

    ``field`` names the input (as the form and the JSON API name it) so the page
    can show the message next to the right control; the student reads both
    ("r: must be between 1 and 256"). A ValueError too: validators of content
    (``textbook check``) catch ValueError.
    """

    status = 422
    field: str

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, field=field)

    @property
    def student_message(self) -> str:
        return f"{self.field}: {self.message}"

    def __str__(self) -> str:
        return self.student_message


_Number = TypeVar("_Number", int, float)


def _strip_number_text(raw: str) -> str:
    # Students type thousands separators ("8,192", "8 192"); they are not errors.
    return raw.strip().replace(",", "").replace("_", "").replace(" ", "")


def parse_int(field: str, raw: object, *, low: int, high: int) -> int:
    """An integer in ``[low, high]`` from an int or its decimal text."""
    wanted = f"a whole number from {low:,} to {high:,}"
    # bool is an int subclass; True as "1" would hide a wiring bug.
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, str):
        value = _number_from_text(field, raw, int, wanted)
    else:
        raise InstrumentInputError(f"must be {wanted}.", field=field)
    return _within_range(field, value, low, high, ",")


def parse_float(field: str, raw: object, *, low: float, high: float) -> float:
    """A finite number in ``[low, high]`` from a number or its decimal text."""
    wanted = f"a number from {low:g} to {high:g}"
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
    elif isinstance(raw, str):
        value = _number_from_text(field, raw, float, wanted)
    else:
        raise InstrumentInputError(f"must be {wanted}.", field=field)
    if not math.isfinite(value):
        raise InstrumentInputError(f"must be a finite number from {low:g} to {high:g}.", field=field)
    return _within_range(field, value, low, high, "g")


def _number_from_text(field: str, raw: str, convert: Callable[[str], _Number], wanted: str) -> _Number:
    """What a student typed, read by `convert`; `wanted` names what was expected ("a number from 0 to 1")."""
    text = _strip_number_text(raw)
    if not text:
        raise InstrumentInputError(f"is missing; enter {wanted}.", field=field)
    try:
        return convert(text)
    except ValueError:
        raise InstrumentInputError(f"must be {wanted}, not {raw.strip()!r}.", field=field) from None


def _within_range(field: str, value: _Number, low: _Number, high: _Number, shown: str) -> _Number:
    if not low <= value <= high:
        raise InstrumentInputError(
            f"must be between {low:{shown}} and {high:{shown}}; got {value:{shown}}.", field=field
        )
    return value


_TRUE_WORDS = frozenset({"1", "true", "on", "yes"})
_FALSE_WORDS = frozenset({"0", "false", "off", "no", ""})


def parse_bool(field: str, raw: object) -> bool:
    """A checkbox value: a bool, or the words browsers and query strings use."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise InstrumentInputError("must be on or off (true or false).", field=field)


def parse_choice(field: str, raw: object, choices: Iterable[str]) -> str:
    """One of ``choices``, compared without case or surrounding spaces."""
    options = tuple(choices)
    if isinstance(raw, str):
        word = raw.strip().lower()
        for option in options:
            if option.lower() == word:
                return option
    listed = ", ".join(options)
    raise InstrumentInputError(f"must be one of {listed}; got {raw!r}.", field=field)
