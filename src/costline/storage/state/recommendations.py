"""Recommendations, their tickets and adoption records in the state store, for one workspace.

Tables (migration 0003):

* ``recommendations``: one row per resource + recommendation with the latest estimate, since
  when it is recommended, its status (``open``, ``ticketed``, ``actioned``, ``dismissed``,
  ``expired``) and ticket; the lifecycle is :mod:`costline.optimize.tickets`';
* ``adoptions``: one row per recommendation and action day the bill shows
  (:mod:`costline.optimize.adoption`), with the savings measured from the bill.

Money is Decimal in and out (``models.Money``); times are aware UTC (a naive time passed in is
taken to be UTC). Each write method is one transaction; :meth:`RecommendationStore.upsert`
also returns the rows as they are after it, so a sync plans on exactly what it stored, and
:meth:`RecommendationStore.preview_upsert` does the same and rolls back (``--dry-run``).

This module takes and returns plain values and :mod:`.records` (storage does not import
optimize); the façade converts (:meth:`costline.workspace.Workspace.tickets_sync`).

Example:
    >>> import datetime as dt
    >>> from decimal import Decimal
    >>> from costline.storage.state import open_state
    >>> recs = open_state("sqlite://").recommendations("acme")
    >>> now = dt.datetime(2026, 10, 31, 6)
    >>> row = {"id": "rec-1", "kind": "waste", "rule": "gp2-to-gp3", "resource_id": "vol-1",
    ...     "team": None, "account": "111", "monthly_savings": Decimal("30.44"),
    ...     "monthly_cost": None, "details": {}}
    >>> [(r.id, r.status, r.monthly_savings) for r in recs.upsert([row], now)]
    [('rec-1', 'open', Decimal('30.4400000000'))]
    >>> recs.dismiss("rec-1", "kept for DR", now).status
    'dismissed'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, Select, Table, cast, func, select, update
from sqlalchemy.orm import Session

from costline.core.errors import ConfigError, ConflictError
from costline.storage.state.models import (
    RECOMMENDATION_STATUSES,
    AdoptionRow,
    Base,
    RecommendationRow,
)
from costline.storage.state.records import (
    AdoptionRecord,
    Recommendation,
    UnknownRecommendationError,
)
from costline.storage.state.scoped import WorkspaceScoped, upsert_statement, utc
from costline.storage.state.validation import check_choice

ADOPTIONS: Table = Base.metadata.tables["adoptions"]
RECOMMENDATIONS: Table = Base.metadata.tables["recommendations"]
REOPENED_FROM = ("expired", "actioned")  # recommended again: a new life, a new ticket
CHUNK = 500  # NOTE: ids per IN list, far below SQLite's and PostgreSQL's parameter limits


def check_status(status: str) -> str:
    """``status`` if it is a recommendation status, else ConfigError naming the valid ones."""
    return check_choice(status, tuple(RECOMMENDATION_STATUSES), what="status")


def recommendation_record(row: RecommendationRow) -> Recommendation:
    return Recommendation(
        id=row.id,
        kind=row.kind,
        rule=row.rule,
        resource_id=row.resource_id,
        team=row.team,
        account=row.account,
        monthly_savings=row.monthly_savings,
        monthly_cost=row.monthly_cost,
        details=dict(row.details or {}),
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        status=row.status,
        ticket_key=row.ticket_key,
        ticket_savings=row.ticket_savings,
        reason=row.reason,
        realized_savings=row.realized_savings,
        updated_at=row.updated_at,
    )


def adoption_record(row: AdoptionRow) -> AdoptionRecord:
    return AdoptionRecord(
        rec_id=row.rec_id,
        action_date=row.action_date,
        resource_id=row.resource_id,
        kind=row.kind,
        rule=row.rule,
        team=row.team,
        account=row.account,
        action=row.action,
        from_state=row.from_state,
        to_state=row.to_state,
        evidence=row.evidence,
        estimated_monthly=row.estimated_monthly,
        baseline_daily=row.baseline_daily,
        after_daily=row.after_daily,
        after_days=row.after_days,
        realized_monthly=row.realized_monthly,
        ticket_key=row.ticket_key,
        detected_at=row.detected_at,
        measured_at=row.measured_at,
    )


class RecommendationStore(WorkspaceScoped):
    """The recommendations and adoptions of one workspace in the state store."""

    def _mine(self) -> Select[RecommendationRow]:
        return select(RecommendationRow).where(RecommendationRow.workspace == self.workspace)

    @staticmethod
    def _by_savings(s: Session) -> tuple[Any, Any]:
        """Largest monthly savings first, then id. NOTE: on SQLite money is decimal text, so
        it sorts by its REAL value (ordering only; every sum stays Decimal)."""
        column: Any = RecommendationRow.monthly_savings
        if s.get_bind().dialect.name == "sqlite":
            column = cast(column, Float)
        return column.desc(), RecommendationRow.id

    # -- reading ----------------------------------------------------------------------------
    def listing(self, *statuses: str) -> list[Recommendation]:
        """Every recommendation (or those in ``statuses``), largest savings first.

        Raises:
            ConfigError: an unknown status (the hint lists the valid ones).
        """
        query = self._mine()
        if statuses:
            query = query.where(RecommendationRow.status.in_([check_status(s) for s in statuses]))
        with self._tx() as s:
            rows = s.scalars(query.order_by(*self._by_savings(s)))
            return [recommendation_record(r) for r in rows]

    def get(self, rec_id: str) -> Recommendation:
        """The recommendation ``rec_id``.

        Raises:
            UnknownRecommendationError: there is none in this workspace.
        """
        with self._tx() as s:
            return recommendation_record(self._row(s, rec_id))

    def page(
        self,
        *,
        teams: Collection[str] | None,
        status: str | None = None,
        kind: str | None = None,
        limit: int,
        offset: int = 0,
    ) -> tuple[list[Recommendation], int]:
        """One page, largest savings first, and how many match in all. ``teams`` None: every
        team; else only recommendations whose team is one of them (the API's access scope,
        applied in the query)."""
        query = self._mine()
        if teams is not None:
            query = query.where(RecommendationRow.team.in_(sorted(teams)))
        if status is not None:
            query = query.where(RecommendationRow.status == check_status(status))
        if kind is not None:
            query = query.where(RecommendationRow.kind == kind)
        with self._tx() as s:
            total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = s.scalars(query.order_by(*self._by_savings(s)).limit(limit).offset(offset))
            return [recommendation_record(r) for r in rows], int(total)

    def count(self) -> int:
        """How many recommendations this workspace has recorded."""
        with self._tx() as s:
            return int(s.scalar(select(func.count()).select_from(self._mine().subquery())) or 0)

    # -- recording what the optimizers produce ----------------------------------------------
    def upsert(
        self, produced: Sequence[Mapping[str, Any]], now: dt.datetime
    ) -> list[Recommendation]:
        """Record what is recommended now, and return every recommendation as it is after.

        ``produced``: mappings with ``id``, ``kind``, ``rule``, ``resource_id``, ``team``,
        ``account``, ``monthly_savings``, ``monthly_cost`` and ``details``. A new id starts
        ``open``; a known one gets the new estimate, account, details and ``last_seen`` (its
        team only when a new one is known); an ``expired`` or ``actioned`` one is reopened
        (``open``, first seen now, its old ticket, reason and realized savings cleared).
        """
        with self._tx() as s:
            self._upsert(s, produced, utc(now))
            return self._all(s)

    def preview_upsert(
        self, produced: Sequence[Mapping[str, Any]], now: dt.datetime
    ) -> list[Recommendation]:
        """What :meth:`upsert` would return, without recording anything (a dry run)."""
        with self._sessions() as s:
            try:
                self._upsert(s, produced, utc(now))
                return self._all(s)
            finally:
                s.rollback()

    def _all(self, s: Session) -> list[Recommendation]:
        s.flush()
        return [
            recommendation_record(r) for r in s.scalars(self._mine().order_by(*self._by_savings(s)))
        ]

    def _upsert(self, s: Session, produced: Sequence[Mapping[str, Any]], now: dt.datetime) -> None:
        ids = sorted({str(p["id"]) for p in produced})
        known: dict[str, RecommendationRow] = {}
        for i in range(0, len(ids), CHUNK):
            query = self._mine().where(RecommendationRow.id.in_(ids[i : i + CHUNK]))
            known.update((r.id, r) for r in s.scalars(query.with_for_update()))
        for p in produced:
            row = known.get(str(p["id"]))
            if row is None:
                row = RecommendationRow(
                    workspace=self.workspace,
                    id=str(p["id"]),
                    kind=p["kind"],
                    rule=p["rule"],
                    resource_id=p["resource_id"],
                    team=p["team"],
                    first_seen=now,
                    status="open",
                )
                s.add(row)
                known[row.id] = row
            elif row.status in REOPENED_FROM:
                row.status, row.first_seen = "open", now
                row.ticket_key = row.ticket_savings = row.realized_savings = row.reason = None
            row.team = p["team"] if p["team"] is not None else row.team
            row.account = p["account"]
            row.monthly_savings = p["monthly_savings"]
            row.monthly_cost = p["monthly_cost"]
            row.details = dict(p["details"] or {})
            row.last_seen = row.updated_at = now

    # -- ticket outcomes --------------------------------------------------------------------
    def _set(self, rec_id: str, now: dt.datetime, **values: Any) -> None:
        with self._tx() as s:
            s.execute(
                update(RecommendationRow)
                .where(
                    RecommendationRow.workspace == self.workspace, RecommendationRow.id == rec_id
                )
                .values(updated_at=utc(now), **values)
            )

    def mark_ticketed(self, rec_id: str, key: str, savings: Decimal, now: dt.datetime) -> None:
        """A ticket ``key`` was opened showing ``savings`` a month."""
        self._set(rec_id, now, status="ticketed", ticket_key=key, ticket_savings=savings)

    def mark_updated(self, rec_id: str, savings: Decimal, now: dt.datetime) -> None:
        """The ticket now shows ``savings`` a month."""
        self._set(rec_id, now, ticket_savings=savings)

    def mark_expired(self, rec_id: str, reason: str, now: dt.datetime) -> None:
        """No longer recommended (an ``actioned`` one goes through :meth:`record_adoptions`)."""
        self._set(rec_id, now, status="expired", reason=reason, realized_savings=None)

    def dismiss(self, rec_id: str, reason: str, now: dt.datetime) -> Recommendation:
        """Dismiss one recommendation for good (a later sync never tickets it).

        Raises:
            ConfigError: an empty reason.
            UnknownRecommendationError: no such id in this workspace.
        """
        if not reason.strip():
            raise ConfigError("a dismissal needs a reason", hint="pass --reason '...'")
        with self._tx() as s:
            row = self._row(s, rec_id)
            row.status, row.reason, row.updated_at = "dismissed", reason.strip(), utc(now)
            return recommendation_record(row)

    def reopen(self, rec_id: str, now: dt.datetime) -> Recommendation:
        """Undo a dismissal: the recommendation is ``open`` again and the next sync tickets it
        when it is still recommended and saves enough (an expired one reopens by itself).

        Raises:
            UnknownRecommendationError: no such id in this workspace.
            ConflictError: it is not dismissed.
        """
        with self._tx() as s:
            row = self._row(s, rec_id)
            if row.status != "dismissed":
                raise ConflictError(
                    f"recommendation {rec_id[:80]!r} is {row.status}, not dismissed",
                    hint="only a dismissed recommendation can be reopened",
                )
            row.status, row.reason, row.updated_at = "open", None, utc(now)
            return recommendation_record(row)

    def _row(self, s: Session, rec_id: str) -> RecommendationRow:
        row = s.scalar(self._mine().where(RecommendationRow.id == rec_id))
        if row is None:
            raise UnknownRecommendationError(
                f"no recommendation {rec_id[:80]!r}",
                hint="see `costline tickets list` for the ids",
            )
        return row

    # -- adoptions --------------------------------------------------------------------------
    def adoptions(self, *, measured_days_below: int | None = None) -> list[AdoptionRecord]:
        """Every recorded adoption (or those measured over fewer than ``measured_days_below``
        days after their action), by recommendation and action day."""
        query = select(AdoptionRow).where(AdoptionRow.workspace == self.workspace)
        if measured_days_below is not None:
            query = query.where(AdoptionRow.after_days < measured_days_below)
        with self._tx() as s:
            rows = s.scalars(query.order_by(AdoptionRow.rec_id, AdoptionRow.action_date))
            return [adoption_record(r) for r in rows]

    def record_adoptions(self, adoptions: Sequence[Mapping[str, Any]], now: dt.datetime) -> None:
        """Store adoptions (mappings with the columns of ``adoptions``, without the times) and
        mark their recommendations ``actioned`` with the realized savings measured so far; an
        adoption recorded already is measured again. One transaction."""
        stamp = utc(now)
        with self._tx() as s:
            dialect = s.get_bind().dialect.name
            for a in adoptions:
                values = {**a, "workspace": self.workspace, "detected_at": stamp}
                insert = upsert_statement(dialect, ADOPTIONS).values(measured_at=stamp, **values)
                again = ("baseline_daily", "after_daily", "after_days", "realized_monthly")
                s.execute(
                    insert.on_conflict_do_update(
                        index_elements=["workspace", "rec_id", "action_date"],
                        set_={
                            **{c: insert.excluded[c] for c in again},
                            "measured_at": insert.excluded.measured_at,
                        },
                    )
                )
                s.execute(
                    update(RecommendationRow)
                    .where(
                        RecommendationRow.workspace == self.workspace,
                        RecommendationRow.id == a["rec_id"],
                    )
                    .values(
                        status="actioned",
                        reason=f"{a['action']}: {a['evidence']}",
                        realized_savings=a["realized_monthly"],
                        updated_at=stamp,
                    )
                )

    def update_measures(self, measures: Sequence[Mapping[str, Any]], now: dt.datetime) -> int:
        """Store new measurements of recorded adoptions (``rec_id``, ``action_date``,
        ``baseline_daily``, ``after_daily``, ``after_days``, ``realized_monthly``) and the
        realized savings on their still ``actioned`` recommendations; returns how many."""
        stamp = utc(now)
        with self._tx() as s:
            for m in measures:
                s.execute(
                    update(AdoptionRow)
                    .where(
                        AdoptionRow.workspace == self.workspace,
                        AdoptionRow.rec_id == m["rec_id"],
                        AdoptionRow.action_date == m["action_date"],
                    )
                    .values(
                        baseline_daily=m["baseline_daily"],
                        after_daily=m["after_daily"],
                        after_days=m["after_days"],
                        realized_monthly=m["realized_monthly"],
                        measured_at=stamp,
                    )
                )
                s.execute(
                    update(RecommendationRow)
                    .where(
                        RecommendationRow.workspace == self.workspace,
                        RecommendationRow.id == m["rec_id"],
                        RecommendationRow.status == "actioned",
                    )
                    .values(realized_savings=m["realized_monthly"])
                )
        return len(measures)

    # -- moving an older warehouse's rows in ------------------------------------------------
    def import_rows(
        self, recommendations: Sequence[dict[str, Any]], adoptions: Sequence[dict[str, Any]]
    ) -> tuple[int, int]:
        """Add recommendation and adoption rows (columns as the tables, without
        ``workspace``; naive times are UTC) this workspace does not hold yet, in one
        transaction; rows it holds are left as they are. Returns how many of each were
        added."""
        added = [0, 0]
        with self._tx() as s:
            dialect = s.get_bind().dialect.name
            for i, (table, rows) in enumerate(
                ((RECOMMENDATIONS, recommendations), (ADOPTIONS, adoptions))
            ):
                first = next(iter(table.primary_key.columns))
                for row in rows:
                    values = {**row, "workspace": self.workspace}
                    for column in table.columns:
                        value = values.get(column.name)
                        if isinstance(value, dt.datetime):
                            values[column.name] = utc(value)
                    insert = upsert_statement(dialect, table).values(**values)
                    # NOTE: RETURNING, not rowcount: psycopg reports -1 for ON CONFLICT inserts
                    got = s.execute(insert.on_conflict_do_nothing().returning(first)).first()
                    added[i] += got is not None
        return added[0], added[1]
