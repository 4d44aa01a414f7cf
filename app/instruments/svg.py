"""Turn a matplotlib ``Figure`` into an SVG string fit to inline in a page.

What a page needs that ``savefig`` does not give by default:

* the same bytes for the same chart (caches, ETags and golden tests rely on it):
  a fixed ``svg.hashsalt`` and no date or version metadata;
* legibility in light and dark themes: the background is transparent and every
  "ink" (text, axes, ticks, reference lines) is drawn in a sentinel color that
  is rewritten to ``currentColor``, so an inlined chart takes the page's text
  color. Data series use mid-tone Okabe-Ito colors that keep about 3:1
  contrast against both white and near-black backgrounds;
* text stays text (``svg.fonttype = "none"``): screen readers, search and the
  page's own font can use it;
* an accessible name: ``role="img"`` with a ``<title>`` and a ``<desc>`` that
  says what the chart shows in words;
* ids unique per chart, because several charts can share one HTML document and
  matplotlib names every figure's groups ``figure_1``, ``axes_1``, ...
"""

from __future__ import annotations

import hashlib
import io
import re
from xml.sax.saxutils import escape, quoteattr

from matplotlib import rc_context
from matplotlib.figure import Figure

__all__ = ["INK", "figure_to_svg"]

# Drawn as this color, shipped as currentColor. Chosen to appear nowhere else.
INK = "#0a0b0c"

_ID_OR_REFERENCE = re.compile(r'(id="|href="#|url\(#)([^")]+)')
_ID = re.compile(r'id="([^"]+)"')


def _prefix_ids(svg: str, prefix: str) -> str:
    ids = set(_ID.findall(svg))

    def rename(match: re.Match[str]) -> str:
        lead, name = match.groups()
        return f"{lead}{prefix}{name}" if name in ids else match.group(0)

    return _ID_OR_REFERENCE.sub(rename, svg)


def figure_to_svg(fig: Figure, *, kind: str, key: str, title: str, description: str) -> str:
    """The figure as a standalone ``<svg>`` element string (no XML prolog).

    ``kind`` and ``key`` name the chart and its inputs; they seed the hash salt
    and the id prefix, so equal inputs give equal bytes and different charts
    never share an id.
    """
    digest = hashlib.sha1(f"{kind}\0{key}".encode()).hexdigest()[:10]
    prefix = f"{kind}-{digest}-"
    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": digest, "svg.fonttype": "none"}):
        fig.savefig(
            buffer,
            format="svg",
            transparent=True,
            metadata={"Date": None, "Creator": None},
        )
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # an inline <svg> takes no XML declaration or doctype
    svg = svg.replace(INK, "currentColor")
    svg = _prefix_ids(svg, prefix)
    title_id, desc_id = f"{prefix}title", f"{prefix}desc"
    open_end = svg.index(">") + 1
    attributes = (
        f' role="img" aria-labelledby="{title_id} {desc_id}" class={quoteattr(f"chart chart-{kind}")}'
    )
    opening = svg[: open_end - 1] + attributes + ">"
    labels = (
        f'\n <title id="{title_id}">{escape(title)}</title>'
        f'\n <desc id="{desc_id}">{escape(description)}</desc>'
    )
    return opening + labels + svg[open_end:]
