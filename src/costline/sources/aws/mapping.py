"""AWS Cost and Usage Reports (legacy CSV, legacy Athena Parquet, CUR 2.0) → FOCUS 1.3 (pure).

One CUR row becomes one FOCUS row, except commitment fees with an unused part, which also yield
an "unused commitment" row (see :mod:`costline.sources.aws.splits`). The three layouts carry
the same columns under different spellings (see :mod:`costline.sources.aws.names`), so one
mapping serves all three.

Money (full table with reasons in docs/connectors/aws.md):

* ``BilledCost`` = ``lineItem/UnblendedCost`` on every CUR row (split rows bill 0), so
  Σ BilledCost is the invoice.
* ``EffectiveCost`` amortizes commitments the way AWS defines amortized cost, with FOCUS's
  rule that a commitment purchase has EffectiveCost 0 (CAU-EffectiveCost-C-005-C):

  ====================================  ===================================================
  ``lineItem/LineItemType``             EffectiveCost
  ====================================  ===================================================
  ``DiscountedUsage`` (RI-covered)      ``reservation/EffectiveCost``
  ``SavingsPlanCoveredUsage``           ``savingsPlan/SavingsPlanEffectiveCost``
  ``SavingsPlanNegation``               0 (it cancels the on-demand cost of covered usage)
  ``SavingsPlanUpfrontFee``             0 (amortized into covered usage)
  ``SavingsPlanRecurringFee``           0; the unused commitment ``TotalCommitmentToDate -
                                        UsedCommitment`` is a split row
  ``RIFee``                             0; the unused part ``reservation/
                                        UnusedAmortizedUpfrontFeeForBillingPeriod +
                                        reservation/UnusedRecurringFee`` is a split row
  ``Fee`` with a reservation ARN        0 (RI upfront payment, amortized into usage)
  anything else                         ``lineItem/UnblendedCost``
  ====================================  ===================================================

  Σ EffectiveCost over a file is therefore AWS's amortized total, unchanged by the split.
* ``ListCost`` = ``pricing/publicOnDemandCost`` (AWS's on-demand list cost), except: Tax, Credit
  and Refund rows carry their billed amount (FOCUS: list cost of a charge unrelated to a price);
  discount rows and ``SavingsPlanNegation`` carry 0 (the discounted usage row already carries
  its list cost); commitment purchases carry AWS's value (0). A line without a public price
  (no public cost, or AWS's 0.0 without a public rate: legacy Athena Spot lines) lists at
  ``UnblendedCost``.
* ``ContractedCost`` = ``lineItem/UnblendedCost`` (AWS's rate after negotiated pricing; EDP and
  other discounts arrive as their own rows, so using the net columns as well would count them
  twice).
* Unit prices and units follow FOCUS's product rule and nullability (prices.py, units.py): a
  missing unit price is cost ÷ quantity, a cost that does not multiply back from its unit
  price becomes unit price × quantity (ListCost/ContractedCost only), a blank
  ``pricing/unit`` on a priced line is derived from the line item and usage type.
* Every CUR amount and rate is in ``lineItem/CurrencyCode``: ``PricingCurrency`` is the billing
  currency and the ``PricingCurrency*`` columns repeat EffectiveCost and the unit prices.
"""

from __future__ import annotations

from dataclasses import dataclass

from costline.sources import _sql
from costline.sources.aws.names import Cur, combine, sql_list
from costline.sources.aws.prices import cost_matching_price, price_or_derived
from costline.sources.aws.services import service_category
from costline.sources.aws.tags import tags
from costline.sources.aws.units import pricing_unit
from costline.sources.base import Detection, Field, MappingResult, RawColumns

