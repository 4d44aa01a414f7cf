"""Instrument 6.1: EQ 6.1 per matrix, and PEFT's numbers per model.

Expected values are derived by hand in the comments (or are what PEFT printed),
never by calling the code under test.
"""

from __future__ import annotations

import pytest

from app.instruments import InstrumentInputError
from app.instruments.lora import (
    count_matrix,
    count_model,
    describe_matrix,
    format_peft_summary,
    parse_targets,
)
from app.instruments.models import LINEAR_MODULES, get_model

# ---- one projection ---------------------------------------------------------


def test_chapter_example_d8192_r16() -> None:
    count = count_matrix(8192, 8192, 16)
    assert count.full_params == 67_108_864  # 8192^2
    assert count.lora_params == 262_144  # 16 * (8192 + 8192)
    assert count.trainable_percent == pytest.approx(0.390625)  # 2 * 16 / 8192 * 100
    assert describe_matrix(count) == "At d = 8,192, rank 16 trains 0.39% of the matrix."


def test_chapter_exercise_d4096_r8() -> None:
    count = count_matrix(4096, 4096, 8)
    assert count.lora_params == 65_536  # 8 * (4096 + 4096)
    assert count.trainable_percent == pytest.approx(0.390625)  # 16 / 4096 * 100


def test_rectangular_projection_sentence() -> None:
    count = count_matrix(4096, 11008, 16)
    assert count.full_params == 45_088_768
    assert count.lora_params == 241_664  # 16 * 15,104
    # 241,664 / 45,088,768 = 0.5360%
    assert describe_matrix(count) == "At 4,096 × 11,008, rank 16 trains 0.54% of the matrix."


def test_tiny_fraction_keeps_two_significant_digits() -> None:
    count = count_matrix(16384, 16384, 1)  # 2 / 16384 = 0.0122%
    assert "trains 0.012% of the matrix" in describe_matrix(count)


def test_rank_that_saves_nothing_is_called_out() -> None:
    count = count_matrix(256, 256, 256)  # 256 * 512 = 2 x 256^2
    assert count.trainable_percent == pytest.approx(200.0)
    sentence = describe_matrix(count)
    assert sentence.startswith("At d = 256, rank 256 trains 200.00% of the matrix")
    assert "saves nothing" in sentence


def test_form_text_is_accepted() -> None:
    assert count_matrix("8,192", " 8192 ", "16") == count_matrix(8192, 8192, 16)


@pytest.mark.parametrize(
    ("d_in", "d_out", "r", "field"),
    [
        (255, 4096, 8, "d_in"),
        (16385, 4096, 8, "d_in"),
        (4096, 100, 8, "d_out"),
        (4096, 4096, 0, "r"),
        (4096, 4096, 257, "r"),
        ("abc", 4096, 8, "d_in"),
        (4096, 4096, "", "r"),
        (4096, 4096, 1.5, "r"),
        (True, 4096, 8, "d_in"),
        (None, 4096, 8, "d_in"),
    ],
)
def test_matrix_inputs_are_validated(d_in: object, d_out: object, r: object, field: str) -> None:
    with pytest.raises(InstrumentInputError) as caught:
        count_matrix(d_in, d_out, r)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert caught.value.message  # a sentence for the student, not empty


def test_out_of_range_message_names_the_range() -> None:
    with pytest.raises(InstrumentInputError, match="between 256 and 16,384; got 100"):
        count_matrix(100, 4096, 8)


# ---- whole models: what PEFT prints ------------------------------------------


def test_peft_llama2_7b_r8_q_v_matches_printed_line() -> None:
    count = count_model(get_model("llama-2-7b"), 8, ["q_proj", "v_proj"])
    # PEFT's output for this config, verbatim.
    assert format_peft_summary(count) == (
        "trainable params: 4,194,304 || all params: 6,742,609,920 || trainable%: 0.0622"
    )
    assert count.all_params == count.base_params + count.trainable_params


