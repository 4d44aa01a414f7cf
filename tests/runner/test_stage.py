"""The read-only root is built from paths wherever they live, /tmp included.

CI may clone the project under /tmp, so the virtualenv's site-packages is then under the
directory that the stage itself covers with a tmpfs. The stage must read each path's kind
and real path before covering /tmp (it once created a file there and bound a directory on it).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

STAGE_UNDER_TMP = """
import os, sys
from app.runner import sandbox
directory, single_file = sys.argv[1], sys.argv[2]
stage = sandbox.prepare_stage([directory, single_file], hidden=[])
print(os.path.isdir(stage.root + directory), open(stage.root + directory + "/inside.txt").read())
print(os.path.isfile(stage.root + single_file), open(stage.root + single_file).read())
print(stage.scratch)
"""


def test_a_stage_mounts_directories_and_files_that_live_under_tmp() -> None:
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        directory = Path(folder, "site-packages")
        directory.mkdir()
        (directory / "inside.txt").write_text("dir-ok")
        single_file = Path(folder, "libexample.so")
        single_file.write_text("file-ok")
        result = subprocess.run(
            [sys.executable, "-c", STAGE_UNDER_TMP, str(directory), str(single_file)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).resolve().parents[2],
        )
    if "Operation not permitted" in result.stderr:
        pytest.skip("this host allows no mount namespace: " + result.stderr.strip().splitlines()[-1])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["True dir-ok", "True file-ok", "/scratch"]
