"""Instrument 6.2: will it fine-tune? A single-GPU memory estimate.

The estimate adds up what one training step keeps on the GPU, part by part:

* full fine-tuning with AdamW in mixed precision costs 16 bytes per parameter
  (ZeRO paper's accounting, Rajbhandari et al. 2020): bf16 weights 2 + bf16
  gradients 2 + fp32 master weights 4 + Adam moments 4 + 4. A 7B model therefore
  wants 7e9 * 16 B = 112 GB before activations, as the chapter says;
* LoRA freezes a bf16 base (2 B/param, no gradients, no optimizer state) and
  trains fp32 adapters (PEFT's default ``autocast_adapter_dtype``): 4 B weights
  + 4 B gradients + 8 B Adam moments per adapter parameter;
* QLoRA stores the block projections in NF4 (0.5 B/param) plus their
  quantization constants (one fp32 absmax per 64 weights = 0.5 bit/param, or
  with double quantization an 8-bit absmax per 64 and an fp32 constant per 256
  of those = 0.127 bit/param); embeddings, norms and LM head stay bf16, as
  bitsandbytes leaves them. Adapters follow the QLoRA paper: bf16 weights and
  gradients with fp32 Adam moments, 2 + 2 + 8 B per adapter parameter;
* activations come from ``activations.py`` (documented formula there);
* framework overhead is 1 GB (CUDA context, kernels, cuBLAS workspace) plus
  10% of activations for the caching allocator's fragmentation: static tensors
  are allocated once, the churn comes from activations.

A bare parameter count (1B..405B) keeps its exact size for the per-parameter
parts and borrows widths from ``models.approximate_architecture`` for the rest.

Calibration (``calibration.py`` holds the table and the tests check it): the
published figures we compare against are

* the chapter's own statements: 7B full-FT states = 112 GB; a 70B full fine-tune
  ~1.1 TB at batch 1, seq 2K; QLoRA puts a 70B under 48 GB;
* QLoRA paper (Dettmers et al., 2023): LLaMA 65B fine-tuned on one 48 GB GPU
  (r = 64 on all linear layers, double quantization, checkpointing; we check at
  seq 512, the length of their Guanaco runs' responses);
* LLaMA-Factory README "Hardware Requirement" table (estimates, not
  measurements): Full AMP 7B 120 GB / 70B 1200 GB; LoRA 16-bit 7B 16 GB /
  13B 32 GB / 70B 160 GB; QLoRA 4-bit 7B 6 GB / 13B 12 GB / 70B 48 GB;
* Unsloth's "Fine-tuning VRAM requirements" table ("absolute minimum" with its
  own fused kernels and offloaded checkpointing): QLoRA 8B 6 GB, 14B 8.5 GB,
  70B 41 GB; LoRA 16-bit 8B 22 GB, 70B 164 GB.

None of these sources states sequence length or batch size for its table, so
they are compared at the instrument's defaults (batch 1, seq 2,048, r = 16,
all linear, checkpointing on) with tolerances stated next to each row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.instruments.activations import estimate_activations
from app.instruments.errors import parse_bool, parse_choice, parse_int
from app.instruments.formatting import format_count
from app.instruments.lora import ALL_LINEAR, RANK_RANGE, count_adapter_params, parse_targets
from app.instruments.models import (
    Architecture,
    count_base_params,
    count_linear_weight_params,
    resolve_model,
)

__all__ = [
    "BATCH_RANGE",
    "CARDS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_DOUBLE_QUANT",
    "DEFAULT_GRADIENT_CHECKPOINTING",
    "DEFAULT_RANK",
    "DEFAULT_SEQ_LEN",
    "METHODS",
    "METHOD_LABELS",
    "PART_LABELS",
    "SEQ_LEN_RANGE",
    "Card",
    "CardFit",
    "VramEstimate",
    "estimate_methods",
    "estimate_vram",
    "quantization_bits_per_param",
]

METHODS: tuple[str, ...] = ("full", "lora", "qlora")
METHOD_LABELS: dict[str, str] = {"full": "Full fine-tuning", "lora": "LoRA", "qlora": "QLoRA"}
SEQ_LEN_RANGE: tuple[int, int] = (128, 32_768)
BATCH_RANGE: tuple[int, int] = (1, 64)

# The training setup an estimate assumes unless told otherwise (the instrument's defaults too).
DEFAULT_RANK = 16
DEFAULT_SEQ_LEN = 2048
DEFAULT_BATCH_SIZE = 1
DEFAULT_GRADIENT_CHECKPOINTING = True
DEFAULT_DOUBLE_QUANT = True

# Display order of the parts; an estimate lists only the parts its method has.
PART_LABELS: dict[str, str] = {
    "weights": "Model weights",
    "gradients": "Gradients",
    "optimizer_states": "Optimizer states (fp32 master + Adam m, v)",
    "quantization_constants": "Quantization constants",
    "adapter_weights": "Adapter weights",
    "adapter_gradients": "Adapter gradients",
    "adapter_optimizer_states": "Adapter optimizer states (Adam m, v)",
    "activations": "Activations",
    "framework_overhead": "Framework overhead",
}

GB = 1e9
GIB = 1024**3
CUDA_CONTEXT_BYTES = 1.0 * GB
FRAGMENTATION_SHARE = 0.10
QUANT_BLOCK = 64
DOUBLE_QUANT_BLOCK = 256


@dataclass(frozen=True, slots=True)
class Card:
    name: str
    memory_gb: float


CARDS: tuple[Card, ...] = (
    Card("RTX 4090 / 3090", 24),
    Card("A6000 / L40S", 48),
    Card("A100 / H100", 80),
    Card("H200", 141),
)


@dataclass(frozen=True, slots=True)
class CardFit:
    card: str
    memory_gb: float
    fits: bool
    headroom_gb: float  # negative when it does not fit


@dataclass(frozen=True, slots=True)
class VramEstimate:
    model_id: str
    display_name: str
    method: str
    params: int
    trainable_params: int
    parts: dict[str, float]  # GB (1e9 bytes), in PART_LABELS order
    total_gb: float
    total_gib: float
    fits: list[CardFit]
    assumptions: list[str]


def quantization_bits_per_param(double_quant: bool) -> float:
    """Extra bits each NF4 weight pays for its block's scale constant."""
    if double_quant:
        return 8 / QUANT_BLOCK + 32 / (QUANT_BLOCK * DOUBLE_QUANT_BLOCK)
    return 32 / QUANT_BLOCK


