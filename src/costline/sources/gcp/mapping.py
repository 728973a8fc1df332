"""GCP Cloud Billing export to BigQuery (standard and detailed tables) → FOCUS 1.3 (pure).

One raw row (one SKU of one project for one usage hour, or one tax/adjustment line) becomes
one cost row. The mapping is a set of DuckDB expressions over the nested records as DuckDB
reads them (see :mod:`costline.sources.gcp._nested` for the NDJSON/Parquet/CSV shapes).

Money:

* ``BilledCost`` = ``cost`` (before credits), so ``sum(BilledCost)`` over a file equals
  ``sum(cost)`` exactly; ``ContractedCost`` = ``cost``.
* ``EffectiveCost`` = ``cost + sum(credits.amount)`` (credits are negative: committed and
  sustained use discounts, free tier, promotions, ...); ``x_Discounts`` = ``sum(credits)``.
  Credits stay on their row (no separate ``Credit`` rows), so every credit is allocated with
  the usage it reduced and ``sum(EffectiveCost)`` is the net amount Google invoices.
* ``ListCost`` = ``cost_at_list`` when the export has it, else ``cost``.
* Commitment fees (committed use discounts): a fee of Google's newer spend-based model carries
  a ``FEE_UTILIZATION_OFFSET`` credit for the part of the fee that covered usage, and that
  usage is already charged at the discounted price; FOCUS then wants the fee (``Purchase``) at
  ``EffectiveCost`` 0 and its unused part ``cost + credits`` as a separate ``Usage`` row with
  ``CommitmentDiscountStatus`` Unused (:mod:`costline.sources.gcp.splits`). Legacy fees
  (resource-based and legacy spend-based CUDs, whose discount arrives as credits on the usage)
  are the only place the commitment's cost appears, so they keep ``EffectiveCost`` = ``cost +
  credits`` (see docs/connectors/gcp.md).

Periods: ``BillingPeriodStart`` is the first day of ``invoice.month`` (UTC midnight; Google's
billing month is Pacific time, so an hourly charge period may extend up to 8 h beyond the
billing period). ``ChargePeriodStart/End`` = ``usage_start_time``/``usage_end_time``; a row
whose end is before its start fails the load (the file is quarantined naming the row): a
negative period is never stored and the two times are never swapped.

Charge: ``cost_type`` regular → ``Usage`` (``Purchase`` for ``Commitment...`` fee SKUs and rows
with a ``FEE_UTILIZATION_OFFSET`` credit), tax
→ ``Tax``, adjustment and rounding error → ``Adjustment``; an adjustment whose usage lies in
an earlier (Pacific) billing month has ``ChargeClass`` ``Correction``.

Tags: user ``labels`` win over resource-manager ``tags``, which win over inherited
``project.labels``; ``system_labels`` keep their own ``goog-``/``*.googleapis.com/`` keys.
"""

from __future__ import annotations

from costline.core.money import MONEY_SQL_TYPE
from costline.sources._sql import NULL, lit, timestamp
from costline.sources.base import Detection, Field, MappingResult, RawColumns
from costline.sources.gcp import _catalog
from costline.sources.gcp._nested import Record, Value, empty_list, list_of, money, text

PROVIDER = "Google Cloud"
_PACIFIC = "America/Los_Angeles"
_CUD = "'COMMITTED_USAGE_DISCOUNT%'"
FEE_OFFSET = "FEE_UTILIZATION_OFFSET"
_ZERO = f"CAST(0 AS {MONEY_SQL_TYPE})"
END_BEFORE_START = "usage_end_time is before usage_start_time"


def build_mapping(cols: RawColumns, detection: Detection) -> MappingResult:
    """Map one GCP billing export file (any of its shapes) to cost-store columns."""
    rec = Record(cols)
    ctx = Context(rec, cols)
    out: MappingResult = {}
    out.update(_probes(rec))
    out.update(_accounts(rec))
    out.update(_periods(ctx))
    out.update(_costs(ctx))
    out.update(_charge(ctx))
    out.update(_commitment(ctx))
    out.update(_service(ctx))
    out.update(_resource(rec))
    out.update(_quantities(ctx))
    out.update(_providers(rec))
    out["Tags"] = tags(rec)
    out["x_Provider"] = lit("gcp")
    return out


