"""What goes into the runner and what comes out: plain dataclasses and errors.

Nothing here touches processes; the web layer and the CLI import only this and
`RunnerPool`. The errors belong to the app's one family (`TextbookError`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from app.errors import BadInput, Busy, TextbookError, Unavailable

RunStatus = Literal["ok", "error", "timeout", "memory_limit", "output_limit", "killed"]
IsolationLevel = Literal["full", "unsafe", "none"]

RUN_STATUSES: tuple[RunStatus, ...] = ("ok", "error", "timeout", "memory_limit", "output_limit", "killed")


@dataclass(frozen=True)
class RunnerLimits:
    """Per-run resource limits. Defaults suit the chapter's snippets with headroom."""

    wall_s: float = 5.0
    cpu_s: int = 6  # CPU seconds of all its threads, enforced by the pool (RLIMIT_CPU is only a backstop)
    memory_mb: int = 256  # address space a snippet may add on top of the warm template
    output_bytes: int = 65536  # stdout + stderr together
    max_figures: int = 4
    figure_bytes: int = 1_048_576  # one encoded PNG
    max_code_bytes: int = 20480
    scratch_mb: int = 16  # the private tmpfs that is the snippet's cwd
    max_threads: int = 4  # threads a snippet may start besides its main one
    max_open_files: int = 64

    def __post_init__(self) -> None:
        for item in fields(self):
            if getattr(self, item.name) <= 0:
                raise ValueError(f"RunnerLimits.{item.name} must be positive")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunnerLimits:
        known = {item.name for item in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


@dataclass(frozen=True)
class RunRequest:
    code: str
    device: str = "cpu"  # kept so a GPU backend can be added without changing callers


@dataclass(frozen=True)
class Figure:
    mime: str  # "image/png"
    data: str  # base64

    def to_dict(self) -> dict[str, str]:
        return {"mime": self.mime, "data": self.data}


@dataclass(frozen=True)
class RunResult:
    status: RunStatus
    stdout: str
    stderr: str
    figures: list[Figure] = field(default_factory=list)
    elapsed_ms: float = 0.0
    device: str = "cpu"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "figures": [figure.to_dict() for figure in self.figures],
            "elapsed_ms": round(self.elapsed_ms, 3),
            "device": self.device,
        }


@dataclass(frozen=True)
class IsolationReport:
    """How strongly snippets are isolated on this host, and why.

    `full`: OS isolation is in place and was verified at startup.
    `unsafe`: it is not, and the operator opted in to run snippets anyway.
    `none`: it is not, and snippets are refused.
    """

    level: IsolationLevel
    details: list[str] = field(default_factory=list)

    @property
    def can_run(self) -> bool:
        return self.level != "none"

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "details": list(self.details)}


class RunnerError(TextbookError):
    """Base of the runner's errors: an HTTP status and a message a student can act on.

    Like every `TextbookError`: the text first, everything else by keyword. The text is the
    `reason` (what went wrong, for logs and the runner service's answer); `describe` turns it
    into the student's `message`. The web layer lets them through to its one error handler
    untranslated.
    """

    status = 503

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        # Not super(): the other bases (Busy, BadInput, ...) take other arguments; they add no state.
        TextbookError.__init__(self, self.describe(reason), field=field)
        self.reason = reason

    def describe(self, reason: str) -> str:
        return f"The code runner is not available right now ({reason}); try again shortly."


class RunnerBusy(RunnerError, Busy):
    """Every slot is busy and the queue is full; try again after `retry_after_s` (whole seconds)."""

    status = 429

    def __init__(self, *, retry_after_s: float) -> None:
        self.retry_after_s = max(1, round(retry_after_s))
        super().__init__(f"busy for about {self.retry_after_s} s")

    def describe(self, reason: str) -> str:
        return f"Every code runner is busy right now; try again in {self.retry_after_s} s."


class SandboxUnavailable(RunnerError, Unavailable):
    """Snippets cannot run here (no OS isolation and no opt-in to unsafe mode)."""

    status = 503

    def describe(self, reason: str) -> str:
        return f"Running code is switched off on this server: code execution is unavailable: {reason}"


class InvalidRequest(RunnerError, BadInput, ValueError):
    """The request itself is unacceptable (too long, unknown device); `field` is the input at fault."""

    status = 422

    def __init__(self, reason: str, *, field: str = "code") -> None:
        super().__init__(reason, field=field)

    def describe(self, reason: str) -> str:
        return reason
