"""A rule set + a period → the SQL statements that allocate it (pure: no I/O here).

The plan, in order (temp tables, then one write):

1. ``_a_rows``: the period's cost rows, each with its charge id (the cost table's ``rowid``), the
   canonical tag values the rules read, every virtual tag and the rule that set it, the pool
   whose ``select`` took it, and its owner: a pool, a known team, or ``unallocated``.
2. Per pool, in waterfall order: a ratio table (recipient shares per billing period, partition
   and day), then the parts owned by the pool are split over it. A recipient may be another
   pool, which is split in its own later step. A pool with no driver in a partition sends the
   cost to ``unallocated:<pool>``.
3. Direct rows and the final parts are written to ``allocated_cost``.

Money is split by *cumulative rounding*: recipient *i* of a charge gets
``round(c × H_i) − round(c × H_{i−1})`` where ``H`` is the running sum of the ratios (the last
``H`` is exactly 1 and takes ``c`` itself). The parts telescope, so they sum to ``c`` exactly,
and each differs from ``c × ratio`` by less than one unit of the 10th decimal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from costline.allocation import gpu, kubernetes
from costline.allocation.sql import (
    Context,
    TagSql,
    condition_sql,
    ident,
    lit,
    referenced_tags,
    tag_exprs,
    value_sql,
)
from costline.config.allocation import (
    POOL_PREFIX,
    UNALLOCATED,
    Condition,
    OwnersRegistry,
    Pool,
    RuleSet,
    ValueFrom,
)
from costline.config.rules_loader import pool_order
from costline.schema.focus import STORE_COLUMNS

# Columns split between recipients (amounts and quantities; unit prices are not split).
SPLIT_COLUMNS: tuple[str, ...] = (
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "PricingCurrencyEffectiveCost",
    "ConsumedQuantity",
    "PricingQuantity",
    "CommitmentDiscountQuantity",
    "x_Discounts",
)
COST_COLUMNS: tuple[str, ...] = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
OVERRIDDEN = ("AllocatedMethodId", "AllocatedMethodDetails", "AllocatedTags")

ALLOCATION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("x_ChargeId", "BIGINT"),
    ("x_Team", "VARCHAR"),
    ("x_CostCenter", "VARCHAR"),
    ("x_Department", "VARCHAR"),
    ("x_BusinessUnit", "VARCHAR"),
    ("x_RuleId", "VARCHAR"),
    ("x_RuleVersion", "VARCHAR"),
    ("x_AllocationRunId", "VARCHAR"),
    ("x_AllocationPath", "VARCHAR"),
    ("x_VirtualTags", "MAP(VARCHAR, VARCHAR)"),
)


RUNS_DDL = """CREATE TABLE IF NOT EXISTS _allocation_runs (
    run_id VARCHAR PRIMARY KEY, period DATE, rules_version VARCHAR, rules_files VARCHAR,
    started_at TIMESTAMP, finished_at TIMESTAMP, rows_in BIGINT, rows_out BIGINT,
    published BOOLEAN, report VARCHAR)"""

METRICS_DDL = """CREATE TABLE IF NOT EXISTS allocation_metrics (
    metric VARCHAR NOT NULL, date DATE NOT NULL, team VARCHAR NOT NULL, value DOUBLE NOT NULL,
    source_file VARCHAR)"""


def next_month(period: dt.date) -> dt.date:
    return dt.date(period.year + period.month // 12, period.month % 12 + 1, 1)


def period_filter(period: dt.date) -> str:
    return (
        f"BillingPeriodStart >= TIMESTAMP '{period.isoformat()}' "
        f"AND BillingPeriodStart < TIMESTAMP '{next_month(period).isoformat()}'"
    )


@dataclass
class PoolStep:
    pool: Pool
    ratio_table: str
    ratio_sql: str
    parts_sql: str


@dataclass
class Plan:
    """The statements of one allocation run, with what the runner reports on."""

    rows_sql: str
    teams_sql: str
    parts_sql: str
    steps: list[PoolStep]
    output_sql: str
    parts_table: str
    owner_vtag: str
    vtag_columns: dict[str, str] = field(default_factory=dict)


def _conditions(rules: RuleSet) -> tuple[list[Condition], list[ValueFrom]]:
    conds = [r.when for vt in rules.virtual_tags for r in vt.rules if r.when is not None]
    conds += [p.select for p in rules.pools]
    vfs = [r.value_from for vt in rules.virtual_tags for r in vt.rules if r.value_from]
    return conds, vfs


def _key_exprs(pool: Pool) -> list[str]:
    """The columns a pool's split is computed within, as SQL over a row or part."""
    if pool.method == "kubernetes":  # -- Kubernetes: keys owned by allocation/kubernetes.py
        return kubernetes.key_exprs(pool)
    if pool.method == "gpu":  # -- GPU: keys owned by allocation/gpu.py
        return gpu.key_exprs(pool)
    bucket = ["CAST(ChargePeriodStart AS DATE)"] if pool.granularity == "daily" else []
    if pool.method == "metric":
        return ["BillingPeriodStart", *bucket]
    return ["BillingPeriodStart", *(ident(c) for c in pool.partition), *bucket]


