"""GPU reports: GPU-hours and cost per job, per model and per team, from a published run.

A job's cost is its share of what its team was allocated on the same node bucket: the team's
part of each node-bucket cost (the published ``allocation_parts`` of the gpu pool, exact
DECIMAL) is split over the team's jobs in that bucket by their GPU-hours, with the same
cumulative rounding the engine uses. So the jobs of a team add up *exactly* to the team's GPU
cost in the chargeback, and the lines of a report add up exactly to the pool's cost:

* ``job`` lines: one per job (and status, for a job whose segments ended differently);
* ``idle`` lines (``idle:<pool id>``, or the team ``gpu.idle.to`` names): capacity no job used;
  with ``idle: share`` they carry the idle GPU-hours at zero cost (the cost is in the jobs).
  Parts published before the idle recipient was configurable carry ``idle:gpu``: they are read
  as the pool's idle;
* ``unallocated`` lines (``unallocated:<pool>``): node rows with no known GPU capacity;
* ``no-jobs`` lines: a team's allocated cost whose jobs are no longer in ``gpu_jobs`` (the jobs
  file changed after the run: allocate again).

**Spot interruptions** (status ``interrupted``) are charged to the job's owner like any other
job; the team report shows their GPU-hours and cost in separate columns.

**Tokens**: per team from the metrics table (``costline metrics load``, metric ``tokens`` by
default, ``team`` = team id, dates in the period), else from a ``tokens`` column of the jobs
file; per job and model from that column. A job's tokens count in a period in proportion to the
part of its run inside the period (a job without an end: in the period it started).
``cost_per_1m_tokens = cost / tokens × 1,000,000``.

Example:
    >>> from costline.config.allocation import Pool
    >>> pool = Pool.model_validate({"id": "gpu", "method": "gpu",
    ...     "select": {"column": "ServiceName", "equals": "Amazon EC2"}})
    >>> sql = gpu_report_sql(pool, dt.date(2026, 9, 1), by="model", run_id="r1")
    >>> sql.startswith("WITH pp AS")
    True
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

import duckdb

from costline.allocation.gpu import (
    LEGACY_IDLE,
    column_sql,
    idle_recipient,
    model_ctes,
    settings_of,
)
from costline.allocation.plan import _round_money, next_month, period_filter
from costline.allocation.run import AllocationError
from costline.allocation.sql import ident, lit
from costline.config.allocation import POOL_PREFIX, UNALLOCATED, Pool
from costline.core.errors import ConfigError

By = Literal["job", "model", "team"]
BASES = ("EffectiveCost", "BilledCost", "ListCost", "ContractedCost")
MILLION = Decimal(1_000_000)

_KEYS = "k0, k1, k2, team"
_SPLIT = f"{_KEYS}, costs"  # a line that takes no cost (costs = FALSE) is not in the split


def _path_marker(pool: Pool) -> str:
    """Parts that passed the pool carry ``pool:<id>>`` in their path (ids cannot hold ``>``)."""
    return lit(f"{POOL_PREFIX}{pool.id}>")


def _lines_ctes(pool: Pool, period: dt.date, *, run_id: str, basis: str) -> list[str]:
    """Per node bucket, team and job: GPU-hours ``gh`` and ``cost`` (exact per team bucket)."""
    settings = settings_of(pool)
    run = lit(run_id)
    idle = lit(idle_recipient(pool))
    # the idle line takes a share of its recipient's amount where the engine gave idle cost:
    # always under keep, only in buckets without jobs under share
    idle_costs = "TRUE" if settings.idle.mode == "keep" else "used <= 0"
    key = (
        "ChargePeriodStart"
        if settings.granularity == "hourly"
        else "CAST(ChargePeriodStart AS DATE)"
    )
    rid = ident("ResourceId")
    return [
        f"pp AS (SELECT p.x_GroupId, CASE WHEN p.x_Team = {lit(LEGACY_IDLE)} THEN {idle} "
        f"ELSE p.x_Team END AS team, p.{ident(basis)} AS amount "
        f"FROM allocation_parts p WHERE p.x_AllocationRunId = {run} "
        f"AND strpos(p.x_AllocationPath, {_path_marker(pool)}) > 0)",
        # a gpu pool's groups keep the node's resource id and charge period (publish.py)
        f"pc AS (SELECT pp.team, pp.amount, g.BillingPeriodStart, g.{rid}, g.ChargePeriodStart, "
        "g.ChargePeriodEnd FROM pp JOIN allocation_groups g "
        f"ON g.x_AllocationRunId = {run} AND g.x_GroupId = pp.x_GroupId)",
        f"pt AS (SELECT team FROM allocation_teams WHERE run_id = {run})",
        *model_ctes(settings, rows="pc", teams="pt"),
        f"pb AS (SELECT {_KEYS}, SUM(amount) AS amount FROM (SELECT BillingPeriodStart AS k0, "
        f"{rid} AS k1, {key} AS k2, team, amount FROM pc) x GROUP BY {_KEYS})",
        # jobs, and each node bucket's idle GPU-hours as one idle line of the idle recipient
        "ln AS (SELECT k0, k1, k2, recipient AS team, FALSE AS idle, TRUE AS costs, job_id, "
        "started_at, gh FROM jh "
        f"UNION ALL SELECT k0, k1, k2, {idle} AS team, TRUE AS idle, {idle_costs} AS costs, "
        "CAST(NULL AS VARCHAR) AS job_id, CAST(NULL AS TIMESTAMP) AS started_at, "
        "idle_gh AS gh FROM nd WHERE idle_gh > 0)",
        "sp AS (SELECT COALESCE(b.k0, l.k0) AS k0, COALESCE(b.k1, l.k1) AS k1, "
        "COALESCE(b.k2, l.k2) AS k2, COALESCE(b.team, l.team) AS team, "
        "COALESCE(l.idle, FALSE) AS idle, COALESCE(l.costs, TRUE) AS costs, b.amount, "
        "l.job_id, l.started_at, l.gh FROM pb b FULL JOIN ln l ON l.k0 = b.k0 AND l.k1 = b.k1 "
        "AND l.k2 = b.k2 AND l.team = b.team AND l.costs)",
        # cumulative shares of each team bucket over its jobs (and its idle line, when the
        # team is the idle recipient), as the engine splits charges; no sort key is NULL
        # within a partition but the idle line's, which sorts last both ways (idle = TRUE)
        f"sw AS (SELECT *, CASE WHEN _last THEN 1.0 ELSE _cw / _tw END AS hi FROM (SELECT *, "
        f"SUM(gh) OVER (PARTITION BY {_SPLIT} ORDER BY idle, job_id, started_at ROWS BETWEEN "
        f"UNBOUNDED PRECEDING AND CURRENT ROW) AS _cw, SUM(gh) OVER (PARTITION BY {_SPLIT}) "
        f"AS _tw, ROW_NUMBER() OVER (PARTITION BY {_SPLIT} ORDER BY idle DESC, job_id DESC, "
        "started_at DESC) = 1 AS _last FROM sp) x)",
        f"sl AS (SELECT *, LAG(hi) OVER (PARTITION BY {_SPLIT} ORDER BY idle, job_id, "
        "started_at) AS lo FROM sw)",
        "sc AS (SELECT k0, k1, k2, team, idle, job_id, started_at, gh, CASE WHEN amount IS NULL "
        "THEN CAST(0 AS DECIMAL(38, 10)) ELSE CAST((CASE WHEN _last THEN amount ELSE "
        f"{_round_money('CAST(amount AS DOUBLE) * hi')} END) - (CASE WHEN lo IS NULL THEN "
        f"CAST(0 AS DECIMAL(38, 10)) ELSE {_round_money('CAST(amount AS DOUBLE) * lo')} END) "
        "AS DECIMAL(38, 10)) END AS cost FROM sl)",
    ]


def _jobs_ctes(pool: Pool, period: dt.date) -> list[str]:
    """Per job row: its attributes and the tokens that fall in the period."""
    settings = settings_of(pool)
    p0, p1 = f"TIMESTAMP '{period.isoformat()}'", f"TIMESTAMP '{next_month(period).isoformat()}'"
    inside = f"date_diff('second', GREATEST(j.started_at, {p0}), LEAST(j.ended_at, {p1}))"
    whole = "date_diff('second', j.started_at, j.ended_at)"
    tokens = (
        "CASE WHEN j.tokens IS NULL THEN NULL WHEN j.ended_at IS NULL THEN CASE WHEN "
        f"j.started_at >= {p0} AND j.started_at < {p1} THEN j.tokens ELSE 0.0 END "
        f"ELSE j.tokens * CAST(GREATEST({inside}, 0) AS DOUBLE) / CAST({whole} AS DOUBLE) END"
    )
    return [
        f"jt AS (SELECT j.job_id, j.started_at, j.resource_id, j.kind, j.status, "
        f"NULLIF(trim({column_sql(settings.owner)}), '') AS owner, "
        f"NULLIF(trim({column_sql(settings.model)}), '') AS model, {tokens} AS tokens "
        "FROM gpu_jobs j)",
        # a job row is (job_id, start, node): a job derived from Kubernetes samples can run
        # on several nodes in the same window
        "jl AS (SELECT s.team, s.idle, s.job_id, s.started_at, s.k1, SUM(s.gh) AS gpu_hours, "
        "SUM(s.cost) AS cost FROM sc s GROUP BY s.team, s.idle, s.job_id, s.started_at, s.k1)",
        "lj AS (SELECT CASE WHEN l.job_id IS NOT NULL THEN 'job' WHEN l.idle THEN 'idle' "
        f"WHEN starts_with(l.team, {lit(UNALLOCATED + ':')}) THEN 'unallocated' "
        "ELSE 'no-jobs' END AS line, l.team, l.job_id, l.started_at, t.owner, t.model, "
        "t.kind, t.status, t.resource_id, l.gpu_hours, l.cost, t.tokens FROM jl l "
        "LEFT JOIN jt t ON t.job_id = l.job_id AND t.started_at = l.started_at "
        "AND t.resource_id = l.k1)",
    ]


def _final_sql(by: By, period: dt.date, tokens_metric: str) -> str:
    if by == "job":
        return (
            "SELECT line, job_id, team, owner, model, kind, status, MIN(resource_id) AS "
            "resource_id, SUM(gpu_hours) AS gpu_hours, SUM(cost) AS cost, SUM(tokens) AS tokens "
            "FROM lj GROUP BY line, job_id, team, owner, model, kind, status "
            "ORDER BY cost DESC, line, job_id, team, status"
        )
    if by == "model":
        return (
            "SELECT line, model, SUM(gpu_hours) AS gpu_hours, SUM(cost) AS cost, "
            "COUNT(DISTINCT job_id) AS jobs, SUM(tokens) AS tokens FROM lj "
            "GROUP BY line, model ORDER BY cost DESC, line, model"
        )
    interrupted = "status = 'interrupted'"
    return (
        "SELECT l.line, l.team, l.gpu_hours, l.cost, l.jobs, l.interrupted_gpu_hours, "
        "l.interrupted_cost, COALESCE(m.tokens, l.tokens) AS tokens, "
        "CASE WHEN m.tokens IS NOT NULL THEN 'metric' WHEN l.tokens IS NOT NULL THEN 'jobs' "
        "END AS tokens_source FROM (SELECT MIN(line) AS line, team, SUM(gpu_hours) AS "
        "gpu_hours, SUM(cost) AS cost, COUNT(DISTINCT job_id) AS jobs, "
        f"COALESCE(SUM(CASE WHEN {interrupted} THEN gpu_hours END), 0.0) AS "
        "interrupted_gpu_hours, COALESCE(SUM(CASE WHEN "
        f"{interrupted} THEN cost END), CAST(0 AS DECIMAL(38, 10))) AS interrupted_cost, "
        # NOTE: a team that is also the idle recipient (gpu.idle.to) gets its idle on a line
        # of its own, without tokens
        "SUM(tokens) AS tokens FROM lj GROUP BY team, line = 'idle') l LEFT JOIN (SELECT "
        f"team, SUM(value) AS tokens FROM allocation_metrics WHERE metric = {lit(tokens_metric)} "
        f"AND date >= DATE '{period.isoformat()}' AND date < DATE "
        f"'{next_month(period).isoformat()}' GROUP BY team) m ON m.team = l.team "
        "AND l.line <> 'idle' ORDER BY l.cost DESC, l.team, l.line"
    )


def gpu_report_sql(
    pool: Pool,
    period: dt.date,
    *,
    by: By,
    run_id: str,
    basis: str = "EffectiveCost",
    tokens_metric: str = "tokens",
) -> str:
    """The report query for one gpu pool, month and published run.

    Columns: ``by="job"``: line, job_id, team, owner, model, kind, status, resource_id,
    gpu_hours, cost, tokens. ``by="model"``: line, model, gpu_hours, cost, jobs, tokens.
    ``by="team"``: line, team, gpu_hours, cost, jobs, interrupted_gpu_hours,
    interrupted_cost, tokens, tokens_source. Reads ``allocation_parts``, ``allocation_teams``,
    ``cost``, ``gpu_jobs``, ``k8s_nodes`` and ``allocation_metrics``.
    """
    if basis not in BASES:
        raise ConfigError(f"basis {basis!r} is not a cost column", hint=f"use one of {BASES}")
    ctes = _lines_ctes(pool, period, run_id=run_id, basis=basis) + _jobs_ctes(pool, period)
    return "WITH " + ",\n".join(ctes) + "\n" + _final_sql(by, period, tokens_metric)


def published_run(con: duckdb.DuckDBPyConnection, pool: Pool, period: dt.date) -> str:
    """The run whose parts of the gpu pool are published for the period.

    Raises:
        AllocationError: the period has no published parts of this pool.
    """
    row = con.execute(
        f"SELECT max(x_AllocationRunId) FROM allocation_parts WHERE {period_filter(period)} "
        f"AND strpos(x_AllocationPath, {_path_marker(pool)}) > 0"
    ).fetchone()
    if not row or row[0] is None:
        raise AllocationError(
            f"no published allocation of gpu pool {pool.id!r} for {period:%Y-%m}",
            hint=f"run `costline allocate --period {period:%Y-%m}` (with the jobs loaded) first",
        )
    return str(row[0])


def cost_per_million(cost: Decimal | None, tokens: float | None) -> Decimal | None:
    """``cost / tokens × 1e6`` to 6 decimals (None without tokens).

    Example:
        >>> cost_per_million(Decimal("12.5"), 2_500_000)
        Decimal('5.000000')
    """
    if cost is None or not tokens:
        return None
    return (cost * MILLION / Decimal(repr(float(tokens)))).quantize(Decimal("0.000001"))


def gpu_report(
    con: duckdb.DuckDBPyConnection,
    period: dt.date,
    pool: Pool,
    *,
    by: By = "team",
    basis: str = "EffectiveCost",
    tokens_metric: str = "tokens",
) -> list[dict[str, Any]]:
    """GPU-hours, cost and cost per 1M tokens of a published month, per job, model or team.

    Raises:
        AllocationError: no published allocation of the pool for the period.
        ConfigError: unknown basis.
    """
    run_id = published_run(con, pool, period)
    sql = gpu_report_sql(
        pool, period, by=by, run_id=run_id, basis=basis, tokens_metric=tokens_metric
    )
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    out = []
    for row in cur.fetchall():
        rec = dict(zip(names, row, strict=True))
        rec["cost_per_1m_tokens"] = cost_per_million(rec["cost"], rec["tokens"])
        out.append(rec)
    return out


__all__ = ["BASES", "cost_per_million", "gpu_report", "gpu_report_sql", "published_run"]
