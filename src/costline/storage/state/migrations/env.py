"""Alembic environment of the state store: always run in code by
:func:`costline.storage.state.engine.upgrade`, which hands over an open connection."""

from __future__ import annotations

from alembic import context

from costline.storage.state.engine import VERSION_TABLE
from costline.storage.state.models import Base


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "the state store migrations run from costline (open_state), not the alembic CLI"
        )
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        # NOTE: SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
