"""The unused part of a GCP committed use discount fee as its own FOCUS row (pure).

What Google's billing export says about a commitment (Cloud Billing docs: "Analyze the
effectiveness of your spend-based CUDs", the ``credits.type`` list of the export schema, and
"Spend-based CUDs data model updates"):

* **Legacy model** (resource-based CUDs, and spend-based CUDs not yet migrated): a recurring
  fee row (``Commitment v1: ...`` / ``Commitment - dollar based v1: ...``) billed whatever the
  usage, and the covered usage charged at on-demand prices with a ``COMMITTED_USAGE_DISCOUNT``
  (or ``..._DOLLAR_BASE``) credit offsetting it. The fee is the only place the commitment's
  cost appears and nothing in a row says which part of it was used, so it stays one
  ``Purchase`` row with ``EffectiveCost`` = its cost (mapping.py). FOCUS's rule "EffectiveCost
  MUST be 0 on a purchase covering future charges" (CAU-EffectiveCost-C-005-C) fails on it:
  the row-by-row data cannot both satisfy the rule and conserve the amortized total.
* **New spend-based model** (since 15 July 2025 for new accounts, migration from 21 January
  2026): covered usage is charged at the discounted price directly, and the fee row carries a
  ``FEE_UTILIZATION_OFFSET`` credit for the part of the fee that usage consumed. So the fee's
  ``cost + Σ credits`` is exactly its unused part, and its used part is already in the usage
  rows' cost. That row becomes a ``Purchase`` at ``EffectiveCost`` 0 (mapping.py) plus, when
  ``cost + Σ credits <> 0``, this split: ``Usage``, ``CommitmentDiscountStatus`` Unused,
  ``BilledCost`` 0, ``EffectiveCost`` = ``cost + Σ credits``.

Money per raw row: fee ``EffectiveCost`` (0) + unused ``EffectiveCost`` = ``cost + Σ
credits``, as before the split, so Σ EffectiveCost over a file is unchanged; the unused row
bills, lists and contracts 0 and its ``x_Discounts`` is null (the credits stay on the fee row),
so Σ BilledCost, Σ ListCost, Σ ContractedCost and Σ x_Discounts are unchanged too.
"""

from __future__ import annotations

from costline.core.money import MONEY_SQL_TYPE
from costline.sources._sql import NULL, ZERO, lit
from costline.sources.base import Detection, Field, MappingResult, RawColumns, RowSplit
from costline.sources.gcp._nested import Record, list_of, money, text
from costline.sources.gcp.mapping import Context


def split_rows(cols: RawColumns, detection: Detection) -> list[RowSplit]:
    """One split for new-model CUD fees with an unused part (none without ``credits.type``)."""
    rec = Record(cols)
    ctx = Context(rec, cols)
    if ctx.cost is None or list_of(ctx.credits, "type") is None:
        return []
    unused = f"({money(ctx.cost)} + {ctx.credit_sum()})"
    currency = text(rec.get("currency"))
    instance = text(rec.get("subscription", "instance_id"))
    return [
        RowSplit(
            "gcp-cud-unused",
            f"{ctx.prepaid_fee} AND {unused} <> 0",
            _unused_overrides(unused, currency, instance),
        )
    ]


def _unused_overrides(unused: str, currency: str, instance: str) -> MappingResult:
    """The columns the unused row changes; the others (id, SKU, period, tags) are the fee's.

    A spend-based commitment is counted in money, so its quantity and unit are the unused
    amount and the billing currency. Its unit prices are 0: the fee row carries the price.
    """
    amount = Field(f"CAST({unused} AS {MONEY_SQL_TYPE})")
    return {
        "ChargeCategory": lit("Usage"),
        "ChargeFrequency": lit("Usage-Based"),
        "PricingCategory": lit("Committed"),
        "CommitmentDiscountCategory": lit("Spend"),
        # FOCUS: a status needs a commitment id (the fee's subscription.instance_id).
        "CommitmentDiscountStatus": Field(f"CASE WHEN {instance} IS NOT NULL THEN 'Unused' END"),
        "BilledCost": ZERO,
        "ContractedCost": ZERO,
        "ListCost": ZERO,
        "EffectiveCost": amount,
        "PricingCurrencyEffectiveCost": amount,
        "ListUnitPrice": ZERO,
        "ContractedUnitPrice": ZERO,
        "PricingCurrencyListUnitPrice": ZERO,
        "PricingCurrencyContractedUnitPrice": ZERO,
        "PricingQuantity": amount,
        "PricingUnit": Field(currency),
        "CommitmentDiscountQuantity": amount,
        "CommitmentDiscountUnit": Field(currency),
        "ConsumedQuantity": NULL,
        "ConsumedUnit": NULL,
        "x_Discounts": NULL,
    }
