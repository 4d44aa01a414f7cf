"""Instrument 7.1: bits per weight, and what a model costs to serve.

Storage of one quantized weight matrix (``bits_per_weight``), for a matrix of
``d_in`` inputs (one row of the weight per output channel):

* ``fp16``: 16 bits, nothing else;
* ``int8``: absmax int8 per output channel (LLM.int8()'s weight scheme): 8 bits
  plus one scale (and zero, if any) per row of ``d_in`` weights;
* ``int4``: 4-bit codes in groups of ``group_size`` consecutive inputs, each group
  with its own scale (``scale_bits``) and zero point (``zero_bits``; 0 for
  symmetric absmax): ``4 + (scale_bits + zero_bits) / group_size``. GPTQ and AWQ
  checkpoints store fp16 scales and 4-bit zeros, usually at group size 128;
* ``nf4`` / ``nf4-dq``: bitsandbytes' NF4 with one fp32 absmax per block, or with
  double quantization (``nf4.bits_per_param``, Chapter 06's EQ 6.2 instrument);
* ``custom``: ``bits``-bit codes with the same group layout as ``int4``.

Only the blocks' linear projections are quantized (what bitsandbytes, GPTQ and AWQ
quantize by default); embeddings, norms and the LM head stay in 16 bits, unless
``every_tensor`` stores every parameter in the format (the chapter's format table
and its 70B sizes count weights that way).

``model`` is a preset id or a size in billions of parameters (``models.resolve_model``):
a size keeps its exact count, its linear share and KV-cache shape borrowed from a
Llama-2-like shape of that size.

The KV cache holds a key and a value vector per layer, per token of context, per
sequence: ``2 * layers * kv_heads * head_dim * context * batch`` values of
``kv_bits`` each (grouped-query attention shrinks ``kv_heads``).

Decoding one token reads every weight once and, at the end of the context, the
whole KV cache: memory traffic, not arithmetic, bounds batch-1 decoding. So a card
of bandwidth ``B`` takes at most ``B / (weight bytes + KV bytes)`` decoding steps
per second, and a batch of ``n`` sequences shares each step: ``n`` times that in
tokens per second. Real kernels reach a fraction of the bound; it is an upper
bound, not a benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.instruments.errors import parse_choice, parse_int
from app.instruments.models import Architecture, count_base_params, linear_shapes, resolve_model
from app.instruments.nf4 import BLOCK_SIZES
from app.instruments.nf4 import bits_per_param as nf4_bits_per_param
from app.instruments.vram import CardFit  # one answer to "does it fit on this card"

__all__ = [
    "BATCH_RANGE",
    "CONTEXT_RANGE",
    "CUSTOM_BITS_RANGE",
    "FORMATS",
    "FORMAT_LABELS",
    "GROUP_SIZES",
    "KV_BITS",
    "SCALE_BITS",
    "SERVING_CARDS",
    "ZERO_BITS",
    "CardFit",
    "DeployEstimate",
    "ServingCard",
    "bits_per_weight",
    "estimate_deploy",
    "get_card",
]

FORMATS: tuple[str, ...] = ("fp16", "int8", "int4", "nf4", "nf4-dq", "custom")
FORMAT_LABELS: dict[str, str] = {
    "fp16": "fp16 / bf16",
    "int8": "int8, per channel",
    "int4": "int4, per group",
    "nf4": "NF4 (bitsandbytes)",
    "nf4-dq": "NF4 + double quant",
    "custom": "custom b-bit, per group",
}
GROUP_SIZES: tuple[int, ...] = BLOCK_SIZES  # 32, 64, 128, 256
SCALE_BITS: tuple[int, ...] = (16, 32)
ZERO_BITS: tuple[int, ...] = (0, 4, 8, 16)
KV_BITS: tuple[int, ...] = (16, 8)
CUSTOM_BITS_RANGE: tuple[int, int] = (2, 8)
CONTEXT_RANGE: tuple[int, int] = (128, 131_072)
BATCH_RANGE: tuple[int, int] = (1, 256)
GB = 1e9


@dataclass(frozen=True, slots=True)
class ServingCard:
    card_id: str
    name: str
    memory_gb: float
    bandwidth_gb_s: float  # peak memory bandwidth, GB/s, from the vendor's datasheet
    source: str


# Peak memory bandwidth as each vendor datasheet states it (GB/s = 10^9 bytes per second).
SERVING_CARDS: tuple[ServingCard, ...] = (
    ServingCard("rtx-4090", "GeForce RTX 4090", 24, 1008, "NVIDIA Ada GPU Architecture whitepaper (GeForce RTX 4090)"),
    ServingCard("l40s", "L40S", 48, 864, "NVIDIA L40S datasheet"),
    ServingCard("a100-80gb", "A100 80GB SXM", 80, 2039, "NVIDIA A100 Tensor Core GPU datasheet"),
    ServingCard("h100-sxm", "H100 SXM", 80, 3350, "NVIDIA H100 Tensor Core GPU datasheet"),
    ServingCard("h200", "H200 SXM", 141, 4800, "NVIDIA H200 Tensor Core GPU datasheet"),
)
_CARDS_BY_ID = {card.card_id: card for card in SERVING_CARDS}


@dataclass(frozen=True, slots=True)
class DeployEstimate:
    model_id: str
    display_name: str
    format: str
    format_label: str
    bits_per_weight: float  # of the quantized matrices, scales and zeros included
    effective_bits: float  # over every parameter of the model
    quantized_params: int
    other_params: int
    weight_gb: float
    kv_cache_gb: float
    total_gb: float
    fits: list[CardFit]
    card: str
    bandwidth_gb_s: float
    card_source: str
    decode_steps_per_s: float  # upper bound from memory bandwidth
    tokens_per_s: float  # the same bound for the whole batch
    assumptions: list[str]


def get_card(card_id: str) -> ServingCard:
    chosen = parse_choice("card", card_id, _CARDS_BY_ID)
    return _CARDS_BY_ID[chosen]


def bits_per_weight(
    fmt: str, d_in: int, *, group_size: int = 128, scale_bits: int = 16, zero_bits: int = 0, bits: int = 4
) -> float:
    """Storage of one weight of a ``d_in``-input matrix in format ``fmt``, its share of scales included."""
    fmt = parse_choice("format", fmt, FORMATS)
    if fmt == "fp16":
        return 16.0
    if fmt == "nf4":
        return nf4_bits_per_param(group_size)
    if fmt == "nf4-dq":
        return nf4_bits_per_param(group_size, double_quant=True)
    overhead = scale_bits + zero_bits
    if fmt == "int8":
        return 8 + overhead / d_in  # one scale (and zero) per output channel, i.e. per row of d_in weights
    code = 4 if fmt == "int4" else bits
    return code + overhead / group_size


def _assumptions(
    arch: Architecture,
    fmt: str,
    group_size: int,
    scale_bits: int,
    zero_bits: int,
    bits: int,
    kv_bits: int,
    context: int,
    batch: int,
    card: ServingCard,
    every_tensor: bool,
) -> list[str]:
    lines = ["Sizes in GB = 10^9 bytes; a card fits when the total is at most its nominal size."]
    if arch.approximate:
        lines.append(
            "A custom size: exactly that many parameters; the share in linear layers and the KV-cache shape "
            "come from a Llama-2-like shape of that size."
        )
    zero = f" and a {zero_bits}-bit zero point" if zero_bits else ""
    layout = {
        "fp16": "Every weight in 16 bits.",
        "int8": f"int8 codes with one {scale_bits}-bit scale{zero} per output channel.",
        "int4": f"4-bit codes in groups of {group_size}, each group with a {scale_bits}-bit scale"
        + (zero or " (symmetric, no zero point)")
        + ".",
        "nf4": f"NF4 codes with one fp32 absmax per block of {group_size} (bitsandbytes).",
        "nf4-dq": f"NF4 codes, block {group_size}, with an 8-bit absmax per block and an fp32 constant "
        "per 256 absmaxes (double quantization).",
        "custom": f"{bits}-bit codes in groups of {group_size}, each with a {scale_bits}-bit scale{zero}.",
    }[fmt]
    lines.append(layout)
    if fmt != "fp16" and every_tensor:
        lines.append("Every tensor is stored in this format: embeddings, norms and the LM head too.")
    elif fmt != "fp16":
        lines.append(
            "Only the blocks' linear projections are quantized; embeddings, norms and the LM head stay in 16 bits."
        )
    lines.append(
        f"KV cache: keys and values of {arch.num_layers} layers × {arch.num_key_value_heads} KV heads × "
        f"{arch.head_dim} dims, {kv_bits}-bit, for {context:,} tokens × {batch} sequence{'s' if batch > 1 else ''} "
        "(the cache full, at the end of the context)."
    )
    lines.append("Not counted: activations, the CUDA context and allocator slack (typically a few GB).")
    lines.append(
        f"Speed bound: each decoding step reads every weight and the whole KV cache once at {card.name}'s "
        f"{card.bandwidth_gb_s:,.0f} GB/s ({card.source}); real kernels reach a fraction of it."
    )
    return lines


def estimate_deploy(
    model: Architecture | str | float,
    fmt: str,
    *,
    group_size: int = 128,
    scale_bits: int = 16,
    zero_bits: int = 4,
    bits: int = 3,
    context: int = 4096,
    batch: int = 1,
    kv_bits: int = 16,
    card: str = "h100-sxm",
    every_tensor: bool = False,
) -> DeployEstimate:
    """Memory of ``model`` served in format ``fmt`` with a KV cache, and the bandwidth bound on decoding."""
    arch, total_params = resolve_model(model)
    fmt = parse_choice("format", fmt, FORMATS)
    group_size = int(parse_choice("group_size", str(group_size), map(str, GROUP_SIZES)))
    scale_bits = int(parse_choice("scale_bits", str(scale_bits), map(str, SCALE_BITS)))
    zero_bits = int(parse_choice("zero_bits", str(zero_bits), map(str, ZERO_BITS)))
    bits = parse_int("bits", bits, low=CUSTOM_BITS_RANGE[0], high=CUSTOM_BITS_RANGE[1])
    context = parse_int("context", context, low=CONTEXT_RANGE[0], high=CONTEXT_RANGE[1])
    batch = parse_int("batch", batch, low=BATCH_RANGE[0], high=BATCH_RANGE[1])
    kv_bits = int(parse_choice("kv_bits", str(kv_bits), map(str, KV_BITS)))
    chosen_card = get_card(card)

    layout = {"group_size": group_size, "scale_bits": scale_bits, "zero_bits": zero_bits, "bits": bits}
    projections = [(d_in, d_in * d_out * arch.num_layers) for d_in, d_out in linear_shapes(arch).values()]
    share = total_params / count_base_params(arch)  # 1 for a preset; a custom size keeps its exact count
    quantized = share * sum(count for _, count in projections)
    quantized_bits = share * sum(count * bits_per_weight(fmt, d_in, **layout) for d_in, count in projections)
    other = total_params - quantized
    other_bits = bits_per_weight(fmt, arch.hidden_size, **layout) if every_tensor else 16.0
    weight_bytes = (quantized_bits + other * other_bits) / 8
    kv_bytes = 2 * arch.num_layers * arch.kv_size * context * batch * kv_bits / 8
    total_bytes = weight_bytes + kv_bytes
    total_gb = total_bytes / GB
    steps = chosen_card.bandwidth_gb_s * GB / total_bytes
    return DeployEstimate(
        model_id=arch.model_id,
        display_name=arch.display_name,
        format=fmt,
        format_label=FORMAT_LABELS[fmt],
        bits_per_weight=quantized_bits / quantized,
        effective_bits=8 * weight_bytes / total_params,
        quantized_params=round(quantized),
        other_params=round(other),
        weight_gb=weight_bytes / GB,
        kv_cache_gb=kv_bytes / GB,
        total_gb=total_gb,
        fits=[
            CardFit(f"{c.name} {c.memory_gb:g} GB", c.memory_gb, total_gb <= c.memory_gb, c.memory_gb - total_gb)
            for c in SERVING_CARDS
        ],
        card=chosen_card.name,
        bandwidth_gb_s=chosen_card.bandwidth_gb_s,
        card_source=chosen_card.source,
        decode_steps_per_s=steps,
        tokens_per_s=steps * batch,
        assumptions=_assumptions(
            arch, fmt, group_size, scale_bits, zero_bits, bits, kv_bits, context, batch, chosen_card, every_tensor
        ),
    )