def _fits(total_gb: float) -> list[CardFit]:
    return [
        CardFit(
            card=f"{card.name} {card.memory_gb:g} GB",
            memory_gb=card.memory_gb,
            fits=total_gb <= card.memory_gb,
            headroom_gb=card.memory_gb - total_gb,
        )
        for card in CARDS
    ]


def _state_bytes(
    method: str, params: int, quantizable: int, adapter: int, double_quant: bool
) -> dict[str, float]:
    if method == "full":
        return {
            "weights": 2.0 * params,
            "gradients": 2.0 * params,
            "optimizer_states": 12.0 * params,
        }
    if method == "lora":
        return {
            "weights": 2.0 * params,
            "adapter_weights": 4.0 * adapter,
            "adapter_gradients": 4.0 * adapter,
            "adapter_optimizer_states": 8.0 * adapter,
        }
    unquantized = params - quantizable
    return {
        "weights": 0.5 * quantizable + 2.0 * unquantized,
        "quantization_constants": quantizable * quantization_bits_per_param(double_quant) / 8,
        "adapter_weights": 2.0 * adapter,
        "adapter_gradients": 2.0 * adapter,
        "adapter_optimizer_states": 8.0 * adapter,
    }


def _assumptions(
    arch: Architecture,
    params: int,
    method: str,
    r: int,
    targets: tuple[str, ...],
    seq_len: int,
    batch_size: int,
    gradient_checkpointing: bool,
    double_quant: bool,
) -> list[str]:
    lines = ["One GPU, no sharding (ZeRO/FSDP) and no CPU offload; sizes in GB = 10^9 bytes."]
    if arch.approximate:
        lines.append(
            f"No preset: a {params / 1e9:g}B model is given a Llama-2-like shape "
            f"(hidden {format_count(arch.hidden_size)}, {arch.num_layers} layers, "
            f"MLP {format_count(arch.intermediate_size)}, 32K vocabulary) for the "
            "activation and adapter sizes."
        )
    if method == "full":
        lines.append(
            "Full fine-tuning with AdamW in mixed precision: 16 bytes per parameter — "
            "bf16 weights (2) and gradients (2), an fp32 master copy (4) and Adam's two moments (4 + 4)."
        )
    else:
        where = "all linear layers" if len(targets) == 7 else ", ".join(targets)
        lines.append(f"LoRA rank {r} on {where} of every layer; the base model is frozen.")
    if method == "lora":
        lines.append("The frozen base stays in bf16: 2 bytes per parameter, with no gradients or optimizer states.")
        lines.append(
            "Adapters train in fp32 (PEFT's default): 4 bytes of weights + 4 of gradients "
            "+ 8 of Adam moments = 16 bytes per adapter parameter."
        )
    if method == "qlora":
        lines.append(
            "Block projections are stored in 4-bit NF4 (0.5 bytes per weight); embeddings, "
            "norms and the LM head stay in bf16, as bitsandbytes leaves them."
        )
        if double_quant:
            lines.append(
                "Double quantization: an 8-bit scale per 64 weights plus an fp32 constant per "
                "256 scales = 0.127 extra bits per weight."
            )
        else:
            lines.append("One fp32 scale (absmax) per block of 64 weights = 0.5 extra bits per weight.")
        lines.append(
            "Adapters in bf16 with fp32 Adam moments, as in the QLoRA paper: 2 + 2 + 8 = 12 bytes "
            "per adapter parameter. Paged optimizers could spill these to CPU RAM; we do not count on it."
        )
        lines.append("Each projection is dequantized to bf16 for its matmul; the largest one is counted as a buffer.")
    lines.append(
        f"Activations for a micro-batch of {batch_size} × {format_count(seq_len)} tokens in bf16 "
        "with fused (flash) attention"
        + (
            ", with gradient checkpointing: every layer's input is kept and one layer at a time is recomputed."
            if gradient_checkpointing
            else ", without gradient checkpointing: every layer keeps its tensors until backward."
        )
    )
    lines.append("The loss keeps 12 bytes per token per vocabulary entry for the logits and their gradient.")
    lines.append(
        "Framework overhead: 1 GB for the CUDA context, kernels and workspaces, plus 10% of "
        "activations for allocator fragmentation."
    )
    lines.append(
        "A card fits when the total is at most its nominal size; cards hold about 7% more "
        "(their sizes are GiB), which we leave as margin for what this estimate leaves out."
    )
    return lines


