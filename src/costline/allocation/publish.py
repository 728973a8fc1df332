"""Aggregate-first allocation: rules run once per *group* of charges, not once per charge.

A rule set reads a handful of columns and tags; a month of millions of charges has only
thousands of distinct combinations of them. So a run

1. scans the period once, grouping the charges by everything the rules and pools read (the
   *group key*: billing period, provider, currency, the columns and canonical tags the rules
   read, a flag per pool ``select`` that reads no virtual tag, the day where a pool splits
   daily, and a node's resource id and charge period where a Kubernetes or GPU pool needs
   them), summing every amount and quantity column and counting the charges;
2. evaluates the virtual tags, pools and owners on the groups (the SQL of ``plan.py``, run on
   a table with one row per group);
3. splits the pool groups step by step like single charges (``plan._split_sql``), keeping
   each part's cumulative ratios per step;
4. stores ``allocation_groups`` (owner, rule, key) and ``allocation_parts`` (split parts per
   group), both small, plus the SQL that computes a cost row's group key.

Every charge of a group has the same key, hence the same owner and the same ratios. The view
``allocated_cost`` puts the FOCUS rows back together per charge: a cost row joins its group on
the key, a split charge is split by its group's recorded ratios with the same cumulative
rounding, step by step, so its parts sum to the charge exactly. Chargeback, showback and
explain read ``allocation_facts`` (groups and group parts), which sums a group's amount once
and rounds per group: per cost center it equals the sum of ``allocated_cost`` to within 1e-10
per split charge.

A cost row ingested after the run (its ``x_ChargeId`` is above the run's high-water mark)
shows as not yet allocated until the period is allocated again, never twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import duckdb

from costline.allocation.plan import (
    NO_RESOURCE,
    OVERRIDDEN,
    SPLIT_COLUMNS,
    PoolStep,
    _ratio_sql,
    _split_sql,
    owner_select,
    period_filter,
    rule_context,
    split_money,
    tag_layers,
    teams_table_sql,
)
from costline.allocation.sql import Context, TagSql, condition_sql, ident, lit
from costline.config.allocation import POOL_PREFIX, Condition, OwnersRegistry, RuleSet
from costline.config.rules_loader import pool_order
from costline.schema.focus import STORE_COLUMNS

FIXED_KEYS = ("BillingPeriodStart", "x_Provider", "BillingCurrency")
# Key columns stored by name on each group (NULL where the key leaves them out): the
# GPU report and explain read a node's resource id and charge period from here.
NAMED_KEYS = ("ChargePeriodStart", "ChargePeriodEnd", "ResourceId")
_NODE_METHODS = ("kubernetes", "gpu")

GROUP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("x_AllocationRunId", "VARCHAR"),
    ("x_GroupId", "BIGINT"),
    ("BillingPeriodStart", "TIMESTAMP"),
    ("ChargePeriodStart", "TIMESTAMP"),
    ("ChargePeriodEnd", "TIMESTAMP"),
    ("x_Provider", "VARCHAR"),
    ("BillingCurrency", "VARCHAR"),
    ("ResourceId", "VARCHAR"),
    ("x_Key", "VARCHAR[]"),
    ("x_Charges", "BIGINT"),
    *((c, "DECIMAL(38, 10)") for c in SPLIT_COLUMNS),
    ("x_Team", "VARCHAR"),
    ("x_RuleId", "VARCHAR"),
    ("x_OwnerValue", "VARCHAR"),
    ("x_VirtualTags", "MAP(VARCHAR, VARCHAR)"),
)
PART_COLUMNS: tuple[tuple[str, str], ...] = (
    ("x_AllocationRunId", "VARCHAR"),
    ("x_GroupId", "BIGINT"),
    ("BillingPeriodStart", "TIMESTAMP"),
    ("x_Team", "VARCHAR"),
    ("x_RuleId", "VARCHAR"),
    ("x_AllocationPath", "VARCHAR"),
    ("AllocatedMethodDetails", "VARCHAR"),
    *((c, "DECIMAL(38, 10)") for c in SPLIT_COLUMNS),
    ("x_Charges", "BIGINT"),
    ("AllocatedResourceId", "VARCHAR"),
    ("AllocatedResourceName", "VARCHAR"),
    ("x_RatioLo", "DOUBLE[]"),
    ("x_RatioHi", "DOUBLE[]"),
)


def _ddl(table: str, columns: tuple[tuple[str, str], ...]) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {table} ("
        + ", ".join(f"{ident(n)} {t}" for n, t in columns)
        + ")"
    )


GROUPS_DDL = _ddl("allocation_groups", GROUP_COLUMNS)
PARTS_DDL = _ddl("allocation_parts", PART_COLUMNS)
TEAMS_DDL = (
    "CREATE TABLE IF NOT EXISTS allocation_teams (run_id VARCHAR, team VARCHAR, "
    "cost_center VARCHAR, department VARCHAR, business_unit VARCHAR)"
)
# Columns a run record gained with aggregate-first runs (see ``run.ensure_tables``).
RUN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("key_sql", "VARCHAR"),
    ("max_charge_id", "BIGINT"),
    ("depth", "INTEGER"),
)


# -- the group key ----------------------------------------------------------------------------
def _walk(cond: Condition) -> Iterator[Condition]:
    yield cond
    for sub in (cond.all or []) + (cond.any or []) + ([cond.not_] if cond.not_ else []):
        yield from _walk(sub)


def _reads_vtags(cond: Condition) -> bool:
    return any(c.vtag is not None for c in _walk(cond))


def _columns(cond: Condition) -> set[str]:
    return {c.column for c in _walk(cond) if c.column is not None}


@dataclass(frozen=True)
class GroupKey:
    """The group key: (name, SQL over a cost row with tag columns) in key order, and the
    pool ``select`` flags computed per row (pool id → column name)."""

    columns: tuple[tuple[str, str], ...]
    flags: tuple[tuple[str, str, str], ...]  # (pool id, column, SQL)

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.columns]

    def list_sql(self, *, inline: bool) -> str:
        """The key as ``VARCHAR[]``: over grouped columns, or computed per row (``inline``)."""
        items = [
            f"CAST(({expr if inline else ident(name)}) AS VARCHAR)" for name, expr in self.columns
        ]
        return f"list_value({', '.join(items)})"


def _vtag_inputs(rules: RuleSet) -> dict[str, tuple[set[str], set[str], set[str]]]:
    """Per virtual tag: the columns, tags and virtual tags its rules read."""
    out: dict[str, tuple[set[str], set[str], set[str]]] = {}
    for vt in rules.virtual_tags:
        cols: set[str] = set()
        tags: set[str] = set()
        vtags: set[str] = set()
        for r in vt.rules:
            for c in _walk(r.when) if r.when is not None else ():
                if c.column is not None:
                    cols.add(c.column)
                if c.tag is not None:
                    tags.add(c.tag)
                if c.vtag is not None:
                    vtags.add(c.vtag)
            vf = r.value_from
            if vf is not None:
                if vf.column is not None:
                    cols.add(vf.column)
                if vf.tag is not None:
                    tags.add(vf.tag)
                if vf.vtag is not None:
                    vtags.add(vf.vtag)
        out[vt.key] = (cols, tags, vtags)
    return out


def _shown_inputs(rules: RuleSet) -> tuple[set[str], set[str]]:
    """Columns and tags the virtual tags other than the owner read (they are shown in
    ``x_VirtualTags``), following virtual tags that read other virtual tags."""
    inputs = _vtag_inputs(rules)
    todo = [k for k in inputs if k != rules.owner.vtag]
    seen: set[str] = set()
    cols: set[str] = set()
    tags: set[str] = set()
    while todo:
        key = todo.pop()
        if key in seen or key not in inputs:
            continue
        seen.add(key)
        c, t, v = inputs[key]
        cols |= c
        tags |= t
        todo.extend(v)
    return cols, tags


def group_key(rules: RuleSet, tags: dict[str, TagSql]) -> GroupKey:
    """What a charge's owner and split can depend on, as few columns as possible.

    A tag is keyed by its raw value (``"_tr:x"``: folding and value aliases run per group).
    Where every pool ``select`` reads no virtual tag, a pool's rows key only on what their
    split and their shown virtual tags need: the owner virtual tag's inputs do not matter to
    a row a pool takes, so the pool rows of a month fall into a few groups.
    """
    pools = rules.pools
    raw: set[str] = set()
    for cols, _, _ in _vtag_inputs(rules).values():
        raw |= cols
    row_ctx = Context(
        tag_exprs={n: t.canonical(ident(f"_tr:{n}")) for n, t in tags.items()}, vtag_cols={}
    )
    flags: list[tuple[str, str, str]] = []
    pool_cols: set[str] = set()
    for p in pools:
        if _reads_vtags(p.select):
            raw |= _columns(p.select)
            pool_cols |= _columns(p.select)
        else:
            flags.append((p.id, f"_s:{p.id}", condition_sql(p.select, row_ctx)))
        if p.method not in (*_NODE_METHODS, "metric"):
            raw.update(p.partition)
            pool_cols.update(p.partition)
    flag_of = {pid: ident(col) for pid, col, _ in flags}
    node_pools = [p for p in pools if p.method in _NODE_METHODS]
    node_row = (
        " OR ".join(flag_of[p.id] for p in node_pools)
        if all(p.id in flag_of for p in node_pools)
        else "TRUE"
    )
    # owner-only inputs are dropped (NULL) from the key of a row a pool takes
    shown_cols, shown_tags = _shown_inputs(rules)
    pool_row = " OR ".join(flag_of.values()) if flags and len(flags) == len(pools) else None

    def owner_only(expr: str) -> str:
        return f"CASE WHEN NOT ({pool_row}) THEN {expr} END" if pool_row else expr

    daily = any(p.granularity == "daily" for p in pools if p.method not in _NODE_METHODS)
    columns: list[tuple[str, str]] = [(c, ident(c)) for c in FIXED_KEYS]
    if set(SPLIT_COLUMNS) & raw:
        # A rule reads an amount itself: every charge is a group of its own.
        columns.append(("_charge", "x_ChargeId"))
        raw -= set(SPLIT_COLUMNS)
    start = ident("ChargePeriodStart")
    if "ChargePeriodStart" in raw:
        columns.append(("ChargePeriodStart", start))
    elif node_pools or daily:
        other = f"date_trunc('day', {start})" if daily else "CAST(NULL AS TIMESTAMP)"
        expr = f"CASE WHEN {node_row} THEN {start} ELSE {other} END" if node_pools else other
        columns.append(("ChargePeriodStart", expr))
    for name, needed in (
        ("ChargePeriodEnd", any(p.method == "gpu" for p in pools)),
        ("ResourceId", bool(node_pools)),
    ):
        if name in raw:
            columns.append((name, ident(name)))
        elif needed:
            columns.append((name, f"CASE WHEN {node_row} THEN {ident(name)} END"))
    for c in sorted(raw - set(FIXED_KEYS) - set(NAMED_KEYS)):
        kept = c in shown_cols or c in pool_cols
        columns.append((c, ident(c) if kept else owner_only(ident(c))))
    for n in tags:
        col = ident(f"_tr:{n}")  # read in an earlier layer (see _row_layers)
        columns.append((f"_tr:{n}", col if n in shown_tags else owner_only(col)))
    columns += [(col, ident(col)) for _, col, _ in flags]
    return GroupKey(tuple(columns), tuple(flags))


# -- the plan ---------------------------------------------------------------------------------
@dataclass
class GroupPlan:
    """Statements of one run, in order, and what the runner stores and reports."""

    groups_sql: str
    rows_sql: str
    teams_sql: str
    parts_sql: str
    steps: list[PoolStep]
    parts_table: str
    charges_sql: str
    key: GroupKey
    owner_vtag: str
    vtag_columns: dict[str, str]


def _row_layers(tags: dict[str, TagSql], key: GroupKey, period: dt.date) -> str:
    """CTEs over the period's cost rows: ``l2`` has every key column's inputs and the flags."""
    flags = "".join(f", {sql} AS {ident(col)}" for _, col, sql in key.flags)
    raw_tags = "".join(f", {t.raw} AS {ident(f'_tr:{n}')}" for n, t in tags.items())
    layers = [
        f"l0 AS (SELECT * FROM cost WHERE {period_filter(period)})",
        f"l1 AS (SELECT *{raw_tags} FROM l0)",
        f"l2 AS (SELECT *{flags} FROM l1)",
    ]
    return "WITH " + ",\n".join(layers)


def _charges_sql(layers: str, key: GroupKey) -> str:
    """Every cost row of the period with its group key ``_key`` (the view joins on it)."""
    helpers = [ident(n) for n, _ in key.columns if n.startswith("_tr:")]
    helpers += [ident(col) for _, col, _ in key.flags]
    exclude = f" EXCLUDE ({', '.join(helpers)})" if helpers else ""
    return f"{layers}\nSELECT *{exclude}, {key.list_sql(inline=True)} AS _key FROM l2"


def build_group_plan(
    rules: RuleSet,
    owners: OwnersRegistry,
    *,
    period: dt.date,
    raw_tag_keys: list[str],
) -> GroupPlan:
    """Compile a validated rule set for one billing period into aggregate-first statements."""
    tags, ctx = rule_context(rules, raw_tag_keys)
    key = group_key(rules, tags)
    layers = _row_layers(tags, key, period)
    sums = ", ".join(f"SUM({ident(c)}) AS {ident(c)}" for c in SPLIT_COLUMNS)
    grouped = ", ".join(f"{expr} AS {ident(name)}" for name, expr in key.columns)
    groups_sql = (
        f"CREATE OR REPLACE TEMP TABLE _a_groups AS {layers}\n"
        f"SELECT row_number() OVER () AS x_GroupId, g.*, {key.list_sql(inline=False)} AS x_Key "
        f"FROM (SELECT {grouped}, {sums}, count(*) AS x_Charges FROM l2 GROUP BY ALL) g"
    )
    rows_sql = (
        "CREATE OR REPLACE TEMP TABLE _a_rows AS WITH "
        + ",\n".join(tag_layers(tags, "_a_groups", grouped=True))
        + ",\n"
        + owner_select(
            rules,
            owners,
            ctx,
            "l2",
            head="SELECT x_GroupId AS x_ChargeId, *, ",
            pool_conditions={pid: ident(col) for pid, col, _ in key.flags},
        )
    )
    # the parts carry what the pools' splits join on, the amounts and the charge count
    split_keys = {*FIXED_KEYS, *NAMED_KEYS, *(c for p in rules.pools for c in p.partition)}
    carried = [
        "x_ChargeId",
        *(ident(n) for n in key.names if n in split_keys),
        *SPLIT_COLUMNS,
        "x_Charges",
        "_rule",
    ]
    carried_sql = ", ".join(c if c.startswith('"') else ident(c) for c in carried)
    parts = "_a_parts_0"
    parts_sql = (
        f"CREATE OR REPLACE TEMP TABLE {parts} AS SELECT {carried_sql}, _owner, "
        f"CAST(1.0 AS DOUBLE) AS _ratio, '' AS _steps, _owner AS _path, {NO_RESOURCE}, "
        "CAST([] AS DOUBLE[]) AS _los, CAST([] AS DOUBLE[]) AS _his "
        "FROM _a_rows WHERE _pool IS NOT NULL"
    )
    steps: list[PoolStep] = []
    for i, pool in enumerate(pool_order(rules.pools)):
        ratio_table = f"_a_ratio_{i}"
        nxt = "_a_split" if i == len(rules.pools) - 1 else f"_a_parts_{i + 1}"
        steps.append(
            PoolStep(
                pool,
                ratio_table,
                _ratio_sql(pool, ratio_table, parts, period, rules=rules),
                _split_sql(pool, ratio_table, parts, nxt, carried, track=True),
            )
        )
        parts = nxt
    return GroupPlan(
        groups_sql=groups_sql,
        rows_sql=rows_sql,
        teams_sql=teams_table_sql(owners),
        parts_sql=parts_sql,
        steps=steps,
        parts_table=parts,
        charges_sql=_charges_sql(layers, key),
        key=key,
        owner_vtag=rules.owner.vtag,
        vtag_columns=dict(ctx.vtag_cols),
    )


def store_sql(plan: GroupPlan, run_id: str) -> tuple[str, str]:
    """INSERTs of the run's groups and parts (the temp tables of a finished plan)."""
    run = lit(run_id)
    extra = {k: v for k, v in plan.vtag_columns.items() if k != plan.owner_vtag}
    vmap = (
        "MAP {" + ", ".join(f"{lit(k)}: {v}" for k, v in extra.items()) + "}"
        if extra
        else "CAST(NULL AS MAP(VARCHAR, VARCHAR))"
    )
    owner_col = plan.vtag_columns.get(plan.owner_vtag, "CAST(NULL AS VARCHAR)")
    names = set(plan.key.names)
    named = ", ".join(ident(n) if n in names else f"NULL AS {ident(n)}" for n in NAMED_KEYS)
    groups = (
        f"INSERT INTO allocation_groups BY NAME SELECT {run} AS x_AllocationRunId, x_GroupId, "
        f"BillingPeriodStart, {named}, x_Provider, BillingCurrency, x_Key, x_Charges, "
        + ", ".join(ident(c) for c in SPLIT_COLUMNS)
        + ", _owner AS x_Team, "
        "_rule AS x_RuleId, "
        f"CASE WHEN _rule = 'unknown-team' THEN {owner_col} END AS x_OwnerValue, "
        f"{vmap} AS x_VirtualTags FROM _a_rows"
    )
    parts = (
        f"INSERT INTO allocation_parts BY NAME SELECT {run} AS x_AllocationRunId, "
        "x_ChargeId AS x_GroupId, BillingPeriodStart, _owner AS x_Team, _rule AS x_RuleId, "
        "_path AS x_AllocationPath, "
        '\'{"Elements":[{"AllocatedRatio":\' || CAST(_ratio AS VARCHAR) || '
        "',\"x_Steps\":[' || _steps || ']}]}' AS AllocatedMethodDetails, "
        + ", ".join(ident(c) for c in SPLIT_COLUMNS)
        + ", x_Charges, _res_id AS AllocatedResourceId, _res_name AS AllocatedResourceName, "
        f"_los AS x_RatioLo, _his AS x_RatioHi FROM {plan.parts_table}"
    )
    return groups, parts


