"""Every benchmark in one command, ending in one table of medians and ratios.

    .venv/bin/python bench/run_all.py            # everything (about 1.5 minutes on 2 idle cores)
    .venv/bin/python bench/run_all.py --quick    # fewer repeats, a tiny load, no long fuzz
    .venv/bin/python bench/run_all.py --skip fuzz --skip runner
    .venv/bin/python bench/run_all.py --only charts
    ./dev bench [same flags]

Parts: pages (chapter page vs the same bytes as a static file; instruments vs the
trivial endpoint), runner (sandboxed pool vs a fresh interpreter vs warm exec;
throughput at 1/4/16 clients), charts (cold render vs cached), memory (resident size
of the server's whole process tree idle and under a short classroom load, which is
also reported as a load run), fuzz (the long schemathesis run).

Absolute times depend on the machine and on what else runs on it; the claims are
the medians side by side and their ratios, measured interleaved where possible.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_pages, bench_runner, fuzz, load
from bench.server import running_server
from bench.stats import interleaved, table

PARTS = ("pages", "runner", "charts", "memory", "fuzz")


def heading(title: str, command: str) -> None:
    print(f"\n{'=' * 78}\n{title}\n  reproduce: {command}\n  {load.machine_note()}\n{'=' * 78}")


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


# ---- charts -------------------------------------------------------------------


def bench_charts(repeats: int) -> dict[str, dict[str, list[float]]]:
    """A chart drawn afresh (what the renderer process does) against the renderer's cache."""
    import asyncio

    from app.instruments.chart_keys import lora_chart_key, nf4_chart_key, vram_chart_key
    from app.instruments.chart_renderer import ChartRenderer
    from app.instruments.charts import lora_chart, nf4_chart, vram_chart
    from app.instruments.nf4 import nf4_report
    from app.instruments.vram import estimate_methods

    estimates = estimate_methods("llama-2-70b")
    report = nf4_report(64)
    keys = {
        "VRAM": vram_chart_key(estimates, highlight="qlora"),
        "LoRA": lora_chart_key(4096, 4096, 8),
        "NF4": nf4_chart_key(report),
    }
    renderer = ChartRenderer()
    renderer.start()
    try:
        for key in keys.values():
            asyncio.run(renderer.render(key))
    finally:
        renderer.close()  # drawn charts stay in its cache
    calls = {
        "VRAM chart, cached": lambda: renderer.cached(keys["VRAM"]),
        "VRAM chart, cold": lambda: vram_chart(estimates, highlight="qlora"),
        "LoRA chart, cached": lambda: renderer.cached(keys["LoRA"]),
        "LoRA chart, cold": lambda: lora_chart(4096, 4096, 8),
        "NF4 chart, cached": lambda: renderer.cached(keys["NF4"]),
        "NF4 chart, cold": lambda: nf4_chart(report),
    }
    samples = interleaved(calls, repeats, warmup=3)
    print(f"{repeats} interleaved calls each, in this process\n")
    for name in ("VRAM", "LoRA", "NF4"):
        rows = [(key, value) for key, value in samples.items() if key.startswith(name)]
        print(table(rows, f"{name} chart, cached"))
        print()
    return {"charts": samples}


# ---- memory under a short load -------------------------------------------------