USAGE = ("Usage", "DiscountedUsage", "SavingsPlanCoveredUsage")
COMMITMENT_FEES = ("RIFee", "SavingsPlanRecurringFee", "SavingsPlanUpfrontFee")
PURCHASE = ("Fee", *COMMITMENT_FEES)
DISCOUNTS = (
    "Discount",
    "EdpDiscount",
    "PrivateRateDiscount",
    "BundledDiscount",
    "DistributorDiscount",
    "RiVolumeDiscount",
    "SppDiscount",
)
CREDIT = ("Credit", "SavingsPlanNegation", *DISCOUNTS)
RI = ("DiscountedUsage", "RIFee", "Fee")
SP = (
    "SavingsPlanCoveredUsage",
    "SavingsPlanNegation",
    "SavingsPlanRecurringFee",
    "SavingsPlanUpfrontFee",
)
AWS = "AWS"
MARKETPLACE = "AWS Marketplace"


@dataclass(frozen=True)
class _Row:
    """The raw fields most expressions share."""

    c: Cur
    type: Field
    unblended: Field
    ri_arn: Field
    sp_arn: Field

    @property
    def t(self) -> str:
        return self.type.expr

    def is_(self, types: tuple[str, ...]) -> str:
        return f"{self.t} IN {sql_list(types)}"

    @property
    def usage_or_purchase(self) -> str:
        return self.is_(USAGE + PURCHASE)


# Fields that are NULL by design on some rows (a tax has no price, on-demand usage has no
# commitment). They carry no raw sources: the ingest diagnosis treats "NULL although a source
# is present" as a bad value, so the strict ``__`` probes below name bad cells instead.
DERIVED_NULLABLE = (
    "ChargeClass",
    "PricingCategory",
    "PricingQuantity",
    "PricingUnit",
    "SkuId",
    "SkuMeter",
    "SkuPriceId",
    "ListUnitPrice",
    "ContractedUnitPrice",
    "ConsumedQuantity",
    "ConsumedUnit",
    "RegionId",
    "RegionName",
    "ResourceType",
    "CapacityReservationStatus",
    "CommitmentDiscountId",
    "CommitmentDiscountType",
    "CommitmentDiscountCategory",
    "CommitmentDiscountStatus",
    "CommitmentDiscountQuantity",
    "CommitmentDiscountUnit",
    "PricingCurrencyListUnitPrice",
    "PricingCurrencyContractedUnitPrice",
    "x_Discounts",
)
# Raw numbers read only by conditional or composite fields; each gets a strict parse probe.
PROBED = (
    "lineItem/UsageAmount",
    "lineItem/UnblendedRate",
    "pricing/publicOnDemandCost",
    "pricing/publicOnDemandRate",
    "reservation/EffectiveCost",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation/UnusedRecurringFee",
    "reservation/UnusedQuantity",
    "savingsPlan/SavingsPlanEffectiveCost",
    "savingsPlan/TotalCommitmentToDate",
    "savingsPlan/UsedCommitment",
)


def build_mapping(cols: RawColumns, detection: Detection) -> MappingResult:
    c = Cur(cols)
    row = _Row(
        c,
        c.text("lineItem/LineItemType"),
        c.money("lineItem/UnblendedCost"),
        c.text("reservation/ReservationARN"),
        c.text("savingsPlan/SavingsPlanARN"),
    )
    out = _probes(c)
    for part in (
        _costs,
        _accounts,
        _charge,
        _commitment,
        _pricing,
        _service,
        _providers,
        _extensions,
    ):
        out.update(part(row))
    out["Tags"] = tags(cols)
    for name in DERIVED_NULLABLE:
        if name in out:
            out[name] = Field(out[name].expr)
    return out


def _probes(c: Cur) -> MappingResult:
    """Parse checks only the ingest diagnosis runs (keys start with ``__``; never stored).

    Inserted first, so that when a composite field (EffectiveCost reads several columns) fails on
    a row, the probe of the raw column that does not parse is the one reported.
    """
    out: MappingResult = {}
    for name in PROBED:
        raw = c.name(name)
        if raw is not None:
            out["__" + raw] = c.money(name)
    return out


# -- money --------------------------------------------------------------------------------------
def _costs(r: _Row) -> MappingResult:
    effective = _effective(r)
    return {
        "BilledCost": r.unblended,
        "EffectiveCost": effective,
        "PricingCurrencyEffectiveCost": Field(effective.expr),
        "ListCost": _list(r)[1],
        "ContractedCost": _contracted(r)[1],
    }


