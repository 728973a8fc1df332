"""Azure Cost Management cost-details exports (EA, MCA, pay-as-you-go) → FOCUS 1.3 (pure).

The semantics follow Microsoft's documented conversion of Cost Management actual/amortized data
to FOCUS (FinOps toolkit, "Convert Cost Management data to FOCUS"); docs/connectors/azure.md
has the column-by-column table. The points that matter most:

* **Costs.** ``CostInBillingCurrency`` (``Cost`` in the older EA variant, ``PreTaxCost`` in
  legacy pay-as-you-go files) feeds both cost columns, with two exceptions that make one rule
  right for actual *and* amortized files (their headers are identical):

  - BilledCost is 0 for commitment consumption — usage priced by a reservation or savings
    plan, and ``UnusedReservation``/``UnusedSavingsPlan`` rows — because the commitment was
    billed on its purchase row. In an actual file those rows already cost 0.
  - EffectiveCost is 0 for commitment purchases and refunds (``Purchase``/``Refund`` with
    PricingModel ``Reservation``/``SavingsPlan``) because their cost reaches EffectiveCost
    through the amortized usage rows (FOCUS EffectiveCost-C-005). Amortized files have no such
    rows.

  So an actual file gives the exact invoice (Σ BilledCost) but misses the amortized commitment
  cost in EffectiveCost; an amortized file gives the exact Σ EffectiveCost but misses the
  commitment purchases in BilledCost. Neither file alone carries both.
* **Prices.** ListUnitPrice is ``PayGPrice`` (× ``ExchangeRatePricingToBilling`` for MCA,
  whose prices are in the pricing currency); where EA writes a 0 retail price next to a
  positive negotiated ``UnitPrice`` (reservation rows), the negotiated price is used, so no
  discount is invented. ListCost/ContractedCost are unit price × ``Quantity``; rows without a
  SKU price (tax, adjustments, refunds) keep the charge's own cost.
* **Identifiers** are fully qualified as in Microsoft's own FOCUS export, so a legacy export and
  a FOCUS export of the same account land in the same partition:
  ``/providers/Microsoft.Billing/billingAccounts/<EA id>`` (EA),
  ``.../billingAccounts/<id>/billingProfiles/<profile>`` (MCA), ``/subscriptions/<guid>``
  (SubAccountId, and BillingAccountId of pay-as-you-go files that have no billing account).
* **Dates.** US ``M/D/YYYY`` (with or without zero padding or a time) and ISO 8601; charge and
  billing periods are half-open (+1 day on the inclusive end dates). Without billing period
  columns the period is the charge date's calendar month.

Fields that are legitimately NULL on some rows while their raw column has a value (prices and
quantities of tax rows, ...) list no source columns, so a NULL there is never reported as a bad
value; the pipeline still finds a failing conversion inside them (it probes every cast under the
CASE conditions that guard it).
"""

from __future__ import annotations

from dataclasses import dataclass

from costline.core.money import MONEY_SQL_TYPE
from costline.sources import _sql
from costline.sources.azure.normalize import (
    region_id_sql,
    resource_name_sql,
    resource_type_sql,
    unit_sql,
)
from costline.sources.azure.services import category_sql
from costline.sources.base import Detection, Field, MappingResult, RawColumns

