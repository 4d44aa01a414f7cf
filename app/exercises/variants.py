"""Practice variants: an exercise's numbers as parameters, its answers as formulas in them.

    params:
      n_billion: {value: 7, choices: [1, 3, 7, 8, 13, 34, 70]}
      bytes_per_param: {value: 16, min: 12, max: 20, step: 2}
    answer: {value: 112, formula: n_billion * bytes_per_param, unit: GB, ...}
    mistakes:
      - {value: 14, formula: n_billion * 2, feedback: "{{ n_billion * 2 }} GB is ..."}

Each parameter has a canonical ``value`` (the number the chapter's text uses) and the
values a variant may take: ``choices`` or ``min``/``max``/``step``. The canonical
parameters are the first variant. Formulas are arithmetic over the parameters
(``+ - * / // ** %``, parentheses, ``min``, ``max``, ``round``, ``log2``, ``sqrt``),
evaluated by asteval with nothing else in scope. Text (prompt, solution, hints,
feedback) names values as ``{{ expression }}`` or ``{{ expression :format }}`` with
a Python format spec (``{{ 2*d*r :, }}`` -> ``65,536``); without a spec whole numbers
print plainly (``4096``) and others to six significant digits.

Pure: no web, no storage. ``variant_problems`` is what `textbook check` runs.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from asteval import Interpreter

from app.exercises.grading import format_expected, grade_answer
from app.exercises.spec import AnswerKey, AnswerSpecError, key_unit, mistake_in_key_unit, within
from app.exercises.units import format_value

__all__ = [
    "Parameter",
    "Params",
    "VariantRecipe",
    "evaluate",
    "fill",
    "key_for",
    "read_parameters",
    "recipe_from_spec",
    "sample_params",
    "variant_problems",
]

Params = Mapping[str, float]

MAX_CHOICES = 10_000  # a min/max/step range larger than this is an authoring slip
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_PLACEHOLDER = re.compile(r"\{\{(.+?)\}\}", re.DOTALL)
_FUNCTIONS = {"min": min, "max": max, "round": round, "log2": math.log2, "sqrt": math.sqrt, "abs": abs}


@dataclass(frozen=True)
class Parameter:
    name: str
    canonical: float
    choices: tuple[float, ...]  # sorted, includes the canonical value


@dataclass(frozen=True)
class VariantRecipe:
    """How an exercise's numbers vary: its parameters and the formulas of its answers."""

    parameters: tuple[Parameter, ...]
    answer: str  # formula of the answer, in the key's unit
    mistakes: tuple[str, ...]  # one formula per anticipated mistake, in that mistake's unit

    @property
    def canonical(self) -> dict[str, float]:
        return {p.name: p.canonical for p in self.parameters}

    def accepts(self, params: Params) -> bool:
        """Whether these are this recipe's parameters, each one of its values."""
        if set(params) != {p.name for p in self.parameters}:
            return False
        return all(_member(params[p.name], p.choices) for p in self.parameters)


def _member(value: object, choices: tuple[float, ...]) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return any(math.isclose(value, choice, rel_tol=1e-12, abs_tol=1e-12) for choice in choices)


# --- reading the author's spec ---------------------------------------------------------


def read_parameters(raw: object) -> tuple[Parameter, ...]:
    """``params`` from the exercise's YAML; raises AnswerSpecError saying what to fix."""
    if not isinstance(raw, Mapping) or not raw:
        raise AnswerSpecError("'params' must be a mapping of names to {value, choices} or {value, min, max, step}")
    parameters = []
    for name, spec in raw.items():
        if not isinstance(name, str) or not _NAME.match(name) or name in _FUNCTIONS:
            raise AnswerSpecError(
                f"parameter name {name!r} must be lowercase letters, digits and _ (and not a function name)"
            )
        parameters.append(_read_parameter(name, spec))
    return tuple(parameters)


