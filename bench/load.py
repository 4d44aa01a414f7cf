"""A classroom against the real server: N students reading, moving sliders, answering
and running snippets for D seconds, each with its own cookie jar (its own learner).

    .venv/bin/python bench/load.py [--students 200] [--duration 60] [--seed 1]
    .venv/bin/python bench/load.py --students 50 --duration 10      # a quick run

Starts `textbook serve` on a free loopback port (bench.server.running_server) with a
fresh data dir, drives it with asyncio + httpx, stops it, and then counts the attempts
in its SQLite file. Halfway through, half the class presses Run at once (the teacher
said "now run it"), which is more than the runner admits: the excess must be refused
with 429 + Retry-After at once instead of piling up.

Prints requests per second, p50/p90/p99 latency per kind, status codes, transport
errors, and PASS/FAIL for the targets; exits non-zero when a target fails.
Every loop is bounded by the deadline; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import html
import os
import random
import re
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.server import running_server
from bench.stats import percentile

CHAPTER = "fine-tuning"
EXERCISES = ["full-ft-memory", "lora-adapter-params", "lora-trainable-percent", "nf4-levels-count", "qlora-70b-weights"]
HX = {"HX-Request": "true"}
INSTRUMENT_P99_TARGET_MS = 100.0
# A student's "slow one": about half a second of pure-Python CPU, well inside the 5 s wall limit.
SLOW_SNIPPET = "total = 0\nfor i in range(4_000_000):\n    total += i * i\nprint(total)\n"
# Plausible typed answers: right-looking, wrong, unit-less, unreadable.
ANSWERS = [
    "112 GB",
    "1.12e11 bytes",
    "65.5k",
    "65536",
    "0.39%",
    "0.4 %",
    "16",
    "35 GB",
    "140 GB",
    "42",
    "about 100",
    "1e9",
    "3.5 GiB",
    "??",
]
# What the students do, and how often (weights; a slider move is the commonest thing).
ACTIONS = {
    "page": 8,  # GET /chapters/fine-tuning (reload, follow a link)
    "index": 3,  # GET /
    "fragment": 38,  # an instrument control moved: the HTMX fragment with its chart
    "instrument-json": 12,  # the JSON API of the instruments
    "answer": 25,  # POST /api/exercises/{id}/check
    "run": 14,  # POST /api/run with one of the chapter's snippets (or, sometimes, a slow one)
}
SLOW_RUN_SHARE = 0.08
INSTRUMENT_KINDS = ("fragment", "instrument-json")
LAG_TICK_S = 0.01
CHART_PENDING = re.compile(r'class="chart chart-pending"[^>]*hx-get="([^"]+)"')


@dataclass
class Sample:
    kind: str
    status: int | None  # None: a transport error (timeout, refused connection)
    ms: float
    runs_in_flight: bool = False  # a run was in flight when this request started or ended
    retry_after: str | None = None
    error: str | None = None
    wait_ms: float = 0.0  # this generator's own delay before the request was on the wire


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    # How late this generator's own event loop woke up (ms, every LAG_TICK_S): time that
    # every latency measured here includes, and that is not the server's.
    loop_lag_ms: list[tuple[float, float]] = field(default_factory=list)  # (monotonic time, lag)
    burst_window: tuple[float, float] | None = None
    runs_in_flight: int = 0
    answers_acknowledged: int = 0  # attempts the server answered 200 for
    answers_unknown: int = 0  # attempts that got no response: saved or not, we cannot tell


@dataclass
class Chapter:
    snippets: list[str]
    models: list[str]


@dataclass
class Student:
    client: httpx.AsyncClient
    rng: random.Random
    lora: dict[str, Any]
    vram: dict[str, Any]
    nf4_block: int = 64


async def timed(
    rec: Recorder,
    kind: str,
    send: Callable[..., Awaitable[httpx.Response]],
    url: str,
    *,
    is_run: bool = False,
    **kwargs: Any,
) -> httpx.Response | None:
    """Send one request, record its latency and status; a transport error is recorded, not raised.

    The latency runs from the moment the request is on the wire (httpcore's trace of the
    body sent) to the response read: what this generator spent before sending (building
    the request, waiting for its own busy event loop) is recorded apart as `wait_ms`, as it
    is not the server's. Reading the response still waits for this loop, so a busy
    generator still inflates the latencies (see its loop lag in the report).
    """
    sent_at: list[float] = []

    async def trace(event: str, _info: dict[str, Any]) -> None:
        if event == "http11.send_request_body.complete":
            sent_at.append(time.perf_counter())

    if is_run:
        rec.runs_in_flight += 1
    busy_at_start = rec.runs_in_flight > 0
    start = time.perf_counter()
    try:
        response: httpx.Response = await send(url, extensions={"trace": trace}, **kwargs)
    except httpx.HTTPError as exc:
        rec.samples.append(
            Sample(kind, None, (time.perf_counter() - start) * 1000, busy_at_start, error=type(exc).__name__)
        )
        return None
    finally:
        if is_run:
            rec.runs_in_flight -= 1
    end = time.perf_counter()
    on_the_wire = sent_at[0] if sent_at else start
    busy = busy_at_start or rec.runs_in_flight > 0
    rec.samples.append(
        Sample(
            kind,
            response.status_code,
            (end - on_the_wire) * 1000,
            busy,
            response.headers.get("retry-after"),
            wait_ms=(on_the_wire - start) * 1000,
        )
    )
    return response


def new_student(base: str, rng: random.Random) -> Student:
    client = httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(30.0))
    lora = {"d_in": 8192, "d_out": 8192, "r": 16, "model": "llama-2-7b", "targets": "all-linear"}
    vram = {
        "model": "llama-2-7b",
        "method": "qlora",
        "r": 16,
        "targets": "all-linear",
        "seq_len": 2048,
        "batch_size": 1,
    }
    return Student(client, rng, lora, vram)


def move_a_slider(student: Student, chapter: Chapter) -> tuple[str, dict[str, Any]]:
    """Change one control of one instrument as a person would; returns (instrument, its full state)."""
    rng = student.rng
    instrument = rng.choice(["lora-counter", "lora-counter", "vram-fit", "vram-fit", "nf4-levels"])
    if instrument == "lora-counter":
        control = rng.choice(["r", "r", "d_in", "d_out", "model"])
        if control == "r":
            student.lora["r"] = rng.randint(1, 256)
        elif control in ("d_in", "d_out"):
            student.lora[control] = 128 * rng.randint(2, 128)
        else:
            student.lora["model"] = rng.choice(chapter.models)
        return instrument, dict(student.lora)
    if instrument == "vram-fit":
        control = rng.choice(["method", "r", "seq_len", "seq_len", "batch_size", "model"])
        if control == "method":
            student.vram["method"] = rng.choice(["full", "lora", "qlora"])
        elif control == "r":
            student.vram["r"] = rng.randint(1, 256)
        elif control == "seq_len":
            student.vram["seq_len"] = 128 * rng.randint(1, 256)
        elif control == "batch_size":
            student.vram["batch_size"] = rng.randint(1, 64)
        else:
            student.vram["model"] = rng.choice(chapter.models)
        return instrument, dict(student.vram)
    student.nf4_block = rng.choice([32, 64, 128, 256])
    return instrument, {"block_size": student.nf4_block}


async def act(student: Student, chapter: Chapter, rec: Recorder) -> None:
    rng, client = student.rng, student.client
    action = rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
    if action == "page":
        await timed(rec, "page", client.get, f"/chapters/{CHAPTER}")
    elif action == "index":
        await timed(rec, "index", client.get, "/")
    elif action == "fragment":
        instrument, state = move_a_slider(student, chapter)
        params = {f"{instrument}.{key}": value for key, value in state.items()}
        response = await timed(
            rec, "fragment", client.get, f"/chapters/{CHAPTER}/instruments/{instrument}", params=params, headers=HX
        )
        pending = CHART_PENDING.search(response.text) if response is not None else None
        if pending:  # as the browser does: the numbers first, then the chart they are waiting for
            await timed(rec, "chart", client.get, html.unescape(pending.group(1)), headers=HX)
    elif action == "instrument-json":
        instrument, state = move_a_slider(student, chapter)
        if instrument == "lora-counter":
            if rng.random() < 0.5:
                url, params = "/api/instruments/lora/matrix", {k: state[k] for k in ("d_in", "d_out", "r")}
            else:
                url, params = "/api/instruments/lora/model", {k: state[k] for k in ("model", "r", "targets")}
        elif instrument == "vram-fit":
            url, params = "/api/instruments/vram", state
        else:
            url, params = "/api/instruments/nf4", state
        await timed(rec, "instrument-json", client.get, url, params=params)
    elif action == "answer":
        exercise = rng.choice(EXERCISES)
        response = await timed(
            rec, "answer", client.post, f"/api/exercises/{exercise}/check", json={"answer": rng.choice(ANSWERS)}
        )
        if response is None:
            rec.answers_unknown += 1
        elif response.status_code == 200:
            rec.answers_acknowledged += 1
    else:
        slow = rng.random() < SLOW_RUN_SHARE
        code = SLOW_SNIPPET if slow else rng.choice(chapter.snippets)
        await timed(rec, "run-slow" if slow else "run", client.post, "/api/run", json={"code": code}, is_run=True)


async def play(
    student: Student, chapter: Chapter, rec: Recorder, start_at: float, deadline: float, think: tuple[float, float]
) -> None:
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    # Opening the chapter is the first thing anyone does; counted apart from later views.
    await timed(rec, "page-arrival", student.client.get, f"/chapters/{CHAPTER}")
    while time.monotonic() < deadline:
        await act(student, chapter, rec)
        pause = student.rng.uniform(*think)
        if time.monotonic() + pause >= deadline:
            break
        await asyncio.sleep(pause)


async def burst(students: list[Student], chapter: Chapter, rec: Recorder, at: float) -> None:
    """Half the class presses Run at the same moment."""
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    code = chapter.snippets[0]
    began = time.monotonic()
    await asyncio.gather(
        *(timed(rec, "run-burst", s.client.post, "/api/run", json={"code": code}, is_run=True) for s in students)
    )
    rec.burst_window = (began, time.monotonic())


async def watch_loop_lag(rec: Recorder, deadline: float) -> None:
    """Record how late this process's event loop wakes up from a short sleep."""
    while time.monotonic() < deadline:
        asked = time.monotonic()
        await asyncio.sleep(LAG_TICK_S)
        woke = time.monotonic()
        rec.loop_lag_ms.append((woke, max(0.0, (woke - asked - LAG_TICK_S) * 1000)))


