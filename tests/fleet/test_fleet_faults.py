"""Fault tests with real processes: runner services SIGKILLed, restarted, full, or holding another token.

Every run a student asks for ends, within the web app's deadline, either `ok` or refused with
429/503 and a message; never a 500, never a hang; a run that may have started is never sent
to a second runner.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections import Counter
from pathlib import Path

import httpx

from bench.server import free_port, server_process
from tests.fleet.conftest import RUN_DEADLINE_S, auth
from tests.fleet.fleet import burst, fleet
from tests.html_tree import parse_html
from tests.runner.snippets import LORA_ALGEBRA

SLOW = "import time\ntime.sleep(0.4)\nprint('done')"


def test_a_runner_killed_during_a_burst_costs_only_its_runs_in_flight(tmp_path: Path) -> None:
    with fleet(tmp_path, 2, wrong_token_runners=1) as web_and_runners:
        runner_a, runner_b, stranger = web_and_runners.runners
        web = web_and_runners.web

        # The runner holding another token is refused by the web app, and never gets a run.
        assert web_and_runners.wait_until(stranger, "down") < 5
        assert "refused our token" in web_and_runners.runner_states()[stranger.url]["reason"]

        # 1. A burst of 40 runs; runner A is SIGKILLed 0.6 s in.
        answers = asyncio.run(burst(web, [SLOW] * 40, during=runner_a.kill, after_s=0.6))
        statuses = Counter(answer.status for answer in answers)
        slowest = max(answer.seconds for answer in answers)
        print(f"\nburst of 40 with runner A killed: {dict(statuses)}; slowest {slowest:.2f} s")
        assert set(statuses) <= {200, 429, 503}, statuses
        for answer in answers:
            assert answer.seconds < RUN_DEADLINE_S
            if answer.status == 200:
                assert answer.body["status"] == "ok" and answer.body["stdout"] == "done\n"
            else:
                assert answer.body["detail"]  # a message for the student, not a traceback
        # The web app never sends a runner more than its capacity (2), so only those were lost.
        assert statuses[503] <= 2 and statuses[200] >= 38

        # 2. The next 50 runs all succeed, on the survivor.
        before_b = web_and_runners.our_runs(runner_b)
        started = time.monotonic()
        for _ in range(10):
            for answer in asyncio.run(burst(web, [LORA_ALGEBRA] * 5)):
                assert answer.status == 200 and "merged == two-path    : True" in answer.body["stdout"], answer
        print(f"next 50 runs: all ok in {time.monotonic() - started:.1f} s")
        assert web_and_runners.runner_states()[runner_a.url]["state"] == "down"
        assert web_and_runners.our_runs(runner_b) - before_b == 50

        # 3. A restarted on its port is used again within seconds of answering.
        runner_a.start()
        runner_a.wait()
        back_after_s = web_and_runners.wait_until(runner_a, "up", timeout_s=10)
        print(f"restarted runner A back in rotation {back_after_s:.2f} s after it answered")
        assert back_after_s < 3
        before_a = web_and_runners.our_runs(runner_a)
        for _ in range(4):
            for answer in asyncio.run(burst(web, ["print(1)"] * 4)):
                assert answer.status == 200
        assert web_and_runners.our_runs(runner_a) > before_a
        assert web_and_runners.our_runs(stranger) == 0
        assert stranger.health()["runs"] == 0


def test_a_run_that_may_have_started_is_never_sent_to_another_runner(tmp_path: Path) -> None:
    with fleet(tmp_path, 2) as web_and_runners:
        first, second = web_and_runners.runners
        victim: list[str] = []

        def kill_the_one_running_it() -> None:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                for runner in (first, second):
                    if runner.health()["in_flight"] == 1:
                        victim.append(runner.url)
                        runner.kill()
                        return
                time.sleep(0.02)

        [answer] = asyncio.run(
            burst(web_and_runners.web, ["import time\ntime.sleep(1.5)"], during=kill_the_one_running_it, after_s=0.1)
        )
        assert victim, "the run never showed up on either runner"
        assert answer.status == 503 and "stopped answering during this run" in answer.body["detail"]
        assert answer.seconds < RUN_DEADLINE_S
        survivor = second if victim == [first.url] else first
        assert survivor.health()["runs"] == 0  # not retried: it may have run on the killed one


def test_a_run_refused_by_a_full_runner_goes_to_another_and_a_full_fleet_answers_429(tmp_path: Path) -> None:
    one_slot = {"TEXTBOOK_RUNNER_WORKERS": "1", "TEXTBOOK_RUNNER_QUEUE": "0"}
    with fleet(tmp_path, 2, runner_env=one_slot) as web_and_runners:
        first, second = web_and_runners.runners
        # Someone else (another web replica, say) fills the first runner.
        with concurrent.futures.ThreadPoolExecutor(1) as other_replica:
            occupied = other_replica.submit(
                httpx.post,
                f"{first.url}/v1/run",
                json={"code": "import time; time.sleep(2.5)"},
                headers=auth(),
                timeout=30,
            )
            deadline = time.monotonic() + 5
            while first.health()["in_flight"] == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            # Our runs take turns between the two; the one sent to the full runner gets 429 there,
            # had never started, and goes on to the other runner.
            with httpx.Client(timeout=30) as client:
                for _ in range(4):
                    answer = client.post(f"{web_and_runners.web}/api/run", json={"code": "print(2)"})
                    assert answer.status_code == 200 and answer.json()["stdout"] == "2\n"
            assert first.health()["runs"] == 1 and second.health()["runs"] == 4
            assert occupied.result().status_code == 200
        # A burst bigger than the whole fleet: every run either ran or was refused with Retry-After.
        answers = asyncio.run(burst(web_and_runners.web, ["import time\ntime.sleep(1.0)"] * 5))
        statuses = Counter(answer.status for answer in answers)
        print(f"\n5 runs on two one-slot runners: {dict(statuses)}")
        assert set(statuses) <= {200, 429} and statuses[200] >= 2 and statuses[429] >= 1
        for answer in answers:
            assert answer.seconds < RUN_DEADLINE_S
            if answer.status == 429:
                assert int(answer.retry_after or 0) >= 1 and "busy" in answer.body["detail"]


def test_with_no_runner_reachable_the_page_says_so_plainly(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    env = {"TEXTBOOK_SECRET_KEY": "k", "TEXTBOOK_RUNNER_URLS": nowhere, "TEXTBOOK_RUNNER_TOKEN": "t" * 20}
    with server_process(tmp_path, **env) as (_, base):
        health = httpx.get(f"{base}/healthz").json()
        assert health["status"] == "ok"  # the book still works
        runner = health["parts"]["runner"]
        assert runner["mode"] == "remote" and runner["reachable"] == 0 and runner["runners"][0]["state"] == "down"
        page = parse_html(httpx.get(f"{base}/chapters/fine-tuning").text)
        assert "No code runner is reachable right now" in page.find(cls="banner").text
        started = time.monotonic()
        refused = httpx.post(f"{base}/api/run", json={"code": "print(1)"})
        assert refused.status_code == 503 and "No code runner is reachable" in refused.json()["detail"]
        fragment = httpx.post(
            f"{base}/chapters/fine-tuning/snippets/lora-algebra",
            data={"code": "print(1)"},
            headers={"HX-Request": "true"},
        )
        assert fragment.status_code == 503 and "No code runner is reachable" in fragment.text
        without_js = httpx.post(f"{base}/chapters/fine-tuning/snippets/lora-algebra", data={"code": "print(1)"})
        assert without_js.status_code == 503 and "No code runner is reachable" in without_js.text
        assert time.monotonic() - started < 5
