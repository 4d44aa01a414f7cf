"""Benchmark: the web app's HTTP client of a runner service, httpx (before) against aiohttp (now).

Starts one real runner service on loopback, then times the same requests through both
clients, interleaved in rounds so machine noise hits both alike: `GET /v1/health` (the HTTP
hop with nothing else in it) and `POST /v1/run` of the LoRA-algebra snippet (the caller's
time minus the service's own `Server-Timing`: the HTTP hop of a real run). It prints the
client's CPU per request (`time.process_time`, which the machine's load hardly changes)
and wall-clock p50s, on uvloop where installed (the web app's loop).

    .venv/bin/python bench/runner_client.py [--requests 300]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import httpx  # noqa: E402

from bench.runner_remote import _run  # noqa: E402
from bench.server import runner_service_process  # noqa: E402
from bench.stats import percentile  # noqa: E402
from tests.runner.snippets import LORA_ALGEBRA  # noqa: E402

ROUNDS = 5
Call = Callable[[], Awaitable[float | None]]


async def _time(call: Call, count: int, cpu: list[float], wall: list[float]) -> None:
    """`count` calls; a call returns the part of its wall time to subtract (the run), or None."""
    started_cpu = time.process_time()
    for _ in range(count):
        started = time.perf_counter()
        inside = await call()
        wall.append((time.perf_counter() - started) * 1000 - (inside or 0.0))
    cpu.append((time.process_time() - started_cpu) * 1000 / count)


def _server_ms(headers: object, body: bytes) -> float:
    timing = headers.get("server-timing", "")  # type: ignore[attr-defined]
    if "merged == two-path    : True" not in json.loads(body)["stdout"]:
        raise RuntimeError(f"run went wrong: {body[:300]!r}")
    return float(timing.split("dur=", 1)[1])


async def _measure(url: str, token: str, requests: int) -> dict[str, dict[str, float]]:
    headers = {"Authorization": f"Bearer {token}"}
    run_body = {"code": LORA_ALGEBRA, "device": "cpu"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as hx, aiohttp.ClientSession(headers=headers) as ah:

        async def httpx_health() -> None:
            (await hx.get(f"{url}/v1/health")).raise_for_status()

        async def aiohttp_health() -> None:
            async with ah.get(f"{url}/v1/health") as answer:
                answer.raise_for_status()
                await answer.read()

        async def httpx_run() -> float:
            answer = await hx.post(f"{url}/v1/run", json=run_body)
            return _server_ms(answer.headers, answer.content)

        async def aiohttp_run() -> float:
            async with ah.post(f"{url}/v1/run", json=run_body) as answer:
                return _server_ms(answer.headers, await answer.read())

        calls: dict[str, Call] = {
            "httpx GET /v1/health": httpx_health,
            "aiohttp GET /v1/health": aiohttp_health,
            "httpx POST /v1/run (hop)": httpx_run,
            "aiohttp POST /v1/run (hop)": aiohttp_run,
        }
        cpu: dict[str, list[float]] = {name: [] for name in calls}
        wall: dict[str, list[float]] = {name: [] for name in calls}
        for call in calls.values():  # warm: connections open, code paths hot
            for _ in range(5):
                await call()
        for _ in range(ROUNDS):
            for name, call in calls.items():
                count = requests // ROUNDS if "health" in name else max(4, requests // ROUNDS // 5)
                await _time(call, count, cpu[name], wall[name])
    return {
        name: {"n": len(wall[name]), "cpu_ms": percentile(cpu[name], 50), "wall_p50_ms": percentile(wall[name], 50)}
        for name in calls
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="health requests per client (runs: a fifth)")
    args = parser.parse_args(argv)
    token = secrets.token_hex(16)
    with runner_service_process(token, TEXTBOOK_RUNNER_WORKERS="2") as (_, url):
        results = _run(_measure(url, token, args.requests))
    print(f"{'request':<30}{'n':>5}{'client CPU ms/req':>19}{'wall p50 ms':>13}")
    for name, stats in results.items():
        print(f"{name:<30}{stats['n']:>5}{stats['cpu_ms']:>19.3f}{stats['wall_p50_ms']:>13.3f}")
    for kind in ("GET /v1/health", "POST /v1/run (hop)"):
        before, now = results[f"httpx {kind}"], results[f"aiohttp {kind}"]
        print(
            f"{kind}: aiohttp/httpx client CPU {now['cpu_ms'] / before['cpu_ms']:.2f}x, "
            f"wall p50 {now['wall_p50_ms'] / before['wall_p50_ms']:.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
