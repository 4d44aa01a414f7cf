"""One run: the process forked from the template for a single snippet.

It is born as pid 1 of a fresh pid namespace (the template arranged that),
enters the rest of the sandbox, says "ready" on its data socket, reads one
request, runs it, writes one result frame and exits. Nothing it does can
outlive it: when pid 1 of a pid namespace exits, the kernel kills every other
process in it. Its exit status is reported by the template, which reaps it, on
a second socket the snippet never holds.

`run_process` ends in os._exit(): a fork of the template must never return
into the template's loop.
"""

from __future__ import annotations

import os
import socket
from typing import Any, NoReturn

from . import sandbox
from .child import execute_snippet, prepare_interpreter
from .wire import recv_frame, send_frame

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


def run_process(
    plan: sandbox.Plan,
    seccomp_program: bytes | None,
    data: socket.socket,
    base_vm: int,
    hidden_package: str,
    scratch: str | None,
) -> NoReturn:
    try:
        try:
            if scratch is None:
                assert seccomp_program is not None
                sandbox.enter(plan, data.fileno(), seccomp_program, base_vm)
            else:
                sandbox.enter_unsafe(plan, data.fileno(), seccomp_program, base_vm, scratch)
            # Touch now, while idle, the pages a typical run writes to (copy-on-write faults),
            # so the request does not pay for them. Nothing of it survives into the run.
            execute_snippet(PREFAULT_SNIPPET, plan.limits)
            prepare_interpreter(hidden_package)
        except BaseException as exc:  # noqa: BLE001  (report any setup failure, then stop)
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


def exit_frame(wait_status: int) -> dict[str, Any]:
    """How a run ended, as the template reports it after reaping the process."""
    if os.WIFSIGNALED(wait_status):
        return {"event": "exit", "code": None, "signal": os.WTERMSIG(wait_status)}
    return {"event": "exit", "code": os.WEXITSTATUS(wait_status), "signal": None}


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
