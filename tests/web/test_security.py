"""Security headers on every response; whatever a student types is rendered inert."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.html_tree import parse_html

HX = {"HX-Request": "true"}
PAYLOADS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "<svg onload=alert(1)>"]


@pytest.mark.parametrize("path", ["/", "/chapters/fine-tuning", "/api/chapters", "/healthz", "/chapters/nope"])
def test_security_headers_everywhere(client: TestClient, path: str) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_pages_have_no_inline_script(client: TestClient) -> None:
    for path in ("/", "/chapters/fine-tuning"):
        page = parse_html(client.get(path).text)
        scripts = page.find_all("script")
        assert scripts and all(s.attrs.get("src", "").startswith("/static/") and not s.text.strip() for s in scripts)
        for node in page.iter():
            assert not any(name.startswith("on") for name in node.attrs), node.tag


def _has_live_markup(html: str) -> bool:
    tree = parse_html(html)
    return any(n.tag == "script" and not n.attrs.get("src") for n in tree.iter()) or any(
        name.startswith("on") for n in tree.iter() for name in n.attrs
    )


@pytest.mark.parametrize("payload", PAYLOADS)
def test_answers_are_inert(client: TestClient, payload: str) -> None:
    fragment = client.post("/chapters/fine-tuning/exercises/full-ft-memory", data={"answer": payload}, headers=HX)
    assert fragment.status_code == 200 and not _has_live_markup(fragment.text)
    page = client.get("/chapters/fine-tuning")
    assert not _has_live_markup(page.text)
    assert payload in parse_html(page.text).find("input", id="ex-full-ft-memory-answer").attrs["value"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_code_and_output_are_inert(client: TestClient, payload: str) -> None:
    code = f"print({payload!r})\n# {payload}"
    fragment = client.post("/chapters/fine-tuning/snippets/lora-algebra", data={"code": code}, headers=HX)
    assert not _has_live_markup(fragment.text)
    assert payload in parse_html(fragment.text).find("pre", cls="stdout").text
    page = client.post("/chapters/fine-tuning/snippets/lora-algebra", data={"code": code})
    assert not _has_live_markup(page.text)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_instrument_input_is_inert(client: TestClient, payload: str) -> None:
    fragment = client.get("/chapters/fine-tuning/instruments/vram-fit", params={"vram-fit.model": payload}, headers=HX)
    assert fragment.status_code == 422 and not _has_live_markup(fragment.text)
    page = client.get("/chapters/fine-tuning", params={"vram-fit.model": payload})
    assert page.status_code == 422 and not _has_live_markup(page.text)


def test_request_bodies_are_capped(client: TestClient) -> None:
    response = client.post("/api/run", content=b"x" * (300 * 1024), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_chunked_request_bodies_are_capped_with_413_too(client: TestClient) -> None:
    # Without a Content-Length the cap fires while FastAPI reads the body; it answered 400.
    def chunks() -> Iterator[bytes]:
        yield b'{"code": "'
        for _ in range(100):
            yield b"x" * 4096
        yield b'"}'

    response = client.post("/api/run", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert client.post("/api/run", json={"code": "print(1)"}).json()["stdout"] == "1\n"


def test_forms_refuse_files(client: TestClient) -> None:
    response = client.post(
        "/chapters/fine-tuning/exercises/full-ft-memory", files={"answer": ("a.txt", b"112")}, headers=HX
    )
    assert response.status_code == 422