async def read_chapter(base: str) -> Chapter:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        described = (await client.get(f"/api/chapters/{CHAPTER}")).json()
        models = [m["id"] for m in (await client.get("/api/instruments/lora/models")).json()]
    return Chapter(snippets=[s["code"] for s in described["snippets"]], models=models)


async def drive(
    base: str,
    students: int,
    duration: float,
    *,
    seed: int = 1,
    think: tuple[float, float] = (0.5, 3.0),
    with_burst: bool = True,
    warm: bool = False,
) -> tuple[Recorder, float]:
    """Play the classroom against `base`; returns the samples and the wall time it took.

    `warm`: one page view before the class arrives (the teacher checked the page), so
    the arrival does not meet a cold server.
    """
    chapter = await read_chapter(base)
    if warm:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            (await client.get(f"/chapters/{CHAPTER}")).raise_for_status()
    rec = Recorder()
    master = random.Random(seed)
    class_ = [new_student(base, random.Random(master.random())) for _ in range(students)]
    began = time.monotonic()
    deadline = began + duration
    ramp = min(5.0, duration / 5)  # the class arrives over the first seconds, not in one instant
    tasks = [play(s, chapter, rec, began + master.uniform(0, ramp), deadline, think) for s in class_]
    tasks.append(watch_loop_lag(rec, deadline))
    if with_burst and students >= 2:
        tasks.append(burst(master.sample(class_, students // 2), chapter, rec, began + ramp + (duration - ramp) / 2))
    try:
        # Each request has a 30 s timeout, so this bound is only a safety net.
        await asyncio.wait_for(asyncio.gather(*tasks), duration + 90)
    finally:
        await asyncio.gather(*(s.client.aclose() for s in class_))
    return rec, time.monotonic() - began


# ---- the server's process tree (uvicorn + the runner's template and its spares) ----


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as handle:
        # The command name may hold spaces and parentheses; the fields after the last ")" do not.
        return handle.read().rsplit(")", 1)[1].split()


def process_tree(root: int) -> list[int]:
    """`root` and every live descendant (by scanning /proc for parent pids)."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                children[int(_stat_fields(int(name))[1])].append(int(name))
            except (OSError, IndexError, ValueError):
                continue
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, []))
    return tree


def tree_rss_kb(root: int) -> int:
    """Resident memory of the whole tree (VmRSS summed; shared pages count once per process)."""
    total = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def tree_pss_kb(root: int) -> int | None:
    """Proportional set size of the tree (shared pages split between their users); None if unreadable."""
    total = 0
    for pid in process_tree(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as handle:
                for line in handle:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except FileNotFoundError:
            continue  # it exited meanwhile
        except OSError:
            return None
    return total


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of the tree and their reaped children."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in process_tree(root):
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        # utime, stime, cutime, cstime are fields 14-17 of stat; index 0 here is field 3 (state).
        total += sum(int(value) for value in fields[11:15])
    return total / ticks


def own_cpu_s(pid: int) -> float:
    """CPU seconds of one process alone: for the server, its event loop (and its DB threads)."""
    return sum(int(value) for value in _stat_fields(pid)[11:13]) / os.sysconf("SC_CLK_TCK")


def cpu_snapshot(server: int) -> dict[str, float]:
    """CPU seconds so far: the server's tree, the server process alone, this generator."""
    return {"server": tree_cpu_s(server), "event_loop": own_cpu_s(server), "generator": self_cpu_s()}


def cpu_used(before: dict[str, float], server: int) -> dict[str, float]:
    after = cpu_snapshot(server)
    return {part: after[part] - before[part] for part in before}


def server_pid(base: str) -> int:
    """The pid of the `textbook serve` child that bench.server.running_server started for `base`."""
    port = base.rsplit(":", 1)[1].encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            if int(_stat_fields(pid)[1]) != os.getpid():
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdline = handle.read()
            with open(f"/proc/{pid}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
        except OSError:
            continue
        if b"app.cli" in cmdline and b"serve" in cmdline and b"TEXTBOOK_PORT=" + port in environ:
            return pid
    raise RuntimeError(f"no textbook server child of this process serves {base}")


def machine_note() -> str:
    """Cores and load average: on a shared machine, other work inflates every latency here."""
    with open("/proc/loadavg") as handle:
        load = " ".join(handle.read().split()[:3])
    return f"{os.cpu_count()} cores, load average {load}"


def self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def count_attempts(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "textbook.sqlite3") as db:
        return int(db.execute("select count(*) from attempts").fetchone()[0])


def kind_table(rec: Recorder) -> str:
    by_kind: dict[str, list[Sample]] = collections.defaultdict(list)
    for sample in rec.samples:
        by_kind[sample.kind].append(sample)
    lines = [f"{'kind':16s} {'count':>6s} {'p50 ms':>8s} {'p90 ms':>8s} {'p99 ms':>8s} {'max ms':>8s}  statuses"]
    for kind in sorted(by_kind):
        samples = by_kind[kind]
        ms = [s.ms for s in samples]
        statuses = collections.Counter("error" if s.status is None else str(s.status) for s in samples)
        codes = " ".join(f"{code}:{n}" for code, n in sorted(statuses.items()))
        lines.append(
            f"{kind:16s} {len(ms):6d} {statistics.median(ms):8.1f} {percentile(ms, 90):8.1f} "
            f"{percentile(ms, 99):8.1f} {max(ms):8.1f}  {codes}"
        )
    return "\n".join(lines)


def generator_lag_note(rec: Recorder) -> str:
    """This generator's own loop lag, overall and during the burst: a floor under the latencies above."""
    if not rec.loop_lag_ms:
        return "load generator loop lag: not measured"
    lags = [lag for _, lag in rec.loop_lag_ms]
    note = (
        "load generator's own event-loop lag (a response waits for it, so it is in the latencies below): "
        f"p50 {statistics.median(lags):.1f} ms, p99 {percentile(lags, 99):.1f} ms, max {max(lags):.1f} ms"
    )
    if rec.burst_window:
        start, end = rec.burst_window
        during = [lag for at, lag in rec.loop_lag_ms if start <= at <= end]
        if during:
            note += f"; during the Run burst ({(end - start) * 1000:.0f} ms) max {max(during):.1f} ms"
    waits = [s.wait_ms for s in rec.samples if s.status is not None]
    if waits:
        note += (
            f"\nthis generator's delay before a request was on the wire (not counted below): "
            f"p50 {statistics.median(waits):.1f} ms, p99 {percentile(waits, 99):.1f} ms, max {max(waits):.1f} ms"
        )
    return note


@dataclass
class Verdict:
    name: str
    ok: bool | None  # None: not exercised in this run
    detail: str

    def line(self) -> str:
        mark = {True: "PASS", False: "FAIL", None: "N/A "}[self.ok]
        return f"{mark}  {self.name}: {self.detail}"


def judge(rec: Recorder, attempts_in_db: int) -> list[Verdict]:
    samples = rec.samples
    server_errors = [s for s in samples if s.status is not None and s.status >= 500]
    transport_errors = [s for s in samples if s.status is None]
    refused = [s for s in samples if s.status == 429]
    without_retry_after = [s for s in refused if not s.retry_after]
    busy_by_kind = {
        kind: [s.ms for s in samples if s.kind == kind and s.runs_in_flight and s.status is not None]
        for kind in INSTRUMENT_KINDS
    }
    acked, unknown = rec.answers_acknowledged, rec.answers_unknown
    verdicts = [
        Verdict("no 5xx", not server_errors, f"{len(server_errors)} responses >= 500 of {len(samples)}"),
        Verdict(
            "no transport errors",
            not transport_errors,
            f"{len(transport_errors)} ({dict(collections.Counter(s.error for s in transport_errors))})",
        ),
    ]
    if unknown:
        lost_ok = acked <= attempts_in_db <= acked + unknown
        detail = f"{acked} acknowledged, {unknown} without a response, {attempts_in_db} in the database"
    else:
        lost_ok = attempts_in_db == acked
        detail = f"{acked} acknowledged with 200, {attempts_in_db} rows in attempts"
    verdicts.append(Verdict("no lost answers", lost_ok, detail))
    if refused:
        refusal_p99 = percentile([s.ms for s in refused], 99)
        verdicts.append(
            Verdict(
                "overload refused with 429 + Retry-After",
                not without_retry_after,
                f"{len(refused)} x 429, {len(without_retry_after)} without Retry-After",
            )
        )
        # Refused at the door means answered at once, not after waiting in a queue.
        verdicts.append(Verdict("429 answered at once (p99 < 100 ms)", refusal_p99 < 100, f"p99 {refusal_p99:.1f} ms"))
    else:
        verdicts.append(
            Verdict("overload refused with 429 + Retry-After", None, "the runner was never over capacity in this run")
        )
    for kind, busy in busy_by_kind.items():
        name = f"{kind} p99 < {INSTRUMENT_P99_TARGET_MS:.0f} ms while runs are in flight"
        if busy:
            p99 = percentile(busy, 99)
            detail = f"p99 {p99:.1f} ms, p50 {statistics.median(busy):.1f} ms over {len(busy)} requests"
            verdicts.append(Verdict(name, p99 < INSTRUMENT_P99_TARGET_MS, detail))
        else:
            verdicts.append(Verdict(name, None, "no such request overlapped a run"))
    return verdicts


def report(
    rec: Recorder, elapsed: float, attempts_in_db: int, students: int, cpu: dict[str, float] | None = None
) -> list[Verdict]:
    samples = rec.samples
    statuses = collections.Counter("error" if s.status is None else s.status for s in samples)
    print(f"{students} students, {elapsed:.1f} s, {len(samples)} requests, {len(samples) / elapsed:.1f} requests/s")
    print(f"status codes: {dict(sorted(statuses.items(), key=str))}")
    if cpu:
        cores = os.cpu_count() or 1
        print(
            f"CPU over the run: server tree {cpu['server']:.1f} s "
            f"({100 * cpu['server'] / elapsed / cores:.0f}% of {cores} cores), "
            f"this load generator {cpu['generator']:.1f} s "
            f"({100 * cpu['generator'] / elapsed / cores:.0f}%) - they share the machine"
        )
        if "event_loop" in cpu:
            print(
                "  of the server tree, the web server process itself (event loop + database threads): "
                f"{cpu['event_loop']:.1f} s ({100 * cpu['event_loop'] / elapsed:.0f}% of one core); "
                "the rest is the runner's sandboxes and the chart renderer"
            )
    print(generator_lag_note(rec))
    print()
    print(kind_table(rec))
    print()
    verdicts = judge(rec, attempts_in_db)
    for verdict in verdicts:
        print(verdict.line())
    return verdicts


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--think-min", type=float, default=0.5, help="seconds between a student's actions, at least")
    parser.add_argument("--think-max", type=float, default=3.0)
    parser.add_argument("--no-burst", action="store_true", help="skip the everyone-presses-Run moment")
    parser.add_argument("--warm", action="store_true", help="view the chapter once before the class arrives")
    args = parser.parse_args(argv)
    if args.students < 1 or not 0 < args.duration <= 3600 or not 0 <= args.think_min <= args.think_max:
        parser.error("need students >= 1, 0 < duration <= 3600 and 0 <= think-min <= think-max")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        print(f"machine before: {machine_note()}")
        with running_server(data_dir, TEXTBOOK_SECRET_KEY="load-test-secret") as base:
            pid = server_pid(base)
            cpu_before = cpu_snapshot(pid)
            rec, elapsed = asyncio.run(
                drive(
                    base,
                    args.students,
                    args.duration,
                    seed=args.seed,
                    think=(args.think_min, args.think_max),
                    with_burst=not args.no_burst,
                    warm=args.warm,
                )
            )
            cpu = cpu_used(cpu_before, pid)
        # Counted after the server stopped, from its file: what a restart would find.
        attempts = count_attempts(data_dir)
    print(f"machine after:  {machine_note()}")
    verdicts = report(rec, elapsed, attempts, args.students, cpu)
    return {"recorder": rec, "elapsed": elapsed, "attempts": attempts, "verdicts": verdicts, "cpu": cpu}


if __name__ == "__main__":
    outcome = main()
    sys.exit(0 if all(v.ok is not False for v in outcome["verdicts"]) else 1)
