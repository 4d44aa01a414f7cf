"""`/sitemap.xml` and `/robots.txt`: the pure module's output with this site's public origin."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response

from app.sitemap import SITEMAP_PATH, robots_txt, sitemap_entries, sitemap_xml
from app.web.dependencies import public_origin
from app.web.state import AppState, app_state

router = APIRouter(include_in_schema=False)

CACHE = {"Cache-Control": "public, max-age=300"}


@router.get(SITEMAP_PATH)
async def sitemap(request: Request, state: AppState = Depends(app_state)) -> Response:
    entries = sitemap_entries(state.library.chapters())
    body = sitemap_xml(public_origin(state.settings, request), entries)
    return Response(body, media_type="application/xml", headers=CACHE)


@router.get("/robots.txt", response_class=PlainTextResponse)
async def robots(request: Request, state: AppState = Depends(app_state)) -> PlainTextResponse:
    return PlainTextResponse(robots_txt(public_origin(state.settings, request)), headers=CACHE)
