"""The alert outbox in DuckDB: delivery status per alert revision and channel, and every attempt.

Tables (created when missing):

* ``alert_deliveries``: one row per (anomaly_id, revision, channel) with its status
  (``sending``, ``delivered``, ``failed``, ``superseded``, ``unreadable``), the alert as JSON
  (so a later run can resend it), the attempt count and the last error;
* ``alert_delivery_attempts``: one row per attempt: number, time, outcome, detail.

Each write commits on its own, so a process that dies mid-delivery leaves the last state it
wrote. This module implements :class:`costline.notify.deliver.Outbox` structurally, with
primitive arguments only (storage does not import notify).

Example:
    >>> import duckdb
    >>> box = AlertOutbox(duckdb.connect())
    >>> box.mark("a1", 1, "ops", "sending", payload="{}")
    >>> box.status_of("a1", 1, "ops"), [p[:3] for p in box.pending()]
    ('sending', [('a1', 1, 'ops')])
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from costline.storage.base import QueryResult

DDL = """
CREATE TABLE IF NOT EXISTS alert_deliveries (
    anomaly_id VARCHAR NOT NULL,
    revision INTEGER NOT NULL,
    channel VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    payload VARCHAR,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error VARCHAR,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (anomaly_id, revision, channel)
);
CREATE TABLE IF NOT EXISTS alert_delivery_attempts (
    anomaly_id VARCHAR NOT NULL,
    revision INTEGER NOT NULL,
    channel VARCHAR NOT NULL,
    attempt INTEGER NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    outcome VARCHAR NOT NULL,
    detail VARCHAR
);
"""
PENDING = ("sending", "failed")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class AlertOutbox:
    """Delivery state over a DuckDB connection (the workspace's warehouse)."""

    def __init__(self, con: Any) -> None:
        self.con = con
        con.execute(DDL)

    def record_attempt(
        self,
        anomaly_id: str,
        revision: int,
        channel: str,
        *,
        at: datetime,
        outcome: str,
        detail: str | None,
    ) -> int:
        """Log one attempt and count it on the delivery row; returns the attempt number."""
        key = (anomaly_id, revision, channel)
        row = self.con.execute(
            "SELECT coalesce(max(attempt), 0) + 1 FROM alert_delivery_attempts "
            "WHERE anomaly_id = ? AND revision = ? AND channel = ?",
            key,
        ).fetchone()
        number = int(row[0])
        when = at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at
        self.con.execute(
            "INSERT INTO alert_delivery_attempts VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*key, number, when, outcome, detail),
        )
        self.con.execute(
            "UPDATE alert_deliveries SET attempts = ?, updated_at = ? "
            "WHERE anomaly_id = ? AND revision = ? AND channel = ?",
            (number, _now(), *key),
        )
        return number

    def mark(
        self,
        anomaly_id: str,
        revision: int,
        channel: str,
        status: str,
        *,
        payload: str | None = None,
        error: str | None = None,
    ) -> None:
        """Set the status; the payload and the last error are kept unless new ones are given."""
        now = _now()
        self.con.execute(
            "INSERT INTO alert_deliveries (anomaly_id, revision, channel, status, payload, "
            "last_error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (anomaly_id, revision, channel) DO UPDATE SET "
            "status = excluded.status, "
            "payload = coalesce(excluded.payload, alert_deliveries.payload), "
            "last_error = CASE WHEN excluded.status = 'delivered' THEN NULL "
            "ELSE coalesce(excluded.last_error, alert_deliveries.last_error) END, "
            "updated_at = excluded.updated_at",
            (anomaly_id, revision, channel, status, payload, error, now, now),
        )

    def status_of(self, anomaly_id: str, revision: int, channel: str) -> str | None:
        row = self.con.execute(
            "SELECT status FROM alert_deliveries "
            "WHERE anomaly_id = ? AND revision = ? AND channel = ?",
            (anomaly_id, revision, channel),
        ).fetchone()
        return None if row is None else str(row[0])

    def pending(self) -> Sequence[tuple[str, int, str, str]]:
        """Rows still to deliver (``sending`` from a crashed run, or ``failed``), oldest first."""
        rows = self.con.execute(
            "SELECT anomaly_id, revision, channel, payload FROM alert_deliveries "
            "WHERE status IN (?, ?) AND payload IS NOT NULL ORDER BY created_at, anomaly_id",
            PENDING,
        ).fetchall()
        return [(str(a), int(r), str(c), str(p)) for a, r, c, p in rows]

    def deliveries(self) -> QueryResult:
        """Every delivery row, newest first (for `costline alerts`-style listings and tests)."""
        cur = self.con.execute(
            "SELECT anomaly_id, revision, channel, status, attempts, last_error, updated_at "
            "FROM alert_deliveries ORDER BY updated_at DESC, anomaly_id, revision, channel"
        )
        return QueryResult([d[0] for d in cur.description], cur.fetchall())

    def attempts(self, anomaly_id: str, revision: int, channel: str) -> QueryResult:
        """The attempt log of one alert revision on one channel, in order."""
        cur = self.con.execute(
            "SELECT attempt, attempted_at, outcome, detail FROM alert_delivery_attempts "
            "WHERE anomaly_id = ? AND revision = ? AND channel = ? ORDER BY attempt",
            (anomaly_id, revision, channel),
        )
        return QueryResult([d[0] for d in cur.description], cur.fetchall())
