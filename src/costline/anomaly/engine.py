"""Anomaly detection over the cost store: monitors → daily series → scored points → anomalies.

One run (``costline anomalies detect``):

1. For each monitor, the daily cost of every series (one per value of the monitor's ``by``
   dimensions and billing currency) over ``lookback_days`` before the first day evaluated,
   read in one GROUP BY. Recurring and one-time charges (commitment fees posted on the 1st,
   purchases) and credits stay out by default: they are planned, not anomalies.
   With estimates (:mod:`costline.anomaly.estimates`), each provider's days after its last
   billed day come from ``estimated_cost`` and their flags are marked estimated.
2. Each series is scored by :func:`costline.anomaly.detect.score_series` (weekly season, MAD
   robust z, re-baselining after a level shift). A day is flagged when ``|z|`` passes the
   monitor's sensitivity (raised for series the team dismissed before), the direction
   matches, the baseline spend is at least ``min_spend``, and the dollar gates hold. A series
   too young for a baseline alerts once when its daily spend first passes the cold-start
   amount.
3. Flagged days of one series make **one** anomaly: an open anomaly of the series is updated
   (revision + 1) instead of a second one being opened; an open anomaly with
   ``resolve_after_days`` normal days after its last flagged day resolves.
4. The root cause of a new or changed anomaly: per child dimension, the change of each value
   against the same days' baseline, with its $ contribution and share; plus the top resources.

The tables are ``anomalies`` and ``anomaly_feedback`` in the workspace database. The engine reads
and writes them with plain SQL on the connection it is given (like allocation); it imports no
storage code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from functools import partial
from typing import Any

import duckdb
import numpy as np

from costline.anomaly import runs, store
from costline.anomaly.detect import DetectorConfig, score_matrix
from costline.anomaly.series import (
    DetectReport,
    Flag,
    SeriesResult,
    charge_filter,
    dimension_sql,
    estimates_view_sql,
    ident,
    lit,
    series_key,
    source_sql,
    spread_sql,
)
from costline.config.anomalies import AnomaliesConfig, Monitor

# "Seen before": horizons (days) and margin of the recurring-pattern test (_seen_before).
HORIZONS = (1, 3)
REPEAT_MARGIN = 0.1


def detect(
    con: duckdb.DuckDBPyConnection,
    config: AnomaliesConfig,
    *,
    since: dt.date | None = None,
    filters: Mapping[str, str] | None = None,
    allocated: bool = False,
    ingestions: Sequence[str] = (),
    now: dt.datetime | None = None,
) -> DetectReport:
    """Evaluate every monitor from ``since`` (default: the last 7 days with data) and open,
    update or resolve anomalies. ``filters`` holds each monitor's filter as SQL over ``c``.

    With ``ingestions`` (ids of just-loaded files), only the series with rows of those
    ingestions on or after ``since`` are evaluated: what ``costline watch`` does per new file.
    """
    store.ensure_tables(con)
    report = DetectReport()
    extents = con.execute(
        "SELECT x_Provider, min(CAST(ChargePeriodStart AS DATE)), "
        f"max(CAST(ChargePeriodStart AS DATE)) FROM cost c WHERE {charge_filter(config)} GROUP BY 1"
    ).fetchall()
    horizons = {p: last for p, _, last in extents}
    if not horizons:
        return report
    data_from = {p: first for p, first, _ in extents}
    hourly = any(m.granularity == "hourly" for m in config.monitors)
    hour_horizons: dict[str, dt.datetime] = (
        dict(
            con.execute(
                "SELECT x_Provider, max(date_trunc('hour', ChargePeriodStart)) FROM cost c "
                f"WHERE {charge_filter(config)} GROUP BY 1"
            ).fetchall()
        )
        if hourly
        else {}
    )
    estimated = _estimated_through(con, config, horizons)
    if estimated:
        con.execute(estimates_view_sql(horizons))
        report.estimated_through = max(estimated.values())
    last: dt.date = max([*horizons.values(), *estimated.values()])
    first = since or last - dt.timedelta(days=6)
    report.first_day, report.last_day = first, last
    stamp = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    boosts = store.boosts(con)
    masked = store.masked_days(con)
    con.execute("BEGIN TRANSACTION")
    try:
        for monitor in config.monitors:
            where = (filters or {}).get(monitor.id, "TRUE")
            results = _evaluate(
                con,
                config,
                monitor,
                (first, last),
                where,
                allocated,
                boosts,
                masked,
                report,
                ingestions,
                hour_horizons if monitor.granularity == "hourly" else horizons,
                estimated=bool(estimated) and monitor.granularity == "daily",
                data_from=data_from,
            )
            state = store.load_state(con, monitor.id)
            for res in results:
                store.upsert(
                    con, state, config, monitor, res, last, stamp, where, allocated, report
                )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return report


def _evaluate(
    con: duckdb.DuckDBPyConnection,
    config: AnomaliesConfig,
    monitor: Monitor,
    span: tuple[dt.date, dt.date],
    where: str,
    allocated: bool,
    boosts: Mapping[str, float],
    masked: Mapping[str, list[tuple[dt.date, dt.date]]],
    report: DetectReport,
    ingestions: Sequence[str],
    horizons: Mapping[str, dt.date],
    *,
    estimated: bool = False,
    data_from: Mapping[str, dt.date] | None = None,
) -> list[SeriesResult]:
    first, last = span
    hourly = monitor.granularity == "hourly"
    step = dt.timedelta(hours=1) if hourly else dt.timedelta(days=1)
    unit = "hour" if hourly else "day"
    per_day = 24 if hourly else 1
    # buckets: days (dates) or hours (datetimes) from ``start``
    start: dt.date = first - dt.timedelta(days=config.lookback_days)
    if hourly:
        start = dt.datetime.combine(start, dt.time())
    end = dt.datetime.combine(last, dt.time(23)) if hourly else last

    def index(value: dt.date) -> int:
        return int((value - start) / step)

    n_buckets = index(end) + 1
    origin = f"TIMESTAMP '{dt.datetime.combine(start, dt.time()).isoformat()}'"  # bucket 0
    buckets, count = spread_sql(unit, origin)
    dims = [dimension_sql(d, allocated=allocated) for d in monitor.by]
    cols = ", ".join(f"{e} AS d{i}" for i, e in enumerate(dims))
    names = ", ".join(f"d{i}" for i in range(len(dims)))
    basis = f"c.{ident(config.basis)}"
    est = "COALESCE(c.x_Estimated, FALSE)" if estimated else "FALSE"
    source = source_sql(monitor.by, where, allocated=allocated, estimated=estimated)
    # the rows of the evaluated buckets, for the series and for their resources
    in_window = (
        f"WHERE c.ChargePeriodStart < TIMESTAMP '{(last + dt.timedelta(days=1)).isoformat()}' "
        f"AND COALESCE(c.ChargePeriodEnd, c.ChargePeriodStart + INTERVAL 1 {unit}) > {origin} "
        f"AND {charge_filter(config)}"
    )
    sql = (
        f"SELECT {names}, cur, "
        "list(day ORDER BY day), list(v ORDER BY day), list_distinct(flatten(list(provs))), "
        "list(day) FILTER (WHERE est) "
        f"FROM (SELECT {names}, cur, list(DISTINCT prov) AS provs, day, bool_or(est) AS est, "
        "SUM(v) AS v FROM ("
        f"SELECT {cols}, c.BillingCurrency AS cur, c.x_Provider AS prov, {est} AS est, "
        f"{buckets} AS day, CAST({basis} AS DOUBLE) / {count} AS v FROM {source} {in_window}) "
        f"WHERE day >= 0 AND day < {n_buckets} GROUP BY ALL) GROUP BY ALL"
    )
    if ingestions:  # only the series the new files touched
        ids = ", ".join(lit(i) for i in ingestions)
        touched = (
            f"SELECT DISTINCT {cols}, c.BillingCurrency AS cur FROM "
            f"{source_sql(monitor.by, where, allocated=allocated)} "
            f"WHERE c.x_IngestionId IN ({ids}) "
            f"AND c.ChargePeriodStart >= TIMESTAMP '{first.isoformat()}' "
            f"AND {charge_filter(config)}"
        )
        on = " AND ".join(
            [*(f"s.d{i} IS NOT DISTINCT FROM t.d{i}" for i in range(len(dims))), "s.cur = t.cur"]
        )
        sql = f"SELECT s.* FROM ({sql}) s SEMI JOIN ({touched}) t ON {on}"
    detector = (
        # two days before the first score: the daily season from the start (a flat median
        # would read every morning ramp as a level shift)
        dataclasses.replace(DetectorConfig.for_interval(3600), window=7 * 24, min_history=48)
        if hourly
        else DetectorConfig(window=min(config.lookback_days, DetectorConfig().window))
    )
    eval_from = index(dt.datetime.combine(first, dt.time()) if hourly else first)
    series = []
    for row in con.execute(sql).fetchall():
        *values, currency, days, amounts, providers, est_days = row
        dim_values = dict(zip(monitor.by, values, strict=True))
        key = series_key(monitor.id, dim_values, currency)
        horizon = min((horizons[p] for p in providers if p in horizons), default=end)
        if est_days:  # fed by estimates: the series ends at its last estimated day
            horizon = max(horizon, start + step * max(est_days))
        x = np.full(n_buckets, np.nan)
        born = min(days)
        # a bucket without rows after the series began spent nothing, up to the series'
        # horizon; after it the data has not arrived (NaN: not scored, not history)
        x[born : index(horizon) + 1] = 0.0
        x[np.asarray(days)] = np.asarray(amounts, dtype=float)
        for a, b in masked.get(key, []):  # "expected" feedback: those days are not history
            lo, hi = (a - first).days, (b - first).days  # days relative to ``first``
            lo_i = eval_from + lo * per_day
            hi_i = eval_from + (hi + 1) * per_day
            x[max(lo_i, 0) : max(hi_i, 0)] = np.nan
        marked = {start + step * d for d in est_days or ()}
        known = [data_from[p] for p in providers if data_from and p in data_from]
        known_from = index(min(known)) if known and not hourly else 0
        series.append((key, dim_values, currency, born, x, horizon, marked, known_from))
    if not series:
        return []
    scored = score_matrix(np.stack([s[4] for s in series]), detector)
    out = []
    # every series' cost per resource and day, read once when a day first needs it (daily
    # series only), with its running hours per day: per SKU the hours (or unit-seconds)
    # summed, the largest SKU's taken (see _running_hours)
    by_resource = _ByResource(
        con,
        f"SELECT {names}, cur, r, list(day ORDER BY day), list(v ORDER BY day), "
        "list(h ORDER BY day), list(uh ORDER BY day), any_value(prov), any_value(it) FROM ("
        f"SELECT {names}, cur, r, day, SUM(v) AS v, max(h) AS h, max(uh) AS uh, "
        "any_value(prov) AS prov, any_value(it) AS it FROM ("
        f"SELECT {names}, cur, r, day, sku, SUM(v) AS v, SUM(h) AS h, SUM(uh) AS uh, "
        "any_value(prov) AS prov, any_value(it) AS it FROM (SELECT "
        f"{cols}, c.BillingCurrency AS cur, c.ResourceId AS r, {buckets} AS day, "
        "COALESCE(c.SkuId, c.ChargeDescription, '') AS sku, c.x_Provider AS prov, "
        f"c.x_InstanceType AS it, CAST({basis} AS DOUBLE) / {count} AS v, "
        f"{HOURS_SQL} / {count} AS h, {UNIT_HOURS_SQL} / {count} AS uh FROM {source} "
        f"{in_window} AND c.ResourceId IS NOT NULL) WHERE day >= 0 AND day < {n_buckets} GROUP BY ALL) GROUP BY ALL) GROUP BY ALL",
    )
    for (key, dim_values, currency, born, x, horizon, marked, known_from), sc in zip(
        series, scored, strict=True
    ):
        report.series += 1
        report.points += max(0, index(horizon) + 1 - max(eval_from, born))
        boost = boosts.get(key, 1.0)
        resource_days = None
        if not hourly:  # runs are counted in days
            resource_days = _ResourceDays(
                partial(by_resource.rows, (*dim_values.values(), currency)), n_buckets, known_from
            )
        flags = _flags(
            config,
            monitor,
            x,
            (sc.expected, sc.z),
            start,
            eval_from,
            born,
            boost,
            step,
            detector,
            resource_days,
        )
        flags = [dataclasses.replace(f, estimated=f.day in marked) for f in flags]
        out.append(SeriesResult(monitor.id, key, dim_values, currency, flags, horizon, estimated))
    return out


def _estimated_through(
    con: duckdb.DuckDBPyConnection, config: AnomaliesConfig, horizons: Mapping[str, dt.date]
) -> dict[str, dt.date]:
    """Per provider, the last estimated day when ``estimated_cost`` has days after the
    provider's bill and ``anomalies.estimates`` is not false (unset: on when there are rows)."""
    if config.estimates is False:
        return {}
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'estimated_cost' "
        "AND schema_name = 'main'"
    ).fetchone()
    if not exists or not exists[0]:
        return {}
    rows = con.execute("SELECT x_Provider, max(day) FROM estimated_cost GROUP BY 1").fetchall()
    return {p: d for p, d in rows if p in horizons and d > horizons[p]}


