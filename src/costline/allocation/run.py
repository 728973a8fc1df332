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

from costline.allocation.plan import (
    COST_COLUMNS,
    METRICS_DDL,
    RUNS_DDL,
    SPLIT_COLUMNS,
    Plan,
    allocated_cost_ddl,
    build_plan,
    period_filter,
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
            },
            default=str,
        )


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(allocated_cost_ddl())
    con.execute(RUNS_DDL)
    con.execute(METRICS_DDL)


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
    out_table = "allocated_cost" if publish else "_a_out"
    plan = build_plan(
        loaded.rules,
        owners,
        period=period,
        raw_tag_keys=raw_keys,
        run_id=run_id,
        version=loaded.version,
        out_table=out_table,
    )
    report = AllocationReport(run_id, period, loaded.version, publish, rows_in=rows_in)
    con.execute("BEGIN TRANSACTION")
    try:
        _execute(con, plan, loaded, out_table, where)
        report.rows_out = con.execute(
            f"SELECT count(*) FROM {out_table} WHERE x_AllocationRunId = ?", [run_id]
        ).fetchone()[0]  # type: ignore[index]
        report.totals = _conservation(con, out_table, run_id, where)
        _describe(con, report, plan, out_table, basis)
        if publish:
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
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return report


def _execute(
    con: duckdb.DuckDBPyConnection, plan: Plan, loaded: LoadedRules, out_table: str, where: str
) -> None:
    con.execute(plan.teams_sql)
    con.execute(plan.rows_sql)
    _check_overlap(con, loaded)
    con.execute(plan.parts_sql)
    for step in plan.steps:
        con.execute(step.ratio_sql)
        con.execute(step.parts_sql)
    if out_table == "allocated_cost":
        con.execute(f"DELETE FROM allocated_cost WHERE {where}")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _a_out AS SELECT * FROM allocated_cost LIMIT 0")
    con.execute(plan.output_sql)


def _check_overlap(con: duckdb.DuckDBPyConnection, loaded: LoadedRules) -> None:
    row = con.execute(
        "SELECT count(*), min(x_ChargeId) FROM _a_rows WHERE _pool_hits > 1"
    ).fetchone()
    if not row or not row[0]:
        return
    pools = loaded.rules.pools
    ctx = _context_for(loaded)
    hits = [
        p.id
        for p in pools
        if con.execute(
            f"SELECT {condition_sql(p.select, ctx)} FROM _a_rows WHERE x_ChargeId = ?", [row[1]]
        ).fetchone()[0]  # type: ignore[index]
    ]
    path, line = loaded.locate(f"pool:{hits[-1]}" if hits else "pools")
    raise ConfigError(
        f"pools {' and '.join(repr(h) for h in hits)} both select the same rows "
        f"({row[0]} rows, e.g. charge {row[1]})",
        path=path,
        line=line,
        hint="narrow one pool's `select` (e.g. add a `not:` condition) so a row joins one pool",
    )


def _context_for(loaded: LoadedRules) -> Context:
    rules = loaded.rules
    tags: dict[str, str] = {}
    for cond in [p.select for p in rules.pools]:
        _collect_tags(cond, tags)
    return Context(
        tag_exprs=tags,
        vtag_cols={vt.key: ident(f"_v:{vt.key}") for vt in rules.virtual_tags},
    )


def _collect_tags(cond: Any, out: dict[str, str]) -> None:
    if cond.tag is not None:
        out[cond.tag] = ident(f"_t:{cond.tag}")
    for sub in (cond.all or []) + (cond.any or []) + ([cond.not_] if cond.not_ else []):
        _collect_tags(sub, out)


def _conservation(
    con: duckdb.DuckDBPyConnection, out_table: str, run_id: str, where: str
) -> list[dict[str, Any]]:
    sums = ", ".join(f"SUM({ident(c)}) AS {ident(c)}" for c in SPLIT_COLUMNS)
    keys = "x_Provider, BillingCurrency, BillingPeriodStart"
    src = f"SELECT {keys}, count(*) AS n, {sums} FROM cost WHERE {where} GROUP BY ALL"
    dst = (
        f"SELECT {keys}, count(DISTINCT x_ChargeId) AS n, {sums} FROM {out_table} "
        f"WHERE x_AllocationRunId = {lit(run_id)} GROUP BY ALL"
    )
    cmp = " OR ".join(f"s.{ident(c)} IS DISTINCT FROM a.{ident(c)}" for c in SPLIT_COLUMNS)
    bad = con.execute(
        f"SELECT s.x_Provider, s.BillingCurrency, s.BillingPeriodStart, a.x_Provider "
        f"FROM ({src}) s FULL JOIN ({dst}) a USING ({keys}) WHERE {cmp} "
        "OR s.n IS DISTINCT FROM a.n"
    ).fetchall()
    if bad:
        raise AllocationError(
            f"allocated cost does not add up to the source cost for {bad[0][:3]} "
            "(nothing was written)",
            hint="this is a bug in costline: please report it with the rules file",
        )
    rows = con.execute(
        f"SELECT {keys}, n, " + ", ".join(ident(c) for c in COST_COLUMNS) + f" FROM ({src}) "
        "ORDER BY 1, 2, 3"
    ).fetchall()
    names = ["provider", "currency", "billing_period_start", "charges", *COST_COLUMNS]
    return [dict(zip(names, r, strict=True)) for r in rows]


def _describe(
    con: duckdb.DuckDBPyConnection, report: AllocationReport, plan: Plan, out: str, basis: str
) -> None:
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
    owner = plan.vtag_columns.get(plan.owner_vtag)
    if owner:
        report.unknown_teams = [
            {"value": r[0], "charges": r[1], "cost": r[2]}
            for r in con.execute(
                f"SELECT {owner}, count(*), SUM({b}) FROM _a_rows WHERE _rule = 'unknown-team' "
                "GROUP BY 1 ORDER BY 3 DESC NULLS LAST LIMIT 20"
            ).fetchall()
        ]
    report.unallocated_pools = [
        {"owner": r[0], "charges": r[1], "cost": r[2]}
        for r in con.execute(
            f"SELECT x_Team, count(*), SUM({b}) FROM {out} WHERE x_AllocationRunId = ? "
            "AND x_Team LIKE 'unallocated:%' GROUP BY 1 ORDER BY 1",
            [report.run_id],
        ).fetchall()
    ]
    report.cost_centers = [
        {"cost_center": r[0], "currency": r[1], "amount": r[2]}
        for r in con.execute(
            f"SELECT COALESCE(x_CostCenter, x_Team), BillingCurrency, SUM({b}) FROM {out} "
            "WHERE x_AllocationRunId = ? GROUP BY 1, 2 ORDER BY 1, 2",
            [report.run_id],
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