# -- the views --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PublishedRun:
    run_id: str
    period: dt.date
    key_sql: str
    max_charge_id: int
    depth: int


def published_runs(con: duckdb.DuckDBPyConnection) -> list[PublishedRun]:
    """The run whose groups are stored, per period (a publish replaces the period's groups)."""
    rows = con.execute(
        "SELECT r.run_id, r.period, r.key_sql, COALESCE(r.max_charge_id, -1), "
        "COALESCE(r.depth, 0) FROM _allocation_runs r "
        "WHERE r.key_sql IS NOT NULL AND r.run_id IN "
        "(SELECT DISTINCT x_AllocationRunId FROM allocation_groups) ORDER BY r.period"
    ).fetchall()
    return [PublishedRun(str(r[0]), r[1], str(r[2]), int(r[3]), int(r[4])) for r in rows]


def charges_view_sql(runs: list[PublishedRun]) -> str:
    """``allocated_charges``: every cost row with its group (NULL where not allocated)."""
    group = "g.x_GroupId, g.x_Team, g.x_RuleId, g.x_VirtualTags, g.x_AllocationRunId"
    branches = [
        f"SELECT k.* EXCLUDE (_key), {group} FROM ({r.key_sql}) k "
        f"LEFT JOIN allocation_groups g ON g.x_AllocationRunId = {lit(r.run_id)} "
        f"AND g.x_Key = k._key AND k.x_ChargeId <= {r.max_charge_id}"
        for r in runs
    ]
    covered = " OR ".join(f"({period_filter(r.period)})" for r in runs)
    rest = f"WHERE COALESCE(NOT ({covered}), TRUE)" if runs else ""
    branches.append(
        "SELECT c.*, CAST(NULL AS BIGINT) AS x_GroupId, CAST(NULL AS VARCHAR) AS x_Team, "
        "CAST(NULL AS VARCHAR) AS x_RuleId, CAST(NULL AS MAP(VARCHAR, VARCHAR)) AS x_VirtualTags, "
        f"CAST(NULL AS VARCHAR) AS x_AllocationRunId FROM cost c {rest}"
    )
    return "CREATE OR REPLACE VIEW allocated_charges AS " + " UNION ALL BY NAME ".join(
        f"({b})" for b in branches
    )


