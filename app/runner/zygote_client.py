"""The pool's side of the template process: start it, ask it to fork runs, replace it.

Each spawned run arrives as a `SpawnedRun`: the data socket to the snippet's
process, the status socket from its supervising fork, and a pidfd for that
fork, so killing a run can never hit a recycled pid.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .channel import Channel, wait_readable
from .protocol import IsolationReport, RunnerError, RunnerLimits

_PACKAGE_DIR = Path(__file__).resolve().parent
_TOP_PACKAGE = __name__.split(".")[0]
_IMPORT_ROOT = _PACKAGE_DIR.parents[len(__name__.split(".")) - 2]
_ZYGOTE_MODULE = __name__.rsplit(".", 1)[0] + ".zygote"
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    f"from {_ZYGOTE_MODULE} import main; main(sys.argv[2])"
)


class TemplateDied(RunnerError):
    """The template process is gone; the pool starts a new one."""


@dataclass
class SpawnedRun:
    """One forked run: its two sockets, and a pidfd so it is killed without pid races."""

    pid: int
    pidfd: int  # the snippet's process: pid 1 of its namespace, so killing it kills all of it
    data: socket.socket  # to and from the snippet's process (untrusted)
    status: socket.socket  # from the template: how the process ended
    template_pid: int  # the template that forked it: the run dies with that template
    status_channel: Channel = field(init=False)

    def __post_init__(self) -> None:
        self.status_channel = Channel(self.status, 1 << 16)

    def kill(self) -> None:
        try:
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        except OSError:
            pass

    async def wait_gone(self, timeout_s: float) -> bool:
        """Wait until the process has exited (its pidfd turns readable)."""
        try:
            await asyncio.wait_for(wait_readable(self.pidfd), timeout_s)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.data.close()
        self.status.close()
        try:
            os.close(self.pidfd)
        except OSError:
            pass


def template_environment() -> dict[str, str]:
    """The template's whole environment: nothing of the server's (secrets live there)."""
    mpl_dir = os.environ.get("MPLCONFIGDIR") or _matplotlib_cache_dir()
    return {
        "PATH": os.defpath,
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        # Per-thread malloc arenas reserve 64 MB of address space each, which RLIMIT_AS counts.
        "MALLOC_ARENA_MAX": "2",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": mpl_dir,
    }


def _matplotlib_cache_dir() -> str:
    """A font-cache dir reused across restarts, but only if it is really ours (it is in /tmp)."""
    path = os.path.join(tempfile.gettempdir(), f"textbook-mpl-{os.geteuid()}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.lstat(path)
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o022:
        return path
    return tempfile.mkdtemp(prefix="textbook-mpl-")


class TemplateProcess:
    def __init__(self, limits: RunnerLimits, *, allow_unsafe: bool, python: str | None = None) -> None:
        self._limits = limits
        self._allow_unsafe = allow_unsafe
        self._python = python or sys.executable
        self._process: subprocess.Popen[bytes] | None = None
        self._ctl: socket.socket | None = None
        self._lock = asyncio.Lock()
        self.isolation = IsolationReport("none", ["the code runner has not started"])

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None and self._ctl is not None

    async def start(self, timeout_s: float) -> IsolationReport:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config = {
            "ctl_fd": theirs.fileno(),
            "limits": self._limits.to_dict(),
            "allow_unsafe": self._allow_unsafe,
            "project_root": str(_IMPORT_ROOT),
            "hidden_package": _TOP_PACKAGE,
            "hidden_paths": [str(_IMPORT_ROOT / _TOP_PACKAGE), "/etc/passwd", "/home", "/proc/self"],
        }
        with theirs:
            # Popen only forks and execs here; the slow part (imports) is awaited below.
            self._process = subprocess.Popen(  # noqa: ASYNC220
                [self._python, "-I", "-c", _BOOT, str(_IMPORT_ROOT), json.dumps(config)],
                pass_fds=[theirs.fileno()],
                env=template_environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                cwd="/",
                start_new_session=True,  # the server's terminal signals are not the template's
            )
        ours.setblocking(False)
        try:
            message, _ = await asyncio.wait_for(_receive(ours), timeout_s)
        except (TimeoutError, TemplateDied) as exc:
            ours.close()
            await self.stop()
            reason = "timed out" if isinstance(exc, TimeoutError) else "exited"
            self.isolation = IsolationReport("none", [f"the sandbox template process {reason} during startup"])
            return self.isolation
        hello = json.loads(message)
        isolation = hello["isolation"]
        self.isolation = IsolationReport(isolation["level"], list(isolation["details"]))
        # Only now is it usable: spawn() treats a template without a control socket as dead.
        self._ctl = ours
        if not self.isolation.can_run:
            await self.stop()
        return self.isolation

    async def spawn(self) -> SpawnedRun:
        async with self._lock:
            if not self.alive:
                raise TemplateDied("the sandbox template is not running")
            assert self._ctl is not None
            try:
                await asyncio.get_running_loop().sock_sendall(self._ctl, b'{"op": "spawn"}')
            except OSError:
                raise TemplateDied("the sandbox template is not running") from None
            try:
                message, fds = await _receive(self._ctl)
            except TemplateDied:
                self._mark_dead()
                raise
        reply = json.loads(message)
        if "error" in reply or len(fds) != 3:
            for fd in fds:
                os.close(fd)
            raise RunnerError(str(reply.get("error", "the sandbox template sent no process")))
        data, status = socket.socket(fileno=fds[0]), socket.socket(fileno=fds[1])
        data.setblocking(False)
        status.setblocking(False)
        assert self._process is not None
        return SpawnedRun(pid=int(reply["pid"]), pidfd=fds[2], data=data, status=status, template_pid=self._process.pid)

    def _mark_dead(self) -> None:
        if self._ctl is not None:
            self._ctl.close()
            self._ctl = None

    async def stop(self) -> None:
        self._mark_dead()  # EOF on its control socket makes the template exit
        process, self._process = self._process, None
        if process is None:
            return
        for _ in range(50):
            if process.poll() is not None:
                return
            await asyncio.sleep(0.02)
        process.kill()
        await asyncio.to_thread(process.wait)


async def _receive(sock: socket.socket) -> tuple[bytes, list[int]]:
    """One control packet and the fds that came with it; TemplateDied on EOF."""
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 65536, 3, socket.MSG_CMSG_CLOEXEC)
        except BlockingIOError:
            await wait_readable(sock.fileno())
            continue
        except OSError:
            message, fds = b"", []
        if not message:
            raise TemplateDied("the sandbox template exited")
        return message, list(fds)
