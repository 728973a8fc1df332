"""Series of a monitor: the SQL that reads them, their keys, and what a run found in them.

Shared by the engine (:mod:`costline.anomaly.engine`), the anomaly store
(:mod:`costline.anomaly.store`) and the root cause (:mod:`costline.anomaly.rootcause`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costline.config.anomalies import AnomaliesConfig

CENT = Decimal("0.01")
# Temp view of the cost rows plus the estimated days after each provider's bill.
ESTIMATED_VIEW = "_cost_and_estimates"


@dataclass(frozen=True)
class Flag:
    """One flagged day of a series."""

    day: dt.date
    kind: str  # spike | drop | new
    expected: float
    actual: float
    z: float
    # the day's cost (of some provider of the series) is an estimate: usage × price, no bill yet
    estimated: bool = False


@dataclass
class SeriesResult:
    monitor: str
    key: str
    dims: dict[str, str | None]
    currency: str
    flags: list[Flag]
    # the last day the series' data is complete to: the earliest of its providers' last days
    # (an export that has not arrived yet is not a day of zero spend)
    horizon: dt.date | None = None
    # read from ESTIMATED_VIEW (the bill plus estimated days after it), also for its root cause
    estimated: bool = False


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
    # the last estimated day scored (None: no estimates after any provider's bill)
    estimated_through: dt.date | None = None

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
            "estimated_through": (
                self.estimated_through.isoformat() if self.estimated_through else None
            ),
        }


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def dimension_sql(dim: str, *, allocated: bool) -> str:
    """SQL for one ``by`` dimension over a cost row ``c`` (with its owner where allocated)."""
    if dim.startswith("tag:"):
        return f"c.Tags[{lit(dim[4:])}]"
    if dim == "team":
        return "c.x_Team" if allocated else "CAST(NULL AS VARCHAR)"
    if dim == "cost_center":
        return "t.cost_center" if allocated else "CAST(NULL AS VARCHAR)"
    return f"CAST(c.{ident(dim)} AS VARCHAR)"


def spread_sql(unit: str, origin: str) -> tuple[str, str]:
    """SQL over a cost row ``c``: the buckets (``unit`` = ``day`` or ``hour``, numbered from
    the timestamp ``origin``) its charge period covers, as an ``unnest`` (one output row per
    bucket), and how many there are. A charge whose period spans several buckets counts
    evenly in each: AWS bills a month's unused reservation as one row from the 1st to the
    1st, which is the month's cost, not a spike on the 1st (a row without an end, or ending
    before it starts, is one bucket)."""
    first = f"date_trunc('{unit}', c.ChargePeriodStart)"
    start = f"datediff('{unit}', {origin}, {first})"
    count = (
        f"greatest(1, coalesce(datediff('{unit}', {first}, "
        f"c.ChargePeriodEnd - INTERVAL 1 MICROSECOND) + 1, 1))"
    )
    return f"unnest(range({start}, {start} + {count}))", count


def source_sql(dims: Sequence[str], where: str, *, allocated: bool, estimated: bool = False) -> str:
    """FROM clause: the cost rows a monitor's filter (SQL over a cost row) keeps, joined to
    the published allocation when a dimension needs it. ``estimated`` reads
    :data:`ESTIMATED_VIEW` (made by :func:`estimates_view_sql`) instead of ``cost``."""
    table = ESTIMATED_VIEW if estimated else "cost"
    owners = allocated and any(d in ("team", "cost_center") for d in dims)
    if owners:
        # every cost row with its allocation group's owner (allocation/publish.py)
        table = (
            f"(SELECT e.*, a.x_Team, a.x_AllocationRunId FROM {ESTIMATED_VIEW} e "
            "LEFT JOIN allocated_charges a ON a.x_ChargeId = e.x_ChargeId)"
            if estimated
            else "allocated_charges"
        )
    cost = f"{table} c" if where == "TRUE" else f"(SELECT * FROM {table} WHERE {where}) c"
    if owners:
        return (
            f"{cost} LEFT JOIN allocation_teams t ON t.run_id = c.x_AllocationRunId "
            "AND t.team = c.x_Team"
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


def estimates_view_sql(horizons: Mapping[str, dt.date]) -> str:
    """``CREATE TEMP VIEW`` :data:`ESTIMATED_VIEW`: every ``cost`` row, plus the rows of
    ``estimated_cost`` dated after their provider's billed horizon (``horizons``: provider →
    last billed day), summed per day and shaped as usage cost rows with ``x_Estimated`` true.
    A day up to the horizon comes from the bill only: the bill replaces the estimate."""
    bills = ", ".join(f"({lit(p)}, DATE '{d.isoformat()}')" for p, d in horizons.items())
    return (
        f"CREATE OR REPLACE TEMP VIEW {ESTIMATED_VIEW} AS SELECT * FROM cost UNION ALL BY NAME "
        "SELECT e.x_Provider, e.SubAccountId, e.ServiceName, e.ResourceId, e.RegionId, "
        "e.x_UsageType, e.BillingCurrency, CAST(e.day AS TIMESTAMP) AS ChargePeriodStart, "
        "CAST(e.day + 1 AS TIMESTAMP) AS ChargePeriodEnd, 'Usage' AS ChargeCategory, "
        "'Usage-Based' AS ChargeFrequency, 'estimate' AS x_SourceKind, TRUE AS x_Estimated, "
        "CAST(SUM(e.quantity) AS DECIMAL(38, 10)) AS ConsumedQuantity, "
        "CAST(SUM(e.EffectiveCost) AS DECIMAL(38, 10)) AS EffectiveCost, "
        "CAST(SUM(e.EffectiveCost) AS DECIMAL(38, 10)) AS BilledCost "
        f"FROM estimated_cost e JOIN (VALUES {bills}) h(provider, billed) "
        "ON e.x_Provider = h.provider WHERE e.day > h.billed GROUP BY ALL"
    )
