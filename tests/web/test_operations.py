"""/api/progress, /readyz and the request id, on the embedded SQLite and a real PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.both_databases


def test_progress_is_this_learners_and_documented(client: TestClient) -> None:
    empty = client.get("/api/progress")
    assert empty.status_code == 200 and "learner" not in empty.cookies
    chapter = next(c for c in empty.json()["chapters"] if c["slug"] == "fine-tuning")
    assert chapter["solved"] == 0 and chapter["total"] == len(chapter["exercises"]) == 5
    assert chapter["exercises"][0] == {
        "id": chapter["exercises"][0]["id"],
        "attempts": 0,
        "solved": False,
        "last_answer": None,
        "last_verdict": None,
    }

    client.post("/api/exercises/nf4-levels-count/check", json={"answer": "16"})
    client.post("/api/exercises/nf4-levels-count/check", json={"answer": "15"})
    client.post("/api/exercises/full-ft-memory/check", json={"answer": "14"})
    chapter = next(c for c in client.get("/api/progress").json()["chapters"] if c["slug"] == "fine-tuning")
    by_id = {e["id"]: e for e in chapter["exercises"]}
    assert by_id["nf4-levels-count"] == {
        "id": "nf4-levels-count",
        "attempts": 2,
        "solved": True,
        "last_answer": "15",
        "last_verdict": "incorrect",
    }
    assert by_id["full-ft-memory"]["attempts"] == 1 and not by_id["full-ft-memory"]["solved"]
    assert chapter["solved"] == 1

    client.cookies.clear()  # another learner sees none of it
    other = next(c for c in client.get("/api/progress").json()["chapters"] if c["slug"] == "fine-tuning")
    assert other["solved"] == 0

    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/api/progress"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ProgressOut")
    fields = schema["components"]["schemas"]["ExerciseProgressOut"]["properties"]
    assert set(fields) == {"id", "attempts", "solved", "last_answer", "last_verdict"}


def test_readyz_is_ready_and_healthz_is_alive(client: TestClient) -> None:
    ready = client.get("/readyz")
    body = ready.json()
    assert ready.status_code == 200 and (body["status"], body["problems"], body["degraded"]) == ("ready", [], [])
    assert body["runner"]["mode"] == "in-process" and body["runner"]["level"] == "full"  # every runner's state
    assert client.get("/healthz").status_code == 200
    state = client.app.state.textbook  # type: ignore[attr-defined]
    state.lifecycle.draining = True
    try:
        draining = client.get("/readyz")
        assert draining.status_code == 503 and "draining" in draining.json()["problems"][0]
        assert client.get("/healthz").status_code == 200  # alive while draining: no restart
    finally:
        state.lifecycle.draining = False


def test_every_response_carries_a_request_id_and_one_log_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="textbook.access"):
        given = client.get("/api/version", headers={"X-Request-ID": "lb-1234-abcd"})
        made = client.get("/chapters/no-such-chapter")
        hostile = client.get("/api/version", headers={"X-Request-ID": "bad id\twith spaces"})
    assert given.headers["x-request-id"] == "lb-1234-abcd"
    assert len(made.headers["x-request-id"]) == 32 and made.status_code == 404
    assert hostile.headers["x-request-id"] != "bad id\twith spaces"
    lines = [r.getMessage() for r in caplog.records if r.name == "textbook.access"]
    assert len(lines) == 3
    assert (
        '"request_id":"lb-1234-abcd"' in lines[0] and '"status":200' in lines[0] and '"path":"/api/version"' in lines[0]
    )
    assert f'"request_id":"{made.headers["x-request-id"]}"' in lines[1] and '"status":404' in lines[1]
