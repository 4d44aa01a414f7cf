"""render(): a template as an HTML response that varies on HX-Request.

The chapter page includes one partial per interactive part; an HTMX request gets
that same partial alone, so the page and the fragment never disagree.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def render(
    request: Request,
    templates: Environment,
    name: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render `name` (a page or a partial); responses vary on HX-Request for caches."""
    html = templates.get_template(name).render({"request": request, **context})
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    response.headers["Vary"] = "HX-Request"
    return response
