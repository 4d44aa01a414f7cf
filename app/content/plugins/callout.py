"""The `callout` directive: a boxed aside (pitfalls, next, note, recipe) holding Markdown.

    ```callout pitfalls
    The four classic failures: ...
    ```

The kind follows the directive name; an optional title follows the kind
(```` ```callout note Where to attach ````). To hold a code block, open the callout
with four backticks.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

from app.content.plugins.directive import DocumentEnv, absolute_line, claim_fences, document_env, render_nested, report

KINDS = {"pitfalls": "Pitfalls", "next": "Next", "note": "Note", "recipe": "Recipe"}


def collect_callouts(state: StateCore) -> None:
    env = document_env(state)
    for token, args in list(claim_fences(state, "callout")):
        line = absolute_line(token, env)
        kind, _, title = args.partition(" ")
        if kind not in KINDS:
            report(env, line, f"callout: unknown kind {kind!r} (known: {', '.join(KINDS)})")
            kind = "note"
        token.type = "callout"
        token.meta = {
            "kind": kind,
            "title": title.strip() or KINDS[kind],
            "html": render_nested(state.md, token.content, env, line),
        }


def render_callout(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: DocumentEnv) -> str:
    meta = tokens[idx].meta
    return (
        f'<aside class="callout callout-{meta["kind"]}" aria-label="{escape(meta["title"])}">'
        f'<p class="callout-label">{escape(meta["title"])}</p>{meta["html"]}</aside>\n'
    )


def callout_plugin(md: MarkdownIt) -> None:
    md.core.ruler.after("block", "collect_callouts", collect_callouts)
    md.add_render_rule("callout", render_callout)
