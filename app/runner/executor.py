"""The executor: inside the run process, execute one snippet and describe what happened.

This module knows nothing about isolation; `sandbox.py` has already locked the
process down before `execute_snippet` is called. It captures stdout/stderr under
one byte budget, turns open pyplot figures into PNGs and formats tracebacks so
they show only the snippet's own lines.
"""

from __future__ import annotations

import base64
import builtins
import io
import linecache
import os
import sys
import traceback
import types
import warnings
from typing import Any

import matplotlib
import numpy

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from .protocol import RunnerLimits

SNIPPET_FILENAME = "<snippet>"
_MAX_FIGURE_PIXELS = 4_000_000  # keeps a huge figsize from eating the time budget


class OutputLimitExceeded(BaseException):
    """Raised from print() once the output budget is spent.

    A BaseException so that a snippet's `except Exception:` does not swallow it.
    """


class OutputBudget:
    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.remaining = limit_bytes
        self.exceeded = False


class CappedStream(io.TextIOBase):
    """A text stream that stores what is written until the shared budget runs out."""

    def __init__(self, budget: OutputBudget) -> None:
        super().__init__()
        self._budget = budget
        self._parts: list[str] = []

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if self._budget.exceeded:
            raise OutputLimitExceeded()
        size = len(text.encode("utf-8", "replace"))
        if size > self._budget.remaining:
            kept = text.encode("utf-8", "replace")[: self._budget.remaining].decode("utf-8", "ignore")
            self._parts.append(kept)
            self._budget.remaining = 0
            self._budget.exceeded = True
            raise OutputLimitExceeded()
        self._parts.append(text)
        self._budget.remaining -= size
        return len(text)

    def getvalue(self) -> str:
        return "".join(self._parts)


def plot_xy(
    x: Any,
    y: Any = None,
    *,
    label: str | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    logx: bool = False,
    logy: bool = False,
    marker: str = "o",
) -> Any:
    """Plot y against x as a line with markers; the figure is returned with the output.

    With one argument, plot it against its index. Returns the matplotlib Figure.
    """
    if y is None:
        x, y = range(len(x)), x
    figure, axes = plt.subplots(figsize=(6.4, 4.0))
    axes.plot(x, y, marker=marker, label=label)
    if logx:
        axes.set_xscale("log")
    if logy:
        axes.set_yscale("log")
    axes.set_title(title or "")
    axes.set_xlabel(xlabel or "")
    axes.set_ylabel(ylabel or "")
    axes.grid(True, alpha=0.3)
    if label:
        axes.legend()
    figure.tight_layout()
    return figure


def execute_snippet(code: str, limits: RunnerLimits, device: str = "cpu") -> dict[str, Any]:
    """Run `code` as `__main__` and return the result frame (a JSON-ready dict).

    `device="cuda"` (a CUDA pool's run process only): the snippet's NumPy is CuPy (cuda.py).
    """
    budget = OutputBudget(limits.output_bytes)
    stdout, stderr = CappedStream(budget), CappedStream(budget)
    saved = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr, sys.stdin = stdout, stderr, io.StringIO()
    try:
        status, trace = _run(code, device)
        figures, notes = collect_figures(limits)
    finally:
        sys.stdout, sys.stderr, sys.stdin = saved
    if budget.exceeded:
        notes.insert(0, f"[output stopped: more than {limits.output_bytes} bytes were printed]")
        status = "output_limit" if status in ("ok", "error") else status
    err_text = stderr.getvalue() + _cap(trace, limits.output_bytes)
    if notes:
        err_text += ("" if not err_text or err_text.endswith("\n") else "\n") + "\n".join(notes) + "\n"
    return {
        "event": "result",
        "status": status,
        "stdout": _clean_text(stdout.getvalue()),
        "stderr": _clean_text(err_text),
        "figures": figures,
    }


def _run(code: str, device: str = "cpu") -> tuple[str, str]:
    """Compile and exec; returns (status, traceback text)."""
    linecache.cache[SNIPPET_FILENAME] = (len(code), None, code.splitlines(True), SNIPPET_FILENAME)
    module = types.ModuleType("__main__")
    module.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = module
    sys.argv = [SNIPPET_FILENAME]
    try:
        if device == "cuda":
            from .cuda import snippet_builtins

            module.__dict__["__builtins__"] = snippet_builtins(plot_xy)
        compiled = compile(code, SNIPPET_FILENAME, "exec", dont_inherit=True)
        exec(compiled, module.__dict__)  # noqa: S102  (running the snippet is the point; the sandbox contains it)
    except OutputLimitExceeded:
        return "output_limit", ""
    except SystemExit as exc:
        if exc.code in (None, 0):
            return "ok", ""
        return "error", f"SystemExit: {exc.code}\n"
    except MemoryError as exc:
        # Free what the snippet holds first: formatting the traceback needs memory too.
        traceback.clear_frames(exc.__traceback__)
        module.__dict__.clear()
        return "memory_limit", format_exception(exc) + "[the snippet ran out of memory]\n"
    except BaseException as exc:  # noqa: BLE001  (the snippet's failure is our result)
        return "error", format_exception(exc)
    return "ok", ""


