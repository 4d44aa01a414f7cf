"""The one error handler: a domain error, a validation error or an HTTP error becomes
HTML (a page in the site's style), an HTMX fragment shown in place, or JSON for the API."""

from __future__ import annotations

import logging
from html import escape
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import TextbookError
from app.web.htmx import is_htmx

log = logging.getLogger(__name__)

HEADINGS = {
    400: "That request could not be read",
    401: "Sign-in needed",
    404: "Page not found",
    405: "That action is not available here",
    413: "That is too large",
    422: "That input needs a fix",
    429: "Busy right now",
    500: "Something broke on our side",
    503: "Temporarily unavailable",
}


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/") or request.url.path == "/healthz":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def describe_validation(exc: RequestValidationError) -> str:
    """Pydantic's error list as one sentence a person can act on."""
    parts = []
    for error in exc.errors():
        location = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "form"))
        message = error.get("msg", "is invalid")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts) or "The request is not in the expected shape."


def error_response(
    request: Request, status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    if wants_json(request):
        body = ErrorOut(error=HEADINGS.get(status, "Error"), detail=message, field=field)
        return JSONResponse(body.model_dump(), status_code=status, headers=headers)
    if is_htmx(request):
        fragment = f'<p class="inline-error" role="alert">{escape(message)}</p>'
        return HTMLResponse(fragment, status_code=status, headers=headers)
    templates = request.app.state.textbook.templates
    html = templates.get_template("error.html").render(
        request=request, status=status, heading=HEADINGS.get(status, "Error"), message=message
    )
    return HTMLResponse(html, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TextbookError)
    async def _domain(request: Request, exc: TextbookError) -> Response:
        return error_response(request, exc.status, exc.student_message, exc.field, exc.headers() or None)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 422, describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = (
            exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else "Nothing lives at this address."
        )
        return error_response(request, exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "Something went wrong on our side; it has been logged. Please try again.")


class ErrorOut(BaseModel):
    """Every API error: a heading, a sentence the student or client can act on, and the field at fault."""

    error: str
    detail: str
    field: str | None = None


def api_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the errors an API route can answer, all in ErrorOut's shape."""
    return {status: {"model": ErrorOut, "description": HEADINGS.get(status, "Error")} for status in statuses}
