"""Reconciling estimated cost with the bill once it arrives.

:func:`reconcile` compares the estimated cost (:mod:`costline.anomaly.estimates`) with the billed
cost on the days both cover, per provider, day, service and currency, then settles the
anomalies flagged on estimated days that the bill now covers (:func:`settle_anomalies`): each
such day takes its billed cost and is confirmed, or not, by the monitor's gates.

Example:
    >>> gates_pass(Monitor(id="m", by=["ServiceName"]), "spike", 100.0, 160.0)
    True
    >>> gates_pass(Monitor(id="m", by=["ServiceName"]), "spike", 100.0, 120.0)
    False
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import duckdb

from costline.anomaly import store
from costline.anomaly.estimates import ensure_table
from costline.anomaly.series import CENT, charge_filter, dimension_sql, ident, lit, source_sql
from costline.config.anomalies import AnomaliesConfig, Monitor

RECONCILE_COLUMNS = (
    "provider",
    "day",
    "service",
    "currency",
    "estimated",
    "billed",
    "difference",
    "difference_pct",
)


def reconcile(
    con: duckdb.DuckDBPyConnection,
    config: AnomaliesConfig,
    *,
    days: int = 14,
    filters: Mapping[str, str] | None = None,
    allocated: bool = False,
    now: dt.datetime | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Estimated vs billed cost on the days both cover, and the anomalies settled.

    Returns:
        The comparison (one row per provider, day, service and currency of the estimates
        within the last ``days`` billed days of each provider; ``billed`` is the bill's
        ``anomalies.basis`` with fees and credits left out as in detection), and one row per
        anomaly whose estimated days the bill now covers (see :func:`settle_anomalies`).
    """
    ensure_table(con)
    rows = con.execute(
        "WITH h AS (SELECT c.x_Provider AS provider, max(CAST(c.ChargePeriodStart AS DATE)) "
        f"AS billed FROM cost c WHERE {charge_filter(config)} GROUP BY 1), "
        "e AS (SELECT e.x_Provider AS provider, e.day, e.ServiceName AS service, "
        "e.BillingCurrency AS currency, SUM(e.EffectiveCost) AS estimated FROM estimated_cost e "
        f"JOIN h ON e.x_Provider = h.provider WHERE e.day <= h.billed "
        f"AND e.day > h.billed - {int(days)} GROUP BY ALL), "
        "b AS (SELECT c.x_Provider AS provider, CAST(c.ChargePeriodStart AS DATE) AS day, "
        f"c.ServiceName AS service, c.BillingCurrency AS currency, SUM(c.{ident(config.basis)}) "
        "AS billed FROM cost c WHERE c.ChargePeriodStart >= "
        "(SELECT CAST(min(day) AS TIMESTAMP) FROM e) "
        f"AND {charge_filter(config)} GROUP BY ALL) "
        "SELECT e.provider, e.day, e.service, e.currency, e.estimated, "
        "COALESCE(b.billed, 0) AS billed FROM e LEFT JOIN b "
        "ON b.provider = e.provider AND b.day = e.day "
        "AND b.service IS NOT DISTINCT FROM e.service AND b.currency = e.currency "
        "ORDER BY e.provider, e.day, e.service, e.currency"
    ).fetchall()
    report = []
    for provider, day, service, currency, est, billed in rows:
        est, billed = Decimal(est), Decimal(billed)
        diff = billed - est
        pct = round(float(diff / est * 100), 2) if est else None
        values = (provider, day, service, currency, est, billed, diff, pct)
        report.append(dict(zip(RECONCILE_COLUMNS, values, strict=True)))
    settled = settle_anomalies(con, config, filters=filters or {}, allocated=allocated, now=now)
    return report, settled


def gates_pass(monitor: Monitor, kind: str, expected: float, actual: float) -> bool:
    """Whether a day's billed cost still passes the monitor's direction and dollar gates
    against the expected cost the anomaly recorded (a ``new`` day: the cold-start amount)."""
    if kind == "new":
        return Decimal(str(actual)) >= monitor.cold_start.min_abs
    delta = actual - expected
    if (kind == "spike" and delta <= 0) or (kind == "drop" and delta >= 0):
        return False
    gate = monitor.impact
    abs_ok = Decimal(str(round(abs(delta), 2))) >= gate.min_abs
    pct_ok = (100.0 * abs(delta) / abs(expected) if expected else float("inf")) >= gate.min_pct
    return (abs_ok and pct_ok) if gate.op == "and" else (abs_ok or pct_ok)