def test_peft_llama3_8b_r8_q_v() -> None:
    # Per layer q: 8 * (4096 + 4096) = 65,536; v (GQA, 8 KV heads of 128):
    # 8 * (4096 + 1024) = 40,960; x 32 layers = 3,407,872.
    count = count_model(get_model("llama-3-8b"), 8, "q_proj,v_proj")
    assert count.trainable_params == 3_407_872
    assert count.all_params == 8_030_261_248 + 3_407_872


@pytest.mark.parametrize(
    ("model_id", "r", "trainable", "line"),
    [
        # q,o: 16*8192 each; k,v: 16*5120 each; gate,up,down: 16*18432 each
        # = 1,310,720 per layer x 32.
        ("llama-3-8b", 16, 41_943_040,
         "trainable params: 41,943,040 || all params: 8,072,204,288 || trainable%: 0.5196"),
        ("mistral-7b", 16, 41_943_040,
         "trainable params: 41,943,040 || all params: 7,283,675,136 || trainable%: 0.5758"),
        # 16 * (4 * 8192 + 3 * 15104) = 1,249,280 per layer x 32.
        ("llama-2-7b", 16, 39_976_960,
         "trainable params: 39,976,960 || all params: 6,778,392,576 || trainable%: 0.5898"),
        ("llama-2-7b", 64, 159_907_840,
         "trainable params: 159,907,840 || all params: 6,898,323,456 || trainable%: 2.3181"),
        # q,o: 16*7168; k,v: 16*4096; gate,up,down: 16*22528 = 1,441,792 per layer x 28.
        ("qwen2.5-7b", 16, 40_370_176,
         "trainable params: 40,370,176 || all params: 7,655,986,688 || trainable%: 0.5273"),
    ],
)
def test_peft_all_linear(model_id: str, r: int, trainable: int, line: str) -> None:
    count = count_model(get_model(model_id), r, "all-linear")
    assert count.trainable_params == trainable
    assert format_peft_summary(count) == line


def test_seventy_b_adapter_size_in_bf16() -> None:
    # Chapter: "a typical r = 16 adapter is ~200-400 MB of bf16" for a 70B.
    # Per layer: q,o 16*16384; k,v 16*9216; gate,up,down 16*36864 = 2,588,672; x 80.
    count = count_model(get_model("llama-2-70b"), 16, "all-linear")
    assert count.trainable_params == 207_093_760
    assert count.adapter_bytes_bf16 == 414_187_520  # 414 MB = 395 MiB
    assert count.adapter_bytes_fp32 == 2 * count.adapter_bytes_bf16


def test_tied_embeddings_count_once() -> None:
    count = count_model(get_model("qwen2.5-0.5b"), 8, ["q_proj"])
    assert count.base_params == 494_032_768
    # q_proj 896 -> 896 (14 heads of 64): 8 * 1792 = 14,336 per layer x 24.
    assert count.trainable_params == 344_064


# ---- targets -----------------------------------------------------------------


def test_all_linear_is_the_seven_projections_without_lm_head() -> None:
    assert parse_targets("all-linear") == LINEAR_MODULES
    assert len(LINEAR_MODULES) == 7
    assert "lm_head" not in parse_targets("all-linear")


def test_targets_are_canonicalized() -> None:
    assert parse_targets(["v_proj", "Q_PROJ", "v_proj"]) == ("q_proj", "v_proj")
    assert parse_targets(" v_proj, q_proj ") == ("q_proj", "v_proj")
    assert parse_targets("down_proj up_proj") == ("up_proj", "down_proj")


@pytest.mark.parametrize(
    ("targets", "needle"),
    [
        ("", "at least one"),
        ([], "at least one"),
        ("lm_head", "unknown module lm_head"),
        ("q_proj,attn", "unknown module attn"),
        ("all-linear,q_proj", "already means all seven"),
        (42, "list of module names"),
    ],
)
def test_bad_targets(targets: object, needle: str) -> None:
    with pytest.raises(InstrumentInputError, match=needle) as caught:
        count_model(get_model("llama-2-7b"), 8, targets)  # type: ignore[arg-type]
    assert caught.value.field == "targets"


def test_model_rank_is_validated() -> None:
    with pytest.raises(InstrumentInputError) as caught:
        count_model(get_model("llama-2-7b"), 0, "all-linear")
    assert caught.value.field == "r"
