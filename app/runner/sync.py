"""Blocking helpers for the CLI (`textbook check` runs every chapter snippet)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from .pool import RunnerPool
from .protocol import RunnerLimits, RunRequest, RunResult, SandboxUnavailable


def run_snippets_sync(
    codes: Sequence[str],
    limits: RunnerLimits | None = None,
    *,
    allow_unsafe: bool = False,
    concurrency: int | None = None,
) -> list[RunResult]:
    """Run each snippet in its own sandboxed process; results in the same order.

    Raises SandboxUnavailable (with the reason) when this host cannot isolate
    snippets and `allow_unsafe` is false. Not for use inside a running event loop.
    """

    async def run_all() -> list[RunResult]:
        pool = RunnerPool(limits, concurrency=concurrency, queue_size=max(len(codes), 1), allow_unsafe=allow_unsafe)
        async with pool:
            if not pool.isolation.can_run:
                raise SandboxUnavailable("; ".join(pool.isolation.details) or "no sandbox")
            return list(await asyncio.gather(*(pool.run(RunRequest(code)) for code in codes)))

    return asyncio.run(run_all())


def run_snippet_sync(code: str, limits: RunnerLimits | None = None, *, allow_unsafe: bool = False) -> RunResult:
    """Run one snippet (starts and stops a template; use run_snippets_sync for many)."""
    return run_snippets_sync([code], limits, allow_unsafe=allow_unsafe, concurrency=1)[0]