def rule_context(rules: RuleSet, raw_tag_keys: list[str]) -> tuple[dict[str, TagSql], Context]:
    """The tags the rules read (how each is read) and where rules find them: tag ``x`` in
    column ``"_t:x"``, virtual tag ``y`` in column ``"_v:y"``."""
    conds, vfs = _conditions(rules)
    tags = tag_exprs(rules.tags, referenced_tags(conds, vfs), raw_tag_keys)
    return tags, Context(
        tag_exprs={name: ident(f"_t:{name}") for name in tags},
        vtag_cols={vt.key: ident(f"_v:{vt.key}") for vt in rules.virtual_tags},
    )


def tag_layers(tags: dict[str, TagSql], source: str, *, grouped: bool = False) -> list[str]:
    """CTEs ``l1`` (folded canonical tag values) and ``l2`` (aliases applied: ``"_t:x"``).

    Over cost rows the raw value is read here; over groups (``grouped``) it is the group key
    column ``"_tr:x"`` already (folding and aliases then run once per group).
    """
    return [
        "l1 AS (SELECT *"
        + "".join(
            f", {t.folded(ident(f'_tr:{n}') if grouped else t.raw)} AS {ident(f'_traw:{n}')}"
            for n, t in tags.items()
        )
        + f" FROM {source})",
        "l2 AS (SELECT *"
        + "".join(
            f", {t.aliased(ident(f'_traw:{n}'))} AS {ident(f'_t:{n}')}" for n, t in tags.items()
        )
        + " FROM l1)",
    ]


def owner_select(
    rules: RuleSet,
    owners: OwnersRegistry,
    ctx: Context,
    source: str,
    *,
    head: str = "SELECT *, ",
    pool_conditions: dict[str, str] | None = None,
) -> str:
    """CTEs over ``source`` (with tag columns) evaluating the virtual tags, then a SELECT that
    adds ``_pool`` (the pool whose ``select`` took the row), ``_pool_hits``, ``_owner`` (a pool,
    a known team, or ``unallocated``) and ``_rule`` (what decided the owner).

    ``pool_conditions`` replaces a pool's ``select`` by SQL over ``source`` (a column computed
    earlier); ``head`` starts the final SELECT list.
    """
    vtag_cols = ctx.vtag_cols
    layers: list[str] = []
    prev = source
    for i, vt in enumerate(rules.virtual_tags):
        # One CASE per virtual tag yields value and rule id together (conditions run once).
        packed = " ".join(
            f"WHEN {condition_sql(r.when, ctx) if r.when else 'TRUE'} THEN "
            f"{{'v': {lit(r.value) if r.value is not None else value_sql(r.value_from, ctx)}, "  # type: ignore[arg-type]
            f"'r': {lit(r.id)}}}"
            for r in vt.rules
        )
        pk = ident(f"_vp:{vt.key}")
        layers.append(f"p{i} AS (SELECT *, CASE {packed} END AS {pk} FROM {prev})")
        # A value_from that yields NULL/empty falls back to the default.
        layers.append(
            f"v{i} AS (SELECT *, COALESCE(NULLIF({pk}.v, ''), {lit(vt.default)}) "
            f"AS {vtag_cols[vt.key]}, {pk}.r AS {ident(f'_vr:{vt.key}')} FROM p{i})"
        )
        prev = f"v{i}"

    owner_vtag = rules.owner.vtag
    owner_col = vtag_cols.get(owner_vtag)
    pools = rules.pools
    chosen = pool_conditions or {}
    selects = [chosen.get(p.id) or condition_sql(p.select, ctx) for p in pools]
    pool_case = (
        "CASE "
        + " ".join(
            f"WHEN {sel} THEN {lit(POOL_PREFIX + p.id)}"
            for p, sel in zip(pools, selects, strict=True)
        )
        + " ELSE NULL END"
        if pools
        else "CAST(NULL AS VARCHAR)"
    )
    pool_hits = (
        " + ".join(f"CASE WHEN {sel} THEN 1 ELSE 0 END" for sel in selects)
        if len(pools) > 1
        else "0"
    )
    team_ids = sorted(owners.teams())
    team_ok = (
        f"{owner_col} IN ({', '.join(lit(t) for t in team_ids)})"
        if owner_col and team_ids
        else "FALSE"
    )
    owner_rule = ident(f"_vr:{owner_vtag}") if owner_col else "NULL"
    return (
        "".join(f"{layer},\n" for layer in layers)
        + f"sel AS (SELECT *, {pool_case} AS _pool, {pool_hits} AS _pool_hits, "
        + f"{team_ok} AS _known FROM {prev})\n"
        + head
        + f"COALESCE(_pool, CASE WHEN _known THEN {owner_col or 'NULL'} "
        + f"ELSE {lit(UNALLOCATED)} END)"
        + " AS _owner, "
        + f"CASE WHEN _pool IS NOT NULL THEN _pool WHEN _known THEN {owner_rule} "
        + f"WHEN {owner_col or 'NULL'} IS NULL OR {owner_col or 'NULL'} = {lit(UNALLOCATED)} "
        + f"THEN {lit('default:' + owner_vtag)} ELSE {lit('unknown-team')} END AS _rule "
        + "FROM sel"
    )