def _flags(
    config: AnomaliesConfig,
    monitor: Monitor,
    x: np.ndarray,
    scores: tuple[np.ndarray, np.ndarray],
    start: dt.date,
    eval_from: int,
    born: int,
    boost: float,
    step: dt.timedelta,
    detector: DetectorConfig,
    resource_days: _ResourceDays | None = None,
) -> list[Flag]:
    """The flagged buckets of one series (days, or hours as datetimes). With
    ``resource_days`` (daily series) the repeat test judges jobs per resource (:func:`_repeats`)
    and, once they were read, a job left running is flagged whatever the baseline."""
    expected, z = scores
    per_day = round(dt.timedelta(days=1) / step)
    flags: list[Flag] = []
    threshold = monitor.z_threshold * boost
    lookback = config.lookback_days * per_day
    # a new series alerts once, on its first day at or above the cold-start amount: when that
    # day came before the evaluated days, it is not new any more
    earlier = x[born : max(eval_from, born)]
    cold_done = bool(np.any(earlier[~np.isnan(earlier)] >= float(monitor.cold_start.min_abs)))
    for t in range(max(eval_from, born), len(x)):
        day = start + step * t
        actual = x[t]
        if math.isnan(actual) or day.day in config.fee_days:
            continue
        base = expected[t]
        if math.isnan(base) and _watching_jobs(monitor, resource_days):
            # no baseline (re-learning after a level shift): a job left running still shows,
            # against what the day would have cost without it
            assert resource_days is not None
            extra = resource_days.outrunning(t, t - lookback)
            if extra > 0 and _gates_pass(monitor, actual - extra, actual):
                flags.append(Flag(day, "spike", float(actual - extra), float(actual), math.inf))
                continue
        if math.isnan(base):  # cold start: not enough history for a baseline
            history = x[born:t]
            if (
                not cold_done
                and len(history[~np.isnan(history)]) < detector.min_history
                and Decimal(str(actual)) >= monitor.cold_start.min_abs
            ):
                flags.append(Flag(day, "new", 0.0, float(actual), math.inf))
                cold_done = True
            continue
        up, down = z[t] >= threshold, z[t] <= -threshold
        # a job left running stays an anomaly after the baseline has risen with it: once a
        # spike made the engine read the series' resources, a day above the baseline with a
        # run longer than every earlier one by a day is flagged whatever its z
        runaway = (
            not up
            and actual > base
            and _watching_jobs(monitor, resource_days)
            and bool(resource_days and resource_days.outrun(t, t - lookback))
        )
        up = up or runaway
        if not (
            (up and monitor.direction in ("up", "both"))
            or (down and monitor.direction in ("down", "both"))
        ):
            continue
        if not _gates_pass(monitor, base, actual):
            continue
        # last: the repeat test may read the series' resources (once per series)
        if (
            up
            and not runaway
            and monitor.repeats_are_normal
            and _repeats(x, t, born, lookback, resource_days)
        ):
            continue
        flags.append(Flag(day, "spike" if up else "drop", float(base), float(actual), float(z[t])))
    return flags


