"""`CodeRunner`: what the web app (and the runner service) need from whatever runs code.

Two things satisfy it: `LocalRunner` here (the sandboxed pool in this process) and
`RemoteRunners` (remote.py, a fleet of runner services). Routes and pages only use this
interface, so they do not care where a snippet runs.
"""

from __future__ import annotations

from typing import Any, Protocol

from app.runner.pool import RunnerPool
from app.runner.protocol import (
    InvalidRequest,
    IsolationReport,
    RunnerBusy,
    RunnerLimits,
    RunRequest,
    RunResult,
    SandboxUnavailable,
)

DEVICE_NAMES = {"cpu": "CPU", "cuda": "GPU"}


class CodeRunner(Protocol):
    @property
    def limits(self) -> RunnerLimits: ...

    @property
    def isolation(self) -> IsolationReport:
        """How isolated runs are; level `none` when code cannot run (the page says why)."""

    @property
    def reachable(self) -> bool:
        """False only when the runners are elsewhere and none of them answers."""

    @property
    def devices(self) -> tuple[str, ...]:
        """Where a run may go: ("cpu",) or ("cpu", "cuda")."""

    @property
    def is_up(self) -> bool:
        """Started and not closing: what /readyz asks. Runners without isolation, or remote ones
        that do not answer, leave it up: the replica still serves the book, and says why code
        does not run."""

    async def start(self) -> IsolationReport: ...

    async def close(self) -> None: ...

    async def run(self, request: RunRequest) -> RunResult:
        """Raises RunnerBusy, SandboxUnavailable, InvalidRequest or another RunnerError."""

    def health(self) -> dict[str, Any]:
        """The runner part of /healthz: JSON-ready, always with `level` and `details`."""


class LocalRunner:
    """The sandboxed pools of this process: always a CPU pool, and a CUDA pool where a GPU is usable."""

    def __init__(self, cpu: RunnerPool, cuda: RunnerPool | None = None, *, gpu: str = "not looked for") -> None:
        self.cpu = cpu
        self.cuda = cuda
        self.gpu = gpu  # what app/fleet/gpu.py found, for /healthz and /v1/health
        self.in_flight = 0
        self.runs = 0  # runs started since start, refusals not counted (tests count these: never twice)
        self._started = False

    @property
    def limits(self) -> RunnerLimits:
        return self.cpu.limits

    @property
    def isolation(self) -> IsolationReport:
        return self.cpu.isolation

    @property
    def reachable(self) -> bool:
        return True

    @property
    def devices(self) -> tuple[str, ...]:
        if self.cuda is not None and self._started and self.cuda.isolation.can_run:
            return ("cpu", "cuda")
        return ("cpu",)

    @property
    def is_up(self) -> bool:
        return self.cpu.is_up

    @property
    def capacity(self) -> int:
        return self.cpu.concurrency

    @property
    def queue_size(self) -> int:
        return self.cpu.queue_size

    async def start(self) -> IsolationReport:
        report = await self.cpu.start()
        if self.cuda is not None:
            await self.cuda.start()  # its report shows in health(); a failed GPU leaves the CPU serving
        self._started = True
        return report

    async def close(self) -> None:
        await self.cpu.close()
        if self.cuda is not None:
            await self.cuda.close()

    async def run(self, request: RunRequest) -> RunResult:
        if request.device not in self.devices:
            raise InvalidRequest(
                f"device {request.device!r} is not available here; use one of {', '.join(self.devices)}",
                field="device",
            )
        pool = self.cuda if request.device == "cuda" and self.cuda is not None else self.cpu
        self.in_flight += 1
        self.runs += 1
        try:
            return await pool.run(request)
        except (RunnerBusy, SandboxUnavailable, InvalidRequest):
            self.runs -= 1  # refused before it started
            raise
        finally:
            self.in_flight -= 1

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "mode": "in-process",
            **self.isolation.to_dict(),
            "devices": list(self.devices),
            "device": self.devices[-1],
            "capacity": self.capacity,
            "in_flight": self.in_flight,
            "running": min(self.in_flight, self.capacity),
            "waiting": max(0, self.in_flight - self.capacity),
            "queue": self.queue_size,
            "runs": self.runs,
        }
        body["gpu"] = self.gpu
        if self.cuda is not None:
            body["cuda"] = self.cuda.isolation.to_dict()
        return body