def teams_table_sql(owners: OwnersRegistry) -> str:
    """The temp table ``_a_teams``: team → cost center, department, business unit."""
    team_rows = [
        f"({lit(tid)}, {lit(info.team.cost_center)}, {lit(info.department)}, "
        f"{lit(info.business_unit)})"
        for tid, info in sorted(owners.teams().items())
    ]
    if not team_rows:
        return (
            "CREATE OR REPLACE TEMP TABLE _a_teams (team VARCHAR, cost_center VARCHAR, "
            "department VARCHAR, business_unit VARCHAR)"
        )
    return (
        "CREATE OR REPLACE TEMP TABLE _a_teams AS SELECT * FROM (VALUES "
        + ", ".join(team_rows)
        + ") t(team, cost_center, department, business_unit)"
    )


def build_plan(
    rules: RuleSet,
    owners: OwnersRegistry,
    *,
    period: dt.date,
    raw_tag_keys: list[str],
    run_id: str,
    version: str,
    source: str = "cost",
    out_table: str = "allocated_cost",
    charge_id: str = "rowid",
) -> Plan:
    """Compile a validated rule set for one billing period (first day of the month), charge by
    charge (the Spark run; a DuckDB run groups the charges first, see ``publish.py``).

    ``charge_id`` is the expression naming each charge (the cost table's ``x_ChargeId``).
    """
    tags, ctx = rule_context(rules, raw_tag_keys)
    vtag_cols = dict(ctx.vtag_cols)
    layers = [
        # Store columns by name: a cost table enriched by earlier runs has x_ChargeId etc.
        f"l0 AS (SELECT {charge_id} AS x_ChargeId, "
        f"{', '.join(ident(c.name) for c in STORE_COLUMNS)} "
        f"FROM {source} WHERE {period_filter(period)})",
        *tag_layers(tags, "l0"),
    ]
    rows_sql = (
        "CREATE OR REPLACE TEMP TABLE _a_rows AS WITH "
        + ",\n".join(layers)
        + ",\n"
        + owner_select(rules, owners, ctx, "l2")
    )
    owner_vtag = rules.owner.vtag

    teams_sql = teams_table_sql(owners)

    carried = ["x_ChargeId", *(c.name for c in STORE_COLUMNS), *vtag_cols.values(), "_rule"]
    carried_sql = ", ".join(c if c.startswith('"') else ident(c) for c in carried)
    parts = "_a_parts_0"
    first_parts = (
        f"CREATE OR REPLACE TEMP TABLE {parts} AS SELECT {carried_sql}, _owner, "
        f"CAST(1.0 AS DOUBLE) AS _ratio, '' AS _steps, _owner AS _path, {NO_RESOURCE} "
        f"FROM _a_rows WHERE _pool IS NOT NULL"
    )
    steps: list[PoolStep] = []
    for i, pool in enumerate(pool_order(rules.pools)):
        ratio_table = f"_a_ratio_{i}"
        ratio_sql = _ratio_sql(pool, ratio_table, parts, period, rules=rules)
        nxt = f"_a_parts_{i + 1}"
        steps.append(
            PoolStep(
                pool, ratio_table, ratio_sql, _split_sql(pool, ratio_table, parts, nxt, carried)
            )
        )
        parts = nxt

    output_sql = _output_sql(
        out_table=out_table,
        parts=parts,
        vtag_cols=vtag_cols,
        run_id=run_id,
        version=version,
        owner_vtag=owner_vtag,
    )
    return Plan(
        rows_sql=rows_sql,
        teams_sql=teams_sql,
        parts_sql=first_parts,
        steps=steps,
        output_sql=output_sql,
        parts_table=parts,
        owner_vtag=owner_vtag,
        vtag_columns=vtag_cols,
    )


