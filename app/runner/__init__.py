"""placeholder"""

from .pool import RunnerPool
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
from .sync import run_snippet_sync, run_snippets_sync

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
