"""The publishing form of a plan: allocation stored beside the cost table, not as a copy.

Copying every cost row into an allocated table would double the store and cost more than the
allocation itself (measured: writing 2M rows × 80 columns took longer than computing them), and
updating the cost rows in place cost as much again as computing. So a published run

1. gives each new cost row a stable ``x_ChargeId`` (once; ids are never reused),
2. writes one narrow row per charge to ``allocation_rows`` (owner, rule, virtual tags, run),
3. splits only the pools' rows, storing the parts narrowly in ``allocation_parts``,

and the view ``allocated_cost`` puts the FOCUS rows back together: direct rows are cost rows
joined to their allocation row, split rows are ``allocation_parts`` joined to their origin
charge. A row of a partition re-ingested after a run shows up as not yet allocated (no team),
never twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from costline.allocation.gpu import ROW_COLUMNS as GPU_ROW_COLUMNS
from costline.allocation.plan import (
    NO_RESOURCE,
    SPLIT_COLUMNS,
    PoolStep,
    _key_exprs,
    _ratio_sql,
    _split_sql,
    build_plan,
    period_filter,
)
from costline.allocation.sql import ident, lit
from costline.config.allocation import POOL_PREFIX, OwnersRegistry, RuleSet
from costline.config.rules_loader import pool_order
from costline.schema.focus import STORE_COLUMNS

# Columns allocation adds to ``cost`` (NULL until a run allocates the row).
ENRICH_COLUMNS: tuple[tuple[str, str], ...] = (("x_ChargeId", "BIGINT"),)

# One narrow row per charge: its owner and rule, plus the few columns that partition pools and
# feed chargeback (so reports on the default bases never join the wide cost table).
ROW_COLUMNS: tuple[tuple[str, str], ...] = (
    ("x_ChargeId", "BIGINT"),
    ("BillingPeriodStart", "TIMESTAMP"),
    ("ChargePeriodStart", "TIMESTAMP"),
    ("x_Provider", "VARCHAR"),
    ("BillingCurrency", "VARCHAR"),
    ("BilledCost", "DECIMAL(38, 10)"),
    ("EffectiveCost", "DECIMAL(38, 10)"),
    ("x_Team", "VARCHAR"),
    ("x_RuleId", "VARCHAR"),
    ("x_OwnerValue", "VARCHAR"),
    ("x_VirtualTags", "MAP(VARCHAR, VARCHAR)"),
    ("x_AllocationRunId", "VARCHAR"),
)
_FIXED = {n for n, _ in ROW_COLUMNS[1:7]}
ROWS_DDL = (
    "CREATE TABLE IF NOT EXISTS allocation_rows ("
    + ", ".join(f"{n} {t}" for n, t in ROW_COLUMNS)
    + ")"
)
OVERLAP = "!overlap"

# The resource a part was allocated to, where its pool names one (kubernetes: the namespace,
# ``k8s://<cluster>/<namespace>``); NULL: the origin cost row's. Last, so that tables of an
# earlier layout get them by ALTER TABLE ... ADD COLUMN (see ``run.ensure_tables``).
PART_RESOURCE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("AllocatedResourceId", "VARCHAR"),
    ("AllocatedResourceName", "VARCHAR"),
)
PARTS_DDL = (
    "CREATE TABLE IF NOT EXISTS allocation_parts (x_ChargeId BIGINT, "
    "BillingPeriodStart TIMESTAMP, x_Team VARCHAR, x_RuleId VARCHAR, x_AllocationPath VARCHAR, "
    "AllocatedMethodDetails VARCHAR, "
    + ", ".join(f"{ident(c)} DECIMAL(38, 10)" for c in SPLIT_COLUMNS)
    + ", x_AllocationRunId VARCHAR, "
    + ", ".join(f"{n} {t}" for n, t in PART_RESOURCE_COLUMNS)
    + ")"
)
TEAMS_DDL = (
    "CREATE TABLE IF NOT EXISTS allocation_teams (run_id VARCHAR, team VARCHAR, "
    "cost_center VARCHAR, department VARCHAR, business_unit VARCHAR)"
)
STATE_DDL = "CREATE TABLE IF NOT EXISTS _allocation_state (next_charge_id BIGINT)"

_OVERRIDDEN = ("AllocatedMethodId", "AllocatedMethodDetails", "AllocatedTags")


def view_sql() -> str:
    """``allocated_cost``: FOCUS rows with their owner, direct and split alike."""
    base = [c.name for c in STORE_COLUMNS if c.name not in _OVERRIDDEN]
    direct_cols = ", ".join(f"c.{ident(c)}" for c in base)
    resource = {n for n, _ in PART_RESOURCE_COLUMNS}
    split_cols = ", ".join(
        f"p.{ident(c)}"
        if c in SPLIT_COLUMNS
        else f"COALESCE(p.{ident(c)}, c.{ident(c)}) AS {ident(c)}"
        if c in resource
        else f"c.{ident(c)}"
        for c in base
    )
    tail = (
        "t.cost_center AS x_CostCenter, t.department AS x_Department, "
        "t.business_unit AS x_BusinessUnit, r.rules_version AS x_RuleVersion"
    )
    joins = (
        "LEFT JOIN allocation_teams t ON t.run_id = u.x_AllocationRunId AND t.team = u.x_Team "
        "LEFT JOIN _allocation_runs r ON r.run_id = u.x_AllocationRunId"
    )
    direct = (
        f"SELECT {direct_cols}, c.AllocatedMethodId, c.AllocatedMethodDetails, c.AllocatedTags, "
        "c.x_ChargeId, a.x_Team, a.x_RuleId, a.x_RuleId AS x_AllocationPath, a.x_VirtualTags, "
        "a.x_AllocationRunId FROM cost c LEFT JOIN allocation_rows a "
        "ON a.x_ChargeId = c.x_ChargeId "
        f"WHERE a.x_RuleId IS NULL OR NOT starts_with(a.x_RuleId, {lit(POOL_PREFIX)})"
    )
    split = (
        f"SELECT {split_cols}, 'costline:' || p.x_RuleId AS AllocatedMethodId, "
        "p.AllocatedMethodDetails, '{\"x_Team\":\"' || p.x_Team || '\"}' AS AllocatedTags, "
        "p.x_ChargeId, p.x_Team, p.x_RuleId, p.x_AllocationPath, a.x_VirtualTags, "
        "p.x_AllocationRunId FROM allocation_parts p "
        "JOIN allocation_rows a ON a.x_ChargeId = p.x_ChargeId "
        "AND a.x_AllocationRunId = p.x_AllocationRunId "
        "JOIN cost c ON c.x_ChargeId = p.x_ChargeId"
    )
    return (
        f"CREATE OR REPLACE VIEW allocated_cost AS SELECT u.*, {tail} "
        f"FROM ({direct} UNION ALL {split}) u {joins}"
    )


def facts_view_sql() -> str:
    """``allocation_facts``: one row per direct charge or split part, narrow, for reports.

    Chargeback, showback and explain on EffectiveCost/BilledCost read this instead of the wide
    ``allocated_cost`` view, so they never join the cost table.
    """
    return (
        "CREATE OR REPLACE VIEW allocation_facts AS SELECT u.*, t.cost_center AS x_CostCenter, "
        "t.department AS x_Department, t.business_unit AS x_BusinessUnit FROM ("
        "SELECT x_ChargeId, BillingPeriodStart, x_Provider, BillingCurrency, x_Team, x_RuleId, "
        "x_RuleId AS x_AllocationPath, CAST(NULL AS VARCHAR) AS AllocatedMethodDetails, "
        "BilledCost, EffectiveCost, x_AllocationRunId FROM allocation_rows "
        f"WHERE NOT starts_with(x_RuleId, {lit(POOL_PREFIX)}) "
        "UNION ALL SELECT p.x_ChargeId, p.BillingPeriodStart, a.x_Provider, a.BillingCurrency, "
        "p.x_Team, p.x_RuleId, p.x_AllocationPath, p.AllocatedMethodDetails, p.BilledCost, "
        "p.EffectiveCost, p.x_AllocationRunId FROM allocation_parts p JOIN allocation_rows a "
        "ON a.x_ChargeId = p.x_ChargeId AND a.x_AllocationRunId = p.x_AllocationRunId) u "
        "LEFT JOIN allocation_teams t ON t.run_id = u.x_AllocationRunId AND t.team = u.x_Team"
    )


@dataclass
class PublishPlan:
    """Statements of a published run, in order (``{offset}`` is filled in by the runner)."""

    ids_sql: str
    teams_sql: str
    store_rows_sql: str
    pool_cols_sql: str | None
    rows_view_sql: str
    parts_sql: str
    steps: list[PoolStep]
    output_sql: str
    owner_vtag: str
    vtag_columns: dict[str, str]


def build_publish_plan(
    rules: RuleSet,
    owners: OwnersRegistry,
    *,
    period: dt.date,
    raw_tag_keys: list[str],
    run_id: str,
    version: str,
) -> PublishPlan:
    where = period_filter(period)
    pools = rules.pools
    # The columns the pool steps need besides amounts: billing period, partitions, buckets.
    keys = {"BillingPeriodStart", "ChargePeriodStart", "x_Provider", "BillingCurrency"}
    keys.update(("EffectiveCost", "BilledCost"))  # the bases reports and coverage use
    for p in pools:
        for k in _key_exprs(p):
            if k.startswith('"'):
                keys.add(k.strip('"').replace('""', '"'))
            elif k.isidentifier():
                keys.add(k)
        keys.update(p.partition)
        if p.method == "proportional":
            keys.add(p.driver.cost_column)
        if p.method == "kubernetes":
            keys.add("ResourceId")
        if p.method == "gpu":  # -- GPU: node id and charge period end (allocation/gpu.py)
            keys.update(GPU_ROW_COLUMNS)
    keep = sorted(keys)
    select = build_plan(
        rules,
        owners,
        period=period,
        raw_tag_keys=raw_tag_keys,
        run_id=run_id,
        version=version,
        charge_id="x_ChargeId",
        keep=keep,
    )
    extra = {k: v for k, v in select.vtag_columns.items() if k != rules.owner.vtag}
    vmap = (
        "MAP {" + ", ".join(f"{lit(k)}: {v}" for k, v in extra.items()) + "}"
        if extra
        else "CAST(NULL AS MAP(VARCHAR, VARCHAR))"
    )
    owner_col = select.vtag_columns.get(rules.owner.vtag, "CAST(NULL AS VARCHAR)")
    rows_select = select.rows_sql.removeprefix("CREATE OR REPLACE TEMP TABLE _a_rows AS ")
    store_rows_sql = (
        "INSERT INTO allocation_rows SELECT x_ChargeId, BillingPeriodStart, ChargePeriodStart, "
        "x_Provider, BillingCurrency, BilledCost, EffectiveCost, _owner, "
        f"CASE WHEN _pool_hits > 1 THEN {lit(OVERLAP)} ELSE _rule END, "
        f"CASE WHEN _rule = 'unknown-team' THEN {owner_col} END, {vmap}, {lit(run_id)} "
        f"FROM ({rows_select}) q"
    )
    # What the pool steps read: the run's rows, with the cost table's extra columns where a
    # pool needs columns allocation_rows does not keep. Recipients' columns (a partition of a
    # proportional or even pool) are needed on every row: join the period's cost rows. Columns
    # only the pool rows need (a node's ResourceId for kubernetes/gpu pools) come from a small
    # table of the pool rows' values, so the reports on _a_rows never join the cost table.
    wanted = [k for k in keep if k not in _FIXED]
    on_every_row = {
        k
        for p in pools
        if p.method in ("proportional", "even")
        for k in [*p.partition, p.driver.cost_column if p.method == "proportional" else ""]
        if k and k not in _FIXED
    }
    pool_cols_sql: str | None = None
    base = (
        "SELECT a.x_ChargeId, "
        + ", ".join(f"a.{ident(c)}" for c in sorted(_FIXED))
        + "".join(f", c.{ident(c)}" for c in wanted)
        + ", a.x_Team AS _owner, a.x_RuleId AS _rule, a.x_OwnerValue AS _owner_value, "
        f"CASE WHEN starts_with(a.x_RuleId, {lit(POOL_PREFIX)}) THEN a.x_RuleId END AS _pool "
        "FROM allocation_rows a"
    )
    if on_every_row:
        base += f" JOIN (SELECT * FROM cost WHERE {where}) c ON c.x_ChargeId = a.x_ChargeId"
    elif wanted:
        pool_cols_sql = (
            "CREATE OR REPLACE TEMP TABLE _a_pool_cols AS SELECT x_ChargeId, "
            + ", ".join(ident(c) for c in wanted)
            + f" FROM cost WHERE {where} AND x_ChargeId IN (SELECT x_ChargeId FROM "
            f"allocation_rows WHERE x_AllocationRunId = {lit(run_id)} "
            f"AND starts_with(x_RuleId, {lit(POOL_PREFIX)}))"
        )
        base += " LEFT JOIN _a_pool_cols c ON c.x_ChargeId = a.x_ChargeId"
    rows_view_sql = (
        f"CREATE OR REPLACE TEMP VIEW _a_rows AS {base} WHERE a.x_AllocationRunId = {lit(run_id)}"
    )
    narrow = [k for k in keep if k not in SPLIT_COLUMNS]
    carried = ["x_ChargeId", *narrow, *SPLIT_COLUMNS, "_rule"]
    parts = "_a_parts_0"
    parts_sql = (
        f"CREATE OR REPLACE TEMP TABLE {parts} AS SELECT r.x_ChargeId, "
        + ", ".join(f"r.{ident(c)}" for c in narrow)
        + ", "
        + ", ".join(f"c.{ident(c)}" for c in SPLIT_COLUMNS)
        + ", r._rule, r._owner, CAST(1.0 AS DOUBLE) AS _ratio, '' AS _steps, r._owner AS _path, "
        f"{NO_RESOURCE} FROM _a_rows r JOIN (SELECT * FROM cost WHERE {where}) c "
        "ON c.x_ChargeId = r.x_ChargeId WHERE r._pool IS NOT NULL"
    )
    steps: list[PoolStep] = []
    for i, pool in enumerate(pool_order(pools)):
        ratio_table = f"_a_ratio_{i}"
        nxt = f"_a_parts_{i + 1}"
        steps.append(
            PoolStep(
                pool,
                ratio_table,
                _ratio_sql(pool, ratio_table, parts, period, rules=rules),
                _split_sql(pool, ratio_table, parts, nxt, carried),
            )
        )
        parts = nxt
    output_sql = (
        "INSERT INTO allocation_parts SELECT x_ChargeId, BillingPeriodStart, _owner, _rule, "
        '_path, \'{"Elements":[{"AllocatedRatio":\' || CAST(_ratio AS VARCHAR) || '
        "',\"x_Steps\":[' || _steps || ']}]}', "
        + ", ".join(ident(c) for c in SPLIT_COLUMNS)
        + f", {lit(run_id)}, _res_id, _res_name FROM {parts}"
    )
    teams_sql = select.teams_sql
    return PublishPlan(
        ids_sql=(
            f"UPDATE cost SET x_ChargeId = rowid + {{offset}} WHERE {where} AND x_ChargeId IS NULL"
        ),
        teams_sql=teams_sql,
        store_rows_sql=store_rows_sql,
        pool_cols_sql=pool_cols_sql,
        rows_view_sql=rows_view_sql,
        parts_sql=parts_sql,
        steps=steps,
        output_sql=output_sql,
        owner_vtag=rules.owner.vtag,
        vtag_columns=select.vtag_columns,
    )
