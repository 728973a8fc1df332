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
    build_plan,
    period_filter,
)
from costline.allocation.publish import (
    ENRICH_COLUMNS,
    OVERLAP,
    PART_RESOURCE_COLUMNS,
    PARTS_DDL,
    ROW_COLUMNS,
    ROWS_DDL,
    STATE_DDL,
    TEAMS_DDL,
    build_publish_plan,
    facts_view_sql,
    view_sql,
)
from costline.allocation.sql import Context, condition_sql, ident, lit
from costline.config.allocation import OwnersRegistry
from costline.config.rules_loader import LoadedRules, check_rules
from costline.core.errors import ConfigError, CostlineError, TerminalError


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
    """Allocation's tables, the columns it adds to ``cost``, and the ``allocated_cost`` view."""
    for name, sql_type in ENRICH_COLUMNS:
        con.execute(f"ALTER TABLE cost ADD COLUMN IF NOT EXISTS {name} {sql_type}")
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = 'allocated_cost' "
        "AND table_schema = 'main'"
    ).fetchone()
    if kind and kind[0] == "BASE TABLE":  # the first release stored copies; now a view
        con.execute("DROP TABLE allocated_cost")
    con.execute(RUNS_DDL)
    con.execute(METRICS_DDL)
    have = [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'allocation_rows' "
            "AND table_schema = 'main' ORDER BY ordinal_position"
        ).fetchall()
    ]
    if have and have != [n for n, _ in ROW_COLUMNS]:
        # An allocation store of an earlier layout: derived data, so start it again (the
        # periods must be allocated anew; `costline allocations` still lists the old runs).
        con.execute("DROP VIEW IF EXISTS allocation_facts")
        con.execute("DROP VIEW IF EXISTS allocated_cost")
        con.execute("DROP TABLE allocation_rows")
        con.execute("DROP TABLE IF EXISTS allocation_parts")
    con.execute(ROWS_DDL)
    con.execute(PARTS_DDL)
    for name, sql_type in PART_RESOURCE_COLUMNS:  # added later: keep an existing store's parts
        con.execute(f"ALTER TABLE allocation_parts ADD COLUMN IF NOT EXISTS {name} {sql_type}")
    con.execute(TEAMS_DDL)
    con.execute(STATE_DDL)
    ensure_k8s_tables(con)
    ensure_gpu_tables(con)  # -- GPU jobs (allocation/gpu_jobs.py)
    con.execute(view_sql())
    con.execute(facts_view_sql())


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
        if publish:
            _publish(con, loaded, owners, period, raw_keys, report, basis)
            con.execute(
                "INSERT INTO _allocation_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run_id,
                    period,
                    loaded.version,
                    json.dumps([str(f) for f in loaded.files]),
                    stamp,
                    dt.datetime.now(dt.UTC).replace(tzinfo=None),
                    rows_in,
                    report.rows_out,
                    True,
                    report.as_json(),
                ],
            )
        else:
            _select(con, loaded, owners, period, raw_keys, report, basis)
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


