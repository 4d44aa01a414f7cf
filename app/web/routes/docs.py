"""/docs: the API's interactive documentation, from self-hosted Swagger UI assets."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from app.web.htmx import render
from app.web.state import AppState, app_state

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
async def api_docs(request: Request, state: AppState = Depends(app_state)) -> HTMLResponse:
    return render(request, state.templates, "docs.html", {"openapi_url": request.app.openapi_url})
