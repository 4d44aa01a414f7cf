"""Published memory figures the VRAM estimate is held to, with their tolerances.

Each row names its source, the model we read it as, the settings we evaluate at,
and the band ``min_ratio <= ours / published <= max_ratio`` we accept. The tests
run every row; the page can show the same table under "How good is this
estimate?". Bands differ because the sources differ:

* the chapter's statements are rules of thumb: ±10% for "~1.1 TB", and "under
  48 GB" read as ours <= 48 GB (and not absurdly below, >= 75% of it);
* the QLoRA paper's 65B claim is a fit: it ran on one 48 GB GPU, so ours must
  be <= 48 GB at their settings (r = 64 all linear, seq 512) and >= 75% of it;
* LLaMA-Factory's table (README, 2024 version, marked "estimated") is itself
  an estimate rounded to rules like "2x GB" for 16-bit LoRA and "x/2 GB" for
  4-bit QLoRA: ±30%;
* Unsloth's table is an "absolute minimum" reached with its own fused kernels
  (no materialized logits, checkpoints offloaded to CPU) on whichever model of
  each size they tried. For 16-bit LoRA the frozen weights dominate: ±20%. For
  QLoRA our stock Hugging Face + PEFT + bitsandbytes estimate may sit above
  their floor, up to 1.5x, or a little below it (0.8x) where their model of
  that size is bigger than a Llama-2-shaped one (their 27B row is presumably
  Gemma, whose 256K vocabulary a 32K-vocabulary shape does not carry).

Both framework tables are keyed by size alone, so each row is read at that size
through the bare-count path (a Llama-2-like shape with a 32K vocabulary). At a
Llama 3 preset the 128K-entry logits (3.2 GB at seq 2,048) push the QLoRA
estimate for small models to about 2x Unsloth's floor; Unsloth never builds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.instruments.vram import estimate_vram

__all__ = ["PUBLISHED_FIGURES", "CalibrationRow", "PublishedFigure", "compare_to_published"]


@dataclass(frozen=True, slots=True)
class PublishedFigure:
    source: str
    claim: str
    model: str | float  # preset id or size in billions, as estimate_vram takes it
    method: str
    published_gb: float
    min_ratio: float
    max_ratio: float
    settings: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CalibrationRow:
    figure: PublishedFigure
    ours_gb: float
    ratio: float
    within: bool


_CHAPTER = "Chapter 6 text"
_QLORA = "Dettmers et al. 2023, QLoRA paper"
_LF = "LLaMA-Factory README, hardware requirement table"
_UNSLOTH = "Unsloth docs, fine-tuning VRAM requirements"

def _table(
    source: str, method: str, label: str, rows: tuple[tuple[float, float], ...], low: float, high: float
) -> tuple[PublishedFigure, ...]:
    # Both framework tables are keyed by size alone, so we read them at that
    # size (our bare-count path), not at a particular checkpoint.
    return tuple(
        PublishedFigure(source, f"{label} {size:g}B: {gb:g} GB", size, method, gb, low, high)
        for size, gb in rows
    )


PUBLISHED_FIGURES: tuple[PublishedFigure, ...] = (
    PublishedFigure(_CHAPTER, "70B full fine-tune ~1.1 TB (batch 1, seq 2K)", 70, "full", 1100, 0.9, 1.1),
    PublishedFigure(_CHAPTER, "QLoRA puts a 70B under 48 GB", 70, "qlora", 48, 0.75, 1.0),
    PublishedFigure(_CHAPTER, "QLoRA puts a 70B under 48 GB", "llama-2-70b", "qlora", 48, 0.75, 1.0),
    PublishedFigure(
        _QLORA, "LLaMA 65B fine-tuned on one 48 GB GPU", "llama-65b", "qlora", 48, 0.75, 1.0,
        {"r": 64, "seq_len": 512},
    ),
    *_table(_LF, "full", "Full (AMP)", ((7, 120), (13, 240), (30, 600), (70, 1200)), 0.7, 1.3),
    *_table(_LF, "lora", "LoRA 16-bit", ((7, 16), (13, 32), (30, 64), (70, 160)), 0.7, 1.3),
    *_table(_LF, "qlora", "QLoRA 4-bit", ((7, 6), (13, 12), (30, 24), (70, 48)), 0.7, 1.3),
    *_table(
        _UNSLOTH, "qlora", "QLoRA 4-bit",
        ((3, 3.5), (7, 5), (8, 6), (9, 6.5), (11, 7.5), (14, 8.5), (27, 22), (32, 26),
         (40, 30), (70, 41), (81, 48), (90, 53), (405, 237)),
        0.8, 1.5,
    ),
    *_table(
        _UNSLOTH, "lora", "LoRA 16-bit",
        ((3, 8), (7, 19), (8, 22), (9, 24), (11, 29), (14, 33), (27, 64), (32, 76),
         (40, 96), (70, 164), (81, 192), (90, 212), (405, 950)),
        0.8, 1.2,
    ),
)


def compare_to_published(
    figures: tuple[PublishedFigure, ...] = PUBLISHED_FIGURES,
) -> list[CalibrationRow]:
    """Our estimate for every published figure (instrument defaults unless the row says)."""
    rows = []
    for figure in figures:
        ours = estimate_vram(figure.model, figure.method, **figure.settings).total_gb  # type: ignore[arg-type]
        ratio = ours / figure.published_gb
        rows.append(
            CalibrationRow(
                figure=figure,
                ours_gb=ours,
                ratio=ratio,
                within=figure.min_ratio <= ratio <= figure.max_ratio,
            )
        )
    return rows
