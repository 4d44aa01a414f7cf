"""OS isolation for snippet processes.

Three moments, three functions:

* `prepare_stage` (once, in the template process): build a read-only directory
  tree that contains only the Python runtime, site-packages, the shared libraries
  the warmed-up template process has loaded (`runtime_paths` derives the list) and
  a few /dev nodes, using bind mounts inside the template process's private mount
  namespace.
* `new_pid_namespace_for_next_fork` (per run, in the template just before it
  forks): the fork becomes pid 1 of a fresh pid namespace.
* `enter` (per run, in that fork): leave host root for uid 65534, create fresh
  user/mount/net/ipc/uts/cgroup namespaces, pivot into a private copy of the
  stage, mount a small tmpfs as the scratch dir, drop every inherited fd and
  the environment, set rlimits, drop all capabilities, load the seccomp filter.

`enter_unsafe` applies what still works without namespaces, for an operator
who explicitly opted in.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from . import linux
from .protocol import RunnerLimits
from .runtime_packages import site_entries

SANDBOX_UID = 65534  # "nobody", both inside the user namespace and (when we are root) on the host
SANDBOX_GID = 65534
SCRATCH = "/tmp"
FALLBACK_SCRATCH = "/scratch"  # when the runtime itself lives under /tmp, which SCRATCH would cover
STAGE_ROOT = "/tmp"  # in the template's mount namespace only: a tmpfs covers the host's /tmp
_DEVICES = ("null", "zero", "full", "random", "urandom")
# Set in the template process and again in each run process: single-threaded math libraries
# (their thread pools would count against max_threads) and a plotting backend without a display.
LIBRARY_ENVIRONMENT = {
    "LANG": "C.UTF-8",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
}
_SYSTEM_LIB_DIRS = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/local/lib")  # CUDA templates only
SNIPPET_NICENESS = 5  # snippets yield the CPU to the web server: a class's runs must not stall page views
_VM_SLACK = 32 << 20  # setup code in the run process maps a little more than the template process had
_EMPTY_FLAGS = linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC


@dataclass(frozen=True)
class Stage:
    root: str  # read-only tree that run processes pivot into
    mounts: tuple[str, ...]  # host directories and files bind-mounted (read-only) at the same place
    scratch: str = SCRATCH  # where each run's private tmpfs goes (also its cwd and $HOME)


@dataclass(frozen=True)
class Plan:
    """Everything a run process needs, fixed when the template process starts."""

    mode: Literal["full", "unsafe"]  # namespaces and a read-only root, or (opt-in) only what works without
    limits: RunnerLimits
    stage: Stage | None
    drop_to: int | None  # host uid/gid to become before creating the user namespace
    device: str = "cpu"  # "cuda": the root also has the NVIDIA device nodes and driver libraries


def runtime_paths(project_root: str, *, whole_library_directories: bool = False) -> list[str]:
    """Host paths a snippet needs, derived from this (warmed-up) process, not picked by hand.

    The interpreter's prefix and the sys.path directories as directories, except that
    of site-packages only what NumPy and matplotlib need (runtime_packages.py); every
    other file this process has mapped (the shared libraries that Python, NumPy and
    matplotlib loaded: libc, libm, libstdc++, ...) as a single file. sys.path entries
    inside the project are left out (except site-packages of a virtualenv that lives
    there), so the app's source is never mounted. Call it after the warm-up, so that
    the libraries a run loads are loaded.

    `whole_library_directories` mounts the system library directories instead of
    single files, and site-packages whole: for a CUDA template process, whose runs
    load the driver and its dependencies only when they start (no GPU was at hand to
    derive that list).
    """
    project = Path(project_root).resolve()
    wanted: list[Path] = [Path(sys.base_prefix)]
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue
        path = Path(entry).resolve()
        site_packages = path.name in ("site-packages", "dist-packages")
        inside_project = path == project or project in path.parents
        if (inside_project and not site_packages) or path in project.parents:
            continue
        needed = site_entries(path) if site_packages and not whole_library_directories else None
        wanted += [path] if needed is None else needed
    if whole_library_directories:
        system = [name for name in _SYSTEM_LIB_DIRS if os.path.isdir(name) and not os.path.islink(name)]
        wanted += [Path(name).resolve() for name in system]
    directories: list[Path] = []
    for path in sorted(set(wanted), key=lambda item: len(item.parts)):
        if not any(parent == path or parent in path.parents for parent in directories):
            directories.append(path)
    files = [
        path
        for path in mapped_files()
        if not any(directory in path.parents for directory in directories) and project not in path.parents
    ]
    return [str(path) for path in directories + sorted(files)]


def mapped_files() -> list[Path]:
    """The regular files this process has mapped (its executable, shared libraries, locale data)."""
    found: set[Path] = set()
    with open("/proc/self/maps") as handle:
        for line in handle:
            parts = line.split(None, 5)
            if len(parts) == 6 and parts[5].startswith("/") and not parts[5].rstrip().endswith("(deleted)"):
                path = Path(parts[5].rstrip("\n"))
                if path.is_file():
                    found.add(path.resolve())
    return sorted(found)


def library_links(files: list[str]) -> dict[str, str]:
    """Symlinks next to the mounted files that point at them (`libz.so.1 -> libz.so.1.2.13`)."""
    wanted = {os.path.realpath(path) for path in files}
    links: dict[str, str] = {}
    for directory in sorted({os.path.dirname(path) for path in files}):
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink() and os.path.realpath(entry.path) in wanted:
                links[entry.path] = os.readlink(entry.path)
    return links


def prepare_stage(
    paths: list[str], hidden: list[str], cuda_nodes: Sequence[str] = (), cuda_files: Sequence[str] = ()
) -> Stage:
    """Build the read-only root in a private mount namespace of the calling process.

    The root is a tmpfs mounted over /tmp *inside that namespace*, so nothing is
    created on the host and nothing is left behind if the template is killed.
    `hidden` directories that fall inside a mounted path (the app's own package,
    when it is installed into site-packages) are covered by an empty tmpfs.
    A CUDA template also passes the NVIDIA device nodes and driver libraries (app/fleet/gpu.py):
    each is bound at its own path, and nothing else of /dev or the host comes with them.
    """
    enter_private_mount_namespace()
    # Handles first: a source under /tmp must stay reachable once /tmp is covered.
    # Their kind and real path too: once /tmp is covered, a path under it no longer resolves.
    kinds = {path: (os.path.realpath(path), os.path.isdir(path)) for path in paths}
    sources = {path: os.open(path, os.O_PATH | (os.O_DIRECTORY if kinds[path][1] else 0)) for path in paths}
    devices = {name: os.open("/dev/" + name, os.O_PATH) for name in _DEVICES if os.path.exists("/dev/" + name)}
    links = {name: os.readlink(name) for name in ("/lib", "/lib64") if os.path.islink(name)}
    extra = {path: os.open(path, os.O_PATH) for path in [*cuda_nodes, *cuda_files] if os.path.exists(path)}
    extra = {path: handle for path, handle in extra.items() if not any(path_within(path, mounted) for mounted in paths)}
    links.update(library_links([path for path in paths if not os.path.isdir(path)]))
    root, covered = STAGE_ROOT, False
    try:
        linux.mount("tmpfs", root, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "size=1m,nr_inodes=4096,mode=0755")
        covered = True
        for name, destination in links.items():  # first: /lib -> usr/lib must not become a directory
            os.makedirs(os.path.dirname(root + name), exist_ok=True)
            if not os.path.lexists(root + name):
                os.symlink(destination, root + name)
        for path, handle in sources.items():
            real_path, is_directory = kinds[path]
            target = root + real_path
            if is_directory:
                os.makedirs(target, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                open(target, "w").close()
            linux.mount(f"/proc/self/fd/{handle}", target, None, linux.MS_BIND | linux.MS_REC)
            _remount_read_only(target)
        for path in hidden:
            if os.path.isdir(root + path):
                linux.mount("tmpfs", root + path, "tmpfs", _EMPTY_FLAGS, "size=4k,nr_inodes=1,mode=0555")
            elif os.path.isfile(root + path) and "null" in devices:  # a file: it reads as empty
                linux.mount(f"/proc/self/fd/{devices['null']}", root + path, None, linux.MS_BIND)
        os.makedirs(root + "/dev")
        for name, handle in devices.items():
            open(root + "/dev/" + name, "w").close()
            linux.mount(f"/proc/self/fd/{handle}", root + "/dev/" + name, None, linux.MS_BIND)
        for path, handle in extra.items():
            os.makedirs(os.path.dirname(root + path), exist_ok=True)
            open(root + path, "w").close()
            linux.mount(f"/proc/self/fd/{handle}", root + path, None, linux.MS_BIND)
            if path in cuda_files:
                _remount_read_only(root + path)
        scratch = FALLBACK_SCRATCH if any(path_within(path, SCRATCH) for path in paths) else SCRATCH
        os.makedirs(root + scratch, exist_ok=True)
        _remount_read_only(root)
    except OSError:
        if covered:
            linux.umount(root, linux.MNT_DETACH)  # give the template its /tmp back for unsafe mode
        raise
    finally:
        for handle in [*sources.values(), *devices.values(), *extra.values()]:
            os.close(handle)
    return Stage(root=root, mounts=tuple(paths), scratch=scratch)


def enter_private_mount_namespace() -> None:
    """A mount namespace of this process alone, whose mounts never propagate to the host."""
    try:
        linux.unshare(linux.CLONE_NEWNS)
    except PermissionError:
        # Not root: a user namespace of our own gives the mount rights, mapped to ourselves.
        uid, gid = os.geteuid(), os.getegid()
        linux.unshare(linux.CLONE_NEWUSER | linux.CLONE_NEWNS)
        linux.write_proc_file("/proc/self/setgroups", "deny")
        linux.write_proc_file("/proc/self/uid_map", f"{uid} {uid} 1")
        linux.write_proc_file("/proc/self/gid_map", f"{gid} {gid} 1")
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)


def path_within(path: str, directory: str) -> bool:
    """Whether `path` is `directory` or lies under it (by name: no link is resolved)."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def release_stage(stage: Stage) -> None:
    """Uncover the template's own /tmp (used before falling back to unsafe mode)."""
    try:
        linux.umount(stage.root, linux.MNT_DETACH)
    except OSError:
        pass


