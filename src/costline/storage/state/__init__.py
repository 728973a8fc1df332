"""The state store (issue #6): users, API tokens, UI sessions, login attempts, job runs, the
audit log, and each workspace's workflow state (the alert outbox, recommendations, tickets and
adoption records, the ingest file history), in SQLite (default) or PostgreSQL, migrated by
Alembic on open.

SQLAlchemy and Alembic are base dependencies (the CLI's alerting and tickets need the store); a
PostgreSQL store also needs psycopg, from the ``service`` extra.

Example:
    >>> store = open_state("sqlite://")
    >>> run = store.start_run("ingest", "manual")
    >>> store.finish_run(run, "succeeded").status
    'succeeded'
    >>> store.close()
"""

from __future__ import annotations

from costline.storage.state.engine import ENV_PASSWORD, ENV_URL, resolve_url, schema_diff
from costline.storage.state.ingest_history import IngestHistory
from costline.storage.state.outbox import AlertOutbox
from costline.storage.state.recommendations import RecommendationStore
from costline.storage.state.records import (
    AdoptionRecord,
    ApiToken,
    AuditEntry,
    DuplicateUserError,
    IngestFile,
    JobRun,
    Recommendation,
    Role,
    UnknownRecommendationError,
    UnknownRunError,
    UnknownTokenError,
    UnknownUserError,
    User,
)
from costline.storage.state.store import StateStore, open_state

__all__ = [
    "ENV_PASSWORD",
    "ENV_URL",
    "AdoptionRecord",
    "AlertOutbox",
    "ApiToken",
    "AuditEntry",
    "DuplicateUserError",
    "IngestFile",
    "IngestHistory",
    "JobRun",
    "Recommendation",
    "RecommendationStore",
    "Role",
    "StateStore",
    "UnknownRecommendationError",
    "UnknownRunError",
    "UnknownTokenError",
    "UnknownUserError",
    "User",
    "open_state",
    "resolve_url",
    "schema_diff",
]
