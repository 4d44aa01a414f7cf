"""The registered instruments: their parameters, defaults and what they compute.

The chapter's `instrument` directive names one of these; the web layer reads a
form or query into `params` and calls `compute`. Every function here is pure and
raises `InstrumentInputError` (field + message) on bad input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.instruments.errors import InstrumentInputError, parse_float
from app.instruments.lora import ALL_LINEAR, MatrixCount, ModelCount, count_matrix, count_model, describe_matrix, format_peft_summary, parse_targets
from app.instruments.models import LINEAR_MODULES, PARAMS_BILLION_RANGE, get_model
from app.instruments.nf4 import Nf4Report, nf4_report
from app.instruments.vram import VramEstimate, estimate_methods

Params = dict[str, Any]


@dataclass(frozen=True)
class LoraCounterResult:
    matrix: MatrixCount
    sentence: str
    model: ModelCount
    peft_line: str


@dataclass(frozen=True)
class VramFitResult:
    chosen: VramEstimate
    by_method: dict[str, VramEstimate]


@dataclass(frozen=True)
class InstrumentSpec:
    name: str
    defaults: Params
    compute: Callable[[Params], Any]

    def normalize(self, raw: Mapping[str, Any]) -> Params:
        """Defaults overlaid with `raw`; unknown names are an error, not silently dropped."""
        unknown = sorted(set(raw) - set(self.defaults))
        if unknown:
            raise InstrumentInputError(unknown[0], f"is not a setting of this instrument (settings: {', '.join(self.defaults)}).")
        return {**self.defaults, **raw}

    def run(self, raw: Mapping[str, Any]) -> tuple[Params, Any]:
        params = self.normalize(raw)
        return params, self.compute(params)

    def validate(self, raw: Mapping[str, Any]) -> None:
        """For `textbook check`: raises ValueError (InstrumentInputError is one) on bad initial params."""
        self.run(raw)


def targets_text(targets: Any) -> str:
    """Targets as the canonical comma list, or all-linear when all seven are chosen."""
    chosen = parse_targets(targets)
    return ALL_LINEAR if chosen == LINEAR_MODULES else ",".join(chosen)


def compute_lora_counter(params: Params) -> LoraCounterResult:
    matrix = count_matrix(params["d_in"], params["d_out"], params["r"])
    model = count_model(get_model(str(params["model"])), matrix.r, params["targets"])
    return LoraCounterResult(matrix=matrix, sentence=describe_matrix(matrix), model=model, peft_line=format_peft_summary(model))


def compute_vram_fit(params: Params) -> VramFitResult:
    model: Any = params["model"]
    if str(model).strip().lower() == "custom":
        model = parse_float("params_billion", params["params_billion"], low=PARAMS_BILLION_RANGE[0], high=PARAMS_BILLION_RANGE[1])
    else:
        model = get_model(str(model))
    by_method = estimate_methods(
        model,
        r=params["r"],
        targets=params["targets"],
        seq_len=params["seq_len"],
        batch_size=params["batch_size"],
        gradient_checkpointing=params["gradient_checkpointing"],
        double_quant=params["double_quant"],
    )
    method = str(params["method"]).strip().lower()
    if method not in by_method:
        raise InstrumentInputError("method", f"must be one of {', '.join(by_method)}; got {params['method']!r}.")
    return VramFitResult(chosen=by_method[method], by_method=by_method)


def compute_nf4_levels(params: Params) -> Nf4Report:
    return nf4_report(params["block_size"])


CATALOG: dict[str, InstrumentSpec] = {
    spec.name: spec
    for spec in (
        InstrumentSpec(
            "lora-counter",
            {"d_in": 8192, "d_out": 8192, "r": 16, "model": "llama-2-7b", "targets": ALL_LINEAR},
            compute_lora_counter,
        ),
        InstrumentSpec(
            "vram-fit",
            {
                "model": "llama-2-7b",
                "params_billion": 7,
                "method": "qlora",
                "r": 16,
                "targets": ALL_LINEAR,
                "seq_len": 2048,
                "batch_size": 1,
                "gradient_checkpointing": True,
                "double_quant": True,
            },
            compute_vram_fit,
        ),
        InstrumentSpec("nf4-levels", {"block_size": 64}, compute_nf4_levels),
    )
}

# What the content layer needs: name -> validator of initial params.
INSTRUMENT_CATALOG: dict[str, Callable[[Mapping[str, Any]], None]] = {name: spec.validate for name, spec in CATALOG.items()}