def view_sql(depth: int) -> str:
    """``allocated_cost``: FOCUS rows with their owner, direct and split alike.

    A split charge takes each part of its group with the group's cumulative ratios, step by
    step (``depth``: the longest chain of pools of any published run).
    """
    base = [c.name for c in STORE_COLUMNS if c.name not in OVERRIDDEN]
    tail = (
        "t.cost_center AS x_CostCenter, t.department AS x_Department, "
        "t.business_unit AS x_BusinessUnit, r.rules_version AS x_RuleVersion"
    )
    joins = (
        "LEFT JOIN allocation_teams t ON t.run_id = u.x_AllocationRunId AND t.team = u.x_Team "
        "LEFT JOIN _allocation_runs r ON r.run_id = u.x_AllocationRunId"
    )
    direct = (
        f"SELECT {', '.join(ident(c) for c in base)}, AllocatedMethodId, AllocatedMethodDetails, "
        "AllocatedTags, x_ChargeId, x_Team, x_RuleId, x_RuleId AS x_AllocationPath, "
        "x_VirtualTags, x_AllocationRunId FROM allocated_charges "
        f"WHERE x_RuleId IS NULL OR NOT starts_with(x_RuleId, {lit(POOL_PREFIX)})"
    )
    resource = {"AllocatedResourceId", "AllocatedResourceName"}
    src = (
        "SELECT "
        + ", ".join(
            f"COALESCE(p.{ident(c)}, c.{ident(c)}) AS {ident(c)}"
            if c in resource
            else f"c.{ident(c)}"
            for c in base
        )
        + ", p.x_Team AS _team, p.x_RuleId AS _rule, p.x_AllocationPath AS _path, "
        "p.AllocatedMethodDetails AS _details, p.x_RatioLo AS _los, p.x_RatioHi AS _his, "
        "c.x_ChargeId, c.x_VirtualTags, c.x_AllocationRunId FROM allocated_charges c "
        "JOIN allocation_parts p ON p.x_AllocationRunId = c.x_AllocationRunId "
        "AND p.x_GroupId = c.x_GroupId"
    )
    for s in range(1, depth + 1):
        replaced = ", ".join(
            f"CASE WHEN len(_los) >= {s} THEN "
            f"{split_money(ident(c), f'_los[{s}]', f'_his[{s}]')} ELSE {ident(c)} END AS {ident(c)}"
            for c in SPLIT_COLUMNS
        )
        src = f"SELECT * REPLACE ({replaced}) FROM ({src}) s{s}"
    split = (
        f"SELECT {', '.join(ident(c) for c in base)}, 'costline:' || _rule AS AllocatedMethodId, "
        "_details AS AllocatedMethodDetails, '{\"x_Team\":\"' || _team || '\"}' AS AllocatedTags, "
        "x_ChargeId, _team AS x_Team, _rule AS x_RuleId, _path AS x_AllocationPath, "
        f"x_VirtualTags, x_AllocationRunId FROM ({src}) x"
    )
    return (
        f"CREATE OR REPLACE VIEW allocated_cost AS SELECT u.*, {tail} "
        f"FROM ({direct} UNION ALL {split}) u {joins}"
    )


