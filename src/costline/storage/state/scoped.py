"""What the state store's per-workspace tables share: UTC instants, a portable upsert, and
:class:`WorkspaceScoped`, the base of the alert outbox, the recommendation store and the ingest
history (one workspace's rows, a session per transaction, an injectable clock).

Example:
    >>> import datetime as dt
    >>> utc(dt.datetime(2026, 9, 1, 8)).isoformat()
    '2026-09-01T08:00:00+00:00'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session, sessionmaker


def utc(at: dt.datetime) -> dt.datetime:
    """``at`` as an aware UTC instant; a naive one is taken to be UTC already."""
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def upsert_statement(dialect: str, table: Table) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for ``dialect`` (sqlite or postgresql)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


class WorkspaceScoped:
    """The rows of one workspace (``workspace``: its state key) in the state store."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        workspace: str,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._sessions = sessions
        self.workspace = workspace
        self._clock = clock

    def _now(self) -> dt.datetime:
        return utc(self._clock())

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._sessions.begin() as session:
            yield session


__all__ = ["WorkspaceScoped", "upsert_statement", "utc"]
