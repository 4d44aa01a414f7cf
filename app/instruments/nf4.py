"""NF4: 16 levels at Gaussian quantiles (EQ 6.2), and what they buy.

Two codebooks sit side by side:

* the chapter's EQ 6.2, ``q_i = Quantile_N(0,1)(delta + i/15 * (1 - 2*delta))``
  for ``i = 0..15``, divided by ``max |q_i|`` so the levels span [-1, 1]
  (``seed_levels``). It is symmetric and has no exact zero;
* the codebook bitsandbytes ships (``NF4_LEVELS``), built by the QLoRA paper's
  ``create_normal_map(offset=0.9677083)``: 8 positive quantiles at probabilities
  evenly spaced from 0.5 to ``offset`` (the 0.5 end dropped), 7 negative ones
  the same way, and an exact 0, all divided by the largest. The halves are
  asymmetric because 16 levels cannot be symmetric and include zero; zero is
  kept exact because padding and ReLU-like zeros must survive quantization.
  ``offset = 1 - delta`` with ``delta = (1/32 + 1/30) / 2``, the midpoint
  between the two tail probabilities of 16- and 15-level grids (paper, §3).

``nf4_report`` quantizes a fixed-seed sample of Gaussian weights block by block
(absmax scaling, as bitsandbytes does) with NF4 and with uniform symmetric
absmax int4 (levels -7..7, i.e. ``round(x / absmax * 7)``: 15 levels, the
"-8" code unused so zero stays exact and the grid symmetric) and reports the
relative RMSE of each: ``sqrt(mean((w - w_hat)**2)) / sqrt(mean(w**2))``.
Block sizes are powers of two from 32 to 256, the sizes bitsandbytes kernels
offer in that range.

Bits per parameter: 4 for the code plus the block's scale, ``4 + 32/B`` with one
fp32 absmax per block of ``B`` weights, or ``4 + 8/B + 32/(256*B)`` with double
quantization (8-bit absmax, one fp32 constant per 256 of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

import numpy as np

from app.instruments.errors import InstrumentInputError, parse_float, parse_int

__all__ = [
    "BLOCK_SIZES",
    "NF4_LEVELS",
    "NF4_OFFSET",
    "SAMPLE_SIZE",
    "SEED_DELTA",
    "Nf4Report",
    "bits_per_param",
    "derive_nf4_levels",
    "nf4_report",
    "quantization_error",
    "seed_levels",
]

# bitsandbytes/functional.py and the QLoRA paper's Appendix, as float32 values.
NF4_LEVELS: tuple[float, ...] = (
    -1.0,
    -0.6961928009986877,
    -0.5250730514526367,
    -0.39491748809814453,
    -0.28444138169288635,
    -0.18477343022823334,
    -0.09105003625154495,
    0.0,
    0.07958029955625534,
    0.16093020141124725,
    0.24611230194568634,
    0.33791524171829224,
    0.44070982933044434,
    0.5626170039176941,
    0.7229568362236023,
    1.0,
)
NF4_OFFSET = 0.9677083
SEED_DELTA = 0.03
BLOCK_SIZES: tuple[int, ...] = (32, 64, 128, 256)
SAMPLE_SIZE = 1 << 16  # a multiple of every block size
SAMPLE_SEED = 20230523  # the QLoRA preprint's date: any fixed seed would do
DOUBLE_QUANT_GROUP = 256

_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Nf4Report:
    block_size: int
    levels_seed: tuple[float, ...]
    levels_nf4: tuple[float, ...]
    bits_per_param: float
    bits_per_param_double_quant: float
    error_nf4: float  # relative RMSE on the Gaussian sample
    error_int4: float
    error_seed: float  # the chapter's symmetric codebook, same sample and blocks
    sample_size: int


def seed_levels(delta: float = SEED_DELTA) -> tuple[float, ...]:
    """EQ 6.2's 16 levels for tail probability ``delta``, normalized to [-1, 1]."""
    delta = parse_float("delta", delta, low=1e-4, high=0.2)
    quantiles = [_NORMAL.inv_cdf(delta + i / 15 * (1 - 2 * delta)) for i in range(16)]
    # The grid is antisymmetric in exact arithmetic; averaging each level with
    # its mirror removes the last-bit rounding that would otherwise leave a
    # "0.9999999999999998" at the top.
    symmetric = [(q - mirror) / 2 for q, mirror in zip(quantiles, reversed(quantiles), strict=True)]
    scale = max(abs(q) for q in symmetric)
    return tuple(q / scale for q in symmetric)


