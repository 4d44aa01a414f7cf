"""Computed numbers in the prose: `[0.278]{snippet=outlier-scales}` or
`[36.6 GB]{instrument=deploy-memory figure=weight_gb context=4096}`.

Parsing is mdit-py-plugins' attrs (spans only: `[text]{key=value ...}`). This plugin's
one core rule turns each span into a `Claim` (the number as written, and what computes
it) and its rendering into `<span class="computed" data-computed-by="...">`, so the
reader sees the number as written. The loader checks every claim (`content.claims`):
a snippet must print it on one of its `#| expect:` lines, which `textbook check`
verifies against a real run; an instrument, set as the span says, must show it.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.attrs import attrs_plugin

from app.content.model import Claim
from app.content.plugins.directive import absolute_line, document_env, report

SOURCES = ("snippet", "instrument")
# What is left of a claim the attrs syntax could not read (an unquoted value with a dot, say):
# it would print as text and never be checked.
_UNREAD = re.compile(r"\]\{[^}]*\b(?:snippet|instrument)=")
# One term of a figure: "a+b-c" is a, +b and -c.
_TERM = re.compile(r"[+-]?[^+-]+")
# A whole claim in Markdown source: `[36.6 GB]{instrument=... figure=...}` (its braces may wrap lines).
_MARKED = re.compile(r"\[([^\[\]]+)\]\{[^{}]*\b(?:snippet|instrument)=[^{}]*\}")


def plain_numbers(markdown: str) -> str:
    """Markdown source with each computed number as the reader sees it (`36.6 GB`), its mark gone."""
    return _MARKED.sub(r"\1", markdown)


def _text(children: list[Token], start: int) -> tuple[str, int]:
    """The text inside the span that opens at ``start``, and the index of its close."""
    depth, parts, index = 0, [], start
    for index in range(start, len(children)):
        child = children[index]
        if child.type == "span_open":
            depth += 1
        elif child.type == "span_close":
            depth -= 1
            if depth == 0:
                break
        else:
            parts.append(child.content)
    return "".join(parts).strip(), index


def _claim(attrs: dict[str, str], text: str, line: int) -> Claim | str:
    sources = [s for s in SOURCES if s in attrs]
    if len(sources) != 1:
        return f"computed number '{text}': name exactly one of snippet=<id> or instrument=<id>"
    source = sources[0]
    rest = {k: v for k, v in attrs.items() if k not in (source, "figure", "scale")}
    # "a+b-c": the attributes added, one after a minus subtracted (kept as "-c")
    figure = tuple(term.lstrip("+") for term in _TERM.findall(attrs.get("figure", "")))
    if source == "snippet" and (rest or figure or "scale" in attrs):
        return f"computed number '{text}': a snippet's number takes no settings ({', '.join(sorted(rest)) or 'figure'})"
    if source == "instrument" and not figure:
        return f"computed number '{text}': an instrument's number needs figure=<result attribute>"
    try:
        scale = float(attrs.get("scale", "1"))
    except ValueError:
        return f"computed number '{text}': scale={attrs['scale']} is not a number (0.001 turns GB into TB)"
    return Claim(text, source, attrs[source], figure, tuple(sorted(rest.items())), line, scale)


def collect_claims(state: StateCore) -> None:
    env = document_env(state)
    for token in state.tokens:
        if token.type != "inline" or not token.children:
            continue
        children = token.children
        for index, child in enumerate(children):
            unread = _UNREAD.search(child.content) if child.type == "text" else None
            if unread is not None:
                shown = child.content[unread.start() :][:60]
                report(env, absolute_line(token, env), f"computed number not read (quote a value with a dot): {shown}")
            if child.type != "span_open":
                continue
            text, _ = _text(children, index)
            attrs = {str(k): str(v) for k, v in child.attrs.items()}
            found = _claim(attrs, text, absolute_line(token, env))
            if isinstance(found, str):
                report(env, absolute_line(token, env), found)
                child.attrs = {}
                continue
            env.setdefault("claims", []).append(found)
            child.attrs = {"class": "computed", "data-computed-by": f"{found.source} {found.source_id}"}


def claims_plugin(md: MarkdownIt) -> None:
    md.use(attrs_plugin, spans=True, after=())
    md.core.ruler.after("inline", "collect_claims", collect_claims)