DATE_FORMATS = ("%m/%d/%Y", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%d.%m.%Y")
ACCOUNT_PREFIX = "/providers/Microsoft.Billing/billingAccounts/"

COST = ("CostInBillingCurrency", "Cost", "PreTaxCost", "ExtendedCost")
CURRENCY = ("BillingCurrencyCode", "BillingCurrency", "Currency")
CHARGE_DATE = ("Date", "UsageDateTime", "UsageDate")
QUANTITY = ("Quantity", "UsageQuantity", "ConsumedQuantity")
UNIT_PRICE = ("UnitPrice", "ResourceRate")
LIST_PRICE = ("PayGPrice",)
EXCHANGE_RATE = ("ExchangeRatePricingToBilling", "ExchangeRate")
LIST_COST = ("PaygCostInBillingCurrency",)
SUBSCRIPTION = ("SubscriptionId", "SubscriptionGuid")
RESOURCE_ID = ("ResourceId", "InstanceId")
COMMITMENT_ID = ("BenefitId", "ReservationId")
COMMITMENT_NAME = ("BenefitName", "ReservationName")

_COMMITMENT_MODELS = "('reservation', 'savingsplan')"
_UNUSED = "('unusedreservation', 'unusedsavingsplan')"
_PRICED_TYPES = "('usage', 'purchase', 'unusedreservation', 'unusedsavingsplan')"
_NOT_A_REGION = "('unassigned', 'global', 'all regions', 'unknown', 'n/a', 'none')"
_CATEGORIES = (
    ("usage", "Usage"),
    ("purchase", "Purchase"),
    ("credit", "Credit"),
    ("tax", "Tax"),
    ("unusedreservation", "Usage"),
    ("unusedsavingsplan", "Usage"),
    ("refund", "Purchase"),
)
_FREQUENCIES = (("onetime", "One-Time"), ("recurring", "Recurring"))


def _mul(a: str, b: str) -> str:
    """Exact product of two money expressions, rounded back to the store's scale."""
    return f"CAST(({a}) * ({b}) AS {MONEY_SQL_TYPE})"


def _norm(expr: str) -> str:
    """Lower-case, space-free form of a code (``On Demand`` → ``ondemand``)."""
    return "NULL" if expr == "NULL" else f"lower(replace({expr}, ' ', ''))"


@dataclass(frozen=True)
class _Azure:
    """Resolved raw columns of one file and the SQL snippets the fields share."""

    cols: RawColumns
    agreement: str

    def text(self, *names: str) -> str:
        """Trimmed text of the first present column (empty → NULL), or ``NULL``."""
        return _sql.raw(self.cols, self.cols.find(*names)) or "NULL"

    def money(self, *names: str) -> str:
        return _sql.money(self.cols, *names).expr

    def name(self, *names: str) -> tuple[str, ...]:
        found = self.cols.find(*names)
        return () if found is None else (found,)

    # -- shared classifications -------------------------------------------------------------
    @property
    def ct(self) -> str:
        """ChargeType, normalised; files without the column are all usage."""
        raw = self.text("ChargeType")
        return "'usage'" if raw == "NULL" else f"COALESCE({_norm(raw)}, 'usage')"

    @property
    def pm(self) -> str:
        return _norm(self.text("PricingModel"))

    @property
    def category(self) -> str:
        whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _CATEGORIES)
        return f"CASE {self.ct} {whens} ELSE 'Adjustment' END"

    @property
    def commitment_usage(self) -> str:
        """Consumption of a prepaid commitment (used or unused): billed on its purchase."""
        used = f"{self.ct} = 'usage' AND {self.pm} IN {_COMMITMENT_MODELS}"
        return f"(({used}) OR {self.ct} IN {_UNUSED})"

    @property
    def commitment_purchase(self) -> str:
        """A commitment purchase or refund: amortised into usage rows instead."""
        return f"({self.ct} IN ('purchase', 'refund') AND {self.pm} IN {_COMMITMENT_MODELS})"

    @property
    def cost(self) -> str:
        return self.money(*COST)

    @property
    def qty(self) -> str:
        return self.money(*QUANTITY)

    @property
    def rate(self) -> str | None:
        if self.agreement != "MCA" or not self.cols.find(*EXCHANGE_RATE):
            return None
        return f"COALESCE({self.money(*EXCHANGE_RATE)}, CAST(1 AS {MONEY_SQL_TYPE}))"

    def _in_billing(self, price: str) -> str:
        return price if self.rate is None else _mul(price, self.rate)

    @property
    def list_price_priced(self) -> str:
        """List unit price in the pricing currency (= billing currency outside MCA)."""
        paygo, unit = self.money(*LIST_PRICE), self.money(*UNIT_PRICE)
        if paygo == "NULL" or unit == "NULL":
            return unit if paygo == "NULL" else paygo
        missing = f"{paygo} IS NULL OR ({paygo} = 0 AND {unit} > 0)"
        return f"CASE WHEN {missing} THEN {unit} ELSE {paygo} END"

    @property
    def contracted_price_priced(self) -> str:
        unit = self.money(*UNIT_PRICE)
        return (
            self.list_price_priced
            if unit == "NULL"
            else f"COALESCE({unit}, {self.list_price_priced})"
        )

    @property
    def list_price(self) -> str:
        return self._in_billing(self.list_price_priced)

    @property
    def contracted_price(self) -> str:
        return self._in_billing(self.contracted_price_priced)

    @property
    def pricing_currency_split(self) -> bool:
        """MCA files rate in a pricing currency and carry costs in it too."""
        return self.rate is not None and self.cols.has_all(
            "PricingCurrency", "CostInPricingCurrency"
        )

    @property
    def sku_key(self) -> str:
        meter, second = self.text("MeterId"), self.text("ProductId", "PartNumber")
        parts = ", ".join(p for p in (meter, second) if p != "NULL") or "NULL"
        return f"NULLIF(concat_ws('_', {parts}), '')"

    @property
    def priced(self) -> str:
        """A usage or purchase row with a SKU price: prices and quantities apply."""
        return (
            f"({self.sku_key} IS NOT NULL AND {self.list_price} IS NOT NULL "
            f"AND {self.ct} IN {_PRICED_TYPES})"
        )

    @property
    def unit(self) -> str:
        """UnitOfMeasure in FOCUS UnitFormat (``Units`` when empty)."""
        return f"COALESCE({unit_sql(self.text('UnitOfMeasure'))}, 'Units')"

    @property
    def commitment_raw(self) -> str:
        return self.text(*COMMITMENT_ID)

    @property
    def commitment_id(self) -> str:
        related = (
            f"{self.pm} IN {_COMMITMENT_MODELS} OR {self.ct} IN {_UNUSED} OR {self.pm} IS NULL"
        )
        return f"CASE WHEN {related} THEN {self.commitment_raw} END"

    @property
    def commitment_category(self) -> str:
        cid = f"lower({self.commitment_id})"
        return (
            f"CASE WHEN {self.commitment_id} IS NULL THEN NULL "
            f"WHEN {cid} LIKE '%/microsoft.capacity/%' THEN 'Usage' "
            f"WHEN {cid} LIKE '%/microsoft.billingbenefits/%' THEN 'Spend' "
            f"WHEN {self.pm} = 'savingsplan' OR {self.ct} = 'unusedsavingsplan' THEN 'Spend' "
            "ELSE 'Usage' END"
        )


