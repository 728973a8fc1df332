"""Unit prices that multiply back to their cost, as FOCUS requires (pure).

FOCUS 1.3: ``ListCost = ListUnitPrice × PricingQuantity`` and ``ContractedCost =
ContractedUnitPrice × PricingQuantity`` (CAU-ListCost-C-*, CAU-ContractedCost-C-011-C), and a
row with a ``SkuPriceId`` MUST have both unit prices (CAU-ListUnitPrice-C-013-C,
CAU-ContractedUnitPrice-C-015-C). AWS's CUR breaks both on a few lines:

* **no rate** (Spot lines of the legacy Athena CURs leave ``lineItem/UnblendedRate`` and
  ``pricing/publicOnDemandRate`` blank; free-tier KMS and CloudTrail lines have no public
  rate): the unit price is derived as cost ÷ quantity (:func:`price_or_derived`), rounded to
  the store's 10 decimals; 0 when quantity and cost are both 0.
* **rate and cost rounded separately** (an ``RIFee`` line: 0.0118 × 530.320278 =
  6.2577792804, AWS's cost 6.257779), and a derived price whose 10-decimal rounding, times a
  large quantity, misses the cost: the cost column (ListCost or ContractedCost, never
  BilledCost or EffectiveCost) becomes unit price × quantity, rounded to 10 decimals
  (:func:`cost_matching_price`).

"Misses" means: ``|price × quantity − cost| > 5·10⁻¹⁰ × max(|cost|, 1)`` in float64, half the
tolerance the FOCUS validator (2.2.1) allows for the same product, so every other line keeps
AWS's amount exactly and every repaired one is within the validator's tolerance.

Example:
    >>> q, cost = Field('"q"'), Field('"cost"')
    >>> "5e-10" in cost_matching_price(cost, Field('"p"'), q).expr
    True
"""

from __future__ import annotations

from costline.core.money import MONEY_SQL_TYPE
from costline.sources.aws.names import combine
from costline.sources.base import Field

TOLERANCE = "5e-10"


def price_or_derived(price: Field, cost: Field, quantity: Field) -> Field:
    """``price``, else ``cost ÷ quantity`` at 10 decimals (0 when both are 0, NULL when the
    quantity is 0 or NULL and the cost is not)."""
    p, c, q = price.expr, cost.expr, quantity.expr
    derived = (
        f"CASE WHEN {q} = 0 THEN CASE WHEN {c} = 0 THEN CAST(0 AS {MONEY_SQL_TYPE}) END "
        f"ELSE CAST({c} / {q} AS {MONEY_SQL_TYPE}) END"
    )
    return combine(f"COALESCE({p}, {derived})", price, cost, quantity)


def cost_matching_price(cost: Field, price: Field, quantity: Field) -> Field:
    """``cost``, or ``price × quantity`` (10 decimals) where the two disagree (module doc)."""
    c, p, q = cost.expr, price.expr, quantity.expr
    product = f"(CAST({p} AS DOUBLE) * CAST({q} AS DOUBLE))"
    amount = f"CAST({c} AS DOUBLE)"
    expr = (
        f"CASE WHEN {p} IS NOT NULL AND {q} IS NOT NULL "
        f"AND abs({product} - {amount}) > {TOLERANCE} * greatest(abs({amount}), 1) "
        f"THEN CAST({product} AS {MONEY_SQL_TYPE}) ELSE {c} END"
    )
    return combine(expr, cost, price, quantity)
