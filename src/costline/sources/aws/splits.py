"""The unused part of an AWS commitment as its own FOCUS row (pure; a :class:`RowSplit`).

FOCUS 1.3 wants a commitment purchase at ``EffectiveCost`` 0 (CAU-EffectiveCost-C-005-C) and
the part of a commitment nobody used as a separate row: ``ChargeCategory`` Usage,
``CommitmentDiscountStatus`` Unused, ``BilledCost`` 0, ``EffectiveCost`` = the unused amount.
A CUR has no such line item: AWS writes the unused amount on the monthly fee line itself. So
each fee line with an unused amount yields a second row, in the same scan:

=============================  ===========================================  ===============
raw line item                  EffectiveCost of the unused row              quantity / unit
=============================  ===========================================  ===============
``RIFee``                      ``reservation/UnusedAmortizedUpfrontFee``    ``reservation/
                               ``ForBillingPeriod + reservation/``          UnusedQuantity``
                               ``UnusedRecurringFee``                       / Hours
``SavingsPlanRecurringFee``    ``savingsPlan/TotalCommitmentToDate -        the same amount
                               savingsPlan/UsedCommitment``                 / currency
=============================  ===========================================  ===============

The base fee row keeps ``BilledCost`` and gets ``EffectiveCost`` 0 (mapping.py), so per raw
line ``EffectiveCost(fee) + EffectiveCost(unused) = AWS's amortized cost of the line`` and
Σ EffectiveCost over a file is unchanged; the unused row bills, lists and contracts 0, so
Σ BilledCost, Σ ListCost and Σ ContractedCost are unchanged too. The unused row keeps the fee's
SKU, price id, account, period, commitment id and tags; its unit prices are 0 (it is not
priced: the fee row carries the price), and ``ConsumedQuantity`` is null (FOCUS: nothing was
consumed). The legacy CSV, Athena Parquet and CUR 2.0 layouts all carry these columns (CUR 2.0 and
Athena spell them ``reservation_unused_recurring_fee`` etc.).
"""

from __future__ import annotations

from costline.sources import _sql
from costline.sources.aws.mapping import billing_currency
from costline.sources.aws.names import Cur, combine
from costline.sources.base import Detection, Field, MappingResult, RawColumns, RowSplit

RI_UNUSED = (
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation/UnusedRecurringFee",
)
SP_UNUSED = ("savingsPlan/TotalCommitmentToDate", "savingsPlan/UsedCommitment")


def split_rows(cols: RawColumns, detection: Detection) -> list[RowSplit]:
    """The unused-commitment splits this file can carry (none without the columns)."""
    c = Cur(cols)
    kind = c.text("lineItem/LineItemType")
    if not kind.sources:
        return []
    splits = []
    if any(c.name(n) for n in RI_UNUSED):
        splits.append(_ri_unused(c, kind))
    if any(c.name(n) for n in SP_UNUSED):
        splits.append(_sp_unused(c, kind))
    return splits


def _ri_unused(c: Cur, kind: Field) -> RowSplit:
    upfront, recurring = (c.money0(n) for n in RI_UNUSED)
    unused = combine(f"({upfront.expr} + {recurring.expr})", upfront, recurring)
    hours = c.money0("reservation/UnusedQuantity")
    arn = c.text("reservation/ReservationARN")
    return RowSplit(
        "aws-ri-unused",
        f"{kind.expr} = 'RIFee' AND {unused.expr} <> 0",
        unused_overrides(unused, hours, _sql.lit("Hours"), arn),
    )


def _sp_unused(c: Cur, kind: Field) -> RowSplit:
    total, used = (c.money0(n) for n in SP_UNUSED)
    unused = combine(f"({total.expr} - {used.expr})", total, used)
    arn = c.text("savingsPlan/SavingsPlanARN")
    return RowSplit(
        "aws-sp-unused",
        f"{kind.expr} = 'SavingsPlanRecurringFee' AND {unused.expr} <> 0",
        unused_overrides(unused, unused, billing_currency(c), arn),
    )


def unused_overrides(amount: Field, quantity: Field, unit: Field, cid: Field) -> MappingResult:
    """The columns an unused-commitment row changes; the others are the fee row's.

    Args:
        amount: the unused amount (the row's EffectiveCost).
        quantity: the unused quantity in ``unit`` (PricingQuantity and CommitmentDiscountQuantity).
        unit: Hours for reservations, the currency for spend commitments.
        cid: the commitment id; without one the row has no status (FOCUS: status needs an id).
    """
    zero = _sql.ZERO
    return {
        "ChargeCategory": _sql.lit("Usage"),
        "ChargeFrequency": _sql.lit("Usage-Based"),
        "CommitmentDiscountStatus": Field(f"CASE WHEN {cid.expr} IS NOT NULL THEN 'Unused' END"),
        "BilledCost": zero,
        "ContractedCost": zero,
        "ListCost": zero,
        "EffectiveCost": amount,
        "PricingCurrencyEffectiveCost": Field(amount.expr),
        "ListUnitPrice": zero,
        "ContractedUnitPrice": zero,
        "PricingCurrencyListUnitPrice": zero,
        "PricingCurrencyContractedUnitPrice": zero,
        "PricingQuantity": Field(quantity.expr),
        "PricingUnit": Field(unit.expr),
        "CommitmentDiscountQuantity": Field(quantity.expr),
        "CommitmentDiscountUnit": Field(unit.expr),
        "ConsumedQuantity": _sql.NULL,
        "ConsumedUnit": _sql.NULL,
        "x_Discounts": _sql.NULL,
    }
