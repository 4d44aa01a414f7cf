"""Two chapters on one engine: the index, navigation, the API and Chapter 07's parts."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.html_tree import parse_html

HX = {"HX-Request": "true"}
COMPRESSION = "/chapters/compression"


def test_the_index_lists_both_chapters_with_progress(client: TestClient) -> None:
    client.post(f"{COMPRESSION}/exercises/int4-g128-bits", data={"answer": "4.15625"}, headers=HX)
    cards = parse_html(client.get("/").text).find_all("li", cls="chapter-card")
    titles = [card.find(cls="chapter-title").text for card in cards]
    assert titles == ["Fine-tuning", "Compression"]
    assert [card.find("a", cls="chapter-link").attrs["href"] for card in cards] == [
        "/chapters/fine-tuning",
        COMPRESSION,
    ]
    progress = {title: card.find(cls="progress").text for title, card in zip(titles, cards, strict=True)}
    assert progress == {"Fine-tuning": "0 of 5 solved", "Compression": "1 of 5 solved"}


def test_previous_and_next_lead_between_the_chapters(client: TestClient) -> None:
    six = parse_html(client.get("/chapters/fine-tuning").text)
    assert six.find("a", cls="next").attrs["href"] == COMPRESSION
    assert any(a.attrs.get("href") == COMPRESSION for a in six.find("aside", cls="callout-next").find_all("a")), (
        "06's NEXT links to 07"
    )
    seven = parse_html(client.get(COMPRESSION).text)
    assert seven.find("a", cls="prev").attrs["href"] == "/chapters/fine-tuning"
    assert "Serving (coming soon)" in seven.find(cls="next").text  # Chapter 08 is not written yet
    assert "Chapter 07 / 10" in seven.text


def test_the_api_covers_every_chapter(client: TestClient) -> None:
    assert [c["slug"] for c in client.get("/api/chapters").json()] == ["fine-tuning", "compression"]
    seven = client.get("/api/chapters/compression").json()
    assert [e["id"] for e in seven["exercises"]] == [
        "decode-bound-7b",
        "int4-g128-bits",
        "q4k-70b-weights",
        "outlier-levels",
        "kd-t-squared",
    ]
    assert [s["id"] for s in seven["snippets"]] == ["bits-per-weight", "outlier-scales", "distill-temperature"]
    assert [(i["id"], i["number"]) for i in seven["instruments"]] == [("deploy-memory", "7.1"), ("quant-error", "7.2")]
    client.post(f"{COMPRESSION}/exercises/kd-t-squared", data={"answer": "16"}, headers=HX)
    progress = {c["slug"]: (c["solved"], c["total"]) for c in client.get("/api/progress").json()["chapters"]}
    assert progress == {"fine-tuning": (0, 5), "compression": (1, 5)}


def test_chapter_07_exercises_grade_with_their_units(client: TestClient) -> None:
    answers = {
        "decode-bound-7b": "72",
        "int4-g128-bits": "4.156",
        "q4k-70b-weights": "39.4 GB",
        "outlier-levels": "6",
        "kd-t-squared": "16",
    }
    for exercise_id, answer in answers.items():
        fragment = parse_html(
            client.post(f"{COMPRESSION}/exercises/{exercise_id}", data={"answer": answer}, headers=HX).text
        )
        assert "verdict-correct" in fragment.find(cls="verdict").attrs["class"], (exercise_id, fragment.text)
    wrong = parse_html(
        client.post(f"{COMPRESSION}/exercises/q4k-70b-weights", data={"answer": "35 GB"}, headers=HX).text
    )
    assert "codes alone" in wrong.text


def test_chapter_07_instruments_move_and_keep_their_state(client: TestClient) -> None:
    response = client.get(
        f"{COMPRESSION}/instruments/deploy-memory",
        params={"deploy-memory.format": "nf4", "deploy-memory.group_size": "64", "deploy-memory.card": "rtx-4090"},
        headers={**HX, "HX-Current-URL": f"http://testserver{COMPRESSION}?quant-error.seed=3"},
    )
    assert response.status_code == 200
    fragment = parse_html(response.text)
    assert fragment.find("dd").attrs["data-value"] == "4.5"  # NF4 with one fp32 absmax per 64
    assert "GeForce RTX 4090" in fragment.find(cls="live-sentence").text
    assert (
        "quant-error.seed=3" in response.headers["HX-Push-Url"]
        and "deploy-memory.format=nf4" in response.headers["HX-Push-Url"]
    )
    page = parse_html(client.get(f"{COMPRESSION}?quant-error.seed=3&quant-error.bits=8").text).find(id="quant-error")
    assert page.find("input", id="quant-error-seed").attrs["value"] == "3"
    assert "At 8 bits" in page.find(cls="live-sentence").text
    assert page.find("svg") is not None  # the chart, drawn for that state
    bad = client.get(f"{COMPRESSION}/instruments/quant-error", params={"quant-error.group_size": "100"}, headers=HX)
    assert bad.status_code == 422 and "group_size" in bad.text


def test_chapter_07_instruments_have_json_endpoints(client: TestClient) -> None:
    deploy = client.get("/api/instruments/deploy", params={"model": "llama-2-70b", "format": "int4"}).json()
    assert deploy["bits_per_weight"] == 4.15625 and deploy["fits"][1]["fits"] is True
    report = client.get("/api/instruments/quant-error", params={"seed": 5}).json()
    assert [m["method"] for m in report["methods"]] == ["per-tensor", "per-channel", "per-group", "nf4"]
    assert client.get("/api/instruments/quant-error", params={"seed": 5}).json() == report  # deterministic for a seed
    assert client.get("/api/instruments/quant-error", params={"bits": 9}).status_code == 422
