"""Real runner services (`textbook runner serve`) and web apps pointed at them, on loopback."""

from __future__ import annotations

import secrets

import pytest

TOKEN = "fleet-test-token-" + secrets.token_hex(8)
WALL_S = 2.0
# The web app waits at most 3 x wall + 5 s for a runner's answer (app/fleet/remote.py).
RUN_DEADLINE_S = 3 * WALL_S + 5
RUNNER_ENV = {"TEXTBOOK_RUNNER_WORKERS": "2", "TEXTBOOK_RUNNER_QUEUE": "32", "TEXTBOOK_RUNNER_WALL_S": str(WALL_S)}


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def token() -> str:
    return TOKEN
