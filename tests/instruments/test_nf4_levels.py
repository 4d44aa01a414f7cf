"""EQ 6.2, bitsandbytes' NF4 codebook, and what block-wise quantization costs."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest

from app.instruments import InstrumentInputError
from app.instruments.nf4 import (
    BLOCK_SIZES,
    NF4_LEVELS,
    NF4_OFFSET,
    bits_per_param,
    derive_nf4_levels,
    nf4_report,
    quantization_error,
    seed_levels,
)


def _normal_cdf(x: float) -> float:
    # An independent route to the quantiles: invert nothing, just check Phi(q) = p.
    return 0.5 * math.erfc(-x / math.sqrt(2))


# ---- the codebooks ------------------------------------------------------------


def test_derivation_reproduces_bitsandbytes_codebook() -> None:
    derived = derive_nf4_levels()
    assert len(derived) == 16
    for ours, shipped in zip(derived, NF4_LEVELS, strict=True):
        assert ours == pytest.approx(shipped, abs=1e-6)


def test_nf4_codebook_shape() -> None:
    assert NF4_LEVELS == tuple(sorted(NF4_LEVELS))
    assert NF4_LEVELS[0] == -1.0 and NF4_LEVELS[-1] == 1.0
    assert NF4_LEVELS.count(0.0) == 1  # an exact zero
    assert sum(v > 0 for v in NF4_LEVELS) == 8 and sum(v < 0 for v in NF4_LEVELS) == 7


def test_nf4_offset_is_the_papers_delta() -> None:
    # offset = 1 - (1/32 + 1/30) / 2
    assert 1 - NF4_OFFSET == pytest.approx((1 / 32 + 1 / 30) / 2, abs=1e-7)


def _normal_ppf_by_bisection(p: float) -> float:
    low, high = -10.0, 10.0
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if _normal_cdf(mid) < p else (low, mid)
    return (low + high) / 2


def test_shipped_levels_sit_at_the_recipes_probabilities() -> None:
    # Checks the hard-coded table itself, by bisection on erfc rather than the
    # module's inverse CDF: positive level j (j = 1..8) is the quantile at
    # 0.5 + j * (offset - 0.5) / 8, negative level j (j = 1..7) at
    # 0.5 - j * (offset - 0.5) / 7, all divided by the quantile at the offset.
    scale = _normal_ppf_by_bisection(NF4_OFFSET)
    positives = [v for v in NF4_LEVELS if v > 0]
    negatives = sorted((v for v in NF4_LEVELS if v < 0), reverse=True)
    for j, level in enumerate(positives, start=1):
        assert _normal_cdf(level * scale) == pytest.approx(0.5 + j * (NF4_OFFSET - 0.5) / 8, abs=1e-6)
    for j, level in enumerate(negatives, start=1):
        assert _normal_cdf(level * scale) == pytest.approx(0.5 - j * (NF4_OFFSET - 0.5) / 7, abs=1e-6)


def test_seed_levels_follow_eq_6_2() -> None:
    levels = seed_levels(0.03)
    assert len(levels) == 16
    assert levels[0] == -1.0 and levels[-1] == 1.0
    assert 0.0 not in levels  # symmetric, so no exact zero
    for low, high in zip(levels, reversed(levels), strict=True):
        assert low == -high
    # Un-normalized, level i is the quantile at 0.03 + i/15 * 0.94.
    scale = 1.880793608151251  # Phi^-1(0.97)
    for i, level in enumerate(levels):
        assert _normal_cdf(level * scale) == pytest.approx(0.03 + i / 15 * 0.94, abs=1e-9)


def test_seed_levels_validate_delta() -> None:
    with pytest.raises(InstrumentInputError) as caught:
        seed_levels(0.5)
    assert caught.value.field == "delta"


# ---- storage cost ---------------------------------------------------------------


def test_bits_per_param() -> None:
    assert bits_per_param(64) == 4.5  # 4 + 32/64
    assert bits_per_param(64, double_quant=True) == pytest.approx(4.127, abs=5e-4)  # 4 + 8/64 + 32/16384
    assert bits_per_param(32) == 5.0
    assert bits_per_param(256) == 4.125
    saved = bits_per_param(64) - bits_per_param(64, double_quant=True)
    assert saved == pytest.approx(0.373, abs=1e-3)  # the chapter's "~0.4 bits/param"


# ---- error on Gaussian weights -----------------------------------------------------


def test_int4_error_on_a_hand_example() -> None:
    block = np.array([1.0, -0.5, 0.25, 0.0])
    # absmax 1: round(7x)/7 -> 1, -4/7 (half to even), 2/7, 0
    errors = np.array([0.0, -0.5 + 4 / 7, 0.25 - 2 / 7, 0.0])
    expected = math.sqrt(np.mean(errors**2)) / math.sqrt(np.mean(block**2))
    assert quantization_error(block, 4, "int4") == pytest.approx(expected)


def test_codebook_values_quantize_exactly() -> None:
    weights = 3.0 * np.asarray(NF4_LEVELS)  # one block of 16 whose absmax is 3
    assert quantization_error(weights, 16, NF4_LEVELS) == 0.0


@pytest.mark.parametrize("block_size", BLOCK_SIZES)
def test_nf4_beats_int4_on_gaussian_blocks(block_size: int) -> None:
    report = nf4_report(block_size)
    assert report.error_nf4 < report.error_int4
    assert 0.05 < report.error_nf4 < 0.15 and 0.05 < report.error_int4 < 0.2


def test_errors_grow_with_block_size() -> None:
    reports = [nf4_report(b) for b in BLOCK_SIZES]
    for smaller, larger in itertools.pairwise(reports):
        assert smaller.error_nf4 < larger.error_nf4
        assert smaller.error_int4 < larger.error_int4


def test_report_at_block_64() -> None:
    report = nf4_report(64)
    assert report.block_size == 64
    assert report.levels_nf4 == NF4_LEVELS
    assert report.levels_seed == seed_levels(0.03)
    assert report.bits_per_param == 4.5
    assert report.bits_per_param_double_quant == pytest.approx(4.127, abs=5e-4)
    assert report.sample_size % max(BLOCK_SIZES) == 0


def test_report_is_deterministic_and_fast() -> None:
    from app.instruments.nf4 import _report  # the uncached computation

    start = time.perf_counter()
    fresh = _report.__wrapped__(128)
    elapsed = time.perf_counter() - start
    assert fresh == nf4_report(128)
    assert elapsed < 0.25  # about 10 ms here; generous for a slow CI machine


@pytest.mark.parametrize(
    ("block_size", "needle"), [(48, "power of two"), (16, "between 32"), (512, "between 32"), ("x", "whole number")]
)
def test_block_size_is_validated(block_size: object, needle: str) -> None:
    with pytest.raises(InstrumentInputError, match=needle) as caught:
        nf4_report(block_size)  # type: ignore[arg-type]
    assert caught.value.field == "block_size"


def test_block_size_from_form_text() -> None:
    assert nf4_report("128") == nf4_report(128)