def _remount_read_only(target: str) -> None:
    # A bind mount ignores MS_RDONLY at creation; remount it, keeping flags the kernel
    # may have locked (nosuid/nodev/noexec) or the remount is refused.
    current = os.statvfs(target).f_flag
    kept = current & (os.ST_NOSUID | os.ST_NODEV | os.ST_NOEXEC)
    flags = linux.MS_BIND | linux.MS_REMOUNT | linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV | kept
    linux.mount(None, target, None, flags)


def choose_drop_uid() -> int | None:
    """uid to switch to before unsharing: 65534 when we are root and may become it."""
    if os.geteuid() != 0:
        return None
    for path in ("/proc/self/uid_map", "/proc/self/gid_map"):
        if not any(inside <= SANDBOX_UID < inside + count for inside, _, count in linux.mapped_ids(path)):
            return None
    return SANDBOX_UID


def new_pid_namespace_for_next_fork(own_pid_namespace: int) -> None:
    """Make the next fork pid 1 of a fresh pid namespace (a child of our own).

    unshare(CLONE_NEWPID) only works once per "children" namespace; rejoining our
    own namespace first (allowed: we own it) resets that, so every run gets a new one.
    """
    linux.setns(own_pid_namespace, linux.CLONE_NEWPID)
    linux.unshare(linux.CLONE_NEWPID)


