"""Models of the ``anomalies:`` section of ``costline.yaml``: monitors and their gates.

A **monitor** watches the daily cost of every value of its dimensions (``by``): per service,
per account, per team, per tag value, per region, per usage type, or any column, optionally
within a filter. Each value is one **series**. A point is an anomaly when the detector's robust
z-score passes the monitor's sensitivity *and* the dollar gates hold, so a 300 % jump on $2
never pages anyone.

Example:
    >>> m = Monitor.model_validate({"id": "svc", "by": ["ServiceName"]})
    >>> m.z_threshold, m.impact.min_abs, m.impact.op
    (4.5, Decimal('50'), 'and')
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from costline.config.conditions import Condition

# Robust z needed per sensitivity: ~1 false alarm a year per quiet daily series at "medium"
# (a two-sided normal tail beyond 4.5σ is 7e-6 per point; MAD-scaled residuals are heavier).
SENSITIVITY_Z = {"low": 6.0, "medium": 4.5, "high": 3.5}
# ``by`` names that are not cost columns.
DIMENSIONS = {"team", "cost_center"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ImpactGate(_Model):
    """Dollar gates: a point must move spend by ``min_abs`` and/or ``min_pct`` to alert."""

    min_abs: Decimal = Field(
        Decimal(50), ge=0, description="Minimum |actual − expected|, in billing currency."
    )
    min_pct: float = Field(20.0, ge=0, description="Minimum |actual − expected| / expected, in %.")
    op: Literal["and", "or"] = Field("and", description="Both gates (and) or either (or).")


class ColdStart(_Model):
    """A series without enough history: its first spend alerts above ``min_abs`` a day."""

    min_abs: Decimal = Field(
        Decimal(100), ge=0, description="Daily spend of a new series that alerts."
    )


class Monitor(_Model):
    """One monitor: a set of series (one per value of ``by``) with its sensitivity and gates."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", description="Monitor id.")
    by: list[str] = Field(
        min_length=1,
        description="Dimensions: cost columns (ServiceName, SubAccountId, RegionId, x_UsageType, "
        "...), tag:<key>, team or cost_center (from the published allocation).",
    )
    filter: Condition | None = Field(None, description="Only rows matching this condition.")
    sensitivity: Literal["low", "medium", "high"] = Field(
        "medium", description="Robust z needed: low 6, medium 4.5, high 3.5."
    )
    granularity: Literal["daily", "hourly"] = Field(
        "daily",
        description="Series per day, or per hour where the bill is hourly (a daily season, "
        "the last 7 days as history; estimates feed daily monitors only).",
    )
    direction: Literal["up", "down", "both"] = Field("up", description="Spikes, drops or both.")
    min_spend: Decimal = Field(
        Decimal(10),
        ge=0,
        description="Series whose baseline is below this daily spend are not scored (except cold start).",
    )
    repeats_are_normal: bool = Field(
        True,
        description="A spike to a level the series already reached in the lookback (at 1 or 3 "
        "days) is a recurring pattern (a monthly training job), not an anomaly.",
    )
    impact: ImpactGate = Field(default_factory=ImpactGate)
    cold_start: ColdStart = Field(default_factory=ColdStart)
    root_cause: list[str] = Field(
        default_factory=lambda: ["ServiceName", "x_UsageType", "SubAccountId", "RegionId"],
        description="Child dimensions the root cause is computed over (top resources always).",
    )

    @field_validator("by")
    @classmethod
    def _dims(cls, value: list[str]) -> list[str]:
        for dim in value:
            if dim.startswith("tag:") and len(dim) == 4:
                raise ValueError("tag: needs a key, e.g. tag:team")
        return value

    @property
    def z_threshold(self) -> float:
        return SENSITIVITY_Z[self.sensitivity]


class Suppression(_Model):
    """A window in which anomalies are still recorded but not alerted (a migration, a test)."""

    start: dt.date = Field(description="First day suppressed (YYYY-MM-DD).")
    end: dt.date = Field(description="Last day suppressed (YYYY-MM-DD).")
    monitors: list[str] = Field(default_factory=list, description="Monitor ids (empty: all).")
    teams: list[str] = Field(default_factory=list, description="Team ids (empty: all).")
    reason: str | None = Field(None, description="Why, shown in `anomalies list`.")

    def covers(self, monitor: str, team: str | None, first: dt.date, last: dt.date) -> bool:
        """Whether an anomaly of ``monitor``/``team`` over ``first``..``last`` falls inside."""
        return (
            first <= self.end
            and last >= self.start
            and (not self.monitors or monitor in self.monitors)
            and (not self.teams or team in self.teams)
        )


def _default_monitors() -> list[Monitor]:
    return [
        Monitor(id="service", by=["x_Provider", "ServiceName"]),
        Monitor(id="account", by=["x_Provider", "SubAccountId"]),
    ]


class AnomaliesConfig(_Model):
    """Anomaly detection settings."""

    monitors: list[Monitor] = Field(
        default_factory=_default_monitors,
        description="What to watch (default: per provider + service, per provider + account).",
    )
    basis: Literal["EffectiveCost", "BilledCost"] = Field(
        "EffectiveCost", description="Cost column the series sum."
    )
    lookback_days: int = Field(
        90,
        ge=14,
        le=400,
        description="History read before the first day evaluated: the repeat test's memory "
        "(the baseline itself uses the last 8 weeks of it).",
    )
    exclude_fees: bool = Field(
        True,
        description="Leave recurring and one-time charges (commitment fees posted on the 1st, "
        "purchases, support) out of the series: they are planned, not anomalies.",
    )
    fee_days: list[int] = Field(
        default_factory=list,
        description="Days of the month never flagged (known fee days of charges that are not "
        "marked Recurring, e.g. a marketplace fee posted on the 1st).",
    )
    include_credits: bool = Field(False, description="Count credits (negative cost) in the series.")
    suppress: list[Suppression] = Field(
        default_factory=list, description="Windows whose anomalies are recorded but not alerted."
    )
    alert_min_severity: Literal["low", "medium", "high", "critical"] = Field(
        "low", description="Anomalies below this severity are recorded but not alerted."
    )
    resolve_after_days: int = Field(
        2, ge=1, description="An open anomaly with this many normal days after it resolves."
    )
    estimates: bool | None = Field(
        None,
        description="Score the estimated cost loaded by `costline anomalies usage load` on the "
        "days after each provider's bill (default: on when there are estimates).",
    )

    @field_validator("monitors")
    @classmethod
    def _unique(cls, value: list[Monitor]) -> list[Monitor]:
        seen: set[str] = set()
        for m in value:
            if m.id in seen:
                raise ValueError(f"monitor id {m.id!r} appears twice")
            seen.add(m.id)
        return value
