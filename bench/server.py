"""Start the real app under uvicorn on a free loopback port, for benchmarks and load tests."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


# Listening ports are drawn below the kernel's ephemeral range (32768-60999 by default), which
# outgoing connections take their local ports from: a port picked here and bound minutes later
# (a container build in between) cannot meanwhile have become the local end of one of the
# thousands of client connections the load tests open.
LISTEN_PORTS = range(20000, 32768)


def free_port() -> int:
    """A loopback port nothing listens on now, outside the ephemeral range."""
    chooser = random.SystemRandom()
    for _ in range(200):
        port = chooser.choice(LISTEN_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {LISTEN_PORTS}")


@contextmanager
def server_process(
    data_dir: Path, wrapper: Sequence[str] = (), **env: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Yield a real `textbook serve` process (in a session of its own) and its base URL; stop it afterwards.

    `wrapper` is a command the server is started through (a test's restricted host, say).
    """
    port = free_port()
    environment = {
        **os.environ,
        "TEXTBOOK_PORT": str(port),
        "TEXTBOOK_DATA_DIR": str(data_dir),
        "TEXTBOOK_LOG_LEVEL": "warning",
        **env,
    }
    command = [*wrapper, sys.executable, "-m", "app.cli", "serve"]
    process = subprocess.Popen(command, cwd=ROOT, env=environment, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        yield process, base
    finally:
        stop_process(process)


@contextmanager
def running_server(data_dir: Path, **env: str) -> Iterator[str]:
    """Yield the base URL of a real `textbook serve` process; stop it afterwards."""
    with server_process(data_dir, **env) as (_, base):
        yield base


def start_runner_service(
    port: int, token: str | None, *, host: str = "127.0.0.1", **env: str
) -> subprocess.Popen[bytes]:
    """Start a real `textbook runner serve` process (in a session of its own); does not wait for it."""
    environment = {**os.environ, "TEXTBOOK_LOG_LEVEL": "warning", **env}
    environment.pop("TEXTBOOK_RUNNER_TOKEN", None)
    environment.pop("TEXTBOOK_RUNNER_URLS", None)
    if token is not None:
        environment["TEXTBOOK_RUNNER_TOKEN"] = token
    command = [sys.executable, "-m", "app.cli", "runner", "serve", "--host", host, "--port", str(port)]
    return subprocess.Popen(command, cwd=ROOT, env=environment, start_new_session=True)


def wait_for_runner_service(
    process: subprocess.Popen[bytes], base: str, token: str | None, timeout_s: float = 60
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(f"{base}/v1/health", headers=headers, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the runner service did not start")
        time.sleep(0.1)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def runner_service_process(
    token: str | None, port: int | None = None, **env: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Yield a real, started runner service on loopback and its base URL; stop it afterwards."""
    port = port or free_port()
    process = start_runner_service(port, token, **env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_runner_service(process, base, token)
        yield process, base
    finally:
        stop_process(process)
