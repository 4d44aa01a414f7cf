"""Exec Python with unshare/clone-namespace calls refused: a host without user namespaces.

Used as RunnerPool(python=...) to exercise the refusal and unsafe paths for real.
Usage: deny_namespaces.py PYTHON [ARGS...]
"""

from __future__ import annotations

import errno
import os
import sys

import pyseccomp

CLONE_NEWUSER = 0x10000000

if __name__ == "__main__":
    policy = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    policy.add_rule(pyseccomp.ERRNO(errno.EPERM), "unshare")
    policy.add_rule(
        pyseccomp.ERRNO(errno.EPERM), "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)
    )
    policy.load()  # survives exec, like a container runtime's profile would
    os.execv(sys.argv[1], sys.argv[1:])
