"""Schemathesis against the app's own OpenAPI schema: every operation, a short run.

Each operation gets a fresh app (schemathesis' ASGI transport runs its lifespan, so
the runner pool is really started, and ends it after the test). What must hold for
every generated request:
  * never a 5xx;
  * a 2xx, and every documented error, has the documented content type and body;
  * anything else is an expected refusal (400 unreadable body, 404 unknown id, 405
    wrong method, 413 code over 20 KB, 422 bad input, 429 busy with Retry-After) in
    the app's error shape;
  * a valid request (a positive case) is not refused, except by a busy runner.
The long run is `bench/fuzz.py`.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from tests.conftest import make_settings

# The schema document only: this app is never started, so importing the module is cheap.
_SCHEMA_DIR = Path(tempfile.mkdtemp(prefix="textbook-openapi-"))
OPENAPI: dict[str, Any] = create_app(make_settings(_SCHEMA_DIR)).openapi()
shutil.rmtree(_SCHEMA_DIR, ignore_errors=True)

EXERCISES = ["full-ft-memory", "lora-adapter-params", "lora-trainable-percent", "nf4-levels-count", "qlora-70b-weights"]
# Ids are plain strings in the schema, so random ones would never reach a chapter or an
# exercise. The fuzzed copy names the real ones: positive cases then are valid requests
# (answered 2xx), negative ones invalid (refused). Answers are drawn as numbers with
# units, so they reach the grading code rather than stopping at "can't read that".
PARAMETER_HINTS: dict[tuple[str, str], dict[str, Any]] = {
    ("/api/chapters/{slug}", "slug"): {"type": "string", "enum": ["fine-tuning"]},
    ("/api/exercises/{exercise_id}/check", "exercise_id"): {"type": "string", "enum": EXERCISES},
    ("/api/exercises/{exercise_id}/variants", "exercise_id"): {"type": "string", "enum": EXERCISES},
}
ANSWER_HINT = {
    "type": "string",
    "maxLength": 200,
    "pattern": r"^-?[0-9]{1,6}(\.[0-9]{1,4})?(e[0-9]{1,2})? ?(GB|GiB|MB|bytes|k|M|B|%)?$",
}


def with_hints(openapi: dict[str, Any]) -> dict[str, Any]:
    """A copy of the schema whose ids and answers are drawn from real ones; responses untouched."""
    hinted = copy.deepcopy(openapi)
    for path, operations in hinted["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                hint = PARAMETER_HINTS.get((path, parameter["name"]))
                if hint is not None:
                    parameter["schema"] = dict(hint)
    hinted["components"]["schemas"]["CheckRequest"]["properties"]["answer"] = dict(ANSWER_HINT)
    # The test server has no GPU runner: "cuda" is refused (422, naming the device), like an unknown id.
    hinted["components"]["schemas"]["RunBody"]["properties"]["device"] = {"type": "string", "enum": ["cpu"]}
    # A variant id is signed by the server: a made-up one is rightly refused, so valid cases name none.
    hinted["components"]["schemas"]["CheckRequest"]["properties"]["variant"] = {"type": "null"}
    return hinted


schema = schemathesis.openapi.from_dict(with_hints(OPENAPI))
RUN_PATH = "/api/run"
# The runner executes every case in a sandbox: fewer of those.
EXAMPLES = 25
RUN_EXAMPLES = 8
FUZZ_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
    "print_blob": True,
}
ERROR_KEYS = {"error", "detail", "field"}


def expected_refusals(path: str) -> set[int]:
    """Non-2xx statuses that are a correct answer to some request of this operation."""
    # 400: a body that cannot be parsed at all; 405: a wrong method (the coverage phase tries them); 422: bad input
    statuses = {400, 405, 422}
    if "{" in path:
        statuses.add(404)  # an id that does not exist
    if path == RUN_PATH:
        statuses |= {413, 429}
    return statuses


def fresh_app(data_dir: Path) -> FastAPI:
    return create_app(make_settings(data_dir, runner_workers=2, runner_wall_s=2.0))


@pytest.fixture
def live_app(tmp_path: Path) -> Iterator[FastAPI]:
    app = fresh_app(tmp_path / "data")
    yield app
    # schemathesis' plugin ends the lifespans it started after each test; this is a backstop.
    schemathesis_asgi.shutdown_lifespans()


def is_valid_request(case: schemathesis.Case) -> bool:
    """A positive case of the hinted schema (negative ones, and hand-made cases, do not count)."""
    meta = case.meta
    return meta is not None and meta.generation.mode == schemathesis.GenerationMode.POSITIVE


def documented_statuses(case: schemathesis.Case) -> set[int]:
    return {int(code) for code in OPENAPI["paths"][case.operation.path][case.operation.method.lower()]["responses"]}


def check_response(case: schemathesis.Case, response: schemathesis.Response) -> None:
    status = response.status_code
    case.validate_response(response, checks=[not_a_server_error])
    if 200 <= status < 300 or status in documented_statuses(case):
        # Documented answers (errors too) have the documented content type and body.
        case.validate_response(
            response, checks=[status_code_conformance, content_type_conformance, response_schema_conformance]
        )
    if 200 <= status < 300:
        return
    if is_valid_request(case):
        # Valid by the hinted schema: only a busy runner may turn it away.
        assert status == 429 and case.operation.path == RUN_PATH, (
            f"a valid request was refused with {status}: {response.text[:300]}"
        )
    assert status in expected_refusals(case.operation.path), (
        f"{case.operation.label} answered {status}: {response.text[:300]}"
    )
    if status == 405:
        assert response.headers.get("allow"), "a 405 must say which methods are allowed"
        return
    body = response.json()
    assert set(body) <= ERROR_KEYS and isinstance(body.get("error"), str) and isinstance(body.get("detail"), str), body
    assert body["detail"].strip(), "a refusal must say what to fix"
    if status == 429:
        assert response.headers.get("retry-after", "").isdigit(), "a 429 must carry Retry-After"


@schema.exclude(path=RUN_PATH).parametrize()
@settings(max_examples=EXAMPLES, **FUZZ_SETTINGS)
def test_every_operation_answers_within_its_contract(case: schemathesis.Case, live_app: FastAPI) -> None:
    check_response(case, case.call(app=live_app))


@schema.include(path=RUN_PATH).parametrize()
@settings(max_examples=RUN_EXAMPLES, **FUZZ_SETTINGS)
def test_the_runner_answers_within_its_contract(case: schemathesis.Case, live_app: FastAPI) -> None:
    check_response(case, case.call(app=live_app))


def test_the_fuzzed_app_is_really_started(live_app: FastAPI) -> None:
    """The harness above reaches a started app: the sandbox runs code (so 5xx-free is meaningful)."""
    case = schema[RUN_PATH]["POST"].Case(body={"code": "print(6 * 7)"}, media_type="application/json")
    response = case.call(app=live_app)
    assert response.status_code == 200, response.text
    assert response.json()["stdout"] == "42\n"
    check_response(case, response)


def test_the_served_schema_is_the_one_fuzzed(live_app: FastAPI) -> None:
    with TestClient(live_app) as client:
        assert client.get("/openapi.json").json() == OPENAPI


# ---- regressions: where the app and its schema disagreed (fixed in e1662b6) ----------


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with TestClient(fresh_app(tmp_path_factory.mktemp("data")), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(
    ("status", "method", "path", "path_parameters", "request_kwargs"),
    [
        (
            422,
            "POST",
            "/api/exercises/{exercise_id}/check",
            {"exercise_id": "full-ft-memory"},
            {"url": "/api/exercises/full-ft-memory/check", "json": {}},
        ),
        (
            422,
            "GET",
            "/api/instruments/lora/matrix",
            {},
            {"url": "/api/instruments/lora/matrix", "params": {"d_in": "x", "d_out": 1, "r": 1}},
        ),
        (422, "GET", "/api/instruments/nf4", {}, {"url": "/api/instruments/nf4", "params": {"block_size": "7"}}),
        (422, "POST", RUN_PATH, {}, {"url": RUN_PATH, "json": {"code": 3}}),
        (404, "GET", "/api/chapters/{slug}", {"slug": "no-such-chapter"}, {"url": "/api/chapters/no-such-chapter"}),
        (
            404,
            "POST",
            "/api/exercises/{exercise_id}/check",
            {"exercise_id": "nope"},
            {"url": "/api/exercises/nope/check", "json": {"answer": "1"}},
        ),
    ],
)
def test_error_bodies_are_the_documented_ones(
    client: TestClient,
    status: int,
    method: str,
    path: str,
    path_parameters: dict[str, str],
    request_kwargs: dict[str, Any],
) -> None:
    """422 used to be documented as FastAPI's HTTPValidationError, and 404 not at all."""
    response = client.request(method, **request_kwargs)
    assert response.status_code == status, response.text
    case = schema[path][method].Case(path_parameters=path_parameters)
    case.validate_response(
        response, checks=[status_code_conformance, content_type_conformance, response_schema_conformance]
    )


