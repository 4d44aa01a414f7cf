"""Benchmark: the sandboxed runner pool against two unsandboxed baselines.

Runs the chapter's LoRA-algebra snippet
  * through RunnerPool (fresh sandboxed process per run, forked from a warm template),
    once with requests spaced out like separate clicks ("paced") and once back-to-back;
  * (a) in a fresh `python -c` subprocess (cold interpreter, imports NumPy every time);
  * (b) with exec() in this already-warm process (no isolation at all);
and measures pool throughput with 1, 4 and 16 concurrent clients.

It also measures what the seccomp allow list costs: the same snippet, alternating
between the pool above and a second pool whose template process builds the filter
in tracing mode (everything allowed except `NEVER_ALLOWED`: the deny list the
runner had before the allow list), p50 against p50.

It prints medians, p90s and ratios; absolute numbers depend on the machine, so the
claims are the ratios. `measure()` returns everything as a dict for reuse (e.g. by
an HTTP-level benchmark).

    .venv/bin/python bench/bench_runner.py [--samples 40] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.runner import RunnerLimits, RunnerPool, RunRequest  # noqa: E402
from tests.runner.snippets import LORA_ALGEBRA  # noqa: E402

EXPECTED = "merged == two-path    : True"
PACED_GAP_S = 0.02


def summarize(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {
        "n": len(ordered),
        "p50_ms": statistics.median(ordered),
        "p90_ms": ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))],
    }


async def _pool_latency(pool: RunnerPool, samples: int, gap_s: float) -> list[float]:
    timings = []
    for _ in range(samples):
        if gap_s:
            await asyncio.sleep(gap_s)
        started = time.perf_counter()
        result = await pool.run(RunRequest(LORA_ALGEBRA))
        timings.append((time.perf_counter() - started) * 1000)
        if EXPECTED not in result.stdout:
            raise RuntimeError(f"pool run went wrong: {result}")
    return timings


async def _pool_throughput(pool: RunnerPool, clients: int, runs: int) -> float:
    remaining = runs

    async def client() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            result = await pool.run(RunRequest(LORA_ALGEBRA))
            if result.status != "ok":
                raise RuntimeError(f"pool run went wrong: {result}")

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return runs / (time.perf_counter() - started)


def _deny_list_python(directory: str) -> str:
    """A `python` for RunnerPool whose template process builds the deny-list filter (tracing mode)."""
    from app.runner.seccomp_policy import TRACING_VARIABLE

    wrapper = Path(directory) / "python-deny-list"
    wrapper.write_text(f'#!/bin/sh\nexport {TRACING_VARIABLE}=1\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


async def _measure_filter_cost(samples: int) -> dict[str, Any]:
    """Allow list vs deny list, runs alternating between the two pools (paced like clicks)."""
    with tempfile.TemporaryDirectory() as directory:
        allow = RunnerPool(RunnerLimits(), concurrency=1, queue_size=4)
        deny = RunnerPool(RunnerLimits(), concurrency=1, queue_size=4, python=_deny_list_python(directory))
        async with allow, deny:
            for pool in (allow, deny):
                if not pool.isolation.can_run:
                    raise SystemExit(f"no sandbox here: {pool.isolation.details}")
            await _pool_latency(allow, 3, PACED_GAP_S)
            await _pool_latency(deny, 3, PACED_GAP_S)
            timings: dict[str, list[float]] = {"allow_list": [], "deny_list": []}
            for _ in range(samples):
                timings["allow_list"] += await _pool_latency(allow, 1, PACED_GAP_S)
                timings["deny_list"] += await _pool_latency(deny, 1, PACED_GAP_S)
            seccomp = [line for line in allow.isolation.details if line.startswith("seccomp")]
    summary: dict[str, Any] = {name: summarize(values) for name, values in timings.items()}
    summary["allow_list_cost_p50_ms"] = summary["allow_list"]["p50_ms"] - summary["deny_list"]["p50_ms"]
    summary["ratio_p50"] = summary["allow_list"]["p50_ms"] / summary["deny_list"]["p50_ms"]
    summary["seccomp"] = seccomp[0] if seccomp else ""
    return summary


def _filtered_run_ms(program: bytes | None) -> float:
    """Fork, load `program` (None: no filter), execute the snippet as a run process's executor does;
    its time in ms."""
    from app.runner import linux
    from app.runner.executor import execute_snippet

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            if program is not None:
                linux.load_seccomp_program(program)
            started = time.perf_counter()
            result = execute_snippet(LORA_ALGEBRA, RunnerLimits())
            elapsed = (time.perf_counter() - started) * 1000 if EXPECTED in result["stdout"] else -1.0
            os.write(write_end, json.dumps(elapsed).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        text = reader.read()
    os.waitpid(pid, 0)
    elapsed = json.loads(text)
    if elapsed < 0:
        raise RuntimeError("the snippet failed under the filter")
    return float(elapsed)


def _measure_filter_in_process(samples: int) -> dict[str, Any]:
    """The filter's cost without the pool's noise: the snippet in forks that load one program or the other."""
    import builtins

    from app.runner import executor, seccomp_policy

    builtins.plot_xy = executor.plot_xy  # type: ignore[attr-defined]
    allow, _ = seccomp_policy.build_filter()
    deny, _ = seccomp_policy.build_filter(deny_list_only=True)
    programs = {"allow_list": allow, "deny_list": deny, "no_filter": None}
    for program in programs.values():
        _filtered_run_ms(program)  # imports and caches warm in this process before forking
    timings: dict[str, list[float]] = {name: [] for name in programs}
    for _ in range(samples):
        for name, program in programs.items():
            timings[name].append(_filtered_run_ms(program))
    summary: dict[str, Any] = {name: summarize(values) for name, values in timings.items()}
    summary["allow_list_cost_p50_ms"] = summary["allow_list"]["p50_ms"] - summary["deny_list"]["p50_ms"]
    summary["ratio_p50"] = summary["allow_list"]["p50_ms"] / summary["deny_list"]["p50_ms"]
    summary["filter_cost_p50_ms"] = summary["allow_list"]["p50_ms"] - summary["no_filter"]["p50_ms"]
    summary["ratio_to_no_filter_p50"] = summary["allow_list"]["p50_ms"] / summary["no_filter"]["p50_ms"]
    return summary


async def _measure_pool(samples: int, throughput_runs: int) -> dict[str, Any]:
    async with RunnerPool(RunnerLimits(), queue_size=64) as pool:
        if not pool.isolation.can_run:
            raise SystemExit(f"no sandbox here: {pool.isolation.details}")
        await _pool_latency(pool, 5, PACED_GAP_S)  # let the spares settle
        paced = await _pool_latency(pool, samples, PACED_GAP_S)
        back_to_back = await _pool_latency(pool, samples, 0.0)
        throughput = {}
        for clients in (1, 4, 16):
            throughput[clients] = await _pool_throughput(pool, clients, throughput_runs)
        return {
            "isolation": pool.isolation.level,
            "workers": pool.concurrency,
            "paced": summarize(paced),
            "back_to_back": summarize(back_to_back),
            "throughput_runs_per_s": throughput,
        }


def _measure_subprocess(samples: int) -> dict[str, float]:
    timings = []
    env = {"PATH": os.defpath, "OPENBLAS_NUM_THREADS": "1", "LANG": "C.UTF-8"}
    for _ in range(samples):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", LORA_ALGEBRA], capture_output=True, text=True, env=env, check=True)
        timings.append((time.perf_counter() - started) * 1000)
        if EXPECTED not in done.stdout:
            raise RuntimeError("subprocess baseline went wrong")
    return summarize(timings)


def _measure_warm_exec(samples: int) -> dict[str, float]:
    import numpy  # noqa: F401  (warm: imported before timing, like the template)

    timings = []
    for _ in range(samples):
        started = time.perf_counter()
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            exec(compile(LORA_ALGEBRA, "<snippet>", "exec"), {"__name__": "__main__"})  # noqa: S102  (baseline b)
        timings.append((time.perf_counter() - started) * 1000)
        if EXPECTED not in captured.getvalue():
            raise RuntimeError("warm exec baseline went wrong")
    return summarize(timings)


def measure(samples: int = 40, subprocess_samples: int = 15, throughput_runs: int = 64) -> dict[str, Any]:
    """Run every measurement once; returns medians, p90s, throughput and the target checks."""
    pool = asyncio.run(_measure_pool(samples, throughput_runs))
    pool["filter"] = asyncio.run(_measure_filter_cost(samples))
    pool["filter_in_process"] = _measure_filter_in_process(samples)
    cold = _measure_subprocess(subprocess_samples)
    warm = _measure_warm_exec(samples)
    checks = {}
    for mode in ("paced", "back_to_back"):
        p50 = pool[mode]["p50_ms"]
        checks[mode] = {
            "speedup_vs_subprocess": cold["p50_ms"] / p50,
            "overhead_vs_warm_exec_ms": p50 - warm["p50_ms"],
            "meets_5x": cold["p50_ms"] / p50 >= 5,
            "within_10ms": p50 - warm["p50_ms"] <= 10,
        }
    return {
        "cpu_count": os.cpu_count(),
        "pool": pool,
        "subprocess": cold,
        "warm_exec": warm,
        "checks": checks,
        "filter_check": {
            "within_0_5ms": pool["filter"]["allow_list_cost_p50_ms"] <= 0.5,
            "in_process_within_0_5ms": pool["filter_in_process"]["allow_list_cost_p50_ms"] <= 0.5,
        },
    }


def render(results: dict[str, Any]) -> str:
    pool, cold, warm, checks = results["pool"], results["subprocess"], results["warm_exec"], results["checks"]
    rows = [
        ("pool, paced (1 request / 20 ms)", pool["paced"]),
        ("pool, back-to-back", pool["back_to_back"]),
        ("(a) fresh `python -c`, no sandbox", cold),
        ("(b) warm exec(), no sandbox", warm),
    ]
    lines = [
        (
            f"LoRA-algebra snippet; isolation={pool['isolation']}, pool workers={pool['workers']}, "
            f"CPUs={results['cpu_count']}"
        ),
        "",
        f"{'latency':<36}{'n':>4}{'p50 ms':>10}{'p90 ms':>10}{'(a)/x p50':>12}{'x - (b) p50':>14}",
    ]
    for label, stats in rows:
        speedup = cold["p50_ms"] / stats["p50_ms"]
        overhead = stats["p50_ms"] - warm["p50_ms"]
        lines.append(
            f"{label:<36}{stats['n']:>4}{stats['p50_ms']:>10.2f}{stats['p90_ms']:>10.2f}"
            f"{speedup:>11.1f}x{overhead:>+12.2f} ms"
        )
    base = pool["throughput_runs_per_s"][1]
    lines += ["", f"{'throughput (pool)':<36}{'runs/s':>10}{'vs 1 client':>14}"]
    for clients, rate in pool["throughput_runs_per_s"].items():
        lines.append(f"{f'{clients} concurrent client(s)':<36}{rate:>10.1f}{rate / base:>13.2f}x")
    cost = pool["filter"]
    lines += [
        "",
        f"{'seccomp filter (alternating runs)':<36}{'n':>4}{'p50 ms':>10}{'p90 ms':>10}",
        f"{'allow list (this runner)':<36}{cost['allow_list']['n']:>4}{cost['allow_list']['p50_ms']:>10.2f}"
        f"{cost['allow_list']['p90_ms']:>10.2f}",
        f"{'deny list (before)':<36}{cost['deny_list']['n']:>4}{cost['deny_list']['p50_ms']:>10.2f}"
        f"{cost['deny_list']['p90_ms']:>10.2f}",
        f"allow list: {cost['seccomp']}",
        f"{'in-process (fork + filter + exec)':<36}{'n':>4}{'p50 ms':>10}{'p90 ms':>10}",
        *(
            f"{label:<36}{stats['n']:>4}{stats['p50_ms']:>10.2f}{stats['p90_ms']:>10.2f}"
            for label, stats in (
                ("allow list", pool["filter_in_process"]["allow_list"]),
                ("deny list (before)", pool["filter_in_process"]["deny_list"]),
                ("no filter", pool["filter_in_process"]["no_filter"]),
            )
        ),
        f"target, in process: the allow list costs <= 0.5 ms p50: "
        f"{'PASS' if results['filter_check']['in_process_within_0_5ms'] else 'FAIL'} "
        f"({pool['filter_in_process']['allow_list_cost_p50_ms']:+.2f} ms, "
        f"ratio {pool['filter_in_process']['ratio_p50']:.3f})",
        f"in process, allow list vs no filter at all: {pool['filter_in_process']['filter_cost_p50_ms']:+.2f} ms "
        f"(ratio {pool['filter_in_process']['ratio_to_no_filter_p50']:.3f})",
        f"target: the allow list costs <= 0.5 ms p50: {'PASS' if results['filter_check']['within_0_5ms'] else 'FAIL'} "
        f"({cost['allow_list_cost_p50_ms']:+.2f} ms, ratio {cost['ratio_p50']:.3f})",
    ]
    lines.append("")
    for mode, check in checks.items():
        lines.append(
            f"target [{mode}]: >=5x faster than (a): {'PASS' if check['meets_5x'] else 'FAIL'} "
            f"({check['speedup_vs_subprocess']:.1f}x); within 10 ms of (b): "
            f"{'PASS' if check['within_10ms'] else 'FAIL'} ({check['overhead_vs_warm_exec_ms']:+.2f} ms)"
        )
    return "\n".join(lines)


def render_filters(filters: dict[str, Any]) -> str:
    rows = [f"{'seccomp filter':<40}{'n':>5}{'p50 ms':>10}{'p90 ms':>10}"]
    for part, label in (("filter", "pools, alternating runs"), ("filter_in_process", "in process (fork + filter)")):
        for name, stats in filters[part].items():
            if isinstance(stats, dict):
                rows.append(f"{label + ': ' + name:<40}{stats['n']:>5}{stats['p50_ms']:>10.2f}{stats['p90_ms']:>10.2f}")
        rows.append(
            f"  allow list - deny list: {filters[part]['allow_list_cost_p50_ms']:+.2f} ms p50 "
            f"(ratio {filters[part]['ratio_p50']:.3f})"
        )
    in_process = filters["filter_in_process"]
    rows.append(
        f"  in process, allow list - no filter: {in_process['filter_cost_p50_ms']:+.2f} ms p50 "
        f"(ratio {in_process['ratio_to_no_filter_p50']:.3f})"
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40, help="latency samples per pool mode and for (b)")
    parser.add_argument("--subprocess-samples", type=int, default=15, help="samples for (a), which is slow")
    parser.add_argument("--throughput-runs", type=int, default=64, help="runs per concurrency level")
    parser.add_argument("--json", action="store_true", help="print the results dict as JSON instead")
    parser.add_argument(
        "--filter-only", action="store_true", help="only the seccomp filter's cost (pools and in process)"
    )
    parser.add_argument(
        "--remote", action="store_true", help="instead: in-process pool vs one and two runner services"
    )
    args = parser.parse_args(argv)
    if args.remote:
        from bench.runner_remote import measure_remote, render_remote

        remote = measure_remote(max(args.samples, 100), args.throughput_runs)
        print(json.dumps(remote, indent=2) if args.json else render_remote(remote))
        return 0 if remote["hop_within_2ms"] else 1
    if args.filter_only:
        filters = {
            "filter": asyncio.run(_measure_filter_cost(args.samples)),
            "filter_in_process": _measure_filter_in_process(args.samples),
        }
        print(json.dumps(filters, indent=2) if args.json else render_filters(filters))
        return 0
    results = measure(args.samples, args.subprocess_samples, args.throughput_runs)
    print(json.dumps(results, indent=2) if args.json else render(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
