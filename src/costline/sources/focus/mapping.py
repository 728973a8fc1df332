"""FOCUS 0.5–1.3 → FOCUS 1.3 (pure).

Every FOCUS column present in the file is carried through with its store type. On top of that
the mapping *upgrades* older files and makes each row satisfy the FOCUS 1.3 rules that define a
value from other columns of the same row. Each rule is documented, with the spec text it
applies, in ``docs/connectors/focus.md``. Costs that a provider billed (``BilledCost``,
``EffectiveCost``) are never changed.

Version upgrades:

* Pre-1.0 names (FOCUS 0.5 / 1.0-preview): ``AmortizedCost`` → ``EffectiveCost``,
  ``ChargeType`` → ``ChargeCategory``, ``UsageQuantity``/``UsageUnit`` →
  ``ConsumedQuantity``/``ConsumedUnit``, ``Region`` → ``RegionId``.
* 1.0-preview ``PricingCategory`` values ``On-Demand`` → ``Standard`` and ``Commitment-Based`` →
  ``Committed``; enumerated values are normalised to the spec's casing (``Usage-based`` →
  ``Usage-Based``).
* Units that fit none of the three FOCUS 1.3 unit formats are rewritten without changing their
  meaning: ``GiB/Second-Months`` (a throughput held over time) → ``GiBps-Months``, and
  ``Lambda-GB-Seconds`` (a product name glued to the unit) → ``GB-Seconds``.
* 1.1: ``ServiceSubcategory`` is new and MUST NOT be null; files without it get
  ``Other (<ServiceCategory>)``, the value FOCUS gives when no better subcategory is known.
* 1.1: "``SkuId`` can be used if the provider does not have a ``SkuPriceId``".
* 1.3: ``ServiceProviderName`` and ``HostProviderName`` default to ``ProviderName``;
  the deprecated ``ProviderName`` and ``PublisherName`` default to ``ServiceProviderName``.

Row rules (FOCUS 1.3, applied whatever the input version):

* ``SkuPriceId``/``SkuId`` are null for taxes. A Usage/Purchase row (not a correction) with a
  ``ListUnitPrice`` but no ``SkuPriceId`` gets ``SkuPriceId = SkuId``.
* Without a ``SkuPriceId``, the unit prices, ``PricingQuantity``, ``PricingCategory``,
  ``ConsumedQuantity``, ``CommitmentDiscountQuantity`` and ``SkuPriceDetails`` are null.
* ``ConsumedQuantity`` is null unless the row is Usage (and not an unused commitment); a unit is
  null when its quantity is.
* ``ContractedUnitPrice`` defaults to ``ListUnitPrice`` ("when no negotiated pricing terms
  apply").
* ``ContractedCost``/``ListCost`` equal unit price × ``PricingQuantity`` when both are known and
  the file's value disagrees (beyond the validator's 1e-9 relative tolerance) or is missing;
  otherwise a missing one equals ``BilledCost``.

Columns that are not FOCUS columns (e.g. the 1.0 sample's ``Id``) are not stored, except
costline's own descriptive ``x_`` columns (``x_ServiceCode``, ``x_UsageType``, ...) when the
file is a costline export; lineage (``x_Provider``, ``x_Source*``, ``x_IngestionId``) is new.

Fields whose rules can turn a filled raw value into NULL carry no raw sources (so the
pipeline's bad-value diagnosis does not mistake a rule for a parse failure); a ``__<Column>``
probe with the plain cast keeps unparsable values traceable to the raw column.
"""

from __future__ import annotations

from collections.abc import Iterable

from costline.core.money import MONEY_SQL_TYPE
from costline.schema.focus import EXTENSION_COLUMNS, FOCUS_COLUMNS
from costline.sources import _sql
from costline.sources.base import Detection, Field, MappingResult, RawColumns

# Lineage is the pipeline's: a re-ingested export gets new lineage, not the old one.
_LINEAGE = ("x_Provider", "x_SourceKind", "x_SourceFile", "x_IngestionId")

