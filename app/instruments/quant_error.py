"""Instrument 7.2: how much error each way of scaling a quantized matrix leaves.

A weight matrix ``W`` (``D_OUT x D_IN``, standard Gaussian entries) is drawn from
``seed``; a fraction of its input channels (columns) are outliers, multiplied by
``outlier_scale``, the pattern LLM.int8() found in large models. ``W`` is then
quantized four ways, each symmetric absmax (EQ 7.2: ``q = round(w / s * qmax)``,
``s = max |w|`` over the group that shares the scale, ``qmax = 2^(b-1) - 1``):

* ``per-tensor``: one scale for the whole matrix;
* ``per-channel``: one scale per output channel (a row of ``D_IN`` weights);
* ``per-group``: one scale per ``group_size`` consecutive inputs of a row;
* ``nf4``: the same groups, rounded to bitsandbytes' 16 NF4 levels instead of a
  uniform grid (4 bits whatever ``bits`` says).

For each it reports the relative error of the weights, ``||W - W_hat|| / ||W||``
(Frobenius), and of a matmul's output on ``TOKENS`` Gaussian inputs,
``||X W^T - X W_hat^T|| / ||X W^T||``: what the next layer sees. Bits per weight
count the scales: fp16 per scale for the absmax methods (as GPTQ/AWQ checkpoints
store them), fp32 per block for NF4 (as bitsandbytes does).

Everything is a pure function of the settings: the same seed gives the same
matrix, the same numbers and the same chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from app.instruments.errors import parse_choice, parse_float, parse_int
from app.instruments.nf4 import BLOCK_SIZES, NF4_LEVELS
from app.instruments.nf4 import bits_per_param as nf4_bits_per_param

__all__ = [
    "BITS_RANGE",
    "D_IN",
    "D_OUT",
    "GROUP_SIZES",
    "METHODS",
    "METHOD_LABELS",
    "OUTLIER_PERCENT_RANGE",
    "OUTLIER_SCALE_RANGE",
    "SEED_RANGE",
    "SWEEP_BITS",
    "TOKENS",
    "MethodError",
    "QuantErrorReport",
    "quant_error_report",
]

D_OUT, D_IN, TOKENS = 128, 512, 32
METHODS: tuple[str, ...] = ("per-tensor", "per-channel", "per-group", "nf4")
METHOD_LABELS: dict[str, str] = {
    "per-tensor": "absmax, per tensor",
    "per-channel": "absmax, per channel",
    "per-group": "absmax, per group",
    "nf4": "NF4, per group",
}
GROUP_SIZES: tuple[int, ...] = BLOCK_SIZES
BITS_RANGE: tuple[int, int] = (2, 8)
SWEEP_BITS: tuple[int, ...] = tuple(range(BITS_RANGE[0], BITS_RANGE[1] + 1))
OUTLIER_PERCENT_RANGE: tuple[float, float] = (0.0, 10.0)
OUTLIER_SCALE_RANGE: tuple[float, float] = (1.0, 100.0)
SEED_RANGE: tuple[int, int] = (0, 9999)
SCALE_BITS = 16  # an fp16 scale per group, as GPTQ/AWQ store them


@dataclass(frozen=True, slots=True)
class MethodError:
    method: str
    label: str
    bits_per_weight: float
    weight_error: float  # relative Frobenius error of W
    output_error: float  # relative Frobenius error of X W^T


@dataclass(frozen=True, slots=True)
class QuantErrorReport:
    seed: int
    bits: int
    group_size: int
    outlier_percent: float
    outlier_scale: float
    outlier_channels: int
    methods: tuple[MethodError, ...]
    # The chart's curves: output error at every bit width for the three absmax methods.
    sweep_bits: tuple[int, ...]
    sweep: tuple[tuple[str, tuple[float, ...], tuple[float, ...]], ...]  # (method, bits per weight, output error)

    def method(self, name: str) -> MethodError:
        return next(m for m in self.methods if m.method == name)


def _draw(seed: int, outlier_percent: float, outlier_scale: float) -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal((D_OUT, D_IN))
    count = round(outlier_percent / 100 * D_IN)
    if count:
        columns = rng.choice(D_IN, size=count, replace=False)
        weights[:, columns] *= outlier_scale
    inputs = rng.standard_normal((TOKENS, D_IN))
    return weights, inputs, count


def _absmax(weights: np.ndarray, bits: int, group: int) -> np.ndarray:
    """Symmetric absmax quantization with one scale per `group` consecutive values of the flattened rows."""
    qmax = 2 ** (bits - 1) - 1
    blocks = weights.reshape(-1, group)
    scale = np.abs(blocks).max(axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    return (np.round(blocks / scale * qmax) / qmax * scale).reshape(weights.shape)


def _nf4(weights: np.ndarray, group: int) -> np.ndarray:
    levels = np.asarray(NF4_LEVELS)
    blocks = weights.reshape(-1, group)
    scale = np.abs(blocks).max(axis=1, keepdims=True)
    scale[scale == 0] = 1.0
    scaled = blocks / scale
    midpoints = (levels[1:] + levels[:-1]) / 2
    return (levels[np.searchsorted(midpoints, scaled)] * scale).reshape(weights.shape)


def _group_of(method: str, group_size: int) -> int:
    return {"per-tensor": D_OUT * D_IN, "per-channel": D_IN}.get(method, group_size)


# Plain loops (einsum without `optimize`), not BLAS: these arrays are small, and a
# multi-threaded BLAS in a busy server process spends more time waking threads
# than multiplying (a 10x slowdown measured under load).
def _matmul_t(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x @ w.T without BLAS."""
    return np.einsum("ti,oi->to", x, w)


