"""Paged, scoped reads for the API besides costs: chargeback, explain, anomalies,
recommendations, commitments, ingest runs, the ingest file history and data freshness.

Import them from :mod:`costline.reports.queries`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from costline.reports import allocation as alloc_report
from costline.reports._query_base import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
    Scope,
    basis,
    check_choice,
    check_page,
    check_text,
    empty_page,
    paged,
    require_allocation,
    required_month,
    team_where,
)
from costline.reports.marts import allocation_published, table_exists

ANOMALY_STATUSES = ("open", "acked", "dismissed", "expected", "resolved", "all")
ANOMALY_SEVERITIES = ("low", "medium", "high", "critical")
RECOMMENDATION_KINDS = ("rightsizing", "waste", "k8s-requests", "commitment")
ORG_WIDE = "commitments are bought for the whole organization: admin and finance see them"


def chargeback(
    con: Any,
    *,
    period: dt.date | str,
    scope: Scope,
    metric: str = "effective",
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """A month's chargeback per cost center and team: direct, shared, total
    (:func:`costline.reports.allocation.chargeback_sql`), only the scope's teams."""
    month = required_month(period)
    require_allocation(allocation_published(con), "chargeback")
    inner = alloc_report.chargeback_sql(month.isoformat(), basis=basis(metric))
    where, params = team_where("team", scope)
    return paged(
        con,
        f"SELECT * FROM ({inner}) AS c WHERE {where}",
        params,
        order_by="month, cost_center, team, currency",
        limit=limit,
        offset=offset,
        source="allocation_facts",
    )


