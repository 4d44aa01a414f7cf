"""The chapter's instruments as pure functions: numbers in, numbers (and SVG) out.

* ``lora``        Instrument 6.1, LoRA parameter counts (EQ 6.1), per matrix and per model
* ``vram``        Instrument 6.2, "will it fine-tune?" memory estimate per method
* ``nf4``         EQ 6.2's NF4 levels, bitsandbytes' codebook, and quantization error
* ``models``      architecture presets (data) and their parameter counts
* ``activations`` the activation-memory formula ``vram`` uses
* ``calibration`` published figures the estimate is held to
* ``charts``      matplotlib figures rendered to accessible, theme-neutral SVG
* ``chart_keys``  the small keys charts are drawn from
* ``spec``        ``InstrumentSpec``: the one description of an instrument
* ``catalog``     the registered instruments, one spec each

Nothing here imports FastAPI or Jinja. Bad input raises ``InstrumentInputError``
(field + student-readable message, a ``TextbookError``), which the web layer shows in place.

The charts module pulls in matplotlib, so it is not imported here: a caller
that only needs numbers does not pay for it.
"""

from app.instruments.errors import InstrumentInputError
from app.instruments.lora import (
    MatrixCount,
    ModelCount,
    count_matrix,
    count_model,
    describe_matrix,
    format_peft_summary,
    parse_targets,
)
from app.instruments.models import (
    Architecture,
    count_base_params,
    get_model,
    linear_shapes,
    list_models,
    resolve_model,
)
from app.instruments.nf4 import Nf4Report, nf4_report, seed_levels
from app.instruments.vram import CardFit, VramEstimate, estimate_methods, estimate_vram

__all__ = [
    "Architecture",
    "CardFit",
    "InstrumentInputError",
    "MatrixCount",
    "ModelCount",
    "Nf4Report",
    "VramEstimate",
    "count_base_params",
    "count_matrix",
    "count_model",
    "describe_matrix",
    "estimate_methods",
    "estimate_vram",
    "format_peft_summary",
    "get_model",
    "linear_shapes",
    "list_models",
    "nf4_report",
    "parse_targets",
    "resolve_model",
    "seed_levels",
]
