"""Production delivery: compression, content-hashed static URLs with immutable caching,
ETag/304 on pages, meta description and canonical link, self-hosted /docs under the CSP,
and a server that says when its front-end assets are missing."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.web.conditional import matches
from app.web.static_files import REQUIRED_ASSETS, hashed_name
from tests.conftest import make_settings

PAGES = ["/", "/chapters/fine-tuning", "/docs"]
ASSET_LINK = re.compile(r'(?:href|src)="(/(?:static|assets)/[^"]+)"')


def page_assets(client: TestClient, path: str) -> list[str]:
    return ASSET_LINK.findall(client.get(path).text)


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_pages_and_assets_are_compressed_when_accepted(client: TestClient, encoding: str) -> None:
    for url in ["/chapters/fine-tuning", "/api/chapters/fine-tuning", *page_assets(client, "/chapters/fine-tuning")]:
        if url.endswith(".svg") or url.endswith(".png"):
            continue
        plain = client.get(url, headers={"accept-encoding": "identity"})
        packed = client.get(url, headers={"accept-encoding": encoding})
        assert plain.headers.get("content-encoding") is None
        assert packed.headers["content-encoding"] == encoding, url
        assert "accept-encoding" in packed.headers["vary"].lower()
        # httpx decodes for us; the raw length shows the saving, the text shows nothing was lost.
        assert packed.text == plain.text
        assert len(packed.content) == len(plain.content)


def test_brotli_bytes_decode_to_the_page(client: TestClient) -> None:
    with client.stream("GET", "/chapters/fine-tuning", headers={"accept-encoding": "br"}) as response:
        raw = b"".join(response.iter_raw())
    plain = client.get("/chapters/fine-tuning", headers={"accept-encoding": "identity"}).content
    assert len(raw) < len(plain) / 3
    assert brotli.decompress(raw) == plain


def test_gzip_bytes_decode_to_the_page(client: TestClient) -> None:
    with client.stream("GET", "/chapters/fine-tuning", headers={"accept-encoding": "gzip"}) as response:
        raw = b"".join(response.iter_raw())
    plain = client.get("/chapters/fine-tuning", headers={"accept-encoding": "identity"}).content
    assert len(raw) < len(plain) / 3
    assert gzip.decompress(raw) == plain


@pytest.mark.parametrize("page", PAGES)
def test_every_asset_url_is_content_hashed_and_immutable(client: TestClient, page: str) -> None:
    urls = page_assets(client, page)
    assert urls
    for url in urls:
        assert re.search(r"\.[0-9a-f]{12}\.[a-z0-9]+$", url), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable", url


def test_a_changed_file_gets_a_new_url_and_the_old_one_is_gone(tmp_path: Path) -> None:
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    sheet = static / "css" / "textbook.css"
    sheet.write_text("body { color: black }")
    app = create_app(make_settings(tmp_path / "data", static_dir=static))
    assets = app.state.textbook.assets
    with TestClient(app) as client:
        old = assets.url("css/textbook.css")
        assert client.get(old).text == "body { color: black }"
        sheet.write_text("body { color: navy }")
        new = assets.url("css/textbook.css")
        assert new != old
        assert client.get(new).text == "body { color: navy }"
        assert client.get(old).status_code == 404
        plain = client.get("/static/css/textbook.css")
        assert plain.status_code == 200 and plain.headers["cache-control"] == "no-cache"


def test_hashed_names() -> None:
    assert hashed_name("css/textbook.css", "0123456789ab") == "css/textbook.0123456789ab.css"
    assert hashed_name("vendor/htmx.min.js", "0123456789ab") == "vendor/htmx.min.0123456789ab.js"


@pytest.mark.parametrize("page", ["/", "/chapters/fine-tuning", "/docs"])
def test_a_repeat_visit_to_an_unchanged_page_is_a_304(client: TestClient, page: str) -> None:
    first = client.get(page)
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    assert first.headers["cache-control"] == "no-cache"
    again = client.get(page, headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    changed = client.get(page, headers={"if-none-match": 'W/"something-else"'})
    assert changed.status_code == 200 and changed.text == first.text


def test_a_page_that_changed_for_this_learner_is_sent_again(client: TestClient) -> None:
    before = client.get("/chapters/fine-tuning")
    client.post("/chapters/fine-tuning/exercises/nf4-levels-count", data={"answer": "16"})
    after = client.get("/chapters/fine-tuning", headers={"if-none-match": before.headers["etag"]})
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]


def test_weak_comparison() -> None:
    assert matches('W/"abc"', 'W/"abc"')
    assert matches('"x", W/"abc"', 'W/"abc"')
    assert matches("*", 'W/"abc"')
    assert not matches('W/"abd"', 'W/"abc"')


def test_errors_and_api_answers_carry_no_page_validators(client: TestClient) -> None:
    assert "etag" not in client.get("/chapters/no-such-chapter").headers
    assert "etag" not in client.get("/api/chapters").headers


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_a_description_and_a_canonical_link(client: TestClient, page: str) -> None:
    html = client.get(page + "?lora-counter.r=16").text
    description = re.search(r'<meta name="description" content="([^"]+)">', html)
    assert description and 50 <= len(description[1]) <= 200, description
    canonical = re.search(r'<link rel="canonical" href="([^"]+)">', html)
    assert canonical and canonical[1] == "http://testserver" + page


def test_the_chapter_description_is_its_lede(client: TestClient) -> None:
    html = client.get("/chapters/fine-tuning").text
    assert '<meta name="description" content="Adapting a pre-trained model to your task' in html


def test_canonical_links_use_the_public_url(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, public_url="https://book.example.org/"))
    with TestClient(app) as client:
        assert (
            '<link rel="canonical" href="https://book.example.org/chapters/fine-tuning">'
            in client.get("/chapters/fine-tuning").text
        )


def test_docs_are_self_hosted_under_the_site_csp(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "<script>" not in response.text and "cdn" not in response.text.lower()
    assets = page_assets(client, "/docs")
    assert any("/static/vendor/swagger-ui/swagger-ui-bundle." in url for url in assets)
    assert any("/static/js/swagger-init." in url for url in assets)
    assert 'data-openapi-url="/openapi.json"' in response.text
    assert client.get("/redoc").status_code == 404


def test_health_reports_present_assets(client: TestClient) -> None:
    assert client.get("/healthz").json()["parts"]["assets"] == {"ok": True, "missing": []}


def test_a_server_without_its_front_end_assets_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "textbook.css").write_text("body {}")
    app = create_app(make_settings(tmp_path / "data", static_dir=static))
    with caplog.at_level("ERROR", logger="textbook"), TestClient(app) as client:
        health = client.get("/healthz")
        assert health.status_code == 200  # the book still works without JavaScript
        assert health.json()["parts"]["assets"] == {"ok": False, "missing": list(REQUIRED_ASSETS)}
    assert "front-end assets missing" in caplog.text and "vendor/htmx.min.js" in caplog.text
