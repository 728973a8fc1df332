"""Root cause of an anomaly: which child values (usage type, account, region, resource, team)
explain the change of its peak day, with their $ contribution and share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import duckdb

from costline.anomaly.series import (
    CENT,
    SeriesResult,
    charge_filter,
    dimension_sql,
    ident,
    lit,
    source_sql,
    spread_sql,
)
from costline.config.anomalies import AnomaliesConfig, Monitor


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
        + ("NULL" if v is None else lit(v))
        for d, v in res.dims.items()
    )
    base_from = min(flagged) - dt.timedelta(days=baseline_days)
    # days as numbers from base_from; a charge spanning days counts evenly in each (spread_sql)
    peak_i, first_i = (peak - base_from).days, (min(flagged) - base_from).days
    skip = ", ".join(str((d - base_from).days) for d in flagged)
    origin = f"TIMESTAMP '{base_from.isoformat()}'"
    days, count = spread_sql("day", origin)
    source = source_sql([*monitor.by, *wanted], where, allocated=allocated, estimated=res.estimated)
    basis = f"c.{ident(config.basis)}"
    out: dict[str, Any] = {"peak_day": peak.isoformat(), "dimensions": {}}
    for dim in wanted:
        expr = dimension_sql(dim, allocated=allocated)
        rows = con.execute(
            f"SELECT v, SUM(c) FILTER (WHERE day = {peak_i}) AS actual, "
            f"SUM(c) FILTER (WHERE day < {first_i}) / {baseline_days} AS base FROM ("
            f"SELECT {expr} AS v, {days} AS day, "
            f"CAST({basis} / {count} AS DECIMAL(38, 10)) AS c FROM {source} "
            f"WHERE c.ChargePeriodStart < TIMESTAMP '{(peak + dt.timedelta(days=1)).isoformat()}' "
            "AND COALESCE(c.ChargePeriodEnd, c.ChargePeriodStart + INTERVAL 1 DAY) > "
            f"{origin} AND c.BillingCurrency = {lit(res.currency)} AND {charge_filter(config)} "
            f"AND {match}) WHERE day BETWEEN 0 AND {peak_i} "
            f"AND (day NOT IN ({skip}) OR day = {peak_i}) GROUP BY v"
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
