"""Run a compiled allocation on a DuckDB connection: atomically, checked, and reported.

A published run replaces the period's rows of ``allocated_cost`` in one transaction, after
proving that the allocated amounts add up to the source cost per billing period, provider and
currency in every split column. A what-if run (``publish=False``) writes to a temp table and
leaves the published allocation alone.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from costline.allocation.gpu_jobs import ensure_gpu_tables
from costline.allocation.k8s_inputs import ensure_k8s_tables
from costline.allocation.plan import (
    COST_COLUMNS,
    METRICS_DDL,
    RUNS_DDL,
    SPLIT_COLUMNS,
    period_filter,
)
from costline.allocation.publish import (
    GROUPS_DDL,
    PARTS_DDL,
    RUN_COLUMNS,
    TEAMS_DDL,
    GroupPlan,
    build_group_plan,
    refresh_views,
    store_sql,
)
from costline.allocation.sql import Context, condition_sql, ident, lit
from costline.config.allocation import OwnersRegistry
from costline.config.rules_loader import LoadedRules, check_rules
from costline.core.errors import ConfigError, CostlineError, TerminalError
from costline.schema.charge_ids import assign_charge_ids, ensure_charge_ids


class AllocationError(TerminalError):
    """An allocation run could not complete (no data, or an invariant failed)."""


@dataclass
class AllocationReport:
    """What a run did: ids, row counts, coverage per rule, and every unallocated dollar."""

    run_id: str
    period: dt.date
    rules_version: str
    published: bool
    rows_in: int = 0
    rows_out: int = 0
    totals: list[dict[str, Any]] = field(default_factory=list)
    coverage: list[dict[str, Any]] = field(default_factory=list)
    unallocated_pools: list[dict[str, Any]] = field(default_factory=list)
    unknown_teams: list[dict[str, Any]] = field(default_factory=list)
    missing_tags: list[str] = field(default_factory=list)
    cost_centers: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> str:
        return json.dumps(
            {
                "run_id": self.run_id,
                "period": self.period.isoformat(),
                "rules_version": self.rules_version,
                "rows_in": self.rows_in,
                "rows_out": self.rows_out,
                "coverage": self.coverage,
                "unallocated_pools": self.unallocated_pools,
                "unknown_teams": self.unknown_teams,
                "missing_tags": self.missing_tags,
            },
            default=str,
        )


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Allocation's tables and views (``allocated_cost``, ``allocation_facts``)."""
    ensure_charge_ids(con)
    for old_view in ("allocated_cost", "allocation_facts"):
        kind = con.execute(
            "SELECT table_type FROM information_schema.tables WHERE table_name = ? "
            "AND table_schema = 'main'",
            [old_view],
        ).fetchone()
        if kind and kind[0] == "BASE TABLE":  # the first release stored copies; now views
            con.execute(f"DROP TABLE {old_view}")
    con.execute(RUNS_DDL)
    for name, sql_type in RUN_COLUMNS:
        con.execute(f"ALTER TABLE _allocation_runs ADD COLUMN IF NOT EXISTS {name} {sql_type}")
    con.execute(METRICS_DDL)
    migrated = _migrate_per_charge_store(con)
    con.execute(GROUPS_DDL)
    con.execute(PARTS_DDL)
    con.execute(TEAMS_DDL)
    ensure_k8s_tables(con)
    ensure_gpu_tables(con)  # -- GPU jobs (allocation/gpu_jobs.py)
    views = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND "
        "table_name IN ('allocated_charges', 'allocated_cost', 'allocation_facts')"
    ).fetchone()
    if migrated or not views or views[0] < 3:  # a publish refreshes them (publish.py)
        refresh_views(con)


