"""Running snippets: the HTMX output fragment, the no-JS full page, and POST /api/run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from app.errors import BadInput, PayloadTooLarge, TextbookError
from app.fleet.code_runner import DEVICE_NAMES
from app.runner.protocol import RunnerLimits, RunRequest, RunResult
from app.web.chapter_page import chapter_context
from app.web.dependencies import find_chapter, find_snippet
from app.web.errors import api_errors
from app.web.explorations import record_snippet_run
from app.web.forms import Text, read_form
from app.web.htmx import is_htmx, render
from app.web.state import AppState, app_state

router = APIRouter()


@dataclass(frozen=True)
class SnippetRun:
    """What the page shows under a snippet: the code that ran and its result or refusal."""

    code: str | None
    result: RunResult | None
    error: str | None = None
    device: str = "cpu"


class RunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Text = Field(description=f"Python source, at most {RunnerLimits().max_code_bytes // 1024} KB")
    device: Literal["cpu", "cuda"] = Field(
        default="cpu", description="where to run it: `cuda` only where /healthz lists a GPU runner"
    )


class FigureOut(BaseModel):
    mime: str
    data: str


class RunOut(BaseModel):
    status: Literal["ok", "error", "timeout", "memory_limit", "output_limit", "killed"]
    stdout: str
    stderr: str
    figures: list[FigureOut]
    elapsed_ms: float
    device: str


async def execute(state: AppState, code: str, device: str = "cpu") -> RunResult:
    """Run code in the sandbox, here or on a runner service. The runners' refusals are already
    domain errors (busy: 429, switched off, unreachable or stopped: 503, unacceptable: 422)
    with a message for the student."""
    size, limit = len(code.encode("utf-8")), state.runner.limits.max_code_bytes
    if size > limit:
        raise PayloadTooLarge(
            f"That code is {size / 1024:.1f} KB; snippets can be at most {limit // 1024} KB.", field="code"
        )
    if device not in state.runner.devices:
        name = DEVICE_NAMES.get(device, device)
        raise BadInput(f"This server has no {name} runner right now; run it on the CPU.", field="device")
    return await state.runner.run(RunRequest(code=code, device=device))


@router.post("/chapters/{slug}/snippets/{snippet_id}", response_class=HTMLResponse, include_in_schema=False)
async def run_snippet(slug: str, snippet_id: str, request: Request, state: AppState = Depends(app_state)) -> Response:
    chapter = find_chapter(state, slug)
    snippet = find_snippet(chapter, snippet_id)
    form = await read_form(request, max_bytes=4 * state.runner.limits.max_code_bytes)
    code = form.get("code", snippet.code).replace("\r\n", "\n")
    device = form.get("device", "cpu")
    status, headers = 200, None
    if form.get("action") == "reset":
        run = SnippetRun(code=snippet.code, result=None)
    else:
        try:
            run = SnippetRun(code=code, result=await execute(state, code, device), device=device)
        except TextbookError as refused:
            if is_htmx(request):
                raise  # the error handler answers with a fragment shown in place
            # Without JS, the whole page comes back with the message under the snippet.
            run = SnippetRun(code=code, result=None, error=refused.message, device=device)
            status = refused.status
            headers = refused.headers() or None
    learner_id, is_new = state.learners.ensure(request)
    if run.result is not None:
        edited = code if code != snippet.code else None
        await record_snippet_run(state, learner_id, snippet.id, run.result.status, edited)
    if is_htmx(request):
        context = {"run": run, "snippet": snippet, "chapter": chapter}
        response = render(request, state.templates, "_run_output.html", context)
    else:
        context = await chapter_context(state, request, chapter, learner_id, snippet_runs={snippet.id: run})
        response = render(request, state.templates, "chapter.html", context, status_code=status, headers=headers)
    if is_new:
        state.learners.attach(response, learner_id)
    return response



@router.post("/api/run", response_model=RunOut, tags=["runner"], responses=api_errors(413, 422, 429, 503))
async def api_run(body: RunBody, state: AppState = Depends(app_state)) -> Response:
    """Run Python in the sandbox and return its output, figures and timing."""
    result = await execute(state, body.code, body.device)
    return JSONResponse(result.to_dict())
