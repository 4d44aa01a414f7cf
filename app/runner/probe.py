"""What a probe run observes from inside a fresh sandbox, for the startup self-check.

The template process runs one probe at startup; `isolation.py` judges these
facts. Runs inside the sandbox, so it only looks and reports.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any


def sandbox_facts(hidden_paths: list[str]) -> dict[str, Any]:
    """Observations made from inside a fresh sandbox."""
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


def _refused(action: Callable[[], object]) -> bool:
    try:
        action()
    except OSError:
        return True
    return False
