"""Chargeback, showback and explain: SQL over the allocation (pure builders + small parsers).

Statements and waterfalls read ``allocation_facts`` (one row per group of charges or group
part); explaining one charge reads the per-charge ``allocated_cost``. Amounts are in billing
currency (a currency column is always a grouping key) on the chosen basis: ``EffectiveCost``
(amortized, the default), ``BilledCost``, ``ListCost`` or ``ContractedCost``.

Example:
    >>> "x_CostCenter" in chargeback_sql("2026-10-01", basis="EffectiveCost")
    True
"""

from __future__ import annotations

import json
from typing import Any

from costline.core.errors import CostlineError

BASES = ("EffectiveCost", "BilledCost", "ListCost", "ContractedCost")
_SHARED = "x_RuleId LIKE 'pool:%'"


def check_basis(basis: str) -> str:
    if basis not in BASES:
        raise CostlineError(f"unknown cost basis {basis!r}", hint=f"use one of {', '.join(BASES)}")
    return basis


def _period(period: str) -> str:
    return (
        f"BillingPeriodStart >= DATE '{period}' "
        f"AND BillingPeriodStart < DATE '{period}' + INTERVAL 1 MONTH"
    )


def chargeback_sql(period: str, *, basis: str) -> str:
    """One line per cost center and team of a month: direct, shared, total."""
    b = check_basis(basis)
    return f"""
SELECT strftime(BillingPeriodStart, '%Y-%m') AS month,
       COALESCE(x_CostCenter, '(none)') AS cost_center,
       x_BusinessUnit AS business_unit, x_Department AS department, x_Team AS team,
       BillingCurrency AS currency,
       SUM(CASE WHEN NOT ({_SHARED}) THEN {b} ELSE 0 END) AS direct,
       SUM(CASE WHEN {_SHARED} THEN {b} ELSE 0 END) AS shared,
       SUM({b}) AS total
FROM allocation_facts WHERE {_period(period)}
GROUP BY ALL ORDER BY 1, 2, 5, 6"""


def showback_sql(*, months: int, end: str | None, basis: str) -> str:
    """Monthly trend for one team (parameter 1: team id), the last ``months`` months."""
    b = check_basis(basis)
    last = f"DATE '{end}'" if end else "(SELECT max(BillingPeriodStart) FROM allocation_facts)"
    return f"""
SELECT strftime(BillingPeriodStart, '%Y-%m') AS month, x_Team AS team, BillingCurrency AS currency,
       SUM(CASE WHEN NOT ({_SHARED}) THEN {b} ELSE 0 END) AS direct,
       SUM(CASE WHEN {_SHARED} THEN {b} ELSE 0 END) AS shared,
       SUM({b}) AS total
FROM allocation_facts
WHERE x_Team = ? AND BillingPeriodStart > {last} - INTERVAL {int(months)} MONTH
  AND BillingPeriodStart <= {last}
GROUP BY ALL ORDER BY month, currency"""


def explain_cost_center_sql(period: str, *, basis: str) -> str:
    """Waterfall groups of one cost center (parameter 1): direct by rule, shares by pool path."""
    b = check_basis(basis)
    return f"""
SELECT CASE WHEN {_SHARED} THEN 'shared' ELSE 'direct' END AS component,
       x_Team AS team, x_RuleId AS rule, x_AllocationPath AS path, x_Provider AS provider,
       BillingCurrency AS currency,
       CASE WHEN {_SHARED} THEN AllocatedMethodDetails END AS details,
       SUM(x_Charges) AS charges, SUM({b}) AS amount
FROM allocation_facts WHERE x_CostCenter = ? AND {_period(period)}
GROUP BY ALL ORDER BY component, amount DESC"""


def explain_charge_sql(*, basis: str) -> str:
    """Every allocated part of one origin charge (parameter 1: x_ChargeId)."""
    b = check_basis(basis)
    return f"""
SELECT x_ChargeId AS charge, strftime(BillingPeriodStart, '%Y-%m') AS month,
       x_Provider AS provider, ServiceName AS service, ResourceId AS resource,
       ChargeDescription AS description, x_Team AS team, x_CostCenter AS cost_center,
       x_RuleId AS rule, x_AllocationPath AS path, AllocatedMethodDetails AS details,
       BillingCurrency AS currency, {b} AS amount, x_RuleVersion AS rules_version,
       x_AllocationRunId AS run
FROM allocated_cost WHERE x_ChargeId = ?
ORDER BY BillingPeriodStart, x_AllocationPath"""


def describe_steps(details: str | None) -> str:
    """AllocatedMethodDetails JSON → ``pool support: proportional by EffectiveCost 75.00 %``."""
    if not details:
        return ""
    try:
        element = json.loads(details)["Elements"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        return details
    parts = []
    for step in element.get("x_Steps", []):
        ratio = float(step.get("AllocatedRatio", 0)) * 100
        unit = step.get("UsageUnit")
        qty = step.get("UsageQuantity")
        driver = {"share": "fixed/even share"}.get(unit, f"by {unit}")
        if qty is not None and unit != "share":
            driver += f" ({_num(qty)})"
        parts.append(
            f"pool {step.get('x_Pool')}: {step.get('x_Method')} {driver} "
            f"→ {step.get('x_Recipient')} {ratio:.4g} %"
        )
    return "; ".join(parts)


def _num(value: Any) -> str:
    try:
        return f"{float(value):,.6g}"
    except (TypeError, ValueError):
        return str(value)
