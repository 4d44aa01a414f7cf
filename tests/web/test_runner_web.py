"""Running snippets over HTTP: the API, the HTMX fragment, the no-JS page, refusals in place."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import make_settings
from tests.html_tree import parse_html

HX = {"HX-Request": "true"}
RUN = "/chapters/fine-tuning/snippets/{}"


def chapter_code(client: TestClient, snippet_id: str) -> str:
    snippets = client.get("/api/chapters/fine-tuning").json()["snippets"]
    return next(s["code"] for s in snippets if s["id"] == snippet_id)


def test_api_runs_the_lora_algebra_snippet(client: TestClient) -> None:
    body = client.post("/api/run", json={"code": chapter_code(client, "lora-algebra")}).json()
    assert body["status"] == "ok"
    assert "merged == two-path    : True" in body["stdout"]
    assert body["device"] == "cpu" and body["figures"] == [] and body["elapsed_ms"] > 0


def test_api_returns_the_plot_of_the_svd_snippet(client: TestClient) -> None:
    body = client.post("/api/run", json={"code": chapter_code(client, "rank-capacity")}).json()
    assert body["status"] == "ok"
    assert "rank  16: relative Frobenius error 0.0000" in body["stdout"]
    assert len(body["figures"]) == 1 and body["figures"][0]["mime"].startswith("image/")


def test_api_reports_errors_with_snippet_line_numbers(client: TestClient) -> None:
    body = client.post("/api/run", json={"code": "x = 1\ny = x / 0\n"}).json()
    assert body["status"] == "error"
    assert "line 2" in body["stderr"] and "ZeroDivisionError" in body["stderr"]
    assert "/work" not in body["stderr"] and "app/runner" not in body["stderr"]


def test_api_timeout(client: TestClient) -> None:
    body = client.post("/api/run", json={"code": "while True:\n    pass\n"}).json()
    assert body["status"] == "timeout"
    assert client.post("/api/run", json={"code": "print(6*7)"}).json()["stdout"] == "42\n"


def test_api_refuses_oversized_code_with_413(client: TestClient) -> None:
    response = client.post("/api/run", json={"code": "#" * (20 * 1024 + 1)})
    assert response.status_code == 413
    assert "20 KB" in response.json()["detail"]


def test_api_rejects_bad_bodies_with_422(client: TestClient) -> None:
    for body in ({}, {"code": 3}, {"code": "1", "more": 2}, "print(1)"):
        response = client.post("/api/run", json=body)
        assert response.status_code == 422, body
        assert response.json()["detail"]


def test_htmx_run_returns_the_output_fragment(client: TestClient) -> None:
    response = client.post(RUN.format("lora-algebra"), data={"code": "print('hello from the sandbox')"}, headers=HX)
    fragment = parse_html(response.text)
    assert not fragment.find_all("html")
    assert fragment.find("pre", cls="stdout").text == "hello from the sandbox\n"
    assert "Ran in" in fragment.find(cls="run-status").text


def test_without_javascript_the_page_returns_with_output_and_edited_code(client: TestClient) -> None:
    response = client.post(RUN.format("rank-capacity"), data={"code": "print(1 + 1)", "action": "run"})
    assert response.status_code == 200
    snippet = parse_html(response.text).find(id="snippet-rank-capacity")
    assert snippet.find("textarea").text == "print(1 + 1)"
    assert snippet.find("pre", cls="stdout").text == "2\n"


def test_without_javascript_reset_restores_the_original_code(client: TestClient) -> None:
    response = client.post(RUN.format("rank-capacity"), data={"code": "print(1)", "action": "reset"})
    snippet = parse_html(response.text).find(id="snippet-rank-capacity")
    assert snippet.find("textarea").text.startswith("# Rank vs capacity")
    assert not snippet.find_all("pre", cls="stdout")


def test_oversized_code_is_refused_in_place(client: TestClient) -> None:
    code = "#" * (20 * 1024 + 10)
    fragment = client.post(RUN.format("lora-algebra"), data={"code": code}, headers=HX)
    assert fragment.status_code == 413 and "at most 20 KB" in fragment.text
    page = client.post(RUN.format("lora-algebra"), data={"code": code})
    assert page.status_code == 413
    assert "at most 20 KB" in parse_html(page.text).find(id="snippet-lora-algebra").find(cls="run-status-refused").text


def test_unknown_snippet_is_404(client: TestClient) -> None:
    assert client.post(RUN.format("nope"), data={"code": "1"}).status_code == 404


def test_a_full_runner_answers_429_with_retry_after(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, runner_workers=1, runner_queue=1, runner_wall_s=3.0)
    with TestClient(create_app(settings)) as busy_client:
        slow = {"code": "import time\ntime.sleep(2.5)\n"}
        threads = [
            threading.Thread(target=busy_client.post, args=("/api/run",), kwargs={"json": slow}) for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.8)
        response = busy_client.post("/api/run", json={"code": "print(1)"})
        fragment = busy_client.post(RUN.format("lora-algebra"), data={"code": "print(1)"}, headers=HX)
        for thread in threads:
            thread.join()
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert "busy" in response.json()["detail"]
    assert fragment.status_code == 429 and "busy" in fragment.text


def test_the_operator_sets_how_long_runs_share_a_hash_seed(tmp_path: Path) -> None:
    # TEXTBOOK_RUNNER_TEMPLATE_RENEWAL_S: runs are forks of the template process, so they share its
    # string-hash seed until it is replaced by a freshly started one.
    code = {"code": "print(hash('which seed?'))"}
    with TestClient(create_app(make_settings(tmp_path, runner_template_renewal_s=5))) as client:
        first = client.post("/api/run", json=code).json()
        assert first["status"] == "ok"
        seeds = {first["stdout"]}
        deadline = time.monotonic() + 90  # 5 s of use, then a template start (seconds; slower under load)
        while len(seeds) == 1 and time.monotonic() < deadline:
            time.sleep(1)
            seeds.add(client.post("/api/run", json=code).json()["stdout"])
    assert len(seeds) == 2, seeds