def _publish(
    con: duckdb.DuckDBPyConnection,
    loaded: LoadedRules,
    owners: OwnersRegistry,
    period: dt.date,
    raw_keys: list[str],
    report: AllocationReport,
    basis: str,
) -> None:
    """Enrich the period's cost rows, split the pools into ``allocation_parts``, check."""
    where = period_filter(period)
    plan = build_publish_plan(
        loaded.rules,
        owners,
        period=period,
        raw_tag_keys=raw_keys,
        run_id=report.run_id,
        version=loaded.version,
    )
    state = con.execute("SELECT max(next_charge_id) FROM _allocation_state").fetchone()
    top = con.execute("SELECT max(x_ChargeId) + 1 FROM cost").fetchone()
    offset = max(int((state or [0])[0] or 0), int((top or [0])[0] or 0))
    con.execute(plan.ids_sql.format(offset=offset))
    con.execute("DELETE FROM _allocation_state")
    con.execute(
        "INSERT INTO _allocation_state SELECT greatest(?, COALESCE(max(x_ChargeId) + 1, 0)) "
        "FROM cost",
        [offset],
    )
    con.execute(plan.teams_sql)
    con.execute("INSERT INTO allocation_teams SELECT ?, * FROM _a_teams", [report.run_id])
    con.execute(f"DELETE FROM allocation_rows WHERE {where}")
    con.execute(plan.store_rows_sql)
    row = con.execute(
        "SELECT count(*), min(x_ChargeId) FROM allocation_rows "
        "WHERE x_AllocationRunId = ? AND x_RuleId = ?",
        [report.run_id, OVERLAP],
    ).fetchone()
    if row and row[0]:
        _overlap_error(con, loaded, row, source=f"cost WHERE {where} AND x_ChargeId = ?")
    _drop_temp(con, "_a_rows")  # a what-if on this connection leaves a table of that name
    if plan.pool_cols_sql:
        con.execute(plan.pool_cols_sql)
    con.execute(plan.rows_view_sql)
    con.execute(plan.parts_sql)
    for step in plan.steps:
        con.execute(step.ratio_sql)
        con.execute(step.parts_sql)
    con.execute(f"DELETE FROM allocation_parts WHERE {where}")
    con.execute(plan.output_sql)
    _check_published(con, report, where)
    _describe_published(con, report, owner_value="_owner_value", basis=basis)


def _check_published(con: duckdb.DuckDBPyConnection, report: AllocationReport, where: str) -> None:
    """Every charge of the period allocated once; every pool charge's parts sum to it exactly.

    Direct rows are the cost rows themselves (the view reads them from ``cost``), so checking
    that each charge has exactly one allocation row and that split parts add up to their
    charge in every amount and quantity column proves Σ allocated = Σ source.
    """
    run = lit(report.run_id)
    counts = con.execute(
        f"SELECT (SELECT count(*) FROM cost WHERE {where}), "
        f"(SELECT count(*) FROM allocation_rows WHERE x_AllocationRunId = {run}), "
        f"(SELECT count(DISTINCT x_ChargeId) FROM allocation_rows WHERE x_AllocationRunId = {run})"
    ).fetchone()
    assert counts is not None
    cmp = " OR ".join(f"p.{ident(c)} IS DISTINCT FROM c.{ident(c)}" for c in SPLIT_COLUMNS)
    sums = ", ".join(f"SUM({ident(c)}) AS {ident(c)}" for c in SPLIT_COLUMNS)
    bad = con.execute(
        f"SELECT count(*) FROM (SELECT x_ChargeId, {sums} FROM allocation_parts "
        f"WHERE x_AllocationRunId = {run} GROUP BY 1) p "
        f"FULL JOIN (SELECT c.* FROM cost c JOIN _a_rows r ON r.x_ChargeId = c.x_ChargeId "
        "WHERE r._pool IS NOT NULL) c ON c.x_ChargeId = p.x_ChargeId "
        f"WHERE {cmp}"
    ).fetchone()
    if counts[0] != counts[1] or counts[1] != counts[2] or (bad and bad[0]):
        raise AllocationError(
            "allocated cost does not add up to the source cost "
            f"({counts[0]} charges, {counts[1]} allocation rows, {bad[0] if bad else 0} pool "
            "charges whose parts differ); nothing was written",
            hint="this is a bug in costline: please report it with the rules file",
        )
    direct = con.execute("SELECT count(*) FROM _a_rows WHERE _pool IS NULL").fetchone()
    parts = con.execute(
        f"SELECT count(*) FROM allocation_parts WHERE x_AllocationRunId = {run}"
    ).fetchone()
    report.rows_out = int((direct or [0])[0]) + int((parts or [0])[0])
    keys = "x_Provider, BillingCurrency, BillingPeriodStart"
    rows = con.execute(
        f"SELECT {keys}, count(*), SUM(BilledCost), SUM(EffectiveCost) FROM _a_rows "
        "GROUP BY ALL ORDER BY 1, 2, 3"
    ).fetchall()
    names = [
        "provider",
        "currency",
        "billing_period_start",
        "charges",
        "BilledCost",
        "EffectiveCost",
    ]
    report.totals = [dict(zip(names, r, strict=True)) for r in rows]