# Current FOCUS name → older names it had (first present wins).
_ALIASES: dict[str, tuple[str, ...]] = {
    "EffectiveCost": ("AmortizedCost",),
    "ChargeCategory": ("ChargeType",),
    "ConsumedQuantity": ("UsageQuantity",),
    "ConsumedUnit": ("UsageUnit",),
    "RegionId": ("Region",),
}

# Enumerated columns: canonical spellings (matched case-insensitively) and renamed values.
_ENUMS: dict[str, tuple[str, ...]] = {
    "ChargeCategory": ("Usage", "Purchase", "Tax", "Credit", "Adjustment"),
    "ChargeClass": ("Correction",),
    "ChargeFrequency": ("One-Time", "Recurring", "Usage-Based"),
    "PricingCategory": ("Standard", "Dynamic", "Committed", "Other"),
    "CommitmentDiscountCategory": ("Spend", "Usage"),
    "CommitmentDiscountStatus": ("Used", "Unused"),
    "CapacityReservationStatus": ("Used", "Unused"),
}
_RENAMED_VALUES: dict[str, dict[str, str]] = {
    "PricingCategory": {"on-demand": "Standard", "commitment-based": "Committed"},
}

SERVICE_CATEGORIES = (
    "AI and Machine Learning",
    "Analytics",
    "Business Applications",
    "Compute",
    "Databases",
    "Developer Tools",
    "Identity",
    "Integration",
    "Internet of Things",
    "Management and Governance",
    "Media",
    "Migration",
    "Mobile",
    "Multicloud",
    "Networking",
    "Security",
    "Storage",
    "Web",
    "Other",
)

# The validator's tolerance for "cost = unit price × quantity" (focus-validator 2.2.1).
RELATIVE_TOLERANCE = "1e-9"

# Columns FOCUS 1.3 requires to be null when SkuPriceId is null.
_PRICE_DEPENDENT = (
    "ListUnitPrice",
    "PricingQuantity",
    "PricingCategory",
    "SkuPriceDetails",
    "CommitmentDiscountQuantity",
    "PricingCurrencyListUnitPrice",
    "PricingCurrencyContractedUnitPrice",
)


_UNITS = (
    ("ConsumedUnit", "ConsumedQuantity"),
    ("PricingUnit", "PricingQuantity"),
    ("CommitmentDiscountUnit", "CommitmentDiscountQuantity"),
)


def build_mapping(cols: RawColumns, detection: Detection) -> MappingResult:
    """Map a FOCUS file of any supported version to the FOCUS 1.3 store columns."""
    out = _carry(cols)
    _providers(out, cols)
    for name, allowed in _ENUMS.items():
        if name in out:
            out[name] = _canonical(out[name], allowed, _RENAMED_VALUES.get(name, {}))
    _subcategory(out)
    for name in ("ConsumedUnit", "PricingUnit", "CommitmentDiscountUnit"):
        if name in out:
            out[name] = _unit(out[name])
    _pricing(out)
    issuer = _sql.coalesce(_sql.text(cols, "InvoiceIssuerName"), out["ProviderName"])
    out["x_Provider"] = Field(f"costline_provider({issuer.expr})", issuer.sources)
    out["x_ChargeType"] = out.get("ChargeCategory", _sql.NULL)
    _extensions(out, cols)
    # Plain parse probes first: on a failed load the pipeline blames the first field (in this
    # order) that fails on the earliest bad row, and a derived cost also fails there.
    probes = {k: v for k, v in out.items() if k.startswith("__")}
    return probes | {k: v for k, v in out.items() if not k.startswith("__")}


def _extensions(out: MappingResult, cols: RawColumns) -> None:
    """costline's own descriptive ``x_`` columns, when the file is a costline export."""
    for col in EXTENSION_COLUMNS:
        if col.name in _LINEAGE or col.name not in cols.types:
            continue
        if col.data_type == "decimal":
            out[col.name] = _sql.money(cols, col.name)
        else:
            out[col.name] = _sql.coalesce(_sql.text(cols, col.name), out.get(col.name, _sql.NULL))


