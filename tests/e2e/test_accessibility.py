"""axe-core on the index and on a chapter in use, light and dark: no serious or critical violations."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.conftest import NewPage
from tests.e2e.support import CHAPTER, E2E, SWAP_TIMEOUT_MS

pytestmark = E2E

AXE = Axe()


def serious_violations(page: Page) -> list[str]:
    """Serious and critical violations, one line per node."""
    results: dict[str, Any] = AXE.run(page).response
    return [
        f"{violation['id']} ({violation['impact']}): {' '.join(map(str, node['target']))}: {node['failureSummary']}"
        for violation in results["violations"]
        if violation["impact"] in ("serious", "critical")
        for node in violation["nodes"]
    ]


def use_the_chapter(page: Page) -> None:
    """Put every kind of result on the page so its colours are checked too."""
    for exercise_id, answer, verdict in [
        ("full-ft-memory", "14", "incorrect"),
        ("lora-adapter-params", "65536", "correct"),
        ("nf4-levels-count", "many", "unreadable"),
    ]:
        page.locator(f"#ex-{exercise_id}-answer").fill(answer)
        page.locator(f"#ex-{exercise_id}-answer").press("Enter")
        expect(page.locator(f"#ex-{exercise_id}-result .verdict-{verdict}")).to_be_visible(timeout=SWAP_TIMEOUT_MS)
    for snippet_id, code, status in [
        ("rank-capacity", None, "ok"),
        ("lora-algebra", "print('partial')\n1 / 0", "error"),
    ]:
        if code is not None:
            page.locator(f"#snippet-{snippet_id} .edit-button").click()
            page.locator(f"#snippet-{snippet_id}-code").fill(code)
        page.locator(f"#snippet-{snippet_id} .run-button").click()
        expect(page.locator(f"#snippet-{snippet_id}-output .run-status-{status}")).to_be_visible(timeout=30_000)
    for details in page.locator("details").all():
        details.locator("summary").click()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", ["/", CHAPTER])
def test_no_serious_axe_violations(new_page: NewPage, path: str, scheme: str) -> None:
    page = new_page(color_scheme=scheme)
    page.goto(path)
    if path == CHAPTER:
        use_the_chapter(page)
    violations = serious_violations(page)
    assert not violations, "axe found:\n" + "\n".join(violations)
