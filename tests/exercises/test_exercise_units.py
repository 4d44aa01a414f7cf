"""Unit lookup, conversion and printing."""

from __future__ import annotations

import pytest

from app.exercises.units import (
    Dimension,
    Quantity,
    convert,
    format_number,
    format_value,
    lookup_unit,
    unit_named,
)

CONVERSIONS = [
    # (value, dimension, from, to, expected)
    (112, "memory", "GB", "B", 1.12e11),
    (1.12e11, "memory", "B", "GB", 112),
    (0.112, "memory", "TB", "GB", 112),
    (112000, "memory", "MB", "GB", 112),
    (1, "memory", "GiB", "GB", 1.073741824),
    (104.3, "memory", "GiB", "GB", 111.9912722),
    (112, "memory", "GB", "GiB", 104.308128),
    (1, "memory", "KiB", "kB", 1.024),
    (1, "memory", "TiB", "GiB", 1024),
    (8, "memory", "bit", "B", 1),
    (1, "amount", "B", "M", 1000),
    (65.5, "amount", "k", None, 65500),
    (7, "amount", "B", None, 7e9),
    (65536, "amount", None, "M", 0.065536),
    (0.39, "percent", "%", "%", 0.39),
]


@pytest.mark.parametrize(("value", "dimension", "source", "target", "expected"), CONVERSIONS)
def test_converts(value: float, dimension: Dimension, source: str | None, target: str | None, expected: float) -> None:
    converted = convert(value, unit_named(dimension, source), unit_named(dimension, target))
    assert converted == pytest.approx(expected, rel=1e-7)


def test_refuses_to_convert_across_dimensions() -> None:
    with pytest.raises(ValueError, match="cannot convert memory to amount"):
        convert(1, unit_named("memory", "GB"), unit_named("amount", "B"))


def test_unknown_symbol_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        unit_named("memory", "GBs")


LOOKUPS = [
    # (text, dimension, symbol, multiplier) or symbol "-" for "not a unit here"
    ("GB", "memory", "GB", 1),
    ("gb", "memory", "GB", 1),
    ("Gb", "memory", "GB", 1),
    ("gigabytes", "memory", "GB", 1),
    ("KB", "memory", "kB", 1),
    ("kB", "memory", "kB", 1),
    ("KiB", "memory", "KiB", 1),
    ("gibibyte", "memory", "GiB", 1),
    ("B", "memory", "B", 1),
    ("bytes", "memory", "B", 1),
    ("billion bytes", "memory", "B", 1e9),
    ("thousand  GB", "memory", "GB", 1e3),
    ("bits", "memory", "bit", 1),
    ("B", "amount", "B", 1),
    ("b", "amount", "B", 1),
    ("K", "amount", "k", 1),
    ("million", "amount", "M", 1),
    ("k params", "amount", "k", 1),
    ("billion parameters", "amount", "B", 1),
    ("parameters", "amount", None, 1),
    ("levels", "amount", None, 1),
    ("quantization levels", "amount", None, 1),
    ("%", "percent", "%", 1),
    ("per cent", "percent", "%", 1),
    ("GB", "amount", "-", 0),
    ("k", "memory", "-", 0),
    ("G", "memory", "-", 0),
    ("k bytes", "memory", "-", 0),  # only words may scale a byte unit
    ("million million", "amount", "-", 0),
    ("%", "memory", "-", 0),
    ("", "memory", "-", 0),
    ("apples", "amount", "-", 0),
]


@pytest.mark.parametrize(("text", "dimension", "symbol", "multiplier"), LOOKUPS)
def test_looks_up(text: str, dimension: Dimension, symbol: str | None, multiplier: float) -> None:
    found = lookup_unit(text, dimension)
    if symbol == "-":
        assert found is None
    else:
        assert found is not None
        assert (found[0].symbol, found[0].dimension, found[1]) == (symbol, dimension, multiplier)


NUMBERS = [
    (65536, 6, "65,536"),
    (16777216, 6, "16,777,216"),  # typed integers stay exact
    (0.390625, 6, "0.390625"),
    (0.39, 6, "0.39"),
    (111.9912722, 4, "112"),
    (112.00000000000001, 6, "112"),
    (104.308128, 4, "104.3"),
    (1e-9, 6, "1e-9"),
    (1.5e20, 6, "1.5e20"),
    (0, 6, "0"),
    (-5, 6, "-5"),
    (-0.0, 6, "0"),
]


@pytest.mark.parametrize(("value", "digits", "text"), NUMBERS)
def test_formats_numbers(value: float, digits: int, text: str) -> None:
    assert format_number(value, digits) == text


VALUES = [
    (112, "memory", "GB", "bytes", "112 GB"),
    (1.12e11, "memory", "B", "bytes", "112,000,000,000 bytes"),
    (8, "memory", "bit", "bytes", "8 bits"),
    (0.39, "percent", "%", "percent", "0.39%"),
    (65.5, "amount", "k", "parameters", "65.5k parameters"),
    (65536, "amount", None, "parameters", "65,536 parameters"),
    (16, "amount", None, "count", "16"),
    (7, "amount", "B", "number", "7B"),
]


@pytest.mark.parametrize(("value", "dimension", "symbol", "quantity", "text"), VALUES)
def test_formats_values(value: float, dimension: Dimension, symbol: str | None, quantity: Quantity, text: str) -> None:
    assert format_value(value, unit_named(dimension, symbol), quantity) == text
