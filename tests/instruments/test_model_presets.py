"""Architecture presets: parameter counts equal the released checkpoints'."""

from __future__ import annotations

import pytest

from app.instruments import InstrumentInputError
from app.instruments.models import (
    KNOWN_PARAMETER_COUNTS,
    approximate_architecture,
    count_base_params,
    get_model,
    linear_shapes,
    list_models,
    resolve_model,
)

# Written out here rather than read from the module, so an edit to the module's
# table cannot quietly move the target. These are the totals Hugging Face
# reports for each checkpoint (model.num_parameters()).
RELEASED_TOTALS = {
    "llama-2-7b": 6_738_415_616,
    "llama-2-13b": 13_015_864_320,
    "llama-2-70b": 68_976_648_192,
    "mistral-7b": 7_241_732_096,
    "llama-3-8b": 8_030_261_248,
    "llama-3-70b": 70_553_706_496,
    "llama-3.1-405b": 405_853_388_800,
    "llama-3.2-1b": 1_235_814_400,
    "llama-3.2-3b": 3_212_749_824,
    "qwen2.5-0.5b": 494_032_768,
    "qwen2.5-7b": 7_615_616_512,
    "qwen2.5-14b": 14_770_033_664,
    "qwen2.5-72b": 72_706_203_648,
    "llama-65b": 65_285_660_672,
}


@pytest.mark.parametrize(("model_id", "total"), sorted(RELEASED_TOTALS.items()))
def test_base_params_equal_released_totals(model_id: str, total: int) -> None:
    assert count_base_params(get_model(model_id)) == total


def test_every_preset_is_pinned() -> None:
    ids = {arch.model_id for arch in list_models()}
    assert ids == set(RELEASED_TOTALS) == set(KNOWN_PARAMETER_COUNTS)
    assert KNOWN_PARAMETER_COUNTS == RELEASED_TOTALS


def test_required_presets_exist_with_display_names() -> None:
    for model_id in ("llama-2-7b", "llama-3-8b", "mistral-7b", "qwen2.5-7b", "llama-2-70b", "llama-3-70b"):
        arch = get_model(model_id)
        assert arch.display_name
        assert not arch.approximate


def test_gqa_shapes() -> None:
    assert linear_shapes(get_model("llama-3-8b"))["k_proj"] == (4096, 1024)  # 8 KV heads x 128
    assert linear_shapes(get_model("llama-2-7b"))["v_proj"] == (4096, 4096)  # no GQA
    qwen = linear_shapes(get_model("qwen2.5-7b"))
    assert qwen["k_proj"] == (3584, 512)  # 4 KV heads x 128
    assert qwen["down_proj"] == (18944, 3584)


def test_only_qwen_has_biases() -> None:
    qwen = get_model("qwen2.5-7b")
    assert qwen.qkv_bias and not qwen.o_bias and not qwen.mlp_bias
    assert not any(get_model(m).qkv_bias for m in ("llama-2-7b", "llama-3-8b", "mistral-7b"))


def test_get_model_is_case_insensitive() -> None:
    assert get_model(" Llama-2-7B ") is get_model("llama-2-7b")


def test_unknown_model_lists_valid_ids() -> None:
    with pytest.raises(InstrumentInputError) as caught:
        get_model("gpt-5")
    assert caught.value.field == "model"
    assert "llama-2-7b" in caught.value.message and "qwen2.5-7b" in caught.value.message


@pytest.mark.parametrize("billions", [1, 3, 7, 13, 30, 70, 175, 405])
def test_approximate_shape_lands_near_the_requested_size(billions: float) -> None:
    arch = approximate_architecture(billions)
    assert arch.approximate
    assert count_base_params(arch) == pytest.approx(billions * 1e9, rel=0.05)
    assert arch.hidden_size % 128 == 0


def test_approximate_thirteen_b_is_llama2_13b_shaped() -> None:
    arch = approximate_architecture(13)
    # (128 * 13e9 / 12)^(1/3) = 5,175 -> 5,120; MLP 8/3 * 5120 = 13,653 -> 13,824;
    # a layer holds 4*5120^2 + 3*5120*13824 + 2*5120 = 317,204,480; the body
    # 13e9 - 2*32000*5120 - 5120 = 12,672,314,880 fills 39.95 -> 40 layers.
    arch_13 = get_model("llama-2-13b")
    assert (arch.hidden_size, arch.intermediate_size, arch.num_layers) == (5120, 13824, 40)
    assert count_base_params(arch) == count_base_params(arch_13)


@pytest.mark.parametrize(
    ("model", "params"),
    [(7, 7_000_000_000), ("13", 13_000_000_000), ("13B", 13_000_000_000), (2.5, 2_500_000_000)],
)
def test_resolve_size_keeps_the_exact_count(model: object, params: int) -> None:
    arch, count = resolve_model(model)  # type: ignore[arg-type]
    assert count == params
    assert arch.approximate


def test_resolve_preset() -> None:
    arch, count = resolve_model("mistral-7b")
    assert arch is get_model("mistral-7b")
    assert count == 7_241_732_096


@pytest.mark.parametrize(
    ("model", "field"),
    [(0.5, "params_b"), (406, "params_b"), ("banana", "model"), (float("nan"), "params_b"), (None, "params_b")],
)
def test_resolve_rejects(model: object, field: str) -> None:
    with pytest.raises(InstrumentInputError) as caught:
        resolve_model(model)  # type: ignore[arg-type]
    assert caught.value.field == field
