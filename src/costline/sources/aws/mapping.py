"""AWS Cost and Usage Reports (legacy CSV, legacy Athena Parquet, CUR 2.0) → FOCUS 1.3 (pure).

One CUR row becomes one FOCUS row. The three layouts carry the same columns under different
spellings (see :mod:`costline.sources.aws.names`), so one mapping serves all three.

Money (full table with reasons in docs/connectors/aws.md):

* ``BilledCost`` = ``lineItem/UnblendedCost`` on every row, so Σ BilledCost is the invoice.
* ``EffectiveCost`` amortizes commitments the way AWS defines amortized cost:

  ====================================  ===================================================
  ``lineItem/LineItemType``             EffectiveCost
  ====================================  ===================================================
  ``DiscountedUsage`` (RI-covered)      ``reservation/EffectiveCost``
  ``SavingsPlanCoveredUsage``           ``savingsPlan/SavingsPlanEffectiveCost``
  ``SavingsPlanNegation``               0 (it cancels the on-demand cost of covered usage)
  ``SavingsPlanUpfrontFee``             0 (amortized into covered usage)
  ``SavingsPlanRecurringFee``           ``TotalCommitmentToDate - UsedCommitment`` (unused)
  ``RIFee``                             ``reservation/UnusedAmortizedUpfrontFeeForBillingPeriod
                                        + reservation/UnusedRecurringFee`` (unused)
  ``Fee`` with a reservation ARN        0 (RI upfront payment, amortized into usage)
  anything else                         ``lineItem/UnblendedCost``
  ====================================  ===================================================

* ``ListCost`` = ``pricing/publicOnDemandCost`` (AWS's on-demand list cost), except: Tax, Credit
  and Refund rows carry their billed amount (FOCUS: list cost of a charge unrelated to a price);
  discount rows and ``SavingsPlanNegation`` carry 0 (the discounted usage row already carries
  its list cost); commitment purchases carry AWS's value (0). Blank → ``UnblendedCost``.
* ``ContractedCost`` = ``lineItem/UnblendedCost`` (AWS's rate after negotiated pricing; EDP and
  other discounts arrive as their own rows, so using the net columns as well would count them
  twice).
"""

from __future__ import annotations

from dataclasses import dataclass

from costline.sources import _sql
from costline.sources.aws.names import Cur, combine, sql_list
from costline.sources.aws.services import service_category
from costline.sources.aws.tags import tags
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

    Inserted first, so that when a composite field (EffectiveCost reads eight columns) fails on
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
    u = r.unblended
    return {
        "BilledCost": u,
        "EffectiveCost": _effective(r),
        "ListCost": _list_cost(r),
        "ContractedCost": u,
    }


def _effective(r: _Row) -> Field:
    c, u, zero = r.c, r.unblended, _sql.ZERO.expr
    ri_eff, sp_eff = (
        c.money0("reservation/EffectiveCost"),
        c.money0("savingsPlan/SavingsPlanEffectiveCost"),
    )
    total, used = (
        c.money0("savingsPlan/TotalCommitmentToDate"),
        c.money0("savingsPlan/UsedCommitment"),
    )
    unused_upfront = c.money0("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod")
    unused_recurring = c.money0("reservation/UnusedRecurringFee")
    expr = (
        f"CASE {r.t} "
        f"WHEN 'DiscountedUsage' THEN {ri_eff.expr} "
        f"WHEN 'SavingsPlanCoveredUsage' THEN {sp_eff.expr} "
        f"WHEN 'SavingsPlanNegation' THEN {zero} "
        f"WHEN 'SavingsPlanUpfrontFee' THEN {zero} "
        f"WHEN 'SavingsPlanRecurringFee' THEN {total.expr} - {used.expr} "
        f"WHEN 'RIFee' THEN {unused_upfront.expr} + {unused_recurring.expr} "
        f"WHEN 'Fee' THEN CASE WHEN {r.ri_arn.expr} IS NOT NULL THEN {zero} ELSE {u.expr} END "
        f"ELSE {u.expr} END"
    )
    return combine(
        expr, u, ri_eff, sp_eff, total, used, unused_upfront, unused_recurring, r.ri_arn, r.type
    )


