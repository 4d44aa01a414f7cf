"""Sandboxed, warm-started execution of students' NumPy snippets.

Public API (everything else in the package is internal):

    pool = RunnerPool(RunnerLimits(), concurrency=None, queue_size=16, allow_unsafe=False)
    await pool.start()                 # -> IsolationReport; pool.isolation.level is
                                       #    "full", "unsafe" (opt-in) or "none" (refusing)
    result = await pool.run(RunRequest(code))   # -> RunResult(status, stdout, stderr, figures, ...)
    await pool.close()
    run_snippets_sync(codes, limits)   # for the CLI

`run` raises RunnerBusy (429) when every slot is busy and the queue is full,
SandboxUnavailable (503) when this host cannot isolate snippets (and the
operator did not opt in to unsafe mode), InvalidRequest (422) for oversized
code or an unknown device: all `app.errors.TextbookError`s with a message for
the student. Whatever the snippet does is reported as a status: ok, error,
timeout, memory_limit, output_limit or killed.

Words (ARCHITECTURE.md's glossary): the *snippet* is the student's code; the
*template process* imports NumPy and matplotlib once and forks one *run
process* per run; inside it the *executor* runs the snippet; the run process
answers on its *result channel*, which the pool reads as untrusted input.

How it works
------------
* The template process (template_process.py; the pool's handle on it is
  template_handle.py) is started with a clean environment and no inherited
  file descriptors, through a launcher (runtime_view.py) that first binds the
  virtualenv and our package at neutral paths (/mnt/textbook) in a mount
  namespace of its own, so nothing it imports names the checkout. It imports
  NumPy and matplotlib once, runs a warm-up snippet,
  compiles the seccomp filter to BPF (seccomp_policy.py) and prepares a
  read-only root tree (bind mounts of the interpreter, the packages NumPy and
  matplotlib need (runtime_packages.py) and the system libraries they load,
  inside its own mount namespace). It makes itself pid 1 of
  a pid namespace of its own, then proves the sandbox works by running a probe
  (probe.py) inside it; the probe's findings become the isolation report
  (isolation.py).
* Every run process (run_process.py, sandbox.py) is one fork of the template
  process, born as pid 1 of a fresh pid namespace. It drops to uid 65534 (when
  the server is root), creates new user, mount, network, ipc, uts and cgroup
  namespaces, pivots into a private copy of the read-only root, mounts a small
  tmpfs as /tmp (the cwd), closes every inherited fd, clears the environment,
  sets rlimits (address space, CPU, file size, threads, open files, no core
  dumps), drops all capabilities, loads the seccomp filter and only then reads
  the code. No network (no interfaces, non-Unix sockets refused), no other
  process visible, no fork/exec, no view of the project, its database or the
  server's environment.
* The pool (pool.py) keeps one run process per slot forked *ahead of time*
  (a "ready" run process), so a request only pays for sending the code and
  running it; each run process serves exactly one run and is killed as soon
  as its result is in, so no file, global or RNG state survives to the next
  (NumPy's global RNG is reseeded in each run process).
* Results come back as length-prefixed JSON (wire.py, channel.py) on a socket
  the snippet could also write to, so the pool treats them as untrusted: size-
  capped, parsed with depth and value limits (off the event loop when large),
  and held to the output limits after decoding (results.py); a garbled or
  oversized frame only fails that run. The template process reaps each run
  process and reports its exit status on a second socket the snippet never
  holds; the pool holds a pidfd of each run process, so it kills by pidfd
  (never a recycled pid), enforces the wall-clock and CPU limits itself, and
  frees a slot only once its process is gone.
* The template process is replaced if it dies (its run processes die with
  it); the server never forks snippets itself.

executor.py is what runs the snippet: exec as `<snippet>`, stdout/stderr under
one byte budget, `plot_xy(x, y)` as a builtin, open pyplot figures returned as
PNG, and tracebacks trimmed to the snippet's own lines (no server paths).
"""

from .pool import RunnerPool, run_snippets_sync
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
    "run_snippets_sync",
]