def _carry(cols: RawColumns) -> MappingResult:
    """Every FOCUS column the file has (or an older name of it), cast to its store type."""
    out: MappingResult = {}
    for col in FOCUS_COLUMNS:
        name = _exact(cols, col.name, *_ALIASES.get(col.name, ()))
        if name is None:
            continue
        if col.data_type == "decimal":
            out[col.name] = _sql.money(cols, name)
        elif col.data_type == "datetime":
            out[col.name] = _sql.timestamp(cols, name)
        elif col.data_type == "map":
            out[col.name] = _sql.tags_from_json(cols, name)
        else:
            out[col.name] = _sql.text(cols, name)
    return out


def _exact(cols: RawColumns, *names: str) -> str | None:
    # FOCUS column names are case-sensitive PascalCase: require the exact spelling.
    return next((n for n in names if n in cols.types), None)


def _providers(out: MappingResult, cols: RawColumns) -> None:
    provider = _sql.text(cols, "ProviderName")
    service_provider = _sql.text(cols, "ServiceProviderName")
    out["ServiceProviderName"] = _sql.coalesce(service_provider, provider)
    out["HostProviderName"] = _sql.coalesce(
        _sql.text(cols, "HostProviderName"), provider, service_provider
    )
    out["ProviderName"] = _sql.coalesce(provider, service_provider)
    out["PublisherName"] = _sql.coalesce(
        _sql.text(cols, "PublisherName"), service_provider, provider
    )


def _canonical(field: Field, allowed: Iterable[str], renamed: dict[str, str]) -> Field:
    """``CASE lower(x) WHEN 'usage-based' THEN 'Usage-Based' ... ELSE x END``."""
    pairs = {v.lower(): v for v in allowed} | renamed
    cases = " ".join(f"WHEN '{low}' THEN '{value}'" for low, value in pairs.items())
    return Field(f"CASE lower({field.expr}) {cases} ELSE {field.expr} END", field.sources)


# Units outside the three FOCUS 1.3 unit formats, rewritten without changing their meaning:
# a data-size rate held over time ("GiB/Second-Months", AWS gp3 throughput) becomes
# "GiBps-Months" (AWS's own "GiBps-mo"), and a product name glued to a compound unit
# ("Lambda-GB-Seconds") is dropped, since ServiceName already says it ("GB-Seconds").
_DATA_SIZES = (
    "b|Kb|Mb|Gb|Tb|Pb|Eb|B|KB|MB|GB|TB|PB|EB|Kib|Mib|Gib|Tib|Pib|Eib|KiB|MiB|GiB|TiB|PiB|EiB"
)
_TIMES = "Years|Months|Days|Hours|Minutes|Seconds"
_UNIT_REWRITES = (
    (f"^({_DATA_SIZES})/Second-({_TIMES})$", "\\1ps-\\2"),
    (f"^[A-Za-z]+-(({_DATA_SIZES})-({_TIMES}))$", "\\1"),
)


def _unit(field: Field) -> Field:
    expr = field.expr
    for pattern, replacement in _UNIT_REWRITES:
        expr = f"regexp_replace({expr}, '{pattern}', '{replacement}')"
    return Field(expr, field.sources)


def _subcategory(out: MappingResult) -> None:
    category = out.get("ServiceCategory")
    if category is None:
        return
    known = ", ".join(f"'{c}'" for c in SERVICE_CATEGORIES)
    other = Field(
        f"CASE WHEN {category.expr} IN ({known}) THEN 'Other (' || {category.expr} || ')' END",
        category.sources,
    )
    out["ServiceSubcategory"] = _sql.coalesce(out.get("ServiceSubcategory", _sql.NULL), other)


def _expr(out: MappingResult, name: str) -> str:
    field = out.get(name)
    return field.expr if field is not None else "NULL"