def _effective(r: _Row) -> Field:
    """AWS amortized cost, with every commitment purchase at 0 (FOCUS). The unused part of
    ``RIFee`` and ``SavingsPlanRecurringFee`` goes to its own row (splits.py)."""
    c, u, zero = r.c, r.unblended, _sql.ZERO.expr
    ri_eff, sp_eff = (
        c.money0("reservation/EffectiveCost"),
        c.money0("savingsPlan/SavingsPlanEffectiveCost"),
    )
    expr = (
        f"CASE {r.t} "
        f"WHEN 'DiscountedUsage' THEN {ri_eff.expr} "
        f"WHEN 'SavingsPlanCoveredUsage' THEN {sp_eff.expr} "
        f"WHEN 'SavingsPlanNegation' THEN {zero} "
        f"WHEN 'SavingsPlanUpfrontFee' THEN {zero} "
        f"WHEN 'SavingsPlanRecurringFee' THEN {zero} "
        f"WHEN 'RIFee' THEN {zero} "
        f"WHEN 'Fee' THEN CASE WHEN {r.ri_arn.expr} IS NOT NULL THEN {zero} ELSE {u.expr} END "
        f"ELSE {u.expr} END"
    )
    return combine(expr, u, ri_eff, sp_eff, r.ri_arn, r.type)


def _commitment_purchase(r: _Row) -> str:
    """An RI or Savings Plan fee, or an RI's upfront ``Fee`` (it has a reservation ARN)."""
    return f"({r.is_(COMMITMENT_FEES)} OR ({r.t} = 'Fee' AND {r.ri_arn.expr} IS NOT NULL))"


def _list_base(r: _Row) -> tuple[Field, Field]:
    """(ListUnitPrice before derivation, ListCost before the product check).

    ``pricing/publicOnDemandCost`` and ``...Rate``, except: Tax, Credit and Refund rows list at
    their billed amount, discount rows and the negation at 0, commitment purchases at AWS's
    value (0, no on-demand rate); a line with no public price (no public cost, or a public
    cost of 0 without a public rate: Spot and free-tier lines of the legacy Athena CURs)
    lists at its billed cost and ``lineItem/UnblendedRate``.
    """
    rate, public = r.c.money("pricing/publicOnDemandRate"), r.c.money("pricing/publicOnDemandCost")
    unblended_rate = r.c.money("lineItem/UnblendedRate")
    u, zero = r.unblended, _sql.ZERO.expr
    billed = f"({public.expr} IS NULL OR ({rate.expr} IS NULL AND {public.expr} = 0))"
    purchase = _commitment_purchase(r)
    cost = (
        f"CASE WHEN {r.is_(('Tax', 'Credit', 'Refund'))} THEN {u.expr} "
        f"WHEN {r.is_(('SavingsPlanNegation', *DISCOUNTS))} THEN {zero} "
        f"WHEN {purchase} THEN COALESCE({public.expr}, {zero}) "
        f"WHEN {billed} THEN {u.expr} ELSE {public.expr} END"
    )
    price = (
        f"CASE WHEN {purchase} THEN COALESCE({rate.expr}, {zero}) "
        f"WHEN {billed} THEN {unblended_rate.expr} ELSE {rate.expr} END"
    )
    sources = (u, public, rate, unblended_rate, r.ri_arn, r.type)
    return combine(price, *sources), combine(cost, *sources)


def _priced(r: _Row, f: Field) -> Field:
    """FOCUS: prices and quantities only on usage and purchases."""
    return combine(f"CASE WHEN {r.usage_or_purchase} THEN {f.expr} END", f, r.type)


def _quantity(r: _Row) -> Field:
    return _priced(r, r.c.money("lineItem/UsageAmount"))


def _list(r: _Row) -> tuple[Field, Field]:
    """(ListUnitPrice, ListCost): see :mod:`costline.sources.aws.prices`."""
    price, cost = _list_base(r)
    quantity = _quantity(r)
    unit_price = _priced(r, price_or_derived(price, cost, quantity))
    return unit_price, cost_matching_price(cost, unit_price, quantity)


