"""A run's outcome as a RunResult: from the frame its process sent, or from how it ended.

The frame comes from the snippet's own process, so nothing in it is trusted:
its shape is checked, its text is cleaned (no lone surrogates) and cut to the
output limits, and its figures must be base64 PNGs within the figure limits;
the result the pool returns therefore obeys the limits whatever was written to
the socket. Pure functions, no I/O.
"""

from __future__ import annotations

import binascii
import signal
from typing import Any, Literal

from .protocol import RUN_STATUSES, Figure, RunnerLimits, RunResult

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NOTES_BYTES = 4096  # room for the notes the executor and this module add ("[figure 2 was dropped: ...]")
_OWN_NOTES_BYTES = 1024  # at most 1 + max_figures + 1 short lines, added here after the cut

# Why a run ended without a usable result frame.
Ending = Literal["timeout", "cpu_limit", "output_limit", "malformed", "exited"]


def stdout_cap(limits: RunnerLimits) -> int:
    return limits.output_bytes


def stderr_cap(limits: RunnerLimits) -> int:
    """The most stderr a result may carry: what the snippet printed shares output_bytes with
    stdout, its traceback has a budget of its own, and the notes saying what was cut."""
    return 2 * limits.output_bytes + NOTES_BYTES


def result_from_frame(frame: dict[str, Any], elapsed_ms: float, limits: RunnerLimits) -> RunResult:
    """The result a run process reported, checked, cleaned and held to the limits."""
    status = frame.get("status")
    stdout, stderr, raw_figures = frame.get("stdout"), frame.get("stderr"), frame.get("figures")
    if not (
        frame.get("event") == "result"
        and status in RUN_STATUSES
        and isinstance(stdout, str)
        and isinstance(stderr, str)
        and isinstance(raw_figures, list)
    ):
        return result_without_frame("malformed", None, elapsed_ms, limits)
    notes: list[str] = []
    stdout, stdout_cut = cut_text(stdout, stdout_cap(limits))
    stderr, stderr_cut = cut_text(stderr, stderr_cap(limits) - _OWN_NOTES_BYTES)
    if stdout_cut or stderr_cut:
        notes.append(f"[output stopped: more than {limits.output_bytes} bytes were printed]")
        if status in ("ok", "error"):
            status = "output_limit"
    figures = []
    for index, item in enumerate(raw_figures[: limits.max_figures], start=1):
        figure = checked_figure(item, limits)
        if figure is None:
            notes.append(f"[figure {index} was dropped: not a PNG image within {limits.figure_bytes} bytes]")
        else:
            figures.append(figure)
    if len(raw_figures) > limits.max_figures:
        notes.append(f"[{len(raw_figures)} figures were made; only the first {limits.max_figures} are returned]")
    if notes:
        stderr += ("" if not stderr or stderr.endswith("\n") else "\n") + "\n".join(notes) + "\n"
    return RunResult(status, stdout, stderr, figures, elapsed_ms)  # type: ignore[arg-type]  # status: checked above


def clean_text(text: str) -> str:
    """Text that encodes as UTF-8: lone surrogates (print("\\ud800"), forged escapes) become '?'."""
    return text.encode("utf-8", "replace").decode("utf-8")


def cut_text(text: str, limit_bytes: int) -> tuple[str, bool]:
    """Clean `text` and keep at most `limit_bytes` of its UTF-8; whether anything was cut."""
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= limit_bytes:
        return encoded.decode("utf-8"), False
    return encoded[:limit_bytes].decode("utf-8", "ignore"), True


def checked_figure(item: Any, limits: RunnerLimits) -> Figure | None:
    """A figure only if it is strict base64 of a PNG no larger than the figure limit."""
    if not isinstance(item, dict) or item.get("mime") != "image/png":
        return None
    data = item.get("data")
    if not isinstance(data, str) or not data.isascii() or len(data) > 4 * -(-limits.figure_bytes // 3):
        return None
    try:
        raw = binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    if not raw.startswith(PNG_SIGNATURE) or len(raw) > limits.figure_bytes:
        return None
    return Figure(mime="image/png", data=data)


def result_without_frame(
    ending: Ending, exit_info: dict[str, Any] | None, elapsed_ms: float, limits: RunnerLimits
) -> RunResult:
    """Explain a run that produced no usable result frame."""
    if ending == "timeout":
        return RunResult("timeout", "", f"stopped: the snippet ran longer than {limits.wall_s:g} s\n", [], elapsed_ms)
    if ending == "cpu_limit":
        message = f"stopped: the snippet used more than {limits.cpu_s} s of CPU time\n"
        return RunResult("timeout", "", message, [], elapsed_ms)
    if ending == "output_limit":
        message = f"stopped: the snippet sent more output than the {limits.output_bytes}-byte limit\n"
        return RunResult("output_limit", "", message, [], elapsed_ms)
    if ending == "malformed":
        message = "the sandbox returned a malformed result (did the snippet write to it?)\n"
        return RunResult("error", "", message, [], elapsed_ms)
    signal_number = (exit_info or {}).get("signal")
    code = (exit_info or {}).get("code")
    if isinstance(signal_number, int):
        if signal_number == signal.SIGXCPU:  # unsafe mode: not pid 1, so RLIMIT_CPU's signal acts
            return result_without_frame("cpu_limit", None, elapsed_ms, limits)
        name = _signal_name(signal_number)
        hints: dict[int, str] = {
            signal.SIGSEGV: " (a crash in native code, e.g. through ctypes or very deep recursion)",
            signal.SIGKILL: " (e.g. its memory ran out)",
        }
        hint = hints.get(signal_number, "")
        return RunResult("killed", "", f"the snippet's process was killed by {name}{hint}\n", [], elapsed_ms)
    if isinstance(code, int):
        message = f"the snippet's process exited (code {code}) before reporting a result\n"
        return RunResult("error", "", message, [], elapsed_ms)
    return RunResult("killed", "", "the snippet's process vanished without a result\n", [], elapsed_ms)


# The signals a crash in native code dies by; faulthandler reports exactly these.
CRASH_SIGNALS = frozenset({signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGABRT})


def crashed(exit_info: dict[str, Any] | None) -> bool:
    """Whether the template process reported the run process dead by a crash signal."""
    return (exit_info or {}).get("signal") in CRASH_SIGNALS


def result_with_crash_report(
    report: bytes, exit_info: dict[str, Any] | None, elapsed_ms: float, limits: RunnerLimits
) -> RunResult:
    """A run that crashed after writing a crash report where its result belonged (faulthandler
    writes plain text to the file it was given, then the process dies by its signal): the
    status any crash gets, and the report as stderr, cleaned and cut to the output limit."""
    crash = result_without_frame("exited", exit_info, elapsed_ms, limits)
    text, cut = cut_text(report.decode("utf-8", "replace"), limits.output_bytes)
    note = f"[crash report cut at {limits.output_bytes} bytes]\n" if cut else ""
    return RunResult(crash.status, "", text.rstrip("\n") + "\n" + note + crash.stderr, [], elapsed_ms)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
