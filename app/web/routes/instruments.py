"""Instruments: the HTMX results fragment (with the URL to push) and the JSON API."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict

from app.content.model import InstrumentRef
from app.errors import BadInput, NotFound
from app.instruments.catalog import CATALOG
from app.instruments.lora import DIMENSION_RANGE, RANK_RANGE, count_matrix, count_model
from app.instruments.models import PARAMS_BILLION_RANGE, count_base_params, get_model, list_models
from app.instruments.nf4 import BLOCK_SIZES, nf4_report
from app.instruments.vram import BATCH_RANGE, SEQ_LEN_RANGE
from app.web.chapter_page import chapter_context
from app.web.errors import api_errors
from app.web.htmx import is_htmx, render
from app.web.instrument_views import compute_view, drawn, fields_for, state_query
from app.web.routes.pages import find_chapter
from app.web.state import AppState, app_state

router = APIRouter()


def find_instrument(chapter: Any, instrument_id: str) -> InstrumentRef:
    instrument = chapter.instrument(instrument_id)
    if instrument is None:
        raise NotFound(f"Chapter “{chapter.title}” has no instrument “{instrument_id}”.")
    return instrument


@router.get("/chapters/{slug}/instruments/{instrument_id}", response_class=HTMLResponse, include_in_schema=False)
async def instrument_results(slug: str, instrument_id: str, request: Request, state: AppState = Depends(app_state)) -> HTMLResponse:
    """HTMX: the results of one instrument, and the chapter URL that reopens this state."""
    chapter = find_chapter(state, slug)
    instrument = find_instrument(chapter, instrument_id)
    fields = fields_for(instrument, request.query_params.multi_items())
    view = compute_view(instrument, fields, state.charts)
    if not is_htmx(request):
        view = await drawn(view, state.charts)
        context = await chapter_context(state, request, chapter, state.learners.read(request), instrument_views={instrument.id: view})
        return render(request, state.templates, "chapter.html", context, status_code=view.status_code)
    # The numbers now; a chart not drawn yet is fetched by the fragment itself (see chart below).
    chart_url = None
    if view.error is None:
        chart_url = f"/chapters/{chapter.slug}/instruments/{instrument.id}/chart?{state_query(instrument, view.params, None)}"
    context = {"chapter": chapter, "instrument": instrument, "view": view, "chart_url": chart_url}
    response = render(request, state.templates, "_instrument_results.html", context, status_code=view.status_code)
    if view.error is None:
        query = state_query(instrument, view.params, request.headers.get("HX-Current-URL"))
        response.headers["HX-Push-Url"] = f"/chapters/{chapter.slug}?{query}"
    return response


async def render_unless_abandoned(request: Request, rendering: Coroutine[Any, Any, str | None]) -> str | None:
    """Await a chart, giving up (and withdrawing from its render) if the client goes away."""
    task = asyncio.ensure_future(rendering)
    while True:
        done, _ = await asyncio.wait({task}, timeout=0.25)
        if done:
            return task.result()
        if await request.is_disconnected():
            task.cancel()
            return None


@router.get("/chapters/{slug}/instruments/{instrument_id}/chart", response_class=HTMLResponse, include_in_schema=False)
async def instrument_chart(slug: str, instrument_id: str, request: Request, state: AppState = Depends(app_state)) -> HTMLResponse:
    """The chart of one instrument state, drawn in the renderer process without stalling the server."""
    chapter = find_chapter(state, slug)
    instrument = find_instrument(chapter, instrument_id)
    view = compute_view(instrument, fields_for(instrument, request.query_params.multi_items()), state.charts)
    if view.error is not None:
        raise BadInput(view.error.message, field=view.error.field)
    svg = view.chart_svg
    if svg is None and view.chart_key is not None:
        svg = await render_unless_abandoned(request, state.charts.render(view.chart_key))
        if svg is None and await request.is_disconnected():
            return HTMLResponse("", status_code=204)  # the student moved on; nobody reads this
    context = {"instrument": instrument, "view": replace(view, chart_svg=svg), "chart_url": None}
    response = render(request, state.templates, "_instrument_chart.html", context)
    response.headers["Cache-Control"] = "public, max-age=3600"  # a state's chart never changes
    return response


# ---- JSON API: the same pure functions ------------------------------------------


class MatrixOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    full_params: int
    lora_params: int
    trainable_percent: float


class ModelCountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    trainable_params: int
    base_params: int
    all_params: int
    trainable_percent: float
    adapter_bytes_bf16: int
    adapter_bytes_fp32: int


class ModelPresetOut(BaseModel):
    id: str
    name: str
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    vocab_size: int
    base_params: int


class CardFitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    card: str
    memory_gb: float
    fits: bool


class VramOut(BaseModel):
    model: str
    method: str
    total_gb: float
    total_gib: float
    parts: dict[str, float]
    fits: list[CardFitOut]
    assumptions: list[str]


class Nf4Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    block_size: int
    levels_seed: list[float]
    levels_nf4: list[float]
    bits_per_param: float
    bits_per_param_double_quant: float
    error_nf4: float
    error_int4: float


Dimension = Annotated[int, Query(ge=DIMENSION_RANGE[0], le=DIMENSION_RANGE[1], description="256 to 16,384")]
Rank = Annotated[int, Query(ge=RANK_RANGE[0], le=RANK_RANGE[1], description="LoRA rank, 1 to 256")]
ModelId = Annotated[str, Query(description="a preset id, see /api/instruments/lora/models", json_schema_extra={"enum": [a.model_id for a in list_models()]})]
Targets = Annotated[
    str,
    Query(
        description="comma-separated modules (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj) or all-linear",
        pattern=r"^(all-linear|(q|k|v|o|gate|up|down)_proj(,(q|k|v|o|gate|up|down)_proj)*)$",
    ),
]


@router.get("/api/instruments/lora/matrix", response_model=MatrixOut, tags=["instruments"], responses=api_errors(422))
async def api_lora_matrix(d_in: Dimension, d_out: Dimension, r: Rank) -> MatrixOut:
    """EQ 6.1 for one projection: full ΔW parameters, LoRA parameters, trainable percent."""
    return MatrixOut.model_validate(count_matrix(d_in, d_out, r))


@router.get("/api/instruments/lora/model", response_model=ModelCountOut, tags=["instruments"], responses=api_errors(422))
async def api_lora_model(model: ModelId, r: Rank = 8, targets: Targets = "q_proj,v_proj") -> ModelCountOut:
    """What Hugging Face PEFT's print_trainable_parameters() reports for this LoRA config."""
    return ModelCountOut.model_validate(count_model(get_model(model), r, targets))


