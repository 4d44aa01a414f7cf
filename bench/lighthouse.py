"""Lighthouse against the real server: the index and the chapter, every category.

    .venv/bin/python bench/lighthouse.py [--runs 3] [--baseline-runs 1] [--preset mobile|desktop]

Setup (once): `npm ci --prefix bench/lighthouse` (Lighthouse 12.2.3, pinned in
bench/lighthouse/package-lock.json) and Debian's chromium (`apt-get install chromium`).

Each page is audited `--runs` times against a real `textbook serve` (Lighthouse's
default mobile emulation and simulated throttling unless `--preset desktop`), and the
median score per category is printed with the text-compression and cache-policy audits.
The baseline, audited in the same run, is the same bytes (the page and every file it
links) saved and served by `python -m http.server`: no compression, no cache headers,
so the two audits show what the server's delivery does. Exits non-zero when a category
is under 0.95 or either audit fails on the app.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.server import free_port, running_server

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "bench" / "lighthouse" / "node_modules" / "lighthouse" / "cli" / "index.js"
CHROMIUM = "/usr/bin/chromium"
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --no-first-run"
)
PAGES = {"index": "/", "chapter": "/chapters/fine-tuning"}
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
AUDITS = ("uses-text-compression", "uses-long-cache-ttl")
# The metrics the performance score is made of (Lighthouse 12 weights: TBT 30 %, LCP 25 %,
# CLS 25 %, FCP 10 %, Speed Index 10 %), printed as medians so a shortfall can be read.
METRICS = {
    "first-contentful-paint": "FCP ms",
    "largest-contentful-paint": "LCP ms",
    "total-blocking-time": "TBT ms",
    "cumulative-layout-shift": "CLS",
    "speed-index": "SI ms",
}
ATTEMPTS = 3  # Lighthouse now and then fails to record a trace on a busy machine (NO_NAVSTART)
TARGET = 0.95
LINK = re.compile(r'(?:href|src)="(/(?:static|assets)/[^"]+)"')


def audit(url: str, preset: str, out_dir: Path) -> dict[str, float | None]:
    report = out_dir / f"lh-{time.monotonic_ns()}.json"
    command = [
        "node",
        str(LIGHTHOUSE),
        url,
        "--output=json",
        f"--output-path={report}",
        "--quiet",
        f"--chrome-flags={CHROME_FLAGS}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--max-wait-for-load=60000",
    ]
    if preset == "desktop":
        command.append("--preset=desktop")
    for attempt in range(1, ATTEMPTS + 1):
        done = subprocess.run(command, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=300)
        if done.returncode == 0:
            break
        print(f"lighthouse failed (exit {done.returncode}), attempt {attempt} of {ATTEMPTS}", file=sys.stderr)
    else:
        raise RuntimeError(f"lighthouse failed {ATTEMPTS} times on {url}")
    data = json.loads(report.read_text())
    scores: dict[str, float | None] = {name: data["categories"][name]["score"] for name in CATEGORIES}
    for name in AUDITS:
        scores[name] = data["audits"][name]["score"]
    for name in METRICS:
        scores[name] = data["audits"][name]["numericValue"]
    scores["failed-audits"] = [  # type: ignore[assignment]
        key
        for key, value in data["audits"].items()
        if value.get("score") is not None
        and value["score"] < 0.9
        and value.get("scoreDisplayMode") in ("binary", "numeric", "metricSavings")
    ]
    return scores


def snapshot(base: str, directory: Path) -> None:
    """Save each page and the files it links under the same paths, for the plain static server."""
    for path in PAGES.values():
        html = httpx.get(base + path).text
        target = directory / path.lstrip("/") / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html)
        for asset in LINK.findall(html):
            saved = directory / asset.lstrip("/")
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_bytes(httpx.get(base + asset).content)


def medians(runs: list[dict]) -> dict[str, float]:
    keys = [*CATEGORIES, *AUDITS, *METRICS]
    found = {key: statistics.median(run[key] if run[key] is not None else 1.0 for run in runs) for key in keys}
    found["performance-runs"] = [run["performance"] for run in runs]  # type: ignore[assignment]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-runs", type=int, default=1)
    parser.add_argument("--preset", choices=("mobile", "desktop"), default="mobile")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        print("Lighthouse is missing: npm ci --prefix bench/lighthouse", file=sys.stderr)
        return 2
    print(
        f"load average {os.getloadavg()}, preset {args.preset}, "
        f"{args.runs} runs per page (baseline {args.baseline_runs})"
    )
    results: dict[tuple[str, str], dict[str, float]] = {}
    failures: dict[tuple[str, str], set[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        with running_server(tmp_path / "data") as base:
            for page, path in PAGES.items():
                httpx.get(base + path)  # warm: templates compiled, charts drawn
                runs = [audit(base + path, args.preset, tmp_path) for _ in range(args.runs)]
                results[("app", page)] = medians(runs)
                failures[("app", page)] = {name for run in runs for name in run["failed-audits"]}
            snapshot(base, tmp_path / "static-copy")
        port = free_port()
        static = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
            cwd=tmp_path / "static-copy",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(1)
            for page, path in PAGES.items():
                runs = [
                    audit(
                        f"http://127.0.0.1:{port}{path}/" if path != "/" else f"http://127.0.0.1:{port}/",
                        args.preset,
                        tmp_path,
                    )
                    for _ in range(args.baseline_runs)
                ]
                results[("baseline", page)] = medians(runs)
        finally:
            static.terminate()
            static.wait()
    columns = [*CATEGORIES, *AUDITS]
    print(f"\n{'server':<9} {'page':<8} " + " ".join(f"{c[:22]:>22}" for c in columns))
    ok = True
    for (server, page), scores in results.items():
        print(f"{server:<9} {page:<8} " + " ".join(f"{scores[c]:>22.2f}" for c in columns))
        if server == "app":
            ok &= all(scores[c] >= TARGET for c in CATEGORIES) and all(scores[a] == 1 for a in AUDITS)
    header = " ".join(f"{label:>9}" for label in METRICS.values())
    print(f"\n{'server':<9} {'page':<8} {header}  performance per run")
    for (server, page), scores in results.items():
        values = " ".join(
            f"{scores[name]:>9.3f}" if name == "cumulative-layout-shift" else f"{scores[name]:>9.0f}"
            for name in METRICS
        )
        print(f"{server:<9} {page:<8} {values}  {scores['performance-runs']}")
    for (server, page), names in failures.items():
        if names:
            print(f"{server} {page}: audits under 0.9 in some run: {', '.join(sorted(names))}")
    print(
        f"\n{'PASS' if ok else 'FAIL'}: every category >= {TARGET} "
        "and text compression + cache policy passing on the app"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
