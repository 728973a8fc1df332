"""Run an allocation on Spark: the DuckDB plan, transpiled by sqlglot, executed step by step.

:func:`allocate_spark` builds the same :class:`~costline.allocation.plan.Plan` that
:mod:`costline.allocation.run` runs on DuckDB and runs each statement on a ``SparkSession``, so
the two engines cannot drift apart: one rule compiler, two executors. sqlglot (pinned) carries
most of the DuckDB dialect over by itself: ``GROUP BY ALL``, ``IS NOT DISTINCT FROM``,
``starts_with`` → ``STARTSWITH``, ``regexp_matches`` → ``RLIKE``, ``LEAST``, ``TIMESTAMP '…'``
→ ``CAST('…' AS TIMESTAMP_NTZ)``, ``ORDER BY x`` → ``ORDER BY x NULLS LAST``. The rest is
rewritten here on the sqlglot tree (:func:`translate`):

* the charge id (DuckDB: the cost table's ``x_ChargeId`` or ``rowid``) → column ``_a_rowid`` of
  ``_a_cost``, a materialised copy of the period's rows: a column the caller names
  (``charge_id=``), else ``monotonically_increasing_id()`` (unique within the run, not comparable
  with DuckDB's ids); a bare ``rowid`` left in any statement is rewritten to it as well;
* ``CREATE OR REPLACE TEMP TABLE t AS q`` → ``q`` materialised with ``localCheckpoint`` and
  registered as temp view ``t`` (each later step reads the stored rows, not the lineage);
* ``INSERT INTO allocated_cost BY NAME q`` → ``q`` returned as a DataFrame in the column order
  and types of ``allocated_cost``; writing it is the caller's choice;
* ``MAP {'k': v}`` → ``map('k', v)`` (sqlglot 30.30 writes ``MAP STRUCT(...)``).

Money needs no rewriting: the plan already computes shares as DOUBLE from exact DECIMAL sums and
turns DOUBLE amounts into DECIMAL through integers, so both engines give the same parts to the
last decimal (see ``docs/how-to/spark-allocation.md``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from costline.allocation import gpu
from costline.allocation.plan import (
    ALLOCATION_COLUMNS,
    SPLIT_COLUMNS,
    Plan,
    build_plan,
    period_filter,
)
from costline.allocation.run import AllocationError
from costline.allocation.sql import Context, condition_sql, ident, referenced_tags
from costline.config.allocation import OwnersRegistry, Pool
from costline.config.rules_loader import LoadedRules, check_rules
from costline.core.errors import ConfigError
from costline.schema.focus import STORE_COLUMNS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

ROWID = "_a_rowid"
COST_VIEW = "_a_cost"
_KEYS = ("x_Provider", "BillingCurrency", "BillingPeriodStart")


@dataclass(frozen=True)
class SparkStatement:
    """One plan statement in Spark terms: a query, and the temp view it becomes (None: output)."""

    view: str | None
    query: str


@dataclass
class SparkAllocation:
    """The allocated rows of one period (``frame``, materialised) and what the run checked."""

    run_id: str
    period: dt.date
    rules_version: str
    frame: DataFrame
    rows_in: int = 0
    rows_out: int = 0
    totals: list[dict[str, Any]] = field(default_factory=list)
    cost_centers: list[dict[str, Any]] = field(default_factory=list)


# -- translation (pure) ---------------------------------------------------------------------
def to_spark(expression: exp.Expression) -> str:
    """Spark SQL for a DuckDB-dialect tree; anything sqlglot cannot express raises."""
    return expression.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)


def spark_type(sql_type: str) -> str:
    """A DuckDB column type (as in :mod:`costline.schema.focus`) in Spark SQL."""
    return to_spark(exp.DataType.build(sql_type, dialect="duckdb"))


def _rewrite(node: exp.Expression) -> exp.Expression:
    """The DuckDB constructs sqlglot does not carry to Spark, one node at a time."""
    if isinstance(node, exp.Column) and not node.table and node.name.lower() == "rowid":
        if not node.this.args.get("quoted"):
            return exp.column(ROWID)
    if isinstance(node, exp.ToMap) and isinstance(node.this, exp.Struct):
        args: list[exp.Expression] = []
        for pair in node.this.expressions:
            if not isinstance(pair, exp.PropertyEQ):
                raise AllocationError(f"cannot translate map entry {pair.sql('duckdb')!r}")
            args += [pair.this, pair.expression]
        return exp.Anonymous(this="map", expressions=args)
    return node


def translate(sql: str) -> SparkStatement:
    """A plan statement (DuckDB dialect) → the Spark query and the temp view it fills.

    Raises:
        AllocationError: the statement uses something Spark SQL cannot express (a costline bug).
    """
    try:
        tree = sqlglot.parse_one(sql, read="duckdb").transform(_rewrite)
        if isinstance(tree, exp.Create):
            target = tree.this
            if isinstance(target, exp.Schema):  # CREATE TEMP TABLE t (col type, ...): empty
                return SparkStatement(target.this.name, _empty_select(target))
            return SparkStatement(target.name, to_spark(tree.expression))
        if isinstance(tree, exp.Insert):
            return SparkStatement(None, to_spark(tree.expression))
    except SqlglotError as exc:
        raise AllocationError(
            f"the allocation plan does not translate to Spark SQL: {exc}",
            hint="this is a bug in costline: please report it with the rules file",
        ) from exc
    raise AllocationError(f"unexpected statement in an allocation plan: {sql[:80]!r}")


def _empty_select(schema: exp.Schema) -> str:
    cols = [
        exp.cast(exp.null(), d.args["kind"]).as_(d.this)
        for d in schema.expressions
        if isinstance(d, exp.ColumnDef)
    ]
    return to_spark(exp.select(*cols).limit(0))


def _duckdb_to_spark(sql: str) -> str:
    return to_spark(sqlglot.parse_one(sql, read="duckdb").transform(_rewrite))


# -- execution ------------------------------------------------------------------------------
def allocate_spark(
    spark: SparkSession,
    loaded: LoadedRules,
    owners: OwnersRegistry,
    period: dt.date,
    *,
    source: str = "cost",
    charge_id: str | None = None,
    basis: str = "EffectiveCost",
) -> SparkAllocation:
    """Allocate one billing period of the table or view ``source`` on Spark.

    ``source`` holds FOCUS rows as in :data:`~costline.schema.focus.STORE_COLUMNS` (missing
    columns read as NULL; ``Tags`` a ``map<string,string>`` or a JSON string). ``charge_id`` names
    a column with a stable id per row, else ids come from ``monotonically_increasing_id()``. Uses
    (and drops) temp views named ``_a_*``. A metric pool reads the view ``allocation_metrics``, a
    kubernetes pool ``k8s_samples`` and ``k8s_nodes``, a gpu pool ``gpu_jobs`` (and
    ``k8s_nodes`` when registered): the caller registers them, as exported from DuckDB.

    Raises:
        ConfigError: the rules do not fit the data (unknown column, overlapping pools, ...),
            or a table a pool reads is not registered.
        AllocationError: no cost in the period, or allocated ≠ source.
    """
    created: list[str] = []
    try:
        rows_in = _prepare_cost(spark, source, period, charge_id)
        check_rules(loaded, owners, [c.name for c in STORE_COLUMNS])
        created = _require_inputs(spark, loaded)
        raw_keys = [
            r[0]
            for r in spark.sql(
                f"SELECT DISTINCT k FROM (SELECT explode(map_keys(Tags)) AS k FROM {COST_VIEW}) "
                "WHERE k IS NOT NULL ORDER BY k"
            ).collect()
        ]
        stamp = dt.datetime.now(dt.UTC)
        run_id = f"{period:%Y%m}-{stamp:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        plan = build_plan(
            loaded.rules,
            owners,
            period=period,
            raw_tag_keys=raw_keys,
            run_id=run_id,
            version=loaded.version,
            source=COST_VIEW,
            charge_id=ROWID,
        )
        frame = _execute(spark, plan, loaded)
        result = SparkAllocation(run_id, period, loaded.version, frame, rows_in=rows_in)
        result.rows_out = frame.count()
        result.totals = _conservation(spark, frame)
        result.cost_centers = cost_center_totals(frame, basis=basis)
    finally:
        for view in spark.catalog.listTables():
            if view.isTemporary and view.name.startswith("_a_"):
                spark.catalog.dropTempView(view.name)
        for name in created:
            spark.catalog.dropTempView(name)
    return result


def _prepare_cost(spark: SparkSession, source: str, period: dt.date, charge_id: str | None) -> int:
    """``_a_cost``: the period's rows in the store's columns and types, with their charge id."""
    have = {f.name.lower(): f for f in spark.table(source).schema.fields}
    _check_source(spark, source, have, charge_id)
    cols = [_store_column(c.name, c.sql_type, have.get(c.name.lower())) for c in STORE_COLUMNS]
    rowid = f"CAST(`{charge_id}` AS BIGINT)" if charge_id else "monotonically_increasing_id()"
    frame = spark.sql(
        f"SELECT {', '.join(cols)}, {rowid} AS {ROWID} FROM {source} "
        f"WHERE {_duckdb_to_spark(period_filter(period))}"
    ).localCheckpoint(eager=True)
    frame.createOrReplaceTempView(COST_VIEW)
    counts = spark.sql(f"SELECT count(*), count(DISTINCT {ROWID}) FROM {COST_VIEW}").collect()
    rows, ids = int(counts[0][0]), int(counts[0][1])
    if not rows:
        raise AllocationError(
            f"no cost rows with a billing period starting in {period:%Y-%m} in {source}",
            hint="check the table and the period (YYYY-MM)",
        )
    if ids != rows:
        raise ConfigError(
            f"charge id column {charge_id!r} is NULL or repeated on {rows - ids} of {rows} rows",
            hint="publish the period on DuckDB first (it numbers new rows), or omit charge_id",
        )
    return rows


def _check_source(
    spark: SparkSession, source: str, have: dict[str, Any], charge_id: str | None
) -> None:
    """A named charge id column exists; local timestamps are read in UTC."""
    if charge_id is not None and charge_id.lower() not in have:
        raise ConfigError(
            f"charge id column {charge_id!r} is not in {source}",
            hint=f"name one of: {', '.join(sorted(f.name for f in have.values()))}",
        )
    local = [f.name for f in have.values() if f.dataType.typeName() == "timestamp"]
    zone = spark.conf.get("spark.sql.session.timeZone") or ""
    if local and zone not in ("UTC", "Etc/UTC", "GMT", "Z", "+00:00"):
        raise ConfigError(
            f"{source}.{local[0]} is a local TIMESTAMP and the session time zone is {zone}: "
            "billing periods would shift",
            hint="set spark.sql.session.timeZone=UTC (FOCUS timestamps are UTC)",
        )


def _store_column(name: str, sql_type: str, have: Any) -> str:
    """One cost column for ``_a_cost``: cast to the store's type, NULL when absent."""
    stype = spark_type(sql_type)
    if have is None:
        return f"CAST(NULL AS {stype}) AS `{name}`"
    col = f"`{have.name}`"
    if sql_type.startswith("TIMESTAMP"):
        return f"{col} AS `{name}`"  # keep TIMESTAMP or TIMESTAMP_NTZ as the table has it
    if name == "Tags" and have.dataType.typeName() == "string":
        return f"from_json({col}, 'map<string,string>') AS `{name}`"
    return f"CAST({col} AS {stype}) AS `{name}`"