def _contracted(r: _Row) -> tuple[Field, Field]:
    """(ContractedUnitPrice, ContractedCost): ``lineItem/UnblendedRate`` and
    ``lineItem/UnblendedCost``, made consistent (see :mod:`costline.sources.aws.prices`)."""
    quantity = _quantity(r)
    rate = r.c.money("lineItem/UnblendedRate")
    unit_price = _priced(r, price_or_derived(rate, r.unblended, quantity))
    return unit_price, cost_matching_price(r.unblended, unit_price, quantity)


# -- accounts and periods -----------------------------------------------------------------------
def billing_currency(c: Cur) -> Field:
    """``lineItem/CurrencyCode`` (the currency of every amount and rate of the row)."""
    return _sql.coalesce(c.text("lineItem/CurrencyCode"), c.text("bill/BillingCurrency"))


def _accounts(r: _Row) -> MappingResult:
    c = r.c
    period_start = c.timestamp("bill/BillingPeriodStartDate")
    usage_account = c.text("lineItem/UsageAccountId")
    return {
        "BillingAccountId": c.text("bill/PayerAccountId"),
        "BillingAccountName": c.text("bill/PayerAccountName"),
        # The CUR's own names for the two roles of an AWS account on a bill.
        "BillingAccountType": _sql.lit("Payer Account"),
        "SubAccountId": usage_account,
        "SubAccountName": c.text("lineItem/UsageAccountName"),
        "SubAccountType": Field(
            f"CASE WHEN {usage_account.expr} IS NOT NULL THEN 'Usage Account' END"
        ),
        "InvoiceId": c.text("bill/InvoiceId"),
        "BillingCurrency": billing_currency(c),
        "PricingCurrency": billing_currency(c),
        "BillingPeriodStart": period_start,
        "BillingPeriodEnd": c.timestamp("bill/BillingPeriodEndDate"),
        # Rows without a usage period (rare: some credits) fall back to the billing period.
        "ChargePeriodStart": _sql.coalesce(c.timestamp("lineItem/UsageStartDate"), period_start),
        "ChargePeriodEnd": _sql.coalesce(
            c.timestamp("lineItem/UsageEndDate"), c.timestamp("bill/BillingPeriodEndDate")
        ),
    }


# -- charge classification ----------------------------------------------------------------------
def _charge(r: _Row) -> MappingResult:
    category = (
        f"CASE WHEN {r.is_(USAGE)} THEN 'Usage' WHEN {r.is_(PURCHASE)} THEN 'Purchase' "
        f"WHEN {r.t} = 'Tax' THEN 'Tax' WHEN {r.is_(CREDIT)} THEN 'Credit' "
        f"ELSE 'Adjustment' END"
    )
    return {
        "ChargeCategory": Field(category, r.type.sources),
        "ChargeClass": _charge_class(r),
        "ChargeFrequency": _frequency(r),
        "ChargeDescription": r.c.text("lineItem/LineItemDescription"),
    }


def _charge_class(r: _Row) -> Field:
    """A refund of an earlier billing period (or on a refund bill) corrects that period."""
    bill_type = r.c.text("bill/BillType")
    start = r.c.timestamp("lineItem/UsageStartDate")
    period = r.c.timestamp("bill/BillingPeriodStartDate")
    earlier = f"{start.expr} < {period.expr}" if start.sources and period.sources else "false"
    expr = (
        f"CASE WHEN {r.t} = 'Refund' AND ({bill_type.expr} = 'Refund' OR {earlier}) "
        f"THEN 'Correction' END"
    )
    return combine(expr, r.type, bill_type, start, period)