class RssSampler(threading.Thread):
    """Samples the resident size of the server's process tree until stopped."""

    def __init__(self, pid: int, interval_s: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval_s = pid, interval_s
        self.samples_kb: list[int] = []
        self.processes: list[int] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.samples_kb.append(load.tree_rss_kb(self.pid))
            self.processes.append(len(load.process_tree(self.pid)))
            self._stop_event.wait(self.interval_s)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def bench_memory(students: int, duration: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        with running_server(data_dir, TEXTBOOK_SECRET_KEY="bench-secret") as base:
            pid = load.server_pid(base)
            time.sleep(2.0)  # spares forked, caches primed by startup
            idle_kb = [load.tree_rss_kb(pid) for _ in range(5)]
            idle_pss_kb = load.tree_pss_kb(pid)
            idle_processes = len(load.process_tree(pid))
            sampler = RssSampler(pid)
            sampler.start()
            cpu_before = load.cpu_snapshot(pid)
            try:
                rec, elapsed = asyncio.run(load.drive(base, students, duration))
            finally:
                sampler.stop()
            cpu = load.cpu_used(cpu_before, pid)
            after_kb = load.tree_rss_kb(pid)
            after_pss_kb = load.tree_pss_kb(pid)
        attempts = load.count_attempts(data_dir)
    print(f"server process tree idle: {idle_processes} processes, RSS median {p50(idle_kb) / 1024:.0f} MiB")
    print(
        f"under load: RSS median {p50(sampler.samples_kb) / 1024:.0f} MiB, "
        f"max {max(sampler.samples_kb) / 1024:.0f} MiB, "
        f"{min(sampler.processes)}-{max(sampler.processes)} processes; after the load {after_kb / 1024:.0f} MiB"
    )
    print("(VmRSS summed over the tree: pages the template shares with its forks count once per process)")
    if idle_pss_kb is not None and after_pss_kb is not None:
        print(
            f"proportional set size (shared pages split): idle {idle_pss_kb / 1024:.0f} MiB, "
            f"after the load {after_pss_kb / 1024:.0f} MiB"
        )
    print()
    verdicts = load.report(rec, elapsed, attempts, students, cpu)
    return {
        "idle_kb": idle_kb,
        "load_kb": sampler.samples_kb,
        "after_kb": after_kb,
        "idle_processes": idle_processes,
        "idle_pss_kb": idle_pss_kb,
        "after_pss_kb": after_pss_kb,
        "recorder": rec,
        "elapsed": elapsed,
        "verdicts": verdicts,
    }


# ---- the summary ----------------------------------------------------------------


def summary(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str]] = []
    if "pages" in results:
        pages, instruments = results["pages"]["pages"], results["pages"]["instruments"]
        static = p50(pages["same bytes as a static file"])
        page = p50(pages["chapter page (GET /chapters/fine-tuning)"])
        rows.append(("chapter page vs same bytes static", f"{page:.2f} / {static:.2f} ms", f"{page / static:.2f}x"))
        trivial = p50(instruments["trivial endpoint (GET /api/version)"])
        for name, samples in instruments.items():
            if name.startswith("trivial"):
                continue
            rows.append(
                (f"{name} vs /api/version", f"{p50(samples):.2f} / {trivial:.2f} ms", f"{p50(samples) / trivial:.2f}x")
            )
    if "runner" in results:
        runner = results["runner"]
        cold, warm = runner["subprocess"]["p50_ms"], runner["warm_exec"]["p50_ms"]
        for mode in ("paced", "back_to_back"):
            pool = runner["pool"][mode]["p50_ms"]
            rows.append(
                (
                    f"runner pool ({mode}) vs fresh python -c",
                    f"{pool:.2f} / {cold:.2f} ms",
                    f"{cold / pool:.1f}x faster",
                )
            )
            rows.append(
                (f"runner pool ({mode}) vs warm exec()", f"{pool:.2f} / {warm:.2f} ms", f"{pool - warm:+.2f} ms")
            )
        rates = runner["pool"]["throughput_runs_per_s"]
        for clients, rate in rates.items():
            rows.append(
                (f"runner throughput, {clients} client(s)", f"{rate:.1f} runs/s", f"{rate / rates[1]:.2f}x of 1 client")
            )
    if "charts" in results:
        charts = results["charts"]["charts"]
        for name in ("VRAM", "LoRA", "NF4"):
            cached, cold = p50(charts[f"{name} chart, cached"]), p50(charts[f"{name} chart, cold"])
            rows.append((f"{name} chart cold vs cached", f"{cold:.2f} / {cached:.4f} ms", f"{cold / cached:.0f}x"))
    if "memory" in results:
        memory = results["memory"]
        idle, busy = p50(memory["idle_kb"]) / 1024, p50(memory["load_kb"]) / 1024
        rows.append(("server tree RSS idle", f"{idle:.0f} MiB", f"{memory['idle_processes']} processes"))
        rows.append(
            (
                "server tree RSS under load (median / max)",
                f"{busy:.0f} / {max(memory['load_kb']) / 1024:.0f} MiB",
                f"{busy / idle:.2f}x idle",
            )
        )
        if memory["idle_pss_kb"] and memory["after_pss_kb"]:
            rows.append(
                (
                    "server tree PSS idle / after load",
                    f"{memory['idle_pss_kb'] / 1024:.0f} / {memory['after_pss_kb'] / 1024:.0f} MiB",
                    f"{memory['after_pss_kb'] / memory['idle_pss_kb']:.2f}x",
                )
            )
        rec, elapsed = memory["recorder"], memory["elapsed"]
        rows.append(("load run", f"{len(rec.samples) / elapsed:.1f} requests/s", f"{len(rec.samples)} requests"))
        for verdict in memory["verdicts"]:
            rows.append(
                (f"load: {verdict.name}", {True: "PASS", False: "FAIL", None: "N/A"}[verdict.ok], verdict.detail)
            )
    if "fuzz" in results:
        fuzzed = results["fuzz"]
        rows.append(
            (
                "long fuzz",
                f"{fuzzed['cases']} cases",
                f"{sum(fuzzed['failures'].values())} failing, {len(fuzzed['failures'])} distinct",
            )
        )
    for name, reason in results.get("failed_parts", {}).items():
        rows.append((f"{name} (did not complete)", "-", reason[:120]))
    width = max(len(row[0]) for row in rows) if rows else 10
    lines = [f"{'measure':{width}s}  {'medians':28s}  ratio / result"]
    lines += [f"{a:{width}s}  {b:28s}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, a 30-student 8 s load, no long fuzz")
    parser.add_argument("--skip", action="append", choices=PARTS, default=[], help="leave a part out (repeatable)")
    parser.add_argument("--only", action="append", choices=PARTS, default=[], help="run only this part (repeatable)")
    parser.add_argument("--students", type=int, help="students in the memory/load part (default 100; quick 30)")
    parser.add_argument("--duration", type=float, help="seconds of that load (default 20; quick 8)")
    args = parser.parse_args(argv)
    skip = set(args.skip) | ({"fuzz"} if args.quick else set()) | (set(PARTS) - set(args.only) if args.only else set())
    repeats = 50 if args.quick else 200
    students = args.students or (30 if args.quick else 100)
    duration = args.duration or (8.0 if args.quick else 20.0)
    runner_args = (
        ["--samples", "15", "--subprocess-samples", "5", "--throughput-runs", "16"]
        if args.quick
        else ["--samples", "40", "--subprocess-samples", "15", "--throughput-runs", "64"]
    )
    fuzz_args = ["--examples", "300", "--run-examples", "60"]
    started = time.monotonic()
    print(
        f"{datetime.datetime.now().isoformat(timespec='seconds')}  {platform.platform()}  "
        f"Python {platform.python_version()}  {os.cpu_count()} CPUs"
    )
    results: dict[str, Any] = {}
    failed_parts: dict[str, str] = {}

    def part(name: str, title: str, command: str, measure: Any) -> None:
        if name in skip:
            return
        heading(title, command)
        try:
            results[name] = measure()
        except (Exception, SystemExit) as exc:  # noqa: BLE001  (one broken part must not hide the others)
            failed_parts[name] = f"{type(exc).__name__}: {exc}"
            print(f"!! {name} did not complete: {failed_parts[name]}")

    def runner_part() -> dict[str, Any]:
        samples, subprocess_samples, throughput_runs = (int(value) for value in runner_args[1::2])
        measured = bench_runner.measure(samples, subprocess_samples, throughput_runs)
        print(bench_runner.render(measured))
        return measured

    part(
        "pages",
        "pages and instruments over HTTP",
        f"bench/bench_pages.py --repeats {repeats}",
        lambda: bench_pages.main(["--repeats", str(repeats)]),
    )
    part("runner", "the sandboxed runner", "bench/bench_runner.py " + " ".join(runner_args), runner_part)
    part(
        "charts",
        "charts: cold render vs cached",
        "bench/run_all.py --only charts" + (" --quick" if args.quick else ""),
        lambda: bench_charts(max(10, repeats // 4)),
    )
    part(
        "memory",
        "memory and a short classroom load",
        f"bench/run_all.py --only memory --students {students} --duration {duration:g}  "
        "(= bench/load.py with these flags, plus RSS sampling)",
        lambda: bench_memory(students, duration),
    )
    part("fuzz", "the long fuzz", "bench/fuzz.py " + " ".join(fuzz_args), lambda: fuzz.main(fuzz_args))
    results["failed_parts"] = failed_parts
    heading(
        f"summary ({time.monotonic() - started:.0f} s)",
        "bench/run_all.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    )
    print(summary(results))
    return results


if __name__ == "__main__":
    outcome = main()
    failed = (
        any(v.ok is False for v in outcome.get("memory", {}).get("verdicts", []))
        or bool(outcome.get("fuzz", {}).get("failures"))
        or bool(outcome["failed_parts"])
    )
    sys.exit(1 if failed else 0)
