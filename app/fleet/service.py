"""The runner service: this host's sandboxed pool behind a small internal HTTP API.

    POST /v1/run     {"code": str, "device": "cpu"|"cuda"} -> the same result as POST /api/run
    GET  /v1/health  isolation report, devices, capacity, runs in flight, queue, limits

Every request needs `Authorization: Bearer <TEXTBOOK_RUNNER_TOKEN>` (401 without; compared
in constant time). Full: 429 with `Retry-After`. Cannot run code here: 503. A runner host
holds no database URL and no secret key: it only runs code and returns what it printed.

Two routes on plain Starlette (FastAPI's base), the body checked by a pydantic model: FastAPI's
dependency and validation layers cost more per run than the rest of the service's HTTP
handling (BENCHMARKS.md, "The runner over the network"), and this API is internal, with no
OpenAPI page to generate. `Server-Timing: run;dur=<ms>` says how long the run took in here,
so a caller can tell the network hop from the run. This module is HTTP glue, like app/web.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {"detail": "a valid bearer token is required"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
    )


def _invalid(error: ValidationError) -> JSONResponse:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['msg']}"
        for problem in error.errors(include_url=False)
    )
    return JSONResponse({"detail": problems or "invalid request"}, status_code=422)


def create_runner_service(settings: Settings, runner: LocalRunner, *, host: str) -> Starlette:
    """The ASGI app; refuses (AccessConfigError) to exist on a non-loopback host without a token."""
    check_service_access(host, settings.runner_token)
    token = settings.runner_token

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        report = await runner.start()
        log.info("runner service: isolation %s, devices %s", report.to_dict(), runner.devices)
        try:
            yield
        finally:
            await runner.close()

    def authorized(request: Request) -> bool:
        return bearer_matches(request.headers.get("authorization"), token)

    async def run(request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        try:
            body = RunIn.model_validate_json(await request.body())
        except ValidationError as error:
            return _invalid(error)
        started = time.perf_counter()
        try:
            result = await runner.run(RunRequest(code=body.code, device=body.device))
        except RunnerError as refused:  # busy 429, unacceptable 422, cannot run here 503
            refusal = {"detail": refused.message, "reason": refused.reason}
            return JSONResponse(refusal, status_code=refused.status, headers=refused.headers() or None)
        handled_ms = (time.perf_counter() - started) * 1000
        return JSONResponse(result.to_dict(), headers={"Server-Timing": f"run;dur={handled_ms:.3f}"})

    async def health(request: Request) -> Response:
        if not authorized(request):
            return _unauthorized()
        body = {**runner.health(), "version": __version__, "limits": runner.limits.to_dict()}
        body.pop("mode", None)
        return JSONResponse(body)

    app = Starlette(
        routes=[Route("/v1/run", run, methods=["POST"]), Route("/v1/health", health, methods=["GET"])],
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    return app
