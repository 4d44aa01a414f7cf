"""One SQLAlchemy engine per process, built from the settings: SQLite or PostgreSQL.

SQLite (the embedded default) runs in WAL mode with a busy timeout. PostgreSQL goes
through psycopg 3 (`postgresql://` is read as `postgresql+psycopg://`) with a
connection pool whose size, overflow and wait are settings, a connect timeout, and a
ping before each checkout, so connections that a restarted server dropped are
replaced by themselves. Pure persistence plumbing: no HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url


@dataclass(frozen=True)
class PoolSettings:
    size: int = 5
    overflow: int = 5
    timeout_s: float = 5.0
    connect_timeout_s: float = 3.0
    busy_timeout_s: float = 10.0  # SQLite only


def normalized_url(database_url: str) -> URL:
    """The URL with PostgreSQL's driver made explicit (psycopg 3, not SQLAlchemy's default psycopg2)."""
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _enable_sqlite_wal(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={round(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def make_engine(database_url: str, pool: PoolSettings = PoolSettings()) -> Engine:
    url = normalized_url(database_url)
    if is_sqlite(url):
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_pre_ping=True)
        _enable_sqlite_wal(engine, pool.busy_timeout_s)
        return engine
    connect_args = (
        {"connect_timeout": max(1, round(pool.connect_timeout_s))} if url.get_backend_name() == "postgresql" else {}
    )
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool.size,
        max_overflow=pool.overflow,
        pool_timeout=pool.timeout_s,
        connect_args=connect_args,
    )
