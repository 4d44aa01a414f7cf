"""The instructor view: absent without a token, closed to wrong tokens, the stats as HTML, JSON and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import make_settings
from tests.html_tree import parse_html

TOKEN = "instructor-token-for-tests-0123"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def instructor_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path_factory.mktemp("instructor"), instructor_token=TOKEN))
    with TestClient(app) as client:
        yield client


def test_without_the_setting_the_view_does_not_exist(client: TestClient) -> None:
    assert client.get("/instructor").status_code == 404
    assert client.get("/api/instructor/stats", headers=BEARER).status_code == 404
    assert "/api/instructor/stats" not in client.get("/openapi.json").json()["paths"]


def test_wrong_tokens_are_refused(instructor_client: TestClient) -> None:
    instructor_client.cookies.clear()
    page = instructor_client.get("/instructor")
    assert page.status_code == 401 and parse_html(page.text).find("form", cls="instructor-login")
    wrong = instructor_client.post("/instructor/login", data={"token": "not-the-token"}, follow_redirects=False)
    assert wrong.status_code == 401 and "not the instructor token" in wrong.text and "instructor" not in wrong.cookies
    for headers in ({}, {"Authorization": "Bearer wrong-token-xxxxxxxxxxxx"}, {"Authorization": f"Basic {TOKEN}"}):
        refused = instructor_client.get("/api/instructor/stats", headers=headers)
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
        assert refused.json()["detail"] == "The instructor view needs the instructor token."
    instructor_client.cookies.set("instructor", "forged.value.signature", path="/instructor")
    assert instructor_client.get("/instructor/stats.csv").status_code == 401
    instructor_client.cookies.clear()


def test_the_stats_follow_what_learners_do(instructor_client: TestClient) -> None:
    learner = instructor_client
    learner.cookies.clear()
    for answer in ("14", "14 GB", "112"):
        learner.post("/api/exercises/full-ft-memory/check", json={"answer": answer})
    learner.cookies.clear()
    learner.post("/api/exercises/full-ft-memory/check", json={"answer": "14"})
    learner.post("/api/exercises/full-ft-memory/check", json={"answer": "1 GB", "reveal": True})
    learner.post(
        "/chapters/fine-tuning/snippets/lora-algebra",
        data={"code": "raise ValueError('x')"},
        headers={"HX-Request": "true"},
    )
    learner.get("/chapters/fine-tuning/instruments/lora-counter?lora-counter.r=32", headers={"HX-Request": "true"})
    learner.cookies.clear()
    stats = learner.get("/api/instructor/stats", headers=BEARER).json()
    assert "learner_id" not in str(stats)
    full = next(e for e in stats["exercises"] if e["id"] == "full-ft-memory")
    assert (full["learners"], full["attempts"], full["solved"], full["first_try_correct"]) == (2, 5, 1, 0)
    assert full["median_attempts_to_solve"] == 3 and full["revealed_before_solved"] == 1
    assert full["wrong_answers"][0] == {
        "answer": "14",
        "count": 2,
        "mistake": "14 GB is the bf16 weights alone (2 bytes/param)",
    }
    snippet = next(s for s in stats["snippets"] if s["id"] == "lora-algebra")
    assert (snippet["runs"], snippet["errored"], snippet["error_share"]) == (1, 1, 1.0)
    lora = next(i for i in stats["instruments"] if i["id"] == "lora-counter")
    assert lora["views"] == 1 and "lora-counter.r=32" in lora["top_settings"][0]["settings"]

    signed_in = learner.post("/instructor/login", data={"token": TOKEN}, follow_redirects=False)
    assert signed_in.status_code == 303 and "instructor" in signed_in.cookies
    page = parse_html(learner.get("/instructor").text)
    charts = page.find_all("svg")
    assert len(charts) == 2 and all(c.attrs.get("role") == "img" for c in charts)
    assert "exercise 6.1: 2 tried, 1 solved, 0 on the first try" in charts[0].find("desc").text
    exported = list(csv.DictReader(io.StringIO(learner.get("/instructor/stats.csv").text)))
    row = next(r for r in exported if r["kind"] == "exercise" and r["id"] == "full-ft-memory")
    assert (row["learners"], row["solved"], row["median_attempts_to_solve"]) == ("2", "1", "3.0")
    learner.post("/instructor/logout")
    assert learner.get("/instructor").status_code == 401
