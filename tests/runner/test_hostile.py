"""Hostile snippets: each must be contained, and the next ordinary run must still work."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.runner.sandbox import SANDBOX_UID
from tests.runner.conftest import (
    SECRET_NAME,
    SECRET_VALUE,
    TEST_LIMITS,
    PoolHarness,
    assert_still_works,
    busy_descendants,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox(fresh_runner: PoolHarness) -> Iterator[PoolHarness]:
    template_pid = fresh_runner.pool.template_pid
    yield fresh_runner
    assert_still_works(fresh_runner)
    assert fresh_runner.pool.template_pid == template_pid  # contained, not recovered from


def test_infinite_loop_times_out_and_is_killed(sandbox: PoolHarness) -> None:
    code = (
        "import threading\ndef spin():\n    while True:\n        pass\nthreading.Thread(target=spin).start()\nspin()\n"
    )
    result = sandbox.run(code)
    assert result.status == "timeout"
    assert TEST_LIMITS.wall_s * 1000 <= result.elapsed_ms < TEST_LIMITS.wall_s * 1000 + 1000
    template_pid = sandbox.pool.template_pid
    assert template_pid is not None
    assert busy_descendants(template_pid) == []  # the spinning process (and its thread) are gone


def test_sleep_times_out(sandbox: PoolHarness) -> None:
    result = sandbox.run("import time\nprint('going to sleep', flush=True)\ntime.sleep(100)\n")
    assert result.status == "timeout"


@pytest.mark.parametrize(
    "code",
    [
        "x = [0] * (10 ** 10)\n",
        "hoard = []\nwhile True:\n    hoard.append(bytearray(8 * 2 ** 20))\n",
        "import numpy as np\na = np.ones((10 ** 6, 10 ** 4))\n",
    ],
    ids=["list", "growing-list", "numpy-ones"],
)
def test_memory_bombs_hit_the_memory_limit(sandbox: PoolHarness, code: str) -> None:
    result = sandbox.run(code)
    assert result.status == "memory_limit", result
    assert "MemoryError" in result.stderr or "Unable to allocate" in result.stderr


def test_fork_bomb_is_refused(sandbox: PoolHarness) -> None:
    result = sandbox.run("import os\nwhile True:\n    os.fork()\n")
    assert result.status == "error"
    assert "PermissionError" in result.stderr


def test_subprocess_and_os_system_cannot_start_programs(sandbox: PoolHarness) -> None:
    result = sandbox.run("import subprocess\nsubprocess.run(['ls', '/'])\n")
    assert result.status == "error" and "PermissionError" in result.stderr
    result = sandbox.run(
        "import os\nrc = os.system('echo pwned > /tmp/pwned')\nprint(rc != 0, os.path.exists('/tmp/pwned'))\n"
    )
    assert result.stdout == "True False\n"


def test_memory_outside_the_address_space_limit_is_refused(sandbox: PoolHarness) -> None:
    # memfds and System V message queues would pin memory that RLIMIT_AS does not count.
    code = (
        "import ctypes, os\n"
        "try:\n"
        "    os.memfd_create('hoard')\n"
        "except OSError as exc:\n"
        "    print(type(exc).__name__)\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.msgget(0, 0o1600), ctypes.get_errno())\n"
    )
    result = sandbox.run(code)
    assert result.stdout == "PermissionError\n-1 1\n"


def test_thread_flood_is_capped(sandbox: PoolHarness) -> None:
    code = (
        "import threading\n"
        "gate, started = threading.Event(), 0\n"
        "try:\n"
        "    for _ in range(1000):\n"
        "        threading.Thread(target=gate.wait).start()\n"
        "        started += 1\n"
        "except RuntimeError as exc:\n"
        "    print('refused after', started)\n"
        "gate.set()\n"
    )
    result = sandbox.run(code)
    assert result.status == "ok", result
    assert result.stdout.startswith("refused after ")
    assert 1 <= int(result.stdout.split()[-1]) <= TEST_LIMITS.max_threads


def test_app_source_and_project_files_are_invisible(sandbox: PoolHarness) -> None:
    source = PROJECT_ROOT / "app" / "runner" / "pool.py"
    assert source.exists()
    code = (
        "import os\n"
        f"print(os.path.exists({str(source)!r}), os.path.exists({str(PROJECT_ROOT / 'pyproject.toml')!r}))\n"
        f"print(os.path.isdir({str(PROJECT_ROOT)!r}) and sorted(os.listdir({str(PROJECT_ROOT)!r})))\n"
        "import app\n"
    )
    result = sandbox.run(code)
    assert result.stdout.splitlines()[0] == "False False"
    assert "'app'" not in result.stdout.splitlines()[1]
    assert "ModuleNotFoundError: No module named 'app'" in result.stderr


def test_a_database_file_in_the_project_is_invisible(sandbox: PoolHarness) -> None:
    database = Path(__file__).with_name(f".hostile-test-{os.getpid()}.sqlite3")
    database.write_text("pretend this is the progress database")
    try:
        result = sandbox.run(f"print(open({str(database)!r}).read())\n")
    finally:
        database.unlink()
    assert result.status == "error"
    assert "FileNotFoundError" in result.stderr
    assert "pretend" not in result.stdout


def test_environment_of_the_server_is_not_inherited(sandbox: PoolHarness) -> None:
    assert os.environ[SECRET_NAME] == SECRET_VALUE  # the server process has it...
    result = sandbox.run("import os\nprint(sorted(os.environ))\nprint(os.environ.get('HOME'), os.getcwd())\n")
    assert result.status == "ok"
    assert SECRET_NAME not in result.stdout and SECRET_VALUE not in result.stdout  # ...the snippet does not
    # HOME is the private scratch dir, the cwd: /tmp, or /scratch when the runtime itself lives under /tmp.
    home, cwd = result.stdout.splitlines()[1].split()
    assert home == cwd and home in ("/tmp", "/scratch")


def test_no_file_descriptors_are_inherited(sandbox: PoolHarness) -> None:
    code = (
        "import os, stat\n"
        "null = os.stat('/dev/null').st_rdev\n"
        "kinds = []\n"
        "for fd in range(1024):\n"
        "    try:\n"
        "        info = os.fstat(fd)\n"
        "    except OSError:\n"
        "        continue\n"
        "    if stat.S_ISCHR(info.st_mode) and info.st_rdev == null:\n"
        "        kinds.append('null')\n"
        "    else:\n"
        "        kinds.append('socket' if stat.S_ISSOCK(info.st_mode) else 'other')\n"
        "print(kinds)\n"
    )
    result = sandbox.run(code)
    # stdin/stdout/stderr lead nowhere; the one socket is the run's own result channel.
    assert result.stdout == "['null', 'null', 'null', 'socket']\n"


def test_other_processes_are_invisible(sandbox: PoolHarness) -> None:
    code = f"import os\nprint(os.getpid(), os.getuid(), os.path.exists('/proc'))\nos.kill({os.getpid()}, 0)\n"
    result = sandbox.run(code)
    assert result.stdout == f"1 {SANDBOX_UID} False\n"
    assert "ProcessLookupError" in result.stderr  # the test process's pid names nothing in there


def test_writes_outside_scratch_fail(sandbox: PoolHarness) -> None:
    targets = ["/pwned", "/usr/lib/pwned", str(PROJECT_ROOT / ".venv" / "pwned"), os.__file__]
    code = (
        "import errno\n"
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        open(path, 'a')\n"
        "        print('wrote', path)\n"
        "    except OSError as exc:\n"
        "        print(errno.errorcode[exc.errno])\n"
    )
    result = sandbox.run(code)
    assert result.status == "ok"
    assert "wrote" not in result.stdout
    assert set(result.stdout.split()) <= {"EROFS", "ENOENT", "EACCES"}
    assert not (PROJECT_ROOT / ".venv" / "pwned").exists()


def test_filling_the_scratch_disk_is_bounded(sandbox: PoolHarness) -> None:
    code = (
        "import os\nwritten = 0\n"
        "try:\n"
        "    with open('big.bin', 'wb') as handle:\n"
        "        while True:\n"
        "            handle.write(b'x' * 2 ** 20)\n"
        "            written += 1\n"
        "except OSError as exc:\n"
        "    print(exc.errno, written)\n"
    )
    result = sandbox.run(code)
    assert result.status == "ok", result
    error_number, megabytes = (int(part) for part in result.stdout.split())
    assert error_number in (27, 28)  # EFBIG (RLIMIT_FSIZE) or ENOSPC (tmpfs size)
    assert megabytes <= TEST_LIMITS.scratch_mb


def test_network_to_the_outside_is_unreachable(sandbox: PoolHarness) -> None:
    code = (
        "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=1)\n    print('connected')\n"
        "except OSError as exc:\n    print(type(exc).__name__)\n"
    )
    result = sandbox.run(code)
    assert result.stdout.strip() in ("PermissionError", "OSError")
    assert "connected" not in result.stdout


def test_the_apps_own_port_is_unreachable(sandbox: PoolHarness) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        code = (
            f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n"
            "    print('connected')\nexcept OSError as exc:\n    print(type(exc).__name__)\n"
        )
        result = sandbox.run(code)
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert "connected" not in result.stdout
    assert result.stdout.strip() in ("PermissionError", "OSError")


def test_killing_the_parent_or_everything_hurts_nobody(sandbox: PoolHarness) -> None:
    # In its pid namespace the snippet's parent is pid 0 and "everything" is itself.
    result = sandbox.run("import os\nos.kill(os.getppid(), 9)\nprint('still here')\n")
    assert result.status in ("ok", "killed")
    result = sandbox.run("import os\nos.kill(-1, 9)\n")
    assert result.status in ("error", "killed")


def test_deep_recursion_is_an_error(sandbox: PoolHarness) -> None:
    result = sandbox.run("def down(n):\n    return down(n + 1)\ndown(0)\n")
    assert result.status == "error"
    assert "RecursionError" in result.stderr
    assert "[Previous line repeated" in result.stderr


def test_c_stack_overflow_is_a_clean_kill(sandbox: PoolHarness) -> None:
    code = (
        "import sys\nsys.setrecursionlimit(10 ** 8)\n"
        "class Loop:\n    def __repr__(self):\n        return repr(Loop())\nrepr(Loop())\n"
    )
    result = sandbox.run(code)
    assert result.status == "killed"
    assert "SIGSEGV" in result.stderr


def test_segfault_through_ctypes_is_a_clean_kill(sandbox: PoolHarness) -> None:
    result = sandbox.run("import ctypes\nprint('about to crash')\nctypes.string_at(0)\n")
    assert result.status == "killed"
    assert "SIGSEGV" in result.stderr


def test_garbage_on_the_result_channel_is_an_error(sandbox: PoolHarness) -> None:
    code = (
        "import socket\n"
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        channel = socket.socket(fileno=fd)\n"
        "    except OSError:\n"
        "        continue\n"
        "    channel.sendall(b'\\x00\\x00\\x00\\x05hello')\n"
    )
    result = sandbox.run(code)
    assert result.status == "error"
    assert "malformed result" in result.stderr


def test_a_giant_frame_on_the_result_channel_is_cut_off(sandbox: PoolHarness) -> None:
    code = (
        "import socket\n"
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        channel = socket.socket(fileno=fd)\n"
        "    except OSError:\n"
        "        continue\n"
        "    channel.sendall(b'\\x7f\\xff\\xff\\xff' + b'x' * 100000)\n"
    )
    assert sandbox.run(code).status == "output_limit"


def test_nothing_carries_over_between_runs(sandbox: PoolHarness) -> None:
    first = sandbox.run(
        "import numpy as np\nleftover = 42\nopen('note.txt', 'w').write('hi')\n"
        "np.random.seed(123)\nprint(np.random.random())\n"
    )
    seeded_value = first.stdout.strip()
    second = sandbox.run(
        "import os, numpy as np\nprint('leftover' in globals(), os.listdir('.'))\nprint(np.random.random())\n"
    )
    third = sandbox.run("import numpy as np\nprint(np.random.random())\n")
    assert second.stdout.splitlines()[0] == "False []"
    values = {seeded_value, second.stdout.splitlines()[1], third.stdout.strip()}
    assert len(values) == 3  # no shared RNG state, and no identical state inherited from the template