def estimate_vram(
    model: Architecture | str | float,
    method: str,
    *,
    r: int = DEFAULT_RANK,
    targets: str | Iterable[str] = ALL_LINEAR,
    seq_len: int = DEFAULT_SEQ_LEN,
    batch_size: int = DEFAULT_BATCH_SIZE,
    gradient_checkpointing: bool = DEFAULT_GRADIENT_CHECKPOINTING,
    double_quant: bool = DEFAULT_DOUBLE_QUANT,
) -> VramEstimate:
    """Peak GPU memory of one fine-tuning step of ``model`` with ``method``.

    ``model`` is a preset (or its id) or a size in billions of parameters
    (1..405). ``r`` and ``targets`` apply to LoRA and QLoRA, ``double_quant``
    to QLoRA only; the others to every method.
    """
    arch, params = resolve_model(model)
    method = parse_choice("method", method, METHODS)
    low, high = RANK_RANGE
    r = parse_int("r", r, low=low, high=high)
    chosen = parse_targets(targets)
    seq_len = parse_int("seq_len", seq_len, low=SEQ_LEN_RANGE[0], high=SEQ_LEN_RANGE[1])
    batch_size = parse_int("batch_size", batch_size, low=BATCH_RANGE[0], high=BATCH_RANGE[1])
    gradient_checkpointing = parse_bool("gradient_checkpointing", gradient_checkpointing)
    double_quant = parse_bool("double_quant", double_quant)

    # A bare size keeps its exact count; only the non-projection share comes from the shape.
    quantizable = params - (count_base_params(arch) - count_linear_weight_params(arch))
    uses_lora = method != "full"
    adapter = count_adapter_params(arch, r, chosen) if uses_lora else 0

    state = _state_bytes(method, params, quantizable, adapter, double_quant)
    activations = estimate_activations(
        arch,
        seq_len=seq_len,
        batch_size=batch_size,
        gradient_checkpointing=gradient_checkpointing,
        lora_r=r if uses_lora else 0,
        lora_targets=chosen if uses_lora else (),
        dequantizes=method == "qlora",
    )
    state["activations"] = float(activations.total_bytes)
    state["framework_overhead"] = CUDA_CONTEXT_BYTES + FRAGMENTATION_SHARE * activations.total_bytes

    parts = {key: state[key] / GB for key in PART_LABELS if key in state}
    total_bytes = sum(state.values())
    total_gb = total_bytes / GB
    return VramEstimate(
        model_id=arch.model_id,
        display_name=arch.display_name,
        method=method,
        params=params,
        trainable_params=adapter if uses_lora else params,
        parts=parts,
        total_gb=total_gb,
        total_gib=total_bytes / GIB,
        fits=_fits(total_gb),
        assumptions=_assumptions(
            arch, params, method, r, chosen, seq_len, batch_size, gradient_checkpointing, double_quant
        ),
    )


def estimate_methods(model: Architecture | str | float, **setup: Any) -> dict[str, VramEstimate]:
    """The estimate of every method for the same model and settings (the chart's input).

    ``setup`` is ``estimate_vram``'s keyword settings (r, targets, seq_len, ...).
    """
    return {method: estimate_vram(model, method, **setup) for method in METHODS}