def _watching_jobs(monitor: Monitor, resource_days: _ResourceDays | None) -> bool:
    """Whether the series' jobs are watched for running too long: a monitor of spikes that
    takes repeats as normal, whose resources a spike made the engine read."""
    return (
        monitor.direction in ("up", "both")
        and monitor.repeats_are_normal
        and resource_days is not None
        and resource_days.read
    )


def _gates_pass(monitor: Monitor, base: float, actual: float) -> bool:
    """The spend floor and the dollar gates of a day: the baseline or the actual day at least
    ``min_spend``; |actual − base| at least ``impact.min_abs`` and/or ``impact.min_pct`` % of
    the baseline (``impact.op``)."""
    if base < float(monitor.min_spend) and actual < float(monitor.min_spend):
        return False
    gate = monitor.impact
    delta = abs(actual - base)
    pct = 100.0 * delta / abs(base) if base else math.inf
    abs_ok = Decimal(str(round(delta, 2))) >= gate.min_abs
    pct_ok = pct >= gate.min_pct
    return (abs_ok and pct_ok) if gate.op == "and" else (abs_ok or pct_ok)


def _repeats(
    x: np.ndarray, t: int, born: int, lookback: int, resource_days: _ResourceDays | None
) -> bool:
    """Whether a spike at ``t`` repeats what the series did before: its day's spend was
    reached in the lookback (:func:`_seen_before` over one bucket), or its jobs are like the
    earlier ones (:meth:`_ResourceDays.jobs_repeat`: each job's day, how many at once); and no
    job has run longer than the earlier ones (:meth:`_ResourceDays.outrun`). Where runs
    cannot tell (no resource ids, no run ended, hourly series), the sum of three buckets must
    have been reached too."""
    if not _seen_before(x, t, born, lookback, (1,)) and not (
        resource_days is not None and resource_days.jobs_repeat(x, t, t - lookback)
    ):
        return False
    verdict = None if resource_days is None else resource_days.outrun(t, t - lookback)
    if verdict is None:
        return _seen_before(x, t, born, lookback, HORIZONS)
    return not verdict