def _require_inputs(spark: SparkSession, loaded: LoadedRules) -> list[str]:
    """Every table a pool method reads besides the cost exists, with the columns it reads.

    A gpu pool without a kubernetes pool may lack ``k8s_nodes`` (it only adds capacity): an
    empty temp view stands in, and its name is returned for the caller to drop.

    Raises:
        ConfigError: naming the pool (file and line), the missing table or column, and how to
            register it.
    """
    created: list[str] = []
    methods = {p.method for p in loaded.rules.pools}
    for pool in loaded.rules.pools:
        for table, columns in _pool_inputs(pool):
            if spark.catalog.tableExists(table):
                have = {c.lower() for c in spark.table(table).columns}
                lacking = [c for c in columns if c not in have]
                if lacking:
                    _missing_input(loaded, pool, table, f"{table} lacks column {lacking[0]}")
            elif table == "k8s_nodes" and "kubernetes" not in methods:
                spark.sql(_empty_select(_K8S_NODES)).createOrReplaceTempView(table)
                created.append(table)
            else:
                _missing_input(loaded, pool, table, f"Spark has no table {table}")
    return created


# table → (the columns a pool's SQL reads, as created in DuckDB): what a caller registers
_K8S_NODES = exp.Schema(
    this=exp.to_table("k8s_nodes"),
    expressions=[
        exp.ColumnDef(this=exp.to_identifier(n), kind=exp.DataType.build(t))
        for n, t in (
            ("node_resource_id", "VARCHAR"),
            ("cluster", "VARCHAR"),
            ("node", "VARCHAR"),
            ("cpu_cores", "DOUBLE"),
            ("memory_bytes", "DOUBLE"),
            ("gpus", "DOUBLE"),
        )
    ],
)
_K8S_SAMPLES_READ = (
    "window_start", "window_hours", "cluster", "node", "node_resource_id", "namespace", "pod",
    "container", "labels", "cpu_request", "cpu_usage", "memory_request", "memory_usage",
    "gpu_request", "gpu_usage",
)  # fmt: skip
_GPU_JOBS_READ = ("job_id", "resource_id", "started_at", "ended_at", "gpu_count", "node_gpus")
_LOAD_HINTS = {
    "allocation_metrics": "costline metrics load FILE",
    "gpu_jobs": "costline gpu load FILE (or --from-k8s)",
    "k8s_samples": "costline k8s load FILE",
    "k8s_nodes": "costline k8s load --kind nodes FILE",
}


