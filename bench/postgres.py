"""A throwaway PostgreSQL server from the machine's own binaries, for tests and benchmarks.

`initdb` + `pg_ctl` from /usr/lib/postgresql/*/bin (Debian's `postgresql` package),
a data directory in a fresh temp folder, 127.0.0.1 on a free port, trust auth for the
loopback only. PostgreSQL refuses to run as root, so as root the server runs as
`nobody` (the data directory is handed to it). `stop()`/`start()` are for the fault
tests (the database going away under load and coming back on the same data).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bench.server import free_port

SUPERUSER = "textbook"


def postgres_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb, or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    return Path(candidates[-1]).parent if candidates else None


class PostgresServer:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="textbook-pg-"))  # /tmp itself: reachable by `nobody`
        self.data_dir = self.root / "data"
        self.port = free_port()
        self.user = "nobody" if os.geteuid() == 0 else None
        self.log_file = self.root / "server.log"

    # -- lifecycle -------------------------------------------------------------

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin_dir / command[0]), *command[1:]],
            user=self.user,
            cwd=self.root,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"},
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def init(self) -> None:
        if self.user:
            account = pwd.getpwnam(self.user)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        os.chmod(self.root, 0o700)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        settings = [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.root}'",
            "max_connections = 200",
            "shared_buffers = 32MB",
            # A test server: no fsync (a crash of the machine is not what the tests break;
            # the fault tests stop the *server*, and committed WAL is in the OS cache).
            "fsync = off",
            "full_page_writes = off",
            "log_min_messages = warning",
        ]
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n" + "\n".join(settings) + "\n")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases -------------------------------------------------------------

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "textbook") -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise RuntimeError(
            "PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb); `./dev test` installs Debian's postgresql"
        )
    server = PostgresServer(bin_dir)
    try:
        server.init()
        started = time.monotonic()
        server.start()
        server.startup_s = time.monotonic() - started  # type: ignore[attr-defined]
        yield server
    finally:
        server.remove()
