"""Scaling out: the same class answering against one replica and against two behind
HAProxy, and SQLite vs PostgreSQL on the answer path.

    .venv/bin/python bench/scale.py                 # 2 rounds x 4 set-ups, 8 s each
    .venv/bin/python bench/scale.py --quick         # 1 round, 4 s each
    .venv/bin/python bench/scale.py --learners 80 --seconds 10 --rounds 3

Everything is started once, on loopback: a throwaway PostgreSQL (bench/postgres.py),
two PostgreSQL replicas and one SQLite replica (`textbook serve`), and two HAProxys
(one in front of one replica, one in front of both). Then the set-ups take turns,
round after round (the machine is noisy; medians over rounds):

    sqlite-1     one replica on its SQLite file, no balancer        (the baseline)
    pg-1         one replica on PostgreSQL, no balancer
    pg-1-lb      one replica on PostgreSQL behind HAProxy           (the balancer's cost)
    pg-2-lb      two replicas on PostgreSQL behind HAProxy          (scaling out)

Each run: `--learners` learners answer exercises back to back (no think time: a
closed loop, so requests/s is the capacity) for `--seconds`. Printed: requests/s,
p50 and p99 latency, ratios to sqlite-1 and pg-2-lb vs pg-1-lb, and where the CPU
went during each run (each replica's process tree, PostgreSQL, HAProxy, this load
generator): on 2 cores a second replica can only take what the first one left idle.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.database import make_engine
from app.schema import upgrade
from bench.answering import ClassRun, answer_for
from bench.cluster import Balancer, Replica, start_all
from bench.load import machine_note, tree_cpu_s
from bench.postgres import postgres_server

SECRET = "bench-scale-secret"


def self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="1 round of 4 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.seconds = 1, 4.0

    work = Path(tempfile.mkdtemp(prefix="textbook-scale-"))
    common = {"TEXTBOOK_SECRET_KEY": SECRET, "TEXTBOOK_RUNNER_WORKERS": "1", "TEXTBOOK_ACCESS_LOG": "false"}
    print(
        f"scale: {args.learners} learners answering back to back, {args.seconds:.0f} s per run, {args.rounds} round(s)"
    )
    print(f"  {machine_note()}")
    with postgres_server() as pg:
        url = pg.create_database()
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        pg_env = {
            **common,
            "TEXTBOOK_DATABASE_URL": url,
            "TEXTBOOK_DATABASE_POOL_SIZE": "10",
            "TEXTBOOK_DATABASE_MAX_OVERFLOW": "10",
        }
        r1, r2 = Replica("r1", work / "r1", pg_env), Replica("r2", work / "r2", pg_env)
        lite = Replica("lite", work / "lite", common)
        replicas = [r1, r2, lite]
        balancers: list[Balancer] = []
        try:
            start_all(replicas)
            one_lb, two_lb = Balancer([r1], work / "one"), Balancer([r1, r2], work / "two")
            balancers = [one_lb, two_lb]
            for balancer in balancers:
                balancer.start()
            setups = {
                "sqlite-1": (lite.base, [lite]),
                "pg-1": (r1.base, [r1]),
                "pg-1-lb": (one_lb.base, [r1]),
                "pg-2-lb": (two_lb.base, [r1, r2]),
            }
            results: dict[str, list[ClassRun]] = {name: [] for name in setups}
            cpu: dict[str, list[dict[str, float]]] = {name: [] for name in setups}
            postmaster = postmaster_pid(pg.data_dir)
            for round_ in range(args.rounds):
                for name, (base, used) in setups.items():
                    parts = {
                        **{f"replica {r.name}": (lambda r=r: tree_cpu_s(r.process.pid)) for r in used},  # type: ignore[union-attr]
                        "postgresql": lambda: tree_cpu_s(postmaster),
                        "haproxy": (lambda b=(one_lb if name == "pg-1-lb" else two_lb): tree_cpu_s(b.process.pid)),  # type: ignore[union-attr]
                        "load generator": self_cpu_s,
                    }
                    if "lb" not in name:
                        parts.pop("haproxy")
                    if name == "sqlite-1":
                        parts.pop("postgresql")
                    before = {part: read() for part, read in parts.items()}
                    run = answer_for(
                        base, SECRET, learners=args.learners, duration_s=args.seconds, think_s=0.0, seed=round_
                    )
                    used_s = {part: read() - before[part] for part, read in parts.items()}
                    results[name].append(run)
                    cpu[name].append({part: value / (run.ended - run.started) for part, value in used_s.items()})
                    bad = {s: c for s, c in run.statuses().items() if s != 200}
                    print(
                        f"  round {round_ + 1} {name:9} {run.requests_per_s():7.0f} req/s  "
                        f"p50 {run.p50_ms():6.1f} ms  p99 {run.p99_ms():7.1f} ms"
                        + (f"  non-200: {bad}" if bad else "")
                    )
        finally:
            for balancer in balancers:
                balancer.stop()
            for replica in replicas:
                replica.stop()

    def median(name: str, measure: str) -> float:
        return statistics.median(getattr(run, measure)() for run in results[name])

    print("\nmedians over rounds (requests/s; latency in ms); ratios: req/s vs sqlite-1, p99 vs sqlite-1")
    print(f"  {'set-up':9} {'req/s':>8} {'p50':>8} {'p99':>8} {'x req/s':>8} {'x p99':>7}")
    base_rps, base_p99 = median("sqlite-1", "requests_per_s"), median("sqlite-1", "p99_ms")
    for name in results:
        rps, p50, p99 = median(name, "requests_per_s"), median(name, "p50_ms"), median(name, "p99_ms")
        print(f"  {name:9} {rps:8.0f} {p50:8.1f} {p99:8.1f} {rps / base_rps:8.2f} {p99 / base_p99:7.2f}")
    gain = median("pg-2-lb", "requests_per_s") / median("pg-1-lb", "requests_per_s")
    print(f"\n  two replicas vs one, both behind HAProxy: {gain:.2f}x requests/s on {os.cpu_count()} cores")
    print("\nwhere the CPU went (cores busy on average during the runs; medians over rounds)")
    for name in results:
        parts = cpu[name][0].keys()
        shares = ", ".join(f"{part} {statistics.median(c[part] for c in cpu[name]):.2f}" for part in parts)
        print(f"  {name:9} {shares}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