def _recipient_filter(pool: Pool) -> str:
    listed = pool.recipients()
    parts = []
    if listed is not None:
        parts.append(f"_owner IN ({', '.join(lit(r) for r in listed)})")
    else:
        parts.append(f"_owner NOT LIKE '{POOL_PREFIX}%' AND _owner <> {lit(UNALLOCATED)}")
    if pool.exclude:
        parts.append(f"_owner NOT IN ({', '.join(lit(r) for r in pool.exclude)})")
    return " AND ".join(parts)


# The resource a part was allocated to (AllocatedResourceId/Name), where its pool names one
# (kubernetes: the namespace); NULL: the cost row's own resource.
NO_RESOURCE = "CAST(NULL AS VARCHAR) AS _res_id, CAST(NULL AS VARCHAR) AS _res_name"


def _ratio_sql(
    pool: Pool, table: str, parts: str, period: dt.date, *, rules: RuleSet | None = None
) -> str:
    """Recipient shares per key: (k0.., recipient, res_id, res_name, w, ratio, lo, hi) with hi
    of the last = 1. A recipient has one row per resource (kubernetes) or one with NULLs."""
    keys = _key_exprs(pool)
    kcols = [f"k{i}" for i in range(len(keys))]
    key_select = ", ".join(f"{e} AS {k}" for e, k in zip(keys, kcols, strict=True))
    me = lit(POOL_PREFIX + pool.id)
    if pool.method == "proportional":
        col = ident(pool.driver.cost_column)
        weights = (
            f"SELECT {key_select}, _owner AS recipient, SUM({col}) AS w "
            f"FROM _a_rows WHERE {_recipient_filter(pool)} "
            f"GROUP BY ALL HAVING SUM({col}) > 0"
        )
    elif pool.method == "even" and pool.recipients() is None:
        weights = (
            f"SELECT {key_select}, _owner AS recipient, CAST(1 AS {_WEIGHT}) AS w "
            f"FROM _a_rows WHERE {_recipient_filter(pool)} GROUP BY ALL"
        )
    elif pool.method == "kubernetes":  # -- Kubernetes: weights from allocation/kubernetes.py
        weights = kubernetes.weights_sql(pool, period, rules=rules)
    elif pool.method == "gpu":  # -- GPU: weights from allocation/gpu.py
        weights = gpu.weights_sql(pool, period, rules=rules)
    elif pool.method in ("even", "fixed"):
        listed = [r for r in pool.recipients() or [] if r not in pool.exclude]
        shares = pool.shares or {}
        values = ", ".join(
            f"({lit(r)}, CAST({format(shares.get(r, Decimal(1)), 'f')} AS {_WEIGHT}))"
            for r in listed
        )
        weights = (
            f"SELECT k.*, v.recipient, v.w FROM (SELECT DISTINCT {key_select} FROM {parts} "
            f"WHERE _owner = {me}) k CROSS JOIN (VALUES {values}) v(recipient, w) WHERE v.w > 0"
        )
    else:  # metric
        assert pool.driver.metric is not None
        bucket = (
            "CAST(date AS DATE)"
            if pool.granularity == "daily"
            else f"TIMESTAMP '{period.isoformat()}'"
        )
        chosen = pool.recipients()
        only = f" AND team IN ({', '.join(lit(r) for r in chosen)})" if chosen else ""
        excl = (
            f" AND team NOT IN ({', '.join(lit(r) for r in pool.exclude)})" if pool.exclude else ""
        )
        metric_w = _round_money("value")
        # Monthly metrics join on the period start; daily ones on the day as well.
        if pool.granularity == "daily":
            weights = (
                f"SELECT TIMESTAMP '{period.isoformat()}' AS k0, CAST(date AS DATE) AS k1, "
                f"team AS recipient, SUM({metric_w}) AS w FROM allocation_metrics "
                f"WHERE metric = {lit(pool.driver.metric)} AND {_date_in(period)}"
                f" AND team IN (SELECT team FROM _a_teams){only}{excl} "
                f"GROUP BY ALL HAVING SUM({metric_w}) > 0"
            )
        else:
            weights = (
                f"SELECT {bucket} AS k0, team AS recipient, SUM({metric_w}) AS w "
                f"FROM allocation_metrics WHERE metric = {lit(pool.driver.metric)} "
                f"AND {_date_in(period)} AND team IN (SELECT team FROM _a_teams){only}{excl} "
                f"GROUP BY ALL HAVING SUM({metric_w}) > 0"
            )
    if pool.method != "kubernetes":
        weights = (
            "SELECT *, CAST(NULL AS VARCHAR) AS res_id, CAST(NULL AS VARCHAR) AS res_name "
            f"FROM ({weights}) w0"
        )
    part = ", ".join(kcols)
    # NOTE: (recipient, res_id) is unique per key; COALESCE keeps ascending and descending
    # order mirror images on every engine (NULL placement differs between DuckDB and Spark).
    order = "recipient, COALESCE(res_id, '')"
    return (
        f"CREATE OR REPLACE TEMP TABLE {table} AS "
        f"SELECT {part}, recipient, res_id, res_name, w, hi - lo AS ratio, lo, hi FROM ("
        f" SELECT *, COALESCE(LAG(hi) OVER (PARTITION BY {part} ORDER BY {order}), "
        "CAST(0.0 AS DOUBLE)) AS lo FROM ("
        "  SELECT *, CASE WHEN _last THEN CAST(1.0 AS DOUBLE) "
        "ELSE LEAST(CAST(_cw AS DOUBLE) / CAST(_tw AS DOUBLE), CAST(1.0 AS DOUBLE)) END AS hi FROM ("
        f"   SELECT *, SUM(w) OVER (PARTITION BY {part} ORDER BY {order} "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS _cw, "
        f"SUM(w) OVER (PARTITION BY {part}) AS _tw, "
        f"ROW_NUMBER() OVER (PARTITION BY {part} ORDER BY recipient DESC, COALESCE(res_id, '') DESC) = 1 "
        "AS _last "
        f"FROM ({weights}) wt"
        "  ) b) c) d WHERE hi > lo"
    )


