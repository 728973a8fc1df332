"""`costline costs --by ...`: cost totals grouped by named dimensions (pure SQL builder).

Money is never summed across currencies: BillingCurrency is always a grouping column.

Example:
    >>> "ServiceName" in costs_sql(["service"])
    True
"""

from __future__ import annotations

import difflib
import re

from costline.core.errors import CostlineError

DIMENSIONS: dict[str, str] = {
    "provider": "x_Provider",
    "service_provider": "ServiceProviderName",
    "account": "BillingAccountId",
    "account_name": "BillingAccountName",
    "subaccount": "SubAccountId",
    "subaccount_name": "SubAccountName",
    "service": "ServiceName",
    "category": "ServiceCategory",
    "charge": "ChargeCategory",
    "region": "RegionId",
    "resource": "ResourceId",
    "sku": "SkuId",
    "month": "strftime(BillingPeriodStart, '%Y-%m')",
    "day": "strftime(ChargePeriodStart, '%Y-%m-%d')",
    "source": "x_SourceKind",
    "pricing": "PricingCategory",
    "commitment": "CommitmentDiscountId",
}
_TAG = re.compile(r"^tag:([\w.:/@+=-]+)$")


def dimension_sql(name: str) -> str:
    """SQL for a dimension name, or ``tag:KEY`` for a tag value.

    Raises:
        CostlineError: unknown dimension, with the closest valid one.
    """
    if name in DIMENSIONS:
        return DIMENSIONS[name]
    match = _TAG.match(name)
    if match:
        key = match.group(1).replace("'", "''")
        return f"coalesce(Tags['{key}'], '(untagged)')"
    close = difflib.get_close_matches(name, list(DIMENSIONS), n=1)
    hint = (
        f"did you mean {close[0]!r}?"
        if close
        else ("valid: " + ", ".join(DIMENSIONS) + ", or tag:KEY")
    )
    raise CostlineError(f"unknown dimension {name!r}", hint=hint)


def costs_sql(by: list[str], *, where: str | None = None) -> str:
    dims = [d.strip() for part in by for d in part.split(",") if d.strip()]
    select = [f'{dimension_sql(d)} AS "{d}"' for d in dims]
    select.append('BillingCurrency AS "currency"')
    body = ", ".join(select)
    filt = f"WHERE {where}" if where else ""
    return (
        f"SELECT {body}, sum(BilledCost) AS billed_cost, sum(EffectiveCost) AS effective_cost, "
        f"sum(ListCost) AS list_cost, count(*) AS rows FROM cost {filt} "
        f"GROUP BY ALL ORDER BY {' , '.join(str(i + 1) for i in range(len(select)))}"
    )
