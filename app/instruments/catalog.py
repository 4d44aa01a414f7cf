"""The registered instruments: one ``InstrumentSpec`` each (see ``spec``).

The chapter's `instrument` directive names one of these; the web layer derives the
controls, form parsing, URL state, results and JSON API from the spec. Every
function here is pure and raises `InstrumentInputError` (field + message) on bad
input. ``register`` adds an instrument (a spec and its pure functions are all it takes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from app.instruments import deploy, quant_error
from app.instruments.chart_keys import lora_chart_key, nf4_chart_key, quant_error_chart_key, vram_chart_key
from app.instruments.errors import InstrumentInputError, parse_float
from app.instruments.lora import (
    ALL_LINEAR,
    DIMENSION_RANGE,
    RANK_RANGE,
    MatrixCount,
    ModelCount,
    count_matrix,
    count_model,
    describe_matrix,
    format_peft_summary,
    parse_targets,
)
from app.instruments.models import (
    LINEAR_MODULES,
    PARAMS_BILLION_RANGE,
    ModelPreset,
    get_model,
    list_models,
    list_presets,
)
from app.instruments.nf4 import BLOCK_SIZES, Nf4Report, nf4_report
from app.instruments.spec import REQUIRED, ApiParam, ApiRoute, Choice, InstrumentSpec, Params, Setting, SettingGroup
from app.instruments.vram import (
    BATCH_RANGE,
    DEFAULT_BATCH_SIZE,
    DEFAULT_DOUBLE_QUANT,
    DEFAULT_GRADIENT_CHECKPOINTING,
    DEFAULT_RANK,
    DEFAULT_SEQ_LEN,
    METHOD_LABELS,
    PART_LABELS,
    SEQ_LEN_RANGE,
    VramEstimate,
    estimate_methods,
)

__all__ = [
    "CATALOG",
    "INSTRUMENT_CATALOG",
    "LoraCounterResult",
    "VramFitResult",
    "register",
    "targets_text",
    "unregister",
]

DEFAULT_MODEL = "llama-2-7b"


@dataclass(frozen=True)
class LoraCounterResult:
    matrix: MatrixCount
    sentence: str
    model: ModelCount
    peft_line: str

    @property
    def model_name(self) -> str:
        return get_model(self.model.model_id).display_name


@dataclass(frozen=True)
class VramFitResult:
    chosen: VramEstimate
    by_method: dict[str, VramEstimate]

    @property
    def part_labels(self) -> dict[str, str]:
        return PART_LABELS


def targets_text(targets: Any) -> str:
    """Targets as the canonical comma list, or all-linear when all seven are chosen."""
    chosen = parse_targets(targets)
    return ALL_LINEAR if chosen == LINEAR_MODULES else ",".join(chosen)


# ---- settings shared by more than one instrument ----------------------------------

MODEL_CHOICES = tuple(Choice(a.model_id, a.display_name) for a in list_models())
TARGETS_PATTERN = r"^(all-linear|(q|k|v|o|gate|up|down)_proj(,(q|k|v|o|gate|up|down)_proj)*)$"
TARGETS_DESCRIPTION = (
    "comma-separated modules (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj) or all-linear"
)


def model_setting(*extra: Choice, description: str) -> Setting:
    return Setting(
        "model", "Model", DEFAULT_MODEL, kind="choice", choices=MODEL_CHOICES + extra, api_description=description
    )


CUSTOM_MODEL = Choice("custom", "Custom size (below)")


def params_billion_setting() -> Setting:
    """The custom model's size, used when the model setting is ``custom``."""
    return Setting(
        "params_billion",
        "Custom size (billion params)",
        7,
        kind="float",
        range=PARAMS_BILLION_RANGE,
        step=0.1,
        slider_step=1,
        help="Used when the model is “Custom size”: a Llama-like shape of that many parameters.",
        api_description=f"{PARAMS_BILLION_RANGE[0]:g} to {PARAMS_BILLION_RANGE[1]:g}",
    )