def _frequency(r: _Row) -> Field:
    bill_type = r.c.text("bill/BillType")
    expr = (
        f"CASE WHEN {r.is_(USAGE + DISCOUNTS + ('SavingsPlanNegation',))} THEN 'Usage-Based' "
        f"WHEN {r.is_(('RIFee', 'SavingsPlanRecurringFee'))} THEN 'Recurring' "
        f"WHEN {r.is_(('SavingsPlanUpfrontFee', 'Credit', 'Refund'))} THEN 'One-Time' "
        # Fees and taxes on the monthly (anniversary) bill recur; on a purchase bill they don't.
        f"WHEN {bill_type.expr} = 'Anniversary' THEN 'Recurring' "
        f"ELSE 'One-Time' END"
    )
    return combine(expr, r.type, bill_type)


# -- commitment discounts -----------------------------------------------------------------------
def _commitment(r: _Row) -> MappingResult:
    is_ri = f"({r.is_(RI)} AND {r.ri_arn.expr} IS NOT NULL)"
    is_sp = f"({r.is_(SP)} AND {r.sp_arn.expr} IS NOT NULL)"
    both = (r.type, r.ri_arn, r.sp_arn)
    # Purchases carry no status; their unused part is a split row with status Unused.
    status = (
        f"CASE WHEN ({is_ri} OR {is_sp}) "
        f"AND {r.is_(('DiscountedUsage', 'SavingsPlanCoveredUsage'))} THEN 'Used' END"
    )
    return {
        "CommitmentDiscountId": combine(
            f"CASE WHEN {is_ri} THEN {r.ri_arn.expr} WHEN {is_sp} THEN {r.sp_arn.expr} END", *both
        ),
        "CommitmentDiscountType": combine(
            f"CASE WHEN {is_ri} THEN 'Reserved Instance' WHEN {is_sp} THEN 'Savings Plan' END",
            *both,
        ),
        "CommitmentDiscountCategory": combine(
            f"CASE WHEN {is_ri} THEN 'Usage' WHEN {is_sp} THEN 'Spend' END", *both
        ),
        "CommitmentDiscountStatus": combine(status, *both),
        **_commitment_quantity(r, is_ri, is_sp),
    }


def _commitment_quantity(r: _Row, is_ri: str, is_sp: str) -> MappingResult:
    """RIs are counted in hours (``lineItem/UsageAmount``), Savings Plans in billing currency
    (commitment consumed / committed per period)."""
    amount = r.c.money("lineItem/UsageAmount")
    sp_used = r.c.money("savingsPlan/SavingsPlanEffectiveCost")
    sp_total = r.c.money("savingsPlan/TotalCommitmentToDate")
    currency = r.c.text("lineItem/CurrencyCode")
    ri_rows = f"{is_ri} AND {r.is_(('DiscountedUsage', 'RIFee'))}"
    quantity = (
        f"CASE WHEN {ri_rows} THEN {amount.expr} "
        f"WHEN {is_sp} AND {r.t} = 'SavingsPlanCoveredUsage' THEN {sp_used.expr} "
        f"WHEN {is_sp} AND {r.t} = 'SavingsPlanRecurringFee' THEN {sp_total.expr} END"
    )
    unit = (
        f"CASE WHEN {ri_rows} THEN 'Hours' WHEN {is_sp} AND "
        f"{r.is_(('SavingsPlanCoveredUsage', 'SavingsPlanRecurringFee'))} THEN {currency.expr} END"
    )
    return {
        "CommitmentDiscountQuantity": combine(
            quantity, amount, sp_used, sp_total, r.type, r.ri_arn, r.sp_arn
        ),
        "CommitmentDiscountUnit": combine(unit, r.type, r.ri_arn, r.sp_arn, currency),
    }