def _ruled(out: MappingResult, name: str, expr: str) -> None:
    """Replace ``name`` by a rule-derived expression, keeping a ``__name`` parse probe."""
    original = out.get(name)
    if original is not None and original.sources:
        out[f"__{name}"] = original
    out[name] = Field(expr)


def _pricing(out: MappingResult) -> None:
    """The SkuPriceId-keyed rules, then quantities, units and costs."""
    cat = _expr(out, "ChargeCategory")
    has_price = _sku_prices(out, cat) if "SkuId" in out or "SkuPriceId" in out else "TRUE"
    if "ListUnitPrice" in out or "ContractedUnitPrice" in out:
        contracted = f"COALESCE({_expr(out, 'ContractedUnitPrice')}, {_expr(out, 'ListUnitPrice')})"
        _ruled(out, "ContractedUnitPrice", contracted)
    status = _expr(out, "CommitmentDiscountStatus")
    if "ConsumedQuantity" in out:
        _ruled(
            out,
            "ConsumedQuantity",
            f"CASE WHEN {has_price} AND {cat} = 'Usage' AND {status} IS DISTINCT FROM 'Unused' "
            f"THEN {_expr(out, 'ConsumedQuantity')} END",
        )
    for unit, quantity in _UNITS:
        if unit in out:
            _ruled(
                out,
                unit,
                f"CASE WHEN ({_expr(out, quantity)}) IS NOT NULL THEN {_expr(out, unit)} END",
            )
    _costs(out)


def _sku_prices(out: MappingResult, cat: str) -> str:
    """SkuId/SkuPriceId rules and the columns FOCUS nulls without a SkuPriceId.

    Returns:
        SQL that is true when the row ends up with a SkuPriceId. A file without SKU columns has
        no SkuPriceId concept: the caller then treats every row as priced.
    """
    cls, sku, lup = _expr(out, "ChargeClass"), _expr(out, "SkuId"), _expr(out, "ListUnitPrice")
    priced = f"({cat} IN ('Usage', 'Purchase') AND {cls} IS DISTINCT FROM 'Correction')"
    not_tax = f"({cat} IS DISTINCT FROM 'Tax')"
    sku_price = (
        f"CASE WHEN {not_tax} THEN COALESCE({_expr(out, 'SkuPriceId')}, CASE WHEN "
        f"{priced} AND {lup} IS NOT NULL THEN {sku} END) END"
    )
    has_price = f"(({sku_price}) IS NOT NULL)"
    for name in ("SkuId", "SkuMeter"):
        if name in out:
            _ruled(out, name, f"CASE WHEN {not_tax} THEN {_expr(out, name)} END")
    _ruled(out, "SkuPriceId", sku_price)
    for name in (*_PRICE_DEPENDENT, "ContractedUnitPrice"):
        if name in out:
            _ruled(out, name, f"CASE WHEN {has_price} THEN {_expr(out, name)} END")
    return has_price


def _costs(out: MappingResult) -> None:
    billed = _expr(out, "BilledCost")
    quantity = _expr(out, "PricingQuantity")
    for cost, price in (("ContractedCost", "ContractedUnitPrice"), ("ListCost", "ListUnitPrice")):
        out[cost] = _cost(out.get(cost, _sql.NULL), _expr(out, price), quantity, billed)


def _cost(given: Field, price: str, quantity: str, billed: str) -> Field:
    """unit price × quantity where FOCUS defines it, else the file's value, else BilledCost."""
    product = f"(({price}) * ({quantity}))"
    value = given.expr
    differs = (
        f"({value} IS NULL OR abs({product} - {value}) > "
        f"{RELATIVE_TOLERANCE} * greatest(abs({value}), 1))"
    )
    expr = (
        f"CASE WHEN ({price}) IS NOT NULL AND ({quantity}) IS NOT NULL AND {differs} "
        f"THEN CAST({product} AS {MONEY_SQL_TYPE}) ELSE COALESCE({value}, {billed}) END"
    )
    return Field(expr, given.sources)
