"""Activation memory of one training step of a Llama-style decoder.

We count the tensors autograd keeps for backward, the way Korthikanti et al.
(2022, "Reducing Activation Recomputation in Large Transformer Models", §4.1)
count them for a GPT layer (their ``s*b*h*(34 + 5*a*s/h)`` bytes per layer), but
for the layer these models actually have, as Hugging Face runs it in bf16:

* each RMSNorm keeps an fp32 copy of its input (4h bytes per token), the
  normalized bf16 tensor (2h) and its output, the next projection's input (2h):
  ``8h``, twice per layer;
* attention runs in a fused kernel (FlashAttention / PyTorch SDPA), so the
  ``5*a*s/h`` term of score and softmax matrices never exists; the kernel keeps
  Q (``2*q``), K and V (``2*kv`` each, grouped-query sized), its output
  (``2*q``, also o_proj's input) and a fp32 log-sum-exp per head (``4*a``);
* the SwiGLU MLP keeps gate and up outputs, SiLU(gate) and their product
  (down_proj's input): ``4 * 2i``.

Per token and layer that is ``16h + 4q + 4kv + 4a + 8i`` bytes (Llama 2 7B:
186 KB, against Korthikanti's 34h = 139 KB for a GPT layer of the same width).

A LoRA adapter on a module keeps, per token, a 16-bit copy of the module's
input for A's gradient (``2*d_in``), a 1-byte dropout mask (``d_in``, PEFT's
``lora_dropout > 0``) and A's output for B's gradient (``2*r``).

Gradient checkpointing keeps only each layer's input (``2h`` per token and
layer) and recomputes one layer at a time in backward, so the peak is the
checkpoints plus the larger of one layer's full activations and the loss stage.

The loss stage holds the logits: bf16 logits (2 bytes per token and vocabulary
entry), the fp32 log-softmax kept for backward (4), the fp32 upcast and then its
gradient (4) and the bf16 gradient (2): 12 bytes per token per vocabulary entry.
Llama 3's 128K vocabulary makes this the biggest single tensor of a short
sequence, which is why fused cross-entropy kernels exist.

QLoRA dequantizes one projection at a time to bf16 for its matmul, so the
largest projection's bf16 copy is added as a transient buffer.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.instruments.models import Architecture, linear_shapes

__all__ = [
    "LOGIT_BYTES_PER_ENTRY",
    "ActivationMemory",
    "estimate_activations",
    "layer_bytes_per_token",
    "lora_bytes_per_token",
]

LOGIT_BYTES_PER_ENTRY = 12


@dataclass(frozen=True, slots=True)
class ActivationMemory:
    """Peak activation bytes of one step, and the pieces that made it."""

    total_bytes: int
    per_layer_bytes: int  # one layer's saved tensors for the whole batch
    checkpoint_bytes: int  # all layers' inputs kept under checkpointing (0 without)
    logits_bytes: int
    dequant_buffer_bytes: int


def layer_bytes_per_token(arch: Architecture) -> int:
    """Bytes one decoder layer keeps for backward per token (bf16, fused attention)."""
    h, i = arch.hidden_size, arch.intermediate_size
    return 16 * h + 4 * arch.q_size + 4 * arch.kv_size + 4 * arch.num_attention_heads + 8 * i


def lora_bytes_per_token(arch: Architecture, r: int, targets: tuple[str, ...]) -> int:
    """Extra bytes per token and layer that LoRA adapters on ``targets`` keep."""
    shapes = linear_shapes(arch)
    return sum(3 * shapes[name][0] + 2 * r for name in targets)


def estimate_activations(
    arch: Architecture,
    *,
    seq_len: int,
    batch_size: int,
    gradient_checkpointing: bool,
    lora_r: int = 0,
    lora_targets: tuple[str, ...] = (),
    dequantizes: bool = False,
) -> ActivationMemory:
    """Peak activation memory for one micro-batch of ``batch_size x seq_len`` tokens."""
    tokens = seq_len * batch_size
    per_token = layer_bytes_per_token(arch)
    if lora_targets:
        per_token += lora_bytes_per_token(arch, lora_r, lora_targets)
    per_layer = per_token * tokens
    logits = LOGIT_BYTES_PER_ENTRY * arch.vocab_size * tokens
    dequant = 0
    if dequantizes:
        dequant = 2 * max(d_in * d_out for d_in, d_out in linear_shapes(arch).values())
    if gradient_checkpointing:
        checkpoints = 2 * arch.hidden_size * tokens * arch.num_layers
        # Recomputing a layer happens after the loss stage has been freed.
        peak = checkpoints + max(per_layer, logits)
    else:
        checkpoints = 0
        # Every layer's tensors are still alive when the loss is computed.
        peak = per_layer * arch.num_layers + logits
    return ActivationMemory(
        total_bytes=peak + dequant,
        per_layer_bytes=per_layer,
        checkpoint_bytes=checkpoints,
        logits_bytes=logits,
        dequant_buffer_bytes=dequant,
    )
