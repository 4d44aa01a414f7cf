"""The runner service on its own: token, health, refusals, the same results as the in-process pool."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from bench.server import ROOT, free_port, runner_service_process
from tests.fleet.conftest import RUNNER_ENV, TOKEN, auth
from tests.runner.snippets import LORA_ALGEBRA


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    with runner_service_process(TOKEN, **RUNNER_ENV) as (_, base):
        yield base


def test_a_runner_service_runs_code_and_reports_its_health(service: str) -> None:
    base = service
    before = httpx.get(f"{base}/v1/health", headers=auth()).json()["runs"]
    health = httpx.get(f"{base}/v1/health", headers=auth()).json()
    assert health["level"] == "full"
    assert health["devices"] == ["cpu"] and health["device"] == "cpu"
    assert health["capacity"] == 2 and health["queue"] == 32 and health["in_flight"] == 0
    assert health["limits"]["wall_s"] == 2.0
    ran = httpx.post(f"{base}/v1/run", json={"code": LORA_ALGEBRA}, headers=auth(), timeout=30).json()
    assert ran["status"] == "ok" and "merged == two-path    : True" in ran["stdout"]
    assert ran["device"] == "cpu"
    figure = httpx.post(
        f"{base}/v1/run", json={"code": "plot_xy([0, 1, 2], [0, 1, 4])"}, headers=auth(), timeout=30
    ).json()
    assert figure["status"] == "ok" and figure["figures"][0]["mime"] == "image/png"
    error = httpx.post(f"{base}/v1/run", json={"code": "1 / 0"}, headers=auth(), timeout=30).json()
    assert error["status"] == "error" and "ZeroDivisionError" in error["stderr"]
    assert httpx.get(f"{base}/v1/health", headers=auth()).json()["runs"] == before + 3


def test_without_the_right_token_every_request_is_refused_quickly(service: str) -> None:
    base = service
    before = httpx.get(f"{base}/v1/health", headers=auth()).json()["runs"]
    wrong = [
        {},
        {"Authorization": "Bearer not-the-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
    ]
    for headers in wrong:
        started = time.monotonic()
        run = httpx.post(f"{base}/v1/run", json={"code": "print(1)"}, headers=headers, timeout=5)
        health = httpx.get(f"{base}/v1/health", headers=headers, timeout=5)
        assert time.monotonic() - started < 2
        assert run.status_code == 401 and health.status_code == 401
        assert run.headers["www-authenticate"] == "Bearer"
    assert httpx.get(f"{base}/v1/health", headers=auth()).json()["runs"] == before  # nothing ran


def test_bad_requests_get_a_4xx_with_a_reason(service: str) -> None:
    base = service
    cases = [
        ({"code": "print(1)", "device": "tpu"}, 422),
        ({"code": 7}, 422),
        ({"source": "print(1)"}, 422),
        ({"code": "print(1)", "device": "cuda"}, 422),  # no GPU on this host
        ({"code": "x = 1\n" * 5000}, 422),  # over the 20 KB code limit
    ]
    for body, status in cases:
        answer = httpx.post(f"{base}/v1/run", json=body, headers=auth(), timeout=10)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["detail"]
    too_big = httpx.post(
        f"{base}/v1/run", content=b"x" * 300_000, headers={**auth(), "content-type": "application/json"}
    )
    assert too_big.status_code == 413


def test_a_full_runner_answers_429_with_retry_after() -> None:
    env = {**RUNNER_ENV, "TEXTBOOK_RUNNER_WORKERS": "1", "TEXTBOOK_RUNNER_QUEUE": "0"}
    with runner_service_process(TOKEN, **env) as (_, base):

        def run() -> httpx.Response:
            return httpx.post(
                f"{base}/v1/run", json={"code": "import time; time.sleep(1.0)"}, headers=auth(), timeout=20
            )

        with concurrent.futures.ThreadPoolExecutor(4) as threads:
            answers = list(threads.map(lambda _: run(), range(4)))
        statuses = sorted(answer.status_code for answer in answers)
        assert 200 in statuses and 429 in statuses, statuses
        assert set(statuses) <= {200, 429}
        for answer in answers:
            if answer.status_code == 429:
                assert int(answer.headers["retry-after"]) >= 1


def test_it_refuses_to_listen_beyond_loopback_without_a_token() -> None:
    command = [sys.executable, "-m", "app.cli", "runner", "serve", "--host", "0.0.0.0", "--port", str(free_port())]
    environment = {**os.environ, **RUNNER_ENV}
    environment.pop("TEXTBOOK_RUNNER_TOKEN", None)
    done = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "without a token" in done.stderr
    short = subprocess.run(
        command,
        cwd=ROOT,
        env={**environment, "TEXTBOOK_RUNNER_TOKEN": "short"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert short.returncode == 2 and "at least" in short.stderr


def test_on_loopback_it_serves_without_a_token() -> None:
    with runner_service_process(None, **RUNNER_ENV) as (_, base):
        assert httpx.post(f"{base}/v1/run", json={"code": "print(6 * 7)"}, timeout=30).json()["stdout"] == "42\n"


def test_the_health_probe_exits_0_only_for_a_runner_that_answers_our_token(service: str) -> None:
    """`textbook runner health` (the compose health check and the Kubernetes exec probe)."""

    def probe(url: str, token: str | None) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, **RUNNER_ENV}
        environment.pop("TEXTBOOK_RUNNER_TOKEN", None)
        if token is not None:
            environment["TEXTBOOK_RUNNER_TOKEN"] = token
        command = [sys.executable, "-m", "app.cli", "runner", "health", "--url", url]
        return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=30)

    answered = probe(service, TOKEN)
    assert answered.returncode == 0 and "isolation full" in answered.stdout, answered
    refused = probe(service, "x" * 32)
    assert refused.returncode == 1 and "HTTP 401" in refused.stderr, refused
    nobody = probe(f"http://127.0.0.1:{free_port()}", TOKEN)
    assert nobody.returncode == 1 and "refused" in nobody.stderr.lower(), nobody
