"""`RemoteRunners`: the web app's client of the runner services in `TEXTBOOK_RUNNER_URLS`.

One pooled `aiohttp.ClientSession` (connections kept alive and reused; a shorter idle expiry
than the service's keep-alive, so we never write into a connection the service closed).
aiohttp rather than httpx: its C parser makes the hop about a quarter of httpx's client CPU
(BENCHMARKS.md, "The runner over the network").
A background task checks every runner's `/v1/health` (endpoints.py decides how often);
runs go to an `up` runner, the least loaded first.

A run is retried once, on a different runner, only when it certainly never started there:
the connection could not be opened, or the runner answered 429 (full), 401/403 (our token)
or 503 (cannot run code). Once the request may have reached a runner's pool (a reset or a
timeout while waiting for the answer), the run is never sent again: the student gets a 503
and runs it again if they wish.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from app.runner.protocol import (
    InvalidRequest,
    IsolationReport,
    RunnerBusy,
    RunnerError,
    RunnerLimits,
    RunRequest,
    RunResult,
    SandboxUnavailable,
)

from .endpoints import EndpointChooser, RunnerEndpoint
from .wire import MalformedResult, result_from_json, run_request_json

log = logging.getLogger("textbook.fleet")

CONNECT_TIMEOUT_S = 1.0
HEALTH_TIMEOUT_S = 2.0
KEEPALIVE_EXPIRY_S = 2.0  # below the runner service's keep-alive (30 s): we close idle connections first
TICK_S = 0.1
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_JSON = {"Content-Type": "application/json"}


class RunnerUnreachable(RunnerError):
    """No runner service answers (or none that can run this device); `reason` says which and why."""

    status = 503

    def describe(self, reason: str) -> str:
        return (
            "No code runner is reachable right now, so code cannot run; the rest of the chapter works. "
            "Try again in a minute."
        )


class RunLost(RunnerError):
    """The run reached a runner that then failed to answer; it is not sent again."""

    status = 503

    def describe(self, reason: str) -> str:
        return "The code runner stopped answering during this run, so it has no result. Run it again."


class _NeverStarted(Exception):
    def __init__(self, error: RunnerError) -> None:
        super().__init__(str(error))
        self.error = error


class RemoteRunners:
    def __init__(
        self,
        urls: list[str],
        token: str | None,
        limits: RunnerLimits,
        *,
        health_interval_s: float = 2.0,
    ) -> None:
        self.endpoints = [RunnerEndpoint(url) for url in urls]
        self._token = token
        self._fallback_limits = limits
        self._interval_s = health_interval_s
        self._chooser = EndpointChooser()
        self._client: aiohttp.ClientSession | None = None
        self._checker: asyncio.Task[None] | None = None
        self._checking: set[str] = set()
        self._room = asyncio.Condition()  # notified when a slot frees or a runner's state changes
        self._waiting = 0
        self._closed = False

    # -- the CodeRunner interface ---------------------------------------------

    @property
    def limits(self) -> RunnerLimits:
        for endpoint in self.endpoints:
            if endpoint.state == "up" and endpoint.limits is not None:
                return endpoint.limits
        return self._fallback_limits

    @property
    def reachable(self) -> bool:
        return any(endpoint.state == "up" for endpoint in self.endpoints)

    @property
    def isolation(self) -> IsolationReport:
        up = [endpoint for endpoint in self.endpoints if endpoint.state == "up"]
        if not up:
            return IsolationReport("none", [f"no code runner is reachable ({self._summary()})"])
        unsafe = [endpoint for endpoint in up if endpoint.isolation.level == "unsafe"]
        chosen = unsafe[0] if unsafe else up[0]  # the weakest isolation a run may get is the one to show
        return IsolationReport(
            chosen.isolation.level,
            [*chosen.isolation.details, f"{len(up)} of {len(self.endpoints)} runner services up"],
        )

    @property
    def devices(self) -> tuple[str, ...]:
        found = {device for endpoint in self.endpoints if endpoint.state == "up" for device in endpoint.devices}
        return tuple(device for device in ("cpu", "cuda") if device in found) or ("cpu",)

    @property
    def is_up(self) -> bool:
        return self._client is not None and not self._closed

    async def start(self) -> IsolationReport:
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=KEEPALIVE_EXPIRY_S)
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        self._client = aiohttp.ClientSession(
            connector=connector,
            headers=headers,
            timeout=self._timeout(self._run_timeout_s()),
            cookie_jar=aiohttp.DummyCookieJar(),  # a runner sets nothing we would keep
        )
        await asyncio.gather(*(self._check(endpoint) for endpoint in self.endpoints))
        self._checker = asyncio.create_task(self._keep_checking())
        for endpoint in self.endpoints:
            log.info("runner %s: %s (%s)", endpoint.url, endpoint.state, endpoint.reason)
        return self.isolation

    async def close(self) -> None:
        self._closed = True
        if self._checker is not None:
            self._checker.cancel()
            await asyncio.gather(self._checker, return_exceptions=True)
        if self._client is not None:
            await self._client.close()

    async def run(self, request: RunRequest) -> RunResult:
        if self._client is None or self._closed:
            raise RunnerError("the code runner client is not running")
        tried: set[str] = set()
        refusals: list[RunnerError] = []
        for _ in range(2):  # the first runner, and at most one other when the run never started there
            endpoint = await self._slot(request.device, tried)
            if endpoint is None:
                break
            tried.add(endpoint.url)
            try:
                return await self._run_on(endpoint, request)
            except _NeverStarted as refused:
                refusals.append(refused.error)
        raise self._best_refusal(refusals, request.device)

    def health(self) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "mode": "remote",
            **self.isolation.to_dict(),
            "reachable": sum(endpoint.state == "up" for endpoint in self.endpoints),
            "configured": len(self.endpoints),
            "devices": list(self.devices),
            "runners": [endpoint.describe(now) for endpoint in self.endpoints],
        }

    # -- waiting for a free slot ----------------------------------------------

    async def _slot(self, device: str, exclude: set[str]) -> RunnerEndpoint | None:
        """An up runner with a free slot (its outstanding count already taken), waiting in line if all are full.

        None when no runner for `device` is up (beyond `exclude`). RunnerBusy when as many runs
        already wait here as the up runners would queue, or when no slot frees in time.
        """
        endpoint = self._chooser.choose(self.endpoints, device, exclude)
        if endpoint is not None or not self._any_serving(device, exclude):
            return self._took(endpoint)
        line = sum(e.queue for e in self.endpoints if e.serves(device) and e.url not in exclude)
        if self._waiting >= line:
            raise RunnerBusy(retry_after_s=self._retry_after_s())
        self._waiting += 1
        try:
            async with self._room:
                await asyncio.wait_for(
                    self._room.wait_for(
                        lambda: (
                            self._chooser.choose(self.endpoints, device, exclude) is not None
                            or not self._any_serving(device, exclude)
                        )
                    ),
                    self._run_timeout_s(),
                )
        except TimeoutError:
            raise RunnerBusy(retry_after_s=self._retry_after_s()) from None
        finally:
            self._waiting -= 1
        return self._took(self._chooser.choose(self.endpoints, device, exclude))

    @staticmethod
    def _took(endpoint: RunnerEndpoint | None) -> RunnerEndpoint | None:
        if endpoint is not None:
            endpoint.outstanding += 1  # in the same step as the choice: no other run can take the slot
        return endpoint

    def _any_serving(self, device: str, exclude: set[str]) -> bool:
        return any(e.serves(device) and e.url not in exclude for e in self.endpoints)

    def _retry_after_s(self) -> float:
        return max(1.0, round(self.limits.wall_s / 2))

    async def _room_changed(self) -> None:
        async with self._room:
            self._room.notify_all()

    # -- one run on one runner ------------------------------------------------

    async def _run_on(self, endpoint: RunnerEndpoint, request: RunRequest) -> RunResult:
        assert self._client is not None
        try:  # the caller took the slot (_slot); it is given back here whatever happens
            try:
                async with self._client.post(
                    f"{endpoint.url}/v1/run",
                    data=json.dumps(run_request_json(request.code, request.device)).encode(),
                    headers=_JSON,
                ) as response:
                    body = await _read_capped(response)
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                # Nothing was sent (no connection, or none free in time): the run may go elsewhere.
                endpoint.mark_down(f"cannot connect: {_describe(exc)}", time.monotonic(), self._interval_s)
                raise _NeverStarted(RunnerUnreachable(f"{endpoint.url}: {_describe(exc)}")) from exc
            except TimeoutError as exc:  # aiohttp's read timeout is one too
                endpoint.check_soon(time.monotonic())
                raise RunLost(f"no answer within {self._run_timeout_s():.0f} s") from exc
            except (aiohttp.ClientError, _TooLarge) as exc:
                endpoint.mark_down(f"dropped a run: {_describe(exc)}", time.monotonic(), self._interval_s)
                raise RunLost(_describe(exc)) from exc
            return self._answer(endpoint, response.status, response.headers, body)
        finally:
            endpoint.outstanding -= 1
            await self._room_changed()

    def _answer(self, endpoint: RunnerEndpoint, status: int, headers: Mapping[str, str], body: bytes) -> RunResult:
        now = time.monotonic()
        detail = _detail(body, "reason")
        if status == 200:
            try:
                result = result_from_json(json.loads(body), self.limits)
            except (ValueError, MalformedResult) as exc:
                endpoint.check_soon(now)
                raise RunLost(f"the runner sent a malformed result: {exc}") from exc
            endpoint.runs += 1
            return result
        if status == 429:
            raise _NeverStarted(RunnerBusy(retry_after_s=_retry_after(headers)))
        if status in (401, 403):
            endpoint.mark_down(
                "it refused our token (check TEXTBOOK_RUNNER_TOKEN on both sides)", now, self._interval_s
            )
            raise _NeverStarted(RunnerUnreachable(f"{endpoint.url} refused our token"))
        if status == 503:
            endpoint.mark_down(f"it cannot run code: {detail}", now, self._interval_s)
            raise _NeverStarted(SandboxUnavailable(detail))
        if status in (413, 422):
            raise InvalidRequest(detail)
        endpoint.check_soon(now)
        raise RunLost(f"HTTP {status}: {detail}")

    def _best_refusal(self, refusals: list[RunnerError], device: str) -> RunnerError:
        busy = [error for error in refusals if isinstance(error, RunnerBusy)]
        if busy:
            return RunnerBusy(retry_after_s=min(error.retry_after_s for error in busy))
        unavailable = [error for error in refusals if isinstance(error, SandboxUnavailable)]
        if unavailable and not self.reachable:
            return unavailable[0]
        if refusals:
            return RunnerUnreachable(self._summary())
        if device != "cpu" and self.reachable:
            return RunnerUnreachable(f"no runner with a {device} device is up")
        return RunnerUnreachable(self._summary())

    @staticmethod
    def _timeout(read_s: float) -> aiohttp.ClientTimeout:
        # `connect` covers waiting for a free connection too; no total: the read limit bounds a run.
        return aiohttp.ClientTimeout(
            total=None, connect=CONNECT_TIMEOUT_S, sock_connect=CONNECT_TIMEOUT_S, sock_read=read_s
        )

    def _run_timeout_s(self) -> float:
        # A run may queue behind others on its runner, then run for the wall limit.
        return 3 * self.limits.wall_s + 5.0

    def _summary(self) -> str:
        return "; ".join(f"{endpoint.url}: {endpoint.state}, {endpoint.reason}" for endpoint in self.endpoints)

    # -- health checks ----------------------------------------------------------

    async def _keep_checking(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            for endpoint in self.endpoints:
                if endpoint.due(now) and endpoint.url not in self._checking:
                    self._checking.add(endpoint.url)
                    task = asyncio.create_task(self._check(endpoint))
                    task.add_done_callback(functools.partial(self._checked, endpoint.url))

    def _checked(self, url: str, _: asyncio.Task[None]) -> None:
        self._checking.discard(url)

    async def _check(self, endpoint: RunnerEndpoint) -> None:
        assert self._client is not None
        before = endpoint.state
        try:
            async with self._client.get(f"{endpoint.url}/v1/health", timeout=self._timeout(HEALTH_TIMEOUT_S)) as answer:
                status, body = answer.status, await _read_capped(answer)
            if status in (401, 403):
                endpoint.mark_down(
                    "it refused our token (check TEXTBOOK_RUNNER_TOKEN on both sides)",
                    time.monotonic(),
                    self._interval_s,
                )
            elif status != 200:
                endpoint.mark_down(f"health check answered HTTP {status}", time.monotonic(), self._interval_s)
            else:
                health = json.loads(body)
                if not isinstance(health, dict):
                    raise ValueError("health is not an object")
                endpoint.mark_up(health, time.monotonic(), self._interval_s)
        except (aiohttp.ClientError, TimeoutError, ValueError, _TooLarge) as exc:
            endpoint.mark_down(f"health check failed: {_describe(exc)}", time.monotonic(), self._interval_s)
        if endpoint.state != before:
            await self._room_changed()  # runs waiting for a slot may go to it now, or learn there is none
            if before != "unknown":
                log.warning("runner %s is now %s (%s)", endpoint.url, endpoint.state, endpoint.reason)


class _TooLarge(Exception):
    pass


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    parts, size = [], 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise _TooLarge(f"answer over {MAX_RESPONSE_BYTES // 1024 // 1024} MB")
        parts.append(chunk)
    return b"".join(parts)


def _detail(body: bytes, *keys: str) -> str:
    """The runner's own reason for a refusal (its `reason`, else its `detail`), short."""
    try:
        data = json.loads(body)
        detail = next((data[key] for key in (*keys, "detail") if isinstance(data, dict) and data.get(key)), None)
    except ValueError:
        detail = None
    return str(detail)[:500] if detail else body[:200].decode("utf-8", "replace")


def _retry_after(headers: Mapping[str, str]) -> float:
    try:
        return max(1.0, float(headers.get("retry-after", "1")))
    except ValueError:
        return 1.0


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
