"""`/sitemap.xml` lists the index and every chapter the library serves; `/robots.txt` points at it."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree

from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import make_settings

NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
CONTENT = Path(__file__).resolve().parents[2] / "content"

THIRD_CHAPTER = """---
title: Evaluation
volume: 3
number: 1
chapters_in_volume: 8
slug: evaluation
lede: >-
  A chapter that exists only in this test.
---

## Measuring what matters

Text.
"""


def urls(response_text: str) -> dict[str, str | None]:
    root = ElementTree.fromstring(response_text)
    assert root.tag == f"{{{NS['s']}}}urlset"
    return {
        url.findtext("s:loc", namespaces=NS) or "": url.findtext("s:lastmod", namespaces=NS)
        for url in root.findall("s:url", NS)
    }


def test_the_sitemap_lists_the_index_and_both_chapters(client: TestClient) -> None:
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    listed = urls(response.text)
    assert list(listed) == [
        "http://testserver/",
        "http://testserver/chapters/fine-tuning",
        "http://testserver/chapters/compression",
    ]
    modified = (CONTENT / "vol2" / "07-compression.md").stat().st_mtime
    lastmod = listed["http://testserver/chapters/compression"]
    assert lastmod is not None and lastmod.endswith("+00:00")
    assert abs(datetime.fromisoformat(lastmod).timestamp() - modified) < 1
    assert listed["http://testserver/"] == max(v for k, v in listed.items() if "/chapters/" in k and v)
    for loc in listed:  # every listed page exists
        assert client.get(loc.removeprefix("http://testserver")).status_code == 200


def test_robots_txt_points_at_the_sitemap(client: TestClient) -> None:
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert "Sitemap: http://testserver/sitemap.xml" in response.text.splitlines()
    assert "User-agent: *" in response.text


def test_a_new_chapter_file_is_in_the_sitemap_and_the_public_url_is_used(tmp_path: Path) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    third = content / "vol3" / "01-evaluation.md"
    third.parent.mkdir()
    third.write_text(THIRD_CHAPTER)
    os.utime(third, (1_700_000_000, 1_700_000_000))  # 2023-11-14T22:13:20Z
    settings = make_settings(
        tmp_path / "data", content_dir=content, runner_workers=1, public_url="https://book.example.org/"
    )
    with TestClient(create_app(settings)) as live:
        listed = urls(live.get("/sitemap.xml").text)
        robots = live.get("/robots.txt").text
    assert list(listed) == [
        "https://book.example.org/",
        "https://book.example.org/chapters/fine-tuning",
        "https://book.example.org/chapters/compression",
        "https://book.example.org/chapters/evaluation",
    ]
    assert listed["https://book.example.org/chapters/evaluation"] == "2023-11-14T22:13:20+00:00"
    assert "Sitemap: https://book.example.org/sitemap.xml" in robots.splitlines()