def format_exception(exc: BaseException) -> str:
    """A traceback that names only `<snippet>` frames: no paths of ours or the libraries'."""
    summary = traceback.TracebackException.from_exception(exc)
    pending, seen = [summary], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        kept = [frame for frame in current.stack if frame.filename == SNIPPET_FILENAME]
        current.stack = traceback.StackSummary.from_list(kept)
        pending.extend(item for item in (current.__cause__, current.__context__) if item is not None)
        pending.extend(getattr(current, "exceptions", None) or [])
    return "".join(summary.format())


def collect_figures(limits: RunnerLimits) -> tuple[list[dict[str, str]], list[str]]:
    """Encode open pyplot figures as PNG; notes say what was left out and why."""
    figures: list[dict[str, str]] = []
    notes: list[str] = []
    numbers = plt.get_fignums()
    for index, number in enumerate(numbers[: limits.max_figures], start=1):
        figure = plt.figure(number)
        buffer = io.BytesIO()
        try:
            figure.savefig(buffer, format="png", dpi=_safe_dpi(figure))
        except OutputLimitExceeded:
            notes.append(f"[figure {index} was dropped: output limit reached while drawing it]")
            continue
        except MemoryError:
            notes.append(f"[figure {index} was dropped: out of memory while drawing it]")
            continue
        except Exception as exc:  # noqa: BLE001  (a broken plot must not lose the text output)
            notes.append(f"[figure {index} could not be drawn: {type(exc).__name__}: {exc}]")
            continue
        data = buffer.getvalue()
        if len(data) > limits.figure_bytes:
            notes.append(f"[figure {index} was dropped: {len(data)} bytes is over the {limits.figure_bytes} limit]")
            continue
        figures.append({"mime": "image/png", "data": base64.b64encode(data).decode("ascii")})
    if len(numbers) > limits.max_figures:
        notes.append(f"[{len(numbers)} figures were made; only the first {limits.max_figures} are returned]")
    plt.close("all")
    return figures, notes


def _safe_dpi(figure: Any) -> float:
    width, height = figure.get_size_inches()
    dpi = float(figure.dpi)
    pixels = width * height * dpi * dpi
    if pixels > _MAX_FIGURE_PIXELS:
        dpi *= (_MAX_FIGURE_PIXELS / pixels) ** 0.5
    return max(dpi, 1.0)


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """warnings.showwarning that names library files by basename only (no server paths)."""
    shown = filename if filename == SNIPPET_FILENAME else os.path.basename(filename)
    if line is None and filename == SNIPPET_FILENAME:
        line = linecache.getline(filename, lineno)
    text = warnings.formatwarning(message, category, shown, lineno, line or "")
    (file or sys.stderr).write(text)


def prepare_interpreter(hidden_package: str) -> None:
    """Per-run interpreter tweaks, done in the run process just before executing."""
    builtins.plot_xy = plot_xy  # type: ignore[attr-defined]
    # Run processes inherit the template process's RNG state; reseed so runs differ like fresh
    # interpreters would (Python's `random` already reseeds itself after fork).
    numpy.random.seed()
    plt.show = lambda *args, **kwargs: None  # Agg cannot show; don't warn students about it
    warnings.showwarning = show_warning
    # Our own modules stay in memory but out of sys.modules, so `import app` finds nothing.
    for name in list(sys.modules):
        if name == hidden_package or name.startswith(hidden_package + "."):
            del sys.modules[name]
    forget_editable_install()


def forget_editable_install() -> None:
    """Drop the finder an editable install (`pip install -e`) adds: it maps our package to the project."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if not _is_editable_finder(finder)]
    sys.path_hooks[:] = [hook for hook in sys.path_hooks if not _is_editable_finder(hook)]
    for name in [name for name in sys.modules if name.startswith("__editable__")]:
        del sys.modules[name]
    sys.path_importer_cache.clear()


def _is_editable_finder(finder: object) -> bool:
    module = getattr(finder, "__module__", "") or getattr(type(finder), "__module__", "")
    return str(module).startswith("__editable__")


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + "\n[traceback truncated]\n"


def _clean_text(text: str) -> str:
    # Lone surrogates (print("\ud800")) cannot be encoded as UTF-8 JSON.
    return text.encode("utf-8", "replace").decode("utf-8")