def chosen_model(params: Params) -> Any:
    """A preset's architecture, or a custom size in billions (``model: custom`` + ``params_billion``)."""
    model: Any = params["model"]
    if str(model).strip().lower() == "custom":
        low, high = PARAMS_BILLION_RANGE
        return parse_float("params_billion", params["params_billion"], low=low, high=high)
    return get_model(str(model))


def model_or_size_settings(query: Params) -> Params:
    """The API names a preset, or gives a bare size (a custom model) instead."""
    if query.get("model") is None and query.get("params_billion") is not None:
        query = {**query, "model": "custom"}
    return {key: value for key, value in query.items() if value is not None}


def rank_setting(label: str, default: int) -> Setting:
    return Setting(
        "r", label, default, range=RANK_RANGE, api_description=f"LoRA rank, {RANK_RANGE[0]} to {RANK_RANGE[1]}"
    )


def targets_setting(**shown: Any) -> Setting:
    return Setting(
        "targets",
        "Targets",
        ALL_LINEAR,
        kind="text",
        multi_valued=True,
        all_value=ALL_LINEAR,
        as_text=targets_text,
        api_pattern=TARGETS_PATTERN,
        api_description=TARGETS_DESCRIPTION,
        **shown,
    )


# ---- 6.1 LoRA counter ----------------------------------------------------------------


def compute_lora_counter(params: Params) -> LoraCounterResult:
    matrix = count_matrix(params["d_in"], params["d_out"], params["r"])
    model = count_model(get_model(str(params["model"])), matrix.r, params["targets"])
    return LoraCounterResult(
        matrix=matrix, sentence=describe_matrix(matrix), model=model, peft_line=format_peft_summary(model)
    )


def dimension_setting(name: str) -> Setting:
    return Setting(
        name,
        name,
        8192,
        range=DIMENSION_RANGE,
        slider_step=128,
        api_description=f"{DIMENSION_RANGE[0]:,} to {DIMENSION_RANGE[1]:,}",
    )


LORA_COUNTER_SPEC = InstrumentSpec(
    name="lora-counter",
    groups=(
        SettingGroup(
            "One projection · EQ 6.1",
            (dimension_setting("d_in"), dimension_setting("d_out"), rank_setting("rank r", 16)),
        ),
        SettingGroup(
            "Whole model · the same rank",
            (
                model_setting(description="a preset id, see /api/instruments/lora/models"),
                targets_setting(choices=tuple(Choice(m, m) for m in LINEAR_MODULES), aria_label="Target modules"),
            ),
        ),
    ),
    compute=compute_lora_counter,
    result_type=LoraCounterResult,
    chart_key=lambda result: lora_chart_key(result.matrix.d_in, result.matrix.d_out, result.matrix.r),
    results_template="_instrument_lora-counter_results.html",
    api=(
        ApiRoute(
            "/api/instruments/lora/matrix",
            "EQ 6.1 for one projection: full ΔW parameters, LoRA parameters, trainable percent.",
            MatrixCount,
            params=(ApiParam("d_in", REQUIRED), ApiParam("d_out", REQUIRED), ApiParam("r", REQUIRED)),
            output=lambda result: result.matrix,
            fields=("full_params", "lora_params", "trainable_percent"),
        ),
        ApiRoute(
            "/api/instruments/lora/model",
            "What Hugging Face PEFT's print_trainable_parameters() reports for this LoRA config.",
            ModelCount,
            params=(ApiParam("model", REQUIRED), ApiParam("r", 8), ApiParam("targets", "q_proj,v_proj")),
            output=lambda result: result.model,
            fields=(
                "trainable_params",
                "base_params",
                "all_params",
                "trainable_percent",
                "adapter_bytes_bf16",
                "adapter_bytes_fp32",
            ),
        ),
        ApiRoute(
            "/api/instruments/lora/models",
            "The architecture presets.",
            ModelPreset,
            output=lambda _: list_presets(),
            many=True,
            computes=False,
        ),
    ),
)


# ---- 6.2 VRAM fit ----------------------------------------------------------------------


