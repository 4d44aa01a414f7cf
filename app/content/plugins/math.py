"""Math: `$...$` inline and `$$...$$ (Title)` display, converted to MathML on the server.

Parsing is mdit-py-plugins' dollarmath. This plugin's one core rule converts every
math token with latex2mathml (recording failures as problems with their line), and
numbers labelled display equations "EQ <chapter>.<n>"; its render function emits the
MathML. No math JavaScript reaches the browser.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from latex2mathml.converter import convert
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import OptionsDict
from mdit_py_plugins.dollarmath import dollarmath_plugin

from app.content.model import Equation
from app.content.plugins.directive import DocumentEnv, absolute_line, document_env, report

_UNKNOWN_COMMAND = re.compile(r"<m[io][^>]*>(\\[A-Za-z]+)</m[io]>")


def to_mathml(latex: str, display: bool) -> str:
    """LaTeX -> MathML; raises ValueError with a reason when it cannot convert."""
    try:
        mathml = convert(latex, display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises many private error types
        reason = str(exc) or "an unbalanced brace or an incomplete command"
        raise ValueError(f"math does not convert ({reason}): {latex.strip()[:60]}") from exc
    unknown = _UNKNOWN_COMMAND.search(mathml)
    if unknown:
        raise ValueError(f"math uses an unknown command {unknown.group(1)}: {latex.strip()[:60]}")
    return mathml


def _convert(token: Token, env: DocumentEnv, line: int, display: bool) -> None:
    try:
        token.meta["mathml"] = to_mathml(token.content, display)
    except ValueError as exc:
        report(env, line, str(exc))
        token.meta["mathml"] = None


def convert_math(state: StateCore) -> None:
    env = document_env(state)
    chapter = env.get("chapter_number", 0)
    equations = env.setdefault("equations", [])
    for token in state.tokens:
        if token.type in ("math_block", "math_block_label"):
            line = absolute_line(token, env)
            _convert(token, env, line, display=True)
            if token.type == "math_block_label":
                number = f"{chapter}.{len(equations) + 1}"
                equation = Equation(
                    id=f"eq-{number.replace('.', '-')}", number=number, title=token.info.strip(), line=line
                )
                equations.append(equation)
                token.meta["equation"] = equation
        elif token.type == "inline" and token.children:
            line = absolute_line(token, env)
            for child in token.children:
                if child.type in ("math_inline", "math_inline_double"):
                    _convert(child, env, line, display=child.type == "math_inline_double")


_INLINE_MATH = re.compile(r"(?<!\\)\$(.+?)(?<!\\)\$")


def text_with_math(text: str) -> str:
    """Plain text (a grader's feedback) as HTML: escaped, with its `$...$` spans as MathML.

    A dollar that is not math is written `\\$` (the grader's `quote` does this for what a
    student typed); math that does not convert is shown as its source."""
    parts, last = [], 0
    for match in _INLINE_MATH.finditer(text):
        parts.append(_escape(text[last : match.start()].replace("\\$", "$")))
        try:
            parts.append(to_mathml(match.group(1), display=False))
        except ValueError:
            parts.append(_escape(match.group(0)))
        last = match.end()
    parts.append(_escape(text[last:].replace("\\$", "$")))
    return "".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_math(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: DocumentEnv) -> str:
    token = tokens[idx]
    mathml = token.meta.get("mathml")
    block = token.type in ("math_block", "math_block_label")
    if mathml is None:
        shown = f'<code class="math-error" title="this math failed to convert">{_escape(token.content.strip())}</code>'
        return f'<div class="equation">{shown}</div>\n' if block else shown
    if not block:
        return mathml
    equation: Equation | None = token.meta.get("equation")
    if equation is None:
        return (
            '<div class="equation"><div class="equation-body" tabindex="0" role="region" aria-label="Equation">'
            f"{mathml}</div></div>\n"
        )
    return (
        f'<figure class="equation" id="{equation.id}" aria-labelledby="{equation.id}-label">'
        f'<figcaption id="{equation.id}-label"><a href="#{equation.id}">EQ {equation.number}</a>'
        f" — {_escape(equation.title)}</figcaption>"
        f'<div class="equation-body" tabindex="0" role="region" aria-label="EQ {equation.number}">'
        f"{mathml}</div></figure>\n"
    )


def math_plugin(md: MarkdownIt) -> None:
    dollarmath_plugin(md, allow_labels=True, allow_space=True, allow_digits=False, label_normalizer=lambda label: label)
    md.core.ruler.after("inline", "convert_math", convert_math)
    for kind in ("math_inline", "math_inline_double", "math_block", "math_block_label"):
        md.add_render_rule(kind, render_math)
