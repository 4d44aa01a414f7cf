"""render(): one template serves the full page and, for HTMX, just one of its blocks."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def render_block(templates: Environment, name: str, block: str, context: dict[str, Any]) -> str:
    """Render one named block of a template with the page's context (as jinja2-fragments does)."""
    template = templates.get_template(name)
    render = template.blocks[block]
    return "".join(render(template.new_context(context)))


def render(
    request: Request,
    templates: Environment,
    name: str,
    context: dict[str, Any],
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The whole page, or only `block` when HTMX asked; responses vary on HX-Request."""
    context = {"request": request, **context}
    if block is not None and is_htmx(request):
        html = render_block(templates, name, block, context)
    else:
        html = templates.get_template(name).render(context)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    response.headers["Vary"] = "HX-Request"
    return response