class Context:
    """SQL snippets several columns share (computed once per file)."""

    def __init__(self, rec: Record, cols: RawColumns) -> None:
        self.rec = rec
        self.cols = cols
        self.cost = rec.get("cost")
        self.sku = text(rec.get("sku", "description"))
        cost_type = text(rec.get("cost_type"))
        self.cost_type = f"lower(replace({cost_type}, '_', ' '))"
        self.start = timestamp(cols, "usage_start_time")
        self.credits = rec.get("credits")
        self.offset = _has_fee_offset(self.credits)
        self.category = _category(self.cost_type, self.sku, self.offset)
        # A fee of the new spend-based CUD model: its used part is already in the usage cost.
        self.prepaid_fee = f"({self.category} = 'Purchase' AND {self.offset})"
        month = rec.get("invoice", "month")
        if month is not None:
            self.period = Field(f"strptime({text(month)}, '%Y%m')", (month.source,))
        else:
            self.period = Field(f"date_trunc('month', {self.start.expr})", self.start.sources)
        self.cud = _cud_index(self.credits)

    def credit_list(self, field: str) -> str:
        return empty_list(list_of(self.credits, field))

    def credit_sum(self) -> str:
        amounts = list_of(self.credits, "amount")
        if amounts is None:
            return _ZERO
        cast = f"list_transform({amounts}, lambda __a: CAST(__a AS {MONEY_SQL_TYPE}))"
        return f"COALESCE(list_sum({cast}), {_ZERO})"

    def in_categories(self, *names: str) -> str:
        return f"{self.category} IN ({', '.join(lit(n).expr for n in names)})"


def _category(cost_type: str, sku: str, offset: str) -> str:
    return (
        f"CASE WHEN {cost_type} = 'tax' THEN 'Tax' "
        f"WHEN {cost_type} IN ('adjustment', 'rounding error') THEN 'Adjustment' "
        f"WHEN {sku} ILIKE 'commitment%' OR {offset} THEN 'Purchase' ELSE 'Usage' END"
    )


def _has_fee_offset(credits: Value | None) -> str:
    """Whether the row carries a ``FEE_UTILIZATION_OFFSET`` credit (Google: only CUD fees of
    the new spend-based model do; it offsets the part of the fee that covered usage)."""
    types = list_of(credits, "type")
    if types is None:
        return "false"
    upper = f"list_transform({empty_list(types)}, lambda __t: upper(__t))"
    return f"list_contains({upper}, '{FEE_OFFSET}')"


def _cud_index(credits: Value | None) -> str:
    """1-based position of the first committed-use-discount credit of the row (or NULL)."""
    types = list_of(credits, "type")
    if types is not None:
        flags = f"list_transform({empty_list(types)}, lambda __t: upper(__t) LIKE {_CUD})"
        return f"list_position({flags}, true)"
    names = list_of(credits, "name")
    if names is None:
        return "NULL"
    flags = f"list_transform({empty_list(names)}, lambda __t: lower(__t) LIKE 'committed us%')"
    return f"list_position({flags}, true)"


def _probes(rec: Record) -> MappingResult:
    """A diagnosis-only check (not stored): it names the row whose end is before its start.

    Inserted first so that, of the checks failing on that row, this one words the error.
    """
    start = timestamp(rec.cols, "usage_start_time")
    end = timestamp(rec.cols, "usage_end_time")
    if not (start.sources and end.sources):
        return {}
    check = reversed_period(f"try({end.expr})", f"try({start.expr})", END_BEFORE_START)
    return {"__" + END_BEFORE_START: Field(check, end.sources)}


def reversed_period(end: str, start: str, message: str) -> str:
    """A TIMESTAMP that is NULL, except where ``end < start``: there the cast fails the load."""
    return f"CAST(CASE WHEN {end} < {start} THEN '{message}' END AS TIMESTAMP)"


def _accounts(rec: Record) -> MappingResult:
    project_id = text(rec.get("project", "id"))
    return {
        "BillingAccountId": _field(
            text(rec.get("billing_account_id")), rec.get("billing_account_id")
        ),
        "BillingAccountType": lit("Billing Account"),
        "SubAccountId": Field(project_id),
        "SubAccountName": Field(f"COALESCE({text(rec.get('project', 'name'))}, {project_id})"),
        "SubAccountType": Field(f"CASE WHEN {project_id} IS NOT NULL THEN 'Project' END"),
    }


