"""GPU and AI workloads: a GPU node's cost split over the jobs that ran on it (pure SQL).

A ``method: gpu`` pool selects GPU node rows from the bill (instances whose ``ResourceId`` the
jobs file names). Per node and bucket (``hourly``: each charge period of the bill, at least an
hour; ``daily``: the day) with cost ``C``, bucket ``[lo, hi)`` and ``G`` GPUs on the node:

1. Each job overlapping the bucket used ``g_j = gpu_count_j × hours_j`` GPU-hours, where
   ``hours_j`` is the overlap of ``[start, end)`` with the bucket (a job with no end runs to
   the bucket's end) and ``gpu_count`` may be fractional (time-slicing ``0.5``, MIG ``1/7``).
2. Capacity is ``K = G × H`` GPU-hours, ``H`` the bucket's hours (``node_hours: bucket``) or
   the span from the first job's start to the last job's end in it (``node_hours: jobs``, for
   nodes started per job). Used is ``U = Σ g_j``; ``D = max(K, U)`` (jobs are scaled down only
   when they claim more than the node has).
3. ``idle: keep``: job *j* gets ``C · g_j / D`` and the idle recipient gets
   ``C · max(K − U, 0) / D``. ``idle: share``: job *j* gets ``C · g_j / U``. A bucket without
   jobs is idle either way. The idle recipient is ``idle:<pool id>`` (``idle:gpu`` for a pool
   named ``gpu``), or the team ``gpu.idle.to`` names.
4. Jobs reach teams through the pool's ``owner`` column (``team`` by default); a value that is
   not a team in owners.yaml goes to ``unallocated``.

Node rows the jobs file does not know (no GPU capacity for their ``ResourceId``) get no weights:
the engine sends them to ``unallocated:<pool>`` and the run reports them. Spot interruptions
are charged to the job's owner like any other job; :mod:`costline.allocation.gpu_report` lists
them separately.

The SQL keeps to constructs sqlglot carries to Spark SQL (no lambdas, no ``GROUP BY ALL``).

Example:
    >>> from costline.config.allocation import Pool
    >>> pool = Pool.model_validate({"id": "gpu", "method": "gpu",
    ...     "select": {"column": "ServiceName", "equals": "Amazon EC2"}})
    >>> key_exprs(pool)
    ['BillingPeriodStart', '"ResourceId"', 'ChargePeriodStart']
"""

from __future__ import annotations

import datetime as dt

from costline.allocation.gpu_jobs import JOB_ALIASES, ensure_gpu_tables, load_jobs
from costline.allocation.sql import ident, lit
from costline.config.allocation import POOL_PREFIX, UNALLOCATED, GpuSettings, Pool, RuleSet

IDLE_PREFIX = "idle:"
# NOTE: before gpu.idle.to every gpu pool's idle went to "idle:gpu"; parts published then
# still carry it, and the reports read them as the pool's idle (see gpu_report).
LEGACY_IDLE = "idle:gpu"
WEIGHT_UNITS = 1e12  # weights are integers: units of 1e-12 of a node bucket's cost
# Bill columns a gpu pool reads besides its keys (the publishing plan keeps them in _a_rows).
ROW_COLUMNS = ("ResourceId", "ChargePeriodStart", "ChargePeriodEnd")
# Jobs-table columns an ``owner`` / ``model`` setting may name (else: a label of that name).
_TEXT_COLUMNS = ("job_id", "team", "resource_id", "instance_type", "gpu_model", "model", "kind")


def settings_of(pool: Pool) -> GpuSettings:
    if pool.method != "gpu":
        raise ValueError(f"pool {pool.id!r} is not a gpu pool")
    return pool.gpu or GpuSettings()


def idle_recipient(pool: Pool) -> str:
    """Who gets a gpu pool's idle GPU-hours: ``gpu.idle.to``, else ``idle:<pool id>``.

    Example:
        >>> idle_recipient(Pool.model_validate({"id": "training", "method": "gpu",
        ...     "select": {"column": "ServiceName", "equals": "Amazon EC2"}}))
        'idle:training'
    """
    return settings_of(pool).idle.to or f"{IDLE_PREFIX}{pool.id}"


def _bucket_key(settings: GpuSettings) -> str:
    # NOTE: hourly keys on the charge's own start, so a daily bill is split per day and an
    # hourly one per hour; the bucket's end comes from ChargePeriodEnd (see model_ctes).
    return (
        "ChargePeriodStart"
        if settings.granularity == "hourly"
        else "CAST(ChargePeriodStart AS DATE)"
    )


