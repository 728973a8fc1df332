"""OCI native cost report (``reports/cost-csv``) → FOCUS 1.3 (pure).

One report line (one resource, one SKU, one usage hour) becomes one cost row.

* Accounts: ``BillingAccountId`` = ``lineItem/tenantId`` (the tenancy OCID); the sub account
  is the compartment (``product/compartmentId`` / ``product/compartmentName``).
* Periods: ``ChargePeriodStart/End`` = ``lineItem/intervalUsageStart/End`` (``2023-11-13T10:00Z``
  without seconds parses as UTC). OCI invoices by calendar month, and the cost report carries
  no billing-period column, so ``BillingPeriodStart`` is the first day (UTC) of the month of
  ``intervalUsageStart``. A line whose end is before its start fails the load.
* Money: ``cost/myCost`` is what the tenancy is charged for the line (it already includes
  overage: ``cost/myCostOverage`` is the overage part of it, not an addition), so it is
  ``BilledCost``, ``EffectiveCost`` and ``ContractedCost``. The report has no list price:
  ``ListCost``/``ListUnitPrice`` fall back to the customer's price (``cost/unitPrice``), so
  list-versus-contract savings are not visible from this report (OCI's FOCUS report has them).
* Corrections: ``lineItem/isCorrection`` true → ``ChargeClass`` ``Correction`` (the line
  corrects ``lineItem/backreferenceNo``); the charge stays ``Usage``.
* Tags: each ``tags/<namespace>.<key>`` column becomes the tag ``<namespace>.<key>``.
"""

from __future__ import annotations

from collections.abc import Mapping

from costline.sources import _sql
from costline.sources._sql import NULL, lit
from costline.sources.base import Detection, Field, MappingResult, RawColumns

PROVIDER = "Oracle"
END_BEFORE_START = "intervalUsageEnd is before intervalUsageStart"
_START = "lineItem/intervalUsageStart"
_END = "lineItem/intervalUsageEnd"

_AI, _MG = "AI and Machine Learning", "Management and Governance"
SERVICES: Mapping[str, tuple[str, str]] = {
    "COMPUTE": ("Compute", "Virtual Machines"),
    "OKE": ("Compute", "Containers"),
    "CONTAINER_ENGINE": ("Compute", "Containers"),
    "FUNCTIONS": ("Compute", "Serverless Compute"),
    "BLOCK_STORAGE": ("Storage", "Block Storage"),
    "OBJECTSTORE": ("Storage", "Object Storage"),
    "OBJECT_STORAGE": ("Storage", "Object Storage"),
    "ARCHIVE_STORAGE": ("Storage", "Object Storage"),
    "FILE_STORAGE": ("Storage", "File Storage"),
    "DATABASE": ("Databases", "Relational Databases"),
    "MYSQL": ("Databases", "Relational Databases"),
    "POSTGRESQL": ("Databases", "Relational Databases"),
    "NOSQL": ("Databases", "NoSQL Databases"),
    "NETWORK": ("Networking", "Network Infrastructure"),
    "DNS": ("Networking", "Network Infrastructure"),
    "FASTCONNECT": ("Networking", "Network Connectivity"),
    "LOAD_BALANCER": ("Networking", "Application Networking"),
    "WAF": ("Networking", "Network Security"),
    "TELEMETRY": (_MG, "Observability"),
    "MONITORING": (_MG, "Observability"),
    "LOGGING": (_MG, "Observability"),
    "LOGGING_ANALYTICS": (_MG, "Observability"),
    "SUPPORT": (_MG, "Support"),
    "ORACLE_STREAMING_SERVICE": ("Integration", "Messaging"),
    "STREAMING": ("Integration", "Messaging"),
    "NOTIFICATIONS": ("Integration", "Messaging"),
    "API_GATEWAY": ("Integration", "API Management"),
    "INTEGRATION": ("Integration", "Other (Integration)"),
    "DATA_INTEGRATION": ("Analytics", "Data Processing"),
    "DATA_FLOW": ("Analytics", "Data Processing"),
    "ANALYTICS": ("Analytics", "Business Intelligence"),
    "VAULT": ("Security", "Secret Management"),
    "KEY_MANAGEMENT": ("Security", "Secret Management"),
    "CLOUD_GUARD": ("Security", "Security Posture Management"),
    "IDENTITY": ("Identity", "Identity and Access Management"),
    "DATA_SCIENCE": (_AI, "AI Platforms"),
    "GENERATIVE_AI": (_AI, "Generative AI"),
    "DEVOPS": ("Developer Tools", "Continuous Integration and Deployment"),
}

