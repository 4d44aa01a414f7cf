"""Shared fixtures: real settings on a temporary data dir, the real app, a client.

The app is started once per test session (its runner pool forks a warm template
process); tests that need a fresh app or a restart build their own with `make_app`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {"data_dir": data_dir, "secret_key": "test-secret-key", "runner_workers": 2, "runner_queue": 8, "runner_wall_s": 2.0}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def app_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(tmp_path_factory.mktemp("textbook-data"))


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
