"""Layout on a phone (375 px) and in dark mode: no sideways page scroll; screenshots for people to look at."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.support import CHAPTER, E2E, SWAP_TIMEOUT_MS, screenshot

pytestmark = E2E

PHONE = {"width": 375, "height": 812}

# The elements that stick out past the right edge of the viewport, to name the culprit.
OVERFLOWING = """() => [...document.body.querySelectorAll("*")]
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5 && !el.closest("[hidden]"))
  .filter((el) => !el.parentElement.closest(".equation-body, .chart, .table-scroll, pre, textarea"))
  .slice(0, 10).map((el) => `${el.tagName.toLowerCase()}.${el.className}`)"""


# Parts of an instrument that stick out of its frame, and sliders squeezed too narrow to use.
MISFITS = """() => [...document.querySelectorAll("section.instrument")].flatMap((section) => {
  const frame = section.getBoundingClientRect();
  return [...section.querySelectorAll("input:not([type=hidden]), select, button, label, p, dl, figure, table")]
    .filter((el) => el.getClientRects().length)
    .map((el) => [el, el.getBoundingClientRect()])
    .filter(([el, box]) => box.left < frame.left - 0.5 || box.right > frame.right + 0.5
      || (el.type === "range" && box.width < 80))
    .map(([el, box]) => `${section.id}: <${el.tagName.toLowerCase()} id="${el.id}" class="${el.className}">`
      + ` spans ${box.left.toFixed(0)}..${box.right.toFixed(0)} px,`
      + ` the instrument ${frame.left.toFixed(0)}..${frame.right.toFixed(0)} px`);
})"""


def assert_no_sideways_scroll(page: Page) -> None:
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width, (
        f"the page scrolls sideways ({scroll_width} > {inner_width} px): {page.evaluate(OVERFLOWING)}"
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_index_fits_a_phone(new_page: NewPage, scheme: str) -> None:
    page = new_page(viewport=PHONE, color_scheme=scheme)
    page.goto("/")
    expect(page.locator("a.chapter-link")).to_have_count(2)  # Chapters 06 and 07
    expect(page.locator("a.chapter-link").first).to_be_visible()
    assert_no_sideways_scroll(page)
    screenshot(page, f"index-375-{scheme}")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_chapter_in_use_fits_a_phone(new_page: NewPage, scheme: str) -> None:
    page = new_page(viewport=PHONE, color_scheme=scheme)
    page.goto(CHAPTER)
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    assert_no_sideways_scroll(page)
    screenshot(page, f"chapter-top-375-{scheme}")

    page.locator("#ex-full-ft-memory-answer").fill("14")
    page.locator("#ex-full-ft-memory-answer").press("Enter")
    expect(page.locator("#ex-full-ft-memory-result .verdict-incorrect")).to_be_visible(timeout=SWAP_TIMEOUT_MS)
    page.locator("#snippet-rank-capacity .run-button").click()
    expect(page.locator("#snippet-rank-capacity-output .run-figure img")).to_be_visible(timeout=30_000)
    for instrument in ("vram-fit", "nf4-levels"):
        page.locator(f"#{instrument} details.assumptions summary").click()
    assert_no_sideways_scroll(page)

    screenshot(page.locator("#ex-full-ft-memory"), f"exercise-graded-375-{scheme}")
    screenshot(page.locator("#snippet-rank-capacity"), f"snippet-output-375-{scheme}")
    for instrument in ("lora-counter", "vram-fit", "nf4-levels"):
        screenshot(page.locator(f"#{instrument}"), f"instrument-{instrument}-375-{scheme}")


@pytest.mark.parametrize(
    "width",
    [
        375,
        1280,
    ],
)
def test_instrument_controls_fit_inside_their_frame(new_page: NewPage, width: int) -> None:
    page = new_page(viewport={"width": width, "height": 900})
    page.goto(CHAPTER)
    assert page.evaluate(MISFITS) == []


def test_dark_mode_at_desktop_width(new_page: NewPage) -> None:
    page = new_page(color_scheme="dark")
    page.goto(CHAPTER)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(21, 21, 23)", "the dark palette applies"  # --paper in dark mode
    assert_no_sideways_scroll(page)
    screenshot(page, "chapter-top-1280-dark")
    page.locator("#ex-qlora-70b-weights-answer").fill("35 GB")
    page.locator("#ex-qlora-70b-weights-answer").press("Enter")
    expect(page.locator("#ex-qlora-70b-weights-result .solution")).to_be_visible(timeout=SWAP_TIMEOUT_MS)
    screenshot(page.locator("#ex-qlora-70b-weights"), "exercise-graded-1280-dark")
    for instrument in ("lora-counter", "vram-fit", "nf4-levels"):
        screenshot(page.locator(f"#{instrument}"), f"instrument-{instrument}-1280-dark")
    page.goto("/")
    screenshot(page, "index-1280-dark")
