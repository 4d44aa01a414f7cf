"""The template process: imports NumPy and matplotlib once, then forks run processes.

Started by the pool with a clean environment and no inherited fds except its
control socket, so a snippet forked from it finds none of the server's secrets
in memory. It never reads anything a snippet wrote: it forks, hands the run
process's sockets and a pidfd to the pool over SCM_RIGHTS, and when it reaps a
run process it writes the exit status on that process's status socket.

With full isolation the template process first makes itself pid 1 of a pid namespace
of its own (the started process stays behind only to wait for it), because a
process may start any number of child pid namespaces only from a namespace it
owns. Each run process is then forked straight into a fresh one: one fork per run.

Control protocol (SOCK_SEQPACKET, one JSON object per packet):
  launcher -> pool          {"event": "view", "import_root": ..., "view": "/mnt/textbook" | null, "reason": ...}
  pool -> template process  the configuration (TemplateConfig), paths as the view names them
  template process -> pool  {"event": "hello", "isolation": {...}}
  pool -> template process  {"op": "spawn"}   reply {"pid": ...} + fds [data, status, pidfd]
                                     or   {"error": "..."} without fds
  closing the socket ends the template process, and with it every run process it forked.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any, NoReturn

from . import isolation, linux, run_process, runtime_view, sandbox
from .protocol import IsolationReport, RunnerLimits
from .wire import encode_frame, recv_frame, send_frame

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
class TemplateConfig:
    limits: RunnerLimits
    allow_unsafe: bool
    project_root: str
    hidden_package: str
    hidden_paths: list[str] = field(default_factory=list)
    cuda: dict[str, list[str]] | None = None  # device nodes and driver libraries: a CUDA template
    runtime_view: dict[str, str | None] = field(default_factory=dict)  # from the launcher: root, or why none

    @property
    def device(self) -> str:
        return "cuda" if self.cuda is not None else "cpu"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TemplateConfig:
        return cls(
            limits=RunnerLimits.from_dict(raw["limits"]),
            allow_unsafe=bool(raw["allow_unsafe"]),
            project_root=str(raw["project_root"]),
            hidden_package=str(raw["hidden_package"]),
            hidden_paths=[str(path) for path in raw["hidden_paths"]],
            cuda=raw.get("cuda"),
            runtime_view=dict(raw.get("runtime_view") or {}),
        )

    def forget_host_paths(self) -> None:
        """Once the sandbox is built, the project's paths are not needed (and run processes inherit us)."""
        self.project_root = ""
        self.hidden_paths = []


@dataclass
class RunProcessRecord:
    """What the template process keeps of a live run process until it reaps it."""

    status: socket.socket  # our end: the exit status goes here once we reap the run process
    scratch: str | None  # unsafe mode only: a host temp dir to remove afterwards