def compute_vram_fit(params: Params) -> VramFitResult:
    by_method = estimate_methods(
        chosen_model(params),
        r=params["r"],
        targets=params["targets"],
        seq_len=params["seq_len"],
        batch_size=params["batch_size"],
        gradient_checkpointing=params["gradient_checkpointing"],
        double_quant=params["double_quant"],
    )
    method = str(params["method"]).strip().lower()
    if method not in by_method:
        raise InstrumentInputError(
            f"must be one of {', '.join(by_method)}; got {params['method']!r}.", field="method"
        )
    return VramFitResult(chosen=by_method[method], by_method=by_method)


VRAM_FIT_SPEC = InstrumentSpec(
    name="vram-fit",
    groups=(
        SettingGroup(
            "Model and method",
            (
                model_setting(CUSTOM_MODEL, description="a preset id; or give params_billion"),
                params_billion_setting(),
                Setting(
                    "method",
                    "Method",
                    "qlora",
                    kind="choice",
                    widget="radio",
                    choices=(
                        Choice("full", "Full fine-tuning (AdamW, mixed precision)"),
                        Choice("lora", "LoRA (bf16 base)"),
                        Choice("qlora", "QLoRA (NF4 base)"),
                    ),
                    api_description=", ".join(f"{key}: {label}" for key, label in METHOD_LABELS.items()),
                ),
            ),
        ),
        SettingGroup(
            "Adapter and batch",
            (
                rank_setting("LoRA rank r", DEFAULT_RANK),
                targets_setting(
                    widget="select",
                    choices=(
                        Choice("all-linear", "all linear layers"),
                        Choice("q_proj,k_proj,v_proj,o_proj", "attention Q, K, V, O"),
                        Choice("q_proj,v_proj", "Q and V only"),
                    ),
                ),
                Setting("seq_len", "Sequence length", DEFAULT_SEQ_LEN, range=SEQ_LEN_RANGE, slider_step=128),
                Setting("batch_size", "Batch size", DEFAULT_BATCH_SIZE, range=BATCH_RANGE),
                Setting(
                    "gradient_checkpointing", "Gradient checkpointing", DEFAULT_GRADIENT_CHECKPOINTING, kind="bool"
                ),
                Setting("double_quant", "Double quantization (QLoRA)", DEFAULT_DOUBLE_QUANT, kind="bool"),
            ),
        ),
    ),
    compute=compute_vram_fit,
    result_type=VramFitResult,
    chart_key=lambda result: vram_chart_key(result.by_method, highlight=result.chosen.method),
    results_template="_instrument_vram-fit_results.html",
    api=(
        ApiRoute(
            "/api/instruments/vram",
            "Peak memory of one fine-tuning step, its breakdown, and which cards it fits.",
            VramEstimate,
            params=(
                ApiParam("model", None),
                ApiParam("params_billion", None),
                ApiParam("method"),
                ApiParam("r"),
                ApiParam("targets"),
                ApiParam("seq_len"),
                ApiParam("batch_size"),
                ApiParam("gradient_checkpointing"),
                ApiParam("double_quant"),
            ),
            prepare=model_or_size_settings,
            output=lambda result: result.chosen,
            fields=("model_id", "method", "total_gb", "total_gib", "parts", "fits", "assumptions"),
            rename={"model_id": "model"},
        ),
    ),
)


# ---- NF4 levels ------------------------------------------------------------------------


def compute_nf4_levels(params: Params) -> Nf4Report:
    return nf4_report(params["block_size"])


NF4_LEVELS_SPEC = InstrumentSpec(
    name="nf4-levels",
    groups=(
        SettingGroup(
            "Block size (weights sharing one absmax scale)",
            (
                Setting(
                    "block_size",
                    "Block size",
                    64,
                    kind="choice",
                    widget="radio",
                    show_name=False,
                    choices=tuple(Choice(size, str(size)) for size in BLOCK_SIZES),
                    api_description=", ".join(map(str, BLOCK_SIZES[:-1])) + f" or {BLOCK_SIZES[-1]}",
                ),
            ),
        ),
    ),
    compute=compute_nf4_levels,
    result_type=Nf4Report,
    chart_key=nf4_chart_key,
    results_template="_instrument_nf4-levels_results.html",
    api=(
        ApiRoute(
            "/api/instruments/nf4",
            "EQ 6.2's levels beside the real NF4 codebook; block-wise error against int4; bits per parameter.",
            Nf4Report,
            params=(ApiParam("block_size"),),
            fields=(
                "block_size",
                "levels_seed",
                "levels_nf4",
                "bits_per_param",
                "bits_per_param_double_quant",
                "error_nf4",
                "error_int4",
            ),
        ),
    ),
)


