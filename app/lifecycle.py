"""Where one server process is in its life: starting, ready, draining.

/readyz reads it; the SIGTERM handler in `app.cli` sets `draining`, after which the
balancer stops sending new work here while what is in flight finishes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Lifecycle:
    started: bool = False  # the lifespan's startup finished (runner pool, charts, templates)
    draining: bool = False  # SIGTERM received: report not ready, finish what is in flight, exit

    def not_ready_because(self) -> str | None:
        if self.draining:
            return "draining: this replica is shutting down"
        if not self.started:
            return "starting"
        return None