def enter(plan: Plan, keep_fd: int, seccomp_program: bytes, base_vm: int) -> None:
    """Per run, in the fork (already pid 1 of a new pid namespace): everything before untrusted code."""
    assert plan.stage is not None
    os.setsid()
    if plan.drop_to is not None:
        os.setgroups([])
        os.setresgid(plan.drop_to, plan.drop_to, plan.drop_to)
        os.setresuid(plan.drop_to, plan.drop_to, plan.drop_to)
        # Changing uid made /proc/self root-owned; we still have to write our own id maps.
        linux.prctl(linux.PR_SET_DUMPABLE, 1)
    # Set after the uid change, which clears it: if the template dies, so do we.
    linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
    uid, gid = os.geteuid(), os.getegid()
    linux.unshare(
        linux.CLONE_NEWUSER
        | linux.CLONE_NEWNS
        | linux.CLONE_NEWNET
        | linux.CLONE_NEWIPC
        | linux.CLONE_NEWUTS
        | linux.CLONE_NEWCGROUP
    )
    linux.write_proc_file("/proc/self/setgroups", "deny")
    linux.write_proc_file("/proc/self/uid_map", f"{SANDBOX_UID} {uid} 1")
    linux.write_proc_file("/proc/self/gid_map", f"{SANDBOX_GID} {gid} 1")
    root, scratch = plan.stage.root, plan.stage.scratch
    # Mounts copied into a less privileged namespace are locked and cannot be pivoted
    # into; a fresh recursive bind of the stage onto itself can.
    linux.mount(root, root, None, linux.MS_BIND | linux.MS_REC)
    os.chdir(root)
    linux.pivot_root(".", ".")
    linux.umount(".", linux.MNT_DETACH)  # the host's tree is gone from this namespace
    options = f"size={plan.limits.scratch_mb}m,nr_inodes=2048,mode=0700,uid={SANDBOX_UID},gid={SANDBOX_GID}"
    linux.mount("tmpfs", scratch, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC, options)
    linux.sethostname("sandbox")
    _keep_only_fd(keep_fd)
    os.chdir(scratch)
    _reset_environment(scratch)
    os.nice(SNIPPET_NICENESS)
    # Counted per user namespace: this process and the snippet's threads.
    # A CUDA run: the driver starts a few threads of its own, and reserves a large virtual
    # address space for unified memory (so no RLIMIT_AS; the GPU's memory is the GPU's).
    cuda = plan.device == "cuda"
    max_tasks = 1 + plan.limits.max_threads + (4 if cuda else 0)
    apply_rlimits(plan.limits, base_vm, max_tasks=max_tasks, address_space=not cuda)
    linux.drop_all_capabilities()
    linux.load_seccomp_program(seccomp_program)