# ---- 7.1 Bits per weight and memory -------------------------------------------------------


def compute_deploy_memory(params: Params) -> deploy.DeployEstimate:
    return deploy.estimate_deploy(
        chosen_model(params),
        params["format"],
        group_size=params["group_size"],
        scale_bits=params["scale_bits"],
        zero_bits=params["zero_bits"],
        bits=params["bits"],
        context=params["context"],
        batch=params["batch"],
        kv_bits=params["kv_bits"],
        card=params["card"],
        every_tensor=params["every_tensor"],
    )


def bit_choices(values: tuple[int, ...]) -> tuple[Choice, ...]:
    return tuple(Choice(value, str(value)) for value in values)


DEPLOY_MEMORY_SPEC = InstrumentSpec(
    name="deploy-memory",
    groups=(
        SettingGroup(
            "Model and format",
            (
                model_setting(CUSTOM_MODEL, description="a preset id; or give params_billion"),
                params_billion_setting(),
                Setting(
                    "format",
                    "Format",
                    "int4",
                    kind="choice",
                    widget="radio",
                    choices=tuple(Choice(key, label) for key, label in deploy.FORMAT_LABELS.items()),
                ),
                Setting(
                    "bits",
                    "Custom code width (bits)",
                    3,
                    range=deploy.CUSTOM_BITS_RANGE,
                    help="Used by the custom format: b-bit codes with the group layout below.",
                ),
            ),
        ),
        SettingGroup(
            "Scales and zero points",
            (
                Setting(
                    "group_size",
                    "Group size",
                    128,
                    kind="choice",
                    widget="radio",
                    choices=bit_choices(deploy.GROUP_SIZES),
                    help="Weights per scale for int4, custom and NF4; int8 keeps one scale per output channel.",
                ),
                Setting(
                    "scale_bits",
                    "Scale width (bits)",
                    16,
                    kind="choice",
                    widget="radio",
                    choices=bit_choices(deploy.SCALE_BITS),
                ),
                Setting(
                    "zero_bits",
                    "Zero-point width (bits)",
                    4,
                    kind="choice",
                    widget="radio",
                    choices=bit_choices(deploy.ZERO_BITS),
                    help="0 is symmetric absmax (no zero point); GPTQ and AWQ checkpoints store 4-bit zeros.",
                ),
                Setting(
                    "every_tensor",
                    "Every tensor in this format",
                    False,
                    kind="bool",
                    help="Off: only the blocks' linear layers; embeddings, norms and the LM head stay 16-bit.",
                ),
            ),
        ),
        SettingGroup(
            "KV cache and card",
            (
                Setting("context", "Context length (tokens)", 4096, range=deploy.CONTEXT_RANGE, slider_step=128),
                Setting("batch", "Batch (sequences)", 1, range=deploy.BATCH_RANGE),
                Setting(
                    "kv_bits",
                    "KV cache precision (bits)",
                    16,
                    kind="choice",
                    widget="radio",
                    choices=bit_choices(deploy.KV_BITS),
                ),
                Setting(
                    "card",
                    "Card",
                    "h100-sxm",
                    kind="choice",
                    choices=tuple(Choice(c.card_id, f"{c.name}, {c.memory_gb:g} GB") for c in deploy.SERVING_CARDS),
                ),
            ),
        ),
    ),
    compute=compute_deploy_memory,
    result_type=deploy.DeployEstimate,
    results_template="_instrument_deploy-memory_results.html",
    api=(
        ApiRoute(
            "/api/instruments/deploy",
            "Bits per weight (scales included), weight and KV-cache memory, which cards it fits, "
            "and the bandwidth bound on decoding.",
            deploy.DeployEstimate,
            params=(ApiParam("model", None), ApiParam("params_billion", None))
            + tuple(
                ApiParam(name)
                for name in (
                    "format",
                    "bits",
                    "group_size",
                    "scale_bits",
                    "zero_bits",
                    "context",
                    "batch",
                    "kv_bits",
                    "card",
                    "every_tensor",
                )
            ),
            prepare=model_or_size_settings,
        ),
    ),
)


