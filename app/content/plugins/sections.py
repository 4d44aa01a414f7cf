"""Sections: `## Title` headings become numbered, anchored sections ("6.1").

`## Further reading {-}` marks a section as unnumbered (it gets a "§" instead).
The rule records each section in env for the table of contents; the render
function writes the heading with its number as a self-link.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

from app.content.model import Section
from app.content.plugins.directive import DocumentEnv, absolute_line, document_env

UNNUMBERED = "{-}"


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "section"


def number_sections(state: StateCore) -> None:
    env = document_env(state)
    if env.get("nested"):
        return
    chapter = env.get("chapter_number", 0)
    sections = env.setdefault("sections", [])
    tokens = state.tokens
    for i, token in enumerate(tokens):
        if token.type != "heading_open" or token.tag != "h2":
            continue
        inline = tokens[i + 1]
        title = inline.content.strip()
        numbered = not title.endswith(UNNUMBERED)
        if not numbered:
            title = title[: -len(UNNUMBERED)].rstrip()
            last = inline.children[-1] if inline.children else None
            if last is not None and last.type == "text":
                last.content = last.content.rstrip().removesuffix(UNNUMBERED).rstrip()
        count = sum(1 for s in sections if s.number)
        number = f"{chapter}.{count + 1}" if numbered else None
        section_id = f"sec-{number.replace('.', '-')}" if number else slugify(title)
        section = Section(id=section_id, number=number, title=title, line=absolute_line(token, env))
        sections.append(section)
        token.meta["section"] = section


def render_section_heading(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: DocumentEnv) -> str:
    token = tokens[idx]
    section: Section | None = token.meta.get("section")
    if section is None:
        return self.renderToken(tokens, idx, options, env)
    mark = section.number or "§"
    label = f"Section {section.number}" if section.number else "Link to this section"
    return (
        f'<h2 id="{section.id}" class="section-heading">'
        f'<a class="section-number" href="#{section.id}" aria-label="{label}">{mark}</a> '
    )


def sections_plugin(md: MarkdownIt) -> None:
    md.core.ruler.after("inline", "number_sections", number_sections)
    md.add_render_rule("heading_open", render_section_heading)