def _migrate_per_charge_store(con: duckdb.DuckDBPyConnection) -> bool:
    """Drop the per-charge tables of earlier releases (derived data: allocate the periods
    again; ``costline allocations`` still lists the old runs)."""
    tables = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }
    parts_cols = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
            "AND table_name = 'allocation_parts'"
        ).fetchall()
    }
    stale = "allocation_rows" in tables or (parts_cols and "x_GroupId" not in parts_cols)
    if not stale:
        return False
    con.execute("DROP VIEW IF EXISTS allocation_facts")
    con.execute("DROP VIEW IF EXISTS allocated_cost")
    con.execute("DROP VIEW IF EXISTS allocated_charges")
    con.execute("DROP TABLE IF EXISTS allocation_rows")
    con.execute("DROP TABLE IF EXISTS allocation_parts")
    con.execute("DROP TABLE IF EXISTS allocation_groups")
    con.execute("DROP TABLE IF EXISTS _allocation_state")
    return True


def parse_period(text: str) -> dt.date:
    """``2026-10`` (or ``2026-10-01``) → the first day of that month."""
    try:
        d = dt.date.fromisoformat(text + "-01" if len(text) == 7 else text)
    except ValueError as exc:
        raise ConfigError(f"period {text!r} is not a month", hint="write it as YYYY-MM") from exc
    return d.replace(day=1)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]


def allocate(
    con: duckdb.DuckDBPyConnection,
    loaded: LoadedRules,
    owners: OwnersRegistry,
    period: dt.date,
    *,
    publish: bool = True,
    basis: str = "EffectiveCost",
) -> AllocationReport:
    """Allocate one billing period with a checked rule set.

    Raises:
        ConfigError: the rules do not fit the data (unknown column, overlapping pools, ...).
        AllocationError: no cost in the period, or allocated ≠ source (nothing is written).
    """
    ensure_tables(con)
    check_rules(loaded, owners, _columns(con, "cost"))
    where = period_filter(period)
    rows_in = con.execute(f"SELECT count(*) FROM cost WHERE {where}").fetchone()[0]  # type: ignore[index]
    if not rows_in:
        have = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT strftime(BillingPeriodStart, '%Y-%m') FROM cost ORDER BY 1"
            ).fetchall()
        ]
        raise AllocationError(
            f"no cost rows with a billing period starting in {period:%Y-%m}",
            hint=f"periods in the store: {', '.join(have)}" if have else "ingest a bill first",
        )
    raw_keys = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT k FROM (SELECT unnest(map_keys(Tags)) AS k FROM cost WHERE {where}) "
            "WHERE k IS NOT NULL ORDER BY k"
        ).fetchall()
    ]
    stamp = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run_id = f"{period:%Y%m}-{stamp:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    report = AllocationReport(run_id, period, loaded.version, publish, rows_in=rows_in)
    report.missing_tags = _missing_tags(loaded, raw_keys)
    con.execute("BEGIN TRANSACTION")
    try:
        plan = _run(con, loaded, owners, period, raw_keys, report, basis)
        if publish:
            _store(con, loaded, plan, period, report, stamp)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return report


def _drop_temp(con: duckdb.DuckDBPyConnection, name: str) -> None:
    found = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_catalog = 'temp' "
        "AND table_name = ?",
        [name],
    ).fetchone()
    if found:
        con.execute(f"DROP {'VIEW' if found[0] == 'VIEW' else 'TABLE'} temp.main.{name}")


def _missing_tags(loaded: LoadedRules, raw_keys: list[str]) -> list[str]:
    """Tags the rules read that no row of the period carries under any spelling or alias
    (and no inheritance supplies): usually a typo in the rules, worth a warning."""
    from costline.allocation.plan import _conditions
    from costline.allocation.sql import fold, referenced_tags

    rules = loaded.rules
    conds, vfs = _conditions(rules)
    present = {fold(k) for k in raw_keys}
    inherited = {k for inh in rules.tags.inherit for tags in inh.values.values() for k in tags}
    aliases = {k.key: [k.key, *k.aliases] for k in rules.tags.keys}
    return [
        name
        for name in referenced_tags(conds, vfs)
        if name not in inherited and not any(fold(a) in present for a in aliases.get(name, [name]))
    ]