def _periods(ctx: Context) -> MappingResult:
    end = timestamp(ctx.cols, "usage_end_time")
    checked_end = NULL
    if end.sources and ctx.start.sources:
        check = reversed_period(end.expr, ctx.start.expr, END_BEFORE_START)
        checked_end = Field(f"COALESCE({check}, {end.expr})", end.sources)
    return {
        "BillingPeriodStart": ctx.period,
        "BillingPeriodEnd": Field(f"{ctx.period.expr} + INTERVAL 1 MONTH", ctx.period.sources),
        "ChargePeriodStart": ctx.start,
        "ChargePeriodEnd": checked_end,
    }


def _costs(ctx: Context) -> MappingResult:
    cost = _field(money(ctx.cost), ctx.cost)
    if not cost.sources:
        return {"BilledCost": NULL, "EffectiveCost": NULL}
    credits = ctx.credit_sum()
    credit_src = (ctx.credits.source,) if ctx.credits is not None else ()
    at_list = ctx.rec.get("cost_at_list")
    list_cost = cost
    if at_list is not None:
        list_cost = Field(
            f"COALESCE({money(at_list)}, {cost.expr})", (at_list.source,) + cost.sources
        )
    net = f"{cost.expr} + {credits}"
    # A prepaid fee's cost + credits is its unused part, which is a row of its own (splits.py).
    effective = Field(
        f"CASE WHEN {ctx.prepaid_fee} THEN {_ZERO} ELSE {net} END", credit_src + cost.sources
    )
    out: MappingResult = {
        "BilledCost": cost,
        "EffectiveCost": effective,
        "ContractedCost": cost,
        "ListCost": list_cost,
        "x_Discounts": Field(credits, credit_src) if credit_src else NULL,
        "PricingCurrencyEffectiveCost": Field(effective.expr),
    }
    out.update(_unit_prices(ctx, cost.expr, list_cost.expr))
    return out


def _unit_prices(ctx: Context, cost: str, list_cost: str) -> MappingResult:
    """Unit prices of usage and purchases, in the billing currency.

    ``price.effective_price`` (detailed table) is the contracted unit price; otherwise, and
    always for the list price (GCP exports none), the price is the row's cost divided by its
    quantity in pricing units: an average over price tiers, so that cost = price × quantity.
    """
    quantity = f"NULLIF({money(ctx.rec.get('usage', 'amount_in_pricing_units'))}, 0)"
    priced = ctx.in_categories("Usage", "Purchase")
    # TRY_CAST: a derived value never fails the load (a huge ratio just has no price).
    derived = f"TRY_CAST(CAST({cost} AS DOUBLE) / CAST({quantity} AS DOUBLE) AS {MONEY_SQL_TYPE})"
    listed = (
        f"TRY_CAST(CAST({list_cost} AS DOUBLE) / CAST({quantity} AS DOUBLE) AS {MONEY_SQL_TYPE})"
    )
    price = ctx.rec.get("price", "effective_price")
    contracted = derived if price is None else f"COALESCE({money(price)}, {derived})"
    contracted = f"CASE WHEN {priced} THEN {contracted} END"
    listed = f"CASE WHEN {priced} THEN {listed} END"
    return {
        "ContractedUnitPrice": Field(contracted),
        "ListUnitPrice": Field(listed),
        "PricingCurrencyContractedUnitPrice": Field(contracted),
        "PricingCurrencyListUnitPrice": Field(listed),
    }


def _charge(ctx: Context) -> MappingResult:
    return {
        "ChargeCategory": Field(ctx.category),
        "ChargeClass": Field(_correction(ctx)),
        "ChargeFrequency": Field(
            f"CASE {ctx.category} WHEN 'Purchase' THEN 'Recurring' "
            f"WHEN 'Adjustment' THEN 'One-Time' ELSE 'Usage-Based' END"
        ),
        "ChargeDescription": Field(ctx.sku),
        "PricingCategory": Field(
            f"CASE WHEN {ctx.category} = 'Purchase' THEN 'Standard' "
            f"WHEN {ctx.category} <> 'Usage' THEN NULL "
            f"WHEN {ctx.cud} IS NOT NULL THEN 'Committed' "
            f"WHEN {ctx.sku} ILIKE '%preemptible%' OR {ctx.sku} ILIKE '%spot%' THEN 'Dynamic' "
            f"ELSE 'Standard' END"
        ),
        "x_ChargeType": Field(text(ctx.rec.get("cost_type"))),
    }


