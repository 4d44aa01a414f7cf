"""Architecture presets of dense decoder-only LLMs, stored as data.

Every preset is a Llama-style decoder: token embedding, ``num_layers`` blocks of
(RMSNorm, attention with q/k/v/o projections and grouped-query K/V, RMSNorm,
SwiGLU MLP with gate/up/down projections), a final RMSNorm, and an LM head that
is either its own matrix or tied to the embedding. The numbers are copied from
each model's ``config.json`` on the Hugging Face Hub; ``KNOWN_PARAMETER_COUNTS``
holds the totals those checkpoints report (``model.num_parameters()``), and the
tests check that ``count_base_params`` reproduces every one to the parameter.

``approximate_architecture`` invents a plausible shape for a bare parameter
count, so the VRAM instrument can also take "a 13B model" without a preset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.instruments.errors import InstrumentInputError, parse_float

__all__ = [
    "KNOWN_PARAMETER_COUNTS",
    "LINEAR_MODULES",
    "PARAMS_BILLION_RANGE",
    "Architecture",
    "ModelPreset",
    "approximate_architecture",
    "count_base_params",
    "count_linear_weight_params",
    "get_model",
    "linear_shapes",
    "list_models",
    "list_presets",
    "resolve_model",
]

# The seven projections a Llama block holds, in the order PEFT users write them.
LINEAR_MODULES: tuple[str, ...] = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
)

# The VRAM instrument's slider for a bare parameter count, in billions.
PARAMS_BILLION_RANGE: tuple[float, float] = (1.0, 405.0)


@dataclass(frozen=True, slots=True)
class Architecture:
    """The shape numbers that decide parameter counts and activation sizes."""

    model_id: str
    display_name: str
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    vocab_size: int
    tied_embeddings: bool
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    # True for shapes invented by approximate_architecture, not read from a config.
    approximate: bool = False

    @property
    def q_size(self) -> int:
        return self.num_attention_heads * self.head_dim

    @property
    def kv_size(self) -> int:
        # Grouped-query attention: K and V have fewer heads than Q.
        return self.num_key_value_heads * self.head_dim


def _llama(
    model_id: str,
    display_name: str,
    *,
    hidden: int,
    intermediate: int,
    layers: int,
    heads: int,
    kv_heads: int,
    vocab: int,
    head_dim: int = 128,
    tied: bool = False,
    qkv_bias: bool = False,
) -> Architecture:
    return Architecture(
        model_id=model_id,
        display_name=display_name,
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        head_dim=head_dim,
        vocab_size=vocab,
        tied_embeddings=tied,
        qkv_bias=qkv_bias,
    )


# Ordered by family, then size: the order the instrument's menu shows them.
_PRESETS: tuple[Architecture, ...] = (
    _llama("llama-2-7b", "Llama 2 7B", hidden=4096, intermediate=11008, layers=32,
           heads=32, kv_heads=32, vocab=32000),
    _llama("llama-2-13b", "Llama 2 13B", hidden=5120, intermediate=13824, layers=40,
           heads=40, kv_heads=40, vocab=32000),
    _llama("llama-2-70b", "Llama 2 70B", hidden=8192, intermediate=28672, layers=80,
           heads=64, kv_heads=8, vocab=32000),
    _llama("llama-3.2-1b", "Llama 3.2 1B", hidden=2048, intermediate=8192, layers=16,
           heads=32, kv_heads=8, vocab=128256, head_dim=64, tied=True),
    _llama("llama-3.2-3b", "Llama 3.2 3B", hidden=3072, intermediate=8192, layers=28,
           heads=24, kv_heads=8, vocab=128256, tied=True),
    _llama("llama-3-8b", "Llama 3 8B", hidden=4096, intermediate=14336, layers=32,
           heads=32, kv_heads=8, vocab=128256),
    _llama("llama-3-70b", "Llama 3 70B", hidden=8192, intermediate=28672, layers=80,
           heads=64, kv_heads=8, vocab=128256),
    _llama("llama-3.1-405b", "Llama 3.1 405B", hidden=16384, intermediate=53248,
           layers=126, heads=128, kv_heads=8, vocab=128256),
    _llama("mistral-7b", "Mistral 7B (v0.1)", hidden=4096, intermediate=14336, layers=32,
           heads=32, kv_heads=8, vocab=32000),
    _llama("qwen2.5-0.5b", "Qwen2.5 0.5B", hidden=896, intermediate=4864, layers=24,
           heads=14, kv_heads=2, vocab=151936, head_dim=64, tied=True, qkv_bias=True),
    _llama("qwen2.5-7b", "Qwen2.5 7B", hidden=3584, intermediate=18944, layers=28,
           heads=28, kv_heads=4, vocab=152064, qkv_bias=True),
    _llama("qwen2.5-14b", "Qwen2.5 14B", hidden=5120, intermediate=13824, layers=48,
           heads=40, kv_heads=8, vocab=152064, qkv_bias=True),
    _llama("qwen2.5-72b", "Qwen2.5 72B", hidden=8192, intermediate=29568, layers=80,
           heads=64, kv_heads=8, vocab=152064, qkv_bias=True),
    # LLaMA 1 65B: the model the QLoRA paper fine-tuned on one 48 GB GPU.
    _llama("llama-65b", "LLaMA 65B (v1)", hidden=8192, intermediate=22016, layers=80,
           heads=64, kv_heads=64, vocab=32000),
)

_BY_ID: dict[str, Architecture] = {arch.model_id: arch for arch in _PRESETS}

# What the released checkpoints report; the tests hold count_base_params to these.
KNOWN_PARAMETER_COUNTS: dict[str, int] = {
    "llama-2-7b": 6_738_415_616,
    "llama-2-13b": 13_015_864_320,
    "llama-2-70b": 68_976_648_192,
    "llama-3.2-1b": 1_235_814_400,
    "llama-3.2-3b": 3_212_749_824,
    "llama-3-8b": 8_030_261_248,
    "llama-3-70b": 70_553_706_496,
    "llama-3.1-405b": 405_853_388_800,
    "mistral-7b": 7_241_732_096,
    "qwen2.5-0.5b": 494_032_768,
    "qwen2.5-7b": 7_615_616_512,
    "qwen2.5-14b": 14_770_033_664,
    "qwen2.5-72b": 72_706_203_648,
    "llama-65b": 65_285_660_672,
}


def list_models() -> list[Architecture]:
    """Every preset, in menu order."""
    return list(_PRESETS)


@dataclass(frozen=True, slots=True)
class ModelPreset:
    """A preset as the API lists it: its shape and its parameter count."""

    id: str
    name: str
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    vocab_size: int
    base_params: int


def list_presets() -> list[ModelPreset]:
    """Every preset with its parameter count, in menu order."""
    return [
        ModelPreset(
            id=a.model_id,
            name=a.display_name,
            hidden_size=a.hidden_size,
            intermediate_size=a.intermediate_size,
            num_layers=a.num_layers,
            num_attention_heads=a.num_attention_heads,
            num_key_value_heads=a.num_key_value_heads,
            vocab_size=a.vocab_size,
            base_params=count_base_params(a),
        )
        for a in _PRESETS
    ]


def get_model(model_id: str) -> Architecture:
    """The preset called ``model_id``; unknown ids list the valid ones."""
    key = model_id.strip().lower() if isinstance(model_id, str) else ""
    try:
        return _BY_ID[key]
    except KeyError:
        valid = ", ".join(_BY_ID)
        raise InstrumentInputError(f"unknown model {model_id!r}; choose one of {valid}.", field="model") from None


def linear_shapes(arch: Architecture) -> dict[str, tuple[int, int]]:
    """``{module: (in_features, out_features)}`` for one block's projections."""
    h, i = arch.hidden_size, arch.intermediate_size
    return {
        "q_proj": (h, arch.q_size),
        "k_proj": (h, arch.kv_size),
        "v_proj": (h, arch.kv_size),
        "o_proj": (arch.q_size, h),
        "gate_proj": (h, i),
        "up_proj": (h, i),
        "down_proj": (i, h),
    }


