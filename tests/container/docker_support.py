"""Driving the real Docker engine from tests: the engine, the image, containers, waiting.

Nothing here is mocked: `engine_or_skip_reason` starts dockerd through deploy/image.sh when
it may (root, Debian's docker.io installed or installable) and says plainly why not otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.server import free_port  # noqa: F401  (re-exported for the container tests)

ROOT = Path(__file__).resolve().parents[2]
IMAGE_SCRIPT = ROOT / "deploy" / "image.sh"
SECCOMP_PROFILE = ROOT / "build" / "seccomp-sandbox.json"
IMAGE = "textbook:latest"


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`docker ARGS`; with `check`, a failure names the command and what the engine said."""
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(
            f"`docker {' '.join(args)}` exited {result.returncode}:\n{result.stderr[-3000:]}{result.stdout[-1000:]}"
        )
    return result


# A file the test session's controller names (tests/conftest.py): a worker that had to start
# dockerd creates it, and the controller stops that dockerd when the whole session ends. A session
# that found an engine already running leaves it alone (another session's tests may be using it).
ENGINE_STARTED_MARK = "TEXTBOOK_TESTS_STARTED_DOCKERD"


def engine_or_skip_reason() -> str | None:
    """None when a Docker engine answers (started here if need be), else why the tests skip."""
    if shutil.which("docker") is None:
        return "no docker client (Debian: apt-get install docker.io); container tests skipped"
    result = subprocess.run(["bash", str(IMAGE_SCRIPT), "engine"], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        return f"no Docker engine reachable and none could be started: {result.stderr.strip()}"
    if result.stdout.strip() == "started" and os.environ.get(ENGINE_STARTED_MARK):
        Path(os.environ[ENGINE_STARTED_MARK]).touch()
    return None


def stop_engine_if_this_session_started_it(mark: Path) -> None:
    """Stop the dockerd `engine_or_skip_reason` started in this session (images stay on disk).

    Called once, when the whole test session ends (tests/conftest.py), never by a module: under
    `pytest -n 2` a module's teardown would stop the engine under another module's containers.
    """
    if mark.exists():
        subprocess.run(["bash", str(IMAGE_SCRIPT), "stop-engine"], capture_output=True, text=True, timeout=60)


def build_image() -> None:
    """`./dev image`'s build step (the suite's setup already made .venv and static/vendor)."""
    result = subprocess.run(["bash", str(IMAGE_SCRIPT), "build"], capture_output=True, text=True, timeout=1200)
    if result.returncode != 0:
        raise AssertionError(f"deploy/image.sh build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")


def run_flags() -> list[str]:
    """The hardening flags README's "Running the container image" section documents (host networking only)."""
    return [
        "--network",
        "host",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--security-opt",
        f"seccomp={SECCOMP_PROFILE}",
        "--read-only",
        "--tmpfs",
        "/tmp",
    ]


def inspect(container: str) -> dict:
    return json.loads(docker("inspect", container).stdout)[0]


def wait_healthy(container: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    status = "?"
    while time.monotonic() < deadline:
        state = inspect(container)["State"]
        if not state["Running"]:
            logs = docker("logs", container, check=False).stderr[-3000:]
            raise AssertionError(f"container stopped (exit {state['ExitCode']}):\n{logs}")
        status = state.get("Health", {}).get("Status", "none")
        if status == "healthy":
            return
        time.sleep(1)
    logs = docker("logs", container, check=False).stderr[-3000:]
    raise AssertionError(f"not healthy within {timeout_s} s (last status {status}):\n{logs}")


def http(
    method: str, url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()
