"""Sandboxed, warm-started execution of students' NumPy snippets.

Public API (everything else in the package is internal):

    pool = RunnerPool(RunnerLimits(), concurrency=None, queue_size=16, allow_unsafe=False)
    await pool.start()                 # -> IsolationReport; pool.isolation.level is
                                       #    "full", "unsafe" (opt-in) or "none" (refusing)
    result = await pool.run(RunRequest(code))   # -> RunResult(status, stdout, stderr, figures, ...)
    await pool.close()
    run_snippet_sync(code, limits) / run_snippets_sync(codes, limits)   # for the CLI

`run` raises RunnerBusy(retry_after_s) when all workers are busy and the queue
is full, SandboxUnavailable(reason) when this host cannot isolate snippets (and
the operator did not opt in to unsafe mode), InvalidRequest for oversized code
or an unknown device. Whatever the snippet does is reported as a status:
ok, error, timeout, memory_limit, output_limit or killed.

How it works
------------
* A template process ("zygote", zygote.py) is started with a clean environment
  and no inherited file descriptors, imports NumPy and matplotlib once, runs a
  warm-up snippet, compiles the seccomp filter and prepares a read-only root
  tree (bind mounts of the interpreter, site-packages and system libraries,
  inside its own mount namespace). It then proves the sandbox works by running
  a probe inside it; the probe's findings become the isolation report.
* Every run is a fresh pair of forks of the template (worker.py). The first
  drops to uid 65534 (when the server is root), creates new user, mount, pid,
  network, ipc, uts and cgroup namespaces, pivots into a private copy of the
  read-only root and mounts a small tmpfs as /tmp (the cwd). The second is pid
  1 of the new pid namespace: it starts a new session, closes every inherited
  fd, clears the environment, sets rlimits (address space, CPU, file size,
  threads, open files, no core dumps), drops all capabilities, loads the
  seccomp filter (seccomp_policy.py) and only then reads the code. No network
  (no interfaces, non-Unix sockets refused), no other process visible, no
  fork/exec, no view of the project, its database or the server's env.
* The pool (pool.py) keeps one such process per worker forked *ahead of time*
  ("spares"), so a request only pays for sending the code and running it;
  each process serves exactly one run, so no file, global or RNG state
  survives to the next (NumPy's global RNG is reseeded in each child).
* Results come back as length-prefixed JSON (wire.py) on a socket the snippet
  could also write to, so the pool treats them as untrusted: size-capped,
  schema-checked, and a garbled or oversized frame only fails that run. The
  fork that supervises the snippet reports its exit status on a second socket
  the snippet cannot reach and hands over a pidfd, so timeouts kill by pidfd
  (never by a recycled pid) and wait until the process is really gone.
* The template is replaced if it dies; the server never forks snippets itself.

child.py is what runs inside: exec as `<snippet>`, stdout/stderr under one byte
budget, `plot_xy(x, y)` as a builtin, open pyplot figures returned as PNG, and
tracebacks trimmed to the snippet's own lines (no server paths).
"""

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