def _date_in(period: dt.date) -> str:
    return f"date >= DATE '{period.isoformat()}' AND date < DATE '{next_month(period).isoformat()}'"


# [spark helper, issue #3 item 8] Engine-neutral arithmetic, so that DuckDB and Spark produce
# the same parts to the last decimal (measured on 200k random charges, see
# docs/how-to/spark-allocation.md):
# * weights are DECIMAL and summed exactly; a share is CAST(cumulative weight AS DOUBLE) /
#   CAST(total AS DOUBLE). Summing DOUBLE ratios in a window depends on the engine's summation
#   order (38k of 200k running sums differed in the last bit between the engines).
# * a DOUBLE amount becomes money through BIGINT pieces (_round_money), not CAST(DOUBLE AS
#   DECIMAL): DuckDB scales the binary value, Spark goes through the shortest decimal string, and
#   5.6 % of parts differed in the 10th decimal.
_WEIGHT = "DECIMAL(38, 10)"


def _round_money(x: str) -> str:
    """The DOUBLE ``x`` rounded half up to 10 decimals, as DECIMAL(38, 10), equal on every engine.

    Integer part and fraction (``x - FLOOR(x)``, exact in IEEE arithmetic) are turned into
    integers separately, so no engine-specific DOUBLE→DECIMAL conversion is involved and the
    fraction keeps all its digits even when ``x`` is large.
    """
    # FLOOR as a DOUBLE on both engines: Spark's FLOOR returns BIGINT and raises beyond 2^63,
    # and a DOUBLE of magnitude ≥ 2^52 is whole already.
    whole = (
        f"(CASE WHEN ABS({x}) >= CAST(4503599627370496.0 AS DOUBLE) THEN {x} "
        f"ELSE CAST(FLOOR({x}) AS DOUBLE) END)"
    )
    # The integer part as two exact 32-bit halves: quantities in byte-seconds reach 1e19,
    # beyond BIGINT (found by the demo's GCP storage rows).
    hi = f"FLOOR({whole} / CAST(4294967296.0 AS DOUBLE))"
    lo = f"({whole} - {hi} * CAST(4294967296.0 AS DOUBLE))"
    integer = (
        f"CAST(CAST({hi} AS BIGINT) AS DECIMAL(19, 0)) * CAST(4294967296 AS DECIMAL(10, 0)) + "
        f"CAST(CAST({lo} AS BIGINT) AS DECIMAL(10, 0))"
    )
    fraction = (
        f"CAST(CAST(FLOOR(({x} - {whole}) * CAST(1e10 AS DOUBLE) + 0.5) AS BIGINT) "
        "AS DECIMAL(11, 0)) * CAST(0.0000000001 AS DECIMAL(10, 10))"
    )
    # [spark helper] DECIMAL(27, 0) + DECIMAL(22, 10) needs precision 38: any wider and Spark
    # keeps only 6 decimals of the sum (DuckDB keeps them all).
    return f"CAST(CAST({integer} AS DECIMAL(27, 0)) + {fraction} AS DECIMAL(38, 10))"


