"""Snippets in the browser: Edit, run with the button and with Ctrl+Enter, Reset, a timeout."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.support import CHAPTER, E2E, assert_same_document, mark_document, screenshot

pytestmark = E2E

# A run includes the sandbox start and, for the timeout, the 2 s wall limit of the test server.
RUN_TIMEOUT_MS = 30_000


def snippet_run(page: Page, snippet_id: str, action: str) -> None:
    """Run the snippet by clicking Run or pressing Ctrl+Enter in its editor; wait for the output."""
    with page.expect_response(
        lambda r: r.url.endswith(f"/snippets/{snippet_id}") and r.request.method == "POST", timeout=RUN_TIMEOUT_MS
    ) as response:
        if action == "button":
            page.locator(f"#snippet-{snippet_id} .run-button").click()
        else:
            page.locator(f"#snippet-{snippet_id}-code").press("Control+Enter")
    assert response.value.status == 200
    response.value.finished()
    expect(page.locator(f"#snippet-{snippet_id} .run-button")).to_be_enabled()


def open_editor(page: Page, snippet_id: str) -> Locator:
    snippet = page.locator(f"#snippet-{snippet_id}")
    editor = page.locator(f"#snippet-{snippet_id}-code")
    # With JS, the highlighted code shows first and the editor waits behind Edit.
    expect(snippet.locator(".code-view")).to_be_visible()
    expect(editor).to_be_hidden()
    snippet.get_by_role("button", name="Edit").click()
    expect(editor).to_be_visible()
    expect(editor).to_be_focused()
    expect(snippet.locator(".code-view")).to_be_hidden()
    expect(snippet.get_by_role("button", name="Edit")).to_be_hidden()
    return editor


SNIPPETS = [
    # (id, edit for the button run, what the edit prints, edit for Ctrl+Enter, what that prints)
    (
        "lora-algebra",
        ("d_in, d_out, r = 256, 256, 8", "d_in, d_out, r = 256, 256, 4"),
        "LoRA params (2dr)     : 2,048",
        ("d_in, d_out, r = 256, 256, 8", "d_in, d_out, r = 512, 512, 8"),
        "full fine-tune params : 262,144",
    ),
    (
        "rank-capacity",
        ("ranks, errs = [1, 4, 16, 64], []", "ranks, errs = [1, 2, 16, 64], []"),
        "rank   2: relative Frobenius error",
        ("ranks, errs = [1, 4, 16, 64], []", "ranks, errs = [1, 8, 16, 64], []"),
        "rank   8: relative Frobenius error",
    ),
]


@pytest.mark.parametrize(
    ("snippet_id", "edit1", "printed1", "edit2", "printed2"), SNIPPETS, ids=[s[0] for s in SNIPPETS]
)
def test_edit_run_and_reset(
    page: Page, snippet_id: str, edit1: tuple[str, str], printed1: str, edit2: tuple[str, str], printed2: str
) -> None:
    page.goto(CHAPTER)
    mark_document(page)
    output = page.locator(f"#snippet-{snippet_id}-output")
    expect(output).to_be_hidden()  # empty until a run
    editor = open_editor(page, snippet_id)
    original = editor.input_value()
    assert edit1[0] in original

    editor.fill(original.replace(*edit1))
    snippet_run(page, snippet_id, "button")
    expect(output.locator(".run-status-ok")).to_contain_text("Ran in")
    expect(output.locator("pre.stdout")).to_contain_text(printed1)
    if snippet_id == "rank-capacity":
        figure = output.locator("figure.run-figure img")
        expect(figure).to_have_count(1)
        expect(figure).to_be_visible()
        assert figure.evaluate("img => img.complete && img.naturalWidth > 100 && img.naturalHeight > 100")
        screenshot(page.locator(f"#snippet-{snippet_id}"), "snippet-output-1280-light")

    editor.fill(original.replace(*edit2))
    snippet_run(page, snippet_id, "ctrl+enter")
    expect(output.locator("pre.stdout")).to_contain_text(printed2)
    expect(output.locator("pre.stdout")).not_to_contain_text(printed1)
    # Ctrl+Enter ran the code; it did not type a newline into it.
    assert editor.input_value() == original.replace(*edit2)
    assert_same_document(page)

    page.locator(f"#snippet-{snippet_id}").get_by_role("button", name="Reset").click()
    assert editor.input_value() == original
    expect(editor).to_be_hidden()
    expect(page.locator(f"#snippet-{snippet_id} .code-view")).to_be_visible()
    expect(output).to_be_hidden()
    assert_same_document(page)


def test_the_editor_indents_and_escape_releases_tab(page: Page) -> None:
    page.goto(CHAPTER)
    editor = open_editor(page, "lora-algebra")
    editor.fill("")
    page.keyboard.type("for i in range(3):")
    page.keyboard.press("Enter")  # auto-indents after a colon
    page.keyboard.type("print(i * 7)")
    assert editor.input_value() == "for i in range(3):\n    print(i * 7)"
    page.keyboard.press("Shift+Tab")  # dedents the line
    assert editor.input_value() == "for i in range(3):\nprint(i * 7)"
    page.keyboard.press("Home")
    page.keyboard.press("Tab")  # indents inside the editor instead of leaving it
    assert editor.input_value() == "for i in range(3):\n    print(i * 7)"
    expect(editor).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")  # after Escape, Tab leaves: no keyboard trap
    expect(editor).not_to_be_focused()
    snippet_run(page, "lora-algebra", "button")
    expect(page.locator("#snippet-lora-algebra-output pre.stdout")).to_have_text("0\n7\n14")


def test_an_infinite_loop_times_out_and_the_page_stays_usable(page: Page) -> None:
    page.goto(CHAPTER)
    mark_document(page)
    editor = open_editor(page, "lora-algebra")
    editor.fill("while True:\n    pass\n")
    run_button = page.locator("#snippet-lora-algebra .run-button")
    with page.expect_response(lambda r: r.url.endswith("/snippets/lora-algebra"), timeout=RUN_TIMEOUT_MS) as response:
        run_button.click()
        expect(run_button).to_be_disabled()  # no double submit while it runs
        # The rest of the page keeps working while the loop burns its time limit.
        page.locator("#ex-nf4-levels-count-answer").fill("16")
        page.locator("#ex-nf4-levels-count").get_by_role("button", name="Check").click()
        expect(page.locator("#ex-nf4-levels-count-result .verdict-correct")).to_be_visible()
    assert response.value.status == 200
    status = page.locator("#snippet-lora-algebra-output .run-status")
    expect(status).to_have_class(re.compile(r"\brun-status-timeout\b"))
    expect(status).to_contain_text("took longer than the 2.0 s limit")
    expect(run_button).to_be_enabled()

    editor.fill("print(6 * 7)")
    snippet_run(page, "lora-algebra", "ctrl+enter")
    expect(page.locator("#snippet-lora-algebra-output .run-status-ok")).to_be_visible()
    expect(page.locator("#snippet-lora-algebra-output pre.stdout")).to_have_text("42")
    assert_same_document(page)


def test_an_error_shows_the_traceback_of_the_snippet(page: Page) -> None:
    page.goto(CHAPTER)
    editor = open_editor(page, "rank-capacity")
    editor.fill("import numpy as np\nnp.zeros((2, 3)) @ np.zeros((2, 3))\n")
    snippet_run(page, "rank-capacity", "button")
    output = page.locator("#snippet-rank-capacity-output")
    expect(output.locator(".run-status-error")).to_contain_text("Stopped with an error")
    expect(output.locator("pre.stderr")).to_contain_text("ValueError")
    expect(output.locator("pre.stderr")).not_to_contain_text("/work/")  # the student's traceback, not ours
