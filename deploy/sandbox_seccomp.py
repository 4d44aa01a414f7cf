"""Writes the seccomp profile the textbook's container runs under: Docker's default profile
plus the six calls the snippet sandbox makes to build its namespaces.

Docker's default profile allows unshare, mount, umount2, pivot_root, sethostname and setns
only to containers holding CAP_SYS_ADMIN. The sandbox needs no capability in the container:
it makes these calls inside a user namespace it has just created, where the kernel grants
them for that namespace alone. So the profile allows the calls, and the container keeps
Docker's default capability set (or less) and no other privilege.

    python3 deploy/sandbox_seccomp.py DOCKER_DEFAULT_JSON OUT_JSON
"""

from __future__ import annotations

import json
import sys

SANDBOX_CALLS = ["unshare", "mount", "umount2", "pivot_root", "sethostname", "setns"]


def sandbox_profile(default: dict) -> dict:
    profile = json.loads(json.dumps(default))
    profile["syscalls"].append(
        {
            "names": SANDBOX_CALLS,
            "action": "SCMP_ACT_ALLOW",
            "args": [],
            "comment": "textbook: the snippet sandbox builds user, mount, pid and uts namespaces",
            "includes": {},
            "excludes": {},
        }
    )
    return profile


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    with open(argv[1]) as handle:
        default = json.load(handle)
    with open(argv[2], "w") as handle:
        json.dump(sandbox_profile(default), handle, indent=1)
        handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
