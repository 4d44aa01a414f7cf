"""The seccomp filter is an allow list: host-wide kernel state, host information and
foreign ABIs are out of reach, and the chapter's kind of code still runs."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.runner.seccomp_allowlist import ALLOWED_SYSCALLS
from app.runner.seccomp_policy import NEVER_ALLOWED, allowed_names
from tests.runner.conftest import PoolHarness, assert_still_works

LIBC = (
    "import ctypes, errno\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "def call(number, *args):\n"
    "    result = libc.syscall(ctypes.c_long(number), *[ctypes.c_long(arg) for arg in args])\n"
    "    return result, errno.errorcode.get(ctypes.get_errno(), '?') if result == -1 else 'ok'\n"
)
IO_SETUP, SYSINFO, INOTIFY_INIT1, STATMOUNT, LISTMOUNT = 206, 99, 294, 457, 458


@pytest.fixture
def sandbox(fresh_runner: PoolHarness) -> Iterator[PoolHarness]:
    template_pid = fresh_runner.pool.template_pid
    yield fresh_runner
    assert_still_works(fresh_runner)
    assert fresh_runner.pool.template_pid == template_pid


def test_legacy_aio_cannot_take_the_hosts_aio_contexts(sandbox: PoolHarness) -> None:
    # io_setup(65536) reserved the whole host's fs.aio-max-nr for the run's lifetime.
    code = LIBC + f"context = ctypes.c_ulong(0)\nprint(call({IO_SETUP}, 65536, ctypes.addressof(context)))\n"
    result = sandbox.run(code)
    assert result.stdout == "(-1, 'EPERM')\n", result


def test_sysinfo_does_not_tell_the_hosts_load_and_memory(sandbox: PoolHarness) -> None:
    code = LIBC + f"buffer = ctypes.create_string_buffer(256)\nprint(call({SYSINFO}, ctypes.addressof(buffer)))\n"
    result = sandbox.run(code)
    assert result.stdout == "(-1, 'EPERM')\n", result


def test_the_mount_table_cannot_be_listed_without_proc(sandbox: PoolHarness) -> None:
    # listmount/statmount gave block devices, options and bind sources.
    code = LIBC + (
        "request = ctypes.create_string_buffer(32)\n"
        "answer = ctypes.create_string_buffer(4096)\n"
        f"print(call({LISTMOUNT}, ctypes.addressof(request), ctypes.addressof(answer), 64, 0)[1])\n"
        f"print(call({STATMOUNT}, ctypes.addressof(request), ctypes.addressof(answer), 4096, 0)[1])\n"
    )
    result = sandbox.run(code)
    assert set(result.stdout.split()) <= {"EPERM", "ENOSYS"}, result


def test_per_user_inotify_instances_are_refused(sandbox: PoolHarness) -> None:
    result = sandbox.run(LIBC + f"print(call({INOTIFY_INIT1}, 0))\n")
    assert result.stdout == "(-1, 'EPERM')\n", result


def test_a_call_off_the_list_is_eperm_and_an_unknown_number_enosys(sandbox: PoolHarness) -> None:
    ioprio_get = 252
    assert "ioprio_get" not in ALLOWED_SYSCALLS
    result = sandbox.run(LIBC + f"print(call({ioprio_get}, 1, 0)[1], call(1000)[1])\n")
    assert result.stdout == "EPERM ENOSYS\n", result


def test_x32_calls_kill_the_process(sandbox: PoolHarness) -> None:
    result = sandbox.run(LIBC + "print('before', flush=True)\ncall(0x40000000 | 39)\nprint('after')\n")
    assert result.status == "killed", result
    assert "SIGSYS" in result.stderr


def test_i386_calls_kill_the_process(sandbox: PoolHarness) -> None:
    code = (
        "import ctypes, mmap\n"
        "page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "page.write(bytes([0xB8, 20, 0, 0, 0, 0xCD, 0x80, 0xC3]))  # mov eax, 20 (getpid); int 0x80; ret\n"
        "address = ctypes.addressof(ctypes.c_char.from_buffer(page))\n"
        "print(ctypes.CFUNCTYPE(ctypes.c_int)(address)())\n"
    )
    result = sandbox.run(code)
    assert result.status == "killed", result
    assert "SIGSYS" in result.stderr


def test_the_isolation_report_counts_the_allow_list(runner: PoolHarness) -> None:
    text = " ".join(runner.pool.isolation.details)
    match = re.search(r"seccomp: allow list of (\d+) syscalls", text)
    assert match is not None, text
    assert int(match.group(1)) == len(allowed_names()) > 40


def test_nothing_never_allowed_is_on_the_list() -> None:
    assert not set(allowed_names()) & NEVER_ALLOWED
    assert {"io_setup", "sysinfo", "listmount", "statmount", "inotify_init1", "fork", "execve"} <= NEVER_ALLOWED


def test_healthz_names_the_allow_list(client: TestClient) -> None:
    details = client.get("/healthz").json()["parts"]["runner"]["details"]
    assert f"seccomp: allow list of {len(allowed_names())} syscalls" in " ".join(details)
