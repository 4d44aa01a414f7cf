"""Nothing of the host in a run's memory or root: no project paths, no finder, no other runs."""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runner.conftest import PoolHarness, assert_still_works

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox(fresh_runner: PoolHarness) -> Iterator[PoolHarness]:
    template_pid = fresh_runner.pool.template_pid
    yield fresh_runner
    assert_still_works(fresh_runner)
    assert fresh_runner.pool.template_pid == template_pid


def test_the_command_line_and_sys_path_carry_no_project_path(sandbox: PoolHarness) -> None:
    # sys.orig_argv carried the template's configuration JSON; sys.path[0] was the project.
    code = "import sys\nprint(repr(sys.orig_argv[1:]))\nprint(repr(sys.argv))\nprint(repr(sys.path))\n"
    result = sandbox.run(code)
    argv_tail, argv, path = (ast.literal_eval(line) for line in result.stdout.splitlines())
    assert not any("{" in item or str(PROJECT_ROOT) in item for item in argv_tail + argv), argv_tail
    assert str(PROJECT_ROOT) not in path and str(PROJECT_ROOT / "app") not in path


def test_no_module_file_frame_or_directory_names_the_project(sandbox: PoolHarness) -> None:
    # With the virtualenv inside the project (a checkout's .venv), site-packages' sys.path entry, the
    # __file__ of NumPy, matplotlib and every module imported from there, our executor's frames under
    # the snippet, and the read-only root's own directories all named the project: 273 of them.
    code = (
        "import os, sys\n"
        f"project = {str(PROJECT_ROOT)!r}\n"
        "named = [entry for entry in sys.path if project in entry]\n"
        "for name, module in list(sys.modules.items()):\n"
        "    named += [name] if project in str(getattr(module, '__file__', '')) else []\n"
        "frame = sys._getframe()\n"
        "while frame is not None:\n"
        "    named += [frame.f_code.co_filename] if project in frame.f_code.co_filename else []\n"
        "    frame = frame.f_back\n"
        "import numpy, matplotlib.pyplot\n"
        "print(len(named), named[:3])\n"
        "print(os.path.exists(project), numpy.__file__)\n"
    )
    result = sandbox.run(code)
    assert result.status == "ok", result
    assert result.stdout.splitlines()[0] == "0 []", result.stdout
    exists, numpy_file = result.stdout.splitlines()[1].split(" ", 1)
    assert exists == "False" and str(PROJECT_ROOT) not in numpy_file, result.stdout


def test_the_runtime_view_stays_in_the_template_process_namespace(sandbox: PoolHarness) -> None:
    # The launcher's mounts (a tmpfs over /mnt) are private: the host's /mnt is untouched.
    assert any(line.startswith("runtime view: ") and "/mnt/textbook" in line for line in sandbox.pool.isolation.details)
    assert not os.path.exists("/mnt/textbook")


def test_the_editable_install_finder_is_gone(sandbox: PoolHarness) -> None:
    # Its MAPPING named the project's app directory.
    code = (
        "import glob, sys\n"
        "print([getattr(finder, '__module__', '') for finder in sys.meta_path])\n"
        "texts = []\n"
        "for entry in sys.path:\n"
        "    for name in glob.glob(entry + '/__editable__*'):\n"
        "        try:\n"
        "            texts.append(open(name).read())\n"
        "        except OSError:\n"
        "            pass\n"
        "print(any(text.strip() for text in texts))\n"
    )
    result = sandbox.run(code)
    finders, any_text = result.stdout.splitlines()
    assert "__editable__" not in finders
    assert any_text == "False"
    assert str(PROJECT_ROOT) not in result.stdout


def test_other_runs_pids_are_not_in_memory(sandbox: PoolHarness) -> None:
    # Objects inherited from the template process named the pids of other live runs: its
    # table of run processes (pid -> status socket), reachable from the frames under a snippet.
    code = (
        "import sys\n"
        "found = []\n"
        "frame = sys._getframe()\n"
        "while frame is not None:\n"
        "    for value in list(frame.f_locals.values()):\n"
        "        for thing in [value, *getattr(value, '__dict__', {}).values()]:\n"
        "            if isinstance(thing, dict) and any(isinstance(key, int) for key in thing):\n"
        "                found += [key for key in thing if isinstance(key, int)]\n"
        "    frame = frame.f_back\n"
        "print(found)\n"
    )
    # Several runs: the oldest ready run process was forked when no other was alive yet.
    assert [sandbox.run(code).stdout for _ in range(4)] == ["[]\n"] * 4


def test_the_root_holds_only_the_runtime_it_needs(sandbox: PoolHarness) -> None:
    # It mounted all of /usr/lib (124k files) where the runtime needs far less: now the
    # system library directory holds only the libraries the template process loaded.
    with open("/proc/self/maps") as maps:
        libc = next(Path(line.split()[-1]).parent for line in maps if "/libc.so" in line)
    host = len(os.listdir(libc))
    result = sandbox.run(f"import os\nprint(len(os.listdir({str(libc)!r})))\nimport numpy, matplotlib.pyplot\n")
    assert result.status == "ok", result
    inside = int(result.stdout)
    assert inside < 100 < host, (libc, inside, host)


def test_site_packages_holds_only_what_numpy_and_matplotlib_need(sandbox: PoolHarness) -> None:
    # The whole of site-packages was mounted: 278 entries in a checkout's .venv, the server's own
    # dependencies among them. Now only the distributions NumPy and matplotlib require, transitively.
    code = (
        "import os, sys\n"
        "site = next(entry for entry in sys.path if entry.endswith('site-packages'))\n"
        "print(sorted(os.listdir(site)))\n"
        "import numpy as np, matplotlib.pyplot as plt\n"
        "from mpl_toolkits.mplot3d import Axes3D\n"
        "plt.contour(np.outer(np.arange(5), np.arange(5)))\n"  # contourpy: imported lazily, still there
        "plt.show()\n"
    )
    result = sandbox.run(code)
    assert result.status == "ok", result
    assert len(result.figures) == 1
    names = ast.literal_eval(result.stdout)
    assert {"numpy", "matplotlib", "contourpy", "PIL", "mpl_toolkits"} <= set(names), names
    server_side = {"fastapi", "starlette", "sqlalchemy", "psycopg", "uvicorn", "pydantic", "jinja2", "app"}
    assert not server_side & set(names), names
    assert len(names) < 60, names


def test_the_interpreter_names_no_virtualenv_inside_the_project(sandbox: PoolHarness) -> None:
    # sys.executable, sys.prefix and orig_argv[0] were the project's .venv (in a checkout).
    code = (
        "import sys\n"
        "print(repr([sys.executable, sys._base_executable, sys.prefix, sys.exec_prefix, sys.orig_argv[0]]))\n"
    )
    names = ast.literal_eval(sandbox.run(code).stdout)
    assert not [name for name in names if str(PROJECT_ROOT) in name], names
    assert names[2] == names[3] == sys.base_prefix
    assert names[0] == "" or names[0].startswith(sys.base_exec_prefix)
