"""Keyboard only: Tab reaches every control in order, focus is always visible, controls work from the keyboard."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.support import CHAPTER, E2E, SWAP_TIMEOUT_MS, assert_same_document, mark_document

pytestmark = E2E

# Tag what a keyboard user must be able to reach: visible links, buttons, fields, summaries,
# scrollable regions (Chromium makes an overflowing scroller with nothing focusable inside a
# tab stop itself); of a radio group only the checked radio is a tab stop.
TAG_TAB_STOPS = """() => {
  const selector =
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])';
  const isScroller = (el) => {
    const style = getComputedStyle(el);
    return ["auto", "scroll"].includes(style.overflowX)
      && el.scrollWidth > el.clientWidth && !el.querySelector(selector);
  };
  const stops = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (!(el.matches(selector) || isScroller(el))) continue;
    if (el.disabled || el.closest("[hidden], template")) continue;
    const checkedInGroup = `input[type=radio][name="${el.name}"]:checked`;
    if (el.type === "radio" && !el.checked && document.querySelector(checkedInGroup)) continue;
    const closedAbove = el.tagName === "SUMMARY"
      ? el.parentElement.parentElement.closest("details:not([open])")
      : el.closest("details:not([open])");
    if (closedAbove) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || !el.getClientRects().length) continue;
    el.dataset.e2eStop = String(stops.length);
    const label = (el.getAttribute("aria-label") || el.textContent || el.name || "").trim().slice(0, 40);
    stops.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} ${label}`);
  }
  window.__focusWalk = [];
  document.addEventListener("focusin", (event) => {
    const el = event.target;
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    window.__focusWalk.push({
      stop: el.dataset.e2eStop ?? null,
      what: `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${el.className} `
        + (el.textContent || el.name || "").trim().slice(0, 40),
      focusVisible: el.matches(":focus-visible"),
      outline: `${style.outlineStyle} ${style.outlineWidth}`,
      outlineVisible: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
      boxVisible: rect.width > 0 && rect.height > 0 && rect.bottom > 0 && rect.top < window.innerHeight,
    });
  });
  return stops;
}"""


def test_tab_reaches_every_control_with_a_visible_focus_ring(page: Page) -> None:
    page.goto(CHAPTER)
    stops: list[str] = page.evaluate(TAG_TAB_STOPS)
    assert len(stops) > 40
    for _ in range(len(stops) + 1):
        page.keyboard.press("Tab")
    walk: list[dict[str, object]] = page.evaluate("window.__focusWalk")

    reached = {step["stop"] for step in walk if step["stop"] is not None}
    missed = [stop for index, stop in enumerate(stops) if str(index) not in reached]
    assert not missed, f"Tab never reaches: {missed}"
    # Tab order follows the reading order (no positive tabindex shuffling it).
    order = [int(str(step["stop"])) for step in walk if step["stop"] is not None]
    assert order == sorted(order)
    strays = [step["what"] for step in walk if step["stop"] is None]
    assert not strays, f"Tab stops on things that are not visible controls: {strays}"

    # Every focused control shows a ring (and is scrolled into view), links, inputs, buttons and ranges included.
    hidden_focus = [
        f"{step['what']} (outline: {step['outline']})"
        for step in walk
        if not (step["focusVisible"] and step["outlineVisible"])
    ]
    assert not hidden_focus, f"focus is not visible on: {hidden_focus}"
    offscreen = [step["what"] for step in walk if not step["boxVisible"]]
    assert not offscreen, f"focused but not scrolled into view: {offscreen}"
    kinds = " ".join(str(step["what"]) for step in walk)
    for kind in (
        "a.skip-link",
        "a.section-number",
        "input#ex-",
        "button.",
        "input#lora-counter-r-range",
        "select#",
        "button.quiet-button edit-button",
        "summary",
    ):
        assert kind in kinds, f"the walk has no {kind!r}"


def test_controls_work_from_the_keyboard(page: Page) -> None:
    page.goto(CHAPTER)
    mark_document(page)

    # The skip link is the first stop and moves focus to the main content.
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))  # waits: the fragment navigation lands a moment later
    expect(page.locator("main")).to_be_focused()

    # An answer: type and press Enter.
    page.locator("#ex-lora-adapter-params-answer").focus()
    page.keyboard.type("65,536")
    page.keyboard.press("Enter")
    expect(page.locator("#ex-lora-adapter-params-result .verdict-correct")).to_be_visible(timeout=SWAP_TIMEOUT_MS)

    # A hint opens with Enter on its summary.
    hints = page.locator("#ex-lora-adapter-params details.hints")
    hints.locator("summary").focus()
    page.keyboard.press("Enter")
    expect(hints).to_have_attribute("open", "")
    expect(hints.locator(".hint").first).to_be_visible()

    # A select: arrow to another model preset, the results follow.
    model = page.locator("#vram-fit-model")
    before = model.input_value()
    model.focus()
    with page.expect_response(lambda r: "/instruments/vram-fit?" in r.url, timeout=SWAP_TIMEOUT_MS):
        page.keyboard.press("ArrowDown")
    assert model.input_value() != before
    expect(page.locator("#vram-fit-results .readout").first).to_contain_text("GB")

    # A radio of the method group: arrows choose full fine-tuning, the headline total follows.
    page.locator('input[name="vram-fit.method"]:checked').focus()
    with page.expect_response(lambda r: "/instruments/vram-fit?" in r.url, timeout=SWAP_TIMEOUT_MS):
        page.keyboard.press("ArrowLeft")
    expect(page.locator('input[name="vram-fit.method"]:checked')).to_have_value("lora")
    expect(page.locator("#vram-fit-results .readout-accent dt")).to_have_text("Total (LORA)")

    # Edit a snippet from the keyboard and run it.
    page.locator("#snippet-lora-algebra .edit-button").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#snippet-lora-algebra-code")).to_be_focused()
    page.keyboard.press("Control+a")
    page.keyboard.type("print(2 ** 10)")
    with page.expect_response(lambda r: r.url.endswith("/snippets/lora-algebra"), timeout=30_000):
        page.keyboard.press("Control+Enter")
    expect(page.locator("#snippet-lora-algebra-output pre.stdout")).to_have_text("1024")
    assert_same_document(page)
