"""Ordinary snippets through the real sandbox: output, figures, tracebacks, limits."""

from __future__ import annotations

import base64
import re

from tests.runner.conftest import TEST_LIMITS, PoolHarness
from tests.runner.snippets import LORA_ALGEBRA, RANK_VS_CAPACITY

ERROR_LINE = re.compile(r"^rank +(\d+): relative Frobenius error (\d+\.\d+)$", re.MULTILINE)


def test_lora_algebra_snippet_confirms_the_merge(runner: PoolHarness) -> None:
    result = runner.run(LORA_ALGEBRA)
    assert result.status == "ok", result.stderr
    lines = result.stdout.splitlines()
    assert "full fine-tune params : 65,536" in lines
    assert "LoRA params (2dr)     : 4,096" in lines
    assert "trainable fraction    : 6.25 %" in lines
    assert "merged == two-path    : True" in lines
    assert result.stderr == "" and result.figures == []
    assert result.to_dict()["status"] == "ok"


def test_rank_vs_capacity_snippet_hits_zero_at_rank_16_and_plots(runner: PoolHarness) -> None:
    result = runner.run(RANK_VS_CAPACITY)
    assert result.status == "ok", result.stderr
    errors = {int(rank): float(error) for rank, error in ERROR_LINE.findall(result.stdout)}
    assert set(errors) == {1, 4, 16, 64}
    assert errors[1] > errors[4] > 0.0
    assert "rank  16: relative Frobenius error 0.0000" in result.stdout
    assert errors[64] == 0.0
    assert len(result.figures) == 1
    assert result.figures[0].mime == "image/png"
    assert base64.b64decode(result.figures[0].data).startswith(b"\x89PNG\r\n\x1a\n")


def test_traceback_shows_only_snippet_lines(runner: PoolHarness) -> None:
    code = "import numpy as np\n\ndef shape_clash():\n    return np.ones(3) @ np.ones(4)\n\nshape_clash()\n"
    result = runner.run(code)
    assert result.status == "error"
    assert 'File "<snippet>", line 6, in <module>' in result.stderr
    assert 'File "<snippet>", line 4, in shape_clash' in result.stderr
    assert "return np.ones(3) @ np.ones(4)" in result.stderr
    assert "ValueError: matmul" in result.stderr
    for leak in ("/work", "site-packages", "app/runner", ".py\""):
        assert leak not in result.stderr


def test_syntax_error_points_at_the_snippet_line(runner: PoolHarness) -> None:
    result = runner.run("x = 1\nprint(x +)\n")
    assert result.status == "error"
    assert 'File "<snippet>", line 2' in result.stderr
    assert "SyntaxError" in result.stderr


def test_output_before_an_error_is_kept_and_warnings_name_the_snippet(runner: PoolHarness) -> None:
    code = "import numpy as np\nprint('before')\nprint(np.log(np.zeros(1)))\nraise KeyError('boom')\n"
    result = runner.run(code)
    assert result.status == "error"
    assert result.stdout == "before\n[-inf]\n"
    assert "<snippet>:3: RuntimeWarning: divide by zero" in result.stderr
    assert "KeyError: 'boom'" in result.stderr


def test_figures_beyond_the_limit_are_dropped_with_a_note(runner: PoolHarness) -> None:
    code = (
        "import matplotlib.pyplot as plt\nfor i in range(6):\n"
        "    plt.figure(figsize=(2, 2)); plt.plot([0, i])\nplt.show()\n"
    )
    result = runner.run(code)
    assert result.status == "ok", result.stderr
    assert len(result.figures) == TEST_LIMITS.max_figures
    assert "6 figures were made; only the first 4 are returned" in result.stderr


def test_output_flood_stops_at_the_cap(runner: PoolHarness) -> None:
    result = runner.run("while True:\n    print('x' * 100)\n")
    assert result.status == "output_limit"
    assert TEST_LIMITS.output_bytes - 200 < len(result.stdout.encode()) <= TEST_LIMITS.output_bytes
    assert "output stopped" in result.stderr
    assert result.elapsed_ms < TEST_LIMITS.wall_s * 1000  # stopped by the cap, not the clock


def test_a_swallowed_output_limit_still_ends_as_output_limit(runner: PoolHarness) -> None:
    code = "try:\n    while True:\n        print('y' * 1000)\nexcept Exception:\n    pass\nprint('after')\n"
    result = runner.run(code)
    assert result.status == "output_limit"
    assert "after" not in result.stdout


def test_system_exit_zero_is_ok_and_nonzero_is_an_error(runner: PoolHarness) -> None:
    assert runner.run("import sys\nprint('bye')\nsys.exit(0)\n").status == "ok"
    failed = runner.run("import sys\nsys.exit(3)\n")
    assert failed.status == "error" and "SystemExit: 3" in failed.stderr
