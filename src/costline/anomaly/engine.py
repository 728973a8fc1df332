"""Anomaly detection over the cost store: monitors → daily series → scored points → anomalies.

One run (``costline anomalies detect``):

1. For each monitor, the daily cost of every series (one per value of the monitor's ``by``
   dimensions and billing currency) over ``lookback_days`` before the first day evaluated,
   read in one GROUP BY. Recurring and one-time charges (commitment fees posted on the 1st,
   purchases) and credits stay out by default: they are planned, not anomalies.
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

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb
import numpy as np

from costline.anomaly.detect import DetectorConfig, score_matrix
from costline.config.anomalies import AnomaliesConfig, Monitor

CENT = Decimal("0.01")
# Impact (|actual − expected| over the anomaly's days) at or above which a severity applies.
SEVERITY = (("critical", Decimal(50_000)), ("high", Decimal(5_000)), ("medium", Decimal(500)))
# "Seen before": horizons (days) and margin of the recurring-pattern test (_seen_before).
HORIZONS = (1, 3)
REPEAT_MARGIN = 0.1
# A dismissal raises the series' z threshold by this factor (feedback the detector learns from).
DISMISS_BOOST = 1.25

ANOMALIES_DDL = """CREATE TABLE IF NOT EXISTS anomalies (
  id VARCHAR, monitor VARCHAR, series_key VARCHAR, dims VARCHAR,
  currency VARCHAR, status VARCHAR, kind VARCHAR, severity VARCHAR,
  first_day DATE, last_day DATE, peak_day DATE,
  expected DECIMAL(38, 10), actual DECIMAL(38, 10), impact DECIMAL(38, 10), impact_pct DOUBLE,
  z DOUBLE, team VARCHAR, root_cause VARCHAR, days VARCHAR, revision INTEGER,
  created_at TIMESTAMP, updated_at TIMESTAMP, feedback VARCHAR, reason VARCHAR)"""
FEEDBACK_DDL = """CREATE TABLE IF NOT EXISTS anomaly_feedback (
  series_key VARCHAR, anomaly_id VARCHAR, kind VARCHAR, reason VARCHAR, given_at TIMESTAMP,
  first_day DATE, last_day DATE)"""
FEEDBACK_KINDS = ("ack", "dismiss", "expected")


@dataclass(frozen=True)
class Flag:
    """One flagged day of a series."""

    day: dt.date
    kind: str  # spike | drop | new
    expected: float
    actual: float
    z: float


@dataclass
class SeriesResult:
    monitor: str
    key: str
    dims: dict[str, str | None]
    currency: str
    flags: list[Flag]


@dataclass
class DetectReport:
    """What a run evaluated and changed."""

    first_day: dt.date | None = None
    last_day: dt.date | None = None
    series: int = 0
    points: int = 0
    opened: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    alerts: int = 0
    alerts_delivered: int = 0
    alerts_failed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "alerts": self.alerts,
            "alerts_delivered": self.alerts_delivered,
            "alerts_failed": self.alerts_failed,
            "first_day": self.first_day.isoformat() if self.first_day else None,
            "last_day": self.last_day.isoformat() if self.last_day else None,
            "series": self.series,
            "points": self.points,
            "opened": self.opened,
            "updated": self.updated,
            "resolved": self.resolved,
        }


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(ANOMALIES_DDL)
    con.execute(FEEDBACK_DDL)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def dimension_sql(dim: str, *, allocated: bool) -> str:
    """SQL for one ``by`` dimension over ``cost c`` (joined to ``allocation_rows a``)."""
    if dim.startswith("tag:"):
        return f"c.Tags[{_lit(dim[4:])}]"
    if dim == "team":
        return "a.x_Team" if allocated else "CAST(NULL AS VARCHAR)"
    if dim == "cost_center":
        return "t.cost_center" if allocated else "CAST(NULL AS VARCHAR)"
    return f"CAST(c.{_ident(dim)} AS VARCHAR)"


def _source(dims: Sequence[str], where: str, *, allocated: bool) -> str:
    """FROM clause: the cost rows a monitor's filter (SQL over a cost row) keeps, joined to
    the published allocation when a dimension needs it."""
    cost = "cost c" if where == "TRUE" else f"(SELECT * FROM cost WHERE {where}) c"
    if allocated and any(d in ("team", "cost_center") for d in dims):
        return (
            f"{cost} LEFT JOIN allocation_rows a ON a.x_ChargeId = c.x_ChargeId "
            "LEFT JOIN allocation_teams t ON t.run_id = a.x_AllocationRunId AND t.team = a.x_Team"
        )
    return cost


def charge_filter(config: AnomaliesConfig) -> str:
    """Rows that belong in a spend series (fees and credits out unless configured in)."""
    parts = ["TRUE"]
    if config.exclude_fees:
        parts.append("COALESCE(c.ChargeFrequency, 'Usage-Based') NOT IN ('Recurring', 'One-Time')")
        parts.append("COALESCE(c.ChargeCategory, 'Usage') <> 'Purchase'")
    if not config.include_credits:
        parts.append("COALESCE(c.ChargeCategory, 'Usage') <> 'Credit'")
    return " AND ".join(parts)


def series_key(monitor: str, dims: Mapping[str, str | None], currency: str) -> str:
    text = json.dumps([monitor, sorted(dims.items()), currency], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def detect(
    con: duckdb.DuckDBPyConnection,
    config: AnomaliesConfig,
    *,
    since: dt.date | None = None,
    filters: Mapping[str, str] | None = None,
    allocated: bool = False,
    now: dt.datetime | None = None,
) -> DetectReport:
    """Evaluate every monitor from ``since`` (default: the last 7 days with data) and open,
    update or resolve anomalies. ``filters`` holds each monitor's filter as SQL over ``c``."""
    ensure_tables(con)
    report = DetectReport()
    row = con.execute(
        f"SELECT max(CAST(ChargePeriodStart AS DATE)) FROM cost c WHERE {charge_filter(config)}"
    ).fetchone()
    if not row or row[0] is None:
        return report
    last: dt.date = row[0]
    first = since or last - dt.timedelta(days=6)
    report.first_day, report.last_day = first, last
    stamp = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    boosts = _boosts(con)
    masked = _masked_days(con)
    con.execute("BEGIN TRANSACTION")
    try:
        for monitor in config.monitors:
            where = (filters or {}).get(monitor.id, "TRUE")
            results = _evaluate(
                con, config, monitor, first, last, where, allocated, boosts, masked, report
            )
            for res in results:
                _upsert(con, config, monitor, res, last, stamp, where, allocated, report)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return report


