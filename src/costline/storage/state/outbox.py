"""The alert outbox in the state store: delivery status per alert revision and channel, and
every attempt, for one workspace.

Tables (migration 0002):

* ``alert_deliveries``: one row per (workspace, anomaly_id, revision, channel) with its status
  (``sending``, ``delivered``, ``failed``, ``superseded``, ``unreadable``), the alert as JSON
  (so a later run can resend it), the attempt count and the last error;
* ``alert_delivery_attempts``: one row per attempt: number, time, outcome, detail.

Each write commits on its own, so a process that dies mid-delivery leaves the last state it
wrote. :class:`AlertOutbox` implements :class:`costline.notify.deliver.Outbox` structurally,
with primitive arguments only (storage does not import notify). Get one from
:meth:`costline.storage.state.StateStore.alert_outbox`.

Example:
    >>> from costline.storage.state import open_state
    >>> box = open_state("sqlite://").alert_outbox()
    >>> box.mark("a1", 1, "ops", "sending", payload="{}")
    >>> box.status_of("a1", 1, "ops"), [p[:3] for p in box.pending()]
    ('sending', [('a1', 1, 'ops')])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, case, func, select, update

from costline.storage.base import QueryResult
from costline.storage.state.models import AlertDeliveryAttemptRow, AlertDeliveryRow, Base
from costline.storage.state.scoped import WorkspaceScoped, upsert_statement, utc

PENDING = ("sending", "failed")
DELIVERY_COLUMNS = (
    "anomaly_id",
    "revision",
    "channel",
    "status",
    "attempts",
    "last_error",
    "updated_at",
)
ATTEMPT_COLUMNS = ("attempt", "attempted_at", "outcome", "detail")
DELIVERIES: Table = Base.metadata.tables["alert_deliveries"]
ATTEMPTS: Table = Base.metadata.tables["alert_delivery_attempts"]


class AlertOutbox(WorkspaceScoped):
    """Delivery state of one workspace's alerts in the state store."""

    def _key(self, anomaly_id: str, revision: int, channel: str) -> Any:
        return (
            (AlertDeliveryRow.workspace == self.workspace)
            & (AlertDeliveryRow.anomaly_id == anomaly_id)
            & (AlertDeliveryRow.revision == revision)
            & (AlertDeliveryRow.channel == channel)
        )

    def record_attempt(
        self,
        anomaly_id: str,
        revision: int,
        channel: str,
        *,
        at: dt.datetime,
        outcome: str,
        detail: str | None,
    ) -> int:
        """Log one attempt and count it on the delivery row; returns the attempt number."""
        a = AlertDeliveryAttemptRow
        mine = (
            (a.workspace == self.workspace)
            & (a.anomaly_id == anomaly_id)
            & (a.revision == revision)
            & (a.channel == channel)
        )
        with self._tx() as s:
            number = int(s.scalar(select(func.coalesce(func.max(a.attempt), 0)).where(mine)) or 0)
            number += 1
            s.add(
                a(
                    workspace=self.workspace,
                    anomaly_id=anomaly_id,
                    revision=revision,
                    channel=channel,
                    attempt=number,
                    attempted_at=utc(at),
                    outcome=outcome,
                    detail=detail,
                )
            )
            s.execute(
                update(AlertDeliveryRow)
                .where(self._key(anomaly_id, revision, channel))
                .values(attempts=number, updated_at=self._now())
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
        """Set the status; the payload and the last error are kept unless new ones are given
        (``delivered`` clears the error)."""
        now = self._now()
        with self._tx() as s:
            stmt = upsert_statement(s.get_bind().dialect.name, DELIVERIES).values(
                workspace=self.workspace,
                anomaly_id=anomaly_id,
                revision=revision,
                channel=channel,
                status=status,
                payload=payload,
                attempts=0,
                last_error=error,
                created_at=now,
                updated_at=now,
            )
            new, old = stmt.excluded, DELIVERIES.c
            s.execute(
                stmt.on_conflict_do_update(
                    index_elements=["workspace", "anomaly_id", "revision", "channel"],
                    set_={
                        "status": new.status,
                        "payload": func.coalesce(new.payload, old.payload),
                        "last_error": case(
                            (new.status == "delivered", None),
                            else_=func.coalesce(new.last_error, old.last_error),
                        ),
                        "updated_at": new.updated_at,
                    },
                )
            )

    def status_of(self, anomaly_id: str, revision: int, channel: str) -> str | None:
        """The status, or None when this revision never went to this channel."""
        with self._tx() as s:
            return s.scalar(
                select(AlertDeliveryRow.status).where(self._key(anomaly_id, revision, channel))
            )

    def pending(self) -> Sequence[tuple[str, int, str, str]]:
        """Rows still to deliver (``sending`` from a crashed run, or ``failed``), oldest first."""
        d = AlertDeliveryRow
        query = (
            select(d.anomaly_id, d.revision, d.channel, d.payload)
            .where(d.workspace == self.workspace, d.status.in_(PENDING), d.payload.is_not(None))
            .order_by(d.created_at, d.anomaly_id, d.revision, d.channel)
        )
        with self._tx() as s:
            return [(a, int(r), c, str(p)) for a, r, c, p in s.execute(query)]

    def delivered(self, anomaly_ids: Iterable[str]) -> list[str]:
        """The anomalies among ``anomaly_ids`` whose alert reached at least one channel."""
        wanted = sorted(set(anomaly_ids))
        found: set[str] = set()
        d = AlertDeliveryRow
        with self._tx() as s:
            for i in range(0, len(wanted), 500):  # NOTE: stay far below bind-parameter limits
                found.update(
                    s.scalars(
                        select(d.anomaly_id).where(
                            d.workspace == self.workspace,
                            d.status == "delivered",
                            d.anomaly_id.in_(wanted[i : i + 500]),
                        )
                    )
                )
        return sorted(found)

    def deliveries(self) -> QueryResult:
        """Every delivery row, newest first (``costline channels deliveries``)."""
        d = AlertDeliveryRow
        query = (
            select(*(getattr(d, c) for c in DELIVERY_COLUMNS))
            .where(d.workspace == self.workspace)
            .order_by(d.updated_at.desc(), d.anomaly_id, d.revision, d.channel)
        )
        with self._tx() as s:
            return QueryResult(list(DELIVERY_COLUMNS), [tuple(r) for r in s.execute(query)])

    def attempts(self, anomaly_id: str, revision: int, channel: str) -> QueryResult:
        """The attempt log of one alert revision on one channel, in order."""
        a = AlertDeliveryAttemptRow
        query = (
            select(*(getattr(a, c) for c in ATTEMPT_COLUMNS))
            .where(
                a.workspace == self.workspace,
                a.anomaly_id == anomaly_id,
                a.revision == revision,
                a.channel == channel,
            )
            .order_by(a.attempt)
        )
        with self._tx() as s:
            return QueryResult(list(ATTEMPT_COLUMNS), [tuple(r) for r in s.execute(query)])

    def import_rows(
        self, deliveries: Sequence[dict[str, Any]], attempts: Sequence[dict[str, Any]]
    ) -> tuple[int, int]:
        """Add delivery and attempt rows (columns as the tables, without ``workspace``) that
        this workspace does not hold yet, in one transaction; rows it holds are left as they
        are. Returns how many of each were added. Used to move a warehouse's old outbox."""
        added = [0, 0]
        with self._tx() as s:
            dialect = s.get_bind().dialect.name
            for i, (table, rows) in enumerate(((DELIVERIES, deliveries), (ATTEMPTS, attempts))):
                for row in rows:
                    values = {**row, "workspace": self.workspace}
                    for column in ("created_at", "updated_at", "attempted_at"):
                        if values.get(column) is not None:
                            values[column] = utc(values[column])
                    insert = upsert_statement(dialect, table).values(**values)
                    # NOTE: RETURNING, not rowcount: psycopg reports -1 for ON CONFLICT inserts
                    first = next(iter(table.primary_key.columns))
                    got = s.execute(insert.on_conflict_do_nothing().returning(first)).first()
                    added[i] += got is not None
        return added[0], added[1]