def _pool_inputs(pool: Pool) -> list[tuple[str, tuple[str, ...]]]:
    """The tables (and their columns) a pool's weights read besides the cost rows."""
    nodes = tuple(d.name for d in _K8S_NODES.expressions)
    if pool.method == "metric":
        return [("allocation_metrics", ("metric", "date", "team", "value"))]
    if pool.method == "kubernetes":
        return [("k8s_samples", _K8S_SAMPLES_READ), ("k8s_nodes", nodes)]
    if pool.method == "gpu":
        owner = gpu.column_sql(gpu.settings_of(pool).owner).split(".", 1)[1].split("[")[0]
        return [("gpu_jobs", (*_GPU_JOBS_READ, owner)), ("k8s_nodes", ("node_resource_id", "gpus"))]
    return []


def _missing_input(loaded: LoadedRules, pool: Pool, table: str, what: str) -> None:
    path, line = loaded.locate(f"pool:{pool.id}")
    raise ConfigError(
        f"pool {pool.id!r} (method {pool.method}) reads table {table}, but {what}",
        path=path,
        line=line,
        hint=f"load it in the DuckDB warehouse ({_LOAD_HINTS[table]}), export it (COPY {table} "
        f"TO '{table}.parquet' (FORMAT parquet)) and register it before allocate_spark: "
        f"spark.read.parquet('{table}.parquet').createOrReplaceTempView('{table}'); see "
        "docs/how-to/spark-allocation.md#kubernetes-gpu-and-metric-pools",
    )


