"""Snippets: Python code students edit and run on the server, written as a `runnable` fence.

    ```runnable lora-algebra
    #| title: LoRA algebra
    #| expect: merged == two-path    : True
    #| figures: 1
    import numpy as np
    ...
    ```

The author's word for the fence is `runnable` (`FENCE_WORD`); everywhere else, in the
code, the page's ids and the URLs, it is a snippet (ARCHITECTURE.md's glossary). The id
follows the fence word. Leading `#| key: value` option lines (Quarto's
convention) are removed from what the student sees: `title`, `expect` (repeatable;
a line the output must contain, checked by `textbook check`), `figures` (how many
figures the run must produce).
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

from app.content.model import Snippet
from app.content.plugins.directive import (
    absolute_line,
    claim_fences,
    document_env,
    mark_directive,
    register_directive,
    report,
    require_id,
)
from app.content.plugins.highlight import highlight_code

FENCE_WORD = "runnable"
OPTIONS = {"title", "expect", "figures"}


def split_options(source: str) -> tuple[dict[str, list[str]], int, str]:
    """Return (options, how many option lines, the code without them)."""
    options: dict[str, list[str]] = {}
    lines = source.splitlines()
    body_start = next((i for i, line in enumerate(lines) if not line.startswith("#|")), len(lines))
    for line in lines[:body_start]:
        key, _, value = line[2:].partition(":")
        options.setdefault(key.strip(), []).append(value.strip() if not value.startswith(" ") else value[1:])
    return options, body_start, "\n".join(lines[body_start:]).rstrip() + "\n"


def collect_snippets(state: StateCore) -> None:
    env = document_env(state)
    for token, args in list(claim_fences(state, FENCE_WORD)):
        line = absolute_line(token, env)
        snippet_id = require_id({"id": args.strip()}, token, env, FENCE_WORD)
        mark_directive(token, "snippet", snippet_id or "")
        if snippet_id is None:
            continue
        where = f"{FENCE_WORD} '{snippet_id}'"  # named as the author wrote it
        options, option_lines, code = split_options(token.content)
        for key in sorted(set(options) - OPTIONS):
            report(env, line, f"{where}: unknown option '#| {key}' (allowed: {', '.join(sorted(OPTIONS))})")
        if not code.strip():
            report(env, line, f"{where}: the snippet has no code")
            continue
        figures_text = (options.get("figures") or ["0"])[-1]
        if not figures_text.isdigit():
            report(env, line, f"{where}: '#| figures:' must be a whole number, not '{figures_text}'")
            figures_text = "0"
        try:
            compile(code, f"<{snippet_id}>", "exec")
        except SyntaxError as exc:
            report(env, line + option_lines + (exc.lineno or 1), f"{where}: syntax error: {exc.msg}")
        env.setdefault("snippets", []).append(
            Snippet(
                id=snippet_id,
                title=options["title"][-1] if options.get("title") else None,
                code=code,
                code_html=highlight_code(code, "python"),
                expect=tuple(options.get("expect", [])),
                expect_figures=int(figures_text),
                line=line,
            )
        )


def snippet_plugin(md: MarkdownIt) -> None:
    register_directive(md, "snippet", collect_snippets)
