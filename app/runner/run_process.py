"""The run process: the process forked from the template process for a single snippet.

It is born as pid 1 of a fresh pid namespace (the template process arranged
that), enters the rest of the sandbox, says "ready" on its result channel,
reads one request, runs it with the executor, writes one result frame and
exits. Nothing it does can outlive it: when pid 1 of a pid namespace exits,
the kernel kills every other process in it. Its exit status is reported by the
template process, which reaps it, on a second socket the snippet never holds.

`main` ends in os._exit(): a fork of the template process must never return
into the template process's loop.
"""

from __future__ import annotations

import os
import socket
from typing import Any, NoReturn

from . import sandbox
from .executor import execute_snippet, prepare_interpreter
from .probe import sandbox_facts
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


def main(
    plan: sandbox.Plan,
    seccomp_program: bytes | None,
    channel: socket.socket,
    base_vm: int,
    hidden_package: str,
    scratch: str | None,
) -> NoReturn:
    """Enter the sandbox, serve one request on `channel` (the result channel), exit."""
    try:
        try:
            if plan.mode == "full":
                assert seccomp_program is not None
                sandbox.enter(plan, channel.fileno(), seccomp_program, base_vm)
            else:
                assert scratch is not None
                sandbox.enter_unsafe(plan, channel.fileno(), seccomp_program, base_vm, scratch)
            # Touch now, while idle, the pages a typical run writes to (copy-on-write faults),
            # so the request does not pay for them. Nothing of it survives into the run.
            execute_snippet(PREFAULT_SNIPPET, plan.limits)
            prepare_interpreter(hidden_package)
        except BaseException as exc:  # noqa: BLE001  (report any setup failure, then stop)
            send_frame(channel, {"event": "setup_error", "message": f"{type(exc).__name__}: {exc}"})
            os._exit(SETUP_FAILED)
        send_frame(channel, {"event": "ready"})
        request = recv_frame(channel, _MAX_REQUEST)
        if request is None:
            os._exit(0)  # an unused ready run process being retired
        if "probe" in request:
            result = {"event": "probe", "facts": sandbox_facts(request["probe"])}
        else:
            result = _execute_or_explain(str(request.get("code", "")), plan)  # on the plan's device, whatever it asks
        send_frame(channel, result)
    finally:
        os._exit(0)


def _execute_or_explain(code: str, plan: sandbox.Plan) -> dict[str, Any]:
    try:
        return execute_snippet(code, plan.limits, plan.device)
    except MemoryError:
        status, message = "memory_limit", "the snippet ran out of memory (its output was lost)"
    except BaseException as exc:  # noqa: BLE001  (e.g. a snippet that broke sys or builtins)
        status, message = "error", f"the runner could not collect the result: {type(exc).__name__}"
    return {"event": "result", "status": status, "stdout": "", "stderr": message + "\n", "figures": []}