def _describe_published(
    con: duckdb.DuckDBPyConnection, report: AllocationReport, *, owner_value: str | None, basis: str
) -> None:
    """Coverage, unknown team values, unallocated pools and cost centers from the narrow tables."""
    b = ident(basis)
    run = lit(report.run_id)
    owners = (
        f"SELECT _owner AS team, BillingCurrency AS cur, SUM({b}) AS amount FROM _a_rows "
        "WHERE _pool IS NULL GROUP BY ALL UNION ALL "
        f"SELECT p.x_Team, r.BillingCurrency, SUM(p.{b}) FROM allocation_parts p "
        "JOIN _a_rows r ON r.x_ChargeId = p.x_ChargeId "
        f"WHERE p.x_AllocationRunId = {run} GROUP BY ALL"
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
            f"SELECT x_Team, count(DISTINCT x_ChargeId), SUM({b}) FROM allocation_parts "
            f"WHERE x_AllocationRunId = {run} AND x_Team LIKE 'unallocated:%' "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
    ]
    _coverage(con, report, owner_value=owner_value, basis=basis)


def _select(
    con: duckdb.DuckDBPyConnection,
    loaded: LoadedRules,
    owners: OwnersRegistry,
    period: dt.date,
    raw_keys: list[str],
    report: AllocationReport,
    basis: str,
) -> None:
    """What-if: the whole allocation as rows of a temp table ``_a_out``; nothing published."""
    where = period_filter(period)
    plan = build_plan(
        loaded.rules,
        owners,
        period=period,
        raw_tag_keys=raw_keys,
        run_id=report.run_id,
        version=loaded.version,
        out_table="_a_out",
        # the published stable id where a charge has one, so what-if parts name the same charge
        charge_id="COALESCE(x_ChargeId, -1 - rowid)",
    )
    _drop_temp(con, "_a_rows")  # a publish on this connection leaves a view of that name
    con.execute(plan.teams_sql)
    con.execute(plan.rows_sql)
    row = con.execute(
        "SELECT count(*), min(x_ChargeId) FROM _a_rows WHERE _pool_hits > 1"
    ).fetchone()
    if row and row[0]:
        _overlap_error(con, loaded, row, source="_a_rows WHERE x_ChargeId = ?")
    con.execute(plan.parts_sql)
    for step in plan.steps:
        con.execute(step.ratio_sql)
        con.execute(step.parts_sql)
    con.execute("CREATE OR REPLACE TEMP TABLE _a_out AS SELECT * FROM allocated_cost LIMIT 0")
    con.execute(plan.output_sql)
    out = "_a_out"
    report.rows_out = con.execute(f"SELECT count(*) FROM {out}").fetchone()[0]  # type: ignore[index]
    report.totals = _conservation(con, out, where, parts=None, run=report.run_id)
    owner = plan.vtag_columns.get(plan.owner_vtag)
    _describe(con, report, owner_value=owner, out=out, basis=basis)


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


