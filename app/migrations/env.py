"""Alembic's environment: runs the revisions on the engine `app.schema` hands over.

Run through `textbook db upgrade` (never a bare `alembic` command, which has no
engine): the engine comes in `config.attributes["engine"]`. SQLite gets batch mode,
so a revision that alters a column works there too.
"""

from __future__ import annotations

from alembic import context

from app.storage import metadata

engine = context.config.attributes.get("engine")
if engine is None:
    raise RuntimeError("run migrations with `textbook db upgrade`, which passes the database engine")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