# ---- 7.2 Quantization error ---------------------------------------------------------------


def compute_quant_error(params: Params) -> quant_error.QuantErrorReport:
    return quant_error.quant_error_report(
        seed=params["seed"],
        bits=params["bits"],
        group_size=params["group_size"],
        outlier_percent=params["outlier_percent"],
        outlier_scale=params["outlier_scale"],
    )


QUANT_ERROR_SPEC = InstrumentSpec(
    name="quant-error",
    groups=(
        SettingGroup(
            f"The matrix: {quant_error.D_OUT} × {quant_error.D_IN} Gaussian weights, "
            f"{quant_error.TOKENS} Gaussian inputs",
            (
                Setting("seed", "Seed", 0, range=quant_error.SEED_RANGE),
                Setting(
                    "outlier_percent",
                    "Outlier input channels (%)",
                    1.0,
                    kind="float",
                    range=quant_error.OUTLIER_PERCENT_RANGE,
                    step=0.1,
                    slider_step=0.5,
                ),
                Setting(
                    "outlier_scale",
                    "Outlier scale (×)",
                    20.0,
                    kind="float",
                    range=quant_error.OUTLIER_SCALE_RANGE,
                    step=1,
                ),
            ),
        ),
        SettingGroup(
            "The quantizer",
            (
                Setting("bits", "Code width b (absmax methods)", 4, range=quant_error.BITS_RANGE),
                Setting(
                    "group_size",
                    "Group size (per-group and NF4)",
                    128,
                    kind="choice",
                    widget="radio",
                    choices=bit_choices(quant_error.GROUP_SIZES),
                ),
            ),
        ),
    ),
    compute=compute_quant_error,
    result_type=quant_error.QuantErrorReport,
    chart_key=quant_error_chart_key,
    results_template="_instrument_quant-error_results.html",
    api=(
        ApiRoute(
            "/api/instruments/quant-error",
            "Weight and matmul-output error of absmax per tensor, per channel, per group and NF4 "
            "on one seeded matrix, and the error against bit width.",
            quant_error.QuantErrorReport,
            params=tuple(ApiParam(name) for name in ("seed", "bits", "group_size", "outlier_percent", "outlier_scale")),
        ),
    ),
)


CATALOG: dict[str, InstrumentSpec] = {}


def register(spec: InstrumentSpec) -> InstrumentSpec:
    """Add an instrument to the catalog: the content, the pages and the API see it from now on."""
    if spec.name in CATALOG:
        raise ValueError(f"an instrument called {spec.name!r} is already registered")
    paths = {route.path for other in CATALOG.values() for route in other.api}
    clash = next((route.path for route in spec.api if route.path in paths), None)
    if clash is not None:
        raise ValueError(f"{spec.name}: API path {clash} is already taken")
    CATALOG[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    CATALOG.pop(name, None)


for _spec in (LORA_COUNTER_SPEC, VRAM_FIT_SPEC, NF4_LEVELS_SPEC, DEPLOY_MEMORY_SPEC, QUANT_ERROR_SPEC):
    register(_spec)


class _Validators(Mapping[str, Callable[[Mapping[str, Any]], None]]):
    """What the content layer needs: name -> validator of initial params (live: follows `register`)."""

    def __getitem__(self, name: str) -> Callable[[Mapping[str, Any]], None]:
        return CATALOG[name].validate

    def __iter__(self) -> Iterator[str]:
        return iter(CATALOG)

    def __len__(self) -> int:
        return len(CATALOG)


INSTRUMENT_CATALOG: Mapping[str, Callable[[Mapping[str, Any]], None]] = _Validators()