def _run(
    con: duckdb.DuckDBPyConnection,
    loaded: LoadedRules,
    owners: OwnersRegistry,
    period: dt.date,
    raw_keys: list[str],
    report: AllocationReport,
    basis: str,
) -> GroupPlan:
    """Group the period's charges, evaluate the rules on the groups, split the pools, check
    and describe (temp tables only: ``_a_groups``, ``_a_rows``, ``_a_parts_*``)."""
    where = period_filter(period)
    # rows of a store of an earlier release that have no id yet (new rows get one on ingest)
    assign_charge_ids(con, where)
    plan = build_group_plan(loaded.rules, owners, period=period, raw_tag_keys=raw_keys)
    _drop_temp(con, "_a_rows")
    con.execute(plan.teams_sql)
    con.execute(plan.groups_sql)
    con.execute(plan.rows_sql)
    row = con.execute(
        "SELECT SUM(x_Charges), count(*) FROM _a_rows WHERE _pool_hits > 1"
    ).fetchone()
    if row and row[1]:
        example = con.execute(
            f"SELECT min(x_ChargeId) FROM ({plan.charges_sql}) k "
            "WHERE _key IN (SELECT x_Key FROM _a_rows WHERE _pool_hits > 1)"
        ).fetchone()
        _overlap_error(
            con,
            loaded,
            (row[0], example[0] if example else None),
            source=f"cost WHERE {where} AND x_ChargeId = ?",
        )
    con.execute(plan.parts_sql)
    for step in plan.steps:
        con.execute(step.ratio_sql)
        con.execute(step.parts_sql)
    _check(con, report, plan)
    _describe(con, report, plan, basis=basis)
    return plan


def _store(
    con: duckdb.DuckDBPyConnection,
    loaded: LoadedRules,
    plan: GroupPlan,
    period: dt.date,
    report: AllocationReport,
    stamp: dt.datetime,
) -> None:
    """Replace the period's published groups and parts, record the run, refresh the views."""
    where = period_filter(period)
    con.execute("INSERT INTO allocation_teams SELECT ?, * FROM _a_teams", [report.run_id])
    con.execute(f"DELETE FROM allocation_groups WHERE {where}")
    con.execute(f"DELETE FROM allocation_parts WHERE {where}")
    groups_sql, parts_sql = store_sql(plan, report.run_id)
    con.execute(groups_sql)
    con.execute(parts_sql)
    top = con.execute("SELECT max(x_ChargeId) FROM cost").fetchone()
    depth = con.execute(f"SELECT max(len(_los)) FROM {plan.parts_table}").fetchone()
    con.execute(
        "INSERT INTO _allocation_runs (run_id, period, rules_version, rules_files, started_at, "
        "finished_at, rows_in, rows_out, published, report, key_sql, max_charge_id, depth) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            report.run_id,
            period,
            loaded.version,
            json.dumps([str(f) for f in loaded.files]),
            stamp,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
            report.rows_in,
            report.rows_out,
            True,
            report.as_json(),
            plan.charges_sql,
            int((top or [0])[0] or 0),
            int((depth or [0])[0] or 0),
        ],
    )
    refresh_views(con)


