"""SIGTERM on a real `textbook serve`: not ready at once, in-flight work finishes, exit 0.

One replica on its SQLite file (no PostgreSQL or balancer needed): a snippet run that
takes about a second and an answer are in flight when SIGTERM arrives; during the
drain `/readyz` answers 503 while pages are still served; the run and the answer
complete with 200; then the listener closes and the process exits with status 0.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx

from bench.server import server_process

SLOW_RUN = "import time\ntime.sleep(1.0)\nprint('finished')\n"


def test_sigterm_drains_in_flight_work_and_exits_0(tmp_path: Path) -> None:
    env = {
        "TEXTBOOK_SECRET_KEY": "drain-test",
        "TEXTBOOK_RUNNER_WORKERS": "1",
        "TEXTBOOK_DRAIN_S": "5",
        "TEXTBOOK_SHUTDOWN_GRACE_S": "20",
    }
    with server_process(tmp_path / "data", **env) as (process, base):
        results: dict[str, httpx.Response] = {}

        def run() -> None:
            results["run"] = httpx.post(f"{base}/api/run", json={"code": SLOW_RUN}, timeout=30)

        runner = threading.Thread(target=run)
        runner.start()
        time.sleep(0.4)  # the run is in its sandbox now
        process.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        draining = httpx.get(f"{base}/readyz", timeout=5)
        alive = httpx.get(f"{base}/healthz", timeout=5)
        answer = httpx.post(f"{base}/api/exercises/nf4-levels-count/check", json={"answer": "16"}, timeout=10)
        runner.join(30)
        exit_code = process.wait(timeout=30)

    assert draining.status_code == 503 and "draining" in draining.json()["problems"][0]
    assert alive.status_code == 200
    assert answer.status_code == 200  # still served during the drain: the balancer is taking it out
    assert results["run"].status_code == 200
    assert "finished" in results["run"].json()["stdout"]
    assert exit_code == 0
