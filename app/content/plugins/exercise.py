"""The `exercise` directive: a numeric question with its answer key and worked solution.

    ```exercise
    id: lora-params
    prompt: How many trainable parameters does the adapter add?
    answer: {value: 65536, quantity: parameters, tolerance: 0.5%}
    unit_hint: parameters
    mistakes:
      - {value: 32768, feedback: That counts only one of the two matrices.}
    hints: [Count both A and B.]
    solution: $r(d_{in} + d_{out}) = $ **65,536**.
    ```

The rule validates the spec (through the grader's own `answer_key_from_spec`),
checks that the solution's final bold value agrees with the answer, renders the
prompt, hints and solution, and records an `Exercise`. The render function emits a
placeholder: the page fills it per learner (last answer, verdict).
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from app.content.instrument_links import read_link
from app.content.model import Exercise, ExerciseTexts
from app.content.plugins.directive import (
    DocumentEnv,
    absolute_line,
    claim_fences,
    document_env,
    mark_directive,
    parse_yaml_body,
    register_directive,
    render_nested,
    report,
    require_id,
    require_text,
    unknown_fields,
)
from app.exercises.grading import AnswerSpecError, answer_key_from_spec, grade_answer
from app.exercises.variants import fill, key_for, recipe_from_spec, variant_problems

FIELDS = {"id", "prompt", "answer", "mistakes", "hints", "unit_hint", "solution", "params", "instrument"}
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def final_value(solution: str) -> str | None:
    """The solution's stated final value: its last **bold** span, if any."""
    found = _BOLD.findall(solution)
    return found[-1] if found else None


def collect_exercises(state: StateCore) -> None:
    env = document_env(state)
    for token, _ in list(claim_fences(state, "exercise")):
        data = parse_yaml_body(token, env, "exercise")
        if data is None:
            mark_directive(token, "exercise", "")
            continue
        exercise = _build(state.md, data, token, env)
        mark_directive(token, "exercise", exercise.id if exercise else "")
        if exercise is not None:
            env.setdefault("exercises", []).append(exercise)


def _build(md: MarkdownIt, data: dict[str, Any], token: Token, env: DocumentEnv) -> Exercise | None:
    line = absolute_line(token, env)
    exercise_id = require_id(data, token, env, "exercise")
    what = f"exercise '{exercise_id}'" if exercise_id else "exercise"
    unknown_fields(data, FIELDS, token, env, what)
    prompt = require_text(data, "prompt", token, env, what)
    solution = require_text(data, "solution", token, env, what)
    answer = data.get("answer")
    if not isinstance(answer, dict):
        report(env, line, f"{what}: missing 'answer' (a mapping with value, unit, quantity, tolerance)")
        return None
    mistakes = data.get("mistakes", [])
    hints = data.get("hints", [])
    if not isinstance(hints, list) or not all(isinstance(h, str) for h in hints):
        report(env, line, f"{what}: 'hints' must be a list of strings")
        hints = []
    try:
        recipe, answer, mistakes = recipe_from_spec(data.get("params"), answer, mistakes)
        key = answer_key_from_spec({**answer, "mistakes": mistakes})
        link = read_link(data["instrument"]) if "instrument" in data else None
    except AnswerSpecError as exc:
        report(env, line, f"{what}: {exc}")
        return None
    if exercise_id is None or prompt is None or solution is None:
        return None
    texts = ExerciseTexts(prompt.strip(), solution, tuple(hints), key)
    if recipe is not None:
        problems = variant_problems(key, recipe, (texts.solution, texts.prompt, *texts.hints), final_value)
        for problem in problems:
            report(env, line, f"{what}: {problem}")
        if problems:
            return None
        key = key_for(key, recipe, recipe.canonical)  # feedback filled with the chapter's numbers
        prompt, solution = fill(texts.prompt, recipe.canonical), fill(texts.solution, recipe.canonical)
        hints = [fill(hint, recipe.canonical) for hint in texts.hints]
    stated = final_value(solution)
    if stated is not None:
        verdict = grade_answer(key, stated).verdict
        if verdict != "correct":
            report(env, line, f"{what}: the solution's final value '{stated}' disagrees with the answer {key.value:g}")
    unit_hint = data.get("unit_hint", answer.get("unit"))
    return Exercise(
        id=exercise_id,
        prompt=prompt.strip(),
        prompt_html=render_nested(md, prompt, env, line),
        solution_html=render_nested(md, solution, env, line),
        hints_html=tuple(render_nested(md, hint, env, line) for hint in hints),
        answer_key=key,
        unit_hint=str(unit_hint) if unit_hint else None,
        line=line,
        texts=texts if recipe is not None else None,
        recipe=recipe,
        instrument_link=link,
    )


def exercise_plugin(md: MarkdownIt) -> None:
    register_directive(md, "exercise", collect_exercises)
