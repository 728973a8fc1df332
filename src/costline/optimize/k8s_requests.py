"""Kubernetes request rightsizing: requests that follow what containers use (krr's simple
strategy), with the dollar impact at the cluster's own unit prices.

Per workload container over a lookback (default 14 days up to the newest sample) of the
``k8s_samples`` table (``costline k8s load samples``):

* **CPU request** = the 95th percentile of the CPU usage samples (cores);
* **memory request** = the maximum memory usage × 1.15 (15 % headroom; a container over its
  memory limit is killed, so memory follows the peak, not a percentile);
* at least :data:`MIN_HOURS` pod-hours of samples, else no recommendation.

A workload is the ``workload``, ``app.kubernetes.io/name`` or ``app`` label of its pods, else
the pod name without its ReplicaSet and pod hashes. The samples' own window is the resolution:
daily averages (as the demo writes) give a percentile of daily averages, 5-minute samples one
of 5-minute usage.

**Dollars.** A node's hourly cost (its ``EffectiveCost`` in the bill over the window, per hour
billed) is split over its capacity with AWS split cost allocation's default weights, one vCPU
as much as nine GiB of memory (:data:`CPU_TO_GIB`): price per GiB-hour ``p_m = Σ node cost per
hour / Σ (9 × cores + GiB)`` over the cluster's nodes, per vCPU-hour ``9 × p_m``. A
workload's monthly change = (Δ cores × p_c + Δ GiB × p_m) × pods running on average × 730 h.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from costline.core.errors import ConfigError

LOOKBACK_DAYS = 14
CPU_PERCENTILE = 0.95
MEMORY_HEADROOM = 1.15
MIN_HOURS = 30
CPU_TO_GIB = 9.0  # AWS split cost allocation: 1 vCPU weighs as much as 9 GiB of memory
HOURS_PER_MONTH = 730
GIB = 1024.0**3
TOLERANCE = 0.10  # within 10 % of the current request: leave it
COLUMNS = (
    "cluster",
    "namespace",
    "workload",
    "container",
    "status",
    "pods",
    "pod_hours",
    "cpu_request",
    "cpu_p95",
    "cpu_recommended",
    "memory_request_gib",
    "memory_max_gib",
    "memory_recommended_gib",
    "cpu_price_per_core_hour",
    "memory_price_per_gib_hour",
    "monthly_change",
    "monthly_savings",
)

# The workload of a sample row (also how adoption tracking finds a container again).
WORKLOAD_SQL = (
    "COALESCE(NULLIF(labels['workload'], ''), NULLIF(labels['app.kubernetes.io/name'], ''), "
    "NULLIF(labels['app'], ''), regexp_replace(pod, '(-[a-z0-9]{6,10})?-[a-z0-9]{5}$', ''))"
)


@dataclass(frozen=True)
class Recommendation:
    cluster: str
    namespace: str
    workload: str
    container: str
    status: str  # reduce | increase | ok | insufficient-data | unpriced
    pods: float
    pod_hours: float
    cpu_request: float | None
    cpu_p95: float | None
    cpu_recommended: float | None
    memory_request_gib: float | None
    memory_max_gib: float | None
    memory_recommended_gib: float | None
    cpu_price_per_core_hour: Decimal | None
    memory_price_per_gib_hour: Decimal | None
    monthly_change: Decimal | None
    monthly_savings: Decimal | None
    window_end: dt.datetime | None = None  # end of the samples' window it was computed on

    def row(self) -> tuple[Any, ...]:
        return tuple(getattr(self, c) for c in COLUMNS)


def _prices(con: Any, start: dt.datetime, end: dt.datetime) -> dict[str, tuple[float, float]]:
    """Per cluster: (price per vCPU-hour, per GiB-hour) from its nodes' bill rows."""
    rows = con.execute(
        "WITH nc AS (SELECT lower(ResourceId) AS rid, SUM(CAST(EffectiveCost AS DOUBLE)) AS cost, "
        "SUM(date_diff('second', ChargePeriodStart, ChargePeriodEnd)) / 3600.0 AS hours "
        "FROM cost WHERE ChargePeriodStart >= ? AND ChargePeriodStart < ? "
        "AND lower(ResourceId) IN (SELECT lower(node_resource_id) FROM k8s_nodes) "
        "AND ChargeCategory = 'Usage' GROUP BY 1) "
        "SELECT n.cluster, SUM(nc.cost / nc.hours), "
        f"SUM({CPU_TO_GIB} * n.cpu_cores + n.memory_bytes / {GIB}) FROM nc "
        "JOIN k8s_nodes n ON lower(n.node_resource_id) = nc.rid WHERE nc.hours > 0 "
        "GROUP BY 1",
        [start, end],
    ).fetchall()
    out = {}
    for cluster, hourly, units in rows:
        if cluster is not None and units and hourly is not None:
            per_gib = float(hourly) / float(units)
            out[str(cluster)] = (CPU_TO_GIB * per_gib, per_gib)
    return out


def _tables_exist(con: Any) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_name IN ('k8s_samples', 'k8s_nodes')"
    ).fetchone()
    return bool(row and row[0] == 2)


