"""Two real replicas behind a real HAProxy, sharing a real PostgreSQL: the fault tests' cluster.

One cluster per test process (the tests share the `fault` xdist group, so they run in
one worker, in file order); each test starts with both replicas running and ready.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from bench.cluster import HAPROXY, Balancer, Replica, replicas_behind_balancer
from bench.postgres import PostgresServer, postgres_bin_dir, postgres_server
from tests.conftest import migrated_database

SECRET = "fault-tests-shared-secret"
BALANCER_SEES_UP_S = 0.8  # HAProxy: rise 2 checks, 200 ms apart


@dataclass
class Cluster:
    postgres: PostgresServer
    database_url: str
    replicas: list[Replica]
    balancer: Balancer
    secret_key: str = SECRET

    def saved_answers(self) -> set[tuple[str, str]]:
        """(learner id, answer) of every attempt in the database."""
        with psycopg.connect(self.database_url.replace("postgresql+psycopg", "postgresql")) as connection:
            return {
                (learner, answer) for learner, answer in connection.execute("SELECT learner_id, answer FROM attempts")
            }

    def all_running(self) -> None:
        for replica in self.replicas:
            if not replica.running:
                replica.start()
        time.sleep(BALANCER_SEES_UP_S)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    missing = [
        name
        for name, there in (("postgresql", postgres_bin_dir() is not None), ("haproxy", Path(HAPROXY).exists()))
        if not there
    ]
    if missing:
        message = f"{' and '.join(missing)} not installed: `./dev test` installs them"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with postgres_server() as server:
        url = migrated_database(server)
        env = {
            "TEXTBOOK_DATABASE_URL": url,
            "TEXTBOOK_SECRET_KEY": SECRET,
            "TEXTBOOK_RUNNER_WORKERS": "1",
            "TEXTBOOK_DRAIN_S": "1",
            "TEXTBOOK_SHUTDOWN_GRACE_S": "20",
            "TEXTBOOK_DATABASE_CONNECT_TIMEOUT_S": "2",
            "TEXTBOOK_DATABASE_POOL_SIZE": "10",
            "TEXTBOOK_DATABASE_MAX_OVERFLOW": "10",
        }
        with replicas_behind_balancer(tmp_path_factory.mktemp("fault-cluster"), 2, env) as (replicas, balancer):
            yield Cluster(server, url, replicas, balancer)
