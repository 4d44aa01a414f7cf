"""Exercises in the browser: graded in place by HTMX, the worked solution, kept across reloads."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.support import CHAPTER, E2E, SWAP_TIMEOUT_MS, assert_same_document, mark_document, screenshot

pytestmark = E2E

# (exercise id, a correct answer, text the worked solution ends on)
CORRECT = [
    ("full-ft-memory", "112 GB", "112 GB"),
    ("lora-adapter-params", "65536", "65,536"),
    ("lora-trainable-percent", "0.39", "0.391%"),
    ("nf4-levels-count", "16", "16"),
    ("qlora-70b-weights", "35 GB", "35 GB"),
]


def submit(page: Page, exercise_id: str, answer: str) -> None:
    exercise = page.locator(f"#ex-{exercise_id}")
    exercise.locator(".answer-input").fill(answer)
    with page.expect_response(lambda r: r.url.endswith(f"/exercises/{exercise_id}") and r.request.method == "POST"):
        exercise.get_by_role("button", name="Check").click()


@pytest.mark.parametrize(("exercise_id", "answer", "solution_text"), CORRECT, ids=[c[0] for c in CORRECT])
def test_a_correct_answer_is_graded_in_place_and_kept(
    page: Page, exercise_id: str, answer: str, solution_text: str
) -> None:
    page.goto(CHAPTER)
    mark_document(page)
    submit(page, exercise_id, answer)

    result = page.locator(f"#ex-{exercise_id}-result")
    expect(result.locator(".verdict")).to_have_class(re.compile(r"\bverdict-correct\b"), timeout=SWAP_TIMEOUT_MS)
    expect(result.locator(".verdict-word")).to_have_text("Correct.")
    expect(result.locator(".solution")).to_be_visible()
    expect(result.locator(".solution-label")).to_have_text("Worked solution")
    expect(result.locator(".solution strong").last).to_have_text(solution_text)
    assert_same_document(page)
    if exercise_id == "full-ft-memory":
        screenshot(page.locator(f"#ex-{exercise_id}"), "exercise-graded-1280-light")

    page.reload()
    assert page.evaluate("window.__e2eMarker") is None  # a real reload
    expect(page.locator(f"#ex-{exercise_id}-answer")).to_have_value(answer)
    expect(result.locator(".verdict-correct .verdict-word")).to_have_text("Correct.")
    expect(result.locator(".solution")).to_be_visible()
    expect(page.locator(".chapter-facts .progress")).to_have_text("1 of 5 solved")
    # The other exercises of this fresh learner are untouched.
    expect(page.locator(".exercise-result .verdict")).to_have_count(1)


def test_a_wrong_answer_gets_its_feedback_and_the_solution_on_request(page: Page) -> None:
    page.goto(CHAPTER)
    mark_document(page)
    submit(page, "full-ft-memory", "14")
    result = page.locator("#ex-full-ft-memory-result")
    expect(result.locator(".verdict")).to_have_class(re.compile(r"\bverdict-incorrect\b"), timeout=SWAP_TIMEOUT_MS)
    expect(result.locator(".verdict-word")).to_have_text("Not yet.")
    expect(result.locator(".feedback")).to_contain_text("bf16")
    expect(result.locator(".solution")).to_have_count(0)

    # Asking for the worked solution swaps it in too, still without a page load.
    result.get_by_role("button", name="Show solution").click()
    expect(result.locator(".solution")).to_be_visible(timeout=SWAP_TIMEOUT_MS)
    expect(result.locator(".verdict-incorrect")).to_be_visible()
    assert_same_document(page)

    # The next try replaces the verdict; an answer with no number in it is "unreadable".
    submit(page, "full-ft-memory", "a lot of memory")
    expect(result.locator(".verdict")).to_have_class(re.compile(r"\bverdict-unreadable\b"), timeout=SWAP_TIMEOUT_MS)
    expect(result.locator(".verdict-word")).to_have_text("Can't read that.")
    expect(result.locator(".feedback")).not_to_be_empty()
    assert_same_document(page)

    page.reload()
    expect(result.locator(".verdict-unreadable")).to_be_visible()
    expect(page.locator("#ex-full-ft-memory-answer")).to_have_value("a lot of memory")
    expect(page.locator(".chapter-facts .progress")).to_have_text("0 of 5 solved")