def _boosts(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    rows = con.execute(
        "SELECT series_key, count(*) FROM anomaly_feedback WHERE kind = 'dismiss' GROUP BY 1"
    ).fetchall()
    return {k: DISMISS_BOOST**n for k, n in rows}


def _masked_days(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[dt.date, dt.date]]]:
    out: dict[str, list[tuple[dt.date, dt.date]]] = {}
    for key, a, b in con.execute(
        "SELECT series_key, first_day, last_day FROM anomaly_feedback WHERE kind = 'expected'"
    ).fetchall():
        out.setdefault(key, []).append((a, b))
    return out


def _evaluate(
    con: duckdb.DuckDBPyConnection,
    config: AnomaliesConfig,
    monitor: Monitor,
    first: dt.date,
    last: dt.date,
    where: str,
    allocated: bool,
    boosts: Mapping[str, float],
    masked: Mapping[str, list[tuple[dt.date, dt.date]]],
    report: DetectReport,
) -> list[SeriesResult]:
    start = first - dt.timedelta(days=config.lookback_days)
    n_days = (last - start).days + 1
    dims = [dimension_sql(d, allocated=allocated) for d in monitor.by]
    cols = ", ".join(f"{e} AS d{i}" for i, e in enumerate(dims))
    basis = f"c.{_ident(config.basis)}"
    sql = (
        f"SELECT {', '.join(f'd{i}' for i in range(len(dims)))}, cur, "
        "list(day ORDER BY day), list(v ORDER BY day) FROM ("
        f"SELECT {cols}, c.BillingCurrency AS cur, "
        f"datediff('day', DATE '{start.isoformat()}', CAST(c.ChargePeriodStart AS DATE)) AS day, "
        f"CAST(SUM({basis}) AS DOUBLE) AS v FROM {_source(monitor.by, where, allocated=allocated)} "
        f"WHERE c.ChargePeriodStart >= TIMESTAMP '{start.isoformat()}' "
        f"AND c.ChargePeriodStart < TIMESTAMP '{(last + dt.timedelta(days=1)).isoformat()}' "
        f"AND {charge_filter(config)} GROUP BY ALL) GROUP BY ALL"
    )
    detector = DetectorConfig(window=min(config.lookback_days, DetectorConfig().window))
    eval_from = (first - start).days
    series = []
    for row in con.execute(sql).fetchall():
        *values, currency, days, amounts = row
        dim_values = dict(zip(monitor.by, values, strict=True))
        key = series_key(monitor.id, dim_values, currency)
        x = np.full(n_days, np.nan)
        born = min(days)
        x[born:] = 0.0  # a day without rows after the series began spent nothing
        x[np.asarray(days)] = np.asarray(amounts, dtype=float)
        for a, b in masked.get(key, []):  # "expected" feedback: those days are not history
            lo, hi = (a - start).days, (b - start).days
            x[max(lo, 0) : max(hi + 1, 0)] = np.nan
        series.append((key, dim_values, currency, born, x))
    if not series:
        return []
    scored = score_matrix(np.stack([s[4] for s in series]), detector)
    out = []
    for (key, dim_values, currency, born, x), sc in zip(series, scored, strict=True):
        report.series += 1
        report.points += max(0, n_days - max(eval_from, born))
        boost = boosts.get(key, 1.0)
        flags = _flags(config, monitor, x, sc.expected, sc.z, start, eval_from, born, boost)
        out.append(SeriesResult(monitor.id, key, dim_values, currency, flags))
    return out


