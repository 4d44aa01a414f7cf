"""Helpers for tests that run a small fleet: runner services and a web app, all real processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.server import free_port, server_process, start_runner_service, stop_process, wait_for_runner_service
from tests.fleet.conftest import RUNNER_ENV, TOKEN


@dataclass
class Runner:
    port: int
    token: str | None
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = start_runner_service(self.port, self.token, **self.env)

    def wait(self) -> None:
        assert self.process is not None
        wait_for_runner_service(self.process, self.url, self.token)

    def kill(self) -> None:
        """SIGKILL the service process (its sandbox template dies with it)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def health(self) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.get(f"{self.url}/v1/health", headers=headers, timeout=5).json()


@dataclass
class Fleet:
    web: str
    runners: list[Runner] = field(default_factory=list)

    def runner_states(self) -> dict[str, dict[str, Any]]:
        body = httpx.get(f"{self.web}/healthz", timeout=5).json()
        return {item["url"]: item for item in body["parts"]["runner"]["runners"]}

    def wait_until(self, runner: Runner, state: str, timeout_s: float = 30) -> float:
        """Seconds until the web app reports this runner in `state`."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            if self.runner_states()[runner.url]["state"] == state:
                return time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"{runner.url} not {state} after {timeout_s} s: {self.runner_states()[runner.url]}")

    def our_runs(self, runner: Runner) -> int:
        return int(self.runner_states()[runner.url]["our_runs"])


@contextmanager
def fleet(
    tmp_path: Path, runner_count: int, *, wrong_token_runners: int = 0, runner_env: dict[str, str] | None = None
) -> Iterator[Fleet]:
    """Start runners (and runners holding another token) and a web app listing them all; stop everything after."""
    env = {**RUNNER_ENV, **(runner_env or {})}
    runners = [Runner(free_port(), TOKEN, env) for _ in range(runner_count)]
    strangers = [Runner(free_port(), "another-token-entirely-0123", env) for _ in range(wrong_token_runners)]
    with ExitStack() as stack:
        for runner in [*runners, *strangers]:
            runner.start()
            stack.callback(runner.stop)
        urls = ",".join(runner.url for runner in [*runners, *strangers])
        web_env = {
            "TEXTBOOK_SECRET_KEY": "fleet-test",
            "TEXTBOOK_RUNNER_URLS": urls,
            "TEXTBOOK_RUNNER_TOKEN": TOKEN,
            "TEXTBOOK_RUNNER_HEALTH_INTERVAL_S": "1",
            "TEXTBOOK_RUNNER_WALL_S": env["TEXTBOOK_RUNNER_WALL_S"],
        }
        _, web = stack.enter_context(server_process(tmp_path, **web_env))
        for runner in [*runners, *strangers]:
            runner.wait()
        result = Fleet(web, runners + strangers)
        for runner in runners:
            result.wait_until(runner, "up")
        yield result


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    seconds: float
    retry_after: str | None


async def burst(
    web: str, codes: list[str], *, during: Any = None, after_s: float = 0.0, timeout_s: float = 60
) -> list[Answer]:
    """POST every code to /api/run at once; `during()` is called `after_s` into the burst. Answers in order."""

    async def one(client: httpx.AsyncClient, code: str) -> Answer:
        started = time.monotonic()
        response = await client.post(f"{web}/api/run", json={"code": code})
        return Answer(
            response.status_code, response.json(), time.monotonic() - started, response.headers.get("retry-after")
        )

    async def trigger() -> None:
        await asyncio.sleep(after_s)
        await asyncio.to_thread(during)

    limits = httpx.Limits(max_connections=len(codes) + 4)
    async with httpx.AsyncClient(timeout=timeout_s, limits=limits) as client:
        tasks = [asyncio.create_task(one(client, code)) for code in codes]
        if during is not None:
            await trigger()
        return list(await asyncio.gather(*tasks))
