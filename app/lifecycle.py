"""Where one server process is in its life: starting, ready, draining.

/readyz reads it; the SIGTERM handler in `app.cli` sets `draining`, after which the
balancer stops sending new work here while what is in flight finishes.

The database gates readiness only until it has answered once with a current schema.
A later outage is everybody's (every replica shares the database): taking every replica
out of the balancer would turn "your answer was not saved, try again" and readable
pages into the balancer's bare 503, so replicas stay in and /readyz reports the outage
as `degraded`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Lifecycle:
    started: bool = False  # the lifespan's startup finished (runner pool, charts, templates)
    draining: bool = False  # SIGTERM received: report not ready, finish what is in flight, exit
    database_seen: bool = False  # the database has answered with a current schema since the start

    def not_ready_because(self) -> str | None:
        if self.draining:
            return "draining: this replica is shutting down"
        if not self.started:
            return "starting"
        return None