def _correction(ctx: Context) -> str:
    """``Correction`` for an adjustment of usage from an earlier Pacific-time billing month."""
    markers = [text(ctx.rec.get("adjustment_info", f)) for f in ("id", "mode", "type")]
    adjusted = " OR ".join(
        [f"{ctx.cost_type} = 'adjustment'"] + [f"{m} IS NOT NULL" for m in markers if m != "NULL"]
    )
    usage_month = f"date_trunc('month', timezone('{_PACIFIC}', timezone('UTC', {ctx.start.expr})))"
    return f"CASE WHEN ({adjusted}) AND {usage_month} < {ctx.period.expr} THEN 'Correction' END"


def _commitment(ctx: Context) -> MappingResult:
    instance = text(ctx.rec.get("subscription", "instance_id"))
    types, ids = ctx.credit_list("type"), ctx.credit_list("id")
    names, full = ctx.credit_list("name"), ctx.credit_list("full_name")
    idx = ctx.cud
    cid = (
        f"CASE WHEN {ctx.category} = 'Purchase' THEN {instance} "
        f"WHEN {idx} IS NOT NULL THEN COALESCE({ids}[{idx}], {full}[{idx}], {names}[{idx}]) "
        f"END"
    )
    spend = (
        f"(({ctx.category} = 'Purchase' AND ({ctx.sku} ILIKE '%dollar based%' OR {ctx.offset})) "
        f"OR upper({types}[{idx}]) LIKE '%DOLLAR_BASE')"
    )
    return {
        "CommitmentDiscountId": Field(cid),
        "CommitmentDiscountCategory": Field(
            f"CASE WHEN ({cid}) IS NULL THEN NULL WHEN {spend} THEN 'Spend' ELSE 'Usage' END"
        ),
        "CommitmentDiscountName": Field(
            f"CASE WHEN ({cid}) IS NOT NULL AND {idx} IS NOT NULL "
            f"THEN COALESCE({full}[{idx}], {names}[{idx}]) END"
        ),
        "CommitmentDiscountType": Field(
            f"CASE WHEN ({cid}) IS NOT NULL THEN 'Committed Use Discount' END"
        ),
        "CommitmentDiscountStatus": Field(
            f"CASE WHEN ({cid}) IS NOT NULL AND {ctx.category} = 'Usage' THEN 'Used' END"
        ),
    }


def _service(ctx: Context) -> MappingResult:
    desc = text(ctx.rec.get("service", "description"))
    sku_id = text(ctx.rec.get("sku", "id"))
    category = {k: v[0] for k, v in _catalog.SERVICES.items()}
    subcategory = {k: v[1] for k, v in _catalog.SERVICES.items()}
    tier = ctx.rec.get("price", "tier_start_amount")
    price_id = sku_id if tier is None else f"{sku_id} || COALESCE('/' || {_number(tier)}, '')"
    return {
        "ServiceName": Field(desc),
        "ServiceCategory": Field(_catalog.case_lookup(desc, category, default="'Other'")),
        "ServiceSubcategory": Field(
            _catalog.case_lookup(desc, subcategory, default="'Other (Other)'")
        ),
        "SkuId": Field(f"CASE WHEN {ctx.category} <> 'Tax' THEN {sku_id} END"),
        "SkuMeter": Field(f"CASE WHEN {ctx.category} <> 'Tax' THEN {ctx.sku} END"),
        "SkuPriceId": Field(
            f"CASE WHEN {ctx.in_categories('Usage', 'Purchase')} THEN {price_id} END"
        ),
        "x_ServiceCode": Field(text(ctx.rec.get("service", "id"))),
        "x_UsageType": Field(ctx.sku),
    }


def _number(value: Value) -> str:
    """A number as canonical text (``0.000000000`` and ``0`` both ``0``): stable ids."""
    raw = text(value)
    return f"CASE WHEN contains({raw}, '.') THEN rtrim(rtrim({raw}, '0'), '.') ELSE {raw} END"


def _resource(rec: Record) -> MappingResult:
    name = text(rec.get("resource", "name"))
    global_name = text(rec.get("resource", "global_name"))
    resource_id = f"COALESCE({global_name}, {name})"
    pattern = r"'^//([^./]+)\.googleapis\.com/.*/([^/]+)/[^/]+$'"
    region = text(rec.get("location", "region"))
    return {
        "ResourceId": Field(resource_id),
        "ResourceName": Field(name),
        "ResourceType": Field(
            f"CASE WHEN {resource_id} IS NULL THEN NULL "
            f"WHEN regexp_matches({global_name}, {pattern}) "
            f"THEN regexp_replace({global_name}, {pattern}, '\\1/\\2') ELSE 'resource' END"
        ),
        "RegionId": Field(region),
        "RegionName": Field(_catalog.case_lookup(region, _catalog.REGIONS, default=region)),
        "AvailabilityZone": Field(text(rec.get("location", "zone"))),
        "x_InstanceType": Field(_system_label(rec, "compute.googleapis.com/machine_spec")),
    }


