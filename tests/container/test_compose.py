"""deploy/compose.yaml brought up for real with Debian's docker-compose: PostgreSQL (built
from Debian's packages), the migration step, two replicas and HAProxy, on the host network.
An answer given through the balancer is seen by both replicas; then everything is torn down.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.parse
import uuid
from collections.abc import Iterator

import pytest

from tests.container.docker_support import (
    ROOT,
    build_image,
    engine_or_skip_reason,
    free_port,
    http,
    stop_engine_if_started,
)

pytestmark = [pytest.mark.container, pytest.mark.xdist_group("container")]

COMPOSE_FILE = ROOT / "deploy" / "compose.yaml"
EXERCISE = "nf4-levels-count"


def compose(
    env: dict[str, str], *args: str, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker-compose", "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def stack_state(env: dict[str, str]) -> str:
    """`ps` and the last lines of every service's log, for a failure message."""
    ps = compose(env, "ps", check=False)
    logs = compose(env, "logs", "--no-color", "--tail", "60", check=False)
    return f"{ps.stdout}{ps.stderr}\n{logs.stdout[-8000:]}{logs.stderr[-2000:]}"


def wait_for(url: str, env: dict[str, str], timeout_s: float = 180) -> dict:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            status, _, body = http("GET", url, timeout=5)
            last = (status, body[:500])
            if status == 200:
                return json.loads(body)
        except OSError as error:
            last = error
        time.sleep(1)
    raise AssertionError(f"{url} not ready within {timeout_s} s: {last}\n{stack_state(env)}")


@pytest.fixture(scope="module")
def stack() -> Iterator[dict]:
    reason = engine_or_skip_reason()
    if reason:
        pytest.skip(reason)
    if shutil.which("docker-compose") is None:
        pytest.skip("no docker-compose (Debian: apt-get install docker-compose); compose test skipped")
    project = f"textbook-test-{uuid.uuid4().hex[:8]}"
    ports = {
        name: str(free_port())
        for name in ("TEXTBOOK_BALANCER_PORT", "TEXTBOOK_APP1_PORT", "TEXTBOOK_APP2_PORT", "TEXTBOOK_PG_PORT")
    }
    env = {
        **os.environ,
        **ports,
        "COMPOSE_PROJECT_NAME": project,
        "TEXTBOOK_SECRET_KEY": uuid.uuid4().hex,
        "TEXTBOOK_DB_PASSWORD": uuid.uuid4().hex,
    }
    try:
        build_image()
        compose(env, "build", "--quiet", timeout=900)
        up = compose(env, "up", "--detach", check=False)
        assert up.returncode == 0, (
            up.stdout + up.stderr + compose(env, "logs", "--no-color", check=False).stdout[-5000:]
        )
        yield {
            "env": env,
            "balancer": f"http://127.0.0.1:{ports['TEXTBOOK_BALANCER_PORT']}",
            "replicas": [
                f"http://127.0.0.1:{ports['TEXTBOOK_APP1_PORT']}",
                f"http://127.0.0.1:{ports['TEXTBOOK_APP2_PORT']}",
            ],
        }
    finally:
        compose(env, "down", "--volumes", "--remove-orphans", "--timeout", "30", check=False)
        stop_engine_if_started()


def test_the_migration_ran_once_and_succeeded(stack: dict) -> None:
    container = compose(stack["env"], "ps", "-q", "migrate").stdout.strip()
    state = json.loads(
        subprocess.run(["docker", "inspect", container], capture_output=True, text=True, check=True).stdout
    )[0]["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 0, state


def test_both_replicas_are_ready_on_postgresql_with_full_isolation(stack: dict) -> None:
    for base in stack["replicas"]:
        wait_for(base + "/readyz", stack["env"])
        health = wait_for(base + "/healthz", stack["env"])
        assert health["parts"]["database"]["backend"] == "postgresql", health
        assert health["parts"]["runner"]["level"] == "full", health["parts"]["runner"]


def test_an_answer_through_the_balancer_is_seen_by_every_replica(stack: dict) -> None:
    balancer = stack["balancer"]
    wait_for(balancer + "/readyz", stack["env"])
    form = urllib.parse.urlencode({"answer": "16"}).encode()
    status, headers, body = http(
        "POST",
        f"{balancer}/chapters/fine-tuning/exercises/{EXERCISE}",
        data=form,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert status == 200, body[-2000:]
    assert headers.get("x-request-id"), "the balancer sets X-Request-ID"
    cookie = headers["set-cookie"].split(";", 1)[0]
    answered = re.compile(rf'id="ex-{EXERCISE}-answer"[^>]*value="16"', re.S)
    for base in [*stack["replicas"], balancer, balancer]:
        try:
            status, _, body = http("GET", f"{base}/chapters/fine-tuning", headers={"cookie": cookie})
        except OSError as error:
            raise AssertionError(f"{base}: {error}\n{stack_state(stack['env'])}") from error
        assert status == 200 and answered.search(body.decode()), f"{base} does not show the saved answer"
