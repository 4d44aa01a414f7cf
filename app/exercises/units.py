"""The units an answer may carry, how they convert, and how we print them.

Every exercise asks for one *quantity*; quantities that can be converted into
each other share a *dimension*:

- ``bytes`` (dimension ``memory``): B, kB/KB, MB, GB, TB, PB are decimal
  (powers of 1000), KiB, MiB, GiB, TiB, PiB are binary (powers of 1024), and
  ``bit`` is an eighth of a byte. Spelled-out names (``gigabytes``,
  ``gibibytes``) work too, and a scale word may come first (``112 billion
  bytes``).
- ``parameters``, ``count`` and ``number`` (dimension ``amount``): plain
  numbers with an optional scale, k/K/thousand, M/million, B/G/bn/billion,
  T/trillion, optionally followed by a noun that only decorates
  (``65.5k params``, ``16 levels``). ``B`` means *billion* here, as in "a 7B
  model"; in a bytes question it means bytes.
- ``percent`` (dimension ``percent``): ``%``, ``percent``, ``per cent``,
  ``pct``. A fraction is *not* a unit: 0.0039 is never silently read as 0.39%;
  the grader diagnoses it instead.

Unit spellings are matched case-insensitively: students type ``gb`` and ``mb``
for GB and MB far more often than they mean gigabits, and no exercise here asks
for bits with a prefix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DIMENSION_OF",
    "QUANTITIES",
    "Dimension",
    "Quantity",
    "Unit",
    "convert",
    "format_number",
    "format_value",
    "is_bare_scale_letter",
    "lookup_unit",
    "unit_named",
    "units_of",
]

Quantity = Literal["bytes", "parameters", "percent", "count", "number"]
Dimension = Literal["memory", "amount", "percent"]

QUANTITIES: tuple[Quantity, ...] = ("bytes", "parameters", "percent", "count", "number")
DIMENSION_OF: dict[Quantity, Dimension] = {
    "bytes": "memory",
    "parameters": "amount",
    "count": "amount",
    "number": "amount",
    "percent": "percent",
}


@dataclass(frozen=True)
class Unit:
    """One unit: its canonical symbol and its size in the dimension's base unit.

    ``symbol`` is None for the plain unit of an amount (a bare count), so that
    "65536" and "65536 params" mean the same thing.
    """

    symbol: str | None
    dimension: Dimension
    factor: float  # bytes, items or percent per one of this unit
    spellings: tuple[str, ...]  # lower-case, as typed after the number


def _bytes(symbol: str, factor: float, *names: str) -> Unit:
    spellings = (symbol.lower(), *names, *(name + "s" for name in names))
    return Unit(symbol, "memory", factor, spellings)


_MEMORY: tuple[Unit, ...] = (
    _bytes("B", 1, "byte"),
    _bytes("kB", 1e3, "kilobyte"),
    _bytes("MB", 1e6, "megabyte"),
    _bytes("GB", 1e9, "gigabyte"),
    _bytes("TB", 1e12, "terabyte"),
    _bytes("PB", 1e15, "petabyte"),
    _bytes("KiB", 2.0**10, "kibibyte"),
    _bytes("MiB", 2.0**20, "mebibyte"),
    _bytes("GiB", 2.0**30, "gibibyte"),
    _bytes("TiB", 2.0**40, "tebibyte"),
    _bytes("PiB", 2.0**50, "pebibyte"),
    Unit("bit", "memory", 1 / 8, ("bit", "bits")),
)

_AMOUNT: tuple[Unit, ...] = (
    Unit(None, "amount", 1, ()),
    Unit("k", "amount", 1e3, ("k", "thousand", "thousands")),
    Unit("M", "amount", 1e6, ("m", "mil", "mn", "million", "millions")),
    Unit("B", "amount", 1e9, ("b", "bn", "g", "billion", "billions")),
    Unit("T", "amount", 1e12, ("t", "trillion", "trillions")),
)

_PERCENT: tuple[Unit, ...] = (Unit("%", "percent", 1, ("%", "percent", "per cent", "pct", "percentage")),)

_UNITS: dict[Dimension, tuple[Unit, ...]] = {"memory": _MEMORY, "amount": _AMOUNT, "percent": _PERCENT}

# Nouns that name what is counted; they change nothing about the value.
_AMOUNT_NOUNS = frozenset(
    {
        "parameters", "parameter", "params", "param", "trainable parameters", "weights",
        "levels", "level", "distinct levels", "quantization levels", "values", "value",
        "distinct values", "codes", "states", "items", "elements", "entries",
        "x", "×", "times",
    }
)  # fmt: skip

# Only words may scale a byte unit: letters would collide with the byte prefixes.
_SCALE_WORDS: dict[str, float] = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}

# "112G" in a bytes question: a prefix without the B; we ask which one was meant.
_SCALE_LETTERS = frozenset({"k", "m", "g", "t"})


def units_of(dimension: Dimension) -> tuple[Unit, ...]:
    return _UNITS[dimension]


def unit_named(dimension: Dimension, symbol: str | None) -> Unit:
    """The unit with this canonical symbol; raises KeyError for a symbol we never produce."""
    for unit in _UNITS[dimension]:
        if unit.symbol == symbol:
            return unit
    raise KeyError(symbol)


def lookup_unit(text: str, dimension: Dimension) -> tuple[Unit, float] | None:
    """Read unit text (what follows the number) in one dimension.

    Returns the unit and a multiplier from a leading scale word ("billion
    bytes" -> B, 1e9), or None when the text means nothing in this dimension.
    """
    words = " ".join(text.lower().split())
    if not words:
        return None
    for unit in _UNITS[dimension]:
        if words in unit.spellings:
            return unit, 1.0
    first, _, rest = words.partition(" ")
    if dimension == "amount":
        if words in _AMOUNT_NOUNS:
            return _UNITS["amount"][0], 1.0
        for unit in _AMOUNT:
            if first in unit.spellings and rest in _AMOUNT_NOUNS:
                return unit, 1.0
    if dimension == "memory" and first in _SCALE_WORDS:
        for unit in _MEMORY:
            if rest in unit.spellings:
                return unit, _SCALE_WORDS[first]
    return None


def is_bare_scale_letter(text: str) -> bool:
    return text.strip().lower() in _SCALE_LETTERS


def convert(value: float, source: Unit, target: Unit) -> float:
    if source.dimension != target.dimension:
        raise ValueError(f"cannot convert {source.dimension} to {target.dimension}")
    if source.factor == target.factor:
        return value
    return value * source.factor / target.factor


def format_number(value: float, digits: int = 6) -> str:
    """Whole numbers with thousands commas ("65,536"), others to `digits` significant digits."""
    value = float(value)
    if not math.isfinite(value):
        return str(value)
    # What the student typed exactly stays exact: 16777216 must not echo as 16,777,200.
    rounded = value if value.is_integer() else float(f"{value:.{digits}g}")
    if rounded == 0:
        return "0"
    if rounded.is_integer() and abs(rounded) < 1e15:
        return f"{int(rounded):,}"
    text = f"{rounded:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent)}"  # "1e-09" reads worse than "1e-9"
    return text


def format_value(value: float, unit: Unit, quantity: Quantity, digits: int = 6) -> str:
    """A value with its unit as the chapter writes it: "112 GB", "0.39%", "65.5k parameters"."""
    number = format_number(value, digits)
    if unit.dimension == "percent":
        return f"{number}%"
    if unit.dimension == "memory":
        names = {"B": "bytes", "bit": "bits"}
        return f"{number} {names.get(unit.symbol or '', unit.symbol)}"
    scaled = f"{number}{unit.symbol or ''}"
    return f"{scaled} parameters" if quantity == "parameters" else scaled