def build_mapping(cols: RawColumns, detection: Detection) -> MappingResult:
    """The FOCUS 1.3 mapping of an Azure cost-details file (see the module docstring)."""
    az = _Azure(cols, detection.details.get("agreement", "EA"))
    out: MappingResult = {}
    for part in (
        _account,
        _periods,
        _charge,
        _costs,
        _prices,
        _commitment,
        _resource,
        _service,
        _parties,
        _extensions,
    ):
        out.update(part(az))
    return out


def _qualified(expr: str, prefix: str) -> str:
    return (
        f"CASE WHEN {expr} IS NULL THEN NULL WHEN starts_with({expr}, '/') THEN {expr} "
        f"ELSE '{prefix}' || {expr} END"
    )


def _account(az: _Azure) -> MappingResult:
    sub = az.text(*SUBSCRIPTION)
    sub_id = _qualified(sub, "/subscriptions/")
    out: MappingResult = {
        "SubAccountId": Field(sub_id, az.name(*SUBSCRIPTION)),
        "SubAccountName": Field(f"COALESCE({az.text('SubscriptionName')}, {sub})"),
        "SubAccountType": Field(f"CASE WHEN {sub} IS NOT NULL THEN 'Subscription' END"),
        "BillingCurrency": Field(f"upper({az.text(*CURRENCY)})", az.name(*CURRENCY))
        if az.cols.find(*CURRENCY)
        else _sql.NULL,
    }
    if az.agreement == "MCA":
        profile, acct = az.text("BillingProfileId"), az.text("BillingAccountId")
        expr = (
            f"CASE WHEN {profile} IS NULL THEN NULL WHEN starts_with({profile}, '/') OR "
            f"{acct} IS NULL THEN {profile} ELSE "
            f"'{ACCOUNT_PREFIX}' || {acct} || '/billingProfiles/' || {profile} END"
        )
        out["BillingAccountId"] = Field(expr, az.name("BillingProfileId"))
        out["BillingAccountName"] = Field(f"COALESCE({az.text('BillingProfileName')}, {profile})")
        out["BillingAccountType"] = _sql.lit("Billing Profile")
    elif az.agreement == "EA":
        acct = az.text("BillingAccountId")
        out["BillingAccountId"] = Field(
            _qualified(acct, ACCOUNT_PREFIX), az.name("BillingAccountId")
        )
        out["BillingAccountName"] = Field(f"COALESCE({az.text('BillingAccountName')}, {acct})")
        out["BillingAccountType"] = _sql.lit("Billing Account")
    else:
        out["BillingAccountId"] = out["SubAccountId"]
        out["BillingAccountName"] = out["SubAccountName"]
        out["BillingAccountType"] = _sql.lit("Subscription")
    return out