def samples_end(con: Any, *, as_of: dt.date | None = None) -> dt.datetime | None:
    """The end of the newest sample window (samples starting before ``as_of`` only, and at
    most ``as_of``), or None: no Kubernetes samples are loaded."""
    if not _tables_exist(con):
        return None
    sql = (
        "SELECT max(window_start + to_microseconds(CAST(window_hours * 3.6e9 AS BIGINT))) "
        "FROM k8s_samples"
    )
    params: list[Any] = []
    if as_of is not None:
        sql += " WHERE window_start < ?"
        params.append(dt.datetime.combine(as_of, dt.time()))
    last = con.execute(sql, params).fetchone()
    if not last or last[0] is None:
        return None
    end: dt.datetime = last[0]
    return min(end, dt.datetime.combine(as_of, dt.time())) if as_of is not None else end


def recommend_requests(
    con: Any, *, lookback_days: int = LOOKBACK_DAYS, as_of: dt.date | None = None
) -> list[Recommendation]:
    """One recommendation per workload container with samples in the window, largest monthly
    savings first; ``as_of``: as if it were that day (samples and bill before it only).

    Raises:
        ConfigError: no Kubernetes samples are loaded, or the lookback is under a day.
    """
    if lookback_days < 1:
        raise ConfigError("lookback must be at least 1 day", hint="e.g. --lookback 14")
    found = samples_end(con, as_of=as_of)
    if found is None:
        raise ConfigError(
            "no Kubernetes samples are loaded",
            hint="load them with `costline k8s load samples FILE` (and nodes)",
        )
    end = found
    start = end - dt.timedelta(days=lookback_days)
    prices = _prices(con, start, end)
    window_hours = lookback_days * 24.0
    rows = con.execute(
        f"SELECT cluster, namespace, {WORKLOAD_SQL} AS workload, container, "
        "SUM(window_hours) AS pod_hours, "
        "SUM(cpu_request * window_hours) / NULLIF(SUM(CASE WHEN cpu_request IS NOT NULL "
        "THEN window_hours END), 0) AS cpu_request, "
        f"quantile_cont(cpu_usage, {CPU_PERCENTILE}) AS cpu_p95, "
        "SUM(memory_request * window_hours) / NULLIF(SUM(CASE WHEN memory_request IS NOT NULL "
        "THEN window_hours END), 0) AS memory_request, max(memory_usage) AS memory_max, "
        "min(window_start) AS first FROM k8s_samples WHERE window_start >= ? "
        "AND window_start < ? GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
        [start, end],
    ).fetchall()
    out = []
    for (
        cluster,
        ns,
        workload,
        container,
        pod_hours,
        cpu_req,
        cpu_p95,
        mem_req,
        mem_max,
        first,
    ) in rows:
        span = max((end - first).total_seconds() / 3600.0, 1.0)
        pods = float(pod_hours) / min(span, window_hours)
        mem_req_gib = None if mem_req is None else float(mem_req) / GIB
        mem_max_gib = None if mem_max is None else float(mem_max) / GIB
        cpu_rec = None if cpu_p95 is None else float(cpu_p95)
        mem_rec = None if mem_max_gib is None else mem_max_gib * MEMORY_HEADROOM
        price = prices.get(str(cluster))
        base = {
            "cluster": cluster,
            "namespace": ns,
            "workload": workload,
            "container": container,
            "pods": round(pods, 2),
            "pod_hours": round(float(pod_hours), 1),
            "cpu_request": _r(cpu_req),
            "cpu_p95": _r(cpu_p95),
            "cpu_recommended": _r(cpu_rec),
            "memory_request_gib": _r(mem_req_gib),
            "memory_max_gib": _r(mem_max_gib),
            "memory_recommended_gib": _r(mem_rec),
            "cpu_price_per_core_hour": _money(price[0], 6) if price else None,
            "memory_price_per_gib_hour": _money(price[1], 6) if price else None,
            "window_end": end,
        }
        if float(pod_hours) < MIN_HOURS or cpu_rec is None or mem_rec is None:
            out.append(
                Recommendation(
                    status="insufficient-data", monthly_change=None, monthly_savings=None, **base
                )
            )
            continue
        d_cpu = cpu_rec - float(cpu_req or 0.0)
        d_mem = mem_rec - float(mem_req_gib or 0.0)
        same = _close(cpu_rec, cpu_req) and _close(mem_rec, mem_req_gib)
        status = "ok" if same else ("reduce" if d_cpu * CPU_TO_GIB + d_mem < 0 else "increase")
        if price is None:
            out.append(
                Recommendation(
                    status="unpriced" if not same else "ok",
                    monthly_change=None,
                    monthly_savings=None,
                    **base,
                )
            )
            continue
        change = (d_cpu * price[0] + d_mem * price[1]) * pods * HOURS_PER_MONTH
        out.append(
            Recommendation(
                status=status,
                monthly_change=_money(change, 2),
                monthly_savings=_money(max(-change, 0.0), 2),
                **base,
            )
        )
    return sorted(
        out,
        key=lambda r: (-(r.monthly_savings or 0), r.cluster, r.namespace, r.workload, r.container),
    )


def _close(new: float, current: float | None) -> bool:
    return (
        current is not None
        and current > 0
        and abs(new - float(current)) <= TOLERANCE * float(current)
    )


def _r(x: Any) -> float | None:
    return None if x is None else round(float(x), 4)


def _money(x: float, places: int) -> Decimal:
    return Decimal(repr(x)).quantize(Decimal(1).scaleb(-places))


__all__ = ["COLUMNS", "WORKLOAD_SQL", "Recommendation", "recommend_requests", "samples_end"]
