"""build_markdown(): the one Markdown parser, an explicit preset with raw HTML disabled."""

from __future__ import annotations

from markdown_it import MarkdownIt

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
    md.add_render_rule(
        "table_open",
        lambda self, tokens, idx, options, env: (
            '<div class="table-scroll" tabindex="0" role="region" aria-label="Table"><table>\n'
        ),
    )
    md.add_render_rule("table_close", lambda self, tokens, idx, options, env: "</table></div>\n")
    return md
