"""The web app's view of each runner service: up or down, why, and which one takes the next run.

Pure bookkeeping (time is passed in): remote.py does the HTTP and calls these.

* A runner is `up` after a health check that answered and whose sandbox can run code;
  `down` when a check or a run could not reach it, it refused our token, or it reports
  that it cannot run code. Runs go only to `up` runners.
* A `down` runner is checked again after a back-off that doubles from 0.25 s up to the
  health interval, so a restarted runner is used again within about one interval.
* The next run goes to the `up` runner with the fewest of our runs outstanding (ties in
  turn), so a slow or busy runner gets fewer; never more than its capacity (the runs it
  executes at once), so runs wait in the web app rather than in one runner's queue, and a
  runner that dies takes at most its capacity of runs with it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

from app.runner.protocol import IsolationReport, RunnerLimits

EndpointState = Literal["unknown", "up", "down"]

FIRST_RETRY_S = 0.25


@dataclass
class RunnerEndpoint:
    url: str
    state: EndpointState = "unknown"
    reason: str = "not checked yet"
    health: dict[str, Any] = field(default_factory=dict)
    outstanding: int = 0  # our runs on it right now
    failures: int = 0  # consecutive
    checked_at: float | None = None
    next_check_at: float = 0.0
    runs: int = 0  # runs it answered for us (for tests and /healthz)

    @property
    def isolation(self) -> IsolationReport:
        level = self.health.get("level")
        details = self.health.get("details")
        if level in ("full", "unsafe", "none") and isinstance(details, list):
            return IsolationReport(level, [str(item) for item in details])
        return IsolationReport("none", [self.reason])

    @property
    def devices(self) -> tuple[str, ...]:
        devices = self.health.get("devices")
        if isinstance(devices, list) and all(isinstance(item, str) for item in devices):
            return tuple(devices)
        return ("cpu",)

    @property
    def limits(self) -> RunnerLimits | None:
        raw = self.health.get("limits")
        try:
            return RunnerLimits.from_dict(raw) if isinstance(raw, dict) else None
        except (TypeError, ValueError):
            return None

    def mark_up(self, health: dict[str, Any], now: float, interval_s: float) -> None:
        self.health = health
        self.checked_at = now
        self.next_check_at = now + interval_s
        if self.isolation.can_run:
            self.state, self.reason, self.failures = "up", "ok", 0
        else:
            self._down(f"it cannot run code: {'; '.join(self.isolation.details[:1]) or 'no sandbox'}", now, interval_s)

    def mark_down(self, reason: str, now: float, interval_s: float) -> None:
        self.checked_at = now
        self._down(reason, now, interval_s)

    def _down(self, reason: str, now: float, interval_s: float) -> None:
        self.state, self.reason = "down", reason
        self.failures += 1
        self.next_check_at = now + min(interval_s, FIRST_RETRY_S * 2 ** (self.failures - 1))

    def check_soon(self, now: float) -> None:
        """Something went wrong on a run: look at it at the next tick rather than in an interval."""
        self.next_check_at = min(self.next_check_at, now)

    def due(self, now: float) -> bool:
        return now >= self.next_check_at

    @property
    def capacity(self) -> int:
        """Runs it executes at once; we send it no more than that, so a crash loses no more."""
        capacity = self.health.get("capacity")
        return capacity if isinstance(capacity, int) and capacity > 0 else 1

    @property
    def queue(self) -> int:
        queue = self.health.get("queue")
        return queue if isinstance(queue, int) and queue >= 0 else 0

    def serves(self, device: str) -> bool:
        return self.state == "up" and device in self.devices

    def has_room(self) -> bool:
        return self.outstanding < self.capacity

    def describe(self, now: float) -> dict[str, Any]:
        return {
            "url": self.url,
            "state": self.state,
            "reason": self.reason,
            "checked_s_ago": None if self.checked_at is None else round(now - self.checked_at, 1),
            "level": self.health.get("level"),
            "devices": list(self.devices) if self.health else [],
            "capacity": self.health.get("capacity"),
            "in_flight": self.health.get("in_flight"),
            "queue": self.health.get("queue"),
            "our_outstanding": self.outstanding,
            "our_runs": self.runs,
        }


class EndpointChooser:
    """Picks the runner for the next run; remembers whose turn it is on ties."""

    def __init__(self) -> None:
        self._turn = itertools.count()

    def choose(self, endpoints: list[RunnerEndpoint], device: str, exclude: set[str]) -> RunnerEndpoint | None:
        """The up runner for `device` with a free slot and the fewest of our runs; None if all are full or down."""
        candidates = [e for e in endpoints if e.url not in exclude and e.serves(device) and e.has_room()]
        if not candidates:
            return None
        fewest = min(e.outstanding for e in candidates)
        least_loaded = [e for e in candidates if e.outstanding == fewest]
        return least_loaded[next(self._turn) % len(least_loaded)]


def parse_runner_urls(raw: str) -> list[str]:
    """`TEXTBOOK_RUNNER_URLS`: one URL or a comma-separated list; http(s) only, no duplicates."""
    urls: list[str] = []
    for part in raw.split(","):
        url = part.strip().rstrip("/")
        if not url:
            continue
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"runner URL {url!r} must start with http:// or https://")
        if url not in urls:
            urls.append(url)
    if not urls:
        raise ValueError("TEXTBOOK_RUNNER_URLS names no runner")
    return urls