def settle_anomalies(
    con: duckdb.DuckDBPyConnection,
    config: AnomaliesConfig,
    *,
    filters: Mapping[str, str],
    allocated: bool,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Settle every anomaly day that was flagged on an estimate and is billed now.

    The day's actual becomes the billed cost (the estimate is kept as ``estimated_actual``)
    and it is marked ``reconciled: confirmed`` when the billed cost still passes the
    monitor's gates (:func:`gates_pass`; the z-score is not re-run), else ``reconciled: not
    in the bill``. An anomaly left without a standing day is resolved with the reason
    ``not in the bill``; the others keep their status, with totals and severity from the
    billed days. Nothing is alerted; settling again changes nothing.
    """
    store.ensure_tables(con)
    horizons = dict(
        con.execute(
            "SELECT x_Provider, max(CAST(ChargePeriodStart AS DATE)) FROM cost c "
            f"WHERE {charge_filter(config)} GROUP BY 1"
        ).fetchall()
    )
    monitors = {m.id: m for m in config.monitors}
    stamp = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    out: list[dict[str, Any]] = []
    con.execute("BEGIN TRANSACTION")
    try:
        _settle_all(con, config, horizons, monitors, filters, allocated, stamp, out)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return out


def _settle_all(
    con: duckdb.DuckDBPyConnection,
    config: AnomaliesConfig,
    horizons: Mapping[str, dt.date],
    monitors: Mapping[str, Monitor],
    filters: Mapping[str, str],
    allocated: bool,
    stamp: dt.datetime,
    out: list[dict[str, Any]],
) -> None:
    for anomaly_id, monitor_id, dims_json, currency, status, days_json, reason in con.execute(
        "SELECT id, monitor, dims, currency, status, days, reason FROM anomalies "
        "WHERE estimated AND status NOT IN ('dismissed', 'expected') ORDER BY id"
    ).fetchall():
        monitor = monitors.get(monitor_id)
        if monitor is None:  # the monitor left the config: nothing to judge it by
            continue
        dims, days = json.loads(dims_json), json.loads(days_json)
        due = [d for d, v in days.items() if v.get("estimated") and _billed(con, horizons, dims, d)]
        if not due:
            continue
        where = filters.get(monitor.id, "TRUE")
        billed = _series_cost(con, config, monitor, dims, currency, due, where, allocated)
        for d in due:
            v = days[d]
            amount = float(billed.get(d, Decimal(0)))
            ok = gates_pass(monitor, v["kind"], float(v["expected"]), amount)
            v.update(
                estimated=False,
                estimated_actual=v["actual"],
                actual=round(amount, 2),
                reconciled="confirmed" if ok else "not in the bill",
            )
        out.append(
            _settle(con, anomaly_id, monitor_id, dims, currency, status, reason, days, due, stamp)
        )


def _billed(
    con: duckdb.DuckDBPyConnection,
    horizons: Mapping[str, dt.date],
    dims: Mapping[str, Any],
    day: str,
) -> bool:
    """Whether the bill covers ``day`` for the series: every provider it was estimated for
    (the series' own provider when it is a dimension) has billed that day."""
    if dims.get("x_Provider"):
        providers = [dims["x_Provider"]]
    else:
        providers = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT x_Provider FROM estimated_cost WHERE day = ?",
                [dt.date.fromisoformat(day)],
            ).fetchall()
        ]
    when = dt.date.fromisoformat(day)
    return bool(providers) and all(p in horizons and when <= horizons[p] for p in providers)


def _series_cost(
    con: duckdb.DuckDBPyConnection,
    config: AnomaliesConfig,
    monitor: Monitor,
    dims: Mapping[str, Any],
    currency: str,
    days: Sequence[str],
    where: str,
    allocated: bool,
) -> dict[str, Decimal]:
    """The series' billed cost on ``days`` (its monitor's filter, dimensions and currency)."""
    match = " AND ".join(
        f"{dimension_sql(d, allocated=allocated)} IS NOT DISTINCT FROM "
        + ("NULL" if v is None else lit(str(v)))
        for d, v in dims.items()
    )
    listed = ", ".join(f"DATE '{d}'" for d in days)
    rows = con.execute(
        f"SELECT CAST(c.ChargePeriodStart AS DATE), SUM(c.{ident(config.basis)}) "
        f"FROM {source_sql(monitor.by, where, allocated=allocated)} "
        f"WHERE CAST(c.ChargePeriodStart AS DATE) IN ({listed}) "
        f"AND c.BillingCurrency = {lit(currency)} AND {charge_filter(config)} AND {match} "
        "GROUP BY 1"
    ).fetchall()
    return {d.isoformat(): Decimal(v) for d, v in rows}


def _settle(
    con: duckdb.DuckDBPyConnection,
    anomaly_id: str,
    monitor_id: str,
    dims: Mapping[str, Any],
    currency: str,
    status: str,
    reason: str | None,
    days: dict[str, dict[str, Any]],
    due: Sequence[str],
    stamp: dt.datetime,
) -> dict[str, Any]:
    expected = sum((Decimal(str(v["expected"])) for v in days.values()), Decimal(0))
    actual = sum((Decimal(str(v["actual"])) for v in days.values()), Decimal(0))
    impact = actual - expected
    standing = [d for d, v in days.items() if v.get("reconciled") != "not in the bill"]
    billed = sum((Decimal(str(days[d]["actual"])) for d in due), Decimal(0))
    estimate = sum((Decimal(str(days[d]["estimated_actual"])) for d in due), Decimal(0))
    outcome = "confirmed" if standing else "not in the bill"
    if not standing:
        note = (
            f"not in the bill: billed {billed.quantize(CENT)} vs estimated "
            f"{estimate.quantize(CENT)} {currency}"
        )
        reason = f"{reason}; {note}" if reason else note
        status = "resolved" if status in ("open", "acked") else status
    con.execute(
        "UPDATE anomalies SET days = ?, actual = ?, impact = ?, impact_pct = ?, severity = ?, "
        "estimated = ?, status = ?, reason = ?, updated_at = ? WHERE id = ?",
        [
            json.dumps(days),
            actual,
            impact,
            float(impact / expected * 100) if expected else None,
            store.severity_of(impact),
            any(v.get("estimated") for v in days.values()),
            status,
            reason,
            stamp,
            anomaly_id,
        ],
    )
    return {
        "id": anomaly_id,
        "monitor": monitor_id,
        "series": ", ".join(f"{k}={v}" for k, v in dims.items()),
        "days": ", ".join(due),
        "estimated": estimate.quantize(CENT),
        "billed": billed.quantize(CENT),
        "outcome": outcome,
        "status": status,
    }