def facts_view_sql() -> str:
    """``allocation_facts``: one row per direct group or group part, for reports.

    Chargeback, showback and explain read this (thousands of rows a month) instead of the
    per-charge ``allocated_cost``; ``x_Charges`` is the number of charges behind a row.
    """
    bases = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
    return (
        "CREATE OR REPLACE VIEW allocation_facts AS SELECT u.*, t.cost_center AS x_CostCenter, "
        "t.department AS x_Department, t.business_unit AS x_BusinessUnit FROM ("
        "SELECT x_GroupId, BillingPeriodStart, x_Provider, BillingCurrency, x_Team, x_RuleId, "
        "x_RuleId AS x_AllocationPath, CAST(NULL AS VARCHAR) AS AllocatedMethodDetails, "
        + ", ".join(bases)
        + ", x_Charges, x_AllocationRunId FROM allocation_groups "
        f"WHERE NOT starts_with(x_RuleId, {lit(POOL_PREFIX)}) "
        "UNION ALL SELECT p.x_GroupId, p.BillingPeriodStart, g.x_Provider, g.BillingCurrency, "
        "p.x_Team, p.x_RuleId, p.x_AllocationPath, p.AllocatedMethodDetails, "
        + ", ".join(f"p.{b}" for b in bases)
        + ", p.x_Charges, p.x_AllocationRunId FROM allocation_parts p JOIN allocation_groups g "
        "ON g.x_GroupId = p.x_GroupId AND g.x_AllocationRunId = p.x_AllocationRunId) u "
        "LEFT JOIN allocation_teams t ON t.run_id = u.x_AllocationRunId AND t.team = u.x_Team"
    )


def refresh_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the per-charge views over the published runs (after every publish)."""
    runs = published_runs(con)
    con.execute(charges_view_sql(runs))
    con.execute(view_sql(max((r.depth for r in runs), default=0)))
    con.execute(facts_view_sql())


__all__ = [
    "GROUPS_DDL",
    "PARTS_DDL",
    "RUN_COLUMNS",
    "TEAMS_DDL",
    "GroupPlan",
    "build_group_plan",
    "refresh_views",
    "store_sql",
]
