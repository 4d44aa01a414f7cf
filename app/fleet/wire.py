"""The runner service's JSON, read back by the web app without trusting its shape.

A runner host runs untrusted code; if one were taken over, what it sends must still not
break a page. So a result is checked field by field and capped by the web app's own limits.
"""

from __future__ import annotations

from typing import Any

from app.runner.protocol import RUN_STATUSES, Figure, RunnerLimits, RunResult

DEVICES = ("cpu", "cuda")


class MalformedResult(ValueError):
    pass


def result_from_json(data: Any, limits: RunnerLimits) -> RunResult:
    if not isinstance(data, dict):
        raise MalformedResult("the result is not an object")
    status, stdout, stderr = data.get("status"), data.get("stdout"), data.get("stderr")
    figures, elapsed_ms, device = data.get("figures"), data.get("elapsed_ms", 0.0), data.get("device", "cpu")
    if status not in RUN_STATUSES:
        raise MalformedResult(f"unknown status {status!r}")
    if not isinstance(stdout, str) or not isinstance(stderr, str):
        raise MalformedResult("stdout and stderr must be text")
    if not isinstance(figures, list) or not all(_is_figure(item) for item in figures):
        raise MalformedResult("figures must be a list of PNG images")
    if not isinstance(elapsed_ms, int | float) or isinstance(elapsed_ms, bool) or not 0 <= elapsed_ms < 3_600_000:
        raise MalformedResult("elapsed_ms must be a duration")
    if device not in DEVICES:
        raise MalformedResult(f"unknown device {device!r}")
    budget = 2 * limits.output_bytes  # characters, not bytes: generous, still bounded
    kept = [Figure(mime="image/png", data=item["data"]) for item in figures[: limits.max_figures]]
    return RunResult(status, stdout[:budget], stderr[:budget], kept, float(elapsed_ms), device)


def _is_figure(item: Any) -> bool:
    return isinstance(item, dict) and item.get("mime") == "image/png" and isinstance(item.get("data"), str)


def run_request_json(code: str, device: str) -> dict[str, str]:
    return {"code": code, "device": device}
