"""The runner service: this host's sandboxed pool behind a small internal HTTP API.

    POST /v1/run     {"code": str, "device": "cpu"|"cuda"} -> the same result as POST /api/run
    GET  /v1/health  isolation report, devices, capacity, runs in flight, queue, limits

Every request needs `Authorization: Bearer <TEXTBOOK_RUNNER_TOKEN>` (401 without; compared
in constant time). Full: 429 with `Retry-After`. Cannot run code here: 503. A runner host
holds no database URL and no secret key: it only runs code and returns what it printed.

This module is HTTP glue, like app/web: the only module outside app/web that imports FastAPI.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from app import __version__
from app.config import Settings
from app.fleet.access import bearer_matches, check_service_access
from app.fleet.code_runner import LocalRunner
from app.runner.protocol import RunnerError, RunRequest
from app.web.security import BodySizeLimit

log = logging.getLogger("textbook.runner_service")

MAX_BODY_BYTES = 128 * 1024


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    device: Literal["cpu", "cuda"] = "cpu"


class Unauthorized(Exception):
    pass


def create_runner_service(settings: Settings, runner: LocalRunner, *, host: str) -> FastAPI:
    """The ASGI app; refuses (AccessConfigError) to exist on a non-loopback host without a token."""
    check_service_access(host, settings.runner_token)
    token = settings.runner_token

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        report = await runner.start()
        log.info("runner service: isolation %s, devices %s", report.to_dict(), runner.devices)
        try:
            yield
        finally:
            await runner.close()

    async def authorized(request: Request) -> None:
        if not bearer_matches(request.headers.get("authorization"), token):
            raise Unauthorized

    app = FastAPI(
        title="AI // Encyclopedia runner service",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.exception_handler(Unauthorized)
    async def unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
        return JSONResponse(
            {"detail": "a valid bearer token is required"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'][1:]) or 'body'}: {error['msg']}" for error in exc.errors()
        )
        return JSONResponse({"detail": problems or "invalid request"}, status_code=422)

    @app.post("/v1/run", dependencies=[Depends(authorized)])
    async def run(body: RunIn) -> JSONResponse:
        try:
            result = await runner.run(RunRequest(code=body.code, device=body.device))
        except RunnerError as refused:  # busy 429, unacceptable 422, cannot run here 503
            refusal = {"detail": refused.message, "reason": refused.reason}
            return JSONResponse(refusal, status_code=refused.status, headers=refused.headers() or None)
        return JSONResponse(result.to_dict())

    @app.get("/v1/health", dependencies=[Depends(authorized)])
    async def health() -> JSONResponse:
        body = {**runner.health(), "version": __version__, "limits": runner.limits.to_dict()}
        body.pop("mode", None)
        return JSONResponse(body)

    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    return app
