"""Exercises over HTTP: HTMX fragments, no-JS pages, the JSON API, saved progress."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.storage import ProgressStore
from tests.conftest import make_settings
from tests.html_tree import parse_html

pytestmark = pytest.mark.both_databases  # every test here: the embedded SQLite and a real PostgreSQL

HX = {"HX-Request": "true"}
URL = "/chapters/fine-tuning/exercises/full-ft-memory"


def test_htmx_submit_returns_only_the_verdict_fragment(client: TestClient) -> None:
    response = client.post(URL, data={"answer": "112 GB"}, headers=HX)
    assert response.status_code == 200
    fragment = parse_html(response.text)
    assert not fragment.find_all("html")
    assert "verdict-correct" in fragment.find("p", cls="verdict").classes
    assert "Worked solution" in fragment.find(cls="solution").text
    assert "learner" in response.cookies


@pytest.mark.parametrize(
    ("answer", "verdict", "phrase"),
    [
        ("14", "incorrect", "bf16 weights alone"),
        ("104.3", "incorrect", "GiB"),
        ("lots", "unreadable", ""),
        ("1.12e11 bytes", "correct", ""),
    ],
)
def test_verdicts_and_feedback(client: TestClient, answer: str, verdict: str, phrase: str) -> None:
    fragment = parse_html(client.post(URL, data={"answer": answer}, headers=HX).text)
    node = fragment.find("p", cls="verdict")
    assert f"verdict-{verdict}" in node.classes
    assert phrase in node.text
    if verdict != "correct":
        assert not fragment.find_all(cls="solution")
        assert fragment.find("form", cls="solution-request")


def test_solution_on_request_after_an_attempt(client: TestClient) -> None:
    before = client.post(URL + "/solution", headers=HX)
    assert before.status_code == 422
    assert "Try an answer first" in before.text
    client.post(URL, data={"answer": "20"}, headers=HX)
    shown = parse_html(client.post(URL + "/solution", headers=HX).text)
    assert "112 GB" in shown.find(cls="solution").text
    page = parse_html(client.get("/chapters/fine-tuning").text)
    assert page.find(id="ex-full-ft-memory").find_all(cls="solution"), "a revealed solution stays revealed"


def test_without_javascript_the_full_page_returns_with_the_verdict(client: TestClient) -> None:
    response = client.post(URL, data={"answer": "112"})
    assert response.status_code == 200
    page = parse_html(response.text)
    exercise = page.find(id="ex-full-ft-memory")
    assert "verdict-correct" in exercise.find("p", cls="verdict").classes
    assert exercise.find("input", name="answer").attrs["value"] == "112"
    assert page.find("form", cls="answer-form").attrs["action"].endswith("#ex-full-ft-memory")


def test_reload_shows_last_answer_and_progress(client: TestClient) -> None:
    client.post(URL, data={"answer": "112 GB"}, headers=HX)
    client.post("/chapters/fine-tuning/exercises/nf4-levels-count", data={"answer": "8"}, headers=HX)
    page = parse_html(client.get("/chapters/fine-tuning").text)
    nf4 = page.find(id="ex-nf4-levels-count")
    assert nf4.find("input", name="answer").attrs["value"] == "8"
    assert "verdict-incorrect" in nf4.find("p", cls="verdict").classes
    assert page.find("dd", cls="progress").text == "1 of 5 solved"
    index = parse_html(client.get("/").text)
    assert index.find(cls="progress").text == "1 of 5 solved"


def test_reset_forgets_progress(client: TestClient) -> None:
    client.post(URL, data={"answer": "112 GB"}, headers=HX)
    response = client.post("/progress/reset", data={"next": "/chapters/fine-tuning"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/chapters/fine-tuning"
    page = parse_html(client.get("/chapters/fine-tuning").text)
    assert page.find("dd", cls="progress").text == "0 of 5 solved"
    assert not page.find_all("p", cls="verdict")


def test_reset_never_redirects_off_site(client: TestClient) -> None:
    response = client.post("/progress/reset", data={"next": "//evil.example/"}, follow_redirects=False)
    assert response.headers["location"] == "/"


def test_too_long_answer_is_refused_in_place(client: TestClient) -> None:
    response = client.post(URL, data={"answer": "1" * 201}, headers=HX)
    assert response.status_code == 422
    assert "at most 200" in parse_html(response.text).find(cls="inline-error").text
    no_js = client.post(URL, data={"answer": "1" * 201})
    assert no_js.status_code == 422
    assert "at most 200" in parse_html(no_js.text).find(id="ex-full-ft-memory").find(cls="inline-error").text


def test_unknown_exercise_is_404(client: TestClient) -> None:
    assert client.post("/chapters/fine-tuning/exercises/nope", data={"answer": "1"}).status_code == 404
    assert client.post("/api/exercises/nope/check", json={"answer": "1"}).status_code == 404


def test_api_check(client: TestClient) -> None:
    wrong = client.post("/api/exercises/lora-adapter-params/check", json={"answer": "32768"})
    assert wrong.status_code == 200
    body = wrong.json()
    assert (
        body["verdict"] == "incorrect"
        and "one of the two matrices" in body["feedback"]
        and body["solution_html"] is None
    )
    right = client.post("/api/exercises/lora-adapter-params/check", json={"answer": "65,536"}).json()
    assert right["verdict"] == "correct" and "<math" in right["solution_html"]
    assert (
        client.post("/api/exercises/lora-adapter-params/check", json={"answer": "?!"}).json()["verdict"] == "unreadable"
    )


@pytest.mark.parametrize(
    "body",
    [{"answer": "1" * 201}, {"answer": 5}, {}, {"answer": "1", "extra": 1}, [1, 2]],
)
def test_api_check_rejects_bad_bodies_with_a_message(client: TestClient, body: object) -> None:
    response = client.post("/api/exercises/lora-adapter-params/check", json=body)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_api_check_rejects_non_json(client: TestClient) -> None:
    response = client.post(
        "/api/exercises/lora-adapter-params/check", content=b"not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


def test_a_tampered_cookie_is_a_new_learner(client: TestClient) -> None:
    client.cookies.set("learner", "forged.value")
    response = client.post(URL, data={"answer": "112"}, headers=HX)
    assert response.status_code == 200
    assert response.cookies.get("learner") not in (None, "forged.value")


def test_attempts_survive_a_restart(tmp_path: Path, app_settings) -> None:  # noqa: ANN001
    from app.main import create_app

    settings = make_settings(tmp_path, runner_workers=1, database_url=app_settings.database_url)
    with TestClient(create_app(settings)) as first:
        first.post(URL, data={"answer": "112 GB"}, headers=HX)
        first.post("/chapters/fine-tuning/exercises/nf4-levels-count", data={"answer": "16"}, headers=HX)
        cookie = first.cookies.get("learner")
    with TestClient(create_app(settings)) as second:
        second.cookies.set("learner", cookie)
        page = parse_html(second.get("/chapters/fine-tuning").text)
        assert page.find("dd", cls="progress").text == "2 of 5 solved"
        assert page.find(id="ex-full-ft-memory").find("input", name="answer").attrs["value"] == "112 GB"


def test_200_concurrent_attempts_are_all_stored(session_client: TestClient, app_settings) -> None:  # noqa: ANN001
    store = ProgressStore(app_settings.resolved_database_url())
    session_client.cookies.clear()
    first = session_client.post("/api/exercises/nf4-levels-count/check", json={"answer": "16"})
    cookie = first.cookies.get("learner")
    session_client.cookies.clear()
    errors: list[int] = []

    def attempt(i: int) -> None:
        response = session_client.post(
            "/api/exercises/nf4-levels-count/check", json={"answer": str(i)}, cookies={"learner": cookie}
        )
        if response.status_code != 200:
            errors.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    learner_id = session_client.app.state.textbook.learners._signer.loads(cookie)  # type: ignore[attr-defined]
    assert store.attempt_count(learner_id) == 201
