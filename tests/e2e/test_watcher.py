"""The fixtures' watcher itself: it must see what the other tests rely on it to catch."""

from __future__ import annotations

from playwright.sync_api import Browser

from tests.e2e.support import E2E, BrowserProblems

pytestmark = E2E


def test_the_watcher_sees_console_errors_exceptions_and_http_errors(browser: Browser, server: str) -> None:
    problems = BrowserProblems()
    context = browser.new_context(base_url=server)
    try:
        page = context.new_page()
        problems.watch(page)
        page.goto("/chapters/no-such-chapter")
        page.evaluate("console.error('an error from the page')")
        page.evaluate("setTimeout(() => { throw new Error('an uncaught one') }, 0)")
        page.wait_for_timeout(100)
        page.route("**/cut-off", lambda route: route.abort("connectionrefused"))
        with page.expect_event("requestfailed"):
            page.evaluate("fetch('/cut-off').catch(() => {})")
    finally:
        context.close()
    found = "\n".join(problems.unexpected())
    assert "HTTP 404: GET " in found and "status of 404" in found
    assert "an error from the page" in found
    assert "an uncaught one" in found
    assert "request failed: GET " in found and "/cut-off" in found

    problems.allow(404)  # a 404 the test provoked on purpose is not a problem; the rest still are
    found = "\n".join(problems.unexpected())
    assert "404" not in found
    assert "an error from the page" in found and "an uncaught one" in found