def _materialize(spark: SparkSession, statement: SparkStatement) -> None:
    assert statement.view is not None
    frame = spark.sql(statement.query).localCheckpoint(eager=True)
    frame.createOrReplaceTempView(statement.view)


def _execute(spark: SparkSession, plan: Plan, loaded: LoadedRules) -> DataFrame:
    _materialize(spark, translate(plan.teams_sql))
    _materialize(spark, translate(plan.rows_sql))
    _check_overlap(spark, loaded, plan)
    _materialize(spark, translate(plan.parts_sql))
    for step in plan.steps:
        _materialize(spark, translate(step.ratio_sql))
        _materialize(spark, translate(step.parts_sql))
    output = translate(plan.output_sql)
    names = [c.name for c in STORE_COLUMNS] + [n for n, _ in ALLOCATION_COLUMNS]
    types = {c.name: c.sql_type for c in STORE_COLUMNS} | dict(ALLOCATION_COLUMNS)
    typed = [
        f"`{n}`"
        if types[n].startswith("TIMESTAMP")
        else f"CAST(`{n}` AS {spark_type(types[n])}) AS `{n}`"
        for n in names
    ]
    return spark.sql(output.query).selectExpr(*typed).localCheckpoint(eager=True)


def _check_overlap(spark: SparkSession, loaded: LoadedRules, plan: Plan) -> None:
    """Two pools selecting one row is a rules error (as on DuckDB), named with file and line."""
    row = spark.sql("SELECT count(*), min(x_ChargeId) FROM _a_rows WHERE _pool_hits > 1").collect()[
        0
    ]
    if not row[0]:
        return
    pools = loaded.rules.pools
    tags = referenced_tags([p.select for p in pools], [])
    ctx = Context(tag_exprs={t: ident(f"_t:{t}") for t in tags}, vtag_cols=plan.vtag_columns)
    flags = ", ".join(f"{condition_sql(p.select, ctx)} AS p{i}" for i, p in enumerate(pools))
    query = f"SELECT {flags} FROM _a_rows WHERE x_ChargeId = {int(row[1])}"
    values = spark.sql(_duckdb_to_spark(query)).collect()[0]
    hits = [p.id for i, p in enumerate(pools) if values[i]]
    path, line = loaded.locate(f"pool:{hits[-1]}" if hits else "pools")
    raise ConfigError(
        f"pools {' and '.join(repr(h) for h in hits)} both select the same rows "
        f"({row[0]} rows, e.g. charge {row[1]})",
        path=path,
        line=line,
        hint="narrow one pool's `select` (e.g. add a `not:` condition) so a row joins one pool",
    )


