"""deploy/compose.yaml brought up for real with Debian's docker-compose: PostgreSQL (built
from Debian's packages), the migration step, two runner services, two replicas and HAProxy,
on the host network. An answer given through the balancer is seen by both replicas; a snippet
run through the balancer runs on a runner service (which holds no database URL and no secret
key), not in a replica; then everything is torn down.
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
)

pytestmark = [pytest.mark.container, pytest.mark.xdist_group("container")]

COMPOSE_FILE = ROOT / "deploy" / "compose.yaml"
EXERCISE = "nf4-levels-count"
SNIPPET = "lora-algebra"
SNIPPET_OUTPUT = "merged == two-path    : True"
PORT_VARIABLES = (
    "TEXTBOOK_BALANCER_PORT",
    "TEXTBOOK_APP1_PORT",
    "TEXTBOOK_APP2_PORT",
    "TEXTBOOK_RUNNER1_PORT",
    "TEXTBOOK_RUNNER2_PORT",
    "TEXTBOOK_PG_PORT",
)
SECRETS = ("TEXTBOOK_SECRET_KEY", "TEXTBOOK_DB_PASSWORD", "TEXTBOOK_DATABASE_URL")


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


def distinct_free_ports(names: tuple[str, ...]) -> dict[str, str]:
    """One free port per variable, no two the same (free_port draws each on its own)."""
    ports: set[int] = set()
    while len(ports) < len(names):
        ports.add(free_port())
    return {name: str(port) for name, port in zip(names, sorted(ports), strict=True)}


def container(env: dict[str, str], service: str) -> dict:
    """`docker inspect` of one service's container."""
    identifier = compose(env, "ps", "-q", service).stdout.strip()
    inspected = subprocess.run(["docker", "inspect", identifier], capture_output=True, text=True, check=True)
    return json.loads(inspected.stdout)[0]


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
    ports = distinct_free_ports(PORT_VARIABLES)
    env = {
        **os.environ,
        **ports,
        "COMPOSE_PROJECT_NAME": project,
        "TEXTBOOK_SECRET_KEY": uuid.uuid4().hex,
        "TEXTBOOK_DB_PASSWORD": uuid.uuid4().hex,
        "TEXTBOOK_RUNNER_TOKEN": uuid.uuid4().hex,
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
            "runners": [
                f"http://127.0.0.1:{ports['TEXTBOOK_RUNNER1_PORT']}",
                f"http://127.0.0.1:{ports['TEXTBOOK_RUNNER2_PORT']}",
            ],
        }
    finally:
        compose(env, "down", "--volumes", "--remove-orphans", "--timeout", "30", check=False)


