"""Practice variants over HTTP: "Try another" (HTMX and no-JS), grading a variant, the API, progress."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.config import Settings
from app.storage import ProgressStore
from tests.html_tree import parse_html

HX = {"HX-Request": "true"}
CHAPTER = "/chapters/fine-tuning"
URL = f"{CHAPTER}/exercises/lora-adapter-params"


def numbers_in(prompt: str) -> tuple[int, int]:
    d, r = re.search(r"=\s*(\d+)\.\s*You attach a LoRA adapter of rank r\s*=\s*(\d+)", prompt).groups()  # type: ignore[union-attr]
    return int(d), int(r)


def test_try_another_renders_the_exercise_with_fresh_numbers(client: TestClient) -> None:
    response = client.post(URL + "/variants", headers=HX)
    assert response.status_code == 200
    fragment = parse_html(response.text)
    section = fragment.find("section", id="ex-lora-adapter-params")
    assert "practice variant" in section.find(cls="exercise-label").text
    variant = section.find("input", name="variant").attrs["value"]
    d, r = numbers_in(section.find(cls="exercise-prompt").text)
    assert (d, r) != (4096, 8)
    # The variant is graded with its own numbers, keeps its mistakes, and its solution re-renders.
    wrong = parse_html(client.post(URL, data={"answer": str(d * r), "variant": variant}, headers=HX).text)
    assert "is one of the two matrices" in wrong.find(cls="verdict").text
    assert f"{d * r:,}" in wrong.find(cls="verdict").text
    assert wrong.find("form", cls="solution-request").find("input", name="variant").attrs["value"] == variant
    right = parse_html(client.post(URL, data={"answer": str(2 * d * r), "variant": variant}, headers=HX).text)
    assert "verdict-correct" in right.find("p", cls="verdict").classes
    solution = right.find(cls="solution").text
    assert f"{2 * d * r:,}" in solution and "your numbers" in solution


def test_the_page_shows_the_variant_of_the_last_attempt(client: TestClient) -> None:
    section = parse_html(client.post(URL + "/variants", headers=HX).text).find("section", id="ex-lora-adapter-params")
    variant = section.find("input", name="variant").attrs["value"]
    d, r = numbers_in(section.find(cls="exercise-prompt").text)
    client.post(URL, data={"answer": "12", "variant": variant}, headers=HX)
    page = parse_html(client.get(CHAPTER).text).find("section", id="ex-lora-adapter-params")
    assert numbers_in(page.find(cls="exercise-prompt").text) == (d, r)
    assert page.find("input", name="answer").attrs["value"] == "12"


def test_without_javascript_try_another_returns_the_chapter_with_the_variant(client: TestClient) -> None:
    response = client.post(URL + "/variants")
    assert response.status_code == 200
    page = parse_html(response.text)
    assert page.find_all("html")
    assert "practice variant" in page.find("section", id="ex-lora-adapter-params").text


def test_forged_variants_are_refused_in_place(client: TestClient) -> None:
    section = parse_html(client.post(URL + "/variants", headers=HX).text).find("section", id="ex-lora-adapter-params")
    variant = section.find("input", name="variant").attrs["value"]
    for forged in (variant[:-3] + "abc", "hello", variant.replace(".", "x")):
        refused = client.post(URL, data={"answer": "1", "variant": forged}, headers=HX)
        assert refused.status_code == 422 and "not one this exercise offers" in refused.text
    other = client.post(f"{CHAPTER}/exercises/full-ft-memory", data={"answer": "1", "variant": variant}, headers=HX)
    assert other.status_code == 422, "a variant of one exercise is not a variant of another"


def test_api_variants_and_check(client: TestClient) -> None:
    created = client.post("/api/exercises/qlora-70b-weights/variants")
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"variant", "prompt_html", "params"}
    n, bits = body["params"]["n_billion"], body["params"]["bits"]
    assert f"{n:g}B model" in body["prompt_html"]
    answer = n * bits / 8
    checked = client.post(
        "/api/exercises/qlora-70b-weights/check", json={"answer": f"{answer} GB", "variant": body["variant"]}
    ).json()
    assert checked["verdict"] == "correct" and checked["variant"] == body["variant"]
    assert checked["solution_html"]
    bf16 = client.post(
        "/api/exercises/qlora-70b-weights/check", json={"answer": f"{n * 2} GB", "variant": body["variant"]}
    ).json()
    assert bf16["verdict"] == "incorrect" and "bf16" in bf16["feedback"] and bf16["solution_html"] is None
    revealed = client.post(
        "/api/exercises/qlora-70b-weights/check", json={"answer": "1 GB", "variant": body["variant"], "reveal": True}
    ).json()
    assert revealed["verdict"] == "incorrect" and revealed["solution_html"]
    forged = client.post(
        "/api/exercises/qlora-70b-weights/check", json={"answer": "1 GB", "variant": body["variant"] + "x"}
    )
    assert forged.status_code == 422 and forged.json()["field"] == "variant"
    assert client.post("/api/exercises/no-such/variants").status_code == 404


def test_progress_records_the_variant_and_says_how_an_exercise_was_solved(
    client: TestClient, app_settings: Settings
) -> None:
    body = client.post("/api/exercises/nf4-levels-count/variants").json()
    levels = 2 ** int(body["params"]["b"])
    client.post("/api/exercises/nf4-levels-count/check", json={"answer": str(levels), "variant": body["variant"]})
    learner_cookie = client.cookies.get("learner")
    assert learner_cookie
    index = parse_html(client.get("/").text)
    progress = index.find(cls="progress")
    assert "1 of 5 solved" in progress.text
    assert "0 with the chapter's numbers, 1 in practice variants only" in progress.text
    client.post("/api/exercises/nf4-levels-count/check", json={"answer": "16"})
    progress = parse_html(client.get("/").text).find(cls="progress")
    assert progress.text.strip() == "1 of 5 solved"
    store = ProgressStore(app_settings.resolved_database_url())
    try:
        with store.engine.connect() as connection:
            from sqlalchemy import select

            from app.storage import attempts

            rows = connection.execute(
                select(attempts.c.variant, attempts.c.verdict).where(attempts.c.exercise_id == "nf4-levels-count")
            ).all()
        assert (body["variant"], "correct") in rows and (None, "correct") in rows
    finally:
        store.close()


def test_feedback_renders_math(client: TestClient) -> None:
    fragment = parse_html(client.post(f"{CHAPTER}/exercises/full-ft-memory", data={"answer": "104.3"}, headers=HX).text)
    feedback = fragment.find(cls="feedback")
    assert feedback.find_all("math"), "2^{30} is MathML, not a caret"
    assert "^" not in feedback.text and "$" not in feedback.text
    page = parse_html(client.get(CHAPTER).text)
    hints = page.find("section", id="ex-full-ft-memory").find(cls="hints")
    assert hints.find_all("math") and "^" not in hints.text