def _flags(
    config: AnomaliesConfig,
    monitor: Monitor,
    x: np.ndarray,
    expected: np.ndarray,
    z: np.ndarray,
    start: dt.date,
    eval_from: int,
    born: int,
    boost: float,
) -> list[Flag]:
    flags: list[Flag] = []
    threshold = monitor.z_threshold * boost
    gate = monitor.impact
    cold_done = False
    for t in range(max(eval_from, born), len(x)):
        day = start + dt.timedelta(days=t)
        actual = x[t]
        if math.isnan(actual) or day.day in config.fee_days:
            continue
        base = expected[t]
        if math.isnan(base):  # cold start: not enough history for a baseline
            history = x[born:t]
            if (
                not cold_done
                and len(history[~np.isnan(history)]) < DetectorConfig().min_history
                and Decimal(str(actual)) >= monitor.cold_start.min_abs
            ):
                flags.append(Flag(day, "new", 0.0, float(actual), math.inf))
                cold_done = True
            continue
        up, down = z[t] >= threshold, z[t] <= -threshold
        if not (
            (up and monitor.direction in ("up", "both"))
            or (down and monitor.direction in ("down", "both"))
        ):
            continue
        if base < float(monitor.min_spend) and actual < float(monitor.min_spend):
            continue
        if up and monitor.repeats_are_normal and _seen_before(x, t, born, config.lookback_days):
            continue
        delta = abs(actual - base)
        pct = 100.0 * delta / abs(base) if base else math.inf
        abs_ok = Decimal(str(round(delta, 2))) >= gate.min_abs
        pct_ok = pct >= gate.min_pct
        if (abs_ok and pct_ok) if gate.op == "and" else (abs_ok or pct_ok):
            flags.append(
                Flag(day, "spike" if up else "drop", float(base), float(actual), float(z[t]))
            )
    return flags


