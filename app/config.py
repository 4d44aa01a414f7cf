"""Settings, read from the environment (prefix TEXTBOOK_). There is no global instance:
`create_app(settings)` receives one, so tests build their own."""

from __future__ import annotations

import math
import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.runner.protocol import RunnerLimits

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The site's files (content/, templates/, static/): beside app/ in a checkout; inside the
# package, in app/site/, when it is installed from a wheel (build_site.py puts them there).
PACKAGED_SITE = Path(__file__).resolve().parent / "site"
INSTALLED = PACKAGED_SITE.is_dir()
SITE_ROOT = PACKAGED_SITE if INSTALLED else PROJECT_ROOT
# Progress and the generated secret: var/ in the checkout; installed, var/ in the directory
# the server is started from (never inside site-packages).
DEFAULT_DATA_DIR = Path.cwd() / "var" if INSTALLED else PROJECT_ROOT / "var"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TEXTBOOK_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    content_dir: Path = SITE_ROOT / "content"
    templates_dir: Path = SITE_ROOT / "templates"
    static_dir: Path = SITE_ROOT / "static"
    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="SQLite file and the generated secret key live here")
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL, e.g. postgresql://user:pw@host/db (psycopg 3); "
            "default: SQLite file in data_dir, upgraded at start"
        ),
    )
    database_pool_size: int = Field(
        default=5, ge=1, le=200, description="PostgreSQL: connections each replica keeps open"
    )
    database_max_overflow: int = Field(
        default=5, ge=0, le=200, description="PostgreSQL: extra connections a burst may open beyond the pool"
    )
    database_pool_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="PostgreSQL: how long a request waits for a free connection"
    )
    database_connect_timeout_s: float = Field(
        default=3.0, gt=0, le=60, description="PostgreSQL: how long opening a connection may take"
    )
    database_busy_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="SQLite: how long a query waits for another's lock before the student is told to try again",
    )
    secret_key: str | None = Field(
        default=None, description="signs the learner cookie; default: generated once into data_dir"
    )
    instructor_token: str | None = Field(
        default=None,
        min_length=16,
        description="opens /instructor (the class's stats); unset: the instructor view does not exist",
    )
    cookie_secure: bool = False
    public_url: str | None = Field(
        default=None,
        description="the public origin for canonical links (e.g. https://book.example.org); default: the request's",
    )

    runner_workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    runner_queue: int = 32
    runner_wall_s: float = 5.0
    runner_memory_mb: int = 256
    runner_output_kb: int = 64
    runner_max_figures: int = 4
    runner_allow_unsafe: bool = Field(default=False, description="run code without OS isolation (single-user only)")
    runner_urls: str | None = Field(
        default=None,
        description="runner services (one URL, or a comma-separated list); unset: run code in this process",
    )
    runner_token: str | None = Field(
        default=None, description="bearer token shared by the web app and its runner services"
    )
    runner_health_interval_s: float = Field(
        default=2.0, gt=0, le=60, description="how often the web app checks each runner service"
    )
    runner_template_renewal_s: float = Field(
        default=600.0,
        ge=5,
        le=86400,
        description="replace the template process after this many seconds of use (fresh hash seed and layout)",
    )
    runner_gpu: Literal["auto", "off"] = Field(
        default="auto", description="offer the NVIDIA GPU to snippets when one is usable here (auto) or never (off)"
    )

    drain_s: float = Field(
        default=0.0,
        ge=0,
        le=120,
        description="on SIGTERM: how long /readyz answers 503 before the listener closes, for the balancer to notice",
    )
    shutdown_grace_s: float = Field(
        default=30.0, gt=0, le=600, description="on SIGTERM: how long answers and runs in flight may take to finish"
    )

    log_level: str = "info"
    access_log: bool = Field(
        default=True, description="one JSON line per request (with its X-Request-ID) on the textbook.access logger"
    )

    @property
    def uses_embedded_database(self) -> bool:
        """The default SQLite file: the only database that upgrades its own schema at start."""
        return not self.database_url

    def runner_limits(self) -> RunnerLimits:
        """The per-run limits these settings ask for (the server and `textbook check` run alike)."""
        return RunnerLimits(
            wall_s=self.runner_wall_s,
            cpu_s=max(6, math.ceil(self.runner_wall_s) + 1),
            memory_mb=self.runner_memory_mb,
            output_bytes=self.runner_output_kb * 1024,
            max_figures=self.runner_max_figures,
        )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'textbook.sqlite3'}"

    def resolved_secret_key(self) -> str:
        """The configured secret, else one generated on first start and kept in data_dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key