def _seen_before(
    x: np.ndarray, t: int, born: int, lookback: int, horizons: Sequence[int] = HORIZONS
) -> bool:
    """Whether the spend of bucket ``t`` (and of the buckets leading to it) was already
    reached in the lookback: a recurring job's day, not a new level.

    At each horizon h in ``horizons``, the sum of the h buckets ending at ``t`` is compared
    with the largest h-bucket sum of the history (masked buckets left out); ``t`` is *new*
    when it exceeds that by more than :data:`REPEAT_MARGIN` at any horizon. (Daily series
    compare one day and ask :class:`_ResourceDays` whether a job outlasts the earlier ones.)
    """
    lo = max(born, t - lookback)
    for h in horizons:
        if t - h + 1 < born or t - lo < h:
            continue
        window = x[lo : t + 1]
        sums = np.convolve(np.nan_to_num(window, nan=0.0), np.ones(h), mode="valid")
        past, now = sums[:-1], sums[-1]
        if not len(past) or now > (1 + REPEAT_MARGIN) * max(float(past.max()), 0.0):
            return False
    return True


# Running hours from the bill, per row: instance-hours where the usage is metered in hours
# (AWS, Azure VMs), and unit-hours where it is metered in seconds (GCP: vCPU- or GPU-seconds,
# turned into the VM's hours with its machine type's vCPUs, see _running_hours).
HOURS_SQL = (
    "CASE WHEN lower(c.ConsumedUnit) IN ('hours', 'hour', 'hrs', 'hr') "
    "THEN CAST(c.ConsumedQuantity AS DOUBLE) END"
)
UNIT_HOURS_SQL = (
    "CASE WHEN lower(c.ConsumedUnit) IN ('seconds', 'second', 's') "
    "THEN CAST(c.ConsumedQuantity AS DOUBLE) / 3600 END"
)
ResourceRow = tuple[list[int], list[float], list[float | None]]