@router.get("/api/instruments/lora/models", response_model=list[ModelPresetOut], tags=["instruments"])
async def api_lora_models() -> list[ModelPresetOut]:
    """The architecture presets."""
    return [
        ModelPresetOut(
            id=a.model_id,
            name=a.display_name,
            hidden_size=a.hidden_size,
            intermediate_size=a.intermediate_size,
            num_layers=a.num_layers,
            num_attention_heads=a.num_attention_heads,
            num_key_value_heads=a.num_key_value_heads,
            vocab_size=a.vocab_size,
            base_params=count_base_params(a),
        )
        for a in list_models()
    ]


@router.get("/api/instruments/vram", response_model=VramOut, tags=["instruments"], responses=api_errors(422))
async def api_vram(
    model: Annotated[str | None, Query(description="a preset id; or give params_billion", json_schema_extra={"enum": [a.model_id for a in list_models()]})] = None,
    params_billion: Annotated[float | None, Query(ge=PARAMS_BILLION_RANGE[0], le=PARAMS_BILLION_RANGE[1], allow_inf_nan=False, description="1 to 405")] = None,
    method: Literal["full", "lora", "qlora"] = "qlora",
    r: Rank = 16,
    targets: Targets = "all-linear",
    seq_len: Annotated[int, Query(ge=SEQ_LEN_RANGE[0], le=SEQ_LEN_RANGE[1])] = 2048,
    batch_size: Annotated[int, Query(ge=BATCH_RANGE[0], le=BATCH_RANGE[1])] = 1,
    gradient_checkpointing: bool = True,
    double_quant: bool = True,
) -> VramOut:
    """Peak memory of one fine-tuning step, its breakdown, and which cards it fits."""
    raw = {
        "model": model if model is not None else ("custom" if params_billion is not None else CATALOG["vram-fit"].defaults["model"]),
        "method": method,
        "r": r,
        "targets": targets,
        "seq_len": seq_len,
        "batch_size": batch_size,
        "gradient_checkpointing": gradient_checkpointing,
        "double_quant": double_quant,
    }
    if params_billion is not None:
        raw["params_billion"] = params_billion
    _, result = CATALOG["vram-fit"].run(raw)
    e = result.chosen
    return VramOut(
        model=e.model_id,
        method=e.method,
        total_gb=e.total_gb,
        total_gib=e.total_gib,
        parts=e.parts,
        fits=[CardFitOut.model_validate(f) for f in e.fits],
        assumptions=e.assumptions,
    )


@router.get("/api/instruments/nf4", response_model=Nf4Out, tags=["instruments"], responses=api_errors(422))
async def api_nf4(block_size: Annotated[int, Query(description="32, 64, 128 or 256", json_schema_extra={"enum": list(BLOCK_SIZES)})] = 64) -> Nf4Out:
    """EQ 6.2's levels beside the real NF4 codebook; block-wise error against int4; bits per parameter."""
    return Nf4Out.model_validate(nf4_report(block_size))
