"""Recognise an Azure Cost Management cost-details export and its agreement type.

Three families share most column names (matched case-, space- and BOM-insensitively, and on the
English name in parentheses of localised headers):

* ``azure-mca``  Microsoft Customer Agreement: pricing-currency columns
  (``ExchangeRatePricingToBilling``, ``PricingCurrency``, ``CostInPricingCurrency``) and a
  ``BillingProfileId`` (the FOCUS billing account).
* ``azure-ea``   Enterprise Agreement (and the reduced EA-style sets): a ``BillingAccountId``.
* ``azure-payg`` legacy pay-as-you-go / MOSP usage details: no billing account column, cost in
  ``PreTaxCost``, dates in ``UsageDateTime``, subscription in ``SubscriptionGuid``.

Actual and amortized exports have the same header, so the cost basis is not part of the kind;
the mapping's BilledCost/EffectiveCost rules are correct for both (docs/connectors/azure.md).

Example:
    >>> detect(RawColumns.of({"SubscriptionGuid": "VARCHAR", "MeterCategory": "VARCHAR",
    ...                       "PreTaxCost": "VARCHAR", "UsageDateTime": "VARCHAR"})).kind
    'azure-payg'
"""

from __future__ import annotations

from costline.sources.base import Detection, RawColumns

SCORE = 90

# Columns only Azure cost-details files have; three of them make the file Azure's (two are
# enough next to a cost column only Azure uses).
_MARKERS = (
    "SubscriptionId",
    "SubscriptionGuid",
    "MeterCategory",
    "MeterSubCategory",
    "MeterId",
    "MeterName",
    "MeterRegion",
    "ConsumedService",
    "ResourceGroup",
    "ResourceGroupName",
    "ResourceLocation",
    "InstanceId",
    "AdditionalInfo",
    "ServiceInfo1",
)
_ANCHORS = ("SubscriptionId", "SubscriptionGuid", "MeterId", "MeterCategory")
_AZURE_COSTS = (
    "CostInBillingCurrency",
    "PreTaxCost",
    "CostInPricingCurrency",
    "PaygCostInBillingCurrency",
)
_MCA_MARKERS = ("ExchangeRatePricingToBilling", "PricingCurrency", "CostInPricingCurrency")
# A FOCUS file (also Microsoft's own FOCUS export) belongs to the focus source.
_FOCUS_MARKERS = ("BilledCost", "EffectiveCost", "ChargePeriodStart")


def detect(cols: RawColumns) -> Detection | None:
    """The Azure export kind of ``cols``, or None when the columns are not an Azure export."""
    if any(cols.find(m) for m in _FOCUS_MARKERS):
        return None
    markers = sum(cols.find(m) is not None for m in _MARKERS)
    if markers < 2 or (markers == 2 and not cols.find(*_AZURE_COSTS)):
        return None
    if not any(cols.find(a) for a in _ANCHORS):
        return None
    agreement = agreement_of(cols)
    return Detection(
        kind=f"azure-{agreement.lower()}",
        score=SCORE,
        provider="azure",
        notes=_notes(cols),
        details={"agreement": agreement},
    )


def agreement_of(cols: RawColumns) -> str:
    """``MCA``, ``EA`` or ``PAYG`` from the columns present.

    Example:
        >>> agreement_of(RawColumns.of({"BillingAccountId": "VARCHAR"}))
        'EA'
    """
    if cols.find("BillingProfileId") and any(cols.find(m) for m in _MCA_MARKERS):
        return "MCA"
    if cols.find("BillingAccountId"):
        return "EA"
    return "PAYG"


def _notes(cols: RawColumns) -> tuple[str, ...]:
    notes = []
    if not cols.find("BillingAccountId", "BillingProfileId"):
        notes.append("no billing account column: the subscription is the billing account")
    if not cols.find("BillingPeriodStartDate"):
        notes.append("no billing period columns: the billing period is the charge date's month")
    if not cols.find("BillingCurrencyCode", "BillingCurrency", "Currency"):
        notes.append("no currency column: the file cannot be loaded (see docs/connectors/azure.md)")
    return tuple(notes)