def split_money(c: str, lo: str, hi: str) -> str:
    """The part of amount ``c`` between cumulative ratios ``lo`` and ``hi``:
    ``round(c × hi) − round(c × lo)``, exactly ``c`` when ``lo ≤ 0`` and ``hi ≥ 1``."""
    # [spark helper] The operands are DECIMAL(37, 10): Spark gives DECIMAL(38, 10) − DECIMAL(38,
    # 10) fewer decimals (precision 39 does not fit; it keeps 6), DuckDB does not care.
    return (
        "CAST("
        f"CAST(CASE WHEN {hi} >= 1.0 THEN {c} ELSE "
        f"{_round_money(f'CAST({c} AS DOUBLE) * {hi}')} END AS DECIMAL(37, 10)) - "
        f"CAST(CASE WHEN {lo} <= 0.0 THEN CAST(0 AS DECIMAL(38, 10)) ELSE "
        f"{_round_money(f'CAST({c} AS DOUBLE) * {lo}')} END AS DECIMAL(37, 10)) "
        "AS DECIMAL(38, 10))"
    )


def _split_money(col: str) -> str:
    c = f"x.{ident(col)}"
    return f"CASE WHEN r.recipient IS NULL THEN {c} ELSE {split_money(c, 'r.lo', 'r.hi')} END"


def _split_sql(
    pool: Pool, ratio: str, parts: str, out: str, carried: list[str], *, track: bool = False
) -> str:
    """Parts owned by ``pool`` split over its ratio table; other parts pass through.

    ``track`` carries each part's cumulative ratios per step in ``_los``/``_his`` (lists), so
    a charge of a group can be split the way its group was (see ``allocation/publish.py``).
    """
    keys = _key_exprs(pool)
    on = " AND ".join(f"{_qualify(e)} IS NOT DISTINCT FROM r.k{i}" for i, e in enumerate(keys))
    me = lit(POOL_PREFIX + pool.id)
    lost = lit(f"{UNALLOCATED}:{pool.id}")
    unit = (
        pool.driver.metric
        if pool.method == "metric"
        else pool.driver.cost_column
        if pool.method == "proportional"
        else "share"
    )
    cols_keep = ", ".join(c if c.startswith('"') else ident(c) for c in carried)
    cols_split = ", ".join(
        (_split_money(c) + f" AS {ident(c)}")
        if c in SPLIT_COLUMNS
        else (f"x.{c}" if c.startswith('"') else f"x.{ident(c)}")
        for c in carried
    )
    step = (
        "'{\"x_Pool\":' || "
        + lit(f'"{pool.id}"')
        + " || ',\"x_Method\":' || "
        + lit(f'"{pool.method}"')
        + ' || \',"x_Recipient":"\' || COALESCE(r.recipient, '
        + lost
        + ') || \'","AllocatedRatio":\' || CAST(COALESCE(r.ratio, 1.0) AS VARCHAR)'
        + " || ',\"UsageUnit\":' || "
        + lit(f'"{unit}"')
        + " || ',\"UsageQuantity\":' || COALESCE(CAST(r.w AS VARCHAR), 'null') || '}'"
    )
    keep_track = ", _los, _his" if track else ""
    add_track = (
        ", list_append(x._los, COALESCE(r.lo, CAST(0.0 AS DOUBLE))) AS _los, "
        "list_append(x._his, COALESCE(r.hi, CAST(1.0 AS DOUBLE))) AS _his"
        if track
        else ""
    )
    return (
        f"CREATE OR REPLACE TEMP TABLE {out} AS "
        f"SELECT {cols_keep}, _owner, _ratio, _steps, _path, _res_id, _res_name{keep_track} "
        f"FROM {parts} WHERE _owner <> {me} "
        "UNION ALL "
        f"SELECT {cols_split}, COALESCE(r.recipient, {lost}) AS _owner, "
        "x._ratio * COALESCE(r.ratio, 1.0) AS _ratio, "
        f"x._steps || CASE WHEN x._steps = '' THEN '' ELSE ',' END || {step} AS _steps, "
        f"x._path || '>' || COALESCE(r.recipient, {lost}) AS _path, "
        "COALESCE(r.res_id, x._res_id) AS _res_id, COALESCE(r.res_name, x._res_name) AS _res_name"
        f"{add_track} FROM {parts} x LEFT JOIN {ratio} r ON {on} WHERE x._owner = {me}"
    )