def _list_cost(r: _Row) -> Field:
    public = r.c.money("pricing/publicOnDemandCost")
    u, zero = r.unblended, _sql.ZERO.expr
    commitment = f"({r.is_(COMMITMENT_FEES)} OR ({r.t} = 'Fee' AND {r.ri_arn.expr} IS NOT NULL))"
    expr = (
        f"CASE WHEN {r.is_(('Tax', 'Credit', 'Refund'))} THEN {u.expr} "
        f"WHEN {r.is_(('SavingsPlanNegation', *DISCOUNTS))} THEN {zero} "
        f"WHEN {commitment} THEN COALESCE({public.expr}, {zero}) "
        f"ELSE COALESCE({public.expr}, {u.expr}) END"
    )
    return combine(expr, u, public, r.ri_arn, r.type)


# -- accounts and periods -----------------------------------------------------------------------
def _accounts(r: _Row) -> MappingResult:
    c = r.c
    period_start = c.timestamp("bill/BillingPeriodStartDate")
    return {
        "BillingAccountId": c.text("bill/PayerAccountId"),
        "BillingAccountName": c.text("bill/PayerAccountName"),
        "SubAccountId": c.text("lineItem/UsageAccountId"),
        "SubAccountName": c.text("lineItem/UsageAccountName"),
        "InvoiceId": c.text("bill/InvoiceId"),
        "BillingCurrency": _sql.coalesce(
            c.text("lineItem/CurrencyCode"), c.text("bill/BillingCurrency")
        ),
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
    status = (
        f"CASE WHEN NOT ({is_ri} OR {is_sp}) THEN NULL "
        f"WHEN {r.is_(('DiscountedUsage', 'SavingsPlanCoveredUsage'))} THEN 'Used' "
        f"WHEN {r.is_(('RIFee', 'SavingsPlanRecurringFee'))} THEN 'Unused' END"
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
    amount, unit = c.money("lineItem/UsageAmount"), _unit(c.text("pricing/unit"))

    def priced(f: Field) -> Field:  # FOCUS: prices and quantities only on usage and purchases
        return combine(f"CASE WHEN {r.usage_or_purchase} THEN {f.expr} END", f, r.type)

    def usage(f: Field) -> Field:
        return combine(f"CASE WHEN {r.is_(USAGE)} THEN {f.expr} END", f, r.type)

    return {
        "PricingCategory": _pricing_category(r),
        "PricingQuantity": priced(amount),
        "PricingUnit": priced(unit),
        "SkuPriceId": priced(_sku_price_id(c)),
        "ListUnitPrice": priced(_list_unit_price(r)),
        "ContractedUnitPrice": priced(c.money("lineItem/UnblendedRate")),
        "SkuId": combine(
            f"CASE WHEN {r.t} = 'Tax' THEN NULL ELSE {c.product('sku').expr} END",
            c.product("sku"),
            r.type,
        ),
        "ConsumedQuantity": usage(amount),
        "ConsumedUnit": usage(unit),
    }


def _unit(unit: Field) -> Field:
    """AWS's abbreviations in FOCUS UnitFormat spelling (as AWS's own FOCUS export writes them):
    ``Hrs`` → ``Hours``, ``GB-Mo`` → ``GB-Months``, ``DPU-Hour`` → ``DPU-Hours``,
    ``days`` → ``Days``; other units are kept as AWS writes them."""
    u = unit.expr
    expr = (
        f"CASE WHEN lower({u}) IN ('hrs', 'hr', 'hours') THEN 'Hours' "
        f"WHEN lower({u}) = 'days' THEN 'Days' "
        f"ELSE regexp_replace(regexp_replace({u}, '-([Mm]o|Month)$', '-Months'), '-Hour$', "
        f"'-Hours') END"
    )
    return combine(expr, unit)


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


def _list_unit_price(r: _Row) -> Field:
    """``pricing/publicOnDemandRate``; commitment fees have no on-demand rate, their list
    price is 0 (matching ListCost 0 for them)."""
    rate = r.c.money("pricing/publicOnDemandRate")
    zero = _sql.ZERO.expr
    expr = f"CASE WHEN {r.is_(COMMITMENT_FEES)} THEN COALESCE({rate.expr}, {zero}) ELSE {rate.expr} END"
    return combine(expr, rate, r.type)


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
        # AWS has no resource type column; the product family ("Compute Instance", "Storage")
        # is the closest description of the kind of resource.
        "ResourceType": combine(
            f"CASE WHEN {resource.expr} IS NOT NULL THEN {family.expr} END", resource, family
        ),
        **_capacity_reservation(c),
    }


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
