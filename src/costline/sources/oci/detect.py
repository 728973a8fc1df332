"""Recognise an OCI native cost report (``reports/cost-csv``) from its columns.

The native report's headers are ``category/name`` (``lineItem/tenantId``, ``cost/myCost``).
OCI's FOCUS report uses FOCUS column names (``BilledCost``, ``ChargePeriodStart``) plus
``oci_*`` extension columns: that one belongs to the ``focus`` source and is never claimed
here. The older OCI *usage* report has the same ``lineItem/*`` and ``product/*`` columns
but no ``cost/*`` column: it carries quantities, not cost, and is skipped with a message.
"""

from __future__ import annotations

from costline.sources.base import Detection, RawColumns

PROVIDER = "oci"
_FOCUS_MARKERS = ("BilledCost", "EffectiveCost", "ChargePeriodStart", "BillingPeriodStart")


def detect(cols: RawColumns) -> Detection | None:
    """A claim on an OCI cost report, a skip notice for a usage report, or None."""
    if any(name in cols.types for name in _FOCUS_MARKERS):
        return None
    if not cols.has_all("lineItem/tenantId", "lineItem/intervalUsageStart"):
        return None
    if not cols.with_prefix("cost/"):
        if cols.find("usage/consumedQuantity", "usage/billedQuantity") is None:
            return None
        return Detection(
            kind="oci-usage-report",
            score=90,
            provider=PROVIDER,
            details={
                "not_cost": "an OCI usage report (quantities only, no cost/* columns); "
                "skipped: ingest the cost report (reports/cost-csv) or the FOCUS report"
            },
        )
    notes = () if cols.find("cost/myCost") else ("no cost/myCost column",)
    return Detection(kind="oci-cost-report", score=90, provider=PROVIDER, notes=notes)