class TemplateProcess:
    """The template process's own state: the sandbox plan, the seccomp program, its live run processes."""

    def __init__(self, config: TemplateConfig, ctl: socket.socket) -> None:
        self.config = config
        self.ctl = ctl
        self.plan: sandbox.Plan | None = None
        self.program: bytes | None = None  # compiled seccomp filter
        self.pid_namespace: int | None = None  # fd of our own pid namespace (full mode)
        self.run_processes: dict[int, RunProcessRecord] = {}
        self._scratch_root: str | None = None  # unsafe mode: holds every run's temp dir

    # -- startup -------------------------------------------------------------

    def establish(self) -> IsolationReport:
        """Build the sandbox plan and prove it works by running one probe inside it."""
        unknown: list[str] = []
        try:
            from .seccomp_policy import build_filter

            self.program, unknown = build_filter(deny_list_only=self.config.cuda is not None)
        except Exception as exc:  # noqa: BLE001  (no libseccomp -> reported, not fatal)
            reason = f"seccomp filter unavailable: {type(exc).__name__}: {exc}"
        else:
            report = self._try_full_isolation(unknown)
            if isinstance(report, IsolationReport):
                return report
            reason = report
        report = isolation.fallback_report(
            reason, allow_unsafe=self.config.allow_unsafe, seccomp=self.program is not None
        )
        if report.can_run:
            self.plan = sandbox.Plan("unsafe", self.config.limits, None, None, self.config.device)
        return report

    def _try_full_isolation(self, unknown: list[str]) -> IsolationReport | str:
        package_dir = os.path.join(self.config.project_root, self.config.hidden_package)
        hidden = [package_dir, *runtime_view.editable_install_files(sys.path)]
        try:
            cuda = self.config.cuda or {}
            stage = sandbox.prepare_stage(
                sandbox.runtime_paths(self.config.project_root, whole_library_directories=self.config.cuda is not None),
                hidden,
                cuda_nodes=cuda.get("device_nodes", []),
                cuda_files=cuda.get("driver_libraries", []),
            )
        except OSError as exc:
            return f"could not build the read-only root (mount namespace): {exc}"
        try:
            self._become_pid_namespace_init()
        except OSError as exc:
            sandbox.release_stage(stage)
            return f"could not create pid namespaces: {exc}"
        drop_to = sandbox.choose_drop_uid()
        self.plan = sandbox.Plan("full", self.config.limits, stage, drop_to, self.config.device)
        try:
            problems = isolation.problems_in(self._probe())
        except Exception as exc:  # noqa: BLE001
            problems = [str(exc)]
        if problems:
            # Unsafe mode (if allowed) runs without namespaces: no pid namespace per fork.
            self.plan = None
            if self.pid_namespace is not None:
                os.close(self.pid_namespace)
                self.pid_namespace = None
            sandbox.release_stage(stage)
            return "sandbox self-check failed: " + "; ".join(problems)
        view = self.config.runtime_view
        return isolation.full_report(
            self.config.limits,
            stage,
            drop_to,
            unknown,
            allow_list=self.config.cuda is None,
            runtime_view=(view.get("root"), view.get("reason")),
        )

    def _become_pid_namespace_init(self) -> None:
        linux.unshare(linux.CLONE_NEWPID)
        pid = os.fork()
        if pid != 0:
            _wait_and_exit(pid, self.ctl)
        # We are pid 1 of the new namespace; if the process the pool started dies, so do we.
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
        signal.signal(signal.SIGCHLD, self.reap)
        self.pid_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)

    def _probe(self) -> dict[str, Any]:
        _, pidfd, data, status = self.spawn()
        os.close(pidfd)
        with data, status:
            data.settimeout(_PROBE_TIMEOUT_S)
            ready = recv_frame(data, 1 << 16)
            if ready is None or ready.get("event") != "ready":
                message = (ready or {}).get("message") or "the sandboxed process died while starting"
                raise RuntimeError(message)
            send_frame(data, {"probe": self.config.hidden_paths})
            reply = recv_frame(data, 1 << 20)
        if reply is None or reply.get("event") != "probe":
            raise RuntimeError("the sandboxed probe gave no answer")
        return dict(reply["facts"])

    # -- serving -------------------------------------------------------------

    def spawn(self) -> tuple[int, int, socket.socket, socket.socket]:
        """Fork one run process; return (pid, pidfd, data socket, status socket), the pool's ends."""
        assert self.plan is not None
        result_ours, result_theirs = socket.socketpair()
        status_ours, status_theirs = socket.socketpair()
        status_theirs.setblocking(False)
        scratch = tempfile.mkdtemp(dir=self._unsafe_scratch_root()) if self.plan.mode == "unsafe" else None
        base_vm = linux.virtual_memory_bytes()
        # Hold SIGCHLD so the reaper cannot collect the run process before it is registered.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        try:
            if self.pid_namespace is not None:
                sandbox.new_pid_namespace_for_next_fork(self.pid_namespace)
            pid = os.fork()
            if pid == 0:
                try:
                    self.run_processes.clear()  # other runs' pids are none of this one's business
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
                    hidden = self.config.hidden_package
                    run_process.main(self.plan, self.program, result_theirs, base_vm, hidden, scratch)
                finally:
                    os._exit(1)
            pidfd = os.pidfd_open(pid)
            self.run_processes[pid] = RunProcessRecord(status_theirs, scratch)
        except OSError:
            for sock in (result_ours, result_theirs, status_ours, status_theirs):
                sock.close()
            raise
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        result_theirs.close()
        return pid, pidfd, result_ours, status_ours

    def _unsafe_scratch_root(self) -> str:
        if self._scratch_root is None:
            self._scratch_root = tempfile.mkdtemp(prefix="textbook-snippets-")
        return self._scratch_root

    def shutdown(self) -> None:
        """End every run process still alive (ready ones included) and remove unsafe-mode temp dirs."""
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        for pid in list(self.run_processes):
            try:
                os.kill(pid, signal.SIGKILL)  # not reaped yet, so the pid is still theirs
                os.waitpid(pid, 0)
            except OSError:
                pass
            live = self.run_processes.pop(pid)
            live.status.close()
            if live.scratch is not None:
                _kill_group(pid)
        if self._scratch_root is not None:
            shutil.rmtree(self._scratch_root, ignore_errors=True)

    def reap(self, signum: int, frame: Any) -> None:
        """SIGCHLD: collect finished run processes and tell the pool how each one ended."""
        while True:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            live = self.run_processes.pop(pid, None)
            if live is None:
                continue
            try:
                live.status.send(encode_frame(exit_frame(wait_status)))
            except OSError:
                pass  # the pool already gave up on this run
            live.status.close()
            if live.scratch is not None:
                _kill_group(pid)  # without a pid namespace, stragglers are only in its session
                shutil.rmtree(live.scratch, ignore_errors=True)

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


