"""Instrument 6.2: the chapter's memory statements and published figures hold."""

from __future__ import annotations

import pytest

from app.instruments import InstrumentInputError
from app.instruments.activations import estimate_activations, layer_bytes_per_token
from app.instruments.calibration import (
    PUBLISHED_FIGURES,
    CalibrationRow,
    PublishedFigure,
    compare_to_published,
)
from app.instruments.lora import count_model
from app.instruments.models import get_model
from app.instruments.vram import (
    PART_LABELS,
    estimate_methods,
    estimate_vram,
    quantization_bits_per_param,
)

GB = 1e9


def _states_gb(method_parts: dict[str, float]) -> float:
    return method_parts["weights"] + method_parts["gradients"] + method_parts["optimizer_states"]


# ---- the chapter's statements -------------------------------------------------


def test_seven_b_full_fine_tune_states_are_112_gb() -> None:
    # "7e9 params x 16 bytes = 1.12e11 bytes = 112 GB"
    estimate = estimate_vram(7, "full")
    assert _states_gb(estimate.parts) == pytest.approx(112.0, abs=1e-9)
    assert estimate.parts["weights"] == pytest.approx(14.0)
    assert estimate.parts["optimizer_states"] == pytest.approx(84.0)  # master 4 + m 4 + v 4


def test_seven_b_full_fine_tune_overflows_an_80_gb_card() -> None:
    fits = {fit.memory_gb: fit.fits for fit in estimate_vram(7, "full").fits}
    assert fits == {24: False, 48: False, 80: False, 141: True}


@pytest.mark.parametrize("model_id", ["llama-2-7b", "mistral-7b", "qwen2.5-7b", "llama-3-70b"])
def test_full_fine_tuning_costs_exactly_16_bytes_per_parameter(model_id: str) -> None:
    estimate = estimate_vram(get_model(model_id), "full")
    assert _states_gb(estimate.parts) * GB == pytest.approx(16 * estimate.params, rel=1e-12)


@pytest.mark.parametrize("model", [70, "llama-2-70b", "llama-3-70b"])
@pytest.mark.parametrize("checkpointing", [True, False])
def test_seventy_b_full_fine_tune_is_about_1_1_tb(model: object, checkpointing: bool) -> None:
    estimate = estimate_vram(model, "full", seq_len=2048, batch_size=1,  # type: ignore[arg-type]
                             gradient_checkpointing=checkpointing)
    assert estimate.total_gb == pytest.approx(1100, rel=0.10)


@pytest.mark.parametrize("model", [70, "llama-2-70b"])
def test_qlora_puts_a_70b_under_48_gb(model: object) -> None:
    estimate = estimate_vram(model, "qlora", r=16, targets="all-linear", seq_len=2048,  # type: ignore[arg-type]
                             batch_size=1, gradient_checkpointing=True, double_quant=True)
    assert estimate.total_gb < 48
    fits = {fit.memory_gb: fit.fits for fit in estimate.fits}
    assert fits == {24: False, 48: True, 80: True, 141: True}


def test_qlora_frozen_weights_of_a_70b_are_about_35_gb() -> None:
    # "70e9 x 0.5 bytes = 35 GB"; embeddings and LM head stay bf16 on top of that.
    weights = estimate_vram(70, "qlora").parts["weights"]
    assert 35.0 < weights < 37.0


def test_full_fine_tune_of_70b_does_not_fit_any_single_card() -> None:
    assert not any(fit.fits for fit in estimate_vram(70, "full").fits)


# ---- per-method accounting ----------------------------------------------------


def test_lora_parts() -> None:
    arch = get_model("llama-2-7b")
    estimate = estimate_vram(arch, "lora", r=16, targets="all-linear")
    adapter = count_model(arch, 16, "all-linear").trainable_params
    assert estimate.trainable_params == adapter == 39_976_960
    assert estimate.parts["weights"] * GB == pytest.approx(2 * 6_738_415_616)
    assert estimate.parts["adapter_weights"] * GB == pytest.approx(4 * adapter)  # fp32
    assert estimate.parts["adapter_gradients"] * GB == pytest.approx(4 * adapter)
    assert estimate.parts["adapter_optimizer_states"] * GB == pytest.approx(8 * adapter)
    assert "gradients" not in estimate.parts and "optimizer_states" not in estimate.parts


