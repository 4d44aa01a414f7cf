"""Shared fixtures: real settings on a temporary data dir, the real app, a client.

The app is started once per test session and database backend (its runner pool forks
a warm template process); tests that need a fresh app or a restart build their own
with `make_settings`. A module marked `both_databases` runs every test against the
embedded SQLite *and* a real PostgreSQL server that the session starts itself
(`bench/postgres.py`: the machine's initdb/pg_ctl, as `nobody`, on a loopback port).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from packaging.version import Version

from app.config import Settings
from app.database import make_engine
from app.main import create_app
from app.schema import upgrade
from bench.postgres import PostgresServer, postgres_bin_dir, postgres_server
from tests.container.docker_support import ENGINE_STARTED_MARK, stop_engine_if_this_session_started_it

BACKENDS = ("sqlite", "postgresql")


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "secret_key": "test-secret-key",
        "runner_workers": 2,
        "runner_queue": 8,
        "runner_wall_s": 2.0,
    }
    values.update(overrides)
    return Settings(**values)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_databases: run against the embedded SQLite and a real PostgreSQL")
    refuse_a_pytest_that_loses_xdist_groups(config)
    if not hasattr(config, "workerinput"):  # the controller: its xdist workers inherit the variable
        os.environ[ENGINE_STARTED_MARK] = str(Path(tempfile.mkdtemp(prefix="textbook-tests-")) / "started-dockerd")


def refuse_a_pytest_that_loses_xdist_groups(config: pytest.Config) -> None:
    """The container and fault modules need `--dist loadgroup` (one engine, one stack per group).

    pytest 9.2 keeps a node's id where pytest-xdist 3.8 cannot add the group to it, and then
    every group is spread over the workers without a word (pyproject.toml pins pytest below it).
    """
    if config.getoption("dist", None) == "loadgroup" and Version(pytest.__version__) >= Version("9.2"):
        raise pytest.UsageError(
            f"pytest {pytest.__version__} loses pytest-xdist's test groups under --dist loadgroup; "
            "install the test extra again (pip install -e '.[test]') to get pytest < 9.2"
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last. Playwright's sync API keeps an event loop running in the test
    process's main thread from the first browser test to the end of the session, and
    `asyncio.run()` in any later test of that process fails ("cannot be called from a
    running event loop"). Stable sort: every other order is kept; each xdist worker
    collects the same order."""
    items.sort(key=lambda item: item.nodeid.startswith("tests/e2e/"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_backend" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_databases") is not None
        metafunc.parametrize("database_backend", BACKENDS if both else BACKENDS[:1], indirect=True, scope="session")


@pytest.fixture(scope="session")
def database_backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server per test process (each xdist worker has its own)."""
    if postgres_bin_dir() is None:
        message = "PostgreSQL is not installed: `./dev test` installs Debian's postgresql"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with postgres_server() as server:
        yield server


def migrated_database(server: PostgresServer) -> str:
    """A fresh PostgreSQL database upgraded to head (as `textbook db upgrade` does); its URL."""
    url = server.create_database()
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="session")
def app_settings(
    tmp_path_factory: pytest.TempPathFactory, database_backend: str, request: pytest.FixtureRequest
) -> Settings:
    data_dir = tmp_path_factory.mktemp(f"textbook-data-{database_backend}")
    if database_backend == "postgresql":
        return make_settings(data_dir, database_url=migrated_database(request.getfixturevalue("postgres")))
    return make_settings(data_dir)


@pytest.fixture(scope="session")
def app(app_settings: Settings) -> FastAPI:
    return create_app(app_settings)


@pytest.fixture(scope="session")
def session_client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def client(session_client: TestClient) -> TestClient:
    """The session's client as a brand-new learner (no cookies)."""
    session_client.cookies.clear()
    return session_client


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The figures the fault tests measured (recorded as `figures` properties, also from xdist workers)."""
    lines = [
        f"{report.nodeid.split('::')[-1]}: {value}"
        for key in ("passed", "failed")
        for report in terminalreporter.stats.get(key, [])
        if getattr(report, "when", "call") == "call"
        for name, value in getattr(report, "user_properties", [])
        if name == "figures"
    ]
    if lines:
        terminalreporter.section("fault test figures")
        for line in lines:
            terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the dockerd this session's container tests started, once, after every worker is done.

    Only the controller (or a run without xdist) does it: a module or a worker that stopped
    the engine would stop it under the containers of a module still running on another worker.
    """
    mark = os.environ.get(ENGINE_STARTED_MARK)
    if hasattr(session.config, "workerinput") or not mark:
        return
    stop_engine_if_this_session_started_it(Path(mark))
    shutil.rmtree(Path(mark).parent, ignore_errors=True)