def _seen_before(x: np.ndarray, t: int, born: int, lookback: int) -> bool:
    """Whether the spend of day ``t`` (and of the days leading to it) was already reached in
    the lookback: a recurring job's day, not a new level.

    At each horizon h in :data:`HORIZONS`, the sum of the h days ending at ``t`` is compared
    with the largest h-day sum of the history (masked days left out); the day is *new* when it
    exceeds that by more than :data:`REPEAT_MARGIN` at any horizon. A 4-day runaway of a job
    that normally runs 2 days is new at the 3-day horizon although each day's cost is familiar.
    """
    lo = max(born, t - lookback)
    for h in HORIZONS:
        if t - h + 1 < born or t - lo < h:
            continue
        window = x[lo : t + 1]
        sums = np.convolve(np.nan_to_num(window, nan=0.0), np.ones(h), mode="valid")
        past, now = sums[:-1], sums[-1]
        if not len(past) or now > (1 + REPEAT_MARGIN) * max(float(past.max()), 0.0):
            return False
    return True


def _episodes(flags: Sequence[Flag], gap: int) -> list[list[Flag]]:
    """Flags split where more than ``gap`` normal days separate them."""
    out: list[list[Flag]] = []
    for f in flags:
        if out and (f.day - out[-1][-1].day).days <= gap:
            out[-1].append(f)
        else:
            out.append([f])
    return out


def _upsert(
    con: duckdb.DuckDBPyConnection,
    config: AnomaliesConfig,
    monitor: Monitor,
    res: SeriesResult,
    last: dt.date,
    stamp: dt.datetime,
    where: str,
    allocated: bool,
    report: DetectReport,
) -> None:
    """Open, update or resolve the series' anomaly from this run's flags (idempotent)."""
    gap = config.resolve_after_days
    closed = con.execute(
        "SELECT max(last_day) FROM anomalies WHERE series_key = ? AND status NOT IN ('open', 'acked')",
        [res.key],
    ).fetchone()
    covered = closed[0] if closed and closed[0] else None
    for episode in _episodes(res.flags, gap):
        fresh = [f for f in episode if covered is None or f.day > covered]
        if not fresh:
            continue
        current = _open(con, res.key)
        if current and (fresh[0].day - current["last_day"]).days <= gap:
            days = {**current["days"], **{f.day.isoformat(): _day(f) for f in fresh}}
            if days != current["days"]:
                _write(
                    con,
                    monitor,
                    res,
                    current["id"],
                    days,
                    current["revision"] + 1,
                    stamp,
                    where,
                    allocated,
                    config,
                    current["status"],
                )
                report.updated.append(current["id"])
        else:
            if current:
                _resolve(con, current["id"], stamp, report)
            new_id = f"an-{res.key[:8]}-{fresh[0].day:%Y%m%d}"
            days = {f.day.isoformat(): _day(f) for f in fresh}
            _write(con, monitor, res, new_id, days, 1, stamp, where, allocated, config, "open")
            report.opened.append(new_id)
    current = _open(con, res.key)
    if current and (last - current["last_day"]).days >= gap:
        _resolve(con, current["id"], stamp, report)


def _day(f: Flag) -> dict[str, Any]:
    return {
        "kind": f.kind,
        "expected": round(f.expected, 2),
        "actual": round(f.actual, 2),
        "z": None if math.isinf(f.z) else round(f.z, 2),
    }


def _open(con: duckdb.DuckDBPyConnection, key: str) -> dict[str, Any] | None:
    row = con.execute(
        "SELECT id, last_day, days, revision, status FROM anomalies "
        "WHERE series_key = ? AND status IN ('open', 'acked') ORDER BY first_day DESC LIMIT 1",
        [key],
    ).fetchone()
    if not row:
        return None
    return {
        "id": row[0],
        "last_day": row[1],
        "days": json.loads(row[2]),
        "revision": row[3],
        "status": row[4],
    }