def derive_nf4_levels(offset: float = NF4_OFFSET) -> tuple[float, ...]:
    """bitsandbytes' NF4 codebook recomputed from its recipe (``create_normal_map``)."""
    # np.linspace(offset, 0.5, n)[:-1]: n - 1 probabilities from the tail inward.
    positive = [_NORMAL.inv_cdf(p) for p in np.linspace(offset, 0.5, 9)[:-1]]
    negative = [-_NORMAL.inv_cdf(p) for p in np.linspace(offset, 0.5, 8)[:-1]]
    values = sorted([*positive, 0.0, *negative])
    top = max(values)
    return tuple(v / top for v in values)


def bits_per_param(block_size: int, *, double_quant: bool = False) -> float:
    """Storage per weight: the 4-bit code plus its share of the block's scale."""
    if double_quant:
        return 4 + 8 / block_size + 32 / (block_size * DOUBLE_QUANT_GROUP)
    return 4 + 32 / block_size


@lru_cache(maxsize=1)
def _gaussian_sample() -> np.ndarray:
    sample = np.random.default_rng(SAMPLE_SEED).standard_normal(SAMPLE_SIZE)
    sample.setflags(write=False)
    return sample


def _quantize_to_levels(scaled: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Round each value in [-1, 1] to its nearest level (levels sorted ascending)."""
    midpoints = (levels[1:] + levels[:-1]) / 2
    return levels[np.searchsorted(midpoints, scaled)]


def quantization_error(weights: np.ndarray, block_size: int, codebook: str | tuple[float, ...]) -> float:
    """Relative RMSE of block-wise absmax quantization of ``weights``.

    ``codebook`` is ``"int4"`` (uniform levels -7..7 over 7) or a sorted tuple
    of levels in [-1, 1] such as ``NF4_LEVELS``.
    """
    blocks = np.asarray(weights, dtype=np.float64).reshape(-1, block_size)
    absmax = np.abs(blocks).max(axis=1, keepdims=True)
    absmax[absmax == 0] = 1.0  # an all-zero block quantizes exactly either way
    scaled = blocks / absmax
    if codebook == "int4":
        restored = np.round(scaled * 7) / 7
    else:
        restored = _quantize_to_levels(scaled, np.asarray(codebook, dtype=np.float64))
    error = blocks - restored * absmax
    return float(np.sqrt(np.mean(error**2)) / np.sqrt(np.mean(blocks**2)))


def _parse_block_size(block_size: object) -> int:
    value = parse_int("block_size", block_size, low=BLOCK_SIZES[0], high=BLOCK_SIZES[-1])
    if value not in BLOCK_SIZES:
        raise InstrumentInputError(
            f"must be a power of two: one of {', '.join(map(str, BLOCK_SIZES))}; got {value}.", field="block_size"
        )
    return value


def nf4_report(block_size: int = 64) -> Nf4Report:
    """Both codebooks, storage cost and error at ``block_size`` (32, 64, 128 or 256)."""
    block_size = _parse_block_size(block_size)
    return _report(block_size)


@lru_cache(maxsize=len(BLOCK_SIZES))
def _report(block_size: int) -> Nf4Report:
    sample = _gaussian_sample()
    levels_seed = seed_levels()
    return Nf4Report(
        block_size=block_size,
        levels_seed=levels_seed,
        levels_nf4=NF4_LEVELS,
        bits_per_param=bits_per_param(block_size),
        bits_per_param_double_quant=bits_per_param(block_size, double_quant=True),
        error_nf4=quantization_error(sample, block_size, NF4_LEVELS),
        error_int4=quantization_error(sample, block_size, "int4"),
        error_seed=quantization_error(sample, block_size, levels_seed),
        sample_size=SAMPLE_SIZE,
    )