def key_exprs(pool: Pool) -> list[str]:
    """The engine's split keys for a gpu pool: billing period, node resource id, bucket."""
    return ["BillingPeriodStart", ident("ResourceId"), _bucket_key(settings_of(pool))]


def column_sql(name: str, *, table: str = "j") -> str:
    """A jobs-table column named in the settings (aliases allowed), else the label ``name``."""
    folded = name.strip().lower()
    for canonical, aliases in JOB_ALIASES.items():
        if canonical in _TEXT_COLUMNS and folded in aliases:
            return f"{table}.{canonical}"
    return f"{table}.labels[{lit(name)}]"


def model_ctes(settings: GpuSettings, *, rows: str, teams: str) -> list[str]:
    """CTEs from a pool's bill rows and the jobs to GPU-hours per job (``jh``) and node (``nd``).

    ``rows`` is a FROM source of bill rows (``BillingPeriodStart``, ``ResourceId``,
    ``ChargePeriodStart``, ``ChargePeriodEnd``); ``teams`` a source with a ``team`` column.

    * ``gb``: per key ``(k0, k1, k2)`` the bucket ``[lo, hi)``: from the bucket's start to at
      least one granule later, further if a charge period of its rows ends later;
    * ``jh``: one row per job and key it overlaps: ``gh`` GPU-hours, ``recipient`` team;
    * ``nd``: per key with known capacity: ``used`` (Σ gh), ``cap_gh``, ``d = max(cap_gh,
      used)`` and ``idle_gh = max(cap_gh − used, 0)``.
    """
    key = _bucket_key(settings)
    lo = "k2" if settings.granularity == "hourly" else "CAST(k2 AS TIMESTAMP)"
    step = "INTERVAL 1 HOUR" if settings.granularity == "hourly" else "INTERVAL 1 DAY"
    rid = ident("ResourceId")
    bucket_hours = "CAST(date_diff('second', b.lo, b.hi) AS DOUBLE) / 3600.0"
    if settings.node_hours == "jobs":
        node_hours = (
            f"CASE WHEN ju.used IS NULL THEN {bucket_hours} "
            "ELSE CAST(date_diff('second', ju.s0, ju.e1) AS DOUBLE) / 3600.0 END"
        )
    else:
        node_hours = bucket_hours
    owner = column_sql(settings.owner)
    return [
        f"gk AS (SELECT BillingPeriodStart AS k0, {rid} AS k1, {key} AS k2, "
        f"MAX(ChargePeriodEnd) AS c1 FROM {rows} GROUP BY BillingPeriodStart, {rid}, {key})",
        f"gb AS (SELECT k0, k1, k2, lo, CASE WHEN c1 IS NOT NULL AND c1 > lo + {step} THEN c1 "
        f"ELSE lo + {step} END AS hi FROM (SELECT k0, k1, k2, c1, {lo} AS lo FROM gk) x)",
        # capacity: GPUs per node from the jobs file, else a Kubernetes nodes file
        "gc AS (SELECT rid, MAX(gpus) AS gpus FROM (SELECT resource_id AS rid, node_gpus AS gpus "
        "FROM gpu_jobs UNION ALL SELECT node_resource_id AS rid, gpus FROM k8s_nodes "
        "WHERE gpus > 0) x GROUP BY rid)",
        f"gt AS (SELECT team, lower(team) AS f FROM {teams})",
        f"gj AS (SELECT j.job_id, j.started_at, j.ended_at, j.resource_id, j.gpu_count, "
        f"NULLIF(trim({owner}), '') AS owner FROM gpu_jobs j)",
        "gr AS (SELECT gj.*, COALESCE(te.team, tf.team, " + lit(UNALLOCATED) + ") AS recipient "
        "FROM gj LEFT JOIN gt te ON te.team = gj.owner LEFT JOIN (SELECT f, MIN(team) AS team "
        "FROM gt GROUP BY f) tf ON tf.f = lower(gj.owner))",
        "jo AS (SELECT b.k0, b.k1, b.k2, r.job_id, r.started_at, r.recipient, r.gpu_count, "
        "CASE WHEN r.started_at > b.lo THEN r.started_at ELSE b.lo END AS s, "
        "CASE WHEN r.ended_at IS NOT NULL AND r.ended_at < b.hi THEN r.ended_at ELSE b.hi END "
        "AS e FROM gb b JOIN gr r ON r.resource_id = b.k1 AND r.started_at < b.hi "
        "AND (r.ended_at IS NULL OR r.ended_at > b.lo))",
        "jh AS (SELECT k0, k1, k2, job_id, started_at, recipient, s, e, "
        "gpu_count * CAST(date_diff('second', s, e) AS DOUBLE) / 3600.0 AS gh FROM jo "
        "WHERE e > s)",
        "ju AS (SELECT k0, k1, k2, SUM(gh) AS used, MIN(s) AS s0, MAX(e) AS e1 FROM jh "
        "GROUP BY k0, k1, k2)",
        f"nk AS (SELECT b.k0, b.k1, b.k2, COALESCE(ju.used, 0.0) AS used, "
        f"gc.gpus * ({node_hours}) AS cap_gh FROM gb b JOIN gc ON gc.rid = b.k1 "
        "LEFT JOIN ju ON ju.k0 = b.k0 AND ju.k1 = b.k1 AND ju.k2 = b.k2)",
        "nd AS (SELECT k0, k1, k2, used, cap_gh, GREATEST(cap_gh, used) AS d, "
        "GREATEST(cap_gh - used, 0.0) AS idle_gh FROM nk)",
    ]


