"""Marts: small pre-aggregated tables the dashboard and the API read instead of the cost store.

``mart_daily`` has one row per charge day and combination of the dashboard's dimensions
(provider, billing account, account, service, service category, region, charge category,
currency and, when an allocation is published, team, cost center, department and business
unit) with the sums of billed, effective, list and contracted cost and the number of rows
behind them. A month of millions of charges becomes a few thousand rows, so a dashboard
query reads a few thousand rows, not millions.

:func:`refresh_marts` rebuilds it in one transaction (``CREATE OR REPLACE TABLE ... AS``): a
reader sees the old mart or the new one, never half of one. With an allocation published
the mart reads ``allocated_cost`` (a split charge contributes one row per recipient team),
else ``cost`` (the team columns are NULL).

``mart_freshness`` has per provider and billing account the newest billing period and
charge start (the freshness page reads it instead of scanning the cost store).

``mart_state`` records a *signature* of the data the mart was built from: the ingestions
and the published allocation runs. A load or an allocation after the refresh changes the
signature; :func:`mart_current` then says no, and the queries read the base tables (right,
slower) until the next refresh. So a stale mart never answers a CLI query.

``costline serve`` is the exception (:func:`usable_mart` with ``stale_ok``): it refreshes
the marts right after every job that changes the data, so while a load or its refresh runs the
dashboard keeps answering from the marts as of their last refresh, and every such answer says
so (``stale`` and the refresh time), instead of sending every query to the base tables at
once while the data is being written.

Example:
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE cost AS SELECT TIMESTAMP '2024-09-03' AS "
    ...     "ChargePeriodStart, TIMESTAMP '2024-09-01' AS BillingPeriodStart, "
    ...     "'aws' AS x_Provider, '1' AS BillingAccountId, '2' AS SubAccountId, "
    ...     " 'EC2' AS ServiceName, 'Compute' AS ServiceCategory, "
    ...     "'us-east-1' AS RegionId, 'Usage' AS ChargeCategory, 'USD' AS BillingCurrency, "
    ...     "1.5::DECIMAL(38, 10) AS BilledCost, 1.5::DECIMAL(38, 10) AS EffectiveCost, "
    ...     "2::DECIMAL(38, 10) AS ListCost, 1.5::DECIMAL(38, 10) AS ContractedCost")
    >>> refresh_marts(con).rows, mart_current(con)
    (1, True)
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from costline.core.time import utcnow

MART = "mart_daily"
STATE = "mart_state"
FRESHNESS = "mart_freshness"
SOURCES = "mart_sources"

# (mart column = API dimension name, SQL over ``cost`` or ``allocated_cost``)
BASE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("day", "CAST(ChargePeriodStart AS DATE)"),
    ("provider", "x_Provider"),
    ("billing_account", "BillingAccountId"),
    ("account", "SubAccountId"),
    ("service", "ServiceName"),
    ("service_category", "ServiceCategory"),
    ("region", "RegionId"),
    ("charge_category", "ChargeCategory"),
    ("currency", "BillingCurrency"),
)
ALLOCATION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("team", "x_Team"),
    ("cost_center", "x_CostCenter"),
    ("department", "x_Department"),
    ("business_unit", "x_BusinessUnit"),
)
# (mart column, FOCUS amount column): the metrics a query may ask for.
MEASURES: tuple[tuple[str, str], ...] = (
    ("billed_cost", "BilledCost"),
    ("effective_cost", "EffectiveCost"),
    ("list_cost", "ListCost"),
    ("contracted_cost", "ContractedCost"),
)
MART_COLUMNS = frozenset(n for n, _ in (*BASE_COLUMNS, *ALLOCATION_COLUMNS, *MEASURES))


@dataclass(frozen=True)
class MartReport:
    """What a refresh built: rows of ``mart_daily``, whether it carries the allocation, and
    whether it was rebuilt whole (``full``) or only ``partitions`` (``incremental``)."""

    rows: int
    allocated: bool
    seconds: float
    mode: str = "full"
    partitions: int | None = None


_KNOWN = (
    MART,
    STATE,
    FRESHNESS,
    SOURCES,
    "_ingestions",
    "_partition_history",
    "_allocation_runs",
    "allocation_groups",
    "allocated_cost",
)


@dataclass(frozen=True)
class StoreState:
    """What a query needs to know first: is an allocation published, is the mart current
    (and, for ``costline serve``, whether a stale mart of the same kind exists and when it was
    refreshed)."""

    published: bool
    mart_current: bool
    mart_exists: bool = False
    mart_allocated: bool = False
    refreshed_at: dt.datetime | None = None


def usable_mart(state: StoreState, *, stale_ok: bool = False) -> bool:
    """Whether queries may read the marts: current, or (``stale_ok``: the server refreshes
    them after every change) built and carrying the allocation exactly when one is published.

    Example:
        >>> usable_mart(StoreState(True, False, True, True), stale_ok=True)
        True
        >>> usable_mart(StoreState(True, False, True, False), stale_ok=True)  # no teams in it
        False
    """
    if state.mart_current:
        return True
    return stale_ok and state.mart_exists and state.mart_allocated == state.published


def table_exists(con: Any, name: str) -> bool:
    """Whether a table or view of that name exists in the main schema."""
    return name in _tables(con, (name,))


def _tables(con: Any, names: tuple[str, ...] = _KNOWN) -> set[str]:
    marks = ", ".join("?" for _ in names)
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        f"AND table_name IN ({marks})",
        list(names),
    ).fetchall()
    return {r[0] for r in rows}


def _signature_sql(have: set[str]) -> str:
    """One row of what the mart depends on: the ingestions and the published allocation
    runs (count and newest; every publish records a run, ``allocation_groups`` is large)."""
    items = []
    if "_ingestions" in have:
        items += [
            "(SELECT count(*) FROM _ingestions)",
            "(SELECT max(finished_at) FROM _ingestions)",
        ]
    if "_allocation_runs" in have:
        runs = "FROM _allocation_runs WHERE published"
        items += [f"(SELECT count(*) {runs})", f"(SELECT max(finished_at) {runs})"]
        items.append(f"(SELECT max(run_id) {runs})")
    return ", ".join(items) or "NULL"


def _published(con: Any, have: set[str]) -> bool:
    if not {"allocation_groups", "allocated_cost"} <= have:
        return False
    row = con.execute("SELECT EXISTS (SELECT 1 FROM allocation_groups)").fetchone()
    return bool(row and row[0])


def store_state(con: Any) -> StoreState:
    """Whether an allocation is published and the mart current, in three small queries."""
    have = _tables(con)
    if not {MART, STATE, FRESHNESS} <= have:
        return StoreState(_published(con, have), False)
    row = con.execute(
        f"SELECT signature, allocated, refreshed_at, {_signature_sql(have)} FROM {STATE}"
    ).fetchone()
    if not row:
        return StoreState(_published(con, have), False)
    current = row[0] == repr(tuple(row[3:]))
    return StoreState(_published(con, have), current, True, bool(row[1]), row[2])


def allocation_published(con: Any) -> bool:
    """Whether an allocation is published: stored groups and the ``allocated_cost`` view."""
    return _published(con, _tables(con))


def data_signature(con: Any, have: set[str] | None = None) -> str:
    """What the mart is built from, as text (stored in ``mart_state``); ``have``: the known
    tables when the caller has read them already."""
    row = con.execute(f"SELECT {_signature_sql(_tables(con) if have is None else have)}").fetchone()
    return repr(tuple(row))


def mart_current(con: Any) -> bool:
    """Whether ``mart_daily`` exists and was built from the data as it is now."""
    return store_state(con).mart_current


# the partition a mart row belongs to (not an API dimension): what an incremental refresh
# deletes and rebuilds
KEY_COLUMNS: tuple[tuple[str, str], ...] = (("billing_period", "CAST(BillingPeriodStart AS DATE)"),)
MAX_INCREMENTAL_KEYS = 500  # more changed partitions than this: one full rebuild is simpler


def mart_sql(*, allocated: bool, where: str = "TRUE") -> str:
    """The SELECT that builds ``mart_daily`` rows (constant text and ``where``, our own SQL
    with ``?`` placeholders: no user input reaches it)."""
    team_cols = (
        [f"{expr} AS {name}" for name, expr in ALLOCATION_COLUMNS]
        if allocated
        else [f"CAST(NULL AS VARCHAR) AS {name}" for name, _ in ALLOCATION_COLUMNS]
    )
    dims = [f"{expr} AS {name}" for name, expr in (*BASE_COLUMNS, *KEY_COLUMNS)] + team_cols
    sums = [f"sum({col}) AS {name}" for name, col in MEASURES]
    source = "allocated_cost" if allocated else "cost"
    return (
        f"SELECT {', '.join(dims)}, {', '.join(sums)}, count(*) AS charges "
        f"FROM {source} WHERE {where} GROUP BY ALL ORDER BY day"
    )


FRESHNESS_SQL = (
    "SELECT x_Provider AS provider, BillingAccountId AS billing_account, "
    "max(BillingPeriodStart) AS newest_period, max(ChargePeriodStart) AS newest_charge "
    "FROM cost GROUP BY ALL"
)


def _sources_sql(have: set[str]) -> str:
    """What the mart is built from: every ingestion and published allocation run (by id)."""
    parts = ["SELECT CAST(NULL AS VARCHAR) AS kind, CAST(NULL AS VARCHAR) AS id WHERE FALSE"]
    if "_ingestions" in have:
        parts.append("SELECT 'ingestion', ingestion_id FROM _ingestions")
    if "_allocation_runs" in have:
        parts.append("SELECT 'run', run_id FROM _allocation_runs WHERE published")
    return " UNION ALL ".join(parts)


Key = tuple[Any, Any, Any]  # provider, billing account, billing period (a DATE)


def _changed_keys(con: Any, have: set[str], allocated: bool) -> list[Key] | None:
    """The partitions whose mart rows are out of date: those of the ingestions and the
    published allocation runs the mart was not built from. None: rebuild it all (no mart
    yet or of another kind, something it was built from is gone, or too many changed)."""
    if not {MART, STATE, SOURCES, "_ingestions", "_partition_history"} <= have:
        return None
    row = con.execute(f"SELECT allocated FROM {STATE}").fetchone()
    columns = {r[0] for r in con.execute(f"DESCRIBE {MART}").fetchall()}
    if not row or bool(row[0]) != allocated or "billing_period" not in columns:
        return None
    built = _sources_sql(have)
    gone = con.execute(
        f"SELECT count(*) FROM {SOURCES} s WHERE NOT EXISTS (SELECT 1 FROM ({built}) n "
        "WHERE n.kind = s.kind AND n.id = s.id)"
    ).fetchone()
    if gone and gone[0]:
        return None
    new = (
        f"SELECT n.kind, n.id FROM ({built}) n WHERE NOT EXISTS "
        f"(SELECT 1 FROM {SOURCES} s WHERE s.kind = n.kind AND s.id = n.id)"
    )
    month = (
        "CAST(BillingPeriodStart AS DATE) >= r.period AND "
        "CAST(BillingPeriodStart AS DATE) < r.period + INTERVAL 1 MONTH"
    )
    runs = (
        "SELECT a.period FROM _allocation_runs a JOIN new ON new.kind = 'run' AND new.id = a.run_id"
        if "_allocation_runs" in have
        else "SELECT CAST(NULL AS DATE) AS period WHERE FALSE"
    )
    keys = con.execute(
        f"""WITH new AS ({new}),
        runs AS ({runs})
        SELECT DISTINCT x_Provider, BillingAccountId, CAST(BillingPeriodStart AS DATE)
        FROM _partition_history h JOIN new ON new.kind = 'ingestion' AND new.id = h.ingestion_id
        UNION
        SELECT DISTINCT x_Provider, BillingAccountId, CAST(BillingPeriodStart AS DATE)
        FROM cost JOIN runs r ON {month}
        UNION
        SELECT DISTINCT provider, billing_account, billing_period FROM {MART} JOIN runs r
        ON billing_period >= r.period AND billing_period < r.period + INTERVAL 1 MONTH
        LIMIT {MAX_INCREMENTAL_KEYS + 1}"""
    ).fetchall()
    if len(keys) > MAX_INCREMENTAL_KEYS:
        return None
    return [(k[0], k[1], k[2]) for k in keys]


def _keys_where(keys: list[Key], columns: tuple[str, str, str]) -> tuple[str, list[Any]]:
    """``columns`` (provider, account, period expressions) in ``keys``, with parameters."""
    one = " AND ".join(f"{c} IS NOT DISTINCT FROM ?" for c in columns)
    return " OR ".join(f"({one})" for _ in keys), [v for k in keys for v in k]


def refresh_marts(con: Any, *, full: bool = False) -> MartReport:
    """Bring ``mart_daily``, ``mart_freshness`` and ``mart_state`` up to date in one
    transaction: a reader sees the old marts or the new ones, never half of either.

    Incremental unless ``full``: only the partitions (provider, billing account, billing
    period) that loads or published allocation runs changed since the last refresh are deleted
    and rebuilt, so a refresh after a load costs about that load's rows, not the store's. The
    first refresh, a change of kind (the first allocation published) or anything the marts
    were built from being gone rebuilds them whole. Call it after every load and every
    allocation publish; until then CLI queries read the base tables (see :func:`mart_current`).
    """
    started = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    try:
        have = _tables(con)
        allocated = _published(con, have)
        signature = data_signature(con, have)  # inside the transaction: the snapshot the mart reads
        keys = None if full else _changed_keys(con, have, allocated)
        if keys is None:
            con.execute(f"CREATE OR REPLACE TABLE {MART} AS {mart_sql(allocated=allocated)}")
        elif keys:
            mart_where, params = _keys_where(
                keys, ("provider", "billing_account", "billing_period")
            )
            con.execute(f"DELETE FROM {MART} WHERE {mart_where}", params)
            src = ("x_Provider", "BillingAccountId", "CAST(BillingPeriodStart AS DATE)")
            where, params = _keys_where(keys, src)
            con.execute(f"INSERT INTO {MART} {mart_sql(allocated=allocated, where=where)}", params)
        con.execute(f"CREATE OR REPLACE TABLE {FRESHNESS} AS {FRESHNESS_SQL}")
        con.execute(f"CREATE OR REPLACE TABLE {SOURCES} AS {_sources_sql(have)}")
        con.execute(
            f"CREATE OR REPLACE TABLE {STATE} (signature VARCHAR, refreshed_at TIMESTAMP, "
            "allocated BOOLEAN, rows BIGINT, mode VARCHAR, partitions BIGINT)"
        )
        found = con.execute(f"SELECT count(*) FROM {MART}").fetchone()
        rows = int(found[0]) if found else 0
        mode = "full" if keys is None else "incremental"
        con.execute(
            f"INSERT INTO {STATE} VALUES (?, ?, ?, ?, ?, ?)",
            [signature, utcnow(), allocated, rows, mode, None if keys is None else len(keys)],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    took = time.perf_counter() - started
    return MartReport(rows, allocated, took, mode, None if keys is None else len(keys))


__all__ = [
    "FRESHNESS",
    "MART",
    "MART_COLUMNS",
    "MEASURES",
    "MartReport",
    "StoreState",
    "allocation_published",
    "mart_current",
    "refresh_marts",
    "store_state",
    "table_exists",
    "usable_mart",
]