def test_qlora_parts() -> None:
    arch = get_model("llama-2-7b")
    estimate = estimate_vram(arch, "qlora", r=16, double_quant=False)
    # 32 layers x 202,375,168 projection weights at 0.5 B; the rest
    # (262,144,000 embedding + LM head, 266,240 norm weights) at 2 B.
    projections = 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)
    rest = 6_738_415_616 - projections
    assert estimate.parts["weights"] * GB == pytest.approx(0.5 * projections + 2 * rest)
    assert estimate.parts["quantization_constants"] * GB == pytest.approx(projections * 0.5 / 8)
    adapter = 39_976_960
    assert estimate.parts["adapter_weights"] * GB == pytest.approx(2 * adapter)  # bf16
    assert estimate.parts["adapter_optimizer_states"] * GB == pytest.approx(8 * adapter)


def test_double_quantization_saves_about_0_4_bits_per_param() -> None:
    assert quantization_bits_per_param(False) == 0.5  # fp32 per 64
    assert quantization_bits_per_param(True) == pytest.approx(0.127, abs=1e-3)  # 8/64 + 32/(64*256)
    plain = estimate_vram(70, "qlora", double_quant=False).parts["quantization_constants"]
    double = estimate_vram(70, "qlora", double_quant=True).parts["quantization_constants"]
    assert (plain - double) / plain == pytest.approx(0.373 / 0.5, abs=1e-3)


def test_parts_follow_label_order_and_sum_to_total() -> None:
    for method, estimate in estimate_methods("llama-3-8b").items():
        keys = list(estimate.parts)
        assert keys == [k for k in PART_LABELS if k in estimate.parts], method
        assert sum(estimate.parts.values()) == pytest.approx(estimate.total_gb)
        assert estimate.total_gib == pytest.approx(estimate.total_gb * 1e9 / 2**30)


def test_methods_order_from_most_to_least_memory() -> None:
    totals = {m: e.total_gb for m, e in estimate_methods("mistral-7b").items()}
    assert list(totals) == ["full", "lora", "qlora"]
    assert totals["full"] > totals["lora"] > totals["qlora"]


def test_cards_are_the_four_common_sizes() -> None:
    fits = estimate_vram("llama-2-7b", "qlora").fits
    assert [fit.memory_gb for fit in fits] == [24, 48, 80, 141]
    assert all(f"{fit.memory_gb:g} GB" in fit.card for fit in fits)
    assert all(fit.fits for fit in fits)
    assert fits[0].headroom_gb == pytest.approx(24 - estimate_vram("llama-2-7b", "qlora").total_gb)


def test_assumptions_say_what_was_assumed() -> None:
    full = " ".join(estimate_vram(7, "full").assumptions)
    assert "16 bytes per parameter" in full and "Llama-2-like shape" in full
    qlora = " ".join(estimate_vram("llama-2-70b", "qlora", double_quant=True).assumptions)
    assert "NF4" in qlora and "0.127" in qlora and "Llama-2-like" not in qlora
    plain = " ".join(estimate_vram("llama-2-70b", "qlora", double_quant=False).assumptions)
    assert "0.5 extra bits" in plain
    no_ckpt = " ".join(estimate_vram(7, "lora", gradient_checkpointing=False).assumptions)
    assert "without gradient checkpointing" in no_ckpt


# ---- activations --------------------------------------------------------------


def test_layer_activation_bytes_for_llama2_7b() -> None:
    # 16h + 4q + 4kv + 4a + 8i = 65,536 + 16,384 + 16,384 + 128 + 88,064
    assert layer_bytes_per_token(get_model("llama-2-7b")) == 186_496