def _norm(a: np.ndarray) -> float:
    return float(np.sqrt(np.einsum("ij,ij->", a, a)))


def _relative(a: np.ndarray, b: np.ndarray) -> float:
    return _norm(a - b) / _norm(a)


def _measure(
    method: str, weights: np.ndarray, inputs: np.ndarray, reference: np.ndarray, bits: int, group_size: int
) -> MethodError:
    group = _group_of(method, group_size)
    if method == "nf4":
        restored = _nf4(weights, group)
        bpw = nf4_bits_per_param(group)
    else:
        restored = _absmax(weights, bits, group)
        bpw = bits + SCALE_BITS / group
    return MethodError(
        method=method,
        label=METHOD_LABELS[method],
        bits_per_weight=bpw,
        weight_error=_relative(weights, restored),
        output_error=_relative(reference, _matmul_t(inputs, restored)),
    )


def quant_error_report(
    seed: int = 0, bits: int = 4, group_size: int = 128, outlier_percent: float = 1.0, outlier_scale: float = 20.0
) -> QuantErrorReport:
    """Errors of the four methods on one seeded matrix, and the output error against bit width."""
    seed = parse_int("seed", seed, low=SEED_RANGE[0], high=SEED_RANGE[1])
    bits = parse_int("bits", bits, low=BITS_RANGE[0], high=BITS_RANGE[1])
    group_size = int(parse_choice("group_size", str(group_size), map(str, GROUP_SIZES)))
    outlier_percent = parse_float(
        "outlier_percent", outlier_percent, low=OUTLIER_PERCENT_RANGE[0], high=OUTLIER_PERCENT_RANGE[1]
    )
    outlier_scale = parse_float("outlier_scale", outlier_scale, low=OUTLIER_SCALE_RANGE[0], high=OUTLIER_SCALE_RANGE[1])
    return _report(seed, bits, group_size, outlier_percent, outlier_scale)


@lru_cache(maxsize=128)
def _report(seed: int, bits: int, group_size: int, outlier_percent: float, outlier_scale: float) -> QuantErrorReport:
    weights, inputs, count = _draw(seed, outlier_percent, outlier_scale)
    reference = _matmul_t(inputs, weights)
    measured = {(m, b): _measure(m, weights, inputs, reference, b, group_size) for m in METHODS[:3] for b in SWEEP_BITS}
    methods = tuple(measured[(m, bits)] for m in METHODS[:3]) + (
        _measure("nf4", weights, inputs, reference, 4, group_size),
    )
    sweep = tuple(
        (
            m,
            tuple(round(measured[(m, b)].bits_per_weight, 4) for b in SWEEP_BITS),
            tuple(float(f"{measured[(m, b)].output_error:.4g}") for b in SWEEP_BITS),
        )
        for m in METHODS[:3]
    )
    return QuantErrorReport(
        seed=seed,
        bits=bits,
        group_size=group_size,
        outlier_percent=outlier_percent,
        outlier_scale=outlier_scale,
        outlier_channels=count,
        methods=methods,
        sweep_bits=SWEEP_BITS,
        sweep=sweep,
    )
