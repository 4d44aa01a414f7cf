"""A class answering exercises through one address, every answer accounted for.

Each learner has a cookie signed with the replicas' shared secret (so the test knows
its learner id), answers one exercise again and again with answers unique to it
(`a<seq>`), and records for each answer: when it was sent, when it came back, the
status and the message. `acknowledged()` is what the server said was saved (200),
to be compared with the rows in the database. Bounded by a deadline; loopback only.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
from itsdangerous import URLSafeSerializer

from bench.stats import percentile

EXERCISES = ["full-ft-memory", "lora-adapter-params", "nf4-levels-count", "qlora-70b-weights"]


@dataclass(frozen=True)
class Answer:
    learner_id: str
    answer: str
    sent: float  # time.monotonic()
    done: float
    status: int  # 0: no HTTP response (connection failed)
    detail: str


@dataclass
class ClassRun:
    answers: list[Answer] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    def acknowledged(self) -> set[tuple[str, str]]:
        return {(a.learner_id, a.answer) for a in self.answers if a.status == 200}

    def statuses(self) -> Counter[int]:
        return Counter(a.status for a in self.answers)

    def failed(self) -> list[Answer]:
        return [a for a in self.answers if a.status != 200]

    def requests_per_s(self) -> float:
        return len(self.answers) / max(1e-9, self.ended - self.started)

    def p99_ms(self) -> float:
        return percentile([(a.done - a.sent) * 1000 for a in self.answers], 99)

    def p50_ms(self) -> float:
        return percentile([(a.done - a.sent) * 1000 for a in self.answers], 50)


def learner_cookie(secret_key: str, learner_id: str) -> str:
    return URLSafeSerializer(secret_key, salt="learner-id").dumps(learner_id)


async def _learner(
    client: httpx.AsyncClient,
    secret_key: str,
    index: int,
    run: ClassRun,
    deadline: float,
    think_s: float,
    rng: random.Random,
    stop: threading.Event,
) -> None:
    learner_id = f"fault-{uuid.uuid4().hex[:16]}"
    headers = {"Cookie": f"learner={learner_cookie(secret_key, learner_id)}"}  # each learner its own cookie
    url = f"/api/exercises/{EXERCISES[index % len(EXERCISES)]}/check"
    await asyncio.sleep(rng.uniform(0, think_s))  # the class does not press Enter in unison
    seq = 0
    while time.monotonic() < deadline and not stop.is_set():
        seq += 1
        answer = f"a{seq}"
        sent = time.monotonic()
        try:
            response = await client.post(url, json={"answer": answer}, headers=headers)
            status, detail = response.status_code, _detail(response)
        except httpx.HTTPError as error:
            status, detail = 0, type(error).__name__
        run.answers.append(Answer(learner_id, answer, sent, time.monotonic(), status, detail))
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail", ""))[:300] if isinstance(body, dict) else ""


async def _run(
    base: str,
    secret_key: str,
    learners: int,
    duration_s: float,
    think_s: float,
    seed: int,
    stop: threading.Event,
    run: ClassRun | None = None,
) -> ClassRun:
    rng = random.Random(seed)
    run = run or ClassRun()
    run.started = time.monotonic()
    deadline = run.started + duration_s
    # One client (one connection pool, one TLS context) for the class: a client per learner
    # took ~0.15 s each to make, so 60 learners started 9 s late.
    limits = httpx.Limits(max_connections=learners, max_keepalive_connections=learners)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        await asyncio.gather(
            *(
                _learner(client, secret_key, i, run, deadline, think_s, random.Random(rng.random()), stop)
                for i in range(learners)
            )
        )
    run.ended = time.monotonic()
    return run


def answer_for(
    base: str,
    secret_key: str,
    *,
    learners: int,
    duration_s: float,
    think_s: float = 0.3,
    seed: int = 1,
    stop: threading.Event | None = None,
    run: ClassRun | None = None,
) -> ClassRun:
    """Run the class for `duration_s` or until `stop` is set (blocking; run it in a thread to act meanwhile)."""
    return asyncio.run(_run(base, secret_key, learners, duration_s, think_s, seed, stop or threading.Event(), run))


class Background:
    """The class answering in a thread while the test breaks things; `.result()` joins it."""

    def __init__(self, base: str, secret_key: str, *, learners: int, duration_s: float, think_s: float = 0.3) -> None:
        self.stop = threading.Event()
        self.started = time.monotonic()
        self._run: ClassRun | None = None
        self.live = ClassRun()  # filled as answers come back (the same list the result has)
        self._error: BaseException | None = None

        def target() -> None:
            try:
                self._run = answer_for(
                    base,
                    secret_key,
                    learners=learners,
                    duration_s=duration_s,
                    think_s=think_s,
                    stop=self.stop,
                    run=self.live,
                )
            except BaseException as error:  # noqa: BLE001 - re-raised in result()
                self._error = error

        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()

    def wait_for_answers(self, count: int, timeout_s: float = 60) -> None:
        """Until `count` answers have come back: the class is really answering."""
        deadline = time.monotonic() + timeout_s
        while len(self.live.answers) < count:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise TimeoutError(f"only {len(self.live.answers)} answers came back in {timeout_s:.0f} s")
            time.sleep(0.05)

    def result(self, timeout_s: float = 120) -> ClassRun:
        self.stop.set()
        self._thread.join(timeout_s)
        if self._error is not None:
            raise self._error
        assert self._run is not None, "the class did not finish"
        return self._run