@pytest.mark.parametrize(
    ("path", "param", "value"),
    [
        ("/api/instruments/nf4", "block_size", "abc"),
        ("/api/instruments/lora/matrix", "r", "0"),
        ("/api/instruments/vram", "seq_len", "-1"),
    ],
)
def test_the_schema_rejects_what_the_api_refuses(client: TestClient, path: str, param: str, value: str) -> None:
    """The instrument parameters used to be declared as any string; a refused value must be schema-invalid."""
    declared = next(p for p in OPENAPI["paths"][path]["get"]["parameters"] if p["name"] == param)["schema"]
    assert declared.get("type") == "integer" and ("enum" in declared or {"minimum", "maximum"} <= set(declared)), (
        declared
    )
    params = {"d_in": 4096, "d_out": 4096, "r": 8} if path.endswith("matrix") else {}
    assert client.get(path, params={**params, param: value}).status_code == 422


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (RUN_PATH, b'{"code": "print(\\"\\ud800\\")"}'),
        (RUN_PATH, b'{"code": "\\udfff"}'),
        ("/api/exercises/full-ft-memory/check", b'{"answer": "\\ud800 GB"}'),
    ],
)
def test_a_lone_surrogate_is_refused_not_a_500(client: TestClient, url: str, body: bytes) -> None:
    """JSON may escape a lone surrogate; it cannot be encoded as UTF-8 (POST /api/run used to answer 500)."""
    response = client.post(url, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"]
