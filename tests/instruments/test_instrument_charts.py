"""Charts: valid, accessible, theme-neutral, deterministic SVG with the right marks."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.instruments import InstrumentInputError
from app.instruments.charts import lora_chart, nf4_chart, vram_chart
from app.instruments.nf4 import nf4_report
from app.instruments.svg import INK
from app.instruments.vram import estimate_methods

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def _by_id_suffix(root: ET.Element, suffix: str) -> list[ET.Element]:
    return [el for el in root.iter() if el.get("id", "").endswith(suffix)]


def _uses_in(root: ET.Element, suffix: str) -> int:
    (group,) = _by_id_suffix(root, suffix)
    return sum(1 for el in group.iter() if el.tag == f"{SVG}use")


@pytest.fixture(scope="module")
def vram_svg() -> str:
    return vram_chart(estimate_methods("llama-2-70b"), highlight="qlora")


def test_vram_chart_has_three_bars_and_four_card_lines(vram_svg: str) -> None:
    root = _parse(vram_svg)
    for method in ("full", "lora", "qlora"):
        assert len(_by_id_suffix(root, f"-bar-{method}")) == 1
    for size in (24, 48, 80, 141):
        assert len(_by_id_suffix(root, f"-card-{size}")) == 1
    assert len([el for el in root.iter() if "-bar-" in el.get("id", "")]) == 3
    assert len([el for el in root.iter() if "-card-" in el.get("id", "")]) == 4


def test_vram_chart_is_accessible(vram_svg: str) -> None:
    root = _parse(vram_svg)
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None and title.get("id") == title_id
    assert desc is not None and desc.get("id") == desc_id
    assert "Llama 2 70B" in (title.text or "")
    assert "QLoRA" in (desc.text or "") and "48" in (desc.text or "")
    # Real text, not glyph paths: the numbers can be read and searched.
    texts = " ".join(el.text or "" for el in root.iter(f"{SVG}text"))
    assert "GB" in texts and "QLoRA" in texts


def test_vram_chart_is_theme_neutral_and_inline_ready(vram_svg: str) -> None:
    assert not vram_svg.startswith("<?xml") and "<!DOCTYPE" not in vram_svg
    assert INK not in vram_svg
    assert "currentColor" in vram_svg
    assert "#ffffff" not in vram_svg.lower()  # no opaque white background
    assert "dc:date" not in vram_svg
    root = _parse(vram_svg)
    assert float(root.get("width", "0pt").removesuffix("pt")) * 4 / 3 == pytest.approx(672)


def test_highlight_fades_the_other_bars(vram_svg: str) -> None:
    root = _parse(vram_svg)

    def opacity(method: str) -> str:
        (group,) = _by_id_suffix(root, f"-bar-{method}")
        path = next(el for el in group.iter() if el.tag == f"{SVG}path")
        style = path.get("style", "")
        return "faded" if "opacity: 0.45" in style else "solid"

    assert (opacity("full"), opacity("lora"), opacity("qlora")) == ("faded", "faded", "solid")


def test_charts_are_deterministic() -> None:
    estimates = estimate_methods(13)
    first = vram_chart(estimates, highlight="lora")
    second = vram_chart(estimates, highlight="lora")
    assert first == second


# States chosen to change everything a kept figure updates: the model name, the values and
# so the x-limits, which bar is highlighted (or none), a low rank (note below-right) and a
# high one (above-left), square and rectangular matrices.
VRAM_STATES = [("llama-2-7b", "qlora"), ("llama-2-70b", "full"), ("mistral-7b", None), ("llama-2-7b", "qlora")]
LORA_STATES = [(4096, 4096, 8), (8192, 1024, 200), (512, 512, 1), (4096, 4096, 8)]

FRESH_PROCESS_RENDER = """
import json, sys
from app.instruments.charts import lora_chart, vram_chart
from app.instruments.vram import estimate_methods
model, highlight, lora = json.loads(sys.argv[1])
print(json.dumps([vram_chart(estimate_methods(model), highlight=highlight), lora_chart(*lora)]))
"""


def test_a_state_renders_the_same_bytes_whatever_was_drawn_before() -> None:
    """The VRAM and LoRA charts keep their figure between states; no state may leak into the next."""
    vram = [vram_chart(estimate_methods(model), highlight=highlight) for model, highlight in VRAM_STATES]
    lora = [lora_chart(*state) for state in LORA_STATES]
    assert vram[0] == vram[-1] and len(set(vram)) == 3
    assert lora[0] == lora[-1] and len(set(lora)) == 3
    # ... and the same bytes as a process that never drew anything else.
    model, highlight = VRAM_STATES[1]
    fresh = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS_RENDER, json.dumps([model, highlight, LORA_STATES[1]])],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert json.loads(fresh.stdout) == [vram[1], lora[1]]


def test_ids_are_unique_within_and_across_charts(vram_svg: str) -> None:
    other = nf4_chart(nf4_report(64))
    ids_a = [el.get("id") for el in _parse(vram_svg).iter() if el.get("id")]
    ids_b = [el.get("id") for el in _parse(other).iter() if el.get("id")]
    assert len(ids_a) == len(set(ids_a))
    assert len(ids_b) == len(set(ids_b))
    assert not set(ids_a) & set(ids_b)


def test_nf4_chart_marks_sixteen_levels_each() -> None:
    root = _parse(nf4_chart(nf4_report(64)))
    assert _uses_in(root, "-levels-nf4") == 16
    assert _uses_in(root, "-levels-seed") == 16
    assert len(_by_id_suffix(root, "-density")) == 1
    assert "Gaussian" in (root.find(f"{SVG}title").text or "")  # type: ignore[union-attr]


def test_lora_chart_marks_the_current_rank() -> None:
    svg = lora_chart(8192, 8192, 16)
    root = _parse(svg)
    assert _uses_in(root, "-current-rank") == 1
    assert len(_by_id_suffix(root, "-fraction-curve")) == 1
    assert "r = 16: 0.39%" in " ".join(el.text or "" for el in root.iter(f"{SVG}text"))


def test_lora_chart_validates_before_rendering() -> None:
    with pytest.raises(InstrumentInputError) as caught:
        lora_chart(8192, 8192, 0)
    assert caught.value.field == "r"


def test_vram_chart_needs_an_estimate() -> None:
    with pytest.raises(ValueError):
        vram_chart({})