def _periods(az: _Azure) -> MappingResult:
    charge = _sql.timestamp(az.cols, *CHARGE_DATE, formats=DATE_FORMATS)
    if charge.expr == "NULL":
        return {}
    month = f"CAST(date_trunc('month', {charge.expr}) AS TIMESTAMP)"
    start = _sql.timestamp(az.cols, "BillingPeriodStartDate", formats=DATE_FORMATS)
    end = _sql.timestamp(az.cols, "BillingPeriodEndDate", formats=DATE_FORMATS)
    period_start = _sql.coalesce(start, Field(month, charge.sources))
    next_month = Field(f"({period_start.expr}) + INTERVAL 1 MONTH", period_start.sources)
    inclusive_end = Field(f"({end.expr}) + INTERVAL 1 DAY", end.sources) if end.sources else end
    return {
        "ChargePeriodStart": charge,
        "ChargePeriodEnd": Field(f"({charge.expr}) + INTERVAL 1 DAY", charge.sources),
        "BillingPeriodStart": period_start,
        "BillingPeriodEnd": _sql.coalesce(inclusive_end, next_month),
    }


def _charge(az: _Azure) -> MappingResult:
    freq = _norm(az.text("Frequency"))
    freq_whens = " ".join(f"WHEN {freq} = '{k}' THEN '{v}'" for k, v in _FREQUENCIES)
    frequency = (
        f"CASE {freq_whens} WHEN {az.category} = 'Usage' THEN 'Usage-Based' ELSE 'One-Time' END"
    )
    meter = ", ".join(
        x
        for x in (az.text("MeterCategory"), az.text("MeterSubCategory"), az.text("MeterName"))
        if x != "NULL"
    )
    description = _sql.coalesce(
        _sql.text(az.cols, "ProductName", "Product"),
        Field(f"NULLIF(concat_ws(' - ', {meter}), '')") if meter else _sql.NULL,
    )
    return {
        "ChargeCategory": Field(az.category, az.name("ChargeType")),
        "ChargeClass": Field(f"CASE WHEN {az.ct} = 'refund' THEN 'Correction' END"),
        "ChargeFrequency": Field(frequency, az.name("Frequency")),
        "ChargeDescription": Field(description.expr),
        "InvoiceId": _sql.text(az.cols, "InvoiceId"),
    }


def _costs(az: _Azure) -> MappingResult:
    cost, source = az.cost, az.name(*COST)
    if cost == "NULL":
        return {}
    priced_qty = f"{az.priced} AND {az.qty} IS NOT NULL"
    list_cost = az.money(*LIST_COST)
    usage_list = f"COALESCE({list_cost}, {cost})" if list_cost != "NULL" else cost
    return {
        "BilledCost": Field(
            f"CASE WHEN {az.commitment_usage} THEN ({cost}) * 0 ELSE {cost} END", source
        ),
        "EffectiveCost": Field(
            f"CASE WHEN {az.commitment_purchase} THEN ({cost}) * 0 ELSE {cost} END", source
        ),
        "ListCost": Field(
            f"CASE WHEN {priced_qty} THEN {_mul(az.list_price, az.qty)} "
            f"WHEN {az.ct} = 'usage' THEN {usage_list} ELSE {cost} END"
        ),
        "ContractedCost": Field(
            f"CASE WHEN {priced_qty} THEN {_mul(az.contracted_price, az.qty)} ELSE {cost} END"
        ),
    }