REGIONS: Mapping[str, str] = {
    "us-ashburn-1": "US East (Ashburn)",
    "us-phoenix-1": "US West (Phoenix)",
    "us-sanjose-1": "US West (San Jose)",
    "us-chicago-1": "US Midwest (Chicago)",
    "ca-toronto-1": "Canada Southeast (Toronto)",
    "ca-montreal-1": "Canada Southeast (Montreal)",
    "sa-saopaulo-1": "Brazil East (Sao Paulo)",
    "sa-vinhedo-1": "Brazil Southeast (Vinhedo)",
    "sa-santiago-1": "Chile (Santiago)",
    "mx-queretaro-1": "Mexico Central (Queretaro)",
    "eu-frankfurt-1": "Germany Central (Frankfurt)",
    "eu-zurich-1": "Switzerland North (Zurich)",
    "eu-amsterdam-1": "Netherlands Northwest (Amsterdam)",
    "eu-paris-1": "France Central (Paris)",
    "eu-marseille-1": "France South (Marseille)",
    "eu-milan-1": "Italy Northwest (Milan)",
    "eu-stockholm-1": "Sweden Central (Stockholm)",
    "eu-madrid-1": "Spain Central (Madrid)",
    "uk-london-1": "UK South (London)",
    "uk-cardiff-1": "UK West (Newport)",
    "me-jeddah-1": "Saudi Arabia West (Jeddah)",
    "me-dubai-1": "UAE East (Dubai)",
    "il-jerusalem-1": "Israel Central (Jerusalem)",
    "af-johannesburg-1": "South Africa Central (Johannesburg)",
    "ap-tokyo-1": "Japan East (Tokyo)",
    "ap-osaka-1": "Japan Central (Osaka)",
    "ap-seoul-1": "South Korea Central (Seoul)",
    "ap-chuncheon-1": "South Korea North (Chuncheon)",
    "ap-mumbai-1": "India West (Mumbai)",
    "ap-hyderabad-1": "India South (Hyderabad)",
    "ap-sydney-1": "Australia East (Sydney)",
    "ap-melbourne-1": "Australia Southeast (Melbourne)",
    "ap-singapore-1": "Singapore (Singapore)",
}


def build_mapping(cols: RawColumns, detection: Detection) -> MappingResult:
    """Map one OCI cost report file to cost-store columns."""
    out: MappingResult = {}
    out.update(_periods(cols))
    out.update(_accounts(cols))
    out.update(_costs(cols))
    out.update(_charge(cols))
    out.update(_product(cols))
    out.update(_resource(cols))
    out.update(_providers())
    out["Tags"] = _sql.tags_from_columns(cols, cols.with_prefix("tags/"), strip="tags/")
    out["x_Provider"] = lit("oci")
    return out


def _periods(cols: RawColumns) -> MappingResult:
    start = _sql.timestamp(cols, _START)
    end = _sql.timestamp(cols, _END)
    out: MappingResult = {}
    checked_end = end
    if start.sources and end.sources:
        # A diagnosis-only check first (not stored): it words the error for a reversed period.
        out["__" + END_BEFORE_START] = Field(
            _reversed(f"try({end.expr})", f"try({start.expr})"), end.sources
        )
        checked_end = Field(f"COALESCE({_reversed(end.expr, start.expr)}, {end.expr})", end.sources)
    period = Field(f"date_trunc('month', {start.expr})", start.sources)
    out["ChargePeriodStart"] = start
    out["ChargePeriodEnd"] = checked_end
    out["BillingPeriodStart"] = period if start.sources else NULL
    out["BillingPeriodEnd"] = (
        Field(f"{period.expr} + INTERVAL 1 MONTH", period.sources) if start.sources else NULL
    )
    return out


def _reversed(end: str, start: str) -> str:
    """A TIMESTAMP that is NULL, except where ``end < start``: there the cast fails the load."""
    return f"CAST(CASE WHEN {end} < {start} THEN '{END_BEFORE_START}' END AS TIMESTAMP)"