def _check(con: duckdb.DuckDBPyConnection, report: AllocationReport, plan: GroupPlan) -> None:
    """Every charge of the period in one group; every pool group's parts sum to it exactly.

    A group's amounts are sums of its charges, and each charge is split by its group's ratios
    with telescoping rounding, so parts that add up to their group in every amount and
    quantity column, and groups that hold every charge once, prove Σ allocated = Σ source.
    """
    row = con.execute("SELECT SUM(x_Charges) FROM _a_rows").fetchone()
    charges = int((row or [0])[0] or 0)
    cmp = " OR ".join(f"p.{ident(c)} IS DISTINCT FROM g.{ident(c)}" for c in SPLIT_COLUMNS)
    sums = ", ".join(f"SUM({ident(c)}) AS {ident(c)}" for c in SPLIT_COLUMNS)
    bad = con.execute(
        f"SELECT count(*) FROM (SELECT x_ChargeId, {sums} FROM {plan.parts_table} GROUP BY 1) p "
        "FULL JOIN (SELECT * FROM _a_rows WHERE _pool IS NOT NULL) g "
        f"ON g.x_ChargeId = p.x_ChargeId WHERE {cmp}"
    ).fetchone()
    if charges != report.rows_in or (bad and bad[0]):
        raise AllocationError(
            "allocated cost does not add up to the source cost "
            f"({report.rows_in} charges, {charges} grouped, {bad[0] if bad else 0} pool "
            "groups whose parts differ); nothing was written",
            hint="this is a bug in costline: please report it with the rules file",
        )
    out = con.execute(
        "SELECT (SELECT COALESCE(SUM(x_Charges), 0) FROM _a_rows WHERE _pool IS NULL) + "
        f"(SELECT COALESCE(SUM(x_Charges), 0) FROM {plan.parts_table})"
    ).fetchone()
    report.rows_out = int((out or [0])[0] or 0)
    keys = "x_Provider, BillingCurrency, BillingPeriodStart"
    rows = con.execute(
        f"SELECT {keys}, SUM(x_Charges), "
        + ", ".join(f"SUM({ident(c)})" for c in COST_COLUMNS)
        + " FROM _a_rows GROUP BY ALL ORDER BY 1, 2, 3"
    ).fetchall()
    names = ["provider", "currency", "billing_period_start", "charges", *COST_COLUMNS]
    report.totals = [dict(zip(names, r, strict=True)) for r in rows]


