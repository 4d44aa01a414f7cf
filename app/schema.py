"""The database schema's version: Alembic revisions in `app/migrations/versions/`.

`textbook db upgrade` applies them (`upgrade`), `textbook db current` reports where a
database stands (`schema_state`), and every start checks it (`check_schema`): a schema
behind the code refuses to serve and names the command; only the embedded SQLite
default upgrades itself. A database made before migrations existed (the tables, no
`alembic_version`) is adopted as the first revision, which is exactly that schema.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from app.errors import Unavailable

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BASE_REVISION = "0001"
UNVERSIONED = "unversioned"  # the tables exist, made before migrations: revision 0001 in all but name
UPGRADE_COMMAND = "textbook db upgrade"


class SchemaBehind(Unavailable):
    """The database's schema is older than this code (or has none): run the migrations first."""


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # the database's revision; None: no schema yet
    head: str  # the newest revision this code knows

    @property
    def is_current(self) -> bool:
        return self.current == self.head

    @property
    def is_ahead(self) -> bool:
        """The database was migrated by newer code (a rolling deploy): its revision is unknown here."""
        return self.current not in (None, UNVERSIONED) and self.current not in _known_revisions()


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


@lru_cache(maxsize=1)  # the revisions on disk do not change while a process runs
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


@lru_cache(maxsize=1)
def _known_revisions() -> frozenset[str]:
    return frozenset(revision.revision for revision in _script().walk_revisions())


def head_revision() -> str:
    head = _script().get_current_head()
    assert head is not None, "app/migrations/versions holds no revision"
    return head


def schema_state(engine: Engine) -> SchemaState:
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        if current is None and inspect(connection).has_table("attempts"):
            current = UNVERSIONED
    return SchemaState(current=current, head=head_revision())


def schema_problem(engine: Engine) -> str | None:
    """What keeps this database from serving (for /readyz), or None. Raises SQLAlchemyError if it does not answer."""
    state = schema_state(engine)
    if state.is_current or state.is_ahead:
        return None
    return f"the database schema is at {state.current or 'nothing'}, behind {state.head}: run `{UPGRADE_COMMAND}`"


def upgrade(engine: Engine, revision: str = "head") -> SchemaState:
    """Apply every revision up to `revision`; returns where the database stands after."""
    config = alembic_config(engine)
    with engine.connect() as connection:
        unversioned = MigrationContext.configure(connection).get_current_revision() is None and inspect(
            connection
        ).has_table("attempts")
    if unversioned:
        log.info("adopting a database made before migrations as revision %s", BASE_REVISION)
        command.stamp(config, BASE_REVISION)
    command.upgrade(config, revision)
    return schema_state(engine)


def check_schema(engine: Engine, *, upgrade_if_behind: bool) -> SchemaState:
    """At start: upgrade (embedded SQLite) or refuse with the command to run (any other database).

    A database that cannot be reached is not checked here: the server starts and
    /readyz answers 503 until the database answers with a current schema.
    """
    state = schema_state(engine)
    if state.is_current:
        return state
    if state.is_ahead:
        log.warning(
            "the database schema (%s) is newer than this code (%s): serving, as migrations only add",
            state.current,
            state.head,
        )
        return state
    if upgrade_if_behind:
        log.info("upgrading the embedded database schema from %s to %s", state.current, state.head)
        return upgrade(engine)
    raise SchemaBehind(
        f"The database schema is at {state.current or 'nothing (an empty database)'}, this code needs {state.head}: "
        f"run `{UPGRADE_COMMAND}` with the same TEXTBOOK_DATABASE_URL, then start the server again."
    )
