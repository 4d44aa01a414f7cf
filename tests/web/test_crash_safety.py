"""An acknowledged answer survives the server being killed.

The real server (`python -m app.cli serve`, uvicorn, sandbox template and spares)
runs as a subprocess; a few learners stream answers at it from threads; the server
is SIGKILLed mid-stream; none of its processes may outlive it. Restarted on the
same data dir, every attempt that was answered 200 must be in the SQLite file, and
each learner's page must show its last verdict.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.server import server_process
from tests.html_tree import parse_html

SECRET = "crash-safety-secret"
LEARNERS = ["full-ft-memory", "lora-adapter-params", "nf4-levels-count", "qlora-70b-weights"]  # one exercise each
STREAM_S = 1.5
MIN_ACKNOWLEDGED = 20


def _stat(pid: int) -> tuple[str, int, str]:
    """(state, parent pid, start time) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return fields[0], int(fields[1]), fields[19]


def process_tree(root: int) -> dict[int, str]:
    """pid -> start time for `root` and every descendant (start time guards against pid reuse)."""
    parents: dict[int, list[int]] = {}
    starts: dict[int, str] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                _, ppid, start = _stat(int(name))
            except (OSError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(name))
            starts[int(name)] = start
    tree, stack = {}, [root]
    while stack:
        pid = stack.pop()
        if pid in starts:
            tree[pid] = starts[pid]
        stack.extend(parents.get(pid, []))
    return tree


def still_running(tree: dict[int, str]) -> list[int]:
    """The processes of `tree` that are still the same process and not a zombie."""
    alive = []
    for pid, start in tree.items():
        try:
            state, _, now = _stat(pid)
        except (OSError, IndexError):
            continue
        if now == start and state != "Z":
            alive.append(pid)
    return alive


def server(data_dir: Path) -> AbstractContextManager[tuple[subprocess.Popen[bytes], str]]:
    return server_process(data_dir, TEXTBOOK_SECRET_KEY=SECRET, TEXTBOOK_RUNNER_WORKERS="1")


@dataclass
class Learner:
    exercise: str
    client: httpx.Client
    acknowledged: list[str] = field(default_factory=list)  # answers the server said 200 to, in order
    in_flight: str | None = None  # the answer sent when the server died (saved or not, unknown)
    refusals: list[str] = field(default_factory=list)


def stream_answers(learner: Learner, stop: threading.Event) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        answer = f"{100 + n}.5 GB"  # unique per learner, always gradable
        learner.in_flight = answer
        try:
            response = learner.client.post(f"/api/exercises/{learner.exercise}/check", json={"answer": answer})
        except httpx.HTTPError:
            return  # the server is gone
        if response.status_code == 200:
            learner.acknowledged.append(answer)
            learner.in_flight = None
        else:
            learner.refusals.append(f"{response.status_code}: {response.text[:200]}")
            return


def attempts_in_file(data_dir: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(data_dir / "textbook.sqlite3") as db:
        return [tuple(row) for row in db.execute("select exercise_id, answer, verdict from attempts order by id")]


def test_acknowledged_answers_survive_sigkill(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with server(data_dir) as (process, base):
        learners = [Learner(exercise, httpx.Client(base_url=base, timeout=10)) for exercise in LEARNERS]
        for learner in learners:  # each gets its own cookie, i.e. its own learner id
            assert (
                learner.client.post(f"/api/exercises/{learner.exercise}/check", json={"answer": "1 GB"}).status_code
                == 200
            )
            learner.acknowledged.append("1 GB")
        stop = threading.Event()
        threads = [threading.Thread(target=stream_answers, args=(learner, stop), daemon=True) for learner in learners]
        for thread in threads:
            thread.start()
        time.sleep(STREAM_S)
        tree = process_tree(process.pid)
        assert len(tree) >= 2, "expected the sandbox template beside uvicorn"
        os.kill(process.pid, signal.SIGKILL)  # uvicorn itself, mid-stream
        process.wait(timeout=10)
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
            assert not thread.is_alive()
        deadline = time.monotonic() + 5
        while still_running(tree) and time.monotonic() < deadline:
            time.sleep(0.05)
        survivors = still_running(tree)
        for pid in survivors:  # never leave them behind, even when the assertion below fails
            os.kill(pid, signal.SIGKILL)
        assert not survivors, f"processes of the killed server still run: {survivors}"
        cookies = {learner.exercise: dict(learner.client.cookies) for learner in learners}
        for learner in learners:
            learner.client.close()

    assert not [r for learner in learners for r in learner.refusals], [learner.refusals for learner in learners]
    acknowledged = sum(len(learner.acknowledged) for learner in learners)
    assert acknowledged >= MIN_ACKNOWLEDGED, f"only {acknowledged} answers before the kill; the test proves little"
    saved = attempts_in_file(data_dir)
    print(f"{acknowledged} answers acknowledged, {len(saved)} in the file, {len(tree)} server processes killed")
    saved_answers = {(exercise, answer) for exercise, answer, _ in saved}
    lost = [
        (learner.exercise, answer)
        for learner in learners
        for answer in learner.acknowledged
        if (learner.exercise, answer) not in saved_answers
    ]
    assert not lost, f"{len(lost)} acknowledged answers are missing after the kill: {lost[:5]}"
    # At most the one answer per learner that was on the wire may be there without an acknowledgement.
    assert len(saved) <= acknowledged + len(learners)

    with server(data_dir) as (_, base):
        for learner in learners:
            page = httpx.get(f"{base}/chapters/fine-tuning", cookies=cookies[learner.exercise], timeout=10)
            assert page.status_code == 200
            section = parse_html(page.text).find(id=f"ex-{learner.exercise}")
            _, last_answer, last_verdict = [row for row in saved if row[0] == learner.exercise][-1]
            assert last_answer in {learner.acknowledged[-1], learner.in_flight}
            assert section.find("input", cls="answer-input").attrs.get("value") == last_answer
            assert section.find("p", cls="verdict").classes == {"verdict", f"verdict-{last_verdict}"}