def _conservation(
    con: duckdb.DuckDBPyConnection, out: str, where: str, *, parts: str | None, run: str
) -> list[dict[str, Any]]:
    """Σ allocated = Σ source per period, provider and currency, and every charge is there."""
    sums = ", ".join(f"SUM({ident(c)}) AS {ident(c)}" for c in SPLIT_COLUMNS)
    keys = "x_Provider, BillingCurrency, BillingPeriodStart"
    src = f"SELECT {keys}, count(*) AS n, {sums} FROM cost WHERE {where} GROUP BY ALL"
    dst = f"SELECT {keys}, {sums} FROM {out} GROUP BY ALL"
    cmp = " OR ".join(f"s.{ident(c)} IS DISTINCT FROM a.{ident(c)}" for c in SPLIT_COLUMNS)
    bad = con.execute(
        f"SELECT s.x_Provider, s.BillingCurrency, s.BillingPeriodStart "
        f"FROM ({src}) s FULL JOIN ({dst}) a USING ({keys}) WHERE {cmp}"
    ).fetchall()
    if parts is not None:
        charges = con.execute(
            f"SELECT (SELECT count(*) FROM {out} WHERE NOT starts_with(x_RuleId, 'pool:')) + "
            f"(SELECT count(DISTINCT x_ChargeId) FROM {parts} WHERE x_AllocationRunId = ?)",
            [run],
        ).fetchone()[0]  # type: ignore[index]
    else:
        charges = con.execute(f"SELECT count(DISTINCT x_ChargeId) FROM {out}").fetchone()[0]  # type: ignore[index]
    total = con.execute(f"SELECT count(*) FROM cost WHERE {where}").fetchone()[0]  # type: ignore[index]
    if bad or charges != total:
        where_bad = bad[0] if bad else f"{total - charges} charges missing"
        raise AllocationError(
            f"allocated cost does not add up to the source cost ({where_bad}); nothing was written",
            hint="this is a bug in costline: please report it with the rules file",
        )
    rows = con.execute(
        f"SELECT {keys}, n, " + ", ".join(ident(c) for c in COST_COLUMNS) + f" FROM ({src}) "
        "ORDER BY 1, 2, 3"
    ).fetchall()
    names = ["provider", "currency", "billing_period_start", "charges", *COST_COLUMNS]
    return [dict(zip(names, r, strict=True)) for r in rows]


def _coverage(
    con: duckdb.DuckDBPyConnection,
    report: AllocationReport,
    *,
    owner_value: str | None,
    basis: str,
) -> None:
    """Share of spend per allocating rule, and the team values that are not teams."""
    b = ident(basis)
    total = con.execute(f"SELECT SUM({b}) FROM _a_rows").fetchone()[0] or Decimal(0)  # type: ignore[index]

    def share(x: Decimal | None) -> float:
        return float(x / total) if total and x is not None else 0.0

    report.coverage = [
        {"rule": r[0], "charges": r[1], "cost": r[2], "share": share(r[2])}
        for r in con.execute(
            f"SELECT _rule, count(*), SUM({b}) FROM _a_rows GROUP BY 1 ORDER BY 3 DESC NULLS LAST"
        ).fetchall()
    ]
    if owner_value:
        report.unknown_teams = [
            {"value": r[0], "charges": r[1], "cost": r[2]}
            for r in con.execute(
                f"SELECT {owner_value}, count(*), SUM({b}) FROM _a_rows "
                "WHERE _rule = 'unknown-team' GROUP BY 1 ORDER BY 3 DESC NULLS LAST LIMIT 20"
            ).fetchall()
        ]


def _describe(
    con: duckdb.DuckDBPyConnection,
    report: AllocationReport,
    *,
    owner_value: str | None,
    out: str,
    basis: str,
) -> None:
    """What-if runs: the same report from the temp table of allocated rows."""
    b = ident(basis)
    _coverage(con, report, owner_value=owner_value, basis=basis)
    report.unallocated_pools = [
        {"owner": r[0], "charges": r[1], "cost": r[2]}
        for r in con.execute(
            f"SELECT x_Team, count(DISTINCT x_ChargeId), SUM({b}) FROM {out} "
            "WHERE x_Team LIKE 'unallocated:%' GROUP BY 1 ORDER BY 1"
        ).fetchall()
    ]
    report.cost_centers = [
        {"cost_center": r[0], "currency": r[1], "amount": r[2]}
        for r in con.execute(
            f"SELECT COALESCE(x_CostCenter, x_Team), BillingCurrency, SUM({b}) FROM {out} "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    ]


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
            f"FROM allocated_cost WHERE {period_filter(period)} GROUP BY 1, 2"
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