def _prices(az: _Azure) -> MappingResult:
    priced, qty, unit = az.priced, az.qty, az.unit
    consumed = f"{priced} AND {az.ct} = 'usage'"
    pricing = (
        f"CASE WHEN NOT {priced} THEN NULL "
        f"WHEN {az.ct} IN {_UNUSED} THEN 'Committed' "
        f"WHEN {az.ct} = 'usage' AND {az.commitment_id} IS NOT NULL THEN 'Committed' "
        f"WHEN {az.pm} = 'spot' THEN 'Dynamic' ELSE 'Standard' END"
    )
    ids = [az.text(n) for n in ("ProductId", "MeterId", "PartNumber") if az.cols.find(n)]
    sku = f"COALESCE({', '.join(ids)})" if ids else "NULL"
    return {
        "SkuId": Field(f"CASE WHEN {az.category} IN ('Usage', 'Purchase') THEN {sku} END"),
        "SkuPriceId": Field(f"CASE WHEN {priced} THEN {az.sku_key} END"),
        "SkuMeter": _sql.text(az.cols, "MeterName"),
        "PricingCategory": Field(pricing),
        "ListUnitPrice": Field(f"CASE WHEN {priced} THEN {az.list_price} END"),
        "ContractedUnitPrice": Field(f"CASE WHEN {priced} THEN {az.contracted_price} END"),
        "PricingQuantity": Field(f"CASE WHEN {priced} THEN {qty} END"),
        "PricingUnit": Field(f"CASE WHEN {priced} AND {qty} IS NOT NULL THEN {unit} END"),
        "ConsumedQuantity": Field(f"CASE WHEN {consumed} THEN {qty} END"),
        "ConsumedUnit": Field(f"CASE WHEN {consumed} AND {qty} IS NOT NULL THEN {unit} END"),
        **_pricing_currency(az),
    }


def _pricing_currency(az: _Azure) -> MappingResult:
    """FOCUS 1.2 pricing-currency columns: MCA's own; elsewhere the billing currency's."""
    billing = f"upper({az.text(*CURRENCY)})"
    if az.pricing_currency_split:
        currency = f"COALESCE(upper({az.text('PricingCurrency')}), {billing})"
        cost = az.money("CostInPricingCurrency")
        list_price, contracted = az.list_price_priced, az.contracted_price_priced
    else:
        currency, cost = billing, az.cost
        list_price, contracted = az.list_price, az.contracted_price
    effective = f"CASE WHEN {az.commitment_purchase} THEN ({cost}) * 0 ELSE {cost} END"
    return {
        "PricingCurrency": Field(currency),
        "PricingCurrencyEffectiveCost": Field(effective),
        "PricingCurrencyListUnitPrice": Field(f"CASE WHEN {az.priced} THEN {list_price} END"),
        "PricingCurrencyContractedUnitPrice": Field(f"CASE WHEN {az.priced} THEN {contracted} END"),
    }


def _commitment(az: _Azure) -> MappingResult:
    if az.commitment_raw == "NULL":
        return {}
    cid, cat = az.commitment_id, az.commitment_category
    has_qty = f"{cid} IS NOT NULL AND {az.priced}"
    spend, unit = f"({cat}) = 'Spend'", az.unit
    return {
        "CommitmentDiscountId": Field(cid),
        "CommitmentDiscountName": Field(
            f"CASE WHEN {cid} IS NOT NULL THEN {az.text(*COMMITMENT_NAME)} END"
        ),
        "CommitmentDiscountCategory": Field(cat),
        "CommitmentDiscountType": Field(
            f"CASE ({cat}) WHEN 'Usage' THEN 'Reservation' WHEN 'Spend' THEN 'Savings Plan' END"
        ),
        "CommitmentDiscountStatus": Field(
            f"CASE WHEN {cid} IS NULL THEN NULL WHEN {az.ct} IN "
            f"{_UNUSED} THEN 'Unused' WHEN {az.category} = 'Usage' "
            "THEN 'Used' END"
        ),
        "CommitmentDiscountQuantity": Field(
            f"CASE WHEN {has_qty} THEN CASE WHEN {spend} THEN {az.cost} ELSE {az.qty} END END"
        ),
        "CommitmentDiscountUnit": Field(
            f"CASE WHEN {has_qty} THEN CASE WHEN {spend} THEN "
            f"upper({az.text(*CURRENCY)}) ELSE {unit} END END"
        ),
    }


