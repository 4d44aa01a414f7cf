"""Solutions that open the instrument: the link's settings, the highlighted figure, the check."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.content.check import check_content
from tests.html_tree import parse_html

HX = {"HX-Request": "true"}
CHAPTER = "/chapters/fine-tuning"
SOURCE = Path(__file__).resolve().parents[2] / "content" / "vol2" / "06-fine-tuning.md"


COMPRESSION = "/chapters/compression"


def solution_link(client: TestClient, exercise_id: str, answer: str, chapter: str = CHAPTER) -> str:
    fragment = parse_html(client.post(f"{chapter}/exercises/{exercise_id}", data={"answer": answer}, headers=HX).text)
    link = fragment.find(cls="solution-instrument").find("a")
    return link.attrs["href"]


@pytest.mark.parametrize(
    ("exercise_id", "answer", "instrument", "settings", "shown"),
    [
        (
            "lora-adapter-params",
            "65536",
            "lora-counter",
            {"d_in": "4096", "d_out": "4096", "r": "8"},
            "65,536 parameters",
        ),
        ("lora-trainable-percent", "0.39", "lora-counter", {"r": "8"}, "0.390625%"),
        ("full-ft-memory", "112 GB", "vram-fit", {"params_billion": "7", "method": "full"}, "112 GB"),
        ("qlora-70b-weights", "35 GB", "vram-fit", {"model": "llama-2-70b", "method": "qlora"}, "35.2767 GB"),
        ("nf4-levels-count", "16", "nf4-levels", {}, "16"),
    ],
)
def test_a_solved_exercise_links_to_its_instrument_with_the_answer_highlighted(
    client: TestClient, exercise_id: str, answer: str, instrument: str, settings: dict[str, str], shown: str
) -> None:
    href = solution_link(client, exercise_id, answer)
    url = urlsplit(href)
    assert url.path == CHAPTER and url.fragment == instrument
    query = parse_qs(url.query)
    assert query["highlight"] == [exercise_id]
    for name, value in settings.items():
        assert query[f"{instrument}.{name}"] == [value]
    page = parse_html(client.get(f"{url.path}?{url.query}").text)
    section = page.find("section", id=instrument)
    highlight = section.find(cls="instrument-highlight")
    assert highlight.find("mark").text == shown
    assert f"{instrument}.{next(iter(settings), 'block_size')}" in {
        i.attrs.get("name") for i in section.find_all("input")
    } | {s.attrs.get("name") for s in section.find_all("select")}


@pytest.mark.parametrize(
    ("exercise_id", "answer", "settings", "shown"),
    [
        (
            "decode-bound-7b",
            "72",
            {"model": "custom", "params_billion": "7", "format": "fp16", "context": "128", "card": "rtx-4090"},
            "71.6568",
        ),
        (
            "int4-g128-bits",
            "4.15625",
            {"format": "int4", "group_size": "128", "scale_bits": "16", "zero_bits": "4"},
            "4.15625",
        ),
        (
            "q4k-70b-weights",
            "39.4 GB",
            {"params_billion": "70", "format": "custom", "bits": "4", "group_size": "32", "every_tensor": "1"},
            "39.375 GB",
        ),
    ],
)
def test_compression_solutions_open_instrument_7_1(
    client: TestClient, exercise_id: str, answer: str, settings: dict[str, str], shown: str
) -> None:
    href = solution_link(client, exercise_id, answer, COMPRESSION)
    url = urlsplit(href)
    assert url.path == COMPRESSION and url.fragment == "deploy-memory"
    query = parse_qs(url.query)
    assert query["highlight"] == [exercise_id]
    for name, value in settings.items():
        assert query[f"deploy-memory.{name}"] == [value]
    page = parse_html(client.get(f"{url.path}?{url.query}").text)
    section = page.find("section", id="deploy-memory")
    assert section.find(cls="instrument-highlight").find("mark").text == shown
    # The readouts show the same state: the figure is one of them, not a number made up for the link.
    assert (
        "See it in Instrument 7.1"
        in parse_html(client.post(f"{COMPRESSION}/exercises/{exercise_id}", data={"answer": answer}, headers=HX).text)
        .find(cls="solution-instrument")
        .text
    )


def test_compression_variants_link_with_their_own_numbers(client: TestClient) -> None:
    section = parse_html(client.post(f"{COMPRESSION}/exercises/q4k-70b-weights/variants", headers=HX).text)
    variant = section.find("input", name="variant").attrs["value"]
    body = client.post("/api/exercises/q4k-70b-weights/check", json={"answer": "1", "variant": variant, "reveal": True})
    assert body.status_code == 200
    fragment = parse_html(
        client.post(f"{COMPRESSION}/exercises/q4k-70b-weights/solution", data={"variant": variant}, headers=HX).text
    )
    href = fragment.find(cls="solution-instrument").find("a").attrs["href"]
    query = parse_qs(urlsplit(href).query)
    n, code_bits = float(query["deploy-memory.params_billion"][0]), int(query["deploy-memory.bits"][0])
    assert (n, code_bits) != (70, 4)
    page = parse_html(client.get(href.split("#")[0]).text)
    shown = page.find(cls="instrument-highlight").find("mark").text
    assert float(shown.removesuffix(" GB")) == pytest.approx(n * (code_bits + 0.5) / 8, rel=1e-6)


def test_a_variant_links_with_its_own_numbers(client: TestClient) -> None:
    section = parse_html(client.post(f"{CHAPTER}/exercises/lora-adapter-params/variants", headers=HX).text)
    variant = section.find("input", name="variant").attrs["value"]
    body = client.post(
        "/api/exercises/lora-adapter-params/check", json={"answer": "1", "variant": variant, "reveal": True}
    )
    assert body.status_code == 200
    fragment = parse_html(
        client.post(f"{CHAPTER}/exercises/lora-adapter-params/solution", data={"variant": variant}, headers=HX).text
    )
    href = fragment.find(cls="solution-instrument").find("a").attrs["href"]
    query = parse_qs(urlsplit(href).query)
    d, r = int(query["lora-counter.d_in"][0]), int(query["lora-counter.r"][0])
    assert (d, r) != (4096, 8)
    page = parse_html(client.get(href.split("#")[0]).text)
    assert page.find(cls="instrument-highlight").find("mark").text == f"{2 * d * r:,} parameters"


def test_check_fails_a_link_whose_settings_do_not_show_the_answer(tmp_path: Path) -> None:
    content = tmp_path / "content" / "vol2"
    content.mkdir(parents=True)
    broken = SOURCE.read_text().replace("figure: matrix.lora_params", "figure: matrix.full_params")
    (content / "06-fine-tuning.md").write_text(broken)
    problems = [str(p) for p in check_content(Settings(content_dir=tmp_path / "content"), run_snippets=False)]
    assert any(
        "exercise 'lora-adapter-params': instrument link to 'lora-counter': its settings show 16777216, "
        "not the answer 65,536 parameters" in p
        for p in problems
    ), problems
