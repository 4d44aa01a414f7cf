"""Judging the sandbox: what a probe run observed, and how to describe it to people.

The template runs one probe inside a freshly built sandbox at startup; these
functions turn the probe's observations into the IsolationReport the pool
exposes (and the page shows).
"""

from __future__ import annotations

import os
from typing import Any

from . import sandbox
from .protocol import IsolationReport, RunnerLimits
from .seccomp_policy import NEVER_ALLOWED, allowed_names


def problems_in(facts: dict[str, Any]) -> list[str]:
    """Everything the probe saw that full isolation forbids (empty: all good)."""
    problems = []
    if facts.get("pid") != 1:
        problems.append("not alone in a pid namespace")
    if facts.get("uid") != sandbox.SANDBOX_UID:
        problems.append(f"unexpected uid {facts.get('uid')}")
    if not facts.get("network_refused"):
        problems.append("an AF_INET socket could be created")
    if not facts.get("fork_refused"):
        problems.append("fork was not refused")
    if not facts.get("root_read_only"):
        problems.append("the root directory is writable")
    problems.extend(f"{path} is visible" for path, hidden in facts.get("hidden", {}).items() if not hidden)
    return problems


def full_report(
    limits: RunnerLimits,
    stage: sandbox.Stage,
    drop_to: int | None,
    unknown: list[str],
    *,
    allow_list: bool = True,
    runtime_view: tuple[str | None, str | None] = (None, None),
) -> IsolationReport:
    who = "uid 65534 (nobody) on the host" if drop_to is not None else f"the server's own uid {os.geteuid()}"
    details = [
        f"user namespace: snippets run as {who}, without capabilities",
        "pid namespace: a snippet is pid 1 and sees no other process (verified)",
        "network namespace without interfaces; non-Unix sockets refused (verified)",
        (
            f"mount namespace: read-only root with {len(stage.mounts)} runtime paths; "
            "project files, /etc, /home and /proc are absent (verified)"
        ),
        _runtime_view_line(*runtime_view),
        f"scratch: private {limits.scratch_mb} MB tmpfs at {stage.scratch}, gone after each run",
        "ipc, uts and cgroup namespaces; clean environment; no inherited file descriptors",
        (
            f"seccomp: allow list of {len(allowed_names()) - len(unknown)} syscalls (derived by tracing the "
            "snippets); everything else refused, incl. fork/execve/ptrace/mount/unshare/bpf (verified); "
            "x32 and i386 calls kill the process"
            if allow_list
            else f"seccomp: deny list of {len(NEVER_ALLOWED)} syscalls (CUDA runs: the allow list is not traced "
            "on a GPU yet), incl. fork/execve/ptrace/mount/unshare/bpf (verified); x32 and i386 calls kill the process"
        ),
        (
            f"rlimits: +{limits.memory_mb} MB address space, {limits.cpu_s} s CPU, "
            f"{limits.max_threads} threads, {limits.max_open_files} files, no core dumps"
        ),
    ]
    if unknown:
        details.append("libseccomp did not know: " + ", ".join(unknown))
    return IsolationReport("full", details)


def _runtime_view_line(root: str | None, reason: str | None) -> str:
    if root is not None:
        return f"runtime view: the virtualenv and the runner's code seen at {root}: a run meets no path of the checkout"
    return f"runtime view: none ({reason or 'not asked for'}); a run sees the runtime's host paths"


def fallback_report(reason: str, *, allow_unsafe: bool, seccomp: bool) -> IsolationReport:
    """No full isolation: refuse, or (operator opt-in) say plainly what is missing."""
    if not allow_unsafe:
        return IsolationReport("none", [reason, "snippets are refused; an operator may opt in to unsafe mode"])
    return IsolationReport(
        "unsafe",
        [
            reason,
            "UNSAFE single-user mode (operator opt-in): snippets run as the server's user and can read its files",
            "still applied: own session, clean environment, temporary working directory, rlimits",
            "seccomp filter applied" if seccomp else "no seccomp filter",
        ],
    )