def _resource(az: _Azure) -> MappingResult:
    rid = az.text(*RESOURCE_ID)
    name, rtype = az.text("ResourceName"), az.text("ResourceType")
    loc = az.text("ResourceLocation")
    display = az.text("ResourceLocationNormalized", "ResourceLocation")
    valid = f"{loc} IS NOT NULL AND lower({loc}) NOT IN {_NOT_A_REGION}"
    return {
        "ResourceId": Field(rid, az.name(*RESOURCE_ID)),
        "ResourceName": Field(
            f"CASE WHEN {rid} IS NOT NULL THEN COALESCE({name}, {resource_name_sql(rid)}) END"
        ),
        "ResourceType": Field(
            f"CASE WHEN {rid} IS NOT NULL THEN COALESCE({rtype}, {resource_type_sql(rid)}) END"
        ),
        "RegionId": Field(f"CASE WHEN {valid} THEN {region_id_sql(loc)} END"),
        "RegionName": Field(f"CASE WHEN {valid} THEN {display} END"),
        "AvailabilityZone": _sql.text(az.cols, "AvailabilityZone"),
    }


def _service(az: _Azure) -> MappingResult:
    meter, consumed = az.text("MeterCategory"), az.text("ConsumedService")
    mc = None if meter == "NULL" else meter
    cs = None if consumed == "NULL" else consumed
    name = _sql.coalesce(
        _sql.text(az.cols, "MeterCategory"),
        _sql.text(az.cols, "ConsumedService"),
        _sql.lit("Azure"),
    )
    return {
        "ServiceName": Field(name.expr),
        "ServiceCategory": Field(category_sql(mc, cs, 0)),
        "ServiceSubcategory": Field(category_sql(mc, cs, 1)),
        "x_ServiceCode": Field(
            _sql.coalesce(
                _sql.text(az.cols, "MeterCategory"), _sql.text(az.cols, "ConsumedService")
            ).expr
        ),
    }


def _parties(az: _Azure) -> MappingResult:
    publisher = az.text("PublisherName")
    kind = az.text("PublisherType")
    marketplace = (
        (
            f"CASE WHEN lower({kind}) = 'marketplace' THEN COALESCE({publisher}, 'Microsoft') "
            "ELSE 'Microsoft' END"
        )
        if kind != "NULL"
        else "'Microsoft'"
    )
    issuer = az.text("PartnerName")
    return {
        "ProviderName": _sql.lit("Microsoft"),
        "ServiceProviderName": Field(marketplace),
        "PublisherName": Field(marketplace),
        "HostProviderName": _sql.lit("Microsoft"),
        "InvoiceIssuerName": Field(f"COALESCE({issuer}, 'Microsoft')")
        if issuer != "NULL"
        else _sql.lit("Microsoft"),
        "x_Provider": _sql.lit("azure"),
    }


def _extensions(az: _Azure) -> MappingResult:
    info = az.text("AdditionalInfo")
    instance = (
        f"CASE WHEN json_valid({info}) THEN json_extract_string({info}, '$.ServiceType') END"
        if info != "NULL"
        else "NULL"
    )
    return {
        "Tags": _sql.tags_from_json(az.cols, az.cols.find("Tags"), wrap_braces=True),
        "x_ChargeType": _sql.text(az.cols, "ChargeType"),
        "x_UsageType": _sql.text(az.cols, "MeterName"),
        "x_InstanceType": Field(instance),
    }