def count_linear_weight_params(arch: Architecture) -> int:
    """Weights of all block projections: the tensors 4-bit quantization replaces."""
    per_layer = sum(d_in * d_out for d_in, d_out in linear_shapes(arch).values())
    return per_layer * arch.num_layers


def _bias_params_per_layer(arch: Architecture) -> int:
    shapes = linear_shapes(arch)
    total = 0
    if arch.qkv_bias:
        total += sum(shapes[name][1] for name in ("q_proj", "k_proj", "v_proj"))
    if arch.o_bias:
        total += shapes["o_proj"][1]
    if arch.mlp_bias:
        total += sum(shapes[name][1] for name in ("gate_proj", "up_proj", "down_proj"))
    return total


def count_base_params(arch: Architecture) -> int:
    """All parameters of the model, each shared tensor counted once (as HF does)."""
    embeddings = arch.vocab_size * arch.hidden_size
    lm_head = 0 if arch.tied_embeddings else arch.vocab_size * arch.hidden_size
    norms_per_layer = 2 * arch.hidden_size  # input + post-attention RMSNorm weights
    per_layer_extra = norms_per_layer + _bias_params_per_layer(arch)
    final_norm = arch.hidden_size
    return (
        count_linear_weight_params(arch)
        + per_layer_extra * arch.num_layers
        + embeddings
        + lm_head
        + final_norm
    )