# -- pricing ------------------------------------------------------------------------------------
def _pricing(r: _Row) -> MappingResult:
    c = r.c
    amount = c.money("lineItem/UsageAmount")
    unit = pricing_unit(c, r.type)  # AWS's pricing/unit in FOCUS spelling, or derived (units.py)
    # A unit only with a quantity.
    priced_unit = combine(
        f"CASE WHEN {r.is_(USAGE + PURCHASE)} AND {amount.expr} IS NOT NULL THEN {unit.expr} END",
        unit,
        amount,
        r.type,
    )
    list_price, contracted = _list(r)[0], _contracted(r)[0]
    return {
        "PricingCategory": _pricing_category(r),
        "PricingQuantity": _quantity(r),
        "PricingUnit": priced_unit,
        "SkuPriceId": _priced(r, _sku_price_id(c)),
        "ListUnitPrice": list_price,
        "ContractedUnitPrice": contracted,
        "PricingCurrencyListUnitPrice": list_price,
        "PricingCurrencyContractedUnitPrice": contracted,
        "SkuId": combine(
            f"CASE WHEN {r.t} = 'Tax' THEN NULL ELSE {c.product('sku').expr} END",
            c.product("sku"),
            r.type,
        ),
        # AWS's own FOCUS 1.2 export: "x_UsageType (this is now the SkuMeter column)".
        "SkuMeter": combine(
            f"CASE WHEN {r.t} <> 'Tax' AND {c.product('sku').expr} IS NOT NULL "
            f"THEN {c.text('lineItem/UsageType').expr} END",
            c.product("sku"),
            c.text("lineItem/UsageType"),
            r.type,
        ),
        "ConsumedQuantity": combine(
            f"CASE WHEN {r.is_(USAGE)} THEN {amount.expr} END", amount, r.type
        ),
        # Usage rows' PricingUnit; written around that column's expression so that the load
        # computes the unit once (ingest.plan shares a column embedded in another).
        "ConsumedUnit": combine(
            f"CASE WHEN {r.is_(USAGE)} THEN {priced_unit.expr} END", priced_unit, r.type
        ),
    }


def _sku_price_id(c: Cur) -> Field:
    """``pricing/RateCode`` (``SKU.OfferTermCode.RateCode``). Legacy Athena files have only
    ``pricing/RateId``, which AWS reuses across SKUs; ``SKU.RateId`` keeps one SKU per price."""
    code, rate_id, sku = c.text("pricing/RateCode"), c.text("pricing/RateId"), c.product("sku")
    if code.sources or not rate_id.sources:
        return _sql.coalesce(code, rate_id)
    return combine(
        f"CASE WHEN {rate_id.expr} IS NOT NULL THEN "
        f"COALESCE({sku.expr} || '.', '') || {rate_id.expr} END",
        rate_id,
        sku,
    )


def _pricing_category(r: _Row) -> Field:
    term, usage_type = r.c.text("pricing/term"), r.c.text("lineItem/UsageType")
    spot = f"(lower({term.expr}) = 'spot' OR {usage_type.expr} LIKE '%SpotUsage%')"
    expr = (
        f"CASE WHEN {r.is_(('DiscountedUsage', 'SavingsPlanCoveredUsage', *COMMITMENT_FEES))} "
        f"THEN 'Committed' "
        f"WHEN {r.t} = 'Fee' AND {r.ri_arn.expr} IS NOT NULL THEN 'Committed' "
        f"WHEN {r.t} = 'Usage' AND {spot} THEN 'Dynamic' "
        f"WHEN {r.is_(('Usage', 'Fee'))} THEN 'Standard' END"
    )
    return combine(expr, r.type, r.ri_arn, term, usage_type)


# -- service, location, resource ----------------------------------------------------------------
def _service(r: _Row) -> MappingResult:
    c = r.c
    code = c.text("lineItem/ProductCode")
    category, subcategory = service_category(code)
    region = _sql.coalesce(c.product("regionCode"), c.product("region"))
    region_id = combine(f"NULLIF({region.expr}, 'global')", region)
    location = c.product("location")
    resource = c.text("lineItem/ResourceId")
    family = c.product("productFamily")
    usage_type = c.text("lineItem/UsageType")
    return {
        "ServiceName": _sql.coalesce(c.product("ProductName"), code),
        "ServiceCategory": category,
        "ServiceSubcategory": subcategory,
        "RegionId": region_id,
        "RegionName": combine(
            f"CASE WHEN {region_id.expr} IS NOT NULL THEN "
            f"COALESCE(NULLIF({location.expr}, 'Any'), {region_id.expr}) END",
            region_id,
            location,
        ),
        "AvailabilityZone": c.text("lineItem/AvailabilityZone"),
        "ResourceId": resource,
        "ResourceType": _resource_type(r, resource, family, usage_type),
        **_capacity_reservation(c),
    }