def _branches(settings: GpuSettings, *, idle_to: str) -> list[str]:
    """SELECTs of (k0, k1, k2, recipient, w) with w the fraction of the node bucket's cost."""
    on = "n.k0 = j.k0 AND n.k1 = j.k1 AND n.k2 = j.k2"
    idle = lit(idle_to)
    if settings.idle.mode == "share":
        return [
            "SELECT j.k0, j.k1, j.k2, j.recipient, CASE WHEN n.used > 0 THEN j.gh / n.used "
            f"ELSE 0.0 END AS w FROM jh j JOIN nd n ON {on}",
            f"SELECT k0, k1, k2, {idle} AS recipient, 1.0 AS w FROM nd WHERE used <= 0",
        ]
    return [
        "SELECT j.k0, j.k1, j.k2, j.recipient, CASE WHEN n.d > 0 THEN j.gh / n.d ELSE 0.0 END "
        f"AS w FROM jh j JOIN nd n ON {on}",
        f"SELECT k0, k1, k2, {idle} AS recipient, CASE WHEN used <= 0 THEN 1.0 "
        "ELSE idle_gh / d END AS w FROM nd WHERE used <= 0 OR idle_gh > 0",
    ]


def weights_sql(pool: Pool, period: dt.date, *, rules: RuleSet | None = None) -> str:
    """``SELECT k0, k1, k2, recipient, w`` for a gpu pool (run inside an allocation).

    Reads ``_a_rows`` (the pool's rows), ``_a_teams``, ``gpu_jobs`` and ``k8s_nodes``. Per node
    key the weights are the recipients' fractions of the key's cost in integer units of 1e-12
    (``DECIMAL(38, 0)``); keys of nodes with no known GPU capacity get none, so the engine sends
    them to ``unallocated:<pool>``. ``period`` and ``rules`` are unused (the rows carry the
    period, the owner column is a setting); they keep the pool-method signature.
    """
    settings = settings_of(pool)
    rows = f"_a_rows WHERE _pool = {lit(POOL_PREFIX + pool.id)}"
    ctes = model_ctes(settings, rows=rows, teams="_a_teams")
    units = f"FLOOR(SUM(w) * CAST({WEIGHT_UNITS!r} AS DOUBLE) + 0.5)"
    return (
        "WITH "
        + ",\n".join(ctes)
        + f"\nSELECT k0, k1, k2, recipient, CAST(CAST({units} AS BIGINT) AS DECIMAL(38, 0)) AS w "
        + "FROM (\n"
        + "\nUNION ALL\n".join(_branches(settings, idle_to=idle_recipient(pool)))
        + f"\n) u GROUP BY k0, k1, k2, recipient HAVING {units} > 0"
    )


def gpu_pools(rules: RuleSet) -> list[Pool]:
    """The rule set's ``method: gpu`` pools, in file order."""
    return [p for p in rules.pools if p.method == "gpu"]


__all__ = [
    "IDLE_PREFIX",
    "LEGACY_IDLE",
    "ROW_COLUMNS",
    "column_sql",
    "ensure_gpu_tables",
    "gpu_pools",
    "idle_recipient",
    "key_exprs",
    "load_jobs",
    "model_ctes",
    "settings_of",
    "weights_sql",
]
