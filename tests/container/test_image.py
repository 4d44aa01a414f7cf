"""The image, built and run for real: health, full sandbox isolation, an answer that survives
a restart, a snippet with output and a figure, a non-root process, a clean SIGTERM stop.

Run by `./dev test` when a Docker engine answers or can be started (as root with Debian's
docker.io); skipped with the reason otherwise. Building reuses the cached base image,
wheelhouse and layers, so a second run costs little more than starting the container.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import uuid
from collections.abc import Iterator

import pytest

from tests.container.docker_support import (
    IMAGE,
    build_image,
    docker,
    engine_or_skip_reason,
    free_port,
    http,
    inspect,
    run_flags,
    wait_healthy,
)

# One worker owns the whole module (one build, one container) under `pytest -n 2 --dist loadgroup`.
pytestmark = [pytest.mark.container, pytest.mark.xdist_group("container")]

SLUG = "fine-tuning"
EXERCISE = "nf4-levels-count"
STOP_GRACE_S = 20


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    reason = engine_or_skip_reason()
    if reason:
        pytest.skip(reason)
    build_image()
    yield IMAGE


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[dict]:
    name = f"textbook-test-{uuid.uuid4().hex[:8]}"
    volume = f"{name}-data"
    port = free_port()
    docker("volume", "create", volume)
    docker(
        "run",
        "--detach",
        "--name",
        name,
        *run_flags(),
        "--env",
        f"TEXTBOOK_PORT={port}",
        "--env",
        "TEXTBOOK_HOST=127.0.0.1",
        "--volume",
        f"{volume}:/var/lib/textbook",
        "--stop-timeout",
        str(STOP_GRACE_S),
        image,
    )
    try:
        wait_healthy(name)
        yield {"name": name, "volume": volume, "base": f"http://127.0.0.1:{port}"}
    finally:
        docker("rm", "--force", "--volumes", name, check=False)
        docker("volume", "rm", "--force", volume, check=False)


def test_health_reports_full_sandbox_isolation(container: dict) -> None:
    status, _, body = http("GET", container["base"] + "/healthz")
    health = json.loads(body)
    assert status == 200, health
    assert health["status"] == "ok"
    assert health["parts"]["runner"]["level"] == "full", health["parts"]["runner"]
    # htmx and Swagger UI come with the textbook's wheel (the image copies nothing else of the checkout)
    assert health["parts"]["assets"] == {"ok": True, "missing": []}, health["parts"]["assets"]


def test_server_runs_as_the_unprivileged_user(container: dict) -> None:
    uid = docker(
        "exec", container["name"], "python3", "-c", "import os; print(os.stat('/proc/1').st_uid, os.getuid())"
    ).stdout.split()
    assert uid == ["10001", "10001"]
    caps = docker("exec", container["name"], "grep", "^CapEff", "/proc/1/status").stdout.split()[1]
    assert int(caps, 16) == 0, f"the server holds capabilities {caps}"


def test_snippet_runs_with_output_and_figure(container: dict) -> None:
    code = (
        "import numpy as np\nimport matplotlib.pyplot as plt\n"
        "x = np.arange(4)\nprint('sum', int(x.sum()))\nprint(np.__file__)\n"
        "plt.plot(x, x ** 2)\nplt.show()\n"
    )
    status, _, body = http(
        "POST",
        container["base"] + "/api/run",
        data=json.dumps({"code": code}).encode(),
        headers={"content-type": "application/json"},
    )
    result = json.loads(body)
    assert status == 200, result
    assert result["status"] == "ok", result
    assert "sum 6" in result["stdout"]
    # The launcher's runtime view works as uid 10001 without capabilities: NumPy is seen at a neutral path.
    assert "/mnt/textbook/venv/lib/" in result["stdout"], result["stdout"]
    assert len(result["figures"]) == 1 and result["figures"][0]["data"]


def test_answer_survives_a_restart_and_the_server_stops_cleanly(container: dict) -> None:
    base, name = container["base"], container["name"]
    form = urllib.parse.urlencode({"answer": "16"}).encode()
    status, headers, body = http(
        "POST",
        f"{base}/chapters/{SLUG}/exercises/{EXERCISE}",
        data=form,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert status == 200, body[-2000:]
    cookie = headers["set-cookie"].split(";", 1)[0]
    answered = re.compile(rf'id="ex-{EXERCISE}-answer"[^>]*value="16"', re.S)
    assert answered.search(body.decode())

    docker("restart", "--time", str(STOP_GRACE_S), name, timeout=STOP_GRACE_S + 60)
    wait_healthy(name)
    status, _, body = http("GET", f"{base}/chapters/{SLUG}", headers={"cookie": cookie})
    assert status == 200
    assert answered.search(body.decode()), "the saved answer is gone after a restart"

    started = time.monotonic()
    docker("stop", "--time", str(STOP_GRACE_S), name, timeout=STOP_GRACE_S + 60)
    took = time.monotonic() - started
    state = inspect(name)["State"]
    assert state["ExitCode"] == 0, f"exit code {state['ExitCode']} (137 means SIGKILL after the grace period)"
    assert took < STOP_GRACE_S, f"stop took {took:.1f} s"
    assert "Finished server process" in docker("logs", name).stderr
