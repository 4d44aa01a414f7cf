"""The index, 404s, the chapters API and /healthz (that pure logic stays pure: tests/test_dependencies.py)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.html_tree import parse_html


def test_index_lists_the_chapters_that_exist(client: TestClient) -> None:
    page = parse_html(client.get("/").text)
    cards = page.find_all("li", cls="chapter-card")
    assert len(cards) == 2  # Chapter 06 and Chapter 07 (test_chapters_web.py checks the second)
    link = cards[0].find("a")
    assert link.attrs["href"] == "/chapters/fine-tuning"
    assert link.find(cls="chapter-number").text == "06"
    assert link.find(cls="chapter-title").text == "Fine-tuning"
    assert "≈ 20 min" in cards[0].find(cls="chapter-meta").text


def test_unknown_chapter_is_a_404_page_in_the_sites_style(client: TestClient) -> None:
    response = client.get("/chapters/no-such-chapter")
    assert response.status_code == 404
    page = parse_html(response.text)
    assert page.find("h1").text == "Page not found"
    assert "no-such-chapter" in page.find(cls="lede").text
    assert page.find("a", cls="brand")


def test_unknown_address_is_a_404_page(client: TestClient) -> None:
    response = client.get("/nothing/here")
    assert response.status_code == 404
    assert "Page not found" in response.text


def test_api_lists_chapters(client: TestClient) -> None:
    assert client.get("/api/chapters").json() == [
        {"slug": "fine-tuning", "title": "Fine-tuning", "volume": 2, "number": 6, "reading_minutes": 20},
        {"slug": "compression", "title": "Compression", "volume": 2, "number": 7, "reading_minutes": 25},
    ]


def test_api_chapter_structure_in_order(client: TestClient) -> None:
    chapter = client.get("/api/chapters/fine-tuning").json()
    assert [s["number"] for s in chapter["sections"]] == ["6.1", "6.2", "6.3", "6.4", "6.5", None]
    assert [e["id"] for e in chapter["exercises"]] == [
        "full-ft-memory", "lora-adapter-params", "lora-trainable-percent", "nf4-levels-count", "qlora-70b-weights",
    ]
    assert chapter["exercises"][1]["prompt"].startswith("A square projection")
    assert [s["id"] for s in chapter["snippets"]] == ["lora-algebra", "rank-capacity"]
    assert chapter["snippets"][0]["code"].startswith("# LoRA algebra")
    assert [i["name"] for i in chapter["instruments"]] == ["lora-counter", "vram-fit", "nf4-levels"]


def test_api_unknown_chapter_is_a_json_404(client: TestClient) -> None:
    response = client.get("/api/chapters/nope")
    assert response.status_code == 404
    assert response.json()["detail"] == "There is no chapter called “nope”."


def test_healthz_reports_version_and_parts(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["version"]
    assert body["parts"]["content"] == {"ok": True, "chapters": 2, "problems": 0}
    assert body["parts"]["database"]["ok"] is True
    assert body["parts"]["runner"]["level"] in ("full", "unsafe", "none")


def test_openapi_documents_the_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in [
        "/api/chapters",
        "/api/chapters/{slug}",
        "/api/exercises/{exercise_id}/check",
        "/api/run",
        "/api/instruments/vram",
    ]:
        assert path in paths


def test_static_and_highlight_css_are_served(client: TestClient) -> None:
    assert client.get("/static/css/textbook.css").status_code == 200
    css = client.get("/assets/pygments.css")
    assert css.status_code == 200 and ".highlight" in css.text


def test_highlighting_colours_tokens_in_light_and_dark(client: TestClient) -> None:
    css = client.get("/assets/pygments.css").text
    light, _, dark = css.partition("@media (prefers-color-scheme: dark)")
    for part in (light, dark):
        assert ".highlight .k {" in part and ".highlight .c1 {" in part  # keywords and comments coloured


def test_healthz_is_503_when_there_is_no_content(tmp_path) -> None:  # noqa: ANN001
    from app.main import create_app
    from tests.conftest import make_settings

    (tmp_path / "content").mkdir()
    settings = make_settings(tmp_path, content_dir=tmp_path / "content", runner_workers=1)
    with TestClient(create_app(settings)) as empty:
        response = empty.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["parts"]["content"] == {"ok": False, "chapters": 0, "problems": 0}


def test_an_author_s_broken_edit_does_not_take_the_chapter_away_from_students(tmp_path) -> None:  # noqa: ANN001
    import os
    import shutil

    from app.main import create_app
    from tests.conftest import make_settings

    content = tmp_path / "content"
    shutil.copytree(Path(__file__).resolve().parents[2] / "content", content)
    settings = make_settings(tmp_path / "data", content_dir=content, runner_workers=1)
    with TestClient(create_app(settings)) as live:
        assert live.get("/chapters/fine-tuning").status_code == 200
        path = content / "vol2" / "06-fine-tuning.md"
        path.write_text(path.read_text().replace("---", "--", 1))  # front matter no longer closes
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        page = live.get("/chapters/fine-tuning")
        assert page.status_code == 200 and "LoRA" in page.text
        assert (
            live.post("/api/exercises/full-ft-memory/check", json={"answer": "112 GB"}).json()["verdict"] == "correct"
        )
        health = live.get("/healthz")
        assert health.status_code == 200 and health.json()["parts"]["content"]["problems"] >= 1


def test_exercises_depend_on_nothing_above_them() -> None:
    """Dependencies point one way: content and web use the exercises package, never the reverse
    (checked through every import a module makes, not only its direct ones)."""
    import subprocess
    import sys

    code = (
        "import sys, importlib, pkgutil, app.exercises as pkg\n"
        "for m in pkgutil.iter_modules(pkg.__path__): importlib.import_module('app.exercises.' + m.name)\n"
        "above = ('app.content', 'app.web', 'app.storage', 'app.instruments', 'app.runner', 'fastapi', 'jinja2')\n"
        "bad = sorted(n for n in sys.modules if n.startswith(above))\n"
        "print(bad)\n"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert found == "[]"
