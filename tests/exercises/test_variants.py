"""Practice variants as pure logic: parameters, formulas, filled text, variant keys, ids, the check."""

from __future__ import annotations

import random

import pytest

from app.errors import TextbookError
from app.exercises.grading import AnswerKey, answer_key_from_spec, grade_answer
from app.exercises.spec import AnswerSpecError
from app.exercises.variant_ids import UnknownVariant, VariantIds
from app.exercises.variants import (
    VariantRecipe,
    evaluate,
    fill,
    key_for,
    read_parameters,
    recipe_from_spec,
    sample_params,
    variant_problems,
)

FULL_FT = {
    "answer": {"value": 112, "formula": "n * b", "unit": "GB", "quantity": "bytes", "tolerance": "2%"},
    "mistakes": [
        {"value": 14, "formula": "n * 2", "unit": "GB", "feedback": "{{ n * 2 }} GB is the bf16 weights alone."},
        {"value": 56, "formula": "n * 8", "unit": "GB", "feedback": "You forgot the optimizer states? {{ n * 8 }} GB."},
    ],
}
PARAMS = {"n": {"value": 7, "choices": [1, 7, 13, 70]}, "b": {"value": 16, "min": 12, "max": 16, "step": 4}}


def full_ft() -> tuple[VariantRecipe, AnswerKey]:
    recipe, answer, mistakes = recipe_from_spec(PARAMS, FULL_FT["answer"], FULL_FT["mistakes"])
    assert recipe is not None
    return recipe, answer_key_from_spec({**answer, "mistakes": mistakes})


def test_parameters_read_choices_and_ranges() -> None:
    n, b = read_parameters(PARAMS)
    assert (n.name, n.canonical, n.choices) == ("n", 7, (1, 7, 13, 70))
    assert b.choices == (12, 16)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n": {"value": 5, "choices": [1, 7]}}, "not among its choices"),
        ({"n": {"value": 7}}, "needs 'choices' or 'min'/'max'/'step'"),
        ({"N": {"value": 7, "choices": [7, 8]}}, "parameter name"),
        ({"n": {"value": 7, "min": 0, "max": 1e9, "step": 1}}, "too many"),
        ({"n": {"value": 7, "choices": [7, 8], "min": 1}}, "not both"),
        ({"n": {"value": "7", "choices": [7, 8]}}, "finite number"),
    ],
)
def test_bad_parameters_say_what_to_fix(params: dict, message: str) -> None:
    with pytest.raises(AnswerSpecError, match=message):
        read_parameters(params)


def test_formulas_are_arithmetic_and_nothing_else() -> None:
    assert evaluate("2 * d * r", {"d": 4096, "r": 8}) == 65536
    assert evaluate("2 ** b - 1", {"b": 4}) == 15
    with pytest.raises(AnswerSpecError, match="cannot be computed"):
        evaluate("__import__('os').system('true')", {})
    with pytest.raises(AnswerSpecError, match="cannot be computed"):
        evaluate("unknown_name * 2", {"d": 1})
    with pytest.raises(AnswerSpecError, match="not a finite number"):
        evaluate("'text'", {})


def test_fill_formats_values() -> None:
    params = {"d": 4096.0, "r": 8.0}
    assert fill("$d = {{ d }}$, **{{ 2*d*r :, }}**, {{ 200*r/d :.3g }}%", params) == "$d = 4096$, **65,536**, 0.391%"
    assert fill("\\dfrac{ {{ 2 * r }} }{ {{ d }} }", params) == "\\dfrac{ 16 }{ 4096 }"
    assert fill("{{ r / 16 }}", params) == "0.5"


def test_a_variant_keeps_units_tolerance_and_recognises_its_mistakes() -> None:
    recipe, key = full_ft()
    variant = key_for(key, recipe, {"n": 13, "b": 12})
    assert (variant.value, variant.unit, variant.tolerance) == (156, "GB", key.tolerance)
    assert grade_answer(variant, "156 GB").verdict == "correct"
    assert grade_answer(variant, "0.156 TB").verdict == "correct"
    forgot = grade_answer(variant, "104 GB")  # 13 x 8: the optimizer states alone
    assert (forgot.reason, forgot.feedback) == ("mistake", "You forgot the optimizer states? 104 GB.")
    assert grade_answer(variant, "26 GB").feedback == "26 GB is the bf16 weights alone."
    assert grade_answer(variant, "112 GB").verdict == "incorrect", "the chapter's answer is not this variant's"


def test_the_check_finds_a_formula_that_misses_the_chapters_number() -> None:
    recipe, key = full_ft()
    wrong = recipe_from_spec(PARAMS, {**FULL_FT["answer"], "formula": "n * b * 2"}, FULL_FT["mistakes"])[0]
    assert variant_problems(key, recipe, ()) == []
    assert variant_problems(key, wrong, ()) == [
        "the answer: formula 'n * b * 2' gives 224 for the chapter's numbers, but the text says 112"
    ]


def test_the_check_finds_a_variant_whose_mistake_is_its_answer() -> None:
    # 2**b and 2*b agree at b = 2: that variant could never tell the mistake apart.
    recipe, answer, mistakes = recipe_from_spec(
        {"b": {"value": 4, "choices": [2, 4]}},
        {"value": 16, "formula": "2 ** b", "quantity": "count", "tolerance": 0},
        [{"value": 8, "formula": "2 * b", "feedback": "2b"}],
    )
    key = answer_key_from_spec({**answer, "mistakes": mistakes})
    problems = variant_problems(key, recipe, ())
    assert problems and "b=2" in problems[0] and "could never be diagnosed" in problems[0]


def test_the_check_finds_a_solution_that_states_another_answer() -> None:
    recipe, key = full_ft()
    problems = variant_problems(key, recipe, ("**112 GB**",), stated_answer=lambda text: text.strip("*"))
    assert problems and "the solution states '112 GB'" in problems[0]


def test_formulas_need_params_and_params_need_formulas() -> None:
    with pytest.raises(AnswerSpecError, match="needs 'params'"):
        recipe_from_spec(None, FULL_FT["answer"], [])
    with pytest.raises(AnswerSpecError, match="mistake 1: with 'params'"):
        recipe_from_spec(PARAMS, FULL_FT["answer"], [{"value": 14, "feedback": "x"}])


def test_sampling_draws_only_declared_values_and_avoids_the_current_one() -> None:
    recipe, _ = full_ft()
    rng = random.Random(1)
    for _ in range(50):
        params = sample_params(recipe, rng, avoid=recipe.canonical)
        assert recipe.accepts(params) and params != recipe.canonical


def test_variant_ids_are_deterministic_opaque_and_tamper_proof() -> None:
    recipe, _ = full_ft()
    ids = VariantIds("secret")
    token = ids.issue("full-ft-memory", recipe, {"n": 13, "b": 12})
    assert token == ids.issue("full-ft-memory", recipe, {"n": 13.0, "b": 12.0})
    assert ids.read("full-ft-memory", recipe, token) == {"n": 13, "b": 12}
    forged = [
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # a changed signature
        VariantIds("another-server").issue("full-ft-memory", recipe, {"n": 13, "b": 12}),
        "not-a-variant",
        ids.issue("lora-adapter-params", recipe, {"n": 13, "b": 12}),  # another exercise's
        ids.issue("full-ft-memory", recipe, {"n": 14, "b": 12}),  # values the exercise does not offer
    ]
    for bad in forged:
        with pytest.raises(UnknownVariant) as refused:
            ids.read("full-ft-memory", recipe, bad)
        assert refused.value.status == 422 and isinstance(refused.value, TextbookError)
