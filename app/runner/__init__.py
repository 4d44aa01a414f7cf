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
  warm-up snippet, compiles the seccomp filter to BPF (seccomp_policy.py) and
  prepares a read-only root tree (bind mounts of the interpreter,
  site-packages and system libraries, inside its own mount namespace). It
  makes itself pid 1 of a pid namespace of its own, then proves the sandbox
  works by running a probe inside it; the probe's findings become the
  isolation report (isolation.py).
* Every run is one fork of the template (worker.py, sandbox.py), born as pid 1
  of a fresh pid namespace. It drops to uid 65534 (when the server is root),
  creates new user, mount, network, ipc, uts and cgroup namespaces, pivots
  into a private copy of the read-only root, mounts a small tmpfs as /tmp (the
  cwd), closes every inherited fd, clears the environment, sets rlimits
  (address space, CPU, file size, threads, open files, no core dumps), drops
  all capabilities, loads the seccomp filter and only then reads the code.
  No network (no interfaces, non-Unix sockets refused), no other process
  visible, no fork/exec, no view of the project, its database or the
  server's environment.
* The pool (pool.py) keeps one such process per worker forked *ahead of time*
  ("spares"), so a request only pays for sending the code and running it;
  each process serves exactly one run, so no file, global or RNG state
  survives to the next (NumPy's global RNG is reseeded in each child).
* Results come back as length-prefixed JSON (wire.py) on a socket the snippet
  could also write to, so the pool treats them as untrusted: size-capped,
  schema-checked, and a garbled or oversized frame only fails that run. The
  template reaps each run and reports its exit status on a second socket the
  snippet never holds; the pool holds a pidfd of each run, so timeouts kill
  by pidfd (never a recycled pid) and wait until the process is really gone.
* The template is replaced if it dies (its runs die with it); the server
  never forks snippets itself.

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