def test_activations_without_checkpointing_scale_with_tokens() -> None:
    arch = get_model("llama-2-7b")
    one = estimate_activations(arch, seq_len=1024, batch_size=1, gradient_checkpointing=False)
    four = estimate_activations(arch, seq_len=2048, batch_size=2, gradient_checkpointing=False)
    assert four.total_bytes == 4 * one.total_bytes
    # 32 layers x 186,496 B + 12 B x 32,000 logits, per token
    assert one.total_bytes == 1024 * (32 * 186_496 + 12 * 32_000)


def test_checkpointing_keeps_layer_inputs_and_one_layer() -> None:
    arch = get_model("llama-2-7b")
    act = estimate_activations(arch, seq_len=2048, batch_size=1, gradient_checkpointing=True)
    assert act.checkpoint_bytes == 2 * 4096 * 2048 * 32
    assert act.total_bytes == act.checkpoint_bytes + max(act.per_layer_bytes, act.logits_bytes)
    full = estimate_activations(arch, seq_len=2048, batch_size=1, gradient_checkpointing=False)
    assert act.total_bytes < full.total_bytes / 5


def test_longer_sequences_cost_more() -> None:
    short = estimate_vram("llama-3-8b", "qlora", seq_len=512).total_gb
    long = estimate_vram("llama-3-8b", "qlora", seq_len=8192).total_gb
    assert long > short + 5


# ---- published figures ---------------------------------------------------------


@pytest.mark.parametrize(
    "row", compare_to_published(), ids=lambda row: f"{row.figure.source[:12]}-{row.figure.claim}"
)
def test_calibration_against_published_figures(row: CalibrationRow) -> None:
    figure = row.figure
    assert figure.min_ratio <= row.ratio <= figure.max_ratio, (
        f"{figure.source}: {figure.claim}; ours {row.ours_gb:.1f} GB = {row.ratio:.2f}x "
        f"outside [{figure.min_ratio}, {figure.max_ratio}]"
    )
    assert row.within


def test_calibration_table_covers_every_source() -> None:
    sources = {figure.source for figure in PUBLISHED_FIGURES}
    assert len(sources) == 4
    assert all(f.min_ratio < 1 <= f.max_ratio for f in PUBLISHED_FIGURES)


def test_calibration_flags_a_figure_out_of_band() -> None:
    # A made-up source claiming 7B QLoRA needs 30 GB must be reported as a miss.
    wrong = PublishedFigure("made up", "7B QLoRA: 30 GB", 7, "qlora", 30, 0.7, 1.3)
    (row,) = compare_to_published((wrong,))
    assert not row.within


# ---- validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"model": 7, "method": "adam"}, "method"),
        ({"model": 0.5, "method": "full"}, "params_b"),
        ({"model": 406, "method": "full"}, "params_b"),
        ({"model": "gpt-5", "method": "full"}, "model"),
        ({"model": 7, "method": "lora", "r": 0}, "r"),
        ({"model": 7, "method": "lora", "targets": "lm_head"}, "targets"),
        ({"model": 7, "method": "lora", "seq_len": 64}, "seq_len"),
        ({"model": 7, "method": "lora", "seq_len": "long"}, "seq_len"),
        ({"model": 7, "method": "lora", "batch_size": 0}, "batch_size"),
        ({"model": 7, "method": "lora", "batch_size": 65}, "batch_size"),
        ({"model": 7, "method": "lora", "gradient_checkpointing": "maybe"}, "gradient_checkpointing"),
        ({"model": 7, "method": "qlora", "double_quant": 2}, "double_quant"),
    ],
)
def test_vram_inputs_are_validated(kwargs: dict[str, object], field: str) -> None:
    model = kwargs.pop("model")
    method = kwargs.pop("method")
    with pytest.raises(InstrumentInputError) as caught:
        estimate_vram(model, method, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_form_values_are_accepted() -> None:
    from_form = estimate_vram("13", "QLoRA", r="16", targets="q_proj,v_proj", seq_len="2,048",
                              batch_size="1", gradient_checkpointing="on", double_quant="false")
    typed = estimate_vram(13, "qlora", r=16, targets=["q_proj", "v_proj"], seq_len=2048,
                          batch_size=1, gradient_checkpointing=True, double_quant=False)
    assert from_form == typed