def _resolve(
    con: duckdb.DuckDBPyConnection, anomaly_id: str, stamp: dt.datetime, report: DetectReport
) -> None:
    con.execute(
        "UPDATE anomalies SET status = 'resolved', updated_at = ? WHERE id = ?", [stamp, anomaly_id]
    )
    report.resolved.append(anomaly_id)


def severity_of(impact: Decimal) -> str:
    for name, floor in SEVERITY:
        if abs(impact) >= floor:
            return name
    return "low"


def _write(
    con: duckdb.DuckDBPyConnection,
    monitor: Monitor,
    res: SeriesResult,
    anomaly_id: str,
    days: dict[str, dict[str, Any]],
    revision: int,
    stamp: dt.datetime,
    where: str,
    allocated: bool,
    config: AnomaliesConfig,
    status: str,
) -> None:
    ordered = sorted(days)
    expected = sum((Decimal(str(d["expected"])) for d in days.values()), Decimal(0))
    actual = sum((Decimal(str(d["actual"])) for d in days.values()), Decimal(0))
    impact = actual - expected
    peak = max(ordered, key=lambda k: abs(days[k]["actual"] - days[k]["expected"]))
    zs = [abs(d["z"]) for d in days.values() if d["z"] is not None]
    kinds = {d["kind"] for d in days.values()}
    kind = "new" if "new" in kinds else "spike" if "spike" in kinds else "drop"
    cause = root_cause(
        con,
        config,
        monitor,
        res,
        dt.date.fromisoformat(peak),
        [dt.date.fromisoformat(k) for k in ordered],
        where=where,
        allocated=allocated,
    )
    team = res.dims.get("team") or cause.get("owner")
    created = con.execute("SELECT created_at FROM anomalies WHERE id = ?", [anomaly_id]).fetchone()
    con.execute("DELETE FROM anomalies WHERE id = ?", [anomaly_id])
    con.execute(
        "INSERT INTO anomalies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            anomaly_id,
            monitor.id,
            res.key,
            json.dumps(res.dims, sort_keys=True),
            res.currency,
            status,
            kind,
            severity_of(impact),
            dt.date.fromisoformat(ordered[0]),
            dt.date.fromisoformat(ordered[-1]),
            dt.date.fromisoformat(peak),
            expected,
            actual,
            impact,
            float(impact / expected * 100) if expected else None,
            max(zs) if zs else None,
            team,
            json.dumps(cause, default=str),
            json.dumps(days),
            revision,
            created[0] if created else stamp,
            stamp,
            None,
            None,
        ],
    )