def _wait_and_exit(pid: int, ctl: socket.socket) -> NoReturn:
    """The process the pool started, once the template process lives on as `pid`: wait, then go."""
    ctl.close()  # only the template process itself may hold the control socket
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the reaper must not take our wait
    code = 1
    try:
        _, wait_status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(wait_status)
    finally:
        os._exit(code if 0 <= code < 256 else 1)


def exit_frame(wait_status: int) -> dict[str, Any]:
    """How a run process ended, as the template process reports it after reaping it."""
    if os.WIFSIGNALED(wait_status):
        return {"event": "exit", "code": None, "signal": os.WTERMSIG(wait_status)}
    return {"event": "exit", "code": os.WEXITSTATUS(wait_status), "signal": None}


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def _forget_the_command_line(raw_config: dict[str, Any]) -> None:
    """Run processes inherit this memory: keep no project path where a snippet could look.

    The boot code's globals hold the configuration (cleared here); the project
    directory leaves sys.path once our modules are imported; argv keeps only the
    interpreter (the boot code names no path). The interpreter's own names for
    where it runs from (a virtualenv inside the project, in a checkout) become the
    system Python's: nothing reads them once the imports are done.
    """
    import_root = str(raw_config.get("import_root", ""))
    raw_config.clear()
    while import_root in sys.path:
        sys.path.remove(import_root)
    sys.path_importer_cache.pop(import_root, None)
    sys.argv = [""]
    _forget_the_runtime_location()


def _forget_the_runtime_location() -> None:
    """sys.executable, the prefixes and orig_argv[0] name the base interpreter, not the virtualenv.

    What stays: sys.path's site-packages entry and the file names of the modules imported from
    it (NumPy, matplotlib, and our executor's code on the stack): later imports need those.
    They name the runtime view (runtime_view.py: /mnt/textbook), not the checkout, unless the
    launcher could make no view (the isolation report then says why).
    """
    base = str(getattr(sys, "_base_executable", ""))  # a virtualenv's interpreter is a link to this one
    executable = base if os.path.isfile(base) and _within_prefix(base, sys.base_exec_prefix) else ""
    sys.executable = executable
    sys._base_executable = executable  # type: ignore[attr-defined]
    sys.prefix, sys.exec_prefix = sys.base_prefix, sys.base_exec_prefix
    sys.orig_argv = [executable or "python", *sys.orig_argv[1:]]


def _within_prefix(path: str, prefix: str) -> bool:
    return os.path.realpath(path).startswith(os.path.realpath(prefix).rstrip("/") + "/")


def _warm_up() -> None:
    """Run a representative snippet so lazily imported modules and caches are in the template process."""
    import builtins

    import matplotlib.font_manager
    import numpy

    from . import executor

    builtins.plot_xy = executor.plot_xy  # type: ignore[attr-defined]
    main_module, argv = sys.modules["__main__"], sys.argv
    executor.execute_snippet(_WARM_UP_SNIPPET, RunnerLimits())
    sys.modules["__main__"], sys.argv = main_module, argv
    del builtins.plot_xy  # type: ignore[attr-defined]
    numpy.random.seed()  # its first call imports and initialises lazily; run processes reseed too
    # Cached fonts hold open files whose offsets forks would share; run processes reopen them.
    matplotlib.font_manager._get_font.cache_clear()  # type: ignore[attr-defined]  # private, not in the stubs
    gc.collect()
    gc.freeze()  # keep the template process's objects out of run processes' GC passes (fewer copied pages)


def main(ctl: socket.socket, raw_config: dict[str, Any]) -> None:
    config = TemplateConfig.from_dict(raw_config)
    template = TemplateProcess(config, ctl)
    signal.signal(signal.SIGCHLD, template.reap)
    _warm_up()
    if config.device == "cuda":
        from .cuda import warm_up as cuda_warm_up

        cuda_warm_up()  # CuPy's modules loaded once; CUDA itself is left to each run
    report = template.establish()
    config.forget_host_paths()
    _forget_the_command_line(raw_config)
    hello = {"event": "hello", "isolation": report.to_dict()}
    ctl.send(json.dumps(hello).encode())
    if report.can_run:
        try:
            template.serve()
        finally:
            template.shutdown()
