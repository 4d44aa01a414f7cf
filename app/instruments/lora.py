"""Instrument 6.1: how many parameters a LoRA adapter trains (EQ 6.1).

One projection ``W in R^{d_out x d_in}`` gets ``A in R^{r x d_in}`` and
``B in R^{d_out x r}``, so the adapter trains ``r * (d_in + d_out)`` numbers
against the ``d_in * d_out`` of a full update.

For a whole model the count reproduces Hugging Face PEFT's
``print_trainable_parameters()`` to the parameter (LoRA with ``bias="none"``):
trainable = sum over layers and targeted Linear modules of
``r * (in_features + out_features)``; all params = base + trainable; trainable% =
100 * trainable / all params. ``"all-linear"`` means the seven block
projections; as in PEFT it never includes ``lm_head``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.instruments.errors import InstrumentInputError, parse_int
from app.instruments.formatting import format_count, format_percent
from app.instruments.models import (
    LINEAR_MODULES,
    Architecture,
    count_base_params,
    linear_shapes,
)

__all__ = [
    "ALL_LINEAR",
    "DIMENSION_RANGE",
    "RANK_RANGE",
    "MatrixCount",
    "ModelCount",
    "count_adapter_params",
    "count_matrix",
    "count_model",
    "describe_matrix",
    "format_peft_summary",
    "parse_targets",
]

DIMENSION_RANGE: tuple[int, int] = (256, 16_384)
RANK_RANGE: tuple[int, int] = (1, 256)
ALL_LINEAR = "all-linear"


@dataclass(frozen=True, slots=True)
class MatrixCount:
    """Full-update versus adapter size for one ``d_in x d_out`` projection."""

    d_in: int
    d_out: int
    r: int
    full_params: int
    lora_params: int
    trainable_percent: float


@dataclass(frozen=True, slots=True)
class ModelCount:
    """What PEFT reports for a LoRA config on a whole model, plus adapter sizes."""

    model_id: str
    r: int
    targets: tuple[str, ...]
    trainable_params: int
    base_params: int
    all_params: int
    trainable_percent: float
    adapter_bytes_bf16: int
    adapter_bytes_fp32: int


def _parse_rank(r: object) -> int:
    low, high = RANK_RANGE
    return parse_int("r", r, low=low, high=high)


def count_matrix(d_in: int, d_out: int, r: int) -> MatrixCount:
    """EQ 6.1's count for one projection; dimensions 256..16,384, rank 1..256."""
    low, high = DIMENSION_RANGE
    d_in = parse_int("d_in", d_in, low=low, high=high)
    d_out = parse_int("d_out", d_out, low=low, high=high)
    r = _parse_rank(r)
    full = d_in * d_out
    lora = r * (d_in + d_out)
    return MatrixCount(
        d_in=d_in,
        d_out=d_out,
        r=r,
        full_params=full,
        lora_params=lora,
        trainable_percent=100 * lora / full,
    )


def describe_matrix(count: MatrixCount) -> str:
    """The instrument's live sentence, e.g. "At d = 8,192, rank 16 trains 0.39% of the matrix."."""
    if count.d_in == count.d_out:
        shape = f"d = {format_count(count.d_in)}"
    else:
        # d_out x d_in would match W's shape, but readers name a projection
        # by "from x to": the chapter's 4,096 -> 11,008 MLP reads 4,096 x 11,008.
        shape = f"{format_count(count.d_in)} × {format_count(count.d_out)}"
    sentence = (
        f"At {shape}, rank {count.r} trains "
        f"{format_percent(count.trainable_percent)} of the matrix."
    )
    if count.lora_params >= count.full_params:
        # Legal inputs (r = 256 on a 256-wide matrix) where the "compression" inverts.
        sentence = sentence[:-1] + " — no smaller than the full update, so LoRA saves nothing here."
    return sentence


def parse_targets(targets: str | Iterable[str]) -> tuple[str, ...]:
    """Target modules in canonical order from a list, ``"q_proj,v_proj"`` or ``"all-linear"``."""
    if isinstance(targets, str):
        names = [part.strip() for part in targets.replace(" ", ",").split(",")]
    else:
        try:
            names = [str(part).strip() for part in targets]
        except TypeError:
            raise InstrumentInputError("must be a list of module names.", field="targets") from None
    names = [name.lower() for name in names if name]
    if not names:
        raise InstrumentInputError(
            f"choose at least one module ({', '.join(LINEAR_MODULES)}) or {ALL_LINEAR}.", field="targets"
        )
    if ALL_LINEAR in names:
        if len(set(names)) > 1:
            raise InstrumentInputError(
                f"{ALL_LINEAR} already means all seven modules; do not list others with it.", field="targets"
            )
        return LINEAR_MODULES
    unknown = sorted(set(names) - set(LINEAR_MODULES))
    if unknown:
        raise InstrumentInputError(
            f"unknown module {', '.join(unknown)}; valid: {', '.join(LINEAR_MODULES)} or {ALL_LINEAR}.", field="targets"
        )
    chosen = set(names)
    return tuple(name for name in LINEAR_MODULES if name in chosen)


def count_adapter_params(arch: Architecture, r: int, targets: tuple[str, ...]) -> int:
    """Trainable LoRA parameters: r * (in + out) per targeted module, every layer."""
    shapes = linear_shapes(arch)
    per_layer = sum(r * (shapes[name][0] + shapes[name][1]) for name in targets)
    return per_layer * arch.num_layers


def count_model(arch: Architecture, r: int, targets: str | Iterable[str]) -> ModelCount:
    """The numbers PEFT prints for ``LoraConfig(r=r, target_modules=targets)`` on ``arch``."""
    r = _parse_rank(r)
    chosen = parse_targets(targets)
    trainable = count_adapter_params(arch, r, chosen)
    base = count_base_params(arch)
    total = base + trainable
    return ModelCount(
        model_id=arch.model_id,
        r=r,
        targets=chosen,
        trainable_params=trainable,
        base_params=base,
        all_params=total,
        trainable_percent=100 * trainable / total,
        adapter_bytes_bf16=2 * trainable,
        adapter_bytes_fp32=4 * trainable,
    )


def format_peft_summary(count: ModelCount) -> str:
    """The line ``model.print_trainable_parameters()`` prints, character for character."""
    return (
        f"trainable params: {count.trainable_params:,d} || "
        f"all params: {count.all_params:,d} || "
        f"trainable%: {count.trainable_percent:.4f}"
    )
