"""This tree's server against an earlier commit's, in the same run: the same requests sent
to both in alternation, medians and ratios (after / before).

    git worktree add /tmp/before <commit>     # the baseline (static/vendor copied from here)
    .venv/bin/python bench/before_after.py --baseline /tmp/before [--repeats 200] [--runs 40]

Both servers run on this venv and read the same content (the baseline's, so the input is
the same and only the code differs); each has its own data directory. Answers are asked
for uncompressed (`Accept-Encoding: identity`), so what is timed is the code's own work. Timed: the chapter
page, the trivial endpoint, the instruments' JSON and HTMX fragments, and a snippet run
through `POST /api/run` (the sandboxed pool, paced like clicks).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.server import ROOT, server_process
from bench.stats import interleaved, percentile
from tests.runner.snippets import LORA_ALGEBRA

HX = {"HX-Request": "true"}
REQUESTS: dict[str, tuple[str, dict[str, object], dict[str, str]]] = {
    "chapter page": ("/chapters/fine-tuning", {}, {}),
    "trivial endpoint (/api/version)": ("/api/version", {}, {}),
    "LoRA matrix JSON": ("/api/instruments/lora/matrix", {"d_in": 4096, "d_out": 4096, "r": 8}, {}),
    "LoRA model JSON": ("/api/instruments/lora/model", {"model": "llama-3-70b", "r": 16, "targets": "all-linear"}, {}),
    "VRAM JSON": ("/api/instruments/vram", {"model": "llama-2-70b", "method": "qlora"}, {}),
    "NF4 JSON": ("/api/instruments/nf4", {"block_size": 64}, {}),
    "LoRA fragment (HTMX)": ("/chapters/fine-tuning/instruments/lora-counter", {"lora-counter.r": 32}, HX),
    "VRAM fragment, chart cached (HTMX)": (
        "/chapters/fine-tuning/instruments/vram-fit",
        {"vram-fit.method": "lora"},
        HX,
    ),
}


@contextlib.contextmanager
def server(tree: Path, data: Path, content: Path) -> Iterator[str]:
    """A real `textbook serve` of `tree` (its own app, templates and static files)."""
    static = tree / "static"
    if not (static / "vendor").exists():
        shutil.copytree(ROOT / "static" / "vendor", static / "vendor")
    env = {
        "PYTHONPATH": str(tree),
        "TEXTBOOK_CONTENT_DIR": str(content),
        "TEXTBOOK_TEMPLATES_DIR": str(tree / "templates"),
        "TEXTBOOK_STATIC_DIR": str(static),
    }
    with _in_directory(tree), server_process(data, **env) as (_, base):
        yield base


@contextlib.contextmanager
def _in_directory(tree: Path) -> Iterator[None]:
    # server_process starts `python -m app.cli` in ROOT; point ROOT's use at the tree instead.
    import bench.server as module

    original = module.ROOT
    module.ROOT = tree
    try:
        yield
    finally:
        module.ROOT = original


def call(client: httpx.Client, path: str, params: dict[str, object], headers: dict[str, str]) -> Callable[[], None]:
    def go() -> None:
        response = client.get(path, params=params, headers=headers)  # type: ignore[arg-type]
        if response.status_code != 200:
            raise RuntimeError(f"{client.base_url}{path}: {response.status_code} {response.text[:200]}")

    return go


def run_call(client: httpx.Client) -> Callable[[], None]:
    def go() -> None:
        time.sleep(0.02)  # paced like clicks: the pool's ready run process is back in place
        response = client.post("/api/run", json={"code": LORA_ALGEBRA})
        if response.status_code != 200 or response.json()["status"] != "ok":
            raise RuntimeError(f"run failed: {response.status_code} {response.text[:300]}")

    return go


def row(name: str, before: list[float], after: list[float]) -> str:
    b, a = statistics.median(before), statistics.median(after)
    return (
        f"{name:36s} {b:9.2f} {a:9.2f} {a / b:7.2f}x   {percentile(before, 90):9.2f} {percentile(after, 90):9.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a worktree of the earlier commit")
    parser.add_argument("--repeats", type=int, default=200, help="requests per case and server")
    parser.add_argument("--runs", type=int, default=40, help="snippet runs per server")
    parser.add_argument("--after", type=Path, default=ROOT, help="the later tree (default: this one)")
    args = parser.parse_args(argv)
    baseline = args.baseline.resolve()
    content = baseline / "content"
    with tempfile.TemporaryDirectory() as tmp:
        with (
            server(baseline, Path(tmp) / "before", content) as before_url,
            server(args.after.resolve(), Path(tmp) / "after", content) as after_url,
        ):
            # Uncompressed answers: the code's own work (compression, added later, is timed in BENCHMARKS).
            identity = {"Accept-Encoding": "identity"}
            before = httpx.Client(base_url=before_url, timeout=30, headers=identity)
            after = httpx.Client(base_url=after_url, timeout=30, headers=identity)
            calls: dict[str, Callable[[], None]] = {}
            for name, (path, params, headers) in REQUESTS.items():
                calls[f"{name}|before"] = call(before, path, params, headers)
                calls[f"{name}|after"] = call(after, path, params, headers)
            samples = interleaved(calls, args.repeats)
            runs = interleaved({"run|before": run_call(before), "run|after": run_call(after)}, args.runs, warmup=3)
    print(f"before: {baseline}\nafter:  {args.after.resolve()}\nsame content ({content}); requests interleaved\n")
    print(f"{'case':36s} {'before':>9s} {'after':>9s} {'ratio':>8s}   {'p90 bef.':>9s} {'p90 aft.':>9s}  (ms)")
    for name in REQUESTS:
        print(row(name, samples[f"{name}|before"], samples[f"{name}|after"]))
    print(row("snippet run (POST /api/run, paced)", runs["run|before"], runs["run|after"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