def _sums(spark: SparkSession, table: str, count: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    sums = ", ".join(f"SUM(`{c}`)" for c in SPLIT_COLUMNS)
    keys = ", ".join(_KEYS)
    rows = spark.sql(f"SELECT {keys}, {count}, {sums} FROM {table} GROUP BY {keys}").collect()
    return {tuple(r[: len(_KEYS)]): tuple(r[len(_KEYS) :]) for r in rows}


def _conservation(spark: SparkSession, frame: DataFrame) -> list[dict[str, Any]]:
    """Σ allocated = Σ source per billing period, provider and currency, in every split column."""
    frame.createOrReplaceTempView("_a_out")
    src = _sums(spark, COST_VIEW, "count(*)")
    dst = _sums(spark, "_a_out", "count(DISTINCT x_ChargeId)")
    if src != dst:
        bad = sorted(set(src) ^ set(dst) | {k for k in src if src[k] != dst.get(k)}, key=str)
        raise AllocationError(
            f"allocated cost does not add up to the source cost for {bad[0]}",
            hint="this is a bug in costline: please report it with the rules file",
        )
    names = ["provider", "currency", "billing_period_start", "charges", *SPLIT_COLUMNS]
    return [dict(zip(names, (*k, *v), strict=True)) for k, v in sorted(src.items(), key=str)]


def cost_center_totals(frame: DataFrame, *, basis: str = "EffectiveCost") -> list[dict[str, Any]]:
    """Per cost center (team id for ``unallocated``…) and currency: Σ basis, as Decimal."""
    from pyspark.sql import functions as F

    rows = (
        frame.groupBy(
            F.coalesce(F.col("x_CostCenter"), F.col("x_Team")).alias("cc"), "BillingCurrency"
        )
        .agg(F.sum(basis).alias("amount"))
        .orderBy("cc", "BillingCurrency")
        .collect()
    )
    return [{"cost_center": r[0], "currency": r[1], "amount": r[2]} for r in rows]


__all__ = [
    "COST_VIEW",
    "ROWID",
    "SparkAllocation",
    "SparkStatement",
    "allocate_spark",
    "cost_center_totals",
    "spark_type",
    "to_spark",
    "translate",
]
