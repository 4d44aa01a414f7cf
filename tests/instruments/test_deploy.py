"""Instrument 7.1: bits per weight with the scales, weight and KV-cache memory, the bandwidth bound."""

from __future__ import annotations

import pytest

from app.instruments import InstrumentInputError
from app.instruments.deploy import SERVING_CARDS, bits_per_weight, estimate_deploy
from app.instruments.models import count_base_params, get_model, linear_shapes


@pytest.mark.parametrize(
    ("fmt", "kwargs", "expected"),
    [
        ("fp16", {}, 16.0),
        ("int4", {"group_size": 128, "scale_bits": 16, "zero_bits": 4}, 4 + 20 / 128),  # GPTQ/AWQ: 4.15625
        ("int4", {"group_size": 32, "scale_bits": 16, "zero_bits": 0}, 4.5),  # GGUF Q4_0's layout
        ("custom", {"bits": 8, "group_size": 32, "scale_bits": 16, "zero_bits": 0}, 8.5),  # GGUF Q8_0's layout
        ("custom", {"bits": 3, "group_size": 128, "scale_bits": 16, "zero_bits": 4}, 3 + 20 / 128),
        ("nf4", {"group_size": 64}, 4.5),  # one fp32 absmax per 64
        ("nf4-dq", {"group_size": 64}, 4 + 8 / 64 + 32 / (64 * 256)),  # Chapter 06's 4.127
        ("int8", {"scale_bits": 16, "zero_bits": 0}, 8 + 16 / 4096),  # one scale per row of d_in = 4096
    ],
)
def test_bits_per_weight_counts_the_scales(fmt: str, kwargs: dict[str, int], expected: float) -> None:
    assert bits_per_weight(fmt, 4096, **kwargs) == pytest.approx(expected)


def test_memory_is_quantized_projections_plus_16_bit_rest_plus_kv_cache() -> None:
    arch = get_model("llama-2-70b")
    linear = sum(d_in * d_out for d_in, d_out in linear_shapes(arch).values()) * arch.num_layers
    rest = count_base_params(arch) - linear
    e = estimate_deploy(
        "llama-2-70b",
        "int4",
        group_size=128,
        scale_bits=16,
        zero_bits=4,
        context=4096,
        batch=1,
        kv_bits=16,
        card="h100-sxm",
    )
    assert e.bits_per_weight == pytest.approx(4.15625)
    assert e.weight_gb == pytest.approx((linear * 4.15625 / 8 + rest * 2) / 1e9)
    # K and V, 80 layers, 8 KV heads x 128 dims, 4,096 tokens, 2 bytes: 1.34 GB.
    assert e.kv_cache_gb == pytest.approx(2 * 80 * 8 * 128 * 4096 * 2 / 1e9)
    assert e.total_gb == pytest.approx(e.weight_gb + e.kv_cache_gb)
    assert e.decode_steps_per_s == pytest.approx(3350 / e.total_gb)
    assert [f.fits for f in e.fits] == [False, True, True, True, True]  # over 24 GB, under 48 GB
    assert e.effective_bits > e.bits_per_weight  # the 16-bit embeddings and head raise the whole-model average


def test_fp16_7b_matches_the_exercise_and_batch_multiplies_tokens_not_steps() -> None:
    one = estimate_deploy("llama-2-7b", "fp16", context=128, batch=1, card="rtx-4090")
    assert one.weight_gb == pytest.approx(2 * count_base_params(get_model("llama-2-7b")) / 1e9)
    eight = estimate_deploy("llama-2-7b", "fp16", context=128, batch=8, card="rtx-4090")
    assert eight.kv_cache_gb == pytest.approx(8 * one.kv_cache_gb)
    assert eight.tokens_per_s == pytest.approx(8 * eight.decode_steps_per_s)
    assert eight.decode_steps_per_s < one.decode_steps_per_s


def test_a_custom_size_keeps_its_exact_count() -> None:
    e = estimate_deploy(7, "fp16", context=128, card="rtx-4090")
    assert e.quantized_params + e.other_params == 7_000_000_000
    assert e.weight_gb == pytest.approx(14.0)
    assert e.tokens_per_s == pytest.approx(1008 / (14.0 + e.kv_cache_gb))  # the exercise's 72, less a small cache
    assert 0 < e.kv_cache_gb < 0.01 * e.weight_gb
    assert "custom size" in " ".join(e.assumptions).lower()


def test_every_tensor_stores_embeddings_and_head_in_the_format_too() -> None:
    q4_0 = {"bits": 4, "group_size": 32, "scale_bits": 16, "zero_bits": 0}  # GGUF Q4_0's 4.5 bits
    everything = estimate_deploy(70, "custom", every_tensor=True, **q4_0)
    assert everything.weight_gb == pytest.approx(70e9 * 4.5 / 8 / 1e9)  # the chapter's 39.4 GB
    assert everything.effective_bits == pytest.approx(4.5)
    projections_only = estimate_deploy(70, "custom", **q4_0)
    assert projections_only.weight_gb > everything.weight_gb  # 16-bit embeddings and head cost more
    preset = estimate_deploy("llama-2-70b", "fp16", every_tensor=True)
    assert preset.weight_gb == pytest.approx(estimate_deploy("llama-2-70b", "fp16").weight_gb)


def test_kv_cache_at_long_context_outgrows_the_weights() -> None:
    e = estimate_deploy("llama-2-7b", "fp16", context=4096, batch=8)
    assert e.kv_cache_gb > e.weight_gb  # 17.2 GB of cache against 13.5 GB of weights
    assert estimate_deploy("llama-2-7b", "fp16", context=4096, batch=8, kv_bits=8).kv_cache_gb == pytest.approx(
        e.kv_cache_gb / 2
    )


def test_every_card_cites_its_datasheet() -> None:
    assert {c.card_id: c.bandwidth_gb_s for c in SERVING_CARDS} == {
        "rtx-4090": 1008,
        "l40s": 864,
        "a100-80gb": 2039,
        "h100-sxm": 3350,
        "h200": 4800,
    }
    assert all("datasheet" in c.source or "whitepaper" in c.source for c in SERVING_CARDS)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"fmt": "int3"}, "format"),
        ({"group_size": 100}, "group_size"),
        ({"bits": 9}, "bits"),
        ({"context": 10}, "context"),
        ({"card": "tpu"}, "card"),
        ({"kv_bits": 4}, "kv_bits"),
    ],
)
def test_bad_settings_name_their_field(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"model": "llama-2-7b", "fmt": "int4", **kwargs}
    with pytest.raises(InstrumentInputError) as caught:
        estimate_deploy(**arguments)  # type: ignore[arg-type]
    assert caught.value.field == field
