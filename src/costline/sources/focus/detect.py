"""Recognise a FOCUS Cost and Usage file and its version from its columns.

The version is the highest one whose new columns appear (FOCUS changelog): 1.3 added
``ServiceProviderName``/``HostProviderName``/``Allocated*``/``ContractApplied``, 1.2
``BillingAccountType``/``SubAccountType``/``InvoiceId``/``PricingCurrency*``, 1.1
``ServiceSubcategory``/``SkuMeter``/``SkuPriceDetails``/``CommitmentDiscountQuantity``/
``CapacityReservation*``. Files older than 1.0 are recognised by names 1.0 renamed:
``AmortizedCost``/``ChargeType`` (0.5) and ``UsageQuantity``/``UsageUnit``/``ChargeSubcategory``
(1.0-preview).
"""

from __future__ import annotations

from costline.sources.base import Detection, RawColumns

_MARKERS = {
    "1.3": (
        "ServiceProviderName",
        "HostProviderName",
        "AllocatedMethodId",
        "AllocatedResourceId",
        "AllocatedTags",
        "ContractApplied",
    ),
    "1.2": ("BillingAccountType", "SubAccountType", "InvoiceId", "PricingCurrency"),
    "1.1": (
        "ServiceSubcategory",
        "SkuMeter",
        "CommitmentDiscountQuantity",
        "CapacityReservationId",
        "SkuPriceDetails",
    ),
}
_LEGACY = {
    "0.5": ("AmortizedCost", "ChargeType"),
    "1.0-preview": ("UsageQuantity", "UsageUnit", "ChargeSubcategory"),
}


def focus_version(cols: RawColumns) -> str:
    """The highest FOCUS version whose new columns appear (1.0 when none do).

    Example:
        >>> focus_version(RawColumns.of({"BilledCost": "VARCHAR", "SkuMeter": "VARCHAR"}))
        '1.1'
    """
    for version, markers in (_MARKERS | _LEGACY).items():
        if any(_exact(cols, m) for m in markers):
            return version
    return "1.0"


_COST_MARKERS = (
    "BilledCost",
    "EffectiveCost",
    "BillingPeriodStart",
    "ChargePeriodStart",
    "BillingAccountId",
    "ChargeCategory",
    "BillingCurrency",
)


def detect(cols: RawColumns) -> Detection | None:
    if _exact(cols, "ContractCommitmentId") and not _exact(cols, "BilledCost"):
        return Detection(
            kind="focus-contract-commitment",
            score=100,
            provider="focus",
            details={
                "not_cost": "a FOCUS 1.3 ContractCommitment dataset "
                "(commitment terms, not cost and usage rows); skipped"
            },
        )
    # Five of the seven core columns: a FOCUS file missing a cost column is still recognised,
    # so the user is told which mandatory column is missing rather than "unknown format".
    if sum(_exact(cols, name) for name in _COST_MARKERS) < 5:
        return None
    if not (_exact(cols, "ProviderName") or _exact(cols, "ServiceProviderName")):
        return None
    version = focus_version(cols)
    return Detection(
        kind=f"focus-{version}", score=100, provider="focus", details={"focus_version": version}
    )


def _exact(cols: RawColumns, name: str) -> bool:
    # FOCUS names are case-sensitive PascalCase; require the exact spelling.
    return name in cols.types