def test_the_migration_ran_once_and_succeeded(stack: dict) -> None:
    state = container(stack["env"], "migrate")["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 0, state


def runners_seen_by(base: str, env: dict[str, str], timeout_s: float = 120) -> dict:
    """A replica's /healthz runner part once it sees both runner services up (or the last one seen)."""
    deadline = time.monotonic() + timeout_s
    while True:
        runner = wait_for(base + "/healthz", env)["parts"]["runner"]
        if runner.get("reachable") == 2 or time.monotonic() > deadline:
            return runner
        time.sleep(1)


def test_both_replicas_are_ready_on_postgresql_and_run_code_on_both_remote_runners(stack: dict) -> None:
    for base in stack["replicas"]:
        wait_for(base + "/readyz", stack["env"])
        health = wait_for(base + "/healthz", stack["env"])
        assert health["parts"]["database"]["backend"] == "postgresql", health
        runner = runners_seen_by(base, stack["env"])
        assert runner["mode"] == "remote" and runner["reachable"] == 2, f"{runner}\n{stack_state(stack['env'])}"
        assert runner["level"] == "full", runner
        assert sorted(item["url"] for item in runner["runners"]) == sorted(stack["runners"]), runner
        for item in runner["runners"]:
            assert item["state"] == "up" and item["level"] == "full", item


def test_only_the_runners_hold_the_sandbox_profile_and_no_runner_holds_a_secret(stack: dict) -> None:
    env = stack["env"]
    for service in ("runner1", "runner2", "app1", "app2"):
        inspected = container(env, service)
        host = inspected["HostConfig"]
        assert host["CapDrop"] == ["ALL"] and host["ReadonlyRootfs"] is True, (service, host)
        assert "no-new-privileges" in host["SecurityOpt"], (service, host["SecurityOpt"])
        custom_seccomp = any(option.startswith("seccomp") for option in host["SecurityOpt"])
        variables = dict(item.split("=", 1) for item in inspected["Config"]["Env"])
        if service.startswith("runner"):
            assert custom_seccomp, f"{service} needs the sandbox's profile"
            assert variables["TEXTBOOK_RUNNER_TOKEN"] == env["TEXTBOOK_RUNNER_TOKEN"]
            assert not set(variables) & set(SECRETS), f"{service} holds {set(variables) & set(SECRETS)}"
            assert env["TEXTBOOK_SECRET_KEY"] not in json.dumps(variables)
            assert env["TEXTBOOK_DB_PASSWORD"] not in json.dumps(variables)
            stored = [mount for mount in inspected["Mounts"] if mount["Type"] in ("volume", "bind")]
            assert not stored, f"{service} keeps files: {stored}"
            assert "/var/lib/textbook" in host["Tmpfs"], host["Tmpfs"]
        else:
            assert not custom_seccomp, f"{service} runs no code: Docker's default seccomp profile is enough"
            assert variables["TEXTBOOK_RUNNER_URLS"] == ",".join(stack["runners"])


def test_the_runner_containers_pass_their_health_check(stack: dict) -> None:
    """`textbook runner health` inside each runner container (every 10 s) finds it answering."""
    deadline = time.monotonic() + 120
    states = {}
    while time.monotonic() < deadline:
        states = {service: container(stack["env"], service)["State"] for service in ("runner1", "runner2")}
        if all(state.get("Health", {}).get("Status") == "healthy" for state in states.values()):
            return
        time.sleep(2)
    raise AssertionError(f"runner health checks: {states}\n{stack_state(stack['env'])}")


def runner_runs(stack: dict) -> list[int]:
    """How many runs each runner service has started, from its own authenticated /v1/health."""
    counts = []
    for base in stack["runners"]:
        status, _, body = http(
            "GET", base + "/v1/health", headers={"authorization": f"Bearer {stack['env']['TEXTBOOK_RUNNER_TOKEN']}"}
        )
        assert status == 200, body[:500]
        counts.append(json.loads(body)["runs"])
    return counts


def test_a_snippet_run_through_the_balancer_runs_on_a_runner_service(stack: dict) -> None:
    balancer = stack["balancer"]
    wait_for(balancer + "/readyz", stack["env"])
    for base in stack["replicas"]:
        assert runners_seen_by(base, stack["env"])["reachable"] == 2
    status, _, _ = http("GET", stack["runners"][0] + "/v1/health")
    assert status == 401, "a runner service answers nobody without the token"
    before = runner_runs(stack)
    # The way the page runs it (HTMX posts the snippet's form), and the JSON API.
    status, _, body = http(
        "POST",
        f"{balancer}/chapters/fine-tuning/snippets/{SNIPPET}",
        data=urllib.parse.urlencode({"action": "run"}).encode(),
        headers={"content-type": "application/x-www-form-urlencoded", "hx-request": "true"},
    )
    assert status == 200 and SNIPPET_OUTPUT in body.decode(), body[-2000:]
    code = "import numpy as np\nprint('sum', int(np.arange(10).sum()))\nplot_xy([0, 1, 2], [0, 1, 4])"
    status, _, body = http(
        "POST",
        f"{balancer}/api/run",
        data=json.dumps({"code": code}).encode(),
        headers={"content-type": "application/json"},
    )
    result = json.loads(body)
    assert status == 200 and result["status"] == "ok", result
    assert result["stdout"] == "sum 45\n" and result["figures"][0]["mime"] == "image/png", result
    after = runner_runs(stack)
    assert sum(after) - sum(before) == 2, f"runs per runner before {before}, after {after}"


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