def enter_unsafe(plan: Plan, keep_fd: int, seccomp_program: bytes | None, base_vm: int, scratch: str) -> None:
    """What still works without namespaces, for an operator who opted in."""
    os.setsid()
    linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
    _keep_only_fd(keep_fd)
    os.chdir(scratch)
    _reset_environment(scratch)
    os.nice(SNIPPET_NICENESS)
    # RLIMIT_NPROC would count every process of the server's user here; leave it alone.
    apply_rlimits(plan.limits, base_vm, max_tasks=None, address_space=plan.device != "cuda")
    if seccomp_program is not None:
        linux.load_seccomp_program(seccomp_program)
    else:
        linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)


def apply_rlimits(limits: RunnerLimits, base_vm: int, *, max_tasks: int | None, address_space: bool = True) -> None:
    def cap(kind: int, soft: int, hard: int | None = None) -> None:
        resource.setrlimit(kind, (soft, soft if hard is None else hard))

    if address_space:
        cap(resource.RLIMIT_AS, base_vm + _VM_SLACK + (limits.memory_mb << 20))
    # The pool enforces cpu_s itself (pid 1 of a namespace ignores SIGXCPU); the hard limit's
    # SIGKILL is a backstop with room for the setup's CPU time and the pool's polling.
    cap(resource.RLIMIT_CPU, limits.cpu_s, limits.cpu_s + 2)
    cap(resource.RLIMIT_FSIZE, limits.scratch_mb << 20)
    cap(resource.RLIMIT_NOFILE, limits.max_open_files)
    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_MSGQUEUE, 0)
    if max_tasks is not None:
        cap(resource.RLIMIT_NPROC, max_tasks)


def _keep_only_fd(keep_fd: int) -> None:
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)  # C-level writes to stdout/stderr go nowhere, not to server logs
    os.closerange(3, keep_fd)
    os.closerange(keep_fd + 1, 1 << 20)


def _reset_environment(home: str) -> None:
    os.environ.clear()
    os.environ.update(
        {
            "PATH": "/usr/bin:/bin",
            "HOME": home,
            "TMPDIR": home,
            **LIBRARY_ENVIRONMENT,
        }
    )