def _system_label(rec: Record, key: str) -> str:
    labels = rec.get("system_labels")
    keys, values = list_of(labels, "key"), list_of(labels, "value")
    if keys is None or values is None:
        return "NULL"
    return f"{values}[list_position({keys}, '{key}')]"


def _quantities(ctx: Context) -> MappingResult:
    usage = ctx.category + " = 'Usage'"
    priced = ctx.in_categories("Usage", "Purchase")
    return {
        "ConsumedQuantity": Field(
            f"CASE WHEN {usage} THEN {money(ctx.rec.get('usage', 'amount'))} END"
        ),
        "ConsumedUnit": Field(
            f"CASE WHEN {usage} THEN {unit_format(text(ctx.rec.get('usage', 'unit')))} END"
        ),
        "PricingQuantity": Field(
            f"CASE WHEN {priced} THEN {money(ctx.rec.get('usage', 'amount_in_pricing_units'))} END"
        ),
        "PricingUnit": Field(
            f"CASE WHEN {priced} THEN {unit_format(text(ctx.rec.get('usage', 'pricing_unit')))} END"
        ),
    }


def unit_format(unit: str) -> str:
    """Google's ``<unit>-<time>s`` units in FOCUS UnitFormat, which capitalises the plural time
    unit: ``byte-seconds`` → ``byte-Seconds``. Other units are kept as exported."""
    time = r"-(second|minute|hour|day|month|year)s$"
    word = f"regexp_extract({unit}, '{time}', 1)"
    return (
        f"CASE WHEN regexp_matches({unit}, '{time}') THEN "
        f"regexp_replace({unit}, '{time}', '') || '-' || upper(left({word}, 1)) "
        f"|| substr({word}, 2) || 's' ELSE {unit} END"
    )


def _providers(rec: Record) -> MappingResult:
    kind = text(rec.get("transaction_type"))
    seller = text(rec.get("seller_name"))
    publisher = (
        f"CASE WHEN upper({kind}) LIKE 'THIRD_PARTY%' "
        f"THEN COALESCE({seller}, '{PROVIDER}') ELSE '{PROVIDER}' END"
    )
    return {
        "ProviderName": lit(PROVIDER),
        "PublisherName": Field(publisher),
        "ServiceProviderName": Field(publisher),
        "HostProviderName": lit(PROVIDER),
        "InvoiceIssuerName": lit(PROVIDER),
        "BillingCurrency": _field(text(rec.get("currency")), rec.get("currency")),
        # Every amount in the export (cost, credits, effective_price) is already in the
        # billing currency, so that is also the currency of the prices costline reports.
        "PricingCurrency": Field(text(rec.get("currency"))),
    }


def tags(rec: Record) -> Field:
    """User labels, then resource-manager tags, project labels and system labels (first wins)."""
    keys: list[str] = []
    values: list[str] = []
    for path in (("labels",), ("tags",), ("project", "labels"), ("system_labels",)):
        value = rec.get(*path)
        k, v = list_of(value, "key"), list_of(value, "value", keep_empty=True)
        if k is not None and v is not None:
            keys.append(empty_list(k))
            values.append(empty_list(v))
    if not keys:
        return Field("CAST(MAP() AS MAP(VARCHAR, VARCHAR))")
    all_keys = f"flatten([{', '.join(keys)}])"
    all_values = f"flatten([{', '.join(values)}])"
    entries = (
        f"list_transform(list_zip({all_keys}, {all_values}), "
        f"lambda __p: {{'key': __p[1], 'value': __p[2]}})"
    )
    keep = (
        f"lambda __e, __i: __e.key IS NOT NULL AND __e.value IS NOT NULL "
        f"AND list_position({all_keys}, __e.key) = __i"
    )
    return Field(f"map_from_entries(list_filter({entries}, {keep}))")


def _field(expr: str, value: Value | None) -> Field:
    if value is None:
        return NULL
    return Field(expr, (value.source,))
