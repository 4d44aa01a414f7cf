"""build_markdown(): the one Markdown parser, an explicit preset with raw HTML disabled."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

from app.content.plugins.callout import callout_plugin
from app.content.plugins.claims import claims_plugin
from app.content.plugins.exercise import exercise_plugin
from app.content.plugins.highlight import highlight_code
from app.content.plugins.instrument import InstrumentCatalog, instrument_plugin
from app.content.plugins.math import math_plugin
from app.content.plugins.sections import sections_plugin
from app.content.plugins.snippet import snippet_plugin


def build_markdown(instruments: InstrumentCatalog) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "highlight": highlight_code, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(math_plugin)
    md.use(sections_plugin)
    md.use(exercise_plugin)
    md.use(snippet_plugin)
    md.use(instrument_plugin, catalog=instruments)
    md.use(callout_plugin)
    md.use(claims_plugin)
    # Tables scroll inside their own box on narrow screens.
    md.add_render_rule("table_open", lambda self, tokens, idx, options, env: table_open_html(tokens, idx, env))
    md.add_render_rule("table_close", lambda self, tokens, idx, options, env: "</table></div>\n")
    return md


def table_open_html(tokens: list[Token], idx: int, env: dict) -> str:
    """The scrolling box of a table, a region named by its number and its column heads.

    Each region's name is unique on the page ("Table 2: Method, Trainable parameters"), so a
    screen reader's list of landmarks tells the chapter's tables apart.
    """
    env["tables"] = env.get("tables", 0) + 1
    heads = []
    for token in tokens[idx + 1 :]:
        if token.type == "tr_close":
            break
        if token.type == "inline":
            heads.append(_plain(token))
    label = f"Table {env['tables']}" + (f": {', '.join(head for head in heads if head)}" if any(heads) else "")
    return f'<div class="table-scroll" tabindex="0" role="region" aria-label="{escapeHtml(label)}"><table>\n'


def _plain(inline: Token) -> str:
    """An inline token's words without their markup (math keeps its TeX source)."""
    return "".join(child.content for child in inline.children or [] if child.content).strip()