def _qualify(expr: str) -> str:
    if expr.startswith('"'):
        return f"x.{expr}"
    if expr.startswith("CAST(ChargePeriodStart"):
        return "CAST(x.ChargePeriodStart AS DATE)"
    return f"x.{expr}"


def _output_sql(
    *,
    out_table: str,
    parts: str,
    vtag_cols: dict[str, str],
    run_id: str,
    version: str,
    owner_vtag: str,
) -> str:
    base_cols = [c.name for c in STORE_COLUMNS if c.name not in OVERRIDDEN]
    vmap = (
        "MAP {" + ", ".join(f"{lit(k)}: {v}" for k, v in vtag_cols.items()) + "}"
        if vtag_cols
        else "CAST(MAP() AS MAP(VARCHAR, VARCHAR))"
    )
    common = ", ".join(ident(c) for c in base_cols)
    split_common = ", ".join(
        f"COALESCE(_res_{c.removeprefix('AllocatedResource').lower()}, {ident(c)}) AS {ident(c)}"
        if c in ("AllocatedResourceId", "AllocatedResourceName")
        else ident(c)
        for c in base_cols
    )
    direct = (
        f"SELECT {common}, AllocatedMethodId, AllocatedMethodDetails, AllocatedTags, "
        "x_ChargeId, _owner AS x_Team, _rule AS x_RuleId, _rule AS x_AllocationPath, "
        f"{vmap} AS x_VirtualTags FROM _a_rows WHERE _pool IS NULL"
    )
    split = (
        f"SELECT {split_common}, 'costline:' || split_part(_path, '>', 1) AS AllocatedMethodId, "
        '\'{"Elements":[{"AllocatedRatio":\' || CAST(_ratio AS VARCHAR) || '
        "',\"x_Steps\":[' || _steps || ']}]}' AS AllocatedMethodDetails, "
        "'{\"x_Team\":\"' || _owner || '\"}' AS AllocatedTags, "
        "x_ChargeId, _owner AS x_Team, _rule AS x_RuleId, _path AS x_AllocationPath, "
        f"{vmap} AS x_VirtualTags FROM {parts}"
    )
    all_cols = [*base_cols, *OVERRIDDEN, "x_ChargeId", "x_Team", "x_RuleId", "x_AllocationPath"]
    outer = ", ".join(f"u.{ident(c)}" for c in all_cols)
    return (
        f"INSERT INTO {out_table} BY NAME SELECT {outer}, u.x_VirtualTags, "
        "t.cost_center AS x_CostCenter, t.department AS x_Department, "
        "t.business_unit AS x_BusinessUnit, "
        f"{lit(version)} AS x_RuleVersion, {lit(run_id)} AS x_AllocationRunId "
        f"FROM ({direct} UNION ALL {split}) u LEFT JOIN _a_teams t ON t.team = u.x_Team"
    )