def _read_parameter(name: str, spec: object) -> Parameter:
    where = f"parameter '{name}'"
    if not isinstance(spec, Mapping):
        raise AnswerSpecError(f"{where} must be a mapping such as {{value: 8, choices: [4, 8, 16]}}")
    allowed = {"value", "choices", "min", "max", "step"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise AnswerSpecError(f"{where}: unknown field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    canonical = _number(spec.get("value"), f"{where}: 'value' (the chapter's own number)")
    if "choices" in spec:
        if any(k in spec for k in ("min", "max", "step")):
            raise AnswerSpecError(f"{where}: give either 'choices' or 'min'/'max'/'step', not both")
        raw_choices = spec["choices"]
        if not isinstance(raw_choices, list) or len(raw_choices) < 2:
            raise AnswerSpecError(f"{where}: 'choices' must be a list of at least two numbers")
        choices = tuple(sorted({_number(c, f"{where}: choice") for c in raw_choices}))
    elif "min" in spec or "max" in spec:
        low = _number(spec.get("min"), f"{where}: 'min'")
        high = _number(spec.get("max"), f"{where}: 'max'")
        step = _number(spec.get("step", 1), f"{where}: 'step'")
        if step <= 0 or high <= low:
            raise AnswerSpecError(f"{where}: needs min < max and a positive step")
        count = math.floor((high - low) / step + 1e-9) + 1
        if count > MAX_CHOICES:
            raise AnswerSpecError(f"{where}: {count} values is too many (at most {MAX_CHOICES}); use a larger step")
        choices = tuple(_tidy(low + i * step) for i in range(count))
    else:
        raise AnswerSpecError(f"{where}: needs 'choices' or 'min'/'max'/'step' (the values a variant may use)")
    if not _member(canonical, choices):
        raise AnswerSpecError(f"{where}: the chapter's value {canonical:g} is not among its choices")
    return Parameter(name, canonical, choices)


def _number(raw: object, what: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise AnswerSpecError(f"{what} must be a finite number, not {raw!r}")
    return _tidy(raw)


def _tidy(value: float) -> float:
    """Drop float dust from a range (0.1 + 2 * 0.1) so choices print as the author wrote them."""
    return float(f"{value:.12g}")


# --- formulas and text -----------------------------------------------------------------


def evaluate(formula: str, params: Params) -> float:
    """A formula's value for these parameters; AnswerSpecError if it is not a finite number."""
    interpreter = Interpreter(symtable={**_FUNCTIONS, **params}, minimal=True, use_numpy=False, nested_symtable=False)
    interpreter.error = []
    result = interpreter.eval(formula, show_errors=False, raise_errors=False)
    if interpreter.error:
        detail = interpreter.error[0].get_error()
        raise AnswerSpecError(
            f"formula {formula!r} cannot be computed: {detail[0]}: {detail[1].strip().splitlines()[-1]}"
        )
    if isinstance(result, bool) or not isinstance(result, (int, float)) or not math.isfinite(result):
        raise AnswerSpecError(f"formula {formula!r} gives {result!r}, not a finite number")
    return float(result)


def fill(template: str, params: Params) -> str:
    """Replace each ``{{ expression[:format] }}`` with its value for these parameters."""

    def value_of(match: re.Match[str]) -> str:
        expression, _, spec = match.group(1).partition(":")
        value = evaluate(expression.strip(), params)
        spec = spec.strip()
        if spec:
            shown = int(value) if value.is_integer() and spec[-1:] not in ("f", "e", "g", "%") else value
            try:
                return format(shown, spec)
            except ValueError:
                raise AnswerSpecError(
                    f"format {spec!r} in '{{{{{match.group(1)}}}}}' is not a Python format spec"
                ) from None
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.6g}"

    return _PLACEHOLDER.sub(value_of, template)


def key_for(key: AnswerKey, recipe: VariantRecipe, params: Params) -> AnswerKey:
    """The answer key of one variant: same unit, tolerance and mistakes, values from the formulas."""
    mistakes = tuple(
        replace(m, value=evaluate(formula, params), feedback=fill(m.feedback, params))
        for m, formula in zip(key.mistakes, recipe.mistakes, strict=True)
    )
    return replace(key, value=evaluate(recipe.answer, params), mistakes=mistakes)


def sample_params(recipe: VariantRecipe, rng: random.Random, avoid: Params | None = None) -> dict[str, float]:
    """A random variant's parameters, different from ``avoid`` (usually the current one) when possible."""
    for _ in range(20):
        params = {p.name: rng.choice(p.choices) for p in recipe.parameters}
        if avoid is None or not all(math.isclose(params[k], avoid.get(k, math.nan)) for k in params):
            return params
    return params


# --- `textbook check` ------------------------------------------------------------------


def variant_problems(
    key: AnswerKey,
    recipe: VariantRecipe,
    texts: tuple[str, ...],
    stated_answer: Callable[[str], str | None] = lambda _: None,
    samples: int = 200,
    seed: int = 0,
) -> list[str]:
    """What an author must fix: formulas that miss the chapter's numbers, unanswerable variants.

    ``key`` is the canonical key as written (values from the text); ``texts`` is every
    templated text, the solution first, filled for each sampled variant; ``stated_answer``
    finds the value a filled solution states, which must grade correct for its variant.
    """
    canonical = recipe.canonical
    problems = []
    for label, formula, stated, unit_of in [("the answer", recipe.answer, key.value, None)] + [
        (f"mistake {i}", f, m.value, m)
        for i, (m, f) in enumerate(zip(key.mistakes, recipe.mistakes, strict=True), start=1)
    ]:
        try:
            computed = evaluate(formula, canonical)
        except AnswerSpecError as exc:
            problems.append(f"{label}: {exc.message}")
            continue
        tolerance = key.tolerance if unit_of is None or unit_of.tolerance is None else unit_of.tolerance
        mode = key.tolerance_mode if unit_of is None or unit_of.tolerance_mode is None else unit_of.tolerance_mode
        if not within(stated, computed, tolerance, mode):
            problems.append(
                f"{label}: formula {formula!r} gives {computed:g} for the chapter's numbers, "
                f"but the text says {stated:g}"
            )
    if problems:
        return problems
    rng = random.Random(seed)
    variants = [canonical] + [sample_params(recipe, rng) for _ in range(samples)]
    for params in variants:
        shown = ", ".join(f"{k}={v:g}" for k, v in params.items())
        try:
            variant = key_for(key, recipe, params)
            filled = [fill(text, params) for text in texts]
        except AnswerSpecError as exc:
            return [f"variant ({shown}): {exc.message}"]
        stated_text = stated_answer(filled[0]) if filled else None
        if stated_text is not None and grade_answer(variant, stated_text).verdict != "correct":
            expected = format_expected(variant)
            return [f"variant ({shown}): the solution states '{stated_text}', but the answer is {expected}"]
        if variant.value <= 0 and key.value > 0:
            return [f"variant ({shown}): the answer is {variant.value:g}, not a positive amount"]
        for number, mistake in enumerate(variant.mistakes, start=1):
            if within(variant.value, mistake_in_key_unit(mistake, variant), variant.tolerance, variant.tolerance_mode):
                answer = format_value(variant.value, key_unit(variant), variant.quantity)
                return [
                    f"variant ({shown}): mistake {number} is within tolerance of the answer {answer}, "
                    "so it could never be diagnosed"
                ]
    return []


def normalized(params: Mapping[str, Any]) -> dict[str, float]:
    """Parameters as plain floats keyed by name (JSON gives ints for whole numbers)."""
    return {str(k): float(v) for k, v in params.items()}


def recipe_from_spec(
    raw_params: object, answer: Mapping[str, Any], mistakes: object
) -> tuple[VariantRecipe | None, dict[str, Any], object]:
    """Split ``formula`` fields off the answer and mistakes; (recipe or None, answer, mistakes).

    Without ``params`` a formula is refused (it could never vary); with them every
    answer and mistake needs one, so each variant keeps all its anticipated mistakes.
    """
    answer = dict(answer)
    answer_formula = answer.pop("formula", None)
    if not isinstance(mistakes, list):
        if raw_params is not None:
            raise AnswerSpecError("'mistakes' must be a list of mappings with 'value', 'formula' and 'feedback'")
        return None, answer, mistakes  # the answer spec's reader says what is wrong with it
    bare_mistakes: list[Any] = []
    mistake_formulas: list[tuple[int, object]] = []
    for number, entry in enumerate(mistakes, start=1):
        if isinstance(entry, Mapping) and "formula" in entry:
            entry = dict(entry)
            mistake_formulas.append((number, entry.pop("formula")))
        else:
            mistake_formulas.append((number, None))
        bare_mistakes.append(entry)
    if raw_params is None:
        if answer_formula is not None or any(f is not None for _, f in mistake_formulas):
            raise AnswerSpecError("'formula' needs 'params' (the numbers it is written in)")
        return None, answer, bare_mistakes
    parameters = read_parameters(raw_params)
    if not isinstance(answer_formula, str) or not answer_formula.strip():
        raise AnswerSpecError("with 'params', the answer needs a 'formula' in them")
    formulas = []
    for number, formula in mistake_formulas:
        if not isinstance(formula, str) or not formula.strip():
            raise AnswerSpecError(
                f"mistake {number}: with 'params', every mistake needs a 'formula' so variants keep it"
            )
        formulas.append(formula.strip())
    return VariantRecipe(parameters, answer_formula.strip(), tuple(formulas)), answer, bare_mistakes