def _running_hours(
    hours: Sequence[float | None],
    unit_hours: Sequence[float | None],
    provider: str | None,
    instance_type: str | None,
) -> list[float | None]:
    """A resource's running hours per day: the hours of its largest hour-metered SKU, or of
    its largest second-metered SKU (unit-hours, e.g. vCPU-hours) divided by its machine
    type's vCPUs from the pricing catalog (None where neither is known). For a VM billed
    per SKU this is the core SKU (vCPU-seconds ÷ vCPUs); GPU-seconds ÷ vCPUs is smaller."""
    vcpu = None
    if instance_type and provider and any(u is not None for u in unit_hours):
        from costline.optimize.pricing import load_catalog

        spec = load_catalog((provider,)).instance_type(provider, instance_type)
        vcpu = spec.vcpu if spec is not None and spec.vcpu > 0 else None
    out: list[float | None] = []
    for h, uh in zip(hours, unit_hours, strict=True):
        found = [v for v in (h, None if uh is None or vcpu is None else uh / vcpu) if v]
        out.append(max(found) if found else None)
    return out


class _ByResource:
    """The daily cost and running hours per resource of every series of a monitor: one
    query, run when a series first asks (most runs never do)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, sql: str) -> None:
        self._con, self._sql = con, sql
        self._rows: dict[tuple[Any, ...], list[ResourceRow]] | None = None

    def rows(self, key: tuple[Any, ...]) -> list[ResourceRow]:
        """``(days, amounts, running hours)`` of each resource of the series ``key`` (its
        dimension values and currency)."""
        if self._rows is None:
            self._rows = {}
            for *dims, _, days, amounts, hours, unit_hours, prov, it in self._con.execute(
                self._sql
            ).fetchall():
                running = _running_hours(hours, unit_hours, prov, it)
                self._rows.setdefault(tuple(dims), []).append((days, amounts, running))
        return self._rows.get(key, [])


class _ResourceDays:
    """The daily cost of each resource of one series, read when first needed (a spike past
    every other test asks the repeat test), for :mod:`costline.anomaly.runs`."""

    def __init__(
        self,
        read: Callable[[], list[ResourceRow]],
        n_buckets: int,
        known_from: int,
    ) -> None:
        self._load, self._n, self._known_from = read, n_buckets, known_from
        self._runs: runs.Runs | None = None

    def outrun(self, t: int, lookback_from: int) -> bool | None:
        """Whether some resource's run through day ``t`` outlasts every earlier run (None:
        cannot tell, see :meth:`costline.anomaly.runs.Runs.outrun`)."""
        return self._read().outrun(t, max(self._known_from, lookback_from))

    def outrunning(self, t: int, lookback_from: int) -> float:
        """What jobs left running cost on day ``t`` (:meth:`~costline.anomaly.runs.Runs.outrunning`)."""
        return self._read().outrunning(t, max(self._known_from, lookback_from))

    def jobs_repeat(self, x: np.ndarray, t: int, lookback_from: int) -> bool:
        """Whether day ``t``'s jobs are like the earlier ones
        (:meth:`costline.anomaly.runs.Runs.jobs_repeat`; False when it cannot tell)."""
        known_from = max(self._known_from, lookback_from)
        return bool(self._read().jobs_repeat(x, t, known_from, REPEAT_MARGIN))

    @property
    def read(self) -> bool:
        """Whether the resources were read (a spike asked about them)."""
        return self._runs is not None

    def _read(self) -> runs.Runs:
        if self._runs is None:
            rows = self._load()
            costs = runs.as_matrix([(d, a) for d, a, _ in rows], self._n)
            hours = runs.as_matrix([(d, h) for d, _, h in rows], self._n, missing=np.nan)
            self._runs = runs.Runs(costs, hours)
        return self._runs
