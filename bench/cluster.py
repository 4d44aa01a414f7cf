"""Real replicas behind a real load balancer on loopback, for the fault tests and bench/scale.py.

`Replica`: one `textbook serve` process on a fixed loopback port (so it can be stopped
and started again where the balancer expects it). `Balancer`: Debian's HAProxy in the
foreground, round robin over the replicas, health-checking `/readyz` every 200 ms,
one connection per request to the replicas (no idle connection a stopping replica
could close under a request), connection failures retried on another replica, and
its own `X-Request-ID` on every request it forwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from bench.server import ROOT, free_port

HAPROXY = "/usr/sbin/haproxy"


def wait_until(predicate, timeout_s: float, what: str, interval_s: float = 0.05) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


def answers(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=2).status_code
    except httpx.HTTPError:
        return None


class Replica:
    def __init__(self, name: str, data_dir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / f"{name}.log"
        data_dir.mkdir(parents=True, exist_ok=True)

    def start(self, timeout_s: float = 90) -> None:
        environment = {
            **os.environ,
            "TEXTBOOK_PORT": str(self.port),
            "TEXTBOOK_DATA_DIR": str(self.data_dir),
            "TEXTBOOK_LOG_LEVEL": "warning",
            **self.env,
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve"],
                cwd=ROOT,
                env=environment,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        process = self.process

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"replica {self.name} exited with {process.returncode}: see {self.log_path}")
            return answers(f"{self.base}/readyz") == 200

        wait_until(ready, timeout_s, f"replica {self.name} to be ready")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the replica's whole process group (server, sandbox template, chart renderer)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def terminate(self, timeout_s: float = 60) -> int:
        """SIGTERM (drain, then exit) and wait; returns the exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)

    def stop(self) -> None:
        if self.running:
            try:
                self.terminate(timeout_s=20)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # anything of its group left behind
            except ProcessLookupError:
                pass


def haproxy_config(port: int, replicas: Sequence[Replica]) -> str:
    servers = "\n".join(f"    server {r.name} 127.0.0.1:{r.port} check" for r in replicas)
    return textwrap.dedent(
        """\
        global
            maxconn 4000
        defaults
            mode http
            timeout connect 2s
            timeout client 60s
            timeout server 60s
            timeout check 2s
            retries 3
            option redispatch 1
            option http-server-close
        frontend textbook
            bind 127.0.0.1:{port}
            unique-id-format %{{+X}}o\\ %Ts%rt%pid%ci%cp
            unique-id-header X-Request-ID
            default_backend replicas
        backend replicas
            balance roundrobin
            option httpchk GET /readyz
            default-server inter 200ms fastinter 100ms downinter 200ms fall 1 rise 2
        {servers}
        """
    ).format(port=port, servers=servers)


class Balancer:
    def __init__(self, replicas: Sequence[Replica], work_dir: Path) -> None:
        if not Path(HAPROXY).exists():
            raise RuntimeError("HAProxy is not installed (/usr/sbin/haproxy); `./dev test` installs Debian's haproxy")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        work_dir.mkdir(parents=True, exist_ok=True)
        self.config = work_dir / "haproxy.cfg"
        self.config.write_text(haproxy_config(self.port, replicas))
        self.replicas = replicas
        self.log_path = work_dir / "haproxy.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        check = subprocess.run([HAPROXY, "-c", "-q", "-f", str(self.config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused its configuration: {check.stdout}{check.stderr}")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [HAPROXY, "-db", "-f", str(self.config)], stdout=log, stderr=log, start_new_session=True
            )
        wait_until(lambda: answers(f"{self.base}/readyz") == 200, 30, "haproxy to route to a replica")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def replicas_behind_balancer(
    work_dir: Path, count: int, env: dict[str, str]
) -> Iterator[tuple[list[Replica], Balancer]]:
    """`count` replicas (started in parallel) with the same env, and HAProxy in front."""
    with ExitStack() as stack:
        replicas = [Replica(f"r{n + 1}", work_dir / f"r{n + 1}", env) for n in range(count)]
        for replica in replicas:
            stack.callback(replica.stop)
        start_all(replicas)
        balancer = Balancer(replicas, work_dir)
        stack.callback(balancer.stop)
        balancer.start()
        yield replicas, balancer


def start_all(replicas: Sequence[Replica]) -> None:
    import threading

    errors: list[BaseException] = []

    def start(replica: Replica) -> None:
        try:
            replica.start()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=start, args=(r,)) for r in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def haproxy_available() -> bool:
    return shutil.which("haproxy") is not None or Path(HAPROXY).exists()
