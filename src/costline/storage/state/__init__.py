"""The service's state store (issue #6): users, API tokens, UI sessions, login attempts, job
runs and the audit log, in SQLite (default) or PostgreSQL, migrated by Alembic on open.

Needs the ``service`` extra (SQLAlchemy, Alembic, psycopg); the base install never imports it.

Example:
    >>> store = open_state("sqlite://")
    >>> run = store.start_run("ingest", "manual")
    >>> store.finish_run(run, "succeeded").status
    'succeeded'
    >>> store.close()
"""

from __future__ import annotations

from costline.storage.state.engine import ENV_PASSWORD, ENV_URL, resolve_url, schema_diff
from costline.storage.state.records import (
    ApiToken,
    AuditEntry,
    DuplicateUserError,
    JobRun,
    Role,
    UnknownRunError,
    UnknownTokenError,
    UnknownUserError,
    User,
)
from costline.storage.state.store import StateStore, open_state

__all__ = [
    "ENV_PASSWORD",
    "ENV_URL",
    "ApiToken",
    "AuditEntry",
    "DuplicateUserError",
    "JobRun",
    "Role",
    "StateStore",
    "UnknownRunError",
    "UnknownTokenError",
    "UnknownUserError",
    "User",
    "open_state",
    "resolve_url",
    "schema_diff",
]