def _accounts(cols: RawColumns) -> MappingResult:
    compartment = _sql.text(cols, "product/compartmentId")
    name = _sql.text(cols, "product/compartmentName")
    return {
        "BillingAccountId": _sql.text(cols, "lineItem/tenantId"),
        "BillingAccountType": lit("Tenancy"),
        "SubAccountId": compartment,
        "SubAccountName": Field(f"COALESCE({name.expr}, {compartment.expr})"),
        "SubAccountType": Field(f"CASE WHEN {compartment.expr} IS NOT NULL THEN 'Compartment' END"),
    }


def _costs(cols: RawColumns) -> MappingResult:
    cost = _sql.money(cols, "cost/myCost")
    price = _sql.money(cols, "cost/unitPrice")
    currency = _sql.text(cols, "cost/currencyCode")
    return {
        "BilledCost": cost,
        "EffectiveCost": cost,
        "ContractedCost": cost,
        "ListCost": cost,
        "ContractedUnitPrice": price,
        "ListUnitPrice": price,
        "BillingCurrency": currency,
        # OCI prices and bills a tenancy in one currency: the pricing columns repeat it.
        "PricingCurrency": Field(currency.expr),
        "PricingCurrencyEffectiveCost": Field(cost.expr),
        "PricingCurrencyContractedUnitPrice": Field(price.expr),
        "PricingCurrencyListUnitPrice": Field(price.expr),
    }


def _charge(cols: RawColumns) -> MappingResult:
    flag = _sql.text(cols, "lineItem/isCorrection").expr
    unit = _sql.text(cols, "cost/skuUnitDescription", "cost/billingUnitReadable")
    quantity = _sql.money(cols, "usage/billedQuantity")
    return {
        "ChargeCategory": lit("Usage"),
        "ChargeClass": Field(
            f"CASE WHEN lower({flag}) IN ('true', 't', '1', 'yes', 'y') THEN 'Correction' END"
        ),
        "ChargeFrequency": lit("Usage-Based"),
        "ChargeDescription": _sql.text(cols, "product/Description"),
        "PricingCategory": lit("Standard"),
        "ConsumedQuantity": quantity,
        "ConsumedUnit": unit,
        "PricingQuantity": quantity,
        "PricingUnit": unit,
    }


def _product(cols: RawColumns) -> MappingResult:
    service = _sql.text(cols, "product/service")
    key = f"upper(replace({service.expr}, ' ', '_'))"
    sku = _sql.text(cols, "cost/productSku")
    return {
        "ServiceName": service,
        "ServiceCategory": Field(_lookup(key, {k: v[0] for k, v in SERVICES.items()}, "'Other'")),
        "ServiceSubcategory": Field(
            _lookup(key, {k: v[1] for k, v in SERVICES.items()}, "'Other (Other)'")
        ),
        "SkuId": sku,
        "SkuPriceId": sku,
        "SkuMeter": _sql.text(cols, "product/Description"),
        "x_ServiceCode": service,
        "x_UsageType": _sql.text(cols, "product/Description"),
        "x_Operation": _sql.text(cols, "product/resource"),
    }


def _resource(cols: RawColumns) -> MappingResult:
    rid = _sql.text(cols, "product/resourceId").expr
    service = _sql.text(cols, "product/service").expr
    region = _sql.text(cols, "product/region")
    ocid_type = f"NULLIF(regexp_extract({rid}, '^ocid1\\.([^.]+)\\.', 1), '')"
    return {
        "ResourceId": _sql.text(cols, "product/resourceId"),
        "ResourceType": Field(
            f"CASE WHEN {rid} IS NOT NULL THEN "
            f"COALESCE({ocid_type}, lower({service}), 'resource') END"
        ),
        "RegionId": region,
        "RegionName": Field(_lookup(region.expr, REGIONS, region.expr, lower=True)),
        "AvailabilityZone": _sql.text(cols, "product/availabilityDomain"),
    }


def _providers() -> MappingResult:
    return {
        name: lit(PROVIDER)
        for name in (
            "ProviderName",
            "PublisherName",
            "ServiceProviderName",
            "HostProviderName",
            "InvoiceIssuerName",
        )
    }


def _lookup(expr: str, table: Mapping[str, str], default: str, *, lower: bool = False) -> str:
    key = f"lower({expr})" if lower else expr
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in table.items())
    return f"CASE {key} {whens} ELSE {default} END"