def explain_cost_center(
    con: Any,
    *,
    period: dt.date | str,
    cost_center: str,
    scope: Scope,
    metric: str = "effective",
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """The waterfall of one cost center's month: direct spend by rule, shares by pool path
    (``steps`` says how each share was computed); a team member sees only its teams' lines."""
    month = required_month(period)
    center = check_text(cost_center, key="cost_center")
    require_allocation(allocation_published(con), "explain")
    inner = alloc_report.explain_cost_center_sql(month.isoformat(), basis=basis(metric))
    where, params = team_where("team", scope)
    page = paged(
        con,
        f"SELECT * FROM ({inner}) AS e WHERE {where}",
        [center, *params],
        order_by="component, amount DESC, team, path",
        limit=limit,
        offset=offset,
        source="allocation_facts",
    )
    at = page.columns.index("details")
    rows = [(*r, alloc_report.describe_steps(r[at])) for r in page.rows]
    return Page([*page.columns, "steps"], rows, page.total, page.limit, page.offset, page.source)


ANOMALY_COLUMNS = (
    "id",
    "status",
    "severity",
    "kind",
    "estimated",
    "monitor",
    "series",
    "team",
    "first_day",
    "last_day",
    "peak_day",
    "currency",
    "expected",
    "actual",
    "impact",
    "impact_pct",
    "root_cause",
)


def anomalies(
    con: Any,
    *,
    scope: Scope,
    status: str = "open",
    severity: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """Anomalies (``status`` one of :data:`ANOMALY_STATUSES`, ``all`` for every one), newest
    first; a team member sees the anomalies whose team is one of its teams."""
    check_choice(status, ANOMALY_STATUSES, key="status")
    check_choice(severity, ANOMALY_SEVERITIES, key="severity")
    if not table_exists(con, "anomalies"):
        return empty_page(ANOMALY_COLUMNS, limit, offset, "no anomaly detection has run yet")
    from costline.anomaly.store import summarize_cause

    where, params = team_where("team", scope)
    for column, value in (("status", None if status == "all" else status), ("severity", severity)):
        if value is not None:
            where += f" AND {column} = ?"
            params.append(value)
    sql = (
        "SELECT id, status, severity, kind, COALESCE(estimated, FALSE) AS estimated, monitor, "
        "dims AS series, team, first_day, last_day, peak_day, currency, expected, actual, "
        f"impact, impact_pct, root_cause FROM anomalies WHERE {where}"
    )
    page = paged(
        con,
        sql,
        params,
        order_by="last_day DESC, abs(impact) DESC, id",
        limit=limit,
        offset=offset,
        source="anomalies",
    )
    rows = []
    for r in page.records():
        dims = json.loads(r["series"]) if r["series"] else {}
        r["series"] = ", ".join(f"{k}={v}" for k, v in dims.items())
        r["root_cause"] = summarize_cause(json.loads(r["root_cause"])) if r["root_cause"] else ""
        rows.append(tuple(r[c] for c in ANOMALY_COLUMNS))
    return Page(list(ANOMALY_COLUMNS), rows, page.total, page.limit, page.offset, page.source)


RECOMMENDATION_COLUMNS = (
    "id, kind, rule, resource_id, team, account, monthly_savings, monthly_cost, status, "
    "ticket_key, reason, realized_savings, first_seen, last_seen, details"
)


def recommendations(
    store: Any,
    *,
    scope: Scope,
    status: str | None = None,
    kind: str | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """Stored recommendations (``costline tickets``), largest monthly savings first; a team
    member sees those whose team is one of its teams. ``store`` is the workspace's
    recommendation store in the state store
    (:meth:`costline.workspace.Workspace.recommendation_store`), which applies the scope in
    its query; ``details`` is JSON text, as the warehouse used to hold it."""
    from costline.optimize.tickets import STATUSES

    check_choice(status, STATUSES, key="status")
    check_choice(kind, RECOMMENDATION_KINDS, key="kind")
    lim, off = check_page(limit, offset)
    names = [c.strip() for c in RECOMMENDATION_COLUMNS.split(",")]
    teams = None if scope.all else scope.teams
    found, total = store.page(teams=teams, status=status, kind=kind, limit=lim, offset=off)
    rows = [
        tuple(
            json.dumps(r.details, sort_keys=True) if c == "details" else getattr(r, c)
            for c in names
        )
        for r in found
    ]
    notes = () if total or store.count() else ("no recommendations are stored yet",)
    return Page(names, rows, total, lim, off, "recommendations", notes)


def commitments(
    con: Any,
    *,
    scope: Scope,
    period: str | None = None,
    as_of: str | None = None,
    inventory: Path | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
) -> Page:
    """Commitment utilization, coverage and expiry (:func:`costline.optimize.commitments.status`)
    for a month (default: the newest); admin and finance only (team scope: empty, with why)."""
    from costline.optimize import commitments as cm

    if not scope.all:
        return empty_page(cm.STATUS_COLUMNS, limit, offset, ORG_WIDE)
    lim, off = check_page(limit, offset)
    try:
        start, end, day = cm.status_window(con, period, as_of)
    except cm.NoEligibleSpendError as exc:
        return empty_page(cm.STATUS_COLUMNS, lim, off, exc.message)
    entries = cm.read_inventory(inventory) if inventory and inventory.is_file() else {}
    cols, rows = cm.status(con, start=start, end=end, as_of=day, inventory=entries)
    return Page(cols, rows[off : off + lim], len(rows), lim, off, "cost")


def ingest_runs(con: Any, *, limit: int = DEFAULT_LIMIT, offset: int = 0) -> Page:
    """Ingestions, newest first (no money in them: every role sees them)."""
    cols = {
        "ingestion_id": "ingestion_id",
        "started_at": "started_at",
        "finished_at": "finished_at",
        "seconds": "date_diff('millisecond', started_at, finished_at) / 1000.0",
        "source_kind": "source_kind",
        "provider": "provider",
        "file_count": "len(files)",
        "files": "files",
        "bytes": "bytes",
        "rows": "rows",
        "replaced_rows": "replaced_rows",
    }
    if not table_exists(con, "_ingestions"):
        return empty_page(list(cols), limit, offset, "nothing has been ingested yet")
    select = ", ".join(f"{expr} AS {name}" for name, expr in cols.items())
    return paged(
        con,
        f"SELECT {select} FROM _ingestions",
        [],
        order_by="finished_at DESC NULLS LAST, ingestion_id",
        limit=limit,
        offset=offset,
        source="_ingestions",
    )


NO_INGEST_HISTORY = "no ingest run has been recorded yet (costline ingest, or the ingest job)"
INGEST_FILE_COLUMNS = (
    "at",
    "run_id",
    "file",
    "status",
    "kind",
    "rows",
    "message",
    "ingestion_id",
    "seconds",
)


def ingest_files(
    history: Any, *, status: str | None = None, limit: int = DEFAULT_LIMIT, offset: int = 0
) -> Page:
    """What every ingest run did with each file, newest run first: loaded, unchanged (already
    ingested), quarantined (the error, its fix and where the copy went), missing, ... (no
    money in it: every role sees it). ``history`` is the workspace's ingest history in the
    state store (:meth:`costline.workspace.Workspace.ingest_history`)."""
    from costline.ingest.pipeline import Status

    check_choice(status, get_args(Status), key="status")
    lim, off = check_page(limit, offset)
    found = history.ingest_files(lim, off, status=status)
    rows = [tuple(getattr(f, c) for c in INGEST_FILE_COLUMNS) for f in found]
    total = history.count(status)
    notes: tuple[str, ...] = ()
    if not total:
        notes = (f"no {status} file has been recorded",) if status else (NO_INGEST_HISTORY,)
    return Page(list(INGEST_FILE_COLUMNS), rows, total, lim, off, "ingest_files", notes)


@dataclass(frozen=True)
class Freshness:
    """How current the data is: per provider and billing account the newest billing period
    and charge start and when it was last loaded; the newest ingestion; the mart's state."""

    accounts: Page
    newest_ingestion: dt.datetime | None
    marts_refreshed_at: dt.datetime | None
    marts_current: bool


def freshness(con: Any, *, stale_ok: bool = False) -> Freshness:
    """Data freshness (no money in it: every role sees it). The newest period and charge per
    account come from ``mart_freshness`` when the marts are usable (``stale_ok``: as for
    :func:`costs`), else from a scan of the cost store."""
    from costline.reports.marts import FRESHNESS, store_state, usable_mart

    state = store_state(con)
    loaded = (
        "(SELECT x_Provider, BillingAccountId, max(loaded_at) AS loaded_at FROM _partitions "
        "GROUP BY ALL)"
        if table_exists(con, "_partitions")
        else "(SELECT NULL AS x_Provider, NULL AS BillingAccountId, NULL AS loaded_at)"
    )
    latest = (
        f"(SELECT provider AS x_Provider, billing_account AS BillingAccountId, newest_period, "
        f"newest_charge FROM {FRESHNESS})"
        if usable_mart(state, stale_ok=stale_ok)
        else "(SELECT x_Provider, BillingAccountId, max(BillingPeriodStart) AS newest_period, "
        "max(ChargePeriodStart) AS newest_charge FROM cost GROUP BY ALL)"
    )
    sql = (
        "SELECT c.x_Provider AS provider, c.BillingAccountId AS billing_account, "
        f"c.newest_period, c.newest_charge, p.loaded_at FROM {latest} c "
        f"LEFT JOIN {loaded} p USING (x_Provider, BillingAccountId)"
    )
    accounts = paged(
        con,
        sql,
        [],
        order_by="provider, billing_account",
        limit=MAX_LIMIT,
        offset=0,
        source="cost",
    )
    newest = None
    if table_exists(con, "_ingestions"):
        newest = con.execute("SELECT max(finished_at) FROM _ingestions").fetchone()[0]
    return Freshness(accounts, newest, state.refreshed_at, state.mart_current)