def _resource_type(r: _Row, resource: Field, family: Field, usage_type: Field) -> Field:
    """AWS has no resource type column; the product family ("Compute Instance", "Storage") is
    the closest description of the kind of resource. Where it is blank (legacy Athena Spot
    lines, CUR 2.0 Savings Plan fees), an EC2 instance-hour usage type is a "Compute Instance"
    (AWS's family of BoxUsage lines) and the resource of a commitment fee is the commitment."""
    fallback = (
        f"CASE WHEN regexp_matches({usage_type.expr}, '(Box|Spot|Dedicated)Usage:') "
        f"THEN 'Compute Instance' "
        f"WHEN {r.is_(('SavingsPlanRecurringFee', 'SavingsPlanUpfrontFee'))} THEN 'Savings Plan' "
        f"WHEN {r.t} = 'RIFee' THEN 'Reserved Instance' END"
    )
    return combine(
        f"CASE WHEN {resource.expr} IS NOT NULL THEN COALESCE({family.expr}, {fallback}) END",
        resource,
        family,
        usage_type,
        r.type,
    )


def _capacity_reservation(c: Cur) -> MappingResult:
    arn = c.text("capacityReservation/CapacityReservationArn")
    status = c.text("capacityReservation/CapacityReservationStatus")
    if not arn.sources:
        return {}
    expr = (
        f"CASE WHEN {arn.expr} IS NULL THEN NULL WHEN lower({status.expr}) = 'used' THEN 'Used' "
        f"WHEN lower({status.expr}) = 'unused' THEN 'Unused' END"
    )
    return {"CapacityReservationId": arn, "CapacityReservationStatus": combine(expr, arn, status)}


# -- who sells, hosts and invoices ------------------------------------------------------------------
def _providers(r: _Row) -> MappingResult:
    """AWS provides and hosts first-party charges and the legal entity that sells them
    (``lineItem/LegalEntity``, e.g. "Amazon Web Services, Inc.") publishes them, as in AWS's own
    FOCUS export. On AWS Marketplace rows (``bill/BillingEntity`` = ``AWS Marketplace``) the
    seller of record (``lineItem/LegalEntity``) is service provider and publisher; the invoice
    still comes from AWS (``bill/InvoicingEntity``)."""
    entity, seller = r.c.text("bill/BillingEntity"), r.c.text("lineItem/LegalEntity")
    market = f"{entity.expr} = {_sql.lit(MARKETPLACE).expr}"
    aws = _sql.lit(AWS).expr
    name = combine(
        f"CASE WHEN {market} THEN COALESCE({seller.expr}, {_sql.lit(MARKETPLACE).expr}) "
        f"ELSE {aws} END",
        entity,
        seller,
    )
    publisher = combine(f"COALESCE({seller.expr}, {name.expr})", seller, entity)
    issuer = r.c.text("bill/InvoicingEntity")
    issuer_expr = (
        f"COALESCE({issuer.expr}, CASE WHEN {market} THEN NULL ELSE {seller.expr} END, {aws})"
    )
    return {
        "ProviderName": name,
        "ServiceProviderName": name,
        "HostProviderName": name,
        "PublisherName": publisher,
        "InvoiceIssuerName": combine(issuer_expr, issuer, entity, seller),
    }


def _extensions(r: _Row) -> MappingResult:
    u = r.unblended
    return {
        "x_Provider": _sql.lit("aws"),
        "x_ServiceCode": r.c.text("lineItem/ProductCode"),
        "x_UsageType": r.c.text("lineItem/UsageType"),
        "x_Operation": r.c.text("lineItem/Operation"),
        "x_ChargeType": r.type,
        "x_InstanceType": r.c.product("instanceType"),
        "x_Discounts": combine(
            f"CASE WHEN {r.is_(('Credit', *DISCOUNTS))} THEN {u.expr} END", u, r.type
        ),
    }
