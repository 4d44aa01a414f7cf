"""Derive the seccomp allow list by tracing what run processes really call.

Runs the runner's tests and the chapter's snippets with every template process
started under `strace -f`, in tracing mode (the filter denies only what must never
be allowed, so nothing a snippet needs is hidden behind EPERM), then collects
every syscall a run process (or one of its threads) made *after* loading its
seccomp filter, except those that failed with EPERM (refused on purpose, e.g. a
hostile test's fork). Writes `app/runner/seccomp_allowlist.py`.

    apt-get install strace     # once
    .venv/bin/python -m tests.runner.trace_syscalls [pytest paths...]

Review the diff of the generated file before committing it: a new name there is a
new way for snippets to reach the kernel.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "app" / "runner" / "seccomp_allowlist.py"
# test_seccomp.py probes calls that must stay refused; tracing it would put them on the list.
DEFAULT_TESTS = ["tests/runner", "tests/web/test_runner_web.py", "--ignore=tests/runner/test_seccomp.py"]
_CALL = re.compile(r"^(?:\d+ +)?([a-z_0-9]+)\((.*)\) += (-?\d+|\?|0x[0-9a-f]+)(.*)$")
_CLONE = re.compile(r"^(?:\d+ +)?clone3?\(.*\) += (\d+)(?: /\* (\d+) in strace's PID NS \*/)?")


def wrapper(directory: Path) -> Path:
    strace = shutil.which("strace")
    if strace is None:
        raise SystemExit("strace is not installed (apt-get install strace)")
    script = directory / "python-under-strace"
    script.write_text(
        "#!/bin/sh\n"
        "export RUNNER_SECCOMP_TRACING=1\n"
        f'exec "{strace}" -f -ff -qq --decode-pids=pidns -o "{directory}/trace" "{sys.executable}" "$@"\n'
    )
    script.chmod(0o755)
    return script


def run_traced(tracing_python: str, pytest_args: list[str]) -> None:
    """Run the tests and the chapter's snippets with every template process started through `python`."""
    import pytest

    from app.runner import RunnerLimits, template_handle

    original = template_handle.TemplateHandle.__init__

    def traced(
        self: template_handle.TemplateHandle, limits: RunnerLimits, *, python: str | None = None, **options: Any
    ) -> None:
        original(self, limits, python=python or tracing_python, **options)

    template_handle.TemplateHandle.__init__ = traced  # type: ignore[method-assign]
    # Under strace everything is several times slower: give runs room to finish, or their calls are lost.
    from app.runner import pool as pool_module

    original_pool = pool_module.RunnerPool.__init__

    def roomier(self: pool_module.RunnerPool, limits: RunnerLimits | None = None, **options: Any) -> None:
        limits = limits or RunnerLimits()
        slower = dataclasses.replace(limits, wall_s=limits.wall_s * 4, cpu_s=limits.cpu_s * 4)
        original_pool(self, slower, **options)

    pool_module.RunnerPool.__init__ = roomier  # type: ignore[method-assign]
    code = pytest.main(["-p", "no:xdist", "-q", "-p", "no:cacheprovider", *pytest_args])
    if code not in (0, 1):
        raise SystemExit(f"pytest could not run ({code})")
    from app.config import Settings
    from app.content.check import check_content

    problems = check_content(Settings())
    if problems:
        print("\n".join(problems), file=sys.stderr)


def collect(directory: Path) -> Counter[str]:
    """Syscalls made under a seccomp filter, by run processes and their threads (not refused ones)."""
    traces = {int(path.suffix[1:]): path.read_text(errors="replace").splitlines() for path in directory.glob("trace.*")}
    sandboxed: set[int] = set()
    pending: list[tuple[int, int]] = []  # (pid, first line under the filter)
    for pid, lines in traces.items():
        for index, line in enumerate(lines):
            if line.startswith("seccomp(SECCOMP_SET_MODE_FILTER") and line.rstrip().endswith("= 0"):
                pending.append((pid, index + 1))
                break
    counts: Counter[str] = Counter()
    while pending:
        pid, start = pending.pop()
        if pid in sandboxed:
            continue
        sandboxed.add(pid)
        for line in traces.get(pid, [])[start:]:
            match = _CALL.match(line)
            if match is None:
                continue
            name, result, rest = match.group(1), match.group(3), match.group(4)
            if result == "-1" and rest.strip().startswith("EPERM"):
                continue
            if name.startswith("syscall_"):  # a number strace has no name for: stays ENOSYS
                continue
            counts[name] += 1
            clone = _CLONE.match(line)
            if clone is not None:
                # A thread: all of it runs under the filter. Its pid as strace (and the file name) knows it.
                pending.append((int(clone.group(2) or clone.group(1)), 0))
    return counts


def write(counts: Counter[str], never: frozenset[str]) -> list[str]:
    names = sorted(name for name in counts if name not in never)
    body = "".join(f'    "{name}",\n' for name in names)
    OUTPUT.write_text(
        '"""The syscalls a run process may make: derived by tracing, not picked by hand.\n\n'
        "Generated by `python -m tests.runner.trace_syscalls` (see its docstring): every\n"
        "syscall that run processes made under their seccomp filter while the runner's tests\n"
        "and the chapter's snippets ran, minus `seccomp_policy.NEVER_ALLOWED`. Do not edit\n"
        "by hand; regenerate, and review the diff.\n"
        '"""\n\n'
        f"ALLOWED_SYSCALLS: tuple[str, ...] = (\n{body})\n"
    )
    return names


def main(argv: list[str]) -> int:
    from app.runner.seccomp_policy import NEVER_ALLOWED

    directory = Path(tempfile.mkdtemp(prefix="textbook-strace-"))
    try:
        run_traced(str(wrapper(directory)), argv or DEFAULT_TESTS)
        counts = collect(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    if not counts:
        raise SystemExit("no run process was traced (is the sandbox available here?)")
    names = write(counts, NEVER_ALLOWED)
    left_out = sorted(set(counts) & NEVER_ALLOWED)
    print(f"{len(names)} syscalls written to {OUTPUT.relative_to(ROOT)}")
    if left_out:
        print("traced but never allowed: " + ", ".join(left_out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