def root_cause(
    con: duckdb.DuckDBPyConnection,
    config: AnomaliesConfig,
    monitor: Monitor,
    res: SeriesResult,
    peak: dt.date,
    flagged: Sequence[dt.date],
    *,
    where: str,
    allocated: bool,
    baseline_days: int = 7,
) -> dict[str, Any]:
    """Which child values explain the peak day's change: per dimension, each value's cost on
    the peak day minus its mean over the ``baseline_days`` before the anomaly (flagged days
    excluded), with its share of the series' change; and the top resources."""
    dims = [d for d in monitor.root_cause if d not in monitor.by]
    wanted = [*dims, "ResourceId"] + (["team"] if allocated and "team" not in monitor.by else [])
    match = " AND ".join(
        f"{dimension_sql(d, allocated=allocated)} IS NOT DISTINCT FROM "
        + ("NULL" if v is None else _lit(v))
        for d, v in res.dims.items()
    )
    base_from = min(flagged) - dt.timedelta(days=baseline_days)
    skip = ", ".join(f"DATE '{d.isoformat()}'" for d in flagged)
    source = _source([*monitor.by, *wanted], where, allocated=allocated)
    basis = f"c.{_ident(config.basis)}"
    out: dict[str, Any] = {"peak_day": peak.isoformat(), "dimensions": {}}
    for dim in wanted:
        expr = dimension_sql(dim, allocated=allocated)
        rows = con.execute(
            f"SELECT v, SUM(c) FILTER (WHERE day = DATE '{peak.isoformat()}') AS actual, "
            f"SUM(c) FILTER (WHERE day < DATE '{min(flagged).isoformat()}') / {baseline_days} "
            "AS base FROM ("
            f"SELECT {expr} AS v, CAST(c.ChargePeriodStart AS DATE) AS day, "
            f"CAST(SUM({basis}) AS DECIMAL(38, 10)) AS c FROM {source} "
            f"WHERE c.ChargePeriodStart >= TIMESTAMP '{base_from.isoformat()}' "
            f"AND c.ChargePeriodStart < TIMESTAMP '{(peak + dt.timedelta(days=1)).isoformat()}' "
            f"AND (CAST(c.ChargePeriodStart AS DATE) NOT IN ({skip}) OR "
            f"CAST(c.ChargePeriodStart AS DATE) = DATE '{peak.isoformat()}') "
            f"AND c.BillingCurrency = {_lit(res.currency)} AND {charge_filter(config)} "
            f"AND {match} GROUP BY ALL) GROUP BY v"
        ).fetchall()
        deltas = [(v, Decimal(a or 0) - Decimal(b or 0)) for v, a, b in rows]
        total = sum((d for _, d in deltas), Decimal(0))
        deltas.sort(key=lambda p: -abs(p[1]))
        top = [
            {
                "value": v,
                "delta": str(d.quantize(CENT)),
                "share": float(d / total) if total else None,
            }
            for v, d in deltas[:5]
            if d
        ]
        if dim == "ResourceId":
            out["top_resources"] = top
        elif dim == "team":
            out["owner"] = top[0]["value"] if top else None
        else:
            out["dimensions"][dim] = top
    return out


