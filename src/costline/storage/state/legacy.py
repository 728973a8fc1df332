"""Moving workflow state out of a warehouse written by an older costline.

Up to 0.1 the alert outbox (``alert_deliveries``, ``alert_delivery_attempts``) and the
recommendations with their adoption records (``recommendations``, ``adoptions``) lived in the
DuckDB warehouse. They now live in the state store; the first time a workspace's workflow
state is used, :func:`move_alert_outbox` and :func:`move_recommendations` copy the old rows
into the state store (rows the store already holds stay as they are), then rename the DuckDB
tables to ``<name>_moved``. The renamed tables are a backup nobody reads any more; drop them
whenever you like.

The copy commits before the rename, so a crash in between only means the next run copies
again, adding nothing (idempotent). A warehouse without the old tables is left untouched.

Example:
    >>> import duckdb
    >>> from costline.storage.state import open_state
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE alert_deliveries (anomaly_id VARCHAR, revision INTEGER, "
    ...     "channel VARCHAR, status VARCHAR, payload VARCHAR, attempts INTEGER, "
    ...     "last_error VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP)")
    >>> _ = con.execute("INSERT INTO alert_deliveries VALUES ('a1', 1, 'ops', 'delivered', "
    ...     "'{}', 1, NULL, '2026-09-01', '2026-09-01')")
    >>> box = open_state("sqlite://").alert_outbox()
    >>> move_alert_outbox(con, box), move_alert_outbox(con, box)
    ((1, 0), None)
    >>> box.status_of("a1", 1, "ops")
    'delivered'
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from costline.core.errors import StorageError
from costline.storage.state.outbox import AlertOutbox
from costline.storage.state.recommendations import RecommendationStore

log = logging.getLogger(__name__)

MOVED_SUFFIX = "_moved"
ALERT_TABLES = ("alert_deliveries", "alert_delivery_attempts")
TICKET_TABLES = ("recommendations", "adoptions")


def table_exists(con: Any, name: str) -> bool:
    """Whether the warehouse has a base table ``name`` in its main schema."""
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?",
        [name],
    ).fetchone()
    return bool(row and row[0])


def read_rows(con: Any, name: str) -> list[dict[str, Any]]:
    """Every row of warehouse table ``name`` as a dict (empty when there is no such table)."""
    if not table_exists(con, name):
        return []
    cur = con.execute(f'SELECT * FROM "{name}"')
    columns = [d[0] for d in cur.description]
    return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]


def retire(con: Any, names: Sequence[str]) -> None:
    """Rename the warehouse tables ``names`` (those that exist) to ``<name>_moved``, in one
    transaction; an older ``<name>_moved`` (copied already) is replaced."""
    con.execute("BEGIN TRANSACTION")
    try:
        for name in names:
            if table_exists(con, name):
                con.execute(f'DROP TABLE IF EXISTS "{name}{MOVED_SUFFIX}"')
                con.execute(f'ALTER TABLE "{name}" RENAME TO "{name}{MOVED_SUFFIX}"')
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _copy(
    what: str,
    rows: tuple[list[dict[str, Any]], list[dict[str, Any]]],
    into: Callable[[list[dict[str, Any]], list[dict[str, Any]]], tuple[int, int]],
) -> tuple[int, int]:
    try:
        return into(*rows)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""]
        raise StorageError(
            f"could not copy the warehouse's {what} into the state store: "
            f"{type(exc).__name__}: {reason[0]}",
            hint="check that the state store is reachable and writable, then run the "
            "command again (the warehouse tables are kept until the copy succeeds)",
        ) from exc


def move_alert_outbox(con: Any, outbox: AlertOutbox) -> tuple[int, int] | None:
    """Copy a warehouse's old alert outbox into the state store and retire its tables.

    Args:
        con: A read-write DuckDB connection to the warehouse, outside any transaction.
        outbox: The workspace's outbox in the state store.

    Returns:
        How many delivery and attempt rows were added, or None when the warehouse had no old
        outbox (nothing to do).

    Raises:
        StorageError: the state store refused the rows (nothing was retired; the next run
            tries again).
    """
    if not table_exists(con, ALERT_TABLES[0]):
        return None
    rows = (read_rows(con, ALERT_TABLES[0]), read_rows(con, ALERT_TABLES[1]))
    what = f"alert outbox ({len(rows[0])} deliveries, {len(rows[1])} attempts)"
    added = _copy(what, rows, outbox.import_rows)
    retire(con, ALERT_TABLES)
    log.info("moved the warehouse's %s to the state store: %s new", what, added)
    return added


def move_recommendations(con: Any, recs: RecommendationStore) -> tuple[int, int] | None:
    """Copy a warehouse's old recommendations and adoption records into the state store and
    retire their tables (as :func:`move_alert_outbox`).

    Returns:
        How many recommendation and adoption rows were added, or None when the warehouse had
        neither table.

    Raises:
        StorageError: the state store refused the rows (nothing was retired).
    """
    if not any(table_exists(con, name) for name in TICKET_TABLES):
        return None
    recommendations = read_rows(con, TICKET_TABLES[0])
    for row in recommendations:  # DuckDB's JSON column reads as text
        if isinstance(row.get("details"), str):
            row["details"] = json.loads(row["details"])
    rows = (recommendations, read_rows(con, TICKET_TABLES[1]))
    what = f"recommendations ({len(rows[0])} recommendations, {len(rows[1])} adoptions)"
    added = _copy(what, rows, recs.import_rows)
    retire(con, TICKET_TABLES)
    log.info("moved the warehouse's %s to the state store: %s new", what, added)
    return added