def _describe(
    con: duckdb.DuckDBPyConnection, report: AllocationReport, plan: GroupPlan, *, basis: str
) -> None:
    """Coverage per rule, unknown team values, unallocated pools and cost centers."""
    b = ident(basis)
    parts = plan.parts_table
    owners = (
        f"SELECT _owner AS team, BillingCurrency AS cur, SUM({b}) AS amount FROM _a_rows "
        "WHERE _pool IS NULL GROUP BY ALL UNION ALL "
        f"SELECT p._owner, r.BillingCurrency, SUM(p.{b}) FROM {parts} p "
        "JOIN _a_rows r ON r.x_ChargeId = p.x_ChargeId GROUP BY ALL"
    )
    report.cost_centers = [
        {"cost_center": r[0], "currency": r[1], "amount": r[2]}
        for r in con.execute(
            f"SELECT COALESCE(t.cost_center, o.team), o.cur, SUM(o.amount) FROM ({owners}) o "
            "LEFT JOIN _a_teams t ON t.team = o.team GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    ]
    report.unallocated_pools = [
        {"owner": r[0], "charges": r[1], "cost": r[2]}
        for r in con.execute(
            f"SELECT _owner, SUM(n), SUM(amount) FROM (SELECT _owner, x_ChargeId, "
            f"any_value(x_Charges) AS n, SUM({b}) AS amount FROM {parts} "
            "WHERE _owner LIKE 'unallocated:%' GROUP BY 1, 2) GROUP BY 1 ORDER BY 1"
        ).fetchall()
    ]
    total = con.execute(f"SELECT SUM({b}) FROM _a_rows").fetchone()[0] or Decimal(0)  # type: ignore[index]

    def share(x: Decimal | None) -> float:
        return float(x / total) if total and x is not None else 0.0

    report.coverage = [
        {"rule": r[0], "charges": r[1], "cost": r[2], "share": share(r[2])}
        for r in con.execute(
            f"SELECT _rule, SUM(x_Charges), SUM({b}) FROM _a_rows GROUP BY 1 "
            "ORDER BY 3 DESC NULLS LAST, 1"
        ).fetchall()
    ]
    owner_value = plan.vtag_columns.get(plan.owner_vtag)
    if owner_value:
        report.unknown_teams = [
            {"value": r[0], "charges": r[1], "cost": r[2]}
            for r in con.execute(
                f"SELECT {owner_value}, SUM(x_Charges), SUM({b}) FROM _a_rows "
                "WHERE _rule = 'unknown-team' GROUP BY 1 ORDER BY 3 DESC NULLS LAST, 1 LIMIT 20"
            ).fetchall()
        ]


def _overlap_error(
    con: duckdb.DuckDBPyConnection, loaded: LoadedRules, row: Any, *, source: str
) -> None:
    """Name the pools whose ``select`` both take an example row, and stop."""
    ctx = _context_for(loaded)
    hits = []
    for p in loaded.rules.pools:
        try:
            took = con.execute(
                f"SELECT {condition_sql(p.select, ctx)} FROM {source}", [row[1]]
            ).fetchone()
        except duckdb.Error:  # a condition on tags: evaluated by the pool's own index below
            took = None
        if took and took[0]:
            hits.append(p.id)
    if len(hits) < 2:
        hits = [p.id for p in loaded.rules.pools]
    path, line = loaded.locate(f"pool:{hits[-1]}")
    raise ConfigError(
        f"pools {' and '.join(repr(h) for h in hits)} both select the same rows "
        f"({row[0]} rows, e.g. charge {row[1]})",
        path=path,
        line=line,
        hint="narrow one pool's `select` (e.g. add a `not:` condition) so a row joins one pool",
    )


def _context_for(loaded: LoadedRules) -> Context:
    """Pool conditions over raw cost columns (tags read with their canonical key only)."""
    rules = loaded.rules
    tags: dict[str, str] = {}
    for cond in [p.select for p in rules.pools]:
        _collect_tags(cond, tags)
    return Context(
        tag_exprs=tags,
        vtag_cols={vt.key: f"x_VirtualTags[{lit(vt.key)}]" for vt in rules.virtual_tags},
    )


def _collect_tags(cond: Any, out: dict[str, str]) -> None:
    if cond.tag is not None:
        out[cond.tag] = f"Tags[{lit(cond.tag)}]"
    for sub in (cond.all or []) + (cond.any or []) + ([cond.not_] if cond.not_ else []):
        _collect_tags(sub, out)


def what_if(
    con: duckdb.DuckDBPyConnection,
    draft: LoadedRules,
    owners: OwnersRegistry,
    period: dt.date,
    *,
    basis: str = "EffectiveCost",
) -> list[dict[str, Any]]:
    """Per cost center: published amount, draft amount, change (nothing published changes)."""
    report = allocate(con, draft, owners, period, publish=False, basis=basis)
    b = ident(basis)
    published = {
        (r[0], r[1]): r[2]
        for r in con.execute(
            f"SELECT COALESCE(x_CostCenter, x_Team), BillingCurrency, SUM({b}) "
            f"FROM allocation_facts WHERE {period_filter(period)} GROUP BY 1, 2"
        ).fetchall()
    }
    draft_amounts = {(r["cost_center"], r["currency"]): r["amount"] for r in report.cost_centers}
    out = []
    for key in sorted(set(published) | set(draft_amounts), key=lambda k: (str(k[0]), str(k[1]))):
        before = published.get(key) or Decimal(0)
        after = draft_amounts.get(key) or Decimal(0)
        out.append(
            {
                "cost_center": key[0],
                "currency": key[1],
                "published": before,
                "draft": after,
                "change": after - before,
                "change_pct": (
                    round(float((after - before) / before) * 100, 2) if before else None
                ),
            }
        )
    return out


__all__ = [
    "AllocationError",
    "AllocationReport",
    "CostlineError",
    "allocate",
    "ensure_tables",
    "parse_period",
    "what_if",
]
