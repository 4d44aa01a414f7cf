"""The seccomp filter loaded last in every run process.

A deny list on top of the namespaces, not instead of them: everything a
NumPy/matplotlib snippet needs stays allowed, while the calls that create
processes, reach the network, change mounts or namespaces, or poke at the
kernel's rarer corners fail with EPERM (Python raises PermissionError). Threads
stay allowed, bounded by RLIMIT_NPROC inside the user namespace.
"""

from __future__ import annotations

import errno
import os
import socket

import pyseccomp

from .linux import (
    CLONE_NEWCGROUP,
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    CLONE_THREAD,
)

DENIED_SYSCALLS: tuple[str, ...] = (
    # new processes and programs
    "fork", "vfork", "execve", "execveat",
    # looking into or signalling other processes by handle
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    "pidfd_open", "pidfd_getfd", "pidfd_send_signal",
    # mounts and namespaces
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
    "fsopen", "fsconfig", "fsmount", "fspick", "open_tree", "move_mount", "mount_setattr",
    # kernel attack surface a snippet never needs
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "keyctl", "add_key", "request_key",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "syslog", "uselib", "vhangup",
    "iopl", "ioperm", "modify_ldt", "lookup_dcookie", "name_to_handle_at", "open_by_handle_at",
    "fanotify_init", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "sethostname", "setdomainname", "personality",
    # memory a snippet could pin outside RLIMIT_AS: memfds and System V / POSIX message queues
    "memfd_create", "memfd_secret",
    "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop", "semctl",
    "shmget", "shmat", "shmdt", "shmctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
    "mq_notify", "mq_getsetattr",
)

_NAMESPACE_FLAGS = (
    CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
)


def build_filter() -> tuple[bytes, list[str]]:
    """Compile the policy once (in the template process) into a BPF program run processes load.

    Returns the program and the names of syscalls this libseccomp did not know,
    which the isolation report lists.
    """
    deny = pyseccomp.ERRNO(errno.EPERM)
    policy = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    # int 0x80 / x32 calls would slip past a native-only list; they kill instead.
    policy.set_attr(pyseccomp.Attr.ACT_BADARCH, pyseccomp.KILL_PROCESS)
    unknown: list[str] = []
    for name in DENIED_SYSCALLS:
        try:
            policy.add_rule(deny, name)
        except (OSError, ValueError):
            unknown.append(name)
    # clone() is how threads are made; refuse it unless it makes a thread in our namespaces.
    policy.add_rule(deny, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, CLONE_THREAD, 0))
    for flag in _NAMESPACE_FLAGS:
        policy.add_rule(deny, "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory a filter cannot read; ENOSYS makes glibc fall back to clone.
    policy.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    # Only AF_UNIX sockets (for socketpair-style code); the network namespace is empty anyway.
    policy.add_rule(deny, "socket", pyseccomp.Arg(0, pyseccomp.NE, socket.AF_UNIX))
    return _export(policy), unknown


def _export(policy: pyseccomp.SyscallFilter) -> bytes:
    fd = os.memfd_create("seccomp-bpf")
    try:
        with os.fdopen(os.dup(fd), "wb") as sink:
            policy.export_bpf(sink)
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(fd)
    program = b"".join(chunks)
    if not program or len(program) % 8:
        raise ValueError("libseccomp exported an empty or malformed program")
    return program
