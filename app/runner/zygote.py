"""The template ("zygote") process: imports NumPy and matplotlib once, then forks runs.

Started by the pool with a clean environment and no inherited fds except its
control socket, so a snippet forked from it finds none of the server's secrets
in memory. It never reads anything a snippet wrote: it only forks, and hands the
run's two sockets and a pidfd to the pool over SCM_RIGHTS.

Control protocol (SOCK_SEQPACKET, one JSON object per packet):
  template -> pool  {"event": "hello", "pid": ..., "isolation": {...}}
  pool -> template  {"op": "spawn"}   reply {"pid": ...} + fds [data, status, pidfd]
                                     or   {"error": "..."} without fds
  pool -> template  {"op": "exit"}    (or simply closing the socket)
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from typing import Any

from . import linux, sandbox
from .protocol import IsolationReport, RunnerLimits
from .wire import recv_frame, send_frame
from .worker import run_outer

_PROBE_TIMEOUT_S = 20.0
_WARM_UP_SNIPPET = """
import numpy as np
x = np.linspace(0, 1, 8)
u, s, vt = np.linalg.svd(np.outer(x, x) + np.eye(8))
print(f"{float(s[0]):.3f}")
plot_xy(x, x ** 2, title="warm-up", xlabel="x", ylabel="y", label="x^2")
1 / 0
"""


@dataclass
class ZygoteConfig:
    ctl_fd: int
    limits: RunnerLimits
    allow_unsafe: bool
    project_root: str
    hidden_package: str
    hidden_paths: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, text: str) -> ZygoteConfig:
        raw = json.loads(text)
        raw["limits"] = RunnerLimits.from_dict(raw["limits"])
        return cls(**raw)


class Template:
    def __init__(self, config: ZygoteConfig, ctl: socket.socket) -> None:
        self.config = config
        self.ctl = ctl
        self.plan: sandbox.Plan | None = None
        self.seccomp_filter: Any = None
        self.stage: sandbox.Stage | None = None

    # -- startup -------------------------------------------------------------

    def establish(self) -> IsolationReport:
        """Build the sandbox plan and prove it works by running one probe inside it."""
        unknown: list[str] = []
        seccomp_error = ""
        try:
            from .seccomp_policy import build_filter

            self.seccomp_filter, unknown = build_filter()
        except Exception as exc:  # noqa: BLE001  (no libseccomp -> reported, not fatal)
            seccomp_error = f"seccomp filter unavailable: {type(exc).__name__}: {exc}"
        reason = seccomp_error or self._try_full_isolation(unknown)
        if isinstance(reason, IsolationReport):
            return reason
        if not self.config.allow_unsafe:
            return IsolationReport("none", [reason, "snippets are refused; an operator may opt in to unsafe mode"])
        self.plan = sandbox.Plan("unsafe", self.config.limits, None, None)
        details = [
            reason,
            "UNSAFE single-user mode (operator opt-in): snippets run as the server's user and can read its files",
            "still applied: own session, clean environment, temporary working directory, rlimits",
            "seccomp filter applied" if self.seccomp_filter is not None else "no seccomp filter",
        ]
        return IsolationReport("unsafe", details)

    def _try_full_isolation(self, unknown: list[str]) -> IsolationReport | str:
        try:
            package_dir = os.path.join(self.config.project_root, self.config.hidden_package)
            self.stage = sandbox.prepare_stage(sandbox.runtime_paths(self.config.project_root), [package_dir])
        except OSError as exc:
            return f"could not build the read-only root (mount namespace): {exc}"
        drop_to = sandbox.choose_drop_uid()
        self.plan = sandbox.Plan("full", self.config.limits, self.stage, drop_to)
        try:
            problems = _problems(self._probe())
        except Exception as exc:  # noqa: BLE001
            problems = [str(exc)]
        if problems:
            self.plan = None
            sandbox.release_stage(self.stage)
            self.stage = None
            return "sandbox self-check failed: " + "; ".join(problems)
        return IsolationReport("full", self._describe(drop_to, unknown))

    def _probe(self) -> dict[str, Any]:
        _, pidfd, data, status = self.spawn()
        os.close(pidfd)
        with data, status:
            data.settimeout(_PROBE_TIMEOUT_S)
            ready = recv_frame(data, 1 << 16)
            if ready is None or ready.get("event") != "ready":
                status.settimeout(_PROBE_TIMEOUT_S)
                report: dict[str, Any] = {"event": "started"}
                while report.get("event") == "started":
                    report = recv_frame(status, 1 << 16) or {}
                raise RuntimeError((ready or report).get("message", "the sandboxed process did not start"))
            send_frame(data, {"probe": self.config.hidden_paths})
            reply = recv_frame(data, 1 << 20)
        if reply is None or reply.get("event") != "probe":
            raise RuntimeError("the sandboxed probe gave no answer")
        return dict(reply["facts"])

    def _describe(self, drop_to: int | None, unknown: list[str]) -> list[str]:
        limits = self.config.limits
        assert self.stage is not None
        who = "uid 65534 (nobody) on the host" if drop_to is not None else f"the server's own uid {os.geteuid()}"
        from .seccomp_policy import DENIED_SYSCALLS

        denied = len(DENIED_SYSCALLS) - len(unknown)
        details = [
            f"user namespace: snippets run as {who}, without capabilities",
            "pid namespace: a snippet is pid 1 and sees no other process (verified)",
            "network namespace without interfaces; non-Unix sockets refused (verified)",
            (
                f"mount namespace: read-only root with {len(self.stage.mounts)} runtime directories; "
                "project files, /etc, /home and /proc are absent (verified)"
            ),
            f"scratch: private {limits.scratch_mb} MB tmpfs at {self.stage.scratch}, gone after each run",
            "ipc, uts and cgroup namespaces; clean environment; no inherited file descriptors",
            f"seccomp: {denied} syscalls denied, incl. fork/execve/ptrace/mount/unshare/bpf (verified)",
            (
                f"rlimits: +{limits.memory_mb} MB address space, {limits.cpu_s} s CPU, "
                f"{limits.max_threads} threads, {limits.max_open_files} files, no core dumps"
            ),
        ]
        if unknown:
            details.append("libseccomp did not know: " + ", ".join(unknown))
        return details

    # -- serving -------------------------------------------------------------

    def spawn(self) -> tuple[int, int, socket.socket, socket.socket]:
        """Fork one run; return (pid, pidfd, data socket, status socket), parent ends."""
        assert self.plan is not None
        data_parent, data_child = socket.socketpair()
        status_parent, status_child = socket.socketpair()
        base_vm = linux.virtual_memory_bytes()
        # Hold SIGCHLD so the reaper cannot collect the child before we hold its pidfd.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        try:
            pid = os.fork()
            if pid == 0:
                try:
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
                    self.ctl.close()
                    data_parent.close()
                    status_parent.close()
                    run_outer(
                        self.plan, self.seccomp_filter, data_child, status_child, base_vm, self.config.hidden_package
                    )
                finally:
                    os._exit(1)
            pidfd = os.pidfd_open(pid)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        data_child.close()
        status_child.close()
        return pid, pidfd, data_parent, status_parent

    def serve(self) -> None:
        """Answer spawn requests until the pool closes the control socket."""
        while True:
            try:
                message, fds, _, _ = socket.recv_fds(self.ctl, 4096, 4)
            except OSError:
                return
            for fd in fds:
                os.close(fd)  # the pool never sends fds; don't let any leak into forks
            if not message or json.loads(message).get("op") != "spawn":
                return
            try:
                pid, pidfd, data, status = self.spawn()
            except OSError as exc:
                self.ctl.send(json.dumps({"error": f"fork failed: {exc}"}).encode())
                continue
            try:
                socket.send_fds(self.ctl, [json.dumps({"pid": pid}).encode()], [data.fileno(), status.fileno(), pidfd])
            except OSError:
                return  # the pool went away; the unsent run sees EOF and exits by itself
            finally:
                data.close()
                status.close()
                os.close(pidfd)


def _problems(facts: dict[str, Any]) -> list[str]:
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


def _reap_children(signum: int, frame: Any) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _warm_up() -> None:
    """Run a representative snippet so lazily imported modules and caches are in the template."""
    import builtins

    from . import child

    builtins.plot_xy = child.plot_xy  # type: ignore[attr-defined]
    main_module, argv = sys.modules["__main__"], sys.argv
    child.execute_snippet(_WARM_UP_SNIPPET, RunnerLimits())
    sys.modules["__main__"], sys.argv = main_module, argv
    import matplotlib.font_manager
    import numpy

    numpy.random.seed()  # its first call imports and initialises lazily; children reseed too

    # Cached fonts hold open files whose offsets forks would share; children reopen them.
    matplotlib.font_manager._get_font.cache_clear()
    del builtins.plot_xy  # type: ignore[attr-defined]
    gc.collect()
    gc.freeze()  # keep the template's objects out of the children's GC passes (fewer copied pages)


def main(config_json: str) -> None:
    config = ZygoteConfig.from_json(config_json)
    ctl = socket.socket(fileno=config.ctl_fd)
    signal.signal(signal.SIGCHLD, _reap_children)
    # Orphaned inner processes (their outer fork was killed) come back to us to be reaped.
    # (No PR_SET_PDEATHSIG here: it fires when the *thread* that started us exits, and the
    # pool may be started from a short-lived thread. A closed control socket ends us instead.)
    linux.prctl(linux.PR_SET_CHILD_SUBREAPER, 1)
    _warm_up()
    template = Template(config, ctl)
    report = template.establish()
    hello = {"event": "hello", "pid": os.getpid(), "isolation": report.to_dict()}
    ctl.send(json.dumps(hello).encode())
    if report.can_run:
        template.serve()
