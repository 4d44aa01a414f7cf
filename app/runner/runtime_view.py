"""A neutral view of the runtime: a template process that never learns where the project lives.

In a checkout the virtualenv and our package sit in the project's directory
(`/home/alice/textbook/.venv`), and a process that imports from there carries
that path everywhere: `sys.path`, every module's `__file__`, the code on a run's
stack, the read-only root its runs see. So the pool does not start the template
process directly. It starts a short-lived *launcher* (`launch`, in a process of
its own) that

1. makes a private mount namespace (inside a user namespace of its own when it
   is not root),
2. covers VIEW_MOUNT with a small tmpfs and binds, under VIEW_ROOT, the virtualenv
   at `venv` and (in a checkout) our package at `code/<package>`; an editable
   install's finder in site-packages (it names the project) reads as empty there,
3. tells the pool, in one packet on the control socket, where the template's
   import root is in the view, and execs the interpreter by its path in the view.

From its first instruction the template process imports only from VIEW_ROOT.
An installed copy outside any virtualenv (`/usr/lib/python3/dist-packages`)
keeps its path: it names nothing of a project. When no view can be made (no
namespaces, VIEW_MOUNT missing or holding the interpreter) the launcher says why
and execs the interpreter at its host paths; the isolation report says so.

`plan_view` is the pure part (which binding goes where); `launch` does it.
"""

from __future__ import annotations

import glob
import json
import os
import socket
import sys
from dataclasses import dataclass
from typing import Any, NoReturn

from . import linux, sandbox
from .sandbox import path_within

VIEW_MOUNT = "/mnt"  # covered by a tmpfs in the launcher's mount namespace only
VIEW_ROOT = VIEW_MOUNT + "/textbook"
_PACKAGE = __name__.split(".")[0]
_TEMPLATE_MODULE = __name__.rsplit(".", 1)[0] + ".template_process"
_LAUNCHER_MODULE = __name__
# The template process's command line carries nothing of the host: the configuration comes as a
# packet on the control socket, whose fd number is the only argument.
TEMPLATE_BOOT = (
    "import json, socket, sys; "
    "ctl = socket.socket(fileno=int(sys.argv[1])); "
    "config = json.loads(ctl.recv(1 << 20)); "
    "sys.path.insert(0, config['import_root']); "
    f"from {_TEMPLATE_MODULE} import main; main(ctl, config)"
)
# The launcher imports this module from the host's import root (argv[2]); its memory ends at exec.
_LAUNCHER_BOOT = (
    "import sys; "
    "sys.path.insert(0, sys.argv[2]); "
    f"from {_LAUNCHER_MODULE} import launch; launch(int(sys.argv[1]), sys.argv[2])"
)


@dataclass(frozen=True)
class ViewPlan:
    """Host directories bound under VIEW_ROOT, and what the template process is told to use."""

    bindings: tuple[tuple[str, str], ...]  # (host directory, its path in the view)
    python: str  # the interpreter, by its path in the view (a virtualenv is found from that path)
    import_root: str  # where the template process imports our package from


def view_packet(import_root: str, *, reason: str | None = None) -> dict[str, Any]:
    """What the launcher tells the pool: the template's import root, and the view (or why there is none)."""
    return {"event": "view", "import_root": import_root, "view": None if reason else VIEW_ROOT, "reason": reason}


def launcher_command(python: str, ctl_fd: int, import_root: str) -> list[str]:
    """What the pool runs: the launcher, which builds the view and becomes the template process."""
    return [python, "-I", "-c", _LAUNCHER_BOOT, str(ctl_fd), import_root]


def plan_view(*, prefix: str, base_prefix: str, executable: str, import_root: str) -> ViewPlan | str:
    """Where each host path goes in the view, or why there is no view (a sentence)."""
    if not os.path.isdir(VIEW_MOUNT) or os.path.islink(VIEW_MOUNT):
        return f"{VIEW_MOUNT} is not a directory here"
    runtime = [os.path.realpath(base_prefix), os.path.realpath(executable)]
    if any(path_within(path, VIEW_MOUNT) for path in runtime):
        return f"the Python runtime lives under {VIEW_MOUNT}, which the view covers"
    bindings: list[tuple[str, str]] = []
    python, root = executable, import_root
    if prefix != base_prefix and path_within(executable, prefix):  # a virtualenv: found again from its new path
        venv = VIEW_ROOT + "/venv"
        bindings.append((prefix, venv))
        python = venv + executable[len(prefix) :]
        if path_within(import_root, prefix):
            root = venv + import_root[len(prefix) :]
    if root == import_root and not path_within(import_root, base_prefix):  # a checkout: our package alone
        code = VIEW_ROOT + "/code"
        bindings.append((os.path.join(import_root, _PACKAGE), f"{code}/{_PACKAGE}"))
        root = code
    return ViewPlan(tuple(bindings), python, root)


def build_view(plan: ViewPlan) -> None:
    """Bind the plan's directories under VIEW_ROOT, in a mount namespace of this process alone."""
    sandbox.enter_private_mount_namespace()
    # Handles first (in the new namespace: a bind's source must be a mount of ours), then cover the mount point.
    sources = {target: os.open(source, os.O_PATH | os.O_DIRECTORY) for source, target in plan.bindings}
    try:
        linux.mount("tmpfs", VIEW_MOUNT, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "size=64k,nr_inodes=64,mode=0755")
        for target, handle in sources.items():
            os.makedirs(target)
            linux.mount(f"/proc/self/fd/{handle}", target, None, linux.MS_BIND | linux.MS_REC)
    finally:
        for handle in sources.values():
            os.close(handle)
    for finder in editable_install_files(glob.glob(VIEW_ROOT + "/venv/lib/python*/site-packages")):
        linux.mount("/dev/null", finder, None, linux.MS_BIND)  # site would import it; it maps us to the project


def editable_install_files(directories: list[str]) -> list[str]:
    """The files `pip install -e` puts in the site-packages among `directories`: its finder names the project."""
    found = []
    for entry in directories:
        if os.path.basename(entry) in ("site-packages", "dist-packages") and os.path.isdir(entry):
            found += [os.path.join(entry, name) for name in os.listdir(entry) if name.startswith("__editable__")]
    return sorted(found)


def launch(ctl_fd: int, import_root: str) -> NoReturn:
    """The launcher process: build the view, tell the pool, become the template process."""
    plan = plan_view(prefix=sys.prefix, base_prefix=sys.base_prefix, executable=sys.executable, import_root=import_root)
    if isinstance(plan, ViewPlan):
        try:
            build_view(plan)
        except OSError as exc:
            plan = f"could not build it: {exc}"
    if isinstance(plan, ViewPlan):
        packet, python = view_packet(plan.import_root), plan.python
    else:
        packet, python = view_packet(import_root, reason=plan), sys.executable
    ctl = socket.socket(fileno=ctl_fd)
    try:
        ctl.send(json.dumps(packet).encode())
    finally:
        ctl.detach()  # the fd stays open (and inheritable) for the template process
    os.execv(python, [python, "-I", "-c", TEMPLATE_BOOT, str(ctl_fd)])
