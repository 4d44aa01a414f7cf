"""One error family, one handler: any `TextbookError` subclass, even one the handler has
never heard of, is answered from its status, message, field and headers alone."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from app.errors import TextbookError
from app.main import create_app
from tests.conftest import make_settings
from tests.html_tree import parse_html


class TeapotError(TextbookError):
    status = 418

    def headers(self) -> dict[str, str]:
        return {"X-Teapot": "short and stout"}


MESSAGE = "This server brews <tea> only; ask for coffee elsewhere."


async def brew() -> None:
    raise TeapotError(MESSAGE, field="drink")


def test_a_new_error_type_needs_no_handler_of_its_own(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, runner_workers=1))
    app.add_api_route("/api/brew", brew)
    app.add_api_route("/brew", brew)
    client = TestClient(app)  # no lifespan: only the error path runs

    api = client.get("/api/brew")
    assert api.status_code == 418 and api.headers["X-Teapot"] == "short and stout"
    assert api.json() == {"error": "Error", "detail": MESSAGE, "field": "drink"}

    fragment = client.get("/brew", headers={"HX-Request": "true"})
    assert fragment.status_code == 418 and fragment.headers["X-Teapot"] == "short and stout"
    assert parse_html(fragment.text).find(cls="inline-error").text == MESSAGE  # escaped, shown in place

    page = client.get("/brew", headers={"Accept": "text/html"})
    assert page.status_code == 418 and MESSAGE in parse_html(page.text).text


def test_the_status_can_be_given_per_error() -> None:
    assert TextbookError("Gone for good.", status=410).status == 410
    assert TextbookError("Refused.").status == 400 and TextbookError("Refused.").headers() == {}