def give_feedback(
    con: duckdb.DuckDBPyConnection,
    anomaly_id: str,
    kind: str,
    reason: str | None,
    *,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Record ``ack``, ``dismiss`` or ``expected`` on an anomaly, and what the detector learns:

    * ``ack``: someone owns it; it stays open (updates are still recorded) and is not re-alerted;
    * ``dismiss``: a false alarm; the series' z threshold rises by ``DISMISS_BOOST`` for good;
    * ``expected``: a real but planned change (a load test); its days leave the series'
      history, so they neither alert again nor inflate the baseline after them.
    """
    from costline.core.errors import BadInputError, Location

    ensure_tables(con)
    if kind not in FEEDBACK_KINDS:
        raise BadInputError(
            f"unknown feedback {kind!r}",
            location=Location("anomalies"),
            reason="anomaly-feedback",
            hint=f"use one of {', '.join(FEEDBACK_KINDS)}",
        )
    row = con.execute(
        "SELECT series_key, first_day, last_day, status FROM anomalies WHERE id = ?", [anomaly_id]
    ).fetchone()
    if not row:
        known = [
            r[0]
            for r in con.execute(
                "SELECT id FROM anomalies ORDER BY updated_at DESC LIMIT 5"
            ).fetchall()
        ]
        raise BadInputError(
            f"no anomaly {anomaly_id!r}",
            location=Location("anomalies"),
            reason="anomaly-unknown",
            hint="see `costline anomalies list`"
            + (f"; recent ids: {', '.join(known)}" if known else ""),
        )
    key, first, last, _ = row
    stamp = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    status = {"ack": "acked", "dismiss": "dismissed", "expected": "expected"}[kind]
    con.execute("BEGIN TRANSACTION")
    con.execute(
        "UPDATE anomalies SET status = ?, feedback = ?, reason = ?, updated_at = ? WHERE id = ?",
        [status, kind, reason, stamp, anomaly_id],
    )
    con.execute(
        "INSERT INTO anomaly_feedback VALUES (?, ?, ?, ?, ?, ?, ?)",
        [key, anomaly_id, kind, reason, stamp, first, last],
    )
    con.execute("COMMIT")
    return {"id": anomaly_id, "status": status, "series_key": key}


LIST_COLUMNS = (
    "id",
    "status",
    "severity",
    "kind",
    "monitor",
    "series",
    "team",
    "first_day",
    "last_day",
    "currency",
    "expected",
    "actual",
    "impact",
    "impact_pct",
    "root_cause",
)


def list_anomalies(
    con: duckdb.DuckDBPyConnection, *, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Anomalies, newest first, with a one-line series name and the top root cause."""
    ensure_tables(con)
    where = "TRUE" if status in (None, "all") else "status = ?"
    params: list[Any] = [] if status in (None, "all") else [status]
    rows = con.execute(
        "SELECT id, status, severity, kind, monitor, dims, team, first_day, last_day, currency, "
        "expected, actual, impact, impact_pct, root_cause FROM anomalies "
        f"WHERE {where} ORDER BY last_day DESC, abs(impact) DESC LIMIT {int(limit)}",
        params,
    ).fetchall()
    out = []
    for r in rows:
        dims = json.loads(r[5])
        cause = json.loads(r[14]) if r[14] else {}
        out.append(
            dict(
                zip(
                    LIST_COLUMNS,
                    [
                        r[0],
                        r[1],
                        r[2],
                        r[3],
                        r[4],
                        ", ".join(f"{k}={v}" for k, v in dims.items()),
                        r[6],
                        r[7],
                        r[8],
                        r[9],
                        Decimal(r[10]).quantize(CENT),
                        Decimal(r[11]).quantize(CENT),
                        Decimal(r[12]).quantize(CENT),
                        None if r[13] is None else round(r[13], 1),
                        summarize_cause(cause),
                    ],
                    strict=True,
                )
            )
        )
    return out


def summarize_cause(cause: Mapping[str, Any]) -> str:
    """The biggest contributor of each child dimension, e.g. ``x_UsageType=Requests-Tier1 +$98 (91%)``."""
    parts = []
    for dim, top in (cause.get("dimensions") or {}).items():
        if top:
            t = top[0]
            share = f" ({t['share'] * 100:.0f}%)" if t.get("share") is not None else ""
            parts.append(
                f"{dim}={t['value']} {'+' if not t['delta'].startswith('-') else ''}{t['delta']}{share}"
            )
    res = cause.get("top_resources") or []
    if res:
        parts.append(f"resource {res[0]['value']} {res[0]['delta']}")
    return "; ".join(parts[:3])


SEVERITY_ORDER = ("low", "medium", "high", "critical")


def alertable(
    con: duckdb.DuckDBPyConnection, ids: Sequence[str], config: AnomaliesConfig
) -> list[dict[str, Any]]:
    """The anomalies among ``ids`` to alert on: open (not acknowledged), at least
    ``alert_min_severity``, outside every suppression window; as plain dicts (one per row of
    ``anomalies``, JSON columns decoded) for the notify layer."""
    if not ids:
        return []
    floor = SEVERITY_ORDER.index(config.alert_min_severity)
    marks = ", ".join("?" for _ in ids)
    res = con.execute(f"SELECT * FROM anomalies WHERE id IN ({marks}) ORDER BY id", list(ids))
    cols = [d[0] for d in res.description]
    out = []
    for values in res.fetchall():
        row = dict(zip(cols, values, strict=True))
        if row["status"] != "open" or SEVERITY_ORDER.index(row["severity"]) < floor:
            continue
        if any(
            w.covers(row["monitor"], row["team"], row["first_day"], row["last_day"])
            for w in config.suppress
        ):
            continue
        row["dims"] = json.loads(row["dims"])
        row["root_cause"] = json.loads(row["root_cause"]) if row["root_cause"] else {}
        out.append(row)
    return out
