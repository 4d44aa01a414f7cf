"""placeholder"""

from .pool import RunnerPool, run_snippet_sync, run_snippets_sync
from .protocol import (
    Figure,
    InvalidRequest,
    IsolationReport,
    RunnerBusy,
    RunnerError,
    RunnerLimits,
    RunRequest,
    RunResult,
    SandboxUnavailable,
)


__all__ = [
    "Figure",
    "InvalidRequest",
    "IsolationReport",
    "RunRequest",
    "RunResult",
    "RunnerBusy",
    "RunnerError",
    "RunnerLimits",
    "RunnerPool",
    "SandboxUnavailable",
    "run_snippet_sync",
    "run_snippets_sync",
]
