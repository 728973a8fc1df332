"""Builders of small FOCUS CSV files for pipeline tests (the FOCUS source is the simplest)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

COLUMNS = (
    "BillingAccountId",
    "BillingAccountName",
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "BillingCurrency",
    "ProviderName",
    "PublisherName",
    "InvoiceIssuerName",
    "ChargeCategory",
    "ChargeDescription",
    "ServiceName",
    "ServiceCategory",
    "Tags",
)


def focus_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "BillingAccountId": "111",
        "BillingAccountName": "acme",
        "BillingPeriodStart": "2024-09-01T00:00:00Z",
        "BillingPeriodEnd": "2024-10-01T00:00:00Z",
        "ChargePeriodStart": "2024-09-03T00:00:00Z",
        "ChargePeriodEnd": "2024-09-04T00:00:00Z",
        "BilledCost": "1.25",
        "EffectiveCost": "1.25",
        "ListCost": "1.50",
        "ContractedCost": "1.25",
        "BillingCurrency": "USD",
        "ProviderName": "AWS",
        "PublisherName": "AWS",
        "InvoiceIssuerName": "AWS",
        "ChargeCategory": "Usage",
        "ChargeDescription": "demo",
        "ServiceName": "Amazon EC2",
        "ServiceCategory": "Compute",
        "Tags": '{"team": "web"}',
    }
    row.update(overrides)
    return row


def write_focus_csv(
    path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str] = COLUMNS
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def daily_resource_row(day: Any, resource: str, cost: str, usage_type: str) -> dict[str, Any]:
    """A FOCUS row of one resource's cost for one day (``day``: a ``datetime.date``), with
    ``ResourceId``, ``RegionId``, ``SubAccountId``, ``ConsumedQuantity`` and ``x_UsageType``
    (write it with :data:`RESOURCE_COLUMNS`)."""
    import datetime as dt

    start = dt.datetime.combine(day, dt.time())
    period = day.replace(day=1)
    end = (period + dt.timedelta(days=32)).replace(day=1)
    return focus_row(
        BillingPeriodStart=f"{period:%Y-%m-%d}T00:00:00Z",
        BillingPeriodEnd=f"{end:%Y-%m-%d}T00:00:00Z",
        ChargePeriodStart=f"{start:%Y-%m-%dT%H:%M:%SZ}",
        ChargePeriodEnd=f"{start + dt.timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}",
        BilledCost=cost,
        EffectiveCost=cost,
        ListCost=cost,
        ContractedCost=cost,
        ResourceId=resource,
        RegionId="us-east-1",
        SubAccountId="222",
        ConsumedQuantity="1",
        x_UsageType=usage_type,
    )


RESOURCE_COLUMNS = (
    *COLUMNS,
    "ResourceId",
    "RegionId",
    "SubAccountId",
    "ConsumedQuantity",
    "x_UsageType",
)
