"""The pool's handle on the template process: start it, ask it to fork run processes, replace it.

Starting it runs the launcher (runtime_view.py), which reports where the runtime
view put our package and then becomes the template process; only then does the
pool send the configuration, with paths as the view names them.

Each run process arrives as a `RunProcess`: its result channel (the socket to
the snippet's process), the status socket on which the template process
reports how it ended, and a pidfd, so killing it can never hit a recycled pid.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
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
from .runtime_view import launcher_command
from .sandbox import LIBRARY_ENVIRONMENT

_PACKAGE_DIR = Path(__file__).resolve().parent
_TOP_PACKAGE = __name__.split(".")[0]
_IMPORT_ROOT = _PACKAGE_DIR.parents[len(__name__.split(".")) - 2]
# Paths every probe must find absent inside the sandbox (besides our package, wherever the view put it).
_ABSENT_IN_RUNS = ["/etc/passwd", "/home", "/proc/self"]


class TemplateDied(RunnerError):
    """The template process is gone; the pool starts a new one."""


@dataclass
class RunProcess:
    """One run process, seen from the pool: its two sockets, and a pidfd so it is killed without pid races."""

    pid: int
    pidfd: int  # the snippet's process: pid 1 of its namespace, so killing it kills all of it
    channel: socket.socket  # the result channel: to and from the snippet's process (untrusted)
    status: socket.socket  # from the template process: how the run process ended
    template_pid: int  # the template process that forked it: it dies with that template process
    status_channel: Channel = field(init=False)
    host_pid: int | None = field(init=False)  # its pid as this process sees it, to read its CPU time
    closed: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.status_channel = Channel(self.status, 1 << 16)
        self.host_pid = _pid_of_pidfd(self.pidfd)

    def kill(self) -> None:
        if self.closed:
            return
        try:
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
        except OSError:
            pass

    def gone(self) -> bool:
        """Whether the process has exited (its pidfd polls readable)."""
        if self.closed:
            return True
        ready, _, _ = select.select([self.pidfd], [], [], 0)
        return bool(ready)

    async def wait_gone(self, timeout_s: float | None = None) -> bool:
        """Wait until the process has exited (its pidfd turns readable)."""
        if self.closed:
            return True
        try:
            await asyncio.wait_for(wait_readable(self.pidfd), timeout_s)
        except TimeoutError:
            return False
        return True

    def cpu_seconds(self) -> float | None:
        """CPU time the process (all its threads) has used so far; None once it cannot be read."""
        if self.host_pid is None or self.gone():
            return None
        try:
            with open(f"/proc/{self.host_pid}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            return None
        if self.gone():  # it may have been reaped, and its pid reused, while we read
            return None
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    async def finish(self) -> None:
        """Kill the process, wait until it is gone, close every handle: nothing of it is left."""
        if self.closed:
            return
        self.kill()
        try:
            # SIGKILL ends it within milliseconds; the bound only guards against a kernel that never says so.
            await asyncio.shield(self.wait_gone(_GONE_TIMEOUT_S))
        finally:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.channel.close()
        self.status.close()
        os.close(self.pidfd)


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_GONE_TIMEOUT_S = 30.0


def _pid_of_pidfd(pidfd: int) -> int | None:
    """The pid a pidfd refers to, in this process's pid namespace (from /proc/self/fdinfo)."""
    try:
        with open(f"/proc/self/fdinfo/{pidfd}") as handle:
            for line in handle:
                if line.startswith("Pid:"):
                    pid = int(line.split()[1])
                    return pid if pid > 0 else None
    except (OSError, ValueError):
        pass
    return None


def template_environment() -> dict[str, str]:
    """The template process's whole environment: nothing of the server's (secrets live there)."""
    mpl_dir = os.environ.get("MPLCONFIGDIR") or _matplotlib_cache_dir()
    return {
        "PATH": os.defpath,
        **LIBRARY_ENVIRONMENT,
        # Per-thread malloc arenas reserve 64 MB of address space each, which RLIMIT_AS counts.
        "MALLOC_ARENA_MAX": "2",
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


class TemplateHandle:
    """The pool's side of one template process at a time: start, spawn run processes, stop."""

    def __init__(
        self,
        limits: RunnerLimits,
        *,
        allow_unsafe: bool,
        python: str | None = None,
        cuda: dict[str, list[str]] | None = None,
    ) -> None:
        self._limits = limits
        self._cuda = cuda
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
        with theirs:
            # Popen only forks and execs here; the slow part (imports) is awaited below.
            self._process = subprocess.Popen(  # noqa: ASYNC220
                launcher_command(self._python, theirs.fileno(), str(_IMPORT_ROOT)),
                pass_fds=[theirs.fileno()],
                env=template_environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                cwd="/",
                start_new_session=True,  # the server's terminal signals are not the template's
            )
        ours.setblocking(False)
        try:
            message, _ = await asyncio.wait_for(self._configure(ours), timeout_s)
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

    async def _configure(self, ours: socket.socket) -> tuple[bytes, list[int]]:
        """The launcher says where the view put our package; the template gets its configuration, says hello."""
        message, _ = await _receive(ours)
        view = json.loads(message)
        import_root = str(view["import_root"])
        config = {
            "import_root": import_root,
            "limits": self._limits.to_dict(),
            "allow_unsafe": self._allow_unsafe,
            "project_root": import_root,
            "hidden_package": _TOP_PACKAGE,
            "hidden_paths": [os.path.join(import_root, _TOP_PACKAGE), *_ABSENT_IN_RUNS],
            "cuda": self._cuda,
            "runtime_view": {"root": view["view"], "reason": view["reason"]},
        }
        ours.send(json.dumps(config).encode())  # waits in the socket until the template process reads it
        return await _receive(ours)

    async def spawn(self) -> RunProcess:
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
            raise RunnerError(str(reply.get("error", "the sandbox template process sent no run process")))
        channel, status = socket.socket(fileno=fds[0]), socket.socket(fileno=fds[1])
        channel.setblocking(False)
        status.setblocking(False)
        assert self._process is not None
        pid, template_pid = int(reply["pid"]), self._process.pid
        return RunProcess(pid=pid, pidfd=fds[2], channel=channel, status=status, template_pid=template_pid)

    def _mark_dead(self) -> None:
        if self._ctl is not None:
            self._ctl.close()
            self._ctl = None

    async def stop(self) -> None:
        self._mark_dead()  # EOF on its control socket makes the template process exit
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