# Shape rules for approximate_architecture, read off the Llama 2 family:
# hidden = 128 * layers (7B: 4096 = 128 * 32; 13B: 5120 = 128 * 40), a SwiGLU
# MLP of width 8/3 * hidden, full multi-head attention (the conservative choice
# for activations), and Llama 2's 32,000-token vocabulary.
_HIDDEN_PER_LAYER = 128
_MLP_RATIO = 8 / 3
_APPROX_VOCAB = 32_000


def approximate_architecture(params_billion: float) -> Architecture:
    """A Llama-2-like shape whose size is close to ``params_billion`` billion.

    A block of this shape holds about ``12 * hidden**2`` parameters (4h^2 of
    attention + 3 * h * 8h/3 of MLP), so ``params ~= 12 * layers * hidden**2``;
    with ``hidden = 128 * layers`` that gives ``hidden = (128 * params / 12)**(1/3)``,
    rounded to a multiple of 128. The layer count is then whatever fills the
    parameters left after the embedding and LM head.
    Callers that need the exact count use the number they were given; this shape
    only supplies the widths that activation memory and LoRA sizes depend on.
    """
    low, high = PARAMS_BILLION_RANGE
    billions = parse_float("params_b", params_billion, low=low, high=high)
    params = billions * 1e9
    hidden = max(128, round((_HIDDEN_PER_LAYER * params / 12) ** (1 / 3) / 128) * 128)
    intermediate = max(256, math.ceil(_MLP_RATIO * hidden / 256) * 256)
    heads = hidden // 128
    # Layers fill what the embedding and LM head leave (a quarter of a 1B model).
    per_layer = 4 * hidden * hidden + 3 * hidden * intermediate + 2 * hidden
    body = params - 2 * _APPROX_VOCAB * hidden - hidden
    layers = max(1, round(body / per_layer))
    return Architecture(
        model_id=f"{billions:g}b",
        display_name=f"{billions:g}B-parameter model",
        hidden_size=hidden,
        intermediate_size=intermediate,
        num_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        head_dim=128,
        vocab_size=_APPROX_VOCAB,
        tied_embeddings=False,
        approximate=True,
    )


def resolve_model(model: Architecture | str | float) -> tuple[Architecture, int]:
    """The architecture and exact parameter count behind a preset or a size.

    ``model`` is a preset, a preset id, or a size in billions of parameters (a
    number or its text, as a form submits it). A size keeps its exact count
    (7 means 7,000,000,000) and borrows only widths from ``approximate_architecture``.
    """
    if isinstance(model, Architecture):
        return model, count_base_params(model)
    if isinstance(model, str) and model.strip().lower() in _BY_ID:
        arch = _BY_ID[model.strip().lower()]
        return arch, count_base_params(arch)
    if isinstance(model, str):
        text = model.strip().lower().removesuffix("b")
        try:
            float(text)
        except ValueError:
            get_model(model)  # raises, naming the valid ids
        model = text
    low, high = PARAMS_BILLION_RANGE
    billions = parse_float("params_b", model, low=low, high=high)
    return approximate_architecture(billions), round(billions * 1e9)
