"""The two processes of one run, forked from the template.

outer (first fork): enters the namespaces, forks `inner`, waits for it and
reports its exit status on the *status* socket, which the snippet cannot reach
(inner closes its copy before anything untrusted runs).

inner (second fork, pid 1 of the new pid namespace): finishes the lockdown,
says "ready" on the *data* socket, reads one request, runs it, writes one
result frame and exits. Nothing it does can outlive it: when pid 1 of a pid
namespace exits, the kernel kills every other process in it.

Both functions end in os._exit(): a fork of the template must never return
into the template's loop.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
from typing import Any, NoReturn

from . import sandbox
from .child import execute_snippet, prepare_interpreter
from .wire import encode_frame, recv_frame, send_frame

SETUP_FAILED = 70
_MAX_REQUEST = 1 << 20
PREFAULT_SNIPPET = """
import numpy as np
rng = np.random.default_rng(0)
a = rng.normal(0, 1, (16, 16))
b = a @ a.T + (a @ a.T) @ a.T
u, s, vt = np.linalg.svd(a)
print(f"{a.shape[0]:,} {100 * float(s[0]):.2f} %", np.allclose(b, b), float(np.linalg.norm(a)))
"""


def run_outer(
    plan: sandbox.Plan,
    seccomp_filter: Any,
    data: socket.socket,
    status: socket.socket,
    base_vm: int,
    hidden_package: str,
) -> NoReturn:
    try:
        try:
            scratch = None if plan.mode == "full" else sandbox.enter_outer_unsafe()
            if plan.mode == "full":
                sandbox.enter_outer(plan)
        except BaseException as exc:  # noqa: BLE001  (report any setup failure, then stop)
            send_frame(status, {"event": "setup_error", "message": f"{type(exc).__name__}: {exc}"})
            os._exit(SETUP_FAILED)
        inner = os.fork()
        if inner == 0:
            status.close()
            run_inner(plan, seccomp_filter, data, base_vm, hidden_package, scratch)
        data.close()
        # Hand the pool a pidfd of the snippet's process: it can then kill it and see it gone
        # without trusting pids (the pid namespace dies with it).
        inner_fd = os.pidfd_open(inner)
        socket.send_fds(status, [encode_frame({"event": "started"})], [inner_fd])
        os.close(inner_fd)
        _, wait_status = os.waitpid(inner, 0)
        if scratch is not None:
            _kill_group(inner)  # without a pid namespace, stragglers are only in its session
            shutil.rmtree(scratch, ignore_errors=True)
        send_frame(status, _exit_frame(wait_status))
    finally:
        os._exit(0)


def run_inner(
    plan: sandbox.Plan,
    seccomp_filter: Any,
    data: socket.socket,
    base_vm: int,
    hidden_package: str,
    scratch: str | None,
) -> NoReturn:
    try:
        try:
            if scratch is None:
                sandbox.enter_inner(plan, data.fileno(), seccomp_filter, base_vm)
            else:
                sandbox.enter_inner_unsafe(plan, data.fileno(), seccomp_filter, base_vm, scratch)
            # Touch now, while idle, the pages a typical run writes to (copy-on-write faults),
            # so the request does not pay for them. Nothing of it survives into the run.
            execute_snippet(PREFAULT_SNIPPET, plan.limits)
            prepare_interpreter(hidden_package)
        except BaseException as exc:  # noqa: BLE001
            send_frame(data, {"event": "setup_error", "message": f"{type(exc).__name__}: {exc}"})
            os._exit(SETUP_FAILED)
        send_frame(data, {"event": "ready"})
        request = recv_frame(data, _MAX_REQUEST)
        if request is None:
            os._exit(0)  # an unused spare being retired
        if "probe" in request:
            result = {"event": "probe", "facts": sandbox_facts(request["probe"])}
        else:
            result = _execute_or_explain(str(request.get("code", "")), plan)
        send_frame(data, result)
    finally:
        os._exit(0)


def _execute_or_explain(code: str, plan: sandbox.Plan) -> dict[str, Any]:
    try:
        return execute_snippet(code, plan.limits)
    except MemoryError:
        status, message = "memory_limit", "the snippet ran out of memory (its output was lost)"
    except BaseException as exc:  # noqa: BLE001  (e.g. a snippet that broke sys or builtins)
        status, message = "error", f"the runner could not collect the result: {type(exc).__name__}"
    return {"event": "result", "status": status, "stdout": "", "stderr": message + "\n", "figures": []}


def sandbox_facts(hidden_paths: list[str]) -> dict[str, Any]:
    """Observations made from inside a fresh sandbox, for the startup self-check."""
    facts: dict[str, Any] = {"pid": os.getpid(), "uid": os.getuid(), "gid": os.getgid()}
    facts["hidden"] = {path: _absent_or_empty(path) for path in hidden_paths}
    facts["network_refused"] = _refused(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    facts["fork_refused"] = _refused(_fork_and_exit)
    facts["root_read_only"] = _refused(lambda: os.close(os.open("/probe-write", os.O_WRONLY | os.O_CREAT)))
    facts["environment"] = sorted(os.environ)
    return facts


def _absent_or_empty(path: str) -> bool:
    try:
        return not os.listdir(path) if os.path.isdir(path) else not os.path.exists(path)
    except OSError:
        return True


def _fork_and_exit() -> None:
    if os.fork() == 0:
        os._exit(0)


def _refused(action: Any) -> bool:
    try:
        action()
    except OSError:
        return True
    return False


def _exit_frame(wait_status: int) -> dict[str, Any]:
    if os.WIFSIGNALED(wait_status):
        return {"event": "exit", "code": None, "signal": os.WTERMSIG(wait_status)}
    return {"event": "exit", "code": os.WEXITSTATUS(wait_status), "signal": None}


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
