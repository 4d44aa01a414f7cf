"""The chapter page holds everything the seed chapter has, in its structure."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.html_tree import Node, parse_html


@pytest.fixture(scope="module")
def page(session_client: TestClient) -> Node:
    session_client.cookies.clear()
    response = session_client.get("/chapters/fine-tuning")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return parse_html(response.text)


def test_header_matches_the_seed(page: Node) -> None:
    head = page.find("header", cls="chapter-head")
    assert head.find(cls="chapter-count").text.strip() == "Chapter 06 / 10"
    assert head.find("h1").text.strip() == "Fine-tuning"
    assert "which parameters you allow to move" in head.find(cls="lede").text
    facts = {dt.text.strip(): dd.text.strip() for dt, dd in zip(head.find_all("dt"), head.find_all("dd"), strict=True)}
    assert facts["Reading time"] == "≈ 20 min"
    assert facts["Builds on"] == "Ch 04–05"
    assert facts["Instruments"] == "LoRA rank · VRAM fit · NF4 levels"
    crumbs = page.find(cls="crumbs").text
    assert "Vol II / 06 / Fine-tuning" in crumbs
    assert "Next: Compression" in page.find(cls="masthead-links").text


def test_sections_are_numbered_anchored_and_listed(page: Node) -> None:
    headings = page.find_all("h2", cls="section-heading")
    assert [(h.attrs["id"], h.find("a").text) for h in headings] == [
        ("sec-6-1", "6.1"),
        ("sec-6-2", "6.2"),
        ("sec-6-3", "6.3"),
        ("sec-6-4", "6.4"),
        ("sec-6-5", "6.5"),
        ("further-reading", "§"),
    ]
    titles = [h.text.split(" ", 1)[1].strip() for h in headings]
    assert titles == [
        "To tune or not to tune",
        "LoRA: the low-rank hypothesis",
        "QLoRA: fine-tuning on one GPU",
        "The PEFT zoo, briefly",
        "A practical recipe",
        "Further reading",
    ]
    toc = [a.attrs["href"] for a in page.find("nav", cls="toc").find_all("a")]
    assert toc == ["#sec-6-1", "#sec-6-2", "#sec-6-3", "#sec-6-4", "#sec-6-5", "#further-reading"]


def test_both_tables_are_complete(page: Node) -> None:
    tables = [t for t in page.find("div", cls="chapter-body").find_all("table") if "breakdown" not in t.classes]
    assert len(tables) == 2
    ladder, zoo = tables
    assert [th.text for th in ladder.find_all("th")] == ["Approach", "Changes", "Right when…", "Wrong when…"]
    assert [tr.find("td").text for tr in ladder.find("tbody").find_all("tr")] == ["Prompting", "RAG", "Fine-tuning"]
    assert [th.text for th in zoo.find_all("th")] == ["Method", "What trains", "Notes"]
    assert [tr.find("td").text for tr in zoo.find("tbody").find_all("tr")] == [
        "LoRA / QLoRA", "Adapters (serial)", "Prefix / prompt tuning", "(IA)³", "BitFit",
    ]


def test_equations_are_labelled_mathml(page: Node) -> None:
    figures = page.find_all("figure", cls="equation")
    assert [f.find("figcaption").text for f in figures] == ["EQ 6.1 — LoRA", "EQ 6.2 — NF4: quantiles of a Gaussian"]
    for figure in figures:
        assert figure.find("math").attrs["display"] == "block"
    inline = [m for m in page.find_all("math") if m.attrs.get("display") == "inline"]
    assert len(inline) >= 20
    body_text = page.find("div", cls="chapter-body").text
    assert "$" not in body_text and "\\frac" not in body_text and "\\(" not in body_text


def test_five_exercises_with_answer_fields(page: Node) -> None:
    exercises = page.find_all("section", cls="exercise")
    assert [e.attrs["id"] for e in exercises] == [
        "ex-full-ft-memory",
        "ex-lora-adapter-params",
        "ex-lora-trainable-percent",
        "ex-nf4-levels-count",
        "ex-qlora-70b-weights",
    ]
    assert [e.find(cls="exercise-label").text for e in exercises] == [f"Exercise 6.{i}" for i in range(1, 6)]
    for exercise in exercises:
        form = exercise.find("form")
        assert form.attrs["method"] == "post"
        assert form.find("input", name="answer")
        assert exercise.find(cls="exercise-result").attrs["aria-live"] == "polite"


def test_two_runnable_snippets_are_highlighted_and_editable(page: Node) -> None:
    snippets = page.find_all("section", cls="snippet")
    assert [s.attrs["id"] for s in snippets] == ["snippet-lora-algebra", "snippet-rank-capacity"]
    for snippet in snippets:
        assert snippet.find("pre", cls="highlight").find_all("span", cls="kn")  # keywords coloured
        code = snippet.find("textarea", name="code").text
        assert code.startswith("# ") and "import numpy as np" in code
        assert "#|" not in code
        assert "edits are live — break it on purpose" in snippet.find(cls="snippet-note").text
    assert "plot_xy(ranks, errs)" in snippets[1].find("textarea").text


def test_three_instruments_in_directive_order(page: Node) -> None:
    instruments = page.find_all("section", cls="instrument")
    labels = [i.find(cls="instrument-label").text for i in instruments]
    assert labels == [
        "Instrument 6.1 — LoRA parameter counter",
        "Instrument 6.2 — Will it fine-tune?",
        "Instrument 6.3 — NF4 levels",
    ]
    lora = instruments[0]
    assert "At d = 8,192, rank 16 trains 0.39% of the matrix." in lora.find(cls="live-sentence").text
    vram = instruments[1]
    assert vram.find("svg")  # the chart
    assert "Full fine-tuning a 70B wants ~1.1 TB" in vram.find(cls="instrument-caption").text


def test_recipe_pitfalls_next_and_reading(page: Node) -> None:
    recipe = page.find("aside", cls="callout-recipe")
    assert "QLoRA (NF4) · r=16 · α=32" in recipe.text
    assert "The four classic failures" in page.find("aside", cls="callout-pitfalls").text
    assert "Chapter 07: distillation" in page.find("aside", cls="callout-next").text
    heading = page.find("h2", id="further-reading")
    items = [li.text for li in page.find_all("li") if re.match(r"^[A-Z][\w ,&-]+ (et al\. )?\(\d{4}\)", li.text)]
    assert len(items) == 6
    assert heading is not None


def test_chapter_navigation(page: Node) -> None:
    nav = page.find("nav", cls="chapter-nav")
    assert nav.find("a", cls="up").attrs["href"] == "/"
    # Chapter 07 exists now: the next link leads to it (07's own "coming soon" is in test_chapters_web.py).
    assert nav.find("a", cls="next").attrs["href"] == "/chapters/compression"


def test_responses_vary_on_htmx(session_client: TestClient) -> None:
    vary = [part.strip() for part in session_client.get("/chapters/fine-tuning").headers["vary"].split(",")]
    assert "HX-Request" in vary  # (and Accept-Encoding, from the compression layer)
